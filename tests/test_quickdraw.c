/* test_quickdraw.c — the Quick, Draw! readers on the real files in ../shared/data/quickdraw:
 * counts, words, key_ids consistent between raw and simplified; .bin written from the simplified
 * drawings reads back equal; the .npy bitmaps have the right shape. */
#include <string.h>

#include "data/collection.h"
#include "data/quickdraw.h"
#include "test.h"
#include "util/common.h"

static const char *k_classes[] = {"bicycle", "bird", "car", "cat", "dog"};

static void test_word_and_format(void) {
    char w[64];
    qd_word_from_path("/a/b/full_numpy_bitmap_cat.npy", w, sizeof w);
    CHECK(!strcmp(w, "cat"), "%s", w);
    qd_word_from_path("dog.ndjson", w, sizeof w);
    CHECK(!strcmp(w, "dog"), "%s", w);
    qd_word_from_path("x/full_binary_the Eiffel Tower.bin", w, sizeof w);
    CHECK(!strcmp(w, "the Eiffel Tower"), "%s", w);
    const char *d = test_data_dir();
    if (!d) return;
    char p[1024];
    qd_format f = QD_AUTO;
    snprintf(p, sizeof p, "%s/quickdraw/bitmap/cat.npy", d);
    CHECK(qd_detect_format(p, &f) == SBIR_OK && f == QD_NPY, "%s", sbir_last_error());
    snprintf(p, sizeof p, "%s/quickdraw/raw/cat.ndjson", d);
    CHECK(qd_detect_format(p, &f) == SBIR_OK && f == QD_NDJSON, "%s", sbir_last_error());
}

/* Reads raw and simplified side by side. */
static void test_raw_and_simplified(void) {
    const char *d = test_data_dir();
    if (!d) {
        SKIP("../shared/data absent");
        return;
    }
    for (size_t c = 0; c < SBIR_ARRAY_LEN(k_classes); c++) {
        char pr[1024], ps[1024];
        snprintf(pr, sizeof pr, "%s/quickdraw/raw/%s.ndjson", d, k_classes[c]);
        snprintf(ps, sizeof ps, "%s/quickdraw/simplified/%s.ndjson", d, k_classes[c]);
        qd_reader *ra = qd_open(pr, NULL), *rs = qd_open(ps, NULL);
        CHECK(ra && rs, "%s", sbir_last_error());
        if (!ra || !rs) {
            qd_close(ra), qd_close(rs);
            continue;
        }
        CHECK(qd_reader_format(ra) == QD_NDJSON, "%s", sbir_last_error());
        sbir_sketch a, s;
        sketch_init(&a), sketch_init(&s);
        int n = 0, ka, ks, bad_key = 0, bad_word = 0, bad_range = 0, no_time = 0, timed_simpl = 0;
        while ((ka = qd_next(ra, &a)) == 1 && (ks = qd_next(rs, &s)) == 1) {
            n++;
            bad_key += a.key_id != s.key_id || a.key_id == 0;
            bad_word += strcmp(a.word, k_classes[c]) || strcmp(s.word, k_classes[c]);
            no_time += !a.has_time;
            timed_simpl += s.has_time;
            for (uint32_t i = 0; i < s.n_points; i++)
                bad_range += !(s.x[i] >= 0 && s.x[i] <= 255 && s.y[i] >= 0 && s.y[i] <= 255 && s.x[i] == (int)s.x[i]);
            CHECK(a.n_strokes == s.n_strokes, "%s key %llu: raw %u strokes, simplified %u", k_classes[c],
                  (unsigned long long)a.key_id, a.n_strokes, s.n_strokes);
            CHECK(a.timestamp == s.timestamp && a.timestamp > 1400000000, "timestamp %lld", (long long)a.timestamp);
            CHECK(!strcmp(a.countrycode, s.countrycode) && strlen(a.countrycode) == 2, "'%s'", a.countrycode);
            CHECK(a.recognized == s.recognized && a.recognized >= 0, "%s", sbir_last_error());
        }
        CHECK(ka == 0 || ka == 1, "%s", sbir_last_error());
        CHECK(qd_next(ra, &a) == 0 && qd_next(rs, &s) == 0, "both files end together");
        CHECK(n == 25, "%s: %d drawings", k_classes[c], n);
        CHECK(qd_count(ra) == 25, "%s", sbir_last_error());
        CHECK(bad_key == 0 && bad_word == 0 && bad_range == 0 && no_time == 0 && timed_simpl == 0,
              "%d %d %d %d %d", bad_key, bad_word, bad_range, no_time, timed_simpl);
        sketch_free(&a), sketch_free(&s);
        qd_close(ra), qd_close(rs);
    }
}

static int sketches_equal(const sbir_sketch *a, const sbir_sketch *b) {
    if (a->n_strokes != b->n_strokes || a->n_points != b->n_points || a->key_id != b->key_id ||
        a->recognized != b->recognized || a->timestamp != b->timestamp || strcmp(a->countrycode, b->countrycode))
        return 0;
    for (uint32_t i = 0; i <= a->n_strokes; i++)
        if (a->stroke_start[i] != b->stroke_start[i]) return 0;
    for (uint32_t i = 0; i < a->n_points; i++)
        if (a->x[i] != b->x[i] || a->y[i] != b->y[i]) return 0;
    return 1;
}

