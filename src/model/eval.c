#include "model/eval.h"

#include <string.h>

#include "model/metrics.h"
#include "util/common.h"
#include "util/plot.h"

float eval_sqdist(const float *a, const float *b, int d) {
    float s = 0;
    for (int i = 0; i < d; i++) {
        float t = a[i] - b[i];
        s += t * t;
    }
    return s;
}

float eval_content_dist(const float *q, const float *g, int d) {
    float s = 0;
    for (int i = 0; i < d; i++) s += q[i] * g[i];
    return 2 - 2 * s;
}

/* dc (Q x N) and ds (S x N) are computed once; every list is a cheap combination of them. */
typedef struct {
    float *dc, *ds;
} dist_tables;

static dist_tables dist_compute(const eval_input *in) {
    dist_tables t;
    t.dc = mallocCheck(sizeof(float) * (size_t)in->Q * in->N);
    t.ds = mallocCheck(sizeof(float) * (size_t)in->S * in->N);
#pragma omp parallel for schedule(static)
    for (int q = 0; q < in->Q; q++)
        for (int i = 0; i < in->N; i++)
            t.dc[(size_t)q * in->N + i] = eval_content_dist(in->q_content + (size_t)q * in->Dc,
                                                       in->g_content + (size_t)i * in->Dc, in->Dc);
    for (int s = 0; s < in->S; s++)
        for (int i = 0; i < in->N; i++)
            t.ds[(size_t)s * in->N + i] =
                eval_sqdist(in->protos + (size_t)s * in->Ds, in->g_style + (size_t)i * in->Ds, in->Ds);
    return t;
}

static void fused_scores(const eval_input *in, const dist_tables *t, const float f[3], int q, int s, float *out) {
    const float *dc = t->dc + (size_t)q * in->N, *ds = t->ds + (size_t)s * in->N;
    for (int i = 0; i < in->N; i++) out[i] = -(f[0] * dc[i] + f[1] * ds[i] + f[2] * dc[i] * ds[i]);
}

static double fused_map(const eval_input *in, const dist_tables *t, const float f[3]) {
    double sum = 0;
    int lists = 0;
#pragma omp parallel reduction(+ : sum, lists)
    {
        float *sc = mallocCheck(sizeof(float) * (size_t)in->N);
        uint8_t *rel = mallocCheck((size_t)in->N);
        int *scratch = mallocCheck(sizeof(int) * (size_t)in->N);
#pragma omp for schedule(dynamic, 4)
        for (int qs = 0; qs < in->Q * in->S; qs++) {
            int q = qs / in->S, s = qs % in->S;
            fused_scores(in, t, f, q, s, sc);
            for (int i = 0; i < in->N; i++) rel[i] = in->g_class[i] == in->q_class[q] && in->g_style_id[i] == s;
            rank_metrics m = rank_evaluate(sc, rel, in->N, 200, 100, scratch);
            if (m.ap >= 0) {
                sum += m.ap;
                lists++;
            }
        }
        free(sc);
        free(rel);
        free(scratch);
    }
    return lists ? sum / lists : 0;
}

double eval_fused_map(const eval_input *in, const float fusion[3]) {
    dist_tables t = dist_compute(in);
    double m = fused_map(in, &t, fusion);
    free(t.dc);
    free(t.ds);
    return m;
}

