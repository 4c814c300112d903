/* dataset.h — a collection loaded for training and evaluation.
 *
 * Gallery images are decoded once to S x S RGB (image_load_square, white padding) and kept in memory;
 * sketches are kept as strokes (rasterised per use, augmented when training) or, for sketches given
 * as images (PACS), decoded once to S x S grey. Class ids index the gallery's classes (sorted); a
 * sketch whose class has no gallery image is left out (it could never be answered) and counted.
 * Style ids index the gallery's styles (sorted). Images that fail to decode are left out and counted,
 * with the first error kept for the message. */
#ifndef SBIR_MODEL_DATASET_H
#define SBIR_MODEL_DATASET_H

#include <stdint.h>

#include "data/sketch.h"
#include "util/rng.h"

typedef struct {
    int S;
    int C, NS; /* classes, styles */
    char **classes, **styles;
    int n_img;
    uint8_t *img; /* n_img x S x S x 3 */
    int *img_class, *img_style, *img_split;
    int64_t *img_id;
    char **img_path; /* as stored in the collection */
    int n_sk;
    sbir_sketch *sk;     /* strokes (n_points > 0) or empty for image sketches */
    uint8_t *sk_grey;    /* n_sk x S x S: the plain rendering / decoded image, black ink on white */
    int *sk_class, *sk_split;
    int64_t *sk_id;
    int skipped_images, skipped_sketches;
    char first_skip_reason[256];
} dataset;

/* Loads the whole collection (every split). */
int dataset_load(dataset *d, const char *collection_path, int S);
void dataset_free(dataset *d);

/* Index lists of one split (split < 0: all): malloc'd, count in *n. */
int *dataset_images_of_split(const dataset *d, int split, int *n);
int *dataset_sketches_of_split(const dataset *d, int split, int *n);

/* Network input (3, S, S) from 8-bit pixels: (v / 255 - 0.5) / 0.25 per channel; grey is replicated. */
void input_from_rgb(const uint8_t *rgb, int S, float *out);
void input_from_grey(const uint8_t *grey, int S, float *out);

/* Training augmentation of a gallery image: random horizontal flip and a random scaled crop
 * (scale 0.85..1, white outside), deterministic from rng. Shape only: colours are never changed,
 * since colour is part of a medium's look. */
void augment_rgb(const uint8_t *src, int S, sbir_rng *rng, uint8_t *dst);
/* For the structure (content) network, where colour must not matter: the same crop, then one of an
 * edge map (dark lines on white, like a drawing; 20%), greyscale (30%) or a colour jitter (50%). */
void augment_rgb_content(const uint8_t *src, int S, sbir_rng *rng, uint8_t *dst);
/* A sketch as 8-bit grey S x S: strokes re-rendered (augmented: dropout, jitter, affine, line width)
 * or the stored image (augmented: flip + scaled crop). */
void dataset_sketch_grey(const dataset *d, int i, int augment, sbir_rng *rng, uint8_t *out);

#endif
