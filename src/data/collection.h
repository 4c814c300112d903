/* collection.h — the SQLite catalog of a collection: gallery images and query sketches.
 *
 * Usage (building; everything goes to a temporary file that commit renames into place, so a crash or
 * kill leaves any previous collection at `path` intact):
 *
 *   sbir_collection *c = collection_create("coll.sqlite", "/data/pacs");   // or collection_edit(path)
 *   if (!c) return SBIR_ERR;                                                // sbir_last_error() says why
 *   if (collection_add_image(c, "/data/pacs/photo/dog/1.jpg", "dog", "photo", 227, 227, NULL, NULL) ||
 *       collection_add_sketch(c, "dog", "quickdraw", "5123", "[[[0,10],[0,5]]]", NULL, NULL)) {
 *       collection_close(c);                                                // abandons the build
 *       return SBIR_ERR;
 *   }
 *   return collection_commit(c);                                            // frees c in all cases
 *
 * Reading: c = collection_open(path) (read-only; refuses files that are not sbir collections of a known
 * schema version, e.g. a BAM! database, with a clear message), collection_list_images(...), ...,
 * collection_close(c).
 *
 * Integrity: commit stores in meta 'content_crc32' the CRC-32 of a canonical serialisation of the
 * schema, every table (rowid order) and every index (index order); collection_open and
 * collection_edit recompute it and refuse a collection whose rows no longer match ("damaged
 * collection: checksum mismatch"). A flip in unused space changes nothing a reader sees and is not
 * reported. The check reads the whole file (about a second per million images);
 * SBIR_COLLECTION_NO_VERIFY=1 in the environment skips it. Collections of schema version 1 have no
 * checksum: read with a warning on stderr (once per process).
 *
 * Schema (PRAGMA user_version = SBIR_COLLECTION_VERSION, PRAGMA application_id = 'SBIR'):
 *   images(id INTEGER PRIMARY KEY, path TEXT UNIQUE, class TEXT, style TEXT, split TEXT,
 *          width INT, height INT, checksum TEXT)        checksum = CRC-32 of the file bytes, 8 hex digits
 *   sketches(id INTEGER PRIMARY KEY, class TEXT, source TEXT, key_id TEXT,
 *            strokes TEXT,      -- the simplified-ndjson "drawing" JSON ([[[x..],[y..]],...]) or NULL
 *            image_path TEXT,   -- a sketch given as an image (PACS) or NULL
 *            split TEXT)
 *   meta(key TEXT PRIMARY KEY, value TEXT)                 format, root, created_by, content_crc32, ...
 *   embeddings(id INTEGER PRIMARY KEY, model TEXT, index_path TEXT, dim INT, count INT, created TEXT)
 *     -- metadata only: which model/index files were built from this collection.
 *
 * Paths: meta 'root' holds the absolute directory the images live under (given to create; may be
 * NULL/absent). A path under the root is stored relative to it ("photo/dog/1.jpg"); any other path is
 * stored as given. collection_abs_path() turns a stored path back into one that opens.
 *
 * Splits: split = sbir_split_name(sbir_split_of(key)), where key is the stored (relative) image path for
 * images and image-sketches, and the key_id for stroke sketches (source ":" key_id when a source is set),
 * so splits never depend on where the data lives or the import order.
 *
 * Bulk inserts: a writable collection keeps one transaction open for the whole build (the file is a
 * private temporary until commit), so 100k add_* calls take seconds. */
#ifndef SBIR_COLLECTION_H
#define SBIR_COLLECTION_H

#include <stddef.h>
#include <stdint.h>

/* Version 2 added the content checksum (meta 'content_crc32'); version 1 files are still read, with
 * a warning that they cannot be verified, and become version 2 when edited. */
#define SBIR_COLLECTION_VERSION 2
#define SBIR_COLLECTION_APP_ID 0x53424952 /* "SBIR" */
/* No text or blob value in a collection may be larger (32 MiB; a Quick, Draw! line is at most 16 MiB):
 * reading one fails with "a value over the limit", so a hostile row cannot cost more memory. */
#define SBIR_COLLECTION_MAX_VALUE (32 << 20)

typedef struct sbir_collection sbir_collection;
typedef struct sqlite3 sqlite3;

/* ---- opening and closing ---- */

/* A new, empty collection that replaces `path` (if any) at commit. root may be NULL. */
sbir_collection *collection_create(const char *path, const char *root);
/* Edits an existing collection (e.g. adding sketches): works on a temporary copy that commit renames
 * over `path`. If `path` does not exist, starts an empty collection with the given root (may be NULL);
 * root is ignored for an existing collection. */