int eval_run(const eval_input *in, eval_result *r) {
    if (in->C > EVAL_MAX_CLASSES || in->S > EVAL_MAX_STYLES)
        return sbir_error("evaluation supports at most %d classes and %d styles (got %d and %d)", EVAL_MAX_CLASSES,
                          EVAL_MAX_STYLES, in->C, in->S);
    memset(r, 0, sizeof *r);
    r->C = in->C, r->S = in->S, r->Q = in->Q, r->N = in->N;
    r->class_names = in->class_names, r->style_names = in->style_names;
    dist_tables t = dist_compute(in);
    int N = in->N;
    /* accumulators: [class][style] sums and counts for both tables */
    double sk_sum[EVAL_MAX_CLASSES][EVAL_MAX_STYLES] = {{0}}, ss_sum[EVAL_MAX_CLASSES][EVAL_MAX_STYLES] = {{0}};
    int sk_n[EVAL_MAX_CLASSES][EVAL_MAX_STYLES] = {{0}}, ss_n[EVAL_MAX_CLASSES][EVAL_MAX_STYLES] = {{0}};
    double at200 = 0, p100 = 0, content_only = 0;
    int n_cut = 0, n_content_only = 0;
    static const float k_content_only[3] = {1, 0, 0};
    double pr_sum[EVAL_PR_POINTS] = {0};
    int pr_n = 0;
#pragma omp parallel
    {
        float *sc = mallocCheck(sizeof(float) * (size_t)N), *sub = mallocCheck(sizeof(float) * (size_t)N);
        uint8_t *rel = mallocCheck((size_t)N), *subrel = mallocCheck((size_t)N);
        int *scratch = mallocCheck(sizeof(int) * (size_t)N);
        double pr_local[EVAL_PR_POINTS] = {0};
        int pr_local_n = 0;
#pragma omp for schedule(dynamic, 4) reduction(+ : at200, p100, content_only, n_cut, n_content_only)
        for (int qs = 0; qs < in->Q * in->S; qs++) {
            int q = qs / in->S, s = qs % in->S, c = in->q_class[q];
            const float *dc = t.dc + (size_t)q * N;
            int m = 0; /* table 1: only the gallery images of style s, by content distance */
            for (int i = 0; i < N; i++)
                if (in->g_style_id[i] == s) {
                    sub[m] = -dc[i];
                    subrel[m++] = in->g_class[i] == c;
                }
            rank_metrics a = rank_evaluate(sub, subrel, m, 200, 100, scratch);
            fused_scores(in, &t, in->fusion, q, s, sc);
            for (int i = 0; i < N; i++) rel[i] = in->g_class[i] == c && in->g_style_id[i] == s;
            rank_metrics b = rank_evaluate(sc, rel, N, 200, 100, scratch);
            if (b.ap >= 0) {
                at200 += b.ap_at_k;
                p100 += b.p_at_k2;
                n_cut++;
                pr_local_n += rank_pr_accumulate(sc, rel, N, EVAL_PR_POINTS, pr_local, scratch);
            }
            fused_scores(in, &t, k_content_only, q, s, sc);
            rank_metrics co = rank_evaluate(sc, rel, N, 200, 100, scratch);
            if (co.ap >= 0) {
                content_only += co.ap;
                n_content_only++;
            }
#pragma omp critical
            {
                if (a.ap >= 0) sk_sum[c][s] += a.ap, sk_n[c][s]++;
                if (b.ap >= 0) ss_sum[c][s] += b.ap, ss_n[c][s]++;
            }
        }
#pragma omp critical
        {
            for (int j = 0; j < EVAL_PR_POINTS; j++) pr_sum[j] += pr_local[j];
            pr_n += pr_local_n;
        }
        free(sc);
        free(sub);
        free(rel);
        free(subrel);
        free(scratch);
    }
    /* Means are over lists (queries), so a class with more sketches weighs more, as in the seed. */
    double sk_all = 0, ss_all = 0;
    int sk_all_n = 0, ss_all_n = 0;
    for (int s = 0; s < in->S; s++) {
        double a = 0, b = 0;
        int na = 0, nb = 0;
        for (int c = 0; c < in->C; c++) {
            a += sk_sum[c][s], na += sk_n[c][s];
            b += ss_sum[c][s], nb += ss_n[c][s];
            r->ss_map[c][s] = ss_n[c][s] ? ss_sum[c][s] / ss_n[c][s] : -1;
        }
        r->sketch_map[s] = na ? a / na : -1;
        r->ss_style[s] = nb ? b / nb : -1;
        sk_all += a, sk_all_n += na, ss_all += b, ss_all_n += nb;
    }
    for (int c = 0; c < in->C; c++) {
        double b = 0;
        int nb = 0;
        for (int s = 0; s < in->S; s++) b += ss_sum[c][s], nb += ss_n[c][s];
        r->ss_class[c] = nb ? b / nb : -1;
    }
    r->sketch_map_overall = sk_all_n ? sk_all / sk_all_n : 0;
    r->ss_overall = ss_all_n ? ss_all / ss_all_n : 0;
    r->lists = ss_all_n;
    r->map_at_200 = n_cut ? at200 / n_cut : 0;
    r->p_at_100 = n_cut ? p100 / n_cut : 0;
    r->content_only_ss_map = n_content_only ? content_only / n_content_only : 0;
    for (int j = 0; j < EVAL_PR_POINTS; j++) r->pr[j] = pr_n ? pr_sum[j] / pr_n : 0;

    /* style: leave-one-out retrieval by style embedding, and nearest-prototype accuracy */
    double st_sum = 0;
    int st_n = 0, correct = 0;
#pragma omp parallel reduction(+ : st_sum, st_n, correct)
    {
        float *sc = mallocCheck(sizeof(float) * (size_t)N);
        uint8_t *rel = mallocCheck((size_t)N);
        int *scratch = mallocCheck(sizeof(int) * (size_t)N);
#pragma omp for schedule(dynamic, 8)
        for (int i = 0; i < N; i++) {
            int m = 0;
            for (int j = 0; j < N; j++) {
                if (j == i) continue;
                sc[m] = -eval_sqdist(in->g_style + (size_t)i * in->Ds, in->g_style + (size_t)j * in->Ds, in->Ds);
                rel[m++] = in->g_style_id[j] == in->g_style_id[i];
            }
            rank_metrics a = rank_evaluate(sc, rel, m, 200, 100, scratch);
            if (a.ap >= 0) st_sum += a.ap, st_n++;
            int best = 0;
            for (int s = 1; s < in->S; s++)
                if (t.ds[(size_t)s * N + i] < t.ds[(size_t)best * N + i]) best = s;
            correct += best == in->g_style_id[i];
        }
        free(sc);
        free(rel);
        free(scratch);
    }
    r->style_only_map = st_n ? st_sum / st_n : 0;
    r->style_accuracy = N ? (double)correct / N : 0;
    free(t.dc);
    free(t.ds);
    return SBIR_OK;
}

