/* test_synth.c — the built-in demo collection: determinism, every cell non-trivial, content and style
 * as independent factors (colour does not give the class away; texture statistics do separate media),
 * Quick, Draw!-format sketches, the on-disk layout (identical for any thread count), bad arguments. */
#include <ctype.h>
#include <string.h>
#include <sys/stat.h>

#include "data/synth.h"
#include "test.h"
#include "util/atomic_file.h"
#include "util/common.h"

#define S 40 /* small renders keep the test fast; the models do not depend on the size */

static void test_names(void) {
    static const char *styles[] = {"oilpaint", "watercolor", "pen_ink", "graphite", "comic", "vectorart", "3d_graphics"};
    static const char *classes[] = {"bicycle", "bird", "car", "cat", "dog"};
    for (int i = 0; i < SYNTH_N_STYLES; i++) {
        CHECK(strcmp(synth_styles[i], styles[i]) == 0, "style %d is %s", i, synth_styles[i]);
        CHECK(synth_style_index(styles[i]) == i, "index of %s", styles[i]);
    }
    for (int i = 0; i < SYNTH_N_CLASSES; i++) {
        CHECK(strcmp(synth_classes[i], classes[i]) == 0, "class %d is %s", i, synth_classes[i]);
        CHECK(synth_class_index(classes[i]) == i, "index of %s", classes[i]);
    }
    CHECK(synth_style_index("photo") == -1 && synth_class_index("cars") == -1, "unknown names");
}

static void test_determinism(void) {
    uint8_t *a = mallocCheck(S * S * 3), *b = mallocCheck(S * S * 3);
    for (int st = 0; st < SYNTH_N_STYLES; st++) {
        int c = st % SYNTH_N_CLASSES;
        CHECK(synth_render_image(st, c, 7, 3, S, a) == SBIR_OK, "%s", sbir_last_error());
        CHECK(synth_render_image(st, c, 7, 3, S, b) == SBIR_OK, "%s", sbir_last_error());
        CHECK(memcmp(a, b, S * S * 3) == 0, "%s: same seed gave different pixels", synth_styles[st]);
        CHECK(synth_render_image(st, c, 8, 3, S, b) == SBIR_OK, "%s", sbir_last_error());
        CHECK(memcmp(a, b, S * S * 3) != 0, "%s: a different seed gave the same image", synth_styles[st]);
        CHECK(synth_render_image(st, c, 7, 4, S, b) == SBIR_OK, "%s", sbir_last_error());
        CHECK(memcmp(a, b, S * S * 3) != 0, "%s: a different index gave the same image", synth_styles[st]);
    }
    synth_strokes s1 = {0}, s2 = {0};
    CHECK(synth_sketch(3, 7, 5, &s1) == SBIR_OK && synth_sketch(3, 7, 5, &s2) == SBIR_OK, "sketch");
    CHECK(s1.n_points == s2.n_points && s1.n_strokes == s2.n_strokes && memcmp(s1.x, s2.x, (size_t)s1.n_points) == 0 &&
              memcmp(s1.y, s2.y, (size_t)s1.n_points) == 0,
          "same seed gave a different sketch");
    CHECK(synth_sketch(3, 8, 5, &s2) == SBIR_OK, "sketch");
    CHECK(s1.n_points != s2.n_points || memcmp(s1.x, s2.x, (size_t)s1.n_points) != 0, "different seed, same sketch");
    synth_strokes_free(&s1);
    synth_strokes_free(&s2);
    free(a);
    free(b);
}

/* Per-image statistics used below. */
typedef struct {
    double mean[3];
    double lum_std, sat, grad, white, colours;
} img_stats;

