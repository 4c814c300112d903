/* catalog.h — internal to src/serve: what the server looks up in the index besides searching it:
 * image id -> row (GET /api/image/ID takes an id, never a path, so a client can only ever read
 * the files the index names), and a few example images per style for the page's style picker. */
#ifndef SBIR_SERVE_CATALOG_H
#define SBIR_SERVE_CATALOG_H

#include <stdint.h>

#include "sbir.h"

#define CATALOG_EXAMPLES 4 /* example images per style */

typedef struct {
    int64_t n;
    int64_t *pairs; /* n (id, row) pairs sorted by id */
    int n_styles;   /* the model's styles, in the model's order */
    int64_t *examples; /* n_styles x CATALOG_EXAMPLES ids, -1 where the index has fewer */
} catalog;

int catalog_build(catalog *c, const sbir_index_ctx *ix, const sbir_model_ctx *m);
void catalog_free(catalog *c);
/* The row of the image with this id, -1 when none. */
int64_t catalog_row(const catalog *c, int64_t id);
/* The file of a row ("" when the index holds no path). */
const char *catalog_path(const sbir_index_ctx *ix, int64_t row);

#endif
