/* index_file.h — the persistent search index: embeddings of a gallery, ready to mmap and search.
 *
 * A file holds N items, each with an id, a class id and a style id (-1 = unknown), its content
 * embedding (dimension Dc) and its style embedding (dimension Ds, may be 0), the label names, the
 * fingerprint of the model that computed the embeddings, and optionally one UTF-8 path per item.
 * The file does not know how the embeddings were learned; it only refuses to mix fingerprints.
 *
 * Layout (little-endian; every section starts at a multiple of 64 bytes so mmap'd rows are aligned
 * for SIMD loads):
 *   header, 512 bytes: "SBIRIDX1", u32 version (1), u32 header size (512), u64 N, u32 Dc, u32 Ds,
 *     u32 element type (0 float32, 1 fp16, 2 int8), u32 flags (1 prefilter, 2 paths),
 *     u32 class count, u32 style count, f32 x2 prefilter max norms, u64 file size,
 *     16 sections of {u64 offset, u64 length} (see index_file.c), zeros, u32 CRC-32 of bytes 0..507;
 *   strings: fingerprint, class names, style names, each u32 length + bytes;
 *   items: N x {i64 id, i32 class, i32 style};
 *   content N x Dc, style N x Ds (elements of the element type); int8: one f32 scale per row of each;
 *   prefilter (float types, optional): int8 codes, f32 scales and f32 error bounds of each matrix, for
 *     exact two-pass search (matrix.h);
 *   paths (optional): u64 offsets[N+1] into a blob of NUL-terminated strings;
 *   trailer, 16 bytes: "SBIRIEND", u32 CRC-32 of every byte before the trailer, u32 0.
 *
 * Writing is atomic (temporary file, fsync, rename): a crash leaves the previous index intact.
 * Opening maps the file read-only (MAP_SHARED, so several processes share one copy in the page cache)
 * after validating everything a search will trust: magic, version, header checksum, sizes and offsets
 * against the file size (no overflow, no overlap, alignment), label ids in range, label names and paths
 * well-formed, and, unless SBIR_INDEX_NO_VERIFY, the CRC-32 of the whole file. Errors name the file.
 * Files are only ever replaced by rename, never rewritten in place, so a mapping stays valid.
 *
 * Appending (index_append) writes a new file with the old items copied as stored (not re-embedded,
 * not re-quantised) followed by the new ones. */
#ifndef SBIR_INDEX_FILE_H
#define SBIR_INDEX_FILE_H

#include <stdint.h>

#include "index/matrix.h"

typedef struct {
    int64_t id;
    int32_t class_id; /* index into the class names, -1 = unknown */
    int32_t style_id; /* index into the style names, -1 = unknown */
} sbir_index_item;    /* also the on-disk record (16 bytes) */

/* What describes the whole index. */
typedef struct {
    sbir_elem elem;          /* storage type of both matrices */
    int prefilter;           /* float types: also store int8 codes for fast exact search (recommended) */
    const char *fingerprint; /* the model's fingerprint (e.g. a hex hash); "" allowed */
    int n_classes;
    const char *const *class_names;
    int n_styles;
    const char *const *style_names;
} sbir_index_meta;

/* Rows to write: float32 embeddings (quantised to meta->elem on writing). */
typedef struct {
    int64_t n;
    int dim_content, dim_style;   /* dim_style may be 0 */
    const float *content;         /* n x dim_content */
    const float *style;           /* n x dim_style (ignored if dim_style == 0) */
    const sbir_index_item *items; /* n */
    const char *const *paths;     /* NULL, or n UTF-8 strings */
} sbir_index_rows;

typedef struct sbir_index sbir_index;

#define SBIR_INDEX_NO_VERIFY 1 /* index_open: skip the whole-file CRC (huge files); structure still checked */

int index_write(const char *path, const sbir_index_meta *meta, const sbir_index_rows *rows);
/* Writes path = old's items + add's. meta may be NULL (keep old's labels) or give label tables that
 * extend old's (old's names as a prefix); its fingerprint must equal old's; elem and prefilter always
 * follow old. Dimensions must match; add has paths exactly when old has. path may be old's own file. */
int index_append(const char *path, const sbir_index *old, const sbir_index_meta *meta, const sbir_index_rows *add);

sbir_index *index_open(const char *path, int flags); /* NULL + sbir_error("<path>: reason") */
void index_close(sbir_index *ix);

const char *index_file_path(const sbir_index *ix);
int64_t index_count(const sbir_index *ix);
int index_dim_content(const sbir_index *ix);
int index_dim_style(const sbir_index *ix);
sbir_elem index_elem(const sbir_index *ix);
int index_has_prefilter(const sbir_index *ix);
const char *index_fingerprint(const sbir_index *ix);
int index_n_classes(const sbir_index *ix);
int index_n_styles(const sbir_index *ix);
const char *index_class_name(const sbir_index *ix, int c); /* NULL if out of range */
const char *index_style_name(const sbir_index *ix, int s);
int index_class_id(const sbir_index *ix, const char *name); /* -1 if absent */
int index_style_id(const sbir_index *ix, const char *name);
const sbir_index_item *index_items(const sbir_index *ix);
int index_has_paths(const sbir_index *ix);
const char *index_path(const sbir_index *ix, int64_t i); /* NULL without a path table or out of range */
/* Views for search.h (with the prefilter attached when present); valid until index_close. */
sbir_matrix index_content(const sbir_index *ix);
sbir_matrix index_style(const sbir_index *ix);

#endif