static img_stats stats_of(const uint8_t *p, int n) {
    img_stats s = {0};
    double lsum = 0, lsq = 0;
    int seen[512] = {0}, distinct = 0;
    for (int y = 0; y < n; y++)
        for (int x = 0; x < n; x++) {
            const uint8_t *q = p + (y * n + x) * 3;
            double L = 0.299 * q[0] + 0.587 * q[1] + 0.114 * q[2];
            for (int k = 0; k < 3; k++) s.mean[k] += q[k];
            lsum += L;
            lsq += L * L;
            int mx = SBIR_MAX(q[0], SBIR_MAX(q[1], q[2])), mn = SBIR_MIN(q[0], SBIR_MIN(q[1], q[2]));
            s.sat += mx ? (double)(mx - mn) / mx : 0;
            s.white += mn > 225;
            int bin = (q[0] >> 5) << 6 | (q[1] >> 5) << 3 | (q[2] >> 5);
            if (!seen[bin]++) distinct++;
            if (x + 1 < n) {
                const uint8_t *r = q + 3;
                s.grad += fabs(L - (0.299 * r[0] + 0.587 * r[1] + 0.114 * r[2]));
            }
        }
    double N = (double)n * n;
    for (int k = 0; k < 3; k++) s.mean[k] /= N;
    s.lum_std = sqrt(fmax(0, lsq / N - (lsum / N) * (lsum / N)));
    s.sat /= N;
    s.grad /= N;
    s.white /= N;
    s.colours = distinct;
    return s;
}

static void test_every_cell_renders_something(void) {
    uint8_t *p = mallocCheck(S * S * 3);
    for (int st = 0; st < SYNTH_N_STYLES; st++)
        for (int c = 0; c < SYNTH_N_CLASSES; c++)
            for (uint32_t i = 0; i < 2; i++) {
                CHECK(synth_render_image(st, c, 1, i, S, p) == SBIR_OK, "%s", sbir_last_error());
                img_stats s = stats_of(p, S);
                CHECK(s.lum_std > 8, "%s/%s/%u: nearly uniform (luminance std %.1f)", synth_styles[st], synth_classes[c],
                      i, s.lum_std);
                CHECK(s.colours >= 4, "%s/%s/%u: only %.0f colour bins", synth_styles[st], synth_classes[c], i, s.colours);
            }
    free(p);
}

/* Nearest-centroid classification: features of n items with labels in [0, k); the first half of each
 * cell's items train, the rest test. Returns the test accuracy. */
static double nearest_centroid(const double *f, const int *label, const int *train, int n, int dim, int k) {
    double *cen = callocCheck((size_t)k * dim, sizeof(double));
    int *cnt = callocCheck((size_t)k, sizeof(int));
    /* standardise each feature so no one scale dominates */
    double *mu = callocCheck((size_t)dim, sizeof(double)), *sd = callocCheck((size_t)dim, sizeof(double));
    for (int i = 0; i < n; i++)
        for (int d = 0; d < dim; d++) mu[d] += f[i * dim + d] / n;
    for (int i = 0; i < n; i++)
        for (int d = 0; d < dim; d++) sd[d] += (f[i * dim + d] - mu[d]) * (f[i * dim + d] - mu[d]) / n;
    for (int d = 0; d < dim; d++) sd[d] = sqrt(sd[d]) + 1e-9;
    for (int i = 0; i < n; i++) {
        if (!train[i]) continue;
        cnt[label[i]]++;
        for (int d = 0; d < dim; d++) cen[label[i] * dim + d] += (f[i * dim + d] - mu[d]) / sd[d];
    }
    for (int c = 0; c < k; c++)
        for (int d = 0; d < dim; d++) cen[c * dim + d] /= cnt[c] ? cnt[c] : 1;
    int right = 0, tested = 0;
    for (int i = 0; i < n; i++) {
        if (train[i]) continue;
        int best = -1;
        double bd = 1e300;
        for (int c = 0; c < k; c++) {
            double d2 = 0;
            for (int d = 0; d < dim; d++) {
                double v = (f[i * dim + d] - mu[d]) / sd[d] - cen[c * dim + d];
                d2 += v * v;
            }
            if (d2 < bd) bd = d2, best = c;
        }
        right += best == label[i];
        tested++;
    }
    free(cen);
    free(cnt);
    free(mu);
    free(sd);
    return tested ? (double)right / tested : 0;
}

/* Content and style are independent factors: mean colour must not give away the class (it would if,
 * say, every car were red), while simple texture statistics should separate media. */
