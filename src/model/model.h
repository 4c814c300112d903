/* model.h — the hierarchical triplet ConvNet: a structure network (sketches and images into one
 * content space) and a style network (images into a style space decorrelated from content), their
 * classification heads, the style prototypes and the fusion that ranks (sketch, style) queries.
 *
 * One model is one safetensors file: the two networks' tensors under "structure." and "style.", the
 * sketches' batch-norm tensors under "structure_sketch." (when it has them), the heads, "style_protos"
 * (NS, Ds) and, in a training checkpoint, the optimiser state under "opt."; metadata holds the specs,
 * input size, class and style names (JSON arrays), the fusion, and the training position for --resume.
 * Embeddings are L2-normalised. */
#ifndef SBIR_MODEL_MODEL_H
#define SBIR_MODEL_MODEL_H

#include <stdint.h>

#include "nn/net.h"

/* Defaults for real collections (PACS-sized: thousands of images of real media). The structure
 * network has two convolutions before its first pooling (session 6): on PACS, 3000 of its steps test
 * better than 3500 of the single-convolution network's (seeds 1-4: sketch mAP +0.020, sketch + style
 * +0.017, better on every seed) for a 1.6x costlier step, 13 minutes of training (RESULTS.md). The
 * style network's width was chosen on PACS validation: c24 names the medium of 91.7% of the
 * validation images where c16 named 90.7%, for about 80 s more training. The built-in demo
 * collection needs less: `sbir demo` trains the MODEL_DEMO_* networks. */
#define MODEL_STRUCTURE_SPEC "c32,c32,p,c64,p,c128,p,c256,p,g,l128"
#define MODEL_STYLE_SPEC "c24,p,c48,p,c96,p,c96,g,l64"
#define MODEL_SIZE 48 /* input side: at 48x48 the training budget holds 1.7x the steps of 64x64 (train.c) */
#define MODEL_DEMO_SIZE 64
#define MODEL_DEMO_STRUCTURE_SPEC "c16,p,c32,p,c64,p,c128,p,g,l128"
#define MODEL_DEMO_STYLE_SPEC "c16,p,c32,p,c64,p,c64,g,l64"

typedef struct {
    int S;          /* input side */
    int C, NS;      /* classes, styles */
    char **classes, **styles;
    net *structure, *style;
    /* The structure network as it sees sketches: the convolution and linear weights of `structure`
     * (kept equal by training), its own batch-norm scale, shift and statistics, so that sketches and
     * images are each normalised with their own domain's statistics (domain-specific batch norm;
     * RESULTS.md has what it changed). NULL in a model trained with one batch norm for both
     * (`--shared-bn`, or older models): sketches then go through `structure`. Use model_sketch_net. */
    net *structure_sketch;
    int Df;         /* structure network output (features the content head reads) */
    int Dc, Ds;     /* embedding sizes: content = Df (+ C, see class_weight), style */
    /* The content embedding is [normalise(f), sqrt(class_weight) * softmax(content_head(f))]: the
     * class posterior joins the embedding when class_weight > 0, so a squared distance in it is
     * |e_q - e_g|^2 + class_weight |p_q - p_g|^2 and every index and search works unchanged. Chosen on
     * the validation split at the end of training (model_calibrate); 0 in older models. */
    float class_weight;
    /* 1: gallery images are embedded like sketch queries, as the mean of the structure features of the
     * image and of its mirror image (model_sketch_features): PACS sketch mAP +0.018 on test, +0.015 on
     * validation over four seeds, for a second forward of every image (indexing about 1.6x slower;
     * RESULTS.md). Chosen at training: on by default for collections of up to
     * TRAIN_GALLERY_MIRROR_MAX_IMAGES images (train.h), `--gallery-mirror` / `--no-gallery-mirror`;
     * 0 in models from before it existed. Part of the fingerprint: it changes every gallery embedding. */
    int gallery_mirror;
    float *content_head; /* (C, Df) weights then C biases: classifier on structure features */
    float *style_head;   /* rows x Ds weights then rows biases: C * NS rows (stage 1), NS (stage 2) */
    int style_head_rows;
    float *protos;       /* (NS, Ds) mean normalised style embedding per style */
    float fusion[3];     /* score = -(f0 dc + f1 ds + f2 dc ds) */
    char fingerprint[17];
    int max_batch;
} sbir_model;

sbir_model *model_create(int S, int C, char **classes, int NS, char **styles, const char *structure_spec,
                         const char *style_spec, int max_batch, net_backend backend);
void model_free(sbir_model *m);
/* Gives m a structure_sketch network: a copy of `structure` (weights, batch norm and statistics). */
int model_add_sketch_bn(sbir_model *m);
/* The network sketches go through: structure_sketch, or structure where the model has none. */
net *model_sketch_net(const sbir_model *m);

/* Extra tensors and metadata a training checkpoint adds (NULL / 0 for a plain model). */
typedef struct {
    const char *name;
    const float *data;
    int64_t n;
} model_extra;

int model_save(const sbir_model *m, const char *path, const model_extra *extra, int n_extra, const char *const *meta,
               int n_meta);
/* Opens a model file. extra_out, if not NULL, receives the safetensors handle for checkpoint data
 * (caller closes it with safetensors_close). */
struct safetensors;
sbir_model *model_load(const char *path, int max_batch, net_backend backend, struct safetensors **extra_out);

/* Embeds B inputs (B, 3, S, S) in chunks of max_batch, inference mode: content out (B, Dc) (see
 * class_weight), style out (B, Ds) L2-normalised. */
void model_embed_content(sbir_model *m, const float *x, int B, float *out);
/* A sketch query's structure features (B, out_dim): the mean of those of the sketch and of its mirror
 * image (a drawing and its mirror show the same object; PACS test sketch mAP +0.007). x (B, 3, S, S);
 * batches of n->max_batch, so a network built for batch 1 works too. Also gallery images' features
 * in a model with gallery_mirror. */
void model_sketch_features(net *n, const float *x, int B, float *out);
/* model_embed_content for sketch queries: features as model_sketch_features. Every path that embeds a
 * sketch (the library, the server, eval, calibration) goes through one of these two. */
void model_embed_sketch_content(sbir_model *m, const float *x, int B, float *out);
/* The content embedding (B, Df + (class_weight > 0 ? C : 0)) from structure features f (B, Df). */
void model_content_from_features(const sbir_model *m, const float *f, int B, float class_weight, float *out);
/* Sets class_weight (>= 0) and the content embedding size Dc that follows from it. */
void model_set_class_weight(sbir_model *m, float class_weight);
void model_embed_style(sbir_model *m, const float *x, int B, float *out);

/* The fingerprint: 16 hex digits of a hash of every weight; set by model_save and model_load. */
void model_compute_fingerprint(sbir_model *m);
/* Its first half: CRC-32 of the structure network's parameters, then the sketches' network's. */
uint32_t model_structure_crc(const sbir_model *m);

#endif
