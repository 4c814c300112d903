/* embed.h — embedding dataset items (gallery images or sketches, by index) with one of a model's
 * networks, in batches, inference mode, L2-normalised. */
#ifndef SBIR_MODEL_EMBED_H
#define SBIR_MODEL_EMBED_H

#include "model/dataset.h"
#include "nn/net.h"

enum { EMBED_IMAGES = 0, EMBED_SKETCHES = 1 };
/* out (count, n->out_dim) */
int embed_items(net *n, const dataset *d, const int *idx, int count, int what, float *out);

#endif