static void test_content_style_independence(void) {
    enum { PER = 14 };
    int n = SYNTH_N_STYLES * SYNTH_N_CLASSES * PER;
    double *colour = mallocCheck(sizeof(double) * (size_t)n * 3), *tex = mallocCheck(sizeof(double) * (size_t)n * 5);
    int *cls = mallocCheck(sizeof(int) * (size_t)n), *sty = mallocCheck(sizeof(int) * (size_t)n),
        *train = mallocCheck(sizeof(int) * (size_t)n);
    uint8_t *p = mallocCheck(S * S * 3);
    int i = 0;
    for (int st = 0; st < SYNTH_N_STYLES; st++)
        for (int c = 0; c < SYNTH_N_CLASSES; c++)
            for (int k = 0; k < PER; k++, i++) {
                synth_render_image(st, c, 11, (uint32_t)k, S, p);
                img_stats s = stats_of(p, S);
                for (int d = 0; d < 3; d++) colour[i * 3 + d] = s.mean[d];
                double t[5] = {s.sat, s.grad, s.white, s.lum_std, s.colours};
                memcpy(tex + i * 5, t, sizeof t);
                cls[i] = c;
                sty[i] = st;
                train[i] = k < PER / 2;
            }
    double class_acc = nearest_centroid(colour, cls, train, n, 3, SYNTH_N_CLASSES);
    fprintf(stderr, "    class accuracy from mean colour: %.3f (chance 0.2)\n", class_acc);
    CHECK(class_acc < 0.4, "mean colour predicts the class with accuracy %.3f", class_acc);
    double style_acc = nearest_centroid(tex, sty, train, n, 5, SYNTH_N_STYLES);
    fprintf(stderr, "    style accuracy from 5 texture statistics: %.3f (chance 0.14)\n", style_acc);
    CHECK(style_acc > 0.5, "texture statistics separate media with accuracy only %.3f", style_acc);
    /* and the ink media are unmistakably less colourful than comics */
    double sat[SYNTH_N_STYLES] = {0};
    for (int j = 0; j < n; j++) sat[sty[j]] += tex[j * 5] / (SYNTH_N_CLASSES * PER);
    CHECK(sat[2] < sat[4] * 0.5 && sat[3] < sat[4] * 0.5, "saturation pen_ink %.3f graphite %.3f comic %.3f", sat[2],
          sat[3], sat[4]);
    free(colour);
    free(tex);
    free(cls);
    free(sty);
    free(train);
    free(p);
}

/* Minimal reader of the "drawing" array: [[[x...],[y...]],...] with integers 0..255. Returns the
 * number of strokes, or -1 when malformed. */
static int parse_drawing(const char *s, int *n_points) {
    *n_points = 0;
    if (*s++ != '[') return -1;
    int strokes = 0;
    while (*s == '[') {
        s++;
        int counts[2];
        for (int c = 0; c < 2; c++) {
            if (*s++ != '[') return -1;
            counts[c] = 0;
            while (isdigit((unsigned char)*s)) {
                long v = strtol(s, (char **)&s, 10);
                if (v < 0 || v > 255) return -1;
                counts[c]++;
                if (*s == ',') s++;
            }
            if (*s++ != ']') return -1;
            if (c == 0 && *s++ != ',') return -1;
        }
        if (*s++ != ']' || counts[0] != counts[1] || counts[0] == 0) return -1;
        *n_points += counts[0];
        strokes++;
        if (*s == ',') s++;
    }
    return *s == ']' ? strokes : -1;
}

