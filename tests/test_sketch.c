/* test_sketch.c — the sketch type, Google's simplification pieces, the drawing JSON, and query
 * sketches from files, images and collection rows (sketch_load.h). */
#include <string.h>

#include "data/collection.h"
#include "data/quickdraw.h"
#include "data/raster.h"
#include "data/sketch.h"
#include "data/sketch_load.h"
#include "test.h"
#include "util/common.h"

static void test_build_copy_bounds(void) {
    sbir_sketch s, c;
    sketch_init(&s), sketch_init(&c);
    sketch_begin_stroke(&s);
    sketch_begin_stroke(&s); /* empty stroke */
    for (int i = 0; i < 1000; i++) sketch_add_point(&s, (float)i, (float)-i, (float)i * 10);
    sketch_begin_stroke(&s);
    sketch_add_point(&s, 5, 7, 0);
    CHECK(s.n_strokes == 3 && s.n_points == 1001, "%u strokes %u points", s.n_strokes, s.n_points);
    sketch_drop_empty_strokes(&s);
    CHECK(s.n_strokes == 2 && sketch_stroke_len(&s, 0) == 1000 && sketch_stroke_len(&s, 1) == 1, "%u strokes", s.n_strokes);
    float x0, y0, x1, y1;
    CHECK(sketch_bounds(&s, &x0, &y0, &x1, &y1) && x0 == 0 && x1 == 999 && y0 == -999 && y1 == 7, "bounds");
    s.key_id = 42;
    strcpy(s.word, "cat");
    sketch_copy(&c, &s);
    CHECK(c.n_points == s.n_points && c.key_id == 42 && !strcmp(c.word, "cat") && c.x[999] == 999 && c.t[999] == 9990, "copy");
    sketch_clear(&c);
    CHECK(c.n_points == 0 && !sketch_bounds(&c, &x0, &y0, &x1, &y1) && c.word[0] == 0, "clear");
    sketch_free(&s), sketch_free(&c);
}

static void test_rdp_and_simplify(void) {
    float x[5] = {0, 1, 2, 3, 4}, y[5] = {0, 0.5f, 0, -0.5f, 0};
    uint8_t keep[5];
    sketch_rdp(x, y, 5, 2.0f, keep);
    CHECK(keep[0] && keep[4] && !keep[1] && !keep[2] && !keep[3], "wiggle below epsilon kept");
    y[2] = 5;
    sketch_rdp(x, y, 5, 2.0f, keep);
    CHECK(keep[2], "peak above epsilon dropped");
    /* a raw square 1000 units wide: simplified to 0..255 corners */
    sbir_sketch s;
    sketch_init(&s);
    float sx[] = {100, 1100, 1100, 100, 100}, sy[] = {50, 50, 550, 550, 50};
    sketch_begin_stroke(&s);
    for (int i = 0; i < 5; i++) sketch_add_point(&s, sx[i], sy[i], (float)i);
    s.has_time = 1;
    sketch_simplify(&s);
    CHECK(s.n_points == 5 && !s.has_time, "%u points", s.n_points);
    float x0, y0, x1, y1;
    sketch_bounds(&s, &x0, &y0, &x1, &y1);
    CHECK(x0 == 0 && y0 == 0 && x1 == 255 && y1 == 128, "bounds %g %g %g %g", x0, y0, x1, y1);
    sketch_free(&s);
}

static void test_json_roundtrip(void) {
    sbir_sketch s, b;
    sketch_init(&s), sketch_init(&b);
    sketch_begin_stroke(&s);
    sketch_add_point(&s, 1, 2, 0);
    sketch_add_point(&s, 3.25f, 1e-3f, 17);
    sketch_begin_stroke(&s);
    sketch_add_point(&s, -7.1f, 255, 30);
    s.has_time = 1;
    char *j = qd_drawing_to_json(&s);
    CHECK(!strncmp(j, "[[[1,3.25],[2,", 14), "%s", j);
    CHECK(qd_drawing_from_json(j, "test", &b) == SBIR_OK, "%s", sbir_last_error());
    int same = b.n_points == 3 && b.n_strokes == 2 && b.has_time;
    for (uint32_t i = 0; same && i < 3; i++) same = b.x[i] == s.x[i] && b.y[i] == s.y[i] && b.t[i] == s.t[i];
    CHECK(same, "round trip of %s", j);
    free(j);
    CHECK(qd_drawing_from_json("[[[1,2],[3]]]", "coll.sqlite: sketch 9", &b) == SBIR_ERR &&
              !strcmp(sbir_last_error(), "coll.sqlite: sketch 9: stroke 1 has 2 x values but 1 y values"),
          "%s", sbir_last_error());
    CHECK(qd_drawing_from_json("[[[1,2],[3", "w", &b) == SBIR_ERR, "truncated JSON accepted");
    sketch_free(&s), sketch_free(&b);
}

