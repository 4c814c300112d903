/* import_folders.h — builds a collection from a <style>/<class>/<image> tree (PACS, DomainNet).
 *
 * Every image file two levels below the root becomes a row: the style folder named sketch_style goes
 * to `sketches` (image_path set, source = the root folder's name, e.g. "pacs"), all other styles to
 * `images` with width/height read from the header (no pixel decode) and the CRC-32 of the file bytes.
 * size_check additionally decodes every image fully and skips those that fail. Files that are not
 * .jpg/.jpeg/.png, files in the wrong place (at the root, directly in a style folder, deeper than a
 * class folder) and images whose header cannot be read are skipped and counted. The collection is
 * written atomically (collection.h): on failure the previous file at out is untouched. */
#ifndef SBIR_IMPORT_FOLDERS_H
#define SBIR_IMPORT_FOLDERS_H

#include <stdint.h>

typedef struct {
    const char *root, *out;
    const char *sketch_style; /* NULL: no sketch style */
    int size_check;
} import_folders_opts;

#define IMPORT_MAX_EXAMPLES 5

typedef struct {
    int64_t images, sketches;
    int64_t skipped_not_image; /* wrong extension */
    int64_t skipped_misplaced; /* not at <style>/<class>/<file> */
    int64_t skipped_bad;       /* unreadable header, or failed decode with size_check */
    int styles, classes;       /* distinct, over images and sketches */
    double seconds;
    char examples[IMPORT_MAX_EXAMPLES][320]; /* first reasons for skipped_bad */
    int n_examples;
} import_folders_report;

int import_folders(const import_folders_opts *o, import_folders_report *r);

#endif