sbir_collection *collection_edit(const char *path, const char *root);
/* Read-only; verifies the content checksum (see Integrity above). */
sbir_collection *collection_open(const char *path);
/* Recomputes the content checksum of the collection file at `path` and stores it, in place (not
 * atomic). For tests and fuzzing harnesses that build collections with raw SQL, and for repairing a
 * collection deliberately edited with the sqlite3 tool. */
int collection_reseal(const char *path);
/* Writable collections: finish the transaction, fsync, rename into place. Frees c in all cases;
 * on failure the previous file at `path` is untouched. For a read-only collection: same as close. */
int collection_commit(sbir_collection *c);
/* Read-only: closes. Writable and not committed: abandons all changes and removes the temporary. */
void collection_close(sbir_collection *c);

const char *collection_path(const sbir_collection *c);
const char *collection_root(const sbir_collection *c); /* NULL when none */
/* The stored path made openable: root/stored for relative paths. malloc'd. */
char *collection_abs_path(const sbir_collection *c, const char *stored);
/* The underlying handle, for queries this API does not cover. Do not close it. */
sqlite3 *collection_db(sbir_collection *c);

/* ---- writing ---- */

/* checksum may be NULL (stored as NULL); width/height <= 0 are stored as NULL. id_out may be NULL.
 * Errors: duplicate path, read-only collection. */
int collection_add_image(sbir_collection *c, const char *path, const char *class_name, const char *style,
                         int width, int height, const char *checksum, int64_t *id_out);
/* Exactly one of strokes_json / image_path is non-NULL. source: "quickdraw", "pacs", ... key_id may be
 * NULL for image sketches. */
int collection_add_sketch(sbir_collection *c, const char *class_name, const char *source, const char *key_id,
                          const char *strokes_json, const char *image_path, int64_t *id_out);
int collection_set_meta(sbir_collection *c, const char *key, const char *value);
/* malloc'd value or NULL when absent (not an error). */
char *collection_get_meta(sbir_collection *c, const char *key);

/* ---- reading ---- */

/* NULL fields match anything. */
typedef struct {
    const char *split, *class_name, *style; /* style is ignored for sketches */
    const char *source;                     /* sketches only */
} coll_filter;

typedef struct {
    int64_t id;
    char *path; /* as stored (relative to the root when under it) */
    char *class_name, *style, *split, *checksum;
    int width, height; /* 0 when unknown */
} coll_image;

typedef struct {
    int64_t id;
    char *class_name, *source, *key_id, *split;
    char *strokes;    /* or NULL */
    char *image_path; /* or NULL */
} coll_sketch;

/* Arrays ordered by id; free with the matching *_free. filter may be NULL. */
int collection_list_images(sbir_collection *c, const coll_filter *f, coll_image **out, size_t *n);
void coll_images_free(coll_image *a, size_t n);
int collection_list_sketches(sbir_collection *c, const coll_filter *f, coll_sketch **out, size_t *n);
void coll_sketches_free(coll_sketch *a, size_t n);
/* Streaming alternative: fn is called per row (the row's strings live only during the call); a
 * non-zero return from fn stops the walk and is returned. */
int collection_each_image(sbir_collection *c, const coll_filter *f, int (*fn)(const coll_image *, void *),
                          void *ctx);
int collection_each_sketch(sbir_collection *c, const coll_filter *f, int (*fn)(const coll_sketch *, void *),
                           void *ctx);
int64_t collection_count_images(sbir_collection *c, const coll_filter *f);   /* < 0 on error */
int64_t collection_count_sketches(sbir_collection *c, const coll_filter *f); /* < 0 on error */

/* Distinct values, sorted. which: "images", "sketches" or NULL for both (classes only). */
int collection_classes(sbir_collection *c, const char *which, char ***out, size_t *n);
int collection_styles(sbir_collection *c, char ***out, size_t *n);
void coll_strings_free(char **a, size_t n);

/* Counts grouped by class x style x split (images; style NULL for sketches, grouped by class x split). */
typedef struct {
    char *class_name, *style, *split;
    int64_t count;
} coll_count;
int collection_image_counts(sbir_collection *c, coll_count **out, size_t *n);
int collection_sketch_counts(sbir_collection *c, coll_count **out, size_t *n);
void coll_counts_free(coll_count *a, size_t n);

#endif