static void test_sketches(void) {
    synth_strokes sk = {0};
    uint64_t keys[SYNTH_N_CLASSES * 20];
    int nk = 0;
    for (int c = 0; c < SYNTH_N_CLASSES; c++)
        for (uint32_t i = 0; i < 20; i++) {
            CHECK(synth_sketch(c, 5, i, &sk) == SBIR_OK, "%s", sbir_last_error());
            CHECK(sk.n_strokes >= 1 && sk.n_points >= 2, "%s/%u: %d strokes", synth_classes[c], i, sk.n_strokes);
            int mx = 0, my = 0, minx = 255, miny = 255;
            for (int k = 0; k < sk.n_points; k++) {
                mx = SBIR_MAX(mx, sk.x[k]), my = SBIR_MAX(my, sk.y[k]);
                minx = SBIR_MIN(minx, sk.x[k]), miny = SBIR_MIN(miny, sk.y[k]);
            }
            /* Google's simplified format: aligned to the top-left, largest coordinate 255 */
            CHECK(minx == 0 && miny == 0 && (mx == 255 || my == 255), "%s/%u: bounds %d..%d, %d..%d",
                  synth_classes[c], i, minx, mx, miny, my);
            char *line = synth_sketch_ndjson(&sk, c, 5, i);
            char want[64];
            snprintf(want, sizeof want, "{\"word\":\"%s\",", synth_classes[c]);
            CHECK(strncmp(line, want, strlen(want)) == 0, "line starts %.40s", line);
            CHECK(strstr(line, "\"countrycode\":\"ZZ\"") && strstr(line, "\"recognized\":true") &&
                      strstr(line, " UTC\""),
                  "fields: %.200s", line);
            const char *kid = strstr(line, "\"key_id\":\"");
            CHECK(kid != NULL, "no key_id");
            if (kid) {
                uint64_t key = strtoull(kid + 10, NULL, 10);
                CHECK(key == synth_sketch_key_id(c, 5, i), "key_id");
                for (int k = 0; k < nk; k++) CHECK(keys[k] != key, "duplicate key_id %llu", (unsigned long long)key);
                keys[nk++] = key;
            }
            const char *d = strstr(line, "\"drawing\":");
            int pts = 0, ns = d ? parse_drawing(d + 10, &pts) : -1;
            CHECK(ns == sk.n_strokes && pts == sk.n_points, "%s/%u: drawing parsed as %d strokes %d points (want %d, %d)",
                  synth_classes[c], i, ns, pts, sk.n_strokes, sk.n_points);
            size_t len = strlen(line);
            CHECK(len > 2 && strcmp(line + len - 2, "]}") == 0 && !strchr(line, '\n'), "line ends");
            free(line);
        }
    /* the same drawing as the project's sketch type */
    CHECK(synth_sketch(2, 5, 4, &sk) == SBIR_OK, "sketch");
    sbir_sketch ss;
    sketch_init(&ss);
    CHECK(synth_sketch_load(2, 5, 4, &ss) == SBIR_OK, "%s", sbir_last_error());
    CHECK((int)ss.n_strokes == sk.n_strokes && (int)ss.n_points == sk.n_points, "%u strokes %u points", ss.n_strokes,
          ss.n_points);
    int same = 1;
    for (int k = 0; k < sk.n_points && k < (int)ss.n_points; k++) same &= ss.x[k] == sk.x[k] && ss.y[k] == sk.y[k];
    CHECK(same, "points differ");
    CHECK(strcmp(ss.word, "car") == 0 && ss.key_id == synth_sketch_key_id(2, 5, 4) && ss.recognized == 1 &&
              ss.timestamp > 1483228800 && strcmp(ss.countrycode, "ZZ") == 0,
          "metadata");
    CHECK(synth_sketch_load(-1, 5, 4, &ss) == SBIR_ERR, "bad class accepted");
    sketch_free(&ss);
    synth_strokes_free(&sk);
    CHECK(synth_sketch(9, 1, 0, &sk) == SBIR_ERR, "bad class accepted");
}

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static void test_generate_layout_and_thread_independence(void) {
    char d1[4200], d2[4200], p1[4400], p2[4400];
    snprintf(d1, sizeof d1, "%s/coll1", test_tmpdir());
    snprintf(d2, sizeof d2, "%s/coll2", test_tmpdir());
    synth_opts o;
    synth_opts_default(&o);
    CHECK(o.seed == 1 && o.per_cell == 120 && o.sketches_per_class == 200 && o.size == 128, "defaults");
    o.per_cell = 2;
    o.sketches_per_class = 3;
    o.size = 24;
    o.progress = 0;
    o.jobs = 1;
    CHECK(synth_generate(d1, &o) == SBIR_OK, "%s", sbir_last_error());
    o.jobs = 2;
    CHECK(synth_generate(d2, &o) == SBIR_OK, "%s", sbir_last_error());
    for (int st = 0; st < SYNTH_N_STYLES; st++)
        for (int c = 0; c < SYNTH_N_CLASSES; c++)
            for (uint32_t i = 0; i < 2; i++) {
                char rel[256];
                synth_image_relpath(rel, sizeof rel, st, c, i);
                snprintf(p1, sizeof p1, "%s/%s", d1, rel);
                snprintf(p2, sizeof p2, "%s/%s", d2, rel);
                unsigned char *a = NULL, *b = NULL;
                size_t na = 0, nb = 0;
                int ok = read_file_all(p1, 1 << 20, &a, &na) == SBIR_OK && read_file_all(p2, 1 << 20, &b, &nb) == SBIR_OK;
                CHECK(ok, "%s: %s", rel, sbir_last_error());
                CHECK(ok && na > 8 && memcmp(a, "\x89PNG\r\n\x1a\n", 8) == 0, "%s is not a PNG", rel);
                CHECK(ok && na == nb && memcmp(a, b, na) == 0, "%s differs between 1 and 2 threads", rel);
                free(a);
                free(b);
            }
    snprintf(p1, sizeof p1, "%s/images/oilpaint/cat/oilpaint_cat_00001.png", d1);
    CHECK(file_exists(p1), "layout: %s", p1);
    for (int c = 0; c < SYNTH_N_CLASSES; c++) {
        snprintf(p1, sizeof p1, "%s/sketches/%s.ndjson", d1, synth_classes[c]);
        snprintf(p2, sizeof p2, "%s/sketches/%s.ndjson", d2, synth_classes[c]);
        unsigned char *a = NULL, *b = NULL;
        size_t na = 0, nb = 0;
        int ok = read_file_all(p1, 1 << 20, &a, &na) == SBIR_OK && read_file_all(p2, 1 << 20, &b, &nb) == SBIR_OK;
        CHECK(ok, "%s", sbir_last_error());
        int lines = 0;
        for (size_t k = 0; ok && k < na; k++) lines += a[k] == '\n';
        CHECK(lines == 3, "%s has %d lines", p1, lines);
        CHECK(ok && na == nb && memcmp(a, b, na) == 0, "sketches differ between runs");
        free(a);
        free(b);
    }
    snprintf(p1, sizeof p1, "%s/README.txt", d1);
    snprintf(p2, sizeof p2, "%s/README.txt", d2);
    unsigned char *txt = NULL, *txt2 = NULL;
    size_t nt = 0, nt2 = 0;
    CHECK(read_file_all(p1, 1 << 20, &txt, &nt) == SBIR_OK && strstr((char *)txt, "seed: 1"), "README");
    CHECK(read_file_all(p2, 1 << 20, &txt2, &nt2) == SBIR_OK && nt == nt2 && memcmp(txt, txt2, nt) == 0,
          "README differs between runs");
    free(txt);
    free(txt2);
    /* a file where the directory should be: a clear error, not a crash */
    snprintf(p1, sizeof p1, "%s/afile", test_tmpdir());
    test_write_file(p1, "x", 1);
    CHECK(synth_generate(p1, &o) == SBIR_ERR && strstr(sbir_last_error(), "afile"), "error: %s", sbir_last_error());
}

