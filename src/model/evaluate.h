/* evaluate.h — a trained model evaluated on a collection's split (SPEC section 4). */
#ifndef SBIR_MODEL_EVALUATE_H
#define SBIR_MODEL_EVALUATE_H

#include "model/dataset.h"
#include "model/eval.h"
#include "model/model.h"

/* split (gallery images) and sketch_split (queries): SBIR_SPLIT_TEST, SBIR_SPLIT_VAL or -1 for every item
 * (a collection, or sketches, the model never saw). Gallery images of a style the model does not know are left out (no prototype); classes are the
 * collection's. The result's name arrays point into d and m. */
int evaluate_model(sbir_model *m, const dataset *d, int split, int sketch_split, eval_result *out);

#endif
