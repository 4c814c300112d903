/* shards.h — one index split over N shard files, searched shard by shard (one process per shard under
 * mpirun, or one after another in a single process) with exactly the results of the unsharded index.
 *
 * Files. `sbir index --shards N --out OUT` writes
 *   OUT.shard-0-of-N ... OUT.shard-<N-1>-of-N   each a complete index file (index_file.h) on its own,
 *                                               with the full label tables and the model's fingerprint;
 *   OUT                                         the manifest: a small JSON file listing the shards (names
 *                                               relative to OUT's folder) with their row counts, byte
 *                                               sizes and CRC-32s, plus what every shard must share
 *                                               (fingerprint, dimensions, element type, label tables);
 *   OUT.json                                    the sidecar naming the model, as for a single file.
 * So `--index OUT` names a sharded index exactly as it names a single file. Every shard is written
 * atomically (temporary file, fsync, rename), then the manifest. A crash in between leaves shards that
 * no longer match the old manifest's checksums: opening refuses them instead of mixing two builds.
 *
 * Assignment: row r (in the order the unsharded index would hold it) goes to shard r % N, where it is
 * local row r / N; so shard s holds ceil((n - s) / N) rows and sizes differ by at most one. Why
 * round-robin rather than contiguous ranges: collections are stored grouped by style and class (import
 * order), so contiguous ranges would put a whole class on one shard and a class-filtered query would
 * keep one machine busy and the others idle; interleaving gives every shard the same mix. Both keep the
 * global order inside a shard (global row = local * N + s grows with local), which is what the exact
 * merge needs.
 *
 * Identical results: each shard returns its own k best under the search's total order (higher key,
 * then lower row, see api/fused_search.h for the key); the global k best are the k best of those
 * candidates under the same order with global rows, and each row's score is computed by the same
 * kernels from the same stored bytes whichever file holds it (search_kernels.h). shard_merge does
 * exactly that, so ranks, scores and ties equal the unsharded search. */
#ifndef SBIR_INDEX_SHARDS_H
#define SBIR_INDEX_SHARDS_H

#include <stdint.h>

#include "index/index_file.h"

#define SHARD_MAX 4096 /* more shards than this is a typo, not a plan */

typedef struct {
    char *file;     /* as recorded: a name relative to the manifest's folder (no '/') */
    char *path;     /* the file's path as seen from here (the manifest's folder + file) */
    int64_t count;  /* rows */
    uint64_t bytes; /* file size */
    uint32_t crc;   /* the file's own CRC-32 (its trailer: every byte before the trailer) */
} shard_file;

typedef struct {
    int n;          /* shards */
    int64_t count;  /* rows in all */
    char *fingerprint;
    int dim_content, dim_style;
    sbir_elem elem;
    uint32_t labels_crc; /* shard_labels_crc of the class and style names every shard holds */
    shard_file *shards;  /* n */
} shard_manifest;

/* "OUT.shard-S-of-N" (malloc'd). */
char *shard_file_name(const char *out, int s, int n);
/* Rows of shard s when n rows are split over `shards`. */
int64_t shard_count(int64_t n, int shards, int s);
static inline int64_t shard_global_row(int64_t local, int shards, int s) { return local * shards + s; }

/* 1 if path is a sharded-index manifest (it starts like one), 0 otherwise (a single index file, or no
 * readable file: the caller's open reports that). Never sets an error. */
int shard_manifest_is(const char *path);
/* Reads and checks the manifest (consistent counts, names, sizes); errors name the file. */
int shard_manifest_read(const char *path, shard_manifest *m);
void shard_manifest_free(shard_manifest *m);

/* CRC-32 over the label tables (each name's length and bytes, classes then styles). */
uint32_t shard_labels_crc(int n_classes, const char *const *class_names, int n_styles, const char *const *style_names);

/* Writes rows as `shards` shard files and the manifest at out (see above); 1 <= shards <= SHARD_MAX.
 * Shard files of a previous sharded index at out that the new one does not reuse are removed once the
 * new manifest is in place. */
int index_write_sharded(const char *out, int shards, const sbir_index_meta *meta, const sbir_index_rows *rows);
/* Removes the shard files `old` lists, except those that `keep` (may be NULL) lists too. Errors from
 * unlink are ignored: the files are unreferenced garbage either way. */
void shard_remove_files(const shard_manifest *old, const shard_manifest *keep);

/* Opens shard s of m after checking it is the file the manifest lists: present, of the recorded size
 * and CRC-32, then index_open (flags as there; it verifies the whole-file CRC), then the recorded row
 * count, fingerprint, dimensions, element type and label tables. NULL + a clear sbir_error otherwise. */
sbir_index *shard_open(const char *manifest_path, const shard_manifest *m, int s, int flags);

/* ---- merging ---- */

typedef struct {
    float key;   /* what the shard selected its hits by (higher first) */
    float score; /* what results are reported and ordered by (higher first) */
    int64_t row; /* GLOBAL row (shard_global_row) */
    int64_t tag; /* the caller's, e.g. where the hit's payload lives */
} shard_hit;

/* Given every shard's candidates (each shard's k best by (key desc, row asc), in any order, rows
 * unique), keeps the k best by (key desc, row asc) in hits[0..) and orders them by (score desc, row
 * asc): the same k rows in the same order as one search over the unsharded index. Returns how many were
 * kept (min(n, k)). */
int64_t shard_merge(shard_hit *hits, int64_t n, int k);

#endif
