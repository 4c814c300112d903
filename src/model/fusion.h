/* fusion.h — turning (content distance dc, style distance ds) into one ranking score, fitted on
 * validation queries. Two candidates, both measured, the better kept (SPEC section 3):
 *  - calibrated weighted distance: score = -(dc + w ds), w chosen by a search over a log grid that
 *    maximises validation sketch + style mAP;
 *  - learned fusion: score = -(a dc + b ds + c dc ds), (a, b, c) trained with a logistic pairwise
 *    (triplet) loss on (query, relevant, irrelevant) triples sampled from the validation lists. */
#ifndef SBIR_MODEL_FUSION_H
#define SBIR_MODEL_FUSION_H

#include "model/eval.h"
#include "util/rng.h"

typedef struct {
    float weighted[3], learned[3];
    double weighted_map, learned_map;
    int chose_learned;
    float chosen[3];
    float class_weight; /* chosen by model_calibrate (calibrate.h); 0 when fitted without it */
} fusion_fit;

int fusion_calibrate(const eval_input *val, uint64_t seed, fusion_fit *out);

#endif
