/* eval.h — the evaluation protocol of SPEC section 4, on embeddings already computed.
 *
 * Inputs: Q query sketches (content embedding, class), N gallery images (content and style embeddings,
 * class, style), S style prototypes, and the fusion that turns (content distance dc, style distance ds)
 * into one score:  score = -(f[0]*dc + f[1]*ds + f[2]*dc*ds)   (distances: squared Euclidean).
 * The calibrated weighted distance is f = {1, w, 0}; a learned fusion sets all three.
 *
 * Tables (every AP is one ranked list, metrics.h):
 *  - sketch mAP per style: query (sketch of class c, style s) ranks the gallery images of style s by
 *    dc; relevant = class c. Overall = mean over all (sketch, style) lists.
 *  - sketch + style mAP: query (sketch of class c, style s) ranks the whole gallery by the fused score;
 *    relevant = class c and style s. Per class x style, with overall row, column and cell.
 *  - mAP@200 and P@100 of the sketch + style lists; style-only mAP: each gallery image's style
 *    embedding ranks all other gallery images by ds, relevant = same style; style accuracy: nearest
 *    prototype = true style; an interpolated precision-recall curve (101 points) of sketch + style. */
#ifndef SBIR_MODEL_EVAL_H
#define SBIR_MODEL_EVAL_H

#include <stdio.h>

#define EVAL_MAX_CLASSES 64
#define EVAL_MAX_STYLES 32
#define EVAL_PR_POINTS 101

typedef struct {
    int Q, N, S, C;        /* queries, gallery, styles, classes */
    int Dc, Ds;            /* embedding sizes */
    const float *q_content; /* (Q, Dc) */
    const int *q_class;     /* (Q) in [0, C) */
    const float *g_content; /* (N, Dc) */
    const float *g_style;   /* (N, Ds) */
    const int *g_class, *g_style_id; /* (N) */
    const float *protos;    /* (S, Ds) */
    float fusion[3];
    const char *const *class_names, *const *style_names;
} eval_input;

typedef struct {
    int C, S, Q, N;
    const char *const *class_names, *const *style_names;
    double sketch_map[EVAL_MAX_STYLES], sketch_map_overall;
    double ss_map[EVAL_MAX_CLASSES][EVAL_MAX_STYLES], ss_class[EVAL_MAX_CLASSES], ss_style[EVAL_MAX_STYLES];
    double ss_overall;
    double map_at_200, p_at_100, style_only_map, style_accuracy, content_only_ss_map;
    double pr[EVAL_PR_POINTS];
    int lists; /* number of (sketch, style) lists with at least one relevant item */
} eval_result;

int eval_run(const eval_input *in, eval_result *out);

/* Just the overall sketch + style mAP for a fusion (used to calibrate it on validation data). */
double eval_fused_map(const eval_input *in, const float fusion[3]);

typedef enum { EVAL_MD, EVAL_CSV, EVAL_JSON } eval_format;
void eval_print(const eval_result *r, eval_format fmt, FILE *out);
int eval_pr_png(const eval_result *r, const char *path);

/* Squared Euclidean distance. */
float eval_sqdist(const float *a, const float *b, int d);

/* The content distance, 2 - 2 q.g: the one the index ranks by (index/search.h) and reports, so that
 * evaluation, calibration and `sbir query` agree. For unit vectors it is |q - g|^2. A content embedding
 * that carries the class posterior, e = [f/|f|, sqrt(c) p] (model.h), is longer than 1, and then it is
 * |n_q - n_g|^2 - 2c p_q.p_g: the posterior counts through p_q.p_g, the probability that sketch and image
 * show the same class (which ranks better than |p_q - p_g|^2: PACS test sketch mAP 0.638 vs 0.617). */
float eval_content_dist(const float *q, const float *g, int d);

#endif