static void print_num(FILE *out, double v, eval_format fmt) {
    if (v < 0) fputs(fmt == EVAL_JSON ? "null" : (fmt == EVAL_CSV ? "" : "-"), out);
    else fprintf(out, "%.3f", v);
}

static void print_md(const eval_result *r, FILE *out) {
    fprintf(out, "### Sketch mAP per style (%d sketches x %d styles, %d gallery images)\n\n|", r->Q, r->S, r->N);
    for (int s = 0; s < r->S; s++) fprintf(out, " %s |", r->style_names[s]);
    fputs(" overall |\n|", out);
    for (int s = 0; s <= r->S; s++) fputs("---:|", out);
    fputs("\n|", out);
    for (int s = 0; s < r->S; s++) {
        fputc(' ', out);
        print_num(out, r->sketch_map[s], EVAL_MD);
        fputs(" |", out);
    }
    fprintf(out, " %.3f |\n\n### Sketch + style mAP (class x style)\n\n| |", r->sketch_map_overall);
    for (int s = 0; s < r->S; s++) fprintf(out, " %s |", r->style_names[s]);
    fputs(" overall |\n|---|", out);
    for (int s = 0; s <= r->S; s++) fputs("---:|", out);
    fputc('\n', out);
    for (int c = 0; c < r->C; c++) {
        fprintf(out, "| %s |", r->class_names[c]);
        for (int s = 0; s < r->S; s++) {
            fputc(' ', out);
            print_num(out, r->ss_map[c][s], EVAL_MD);
            fputs(" |", out);
        }
        fputc(' ', out);
        print_num(out, r->ss_class[c], EVAL_MD);
        fputs(" |\n", out);
    }
    fputs("| overall |", out);
    for (int s = 0; s < r->S; s++) {
        fputc(' ', out);
        print_num(out, r->ss_style[s], EVAL_MD);
        fputs(" |", out);
    }
    fprintf(out, " %.3f |\n\n", r->ss_overall);
    fprintf(out,
            "| metric | value |\n|---|---:|\n| sketch + style mAP@200 | %.3f |\n| sketch + style P@100 | %.3f |\n"
            "| sketch + style mAP, content distance only | %.3f |\n| style-only mAP | %.3f |\n"
            "| style accuracy (nearest prototype) | %.3f |\n\n",
            r->map_at_200, r->p_at_100, r->content_only_ss_map, r->style_only_map, r->style_accuracy);
}

