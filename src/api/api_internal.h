/* api_internal.h — internal to src/api: what the opaque handles of include/sbir.h hold, and the helpers
 * the API files and the CLI commands built on them share. */
#ifndef SBIR_API_INTERNAL_H
#define SBIR_API_INTERNAL_H

#include <pthread.h>
#include <stdio.h>

#include "api/fused_search.h"
#include "index/index_file.h"
#include "index/search.h"
#include "model/model.h"
#include "sbir.h"

/* The batch size a context's networks are built for: indexing embeds this many images per forward. */
#define API_MAX_BATCH 64

struct sbir_model_ctx {
    sbir_model *m;
    char *path;         /* as given to sbir_model_open (recorded next to indexes it builds) */
    pthread_mutex_t mu; /* the networks' activation buffers are the model's own: one forward at a time */
};

struct sbir_index_ctx {
    sbir_index *ix;
    sbir_rowlists *by_class; /* rows per class, for class-filtered searches */
    sbir_matrix content, style;
};

/* Status for a failure to read `path` (already described by sbir_error): SBIR_E_IO when the file cannot
 * be opened at all, SBIR_E_FORMAT when it can (so its content was at fault). */
sbir_status api_file_status(const char *path);
/* sbir_error(...) and return code. */
sbir_status api_fail(sbir_status code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* B network inputs (B, 3, S, S) to embeddings (either output may be NULL), under the context's mutex. */
sbir_status api_embed_inputs(sbir_model_ctx *c, const float *x, int B, float *content, float *style);
/* Indexing n images with a model that embeds each with its mirror image costs about 1.6x one view:
 * above TRAIN_GALLERY_MIRROR_MAX_IMAGES images, writes a note to out saying so and naming the switch;
 * returns whether it did. */
int api_note_gallery_mirror(const sbir_model *m, int64_t n, FILE *out);
/* A grey S x S sketch (black ink on white) to its content embedding. */
sbir_status api_embed_grey(sbir_model_ctx *c, const uint8_t *grey, float *content);

/* A context around an index already opened (takes ownership of ix, closes it on failure). */
sbir_status api_index_wrap(sbir_index *ix, sbir_index_ctx **out);
/* sbir_search's ranking as hits (rows of this index, key and scores; h has room for q->k), and one
 * hit as a result. */
sbir_status api_search_hits(const sbir_index_ctx *c, const sbir_model_ctx *mc, const sbir_query *q, const uint32_t *rows,
                            int64_t n_rows, fused_hit *h, int *n);
sbir_result api_result(const sbir_index_ctx *c, const fused_hit *h);

/* sbir_search over the given rows only (ascending; NULL: every row), e.g. approximate candidates. */
sbir_status api_search(const sbir_index_ctx *c, const sbir_model_ctx *mc, const sbir_query *q, const uint32_t *rows,
                       int64_t n_rows, sbir_result *res, int *n);

#endif
