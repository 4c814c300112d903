/* test_eval.c — the evaluation protocol on embeddings whose answers are known by construction. */
#include <string.h>

#include "model/eval.h"
#include "test.h"

/* 2 classes x 2 styles, 3 images per cell, 2 sketches per class. Content embeddings are the class's
 * one-hot vector, style embeddings the style's one-hot vector. */
enum { C = 2, S = 2, PER = 3, N = C * S * PER, Q = 4 };
static float g_content[N * 2], g_style[N * 2], q_content[Q * 2], protos[S * 2];
static int g_class[N], g_style_id[N], q_class[Q];
static const char *k_classes[C] = {"cat", "dog"}, *k_styles[S] = {"comic", "watercolor"};

static eval_input make_input(float w) {
    memset(g_content, 0, sizeof g_content);
    memset(g_style, 0, sizeof g_style);
    memset(q_content, 0, sizeof q_content);
    memset(protos, 0, sizeof protos);
    for (int i = 0; i < N; i++) {
        g_class[i] = i / (S * PER);
        g_style_id[i] = (i / PER) % S;
        g_content[i * 2 + g_class[i]] = 1;
        g_style[i * 2 + g_style_id[i]] = 1;
    }
    for (int q = 0; q < Q; q++) {
        q_class[q] = q % C;
        q_content[q * 2 + q_class[q]] = 1;
    }
    for (int s = 0; s < S; s++) protos[s * 2 + s] = 1;
    eval_input in = {Q, N, S, C, 2, 2, q_content, q_class, g_content, g_style, g_class, g_style_id, protos,
                     {1, w, 0}, k_classes, k_styles};
    return in;
}

static void test_perfect_embeddings(void) {
    eval_input in = make_input(1.0f);
    eval_result r;
    CHECK(eval_run(&in, &r) == 0, "eval failed");
    CHECK_NEAR(r.sketch_map_overall, 1.0, 1e-9);
    CHECK_NEAR(r.ss_overall, 1.0, 1e-9);
    CHECK_NEAR(r.style_only_map, 1.0, 1e-9);
    CHECK_NEAR(r.style_accuracy, 1.0, 1e-9);
    CHECK(r.lists == Q * S, "lists %d", r.lists);
    /* P@100 over 12 images with 3 relevant: 3/100 */
    CHECK_NEAR(r.p_at_100, 3.0 / 100, 1e-9);
    CHECK_NEAR(r.pr[0], 1.0, 1e-9);
    CHECK_NEAR(r.pr[EVAL_PR_POINTS - 1], 1.0, 1e-9);
    /* content only: the 6 images of the class tie, 3 of them relevant -> AP 0.5 */
    CHECK_NEAR(r.content_only_ss_map, 0.5, 1e-9);
}

static void test_content_only_fusion_ties(void) {
    eval_input in = make_input(0.0f);
    CHECK_NEAR(eval_fused_map(&in, in.fusion), 0.5, 1e-9);
    float heavy[3] = {1, 100, 0};
    CHECK_NEAR(eval_fused_map(&in, heavy), 1.0, 1e-9);
}

static void test_wrong_content_embedding(void) {
    eval_input in = make_input(1.0f);
    /* every sketch embedded as the other class: relevant images come last among their style */
    for (int q = 0; q < Q; q++) {
        q_content[q * 2 + 0] = q_class[q] == 1;
        q_content[q * 2 + 1] = q_class[q] == 0;
    }
    eval_result r;
    eval_run(&in, &r);
    /* within one style: 3 wrong (tied) then 3 right (tied) -> one group ending at 6 with P = 3/6 */
    CHECK_NEAR(r.sketch_map_overall, 0.5, 1e-9);
    CHECK(r.sketch_map_overall < 0.6, "wrong embeddings scored %g", r.sketch_map_overall);
}

static void test_output_formats(void) {
    eval_input in = make_input(1.0f);
    eval_result r;
    eval_run(&in, &r);
    char path[4200];
    snprintf(path, sizeof path, "%s/out.txt", test_tmpdir());
    const char *needles[3] = {"| watercolor |", "sketch_style_map,dog,comic,1.000\n", "\"overall\":1.0000"};
    for (int f = 0; f < 3; f++) {
        FILE *fp = fopen(path, "w+");
        eval_print(&r, (eval_format)f, fp);
        rewind(fp);
        char buf[8192] = {0};
        size_t n = fread(buf, 1, sizeof buf - 1, fp);
        fclose(fp);
        CHECK(n > 0 && strstr(buf, needles[f]) != NULL, "format %d lacks '%s':\n%s", f, needles[f], buf);
    }
    snprintf(path, sizeof path, "%s/pr.png", test_tmpdir());
    CHECK(eval_pr_png(&r, path) == 0, "PR plot failed");
    FILE *fp = fopen(path, "rb");
    unsigned char sig[8] = {0};
    CHECK(fp && fread(sig, 1, 8, fp) == 8 && sig[1] == 'P' && sig[2] == 'N' && sig[3] == 'G', "not a PNG");
    if (fp) fclose(fp);
}

int main(void) {
    RUN(test_perfect_embeddings);
    RUN(test_content_only_fusion_ties);
    RUN(test_wrong_content_embedding);
    RUN(test_output_formats);
    return test_summary();
}
