/* import_bam.h — builds a collection from BAM! (Behance Artistic Media): its SQLite database plus a
 * folder of downloaded images named <mid>.jpg / .jpeg / .png.
 *
 * Labels (which medium and content an image has) come from one of:
 *   IMPORT_BAM_CROWD      crowd_labels(mid, attribute, label): label = 'positive' counts;
 *   IMPORT_BAM_AUTOMATIC  automatic_labels(mid, <attribute columns>): value 'positive' counts;
 *   IMPORT_BAM_SCORES     scores(mid, <20 real columns>): score >= threshold counts.
 * An image is imported when it has exactly one positive medium among `media` and exactly one positive
 * content among `contents`; with scores, several above the threshold resolve to the highest score.
 * Attribute names are accepted with or without their "media_"/"content_" prefix. The class is the
 * content canonicalised to the Quick, Draw! word (cars -> car); the style is the medium name
 * ("watercolor"). The stored path is "<mid>.<ext>" relative to the images folder (the collection's
 * root), so its split follows the mid. Every mid of `modules` is counted in exactly one report bucket.
 *
 * A database without BAM's tables or columns is refused with a message naming what is missing. */
#ifndef SBIR_IMPORT_BAM_H
#define SBIR_IMPORT_BAM_H

#include <stdint.h>

typedef enum { IMPORT_BAM_CROWD = 0, IMPORT_BAM_AUTOMATIC, IMPORT_BAM_SCORES } import_bam_labels;

#define IMPORT_BAM_MAX_ATTRS 16

typedef struct {
    const char *db, *images, *out;
    import_bam_labels labels;
    double threshold; /* scores only */
    /* NULL/0: the seed's 7 media and 5 contents */
    const char *const *media;
    int n_media;
    const char *const *contents;
    int n_contents;
} import_bam_opts;

typedef struct {
    int64_t mids;            /* rows of modules */
    int64_t imported;
    int64_t no_medium;       /* no positive medium among the chosen ones */
    int64_t no_content;      /* a medium but no positive content */
    int64_t ambiguous;       /* more than one positive medium or content (crowd/automatic) */
    int64_t no_file;         /* labels fine, no <mid>.jpg/.jpeg/.png */
    int64_t not_image;       /* the file is not a readable JPEG/PNG */
    double seconds;
    char examples[5][320];   /* first not_image reasons */
    int n_examples;
} import_bam_report;

/* The seed's defaults. */
extern const char *const import_bam_default_media[7];
extern const char *const import_bam_default_contents[5];

/* Quick, Draw! word for a BAM content name ("cars" -> "car"); others unchanged. */
const char *import_bam_class_name(const char *content);

int import_bam(const import_bam_opts *o, import_bam_report *r);

#endif
