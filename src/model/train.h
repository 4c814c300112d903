/* train.h — training the hierarchical triplet ConvNet on a collection (SPEC section 3).
 *
 * Phases, on one global step counter so --resume can continue anywhere:
 *   1. structure: batches of half sketches, half gallery images of the same classes (class-balanced),
 *      one shared-weight network (with separate batch norms for sketches and images unless
 *      shared_bn); loss = softmax CE on a class head + batch-all triplet (margin m) over the
 *      L2-normalised embeddings of the whole batch (class masks);
 *   2. style stage 1: gallery images, balanced over (class, style) cells; CE over content x style;
 *   3. style stage 2: triplets with anchor and positive of the same style and another content,
 *      negative of the same content and another style (decorrelating style from content), plus a
 *      style CE that keeps the style classes apart.
 * Then: style prototypes from the training images, the fusion calibrated on the validation split.
 * Each step's batch comes from an RNG seeded by (seed, step), each sample's augmentation from one
 * seeded by (seed, step, position in the batch), and the checkpoint holds the optimiser state, so a
 * resumed run ends with the same weights as an uninterrupted one.
 *
 * Data-parallel: started by `mpirun -np P`, every process draws the same global batch and prepares,
 * forwards and backwards its own contiguous 1/P of it (batch % P == 0; in structure batches each
 * process's share holds as many sketches as images, so batch / P must be even); batch norm is synchronised
 * over the processes, the features are all-gathered so every process computes the same global loss,
 * and the parameter gradients are summed — the same mathematics as one process with the whole batch.
 * Process 0 alone reads the checkpoint (and sends it to the others), prints, and writes files. */
#ifndef SBIR_MODEL_TRAIN_H
#define SBIR_MODEL_TRAIN_H

#include <stdint.h>

#include "nn/net.h"

typedef struct {
    const char *collection, *out;
    int S;                      /* input size (default 48) */
    int batch;                  /* per step (default 64) */
    int structure_steps, style_steps; /* 0: chosen from the collection's size */
    double epochs;              /* > 0: overrides both step counts: epochs over the training images */
    uint64_t seed;
    int resume;
    const char *structure_spec, *style_spec;
    float lr, margin;
    float label_smoothing;      /* of the structure network's class loss (0: none) */
    float ema;                  /* > 0: also keep an exponential moving average of the structure network
                                   (and its class head) with this decay; at the end of the structure phase
                                   the averaged or the last weights, whichever validates better, are kept */
    int eval_every;             /* steps between validations (0: about 8 per phase) */
    net_backend backend;
    int quiet;
    int stop_after;             /* > 0: stop (after a checkpoint) once this many steps are done */
    int local_only;             /* train in this process alone even when started by mpirun (tests) */
    int shared_bn;              /* one batch norm for sketches and images in the structure network (the
                                   default gives sketches their own: model.h, structure_sketch) */
    int gallery_mirror;         /* the model embeds gallery images with their mirror image (model.h):
                                   1 on, 0 off, -1 (default) chosen from the collection's size */
    int bn_local;               /* data-parallel with each process's batch-norm statistics left local:
                                   NOT equivalent to one process (a test's negative control) */
} train_opts;

/* The default for gallery_mirror: on for collections of up to this many images. The second view
 * costs one more structure forward per indexed image (indexing at about 0.6x the images per second)
 * and buys about +0.02 sketch mAP (PACS, RESULTS.md). Up to 100,000 images that is at most a couple
 * of minutes of indexing, less than the training; beyond, where collections run to millions and
 * indexing throughput is what matters, one view. */
#define TRAIN_GALLERY_MIRROR_MAX_IMAGES 100000

void train_opts_default(train_opts *o);
/* gallery_mirror as given, or (-1) the default for a collection of n_images images. */
int train_gallery_mirror_for(int gallery_mirror, long long n_images);
int train_run(const train_opts *o);

#endif
