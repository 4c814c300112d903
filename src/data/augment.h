/* augment.h — training augmentation of sketches, deterministic from an sbir_rng.
 *
 * Two parts, because fitting to the output would undo a translation or a scale done on the points:
 *  - edits of the strokes themselves, in place: stroke dropout (each stroke dropped with probability
 *    stroke_drop, at least one always kept) and point jitter (Gaussian, std = jitter x the larger
 *    side of the bounding box);
 *  - a random affine (rotation, anisotropic scale, shear, translation) written into the raster
 *    options and applied after fitting, in normalised output coordinates (see raster.h).
 * Bitmap sketches get only the affine. The same seed always gives the same result. */
#ifndef SBIR_AUGMENT_H
#define SBIR_AUGMENT_H

#include "data/raster.h"
#include "data/sketch.h"
#include "util/rng.h"

typedef struct {
    float rotate_deg;            /* uniform in [-rotate_deg, rotate_deg] (default 15) */
    float scale_min, scale_max;  /* uniform overall scale (default 0.8 .. 1.1) */
    float aspect;                /* x/y scale ratio within [1-aspect, 1+aspect] (default 0.1) */
    float shear;                 /* uniform in [-shear, shear] (default 0.15) */
    float translate;             /* uniform in [-translate, translate] of the half-size (default 0.08) */
    float stroke_drop;           /* probability of dropping each stroke (default 0.1) */
    float jitter;                /* point noise std, fraction of the bounding box (default 0.005) */
} sbir_augment_opts;

void augment_opts_default(sbir_augment_opts *a);

/* Edits s in place and sets ro->affine / ro->has_affine (composed after any affine already there). */
void sketch_augment(sbir_sketch *s, const sbir_augment_opts *a, sbir_rng *rng, sbir_raster_opts *ro);

#endif
