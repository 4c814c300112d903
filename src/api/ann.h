/* ann.h — internal to src/api: approximate search for `sbir query --ann ivf|hnsw`. FAISS (faiss_shim.h)
 * proposes candidates by content alone (inner product of the sketch with the content embeddings); they
 * are then ranked exactly with the style by api_search. The FAISS index is built from the sbir index
 * (the source of truth) on first use and cached next to it as "<INDEX>.<kind>.faiss", rebuilt when it
 * is older than the index or holds another number of rows. */
#ifndef SBIR_API_ANN_H
#define SBIR_API_ANN_H

#include "sbir.h"

sbir_status ann_search(const sbir_index_ctx *ix, const sbir_model_ctx *m, const sbir_query *q, const char *index_path,
                       const char *kind, sbir_result *res, int *n);

#endif