/* Writes every simplified drawing of a class to a .bin file and reads it back. */
static void test_bin_roundtrip(void) {
    const char *d = test_data_dir();
    if (!d) {
        SKIP("../shared/data absent");
        return;
    }
    char ps[1024], pb[1024];
    snprintf(ps, sizeof ps, "%s/quickdraw/simplified/cat.ndjson", d);
    snprintf(pb, sizeof pb, "%s/cat.bin", test_tmpdir());
    FILE *f = fopen(pb, "wb");
    qd_reader *r = qd_open(ps, NULL);
    CHECK(f && r, "%s", sbir_last_error());
    if (!f || !r) return;
    sbir_sketch s, b;
    sketch_init(&s), sketch_init(&b);
    int n = 0;
    while (qd_next(r, &s) == 1) {
        CHECK(qd_bin_write(f, &s) == SBIR_OK, "%s", sbir_last_error());
        n++;
    }
    fclose(f);
    qd_close(r);
    r = qd_open(ps, NULL);
    qd_reader *rb = qd_open(pb, NULL);
    CHECK(rb != NULL, "%s", sbir_last_error());
    CHECK(rb && qd_reader_format(rb) == QD_BIN, "%s", sbir_last_error());
    int m = 0, same = 0, rc;
    while (rb && (rc = qd_next(rb, &b)) == 1) {
        CHECK(qd_next(r, &s) == 1, "%s", sbir_last_error());
        same += sketches_equal(&s, &b);
        CHECK(!strcmp(b.word, "cat"), "word from the file name: '%s'", b.word);
        m++;
    }
    CHECK(rb && rc == 0, "%s", sbir_last_error());
    CHECK(m == n && same == n && n == 25, "wrote %d, read %d, equal %d", n, m, same);
    qd_close(r), qd_close(rb);

    /* timing and non-integer coordinates cannot be written */
    sketch_clear(&s);
    sketch_add_point(&s, 1.5f, 2, 0);
    f = fopen(pb, "wb");
    CHECK(qd_bin_write(f, &s) == SBIR_ERR && strstr(sbir_last_error(), "0..255"), "%s", sbir_last_error());
    fclose(f);
    sketch_free(&s), sketch_free(&b);
}

static void test_npy(void) {
    const char *d = test_data_dir();
    if (!d) {
        SKIP("../shared/data absent");
        return;
    }
    const char *cls[] = {"bicycle", "cat"};
    for (int c = 0; c < 2; c++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/quickdraw/bitmap/%s.npy", d, cls[c]);
        qd_reader *r = qd_open(p, NULL);
        CHECK(r != NULL, "%s", sbir_last_error());
        if (!r) continue;
        CHECK(qd_reader_format(r) == QD_NPY, "%s", sbir_last_error());
        sbir_sketch s;
        sketch_init(&s);
        int n = 0, rc, bad = 0;
        double ink = 0;
        while ((rc = qd_next(r, &s)) == 1) {
            n++;
            bad += s.bitmap_size != 28 || s.n_points != 0 || strcmp(s.word, cls[c]);
            for (int i = 0; i < 28 * 28; i++) ink += s.bitmap[i] / 255.0;
        }
        CHECK(rc == 0, "%s", sbir_last_error());
        CHECK(n == 1500 && bad == 0, "%s: %d rows, %d bad", cls[c], n, bad);
        /* ink is a minority of the pixels: 255 really is ink, not background */
        double frac = ink / (n * 784.0);
        CHECK(frac > 0.05 && frac < 0.4, "ink fraction %.3f", frac);
        sketch_free(&s);
        qd_close(r);
    }
}

static int run_cli(const char *args) {
    const char *build = getenv("BUILD");
    char cmd[4096];
    snprintf(cmd, sizeof cmd, "%s/sbir %s 2>/dev/null", build ? build : "build", args);
    return system(cmd);
}

static int64_t count_sketches(const char *coll) {
    sbir_collection *c = collection_open(coll);
    if (!c) return -1;
    int64_t n = collection_count_sketches(c, NULL);
    collection_close(c);
    return n;
}

/* `sbir import quickdraw`: adds, skips drawings already there, and leaves the collection untouched
 * when a file is bad. */
static void test_import_cli(void) {
    const char *d = test_data_dir(), *build = getenv("BUILD");
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/sbir", build ? build : "build");
    FILE *f = fopen(bin, "rb");
    if (!d || !f) {
        SKIP("data or %s absent", bin);
        if (f) fclose(f);
        return;
    }
    fclose(f);
    char args[4096], coll[1024], bad[1024];
    snprintf(coll, sizeof coll, "%s/qd.sqlite", test_tmpdir());
    snprintf(args, sizeof args, "import quickdraw %s/quickdraw/raw/cat.ndjson %s/quickdraw/bitmap/cat.npy --max-per-file 5 --out %s",
             d, d, coll);
    CHECK(run_cli(args) == 0, "%s", args);
    CHECK(count_sketches(coll) == 10, "%lld sketches", (long long)count_sketches(coll));
    snprintf(args, sizeof args, "import quickdraw %s/quickdraw/simplified/cat.ndjson --out %s", d, coll);
    CHECK(run_cli(args) == 0, "%s", args);
    CHECK(count_sketches(coll) == 30, "the 5 raw drawings were added again: %lld", (long long)count_sketches(coll));
    snprintf(bad, sizeof bad, "%s/bad.ndjson", test_tmpdir());
    test_write_file(bad, "{\"drawing\":[[[1],[2]]]}\n{\"drawing\":5}\n", 39);
    snprintf(args, sizeof args, "import quickdraw %s/quickdraw/simplified/dog.ndjson %s --out %s", d, bad, coll);
    CHECK(run_cli(args) != 0, "bad file accepted");
    CHECK(count_sketches(coll) == 30, "failed import changed the collection: %lld", (long long)count_sketches(coll));
}

int main(void) {
    RUN(test_word_and_format);
    RUN(test_raw_and_simplified);
    RUN(test_bin_roundtrip);
    RUN(test_npy);
    RUN(test_import_cli);
    return test_summary();
}