static void test_refs_and_images(void) {
    char *p = NULL;
    uint64_t i = 0;
    CHECK(sketch_split_ref("a/b.npy#12", &p, &i) == 1 && !strcmp(p, "a/b.npy") && i == 12, "split");
    free(p);
    CHECK(sketch_split_ref("a/b.npy", &p, &i) == 0 && sketch_split_ref("a#x", &p, &i) == 0, "no ref");
    sbir_raster_opts o;
    raster_opts_default(&o);
    o.size = 64, o.margin = 0;
    uint8_t a[64 * 64], b[64 * 64];
    /* a PNG sketch comes back as the same grey image */
    sbir_sketch s;
    sketch_init(&s);
    sketch_add_point(&s, 0, 0, 0);
    sketch_add_point(&s, 100, 60, 0);
    CHECK(raster_sketch(&s, &o, a) == SBIR_OK, "%s", sbir_last_error());
    char png[1024];
    snprintf(png, sizeof png, "%s/s.png", test_tmpdir());
    CHECK(raster_write_png(png, a, 64, 64) == SBIR_OK, "%s", sbir_last_error());
    CHECK(sketch_render_path(png, &o, b) == SBIR_OK, "%s", sbir_last_error());
    int diff = 0;
    for (int k = 0; k < 64 * 64; k++) diff += abs(a[k] - b[k]) > 1;
    CHECK(diff == 0, "%d pixels differ after the PNG round trip", diff);
    char bad[1024];
    snprintf(bad, sizeof bad, "%s/bad.png", test_tmpdir());
    test_write_file(bad, "\x89PNG\r\n\x1a\n garbage", 17);
    CHECK(sketch_render_path(bad, &o, b) == SBIR_ERR && strstr(sbir_last_error(), "bad.png"), "%s", sbir_last_error());
    sketch_free(&s);
}

static void test_stored_sketches(void) {
    const char *d = test_data_dir();
    if (!d) {
        SKIP("../shared/data absent");
        return;
    }
    char npy[1024], simp[1024], coll[1024];
    snprintf(npy, sizeof npy, "%s/quickdraw/bitmap/cat.npy", d);
    snprintf(simp, sizeof simp, "%s/quickdraw/simplified/dog.ndjson", d);
    snprintf(coll, sizeof coll, "%s/c.sqlite", test_tmpdir());
    sbir_raster_opts o;
    raster_opts_default(&o);
    o.size = 48;
    uint8_t direct[2][48 * 48], stored[48 * 48];
    sbir_sketch s;
    sketch_init(&s);
    CHECK(qd_find(npy, 0, 1234, &s) == SBIR_OK && raster_sketch(&s, &o, direct[0]) == SBIR_OK, "%s", sbir_last_error());
    CHECK(qd_find(simp, 0, 7, &s) == SBIR_OK && raster_sketch(&s, &o, direct[1]) == SBIR_OK, "%s", sbir_last_error());
    char *json = qd_drawing_to_json(&s);
    uint64_t key = s.key_id;
    CHECK(qd_find(simp, 1, key, &s) == SBIR_OK && s.key_id == key, "find by key_id");
    CHECK(qd_find(simp, 0, 25, &s) == SBIR_ERR && strstr(sbir_last_error(), "no drawing 25"), "%s", sbir_last_error());
    CHECK(qd_find(npy, 0, 1500, &s) == SBIR_ERR && strstr(sbir_last_error(), "no row 1500"), "%s", sbir_last_error());
    char ref[1100], path_ref[1100];
    snprintf(ref, sizeof ref, "%s#1234", npy);
    CHECK(sketch_render_path(ref, &o, stored) == SBIR_OK && !memcmp(stored, direct[0], sizeof stored), "%s", sbir_last_error());
    snprintf(path_ref, sizeof path_ref, "%s#7", simp);
    CHECK(sketch_render_path(path_ref, &o, stored) == SBIR_OK && !memcmp(stored, direct[1], sizeof stored), "%s", sbir_last_error());

    sbir_collection *c = collection_create(coll, NULL);
    CHECK(c != NULL, "%s", sbir_last_error());
    if (!c) return;
    CHECK(collection_add_sketch(c, "cat", "quickdraw", "cat:1234", NULL, ref, NULL) == SBIR_OK &&
              collection_add_sketch(c, "dog", "quickdraw", "77", json, NULL, NULL) == SBIR_OK &&
              collection_commit(c) == SBIR_OK, "%s", sbir_last_error());
    free(json);
    c = collection_open(coll);
    coll_sketch *ks = NULL;
    size_t n = 0;
    CHECK(c && collection_list_sketches(c, NULL, &ks, &n) == SBIR_OK && n == 2, "%s", sbir_last_error());
    for (size_t k = 0; k < n; k++) {
        CHECK(sketch_render_stored(c, &ks[k], &o, stored) == SBIR_OK, "%s", sbir_last_error());
        CHECK(!memcmp(stored, direct[k], sizeof stored), "stored sketch %zu renders differently", k);
    }
    coll_sketches_free(ks, n);
    collection_close(c);
    sketch_free(&s);
}

int main(void) {
    RUN(test_build_copy_bounds);
    RUN(test_rdp_and_simplify);
    RUN(test_json_roundtrip);
    RUN(test_refs_and_images);
    RUN(test_stored_sketches);
    return test_summary();
}
