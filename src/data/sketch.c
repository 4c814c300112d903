/* sketch.c — the in-memory sketch: growable point/stroke arrays, copy, bounds. */
#include "data/sketch.h"

#include <string.h>

#include "util/common.h"

void sketch_init(sbir_sketch *s) {
    memset(s, 0, sizeof *s);
    s->recognized = -1;
}

void sketch_free(sbir_sketch *s) {
    free(s->stroke_start);
    free(s->x);
    free(s->y);
    free(s->t);
    free(s->bitmap);
    sketch_init(s);
}

void sketch_clear(sbir_sketch *s) {
    s->n_strokes = s->n_points = 0;
    if (s->stroke_start) s->stroke_start[0] = 0;
    s->has_time = 0;
    s->bitmap_size = 0;
    s->key_id = 0;
    s->word[0] = 0;
    s->countrycode[0] = 0;
    s->recognized = -1;
    s->timestamp = 0;
}

static void reserve_strokes(sbir_sketch *s, uint32_t n) {
    if (n + 1 <= s->cap_strokes) return;
    uint32_t cap = s->cap_strokes ? s->cap_strokes : 16;
    while (cap < n + 1) cap *= 2;
    s->stroke_start = reallocCheck(s->stroke_start, (size_t)cap * sizeof *s->stroke_start);
    s->cap_strokes = cap;
}

static void reserve_points(sbir_sketch *s, uint32_t n) {
    if (n <= s->cap_points) return;
    uint32_t cap = s->cap_points ? s->cap_points : 256;
    while (cap < n) cap *= 2;
    s->x = reallocCheck(s->x, (size_t)cap * sizeof(float));
    s->y = reallocCheck(s->y, (size_t)cap * sizeof(float));
    s->t = reallocCheck(s->t, (size_t)cap * sizeof(float));
    s->cap_points = cap;
}

void sketch_begin_stroke(sbir_sketch *s) {
    reserve_strokes(s, s->n_strokes + 1);
    if (s->n_strokes == 0) s->stroke_start[0] = s->n_points;
    s->n_strokes++;
    s->stroke_start[s->n_strokes] = s->n_points;
}

void sketch_add_point(sbir_sketch *s, float x, float y, float t) {
    if (s->n_strokes == 0) sketch_begin_stroke(s);
    reserve_points(s, s->n_points + 1);
    s->x[s->n_points] = x;
    s->y[s->n_points] = y;
    s->t[s->n_points] = t;
    s->n_points++;
    s->stroke_start[s->n_strokes] = s->n_points;
}

void sketch_drop_empty_strokes(sbir_sketch *s) {
    uint32_t w = 0;
    for (uint32_t i = 0; i < s->n_strokes; i++) {
        if (s->stroke_start[i + 1] == s->stroke_start[i]) continue;
        s->stroke_start[w + 1] = s->stroke_start[i + 1];
        w++;
    }
    s->n_strokes = w;
}

uint8_t *sketch_set_bitmap(sbir_sketch *s, int size) {
    int need = size * size;
    if (need > s->cap_bitmap) {
        free(s->bitmap);
        s->bitmap = mallocCheck((size_t)need);
        s->cap_bitmap = need;
    }
    s->bitmap_size = size;
    return s->bitmap;
}

void sketch_copy(sbir_sketch *dst, const sbir_sketch *src) {
    sketch_clear(dst);
    reserve_strokes(dst, src->n_strokes);
    reserve_points(dst, src->n_points);
    if (src->n_strokes)
        memcpy(dst->stroke_start, src->stroke_start, (src->n_strokes + 1) * sizeof *src->stroke_start);
    if (src->n_points) {
        memcpy(dst->x, src->x, src->n_points * sizeof(float));
        memcpy(dst->y, src->y, src->n_points * sizeof(float));
        memcpy(dst->t, src->t, src->n_points * sizeof(float));
    }
    dst->n_strokes = src->n_strokes;
    dst->n_points = src->n_points;
    dst->has_time = src->has_time;
    if (src->bitmap_size)
        memcpy(sketch_set_bitmap(dst, src->bitmap_size), src->bitmap,
               (size_t)src->bitmap_size * src->bitmap_size);
    dst->key_id = src->key_id;
    memcpy(dst->word, src->word, sizeof dst->word);
    memcpy(dst->countrycode, src->countrycode, sizeof dst->countrycode);
    dst->recognized = src->recognized;
    dst->timestamp = src->timestamp;
}

int sketch_bounds(const sbir_sketch *s, float *min_x, float *min_y, float *max_x, float *max_y) {
    if (s->n_points == 0) return 0;
    float x0 = s->x[0], x1 = s->x[0], y0 = s->y[0], y1 = s->y[0];
    for (uint32_t i = 1; i < s->n_points; i++) {
        x0 = SBIR_MIN(x0, s->x[i]);
        x1 = SBIR_MAX(x1, s->x[i]);
        y0 = SBIR_MIN(y0, s->y[i]);
        y1 = SBIR_MAX(y1, s->y[i]);
    }
    *min_x = x0, *min_y = y0, *max_x = x1, *max_y = y1;
    return 1;
}