static void print_csv(const eval_result *r, FILE *out) {
    fputs("table,class,style,value\n", out);
    for (int s = 0; s < r->S; s++) {
        fprintf(out, "sketch_map,,%s,", r->style_names[s]);
        print_num(out, r->sketch_map[s], EVAL_CSV);
        fputc('\n', out);
    }
    fprintf(out, "sketch_map,,overall,%.4f\n", r->sketch_map_overall);
    for (int c = 0; c <= r->C; c++)
        for (int s = 0; s <= r->S; s++) {
            double v = c < r->C ? (s < r->S ? r->ss_map[c][s] : r->ss_class[c]) : (s < r->S ? r->ss_style[s] : r->ss_overall);
            fprintf(out, "sketch_style_map,%s,%s,", c < r->C ? r->class_names[c] : "overall",
                    s < r->S ? r->style_names[s] : "overall");
            print_num(out, v, EVAL_CSV);
            fputc('\n', out);
        }
    fprintf(out, "map_at_200,,,%.4f\np_at_100,,,%.4f\ncontent_only_sketch_style_map,,,%.4f\n", r->map_at_200,
            r->p_at_100, r->content_only_ss_map);
    fprintf(out, "style_only_map,,,%.4f\nstyle_accuracy,,,%.4f\n", r->style_only_map, r->style_accuracy);
}

static void print_json(const eval_result *r, FILE *out) {
    fprintf(out, "{\"queries\":%d,\"gallery\":%d,\"sketch_map\":{", r->Q, r->N);
    for (int s = 0; s < r->S; s++) {
        fprintf(out, "\"%s\":", r->style_names[s]);
        print_num(out, r->sketch_map[s], EVAL_JSON);
        fputc(',', out);
    }
    fprintf(out, "\"overall\":%.4f},\"sketch_style_map\":{", r->sketch_map_overall);
    for (int c = 0; c <= r->C; c++) {
        fprintf(out, "%s\"%s\":{", c ? "," : "", c < r->C ? r->class_names[c] : "overall");
        for (int s = 0; s <= r->S; s++) {
            double v = c < r->C ? (s < r->S ? r->ss_map[c][s] : r->ss_class[c]) : (s < r->S ? r->ss_style[s] : r->ss_overall);
            fprintf(out, "%s\"%s\":", s ? "," : "", s < r->S ? r->style_names[s] : "overall");
            print_num(out, v, EVAL_JSON);
        }
        fputc('}', out);
    }
    fprintf(out,
            "},\"map_at_200\":%.4f,\"p_at_100\":%.4f,\"content_only_sketch_style_map\":%.4f,"
            "\"style_only_map\":%.4f,\"style_accuracy\":%.4f,\"pr_curve\":[",
            r->map_at_200, r->p_at_100, r->content_only_ss_map, r->style_only_map, r->style_accuracy);
    for (int j = 0; j < EVAL_PR_POINTS; j++) fprintf(out, "%s%.4f", j ? "," : "", r->pr[j]);
    fputs("]}\n", out);
}

void eval_print(const eval_result *r, eval_format fmt, FILE *out) {
    if (fmt == EVAL_MD) print_md(r, out);
    else if (fmt == EVAL_CSV) print_csv(r, out);
    else print_json(r, out);
}

int eval_pr_png(const eval_result *r, const char *path) {
    double x[EVAL_PR_POINTS], y[EVAL_PR_POINTS];
    for (int j = 0; j < EVAL_PR_POINTS; j++) x[j] = (double)j / (EVAL_PR_POINTS - 1), y[j] = r->pr[j];
    plot_series s = {"sketch + style", x, y, EVAL_PR_POINTS};
    plot_opts o = {"Precision-recall (interpolated, mean over queries)", "recall", "precision", 0, 1, 0, 1.02, 0, 0};
    return plot_lines_png(path, &o, &s, 1);
}
