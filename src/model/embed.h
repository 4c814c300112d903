/* embed.h — embedding dataset items (gallery images or sketches, by index) with one of a model's
 * networks, in batches, inference mode. */
#ifndef SBIR_MODEL_EMBED_H
#define SBIR_MODEL_EMBED_H

#include "model/dataset.h"
#include "model/model.h"
#include "nn/net.h"

enum { EMBED_IMAGES = 0, EMBED_SKETCHES = 1, EMBED_IMAGES_MIRRORED = 2 };
/* The network's raw output: out (count, n->out_dim); for sketches, averaged with the mirrored
 * sketch's, as queries are (model_sketch_features); EMBED_IMAGES_MIRRORED: gallery images the same way
 * (a model with gallery_mirror). */
int embed_features(net *n, const dataset *d, const int *idx, int count, int what, float *out);
/* L2-normalised network output: out (count, n->out_dim). */
int embed_items(net *n, const dataset *d, const int *idx, int count, int what, float *out);
/* The model's content embedding (count, m->Dc): normalised features plus the weighted class
 * posterior where the model uses it (model.h). */
int embed_items_content(sbir_model *m, const dataset *d, const int *idx, int count, int what, float *out);

#endif