static void test_sheet(void) {
    char p[4200];
    snprintf(p, sizeof p, "%s/sheet.png", test_tmpdir());
    CHECK(synth_write_sheet(p, 1, 24, 1) == SBIR_OK, "%s", sbir_last_error());
    unsigned char *a = NULL;
    size_t n = 0;
    CHECK(read_file_all(p, 1 << 24, &a, &n) == SBIR_OK && n > 8 && memcmp(a, "\x89PNG", 4) == 0, "sheet PNG");
    free(a);
}

static void test_bad_arguments(void) {
    uint8_t buf[16 * 16 * 3];
    CHECK(synth_render_image(7, 0, 1, 0, 16, buf) == SBIR_ERR, "style 7 accepted");
    CHECK(synth_render_image(0, -1, 1, 0, 16, buf) == SBIR_ERR, "class -1 accepted");
    CHECK(synth_render_image(0, 0, 1, 0, 8, buf) == SBIR_ERR && strstr(sbir_last_error(), "size"), "size 8: %s",
          sbir_last_error());
    synth_opts o;
    synth_opts_default(&o);
    o.size = 5000;
    CHECK(synth_generate(test_tmpdir(), &o) == SBIR_ERR, "size 5000 accepted");
}

int main(void) {
    RUN(test_names);
    RUN(test_determinism);
    RUN(test_every_cell_renders_something);
    RUN(test_content_style_independence);
    RUN(test_sketches);
    RUN(test_generate_layout_and_thread_independence);
    RUN(test_sheet);
    RUN(test_bad_arguments);
    return test_summary();
}
