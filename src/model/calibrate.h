/* calibrate.h — the choices made on the validation split at the end of training: how much of the
 * structure network's class posterior joins the content embedding (model.h, class_weight), then the
 * fusion of content and style distances for that embedding (fusion.h).
 *
 * Each class weight of a small grid gets its own fusion fit; the pair with the best validation
 * sketch + style mAP is kept (ties keep the smaller weight). The style prototypes must be computed
 * already. */
#ifndef SBIR_MODEL_CALIBRATE_H
#define SBIR_MODEL_CALIBRATE_H

#include <stdint.h>

#include "model/dataset.h"
#include "model/fusion.h"
#include "model/model.h"

/* img/sk: validation items of d. Sets m's class weight and fusion; fit receives the chosen fusion fit
 * (with class_weight set). */
int model_calibrate(sbir_model *m, const dataset *d, const int *img, int ni, const int *sk, int ns, uint64_t seed,
                    fusion_fit *fit);

#endif
