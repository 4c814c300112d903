/* augment.c — stroke dropout, point jitter and a random affine (see augment.h). The random draws
 * happen in a fixed order and a fixed number per call (per stroke, per point) so that a seed
 * reproduces the augmentation exactly. */
#include "data/augment.h"

#include <math.h>
#include <string.h>

#include "util/common.h"

void augment_opts_default(sbir_augment_opts *a) {
    a->rotate_deg = 15;
    a->scale_min = 0.8f;
    a->scale_max = 1.1f;
    a->aspect = 0.1f;
    a->shear = 0.15f;
    a->translate = 0.08f;
    a->stroke_drop = 0.1f;
    a->jitter = 0.005f;
}

static void drop_strokes(sbir_sketch *s, float p, sbir_rng *rng) {
    if (s->n_strokes == 0) return;
    uint32_t keep_always = rng_below(rng, s->n_strokes); /* drawn even when p == 0: fixed draw count */
    uint32_t w = 0, wp = 0;
    for (uint32_t k = 0; k < s->n_strokes; k++) {
        uint32_t a = s->stroke_start[k], n = s->stroke_start[k + 1] - a;
        int drop = rng_uniform(rng) < p && k != keep_always;
        if (drop) continue;
        if (wp != a) {
            memmove(s->x + wp, s->x + a, n * sizeof(float));
            memmove(s->y + wp, s->y + a, n * sizeof(float));
            memmove(s->t + wp, s->t + a, n * sizeof(float));
        }
        s->stroke_start[w] = wp;
        wp += n;
        w++;
        s->stroke_start[w] = wp;
    }
    s->n_strokes = w;
    s->n_points = wp;
}

static void jitter_points(sbir_sketch *s, float frac, sbir_rng *rng) {
    float x0, y0, x1, y1;
    if (frac <= 0 || !sketch_bounds(s, &x0, &y0, &x1, &y1)) return;
    float sd = frac * SBIR_MAX(SBIR_MAX(x1 - x0, y1 - y0), 1.0f);
    for (uint32_t i = 0; i < s->n_points; i++) {
        s->x[i] += sd * rng_normal(rng);
        s->y[i] += sd * rng_normal(rng);
    }
}

void sketch_augment(sbir_sketch *s, const sbir_augment_opts *a, sbir_rng *rng, sbir_raster_opts *ro) {
    if (!s->bitmap_size) {
        drop_strokes(s, a->stroke_drop, rng);
        jitter_points(s, a->jitter, rng);
    }
    float th = rng_range(rng, -a->rotate_deg, a->rotate_deg) * (float)M_PI / 180.0f;
    float sc = rng_range(rng, a->scale_min, a->scale_max);
    float asp = rng_range(rng, -a->aspect, a->aspect);
    float sh = rng_range(rng, -a->shear, a->shear);
    float tx = rng_range(rng, -a->translate, a->translate), ty = rng_range(rng, -a->translate, a->translate);
    float sx = sc * (1 + asp), sy = sc * (1 - asp);
    /* M = R * Shear * Scale: [c -s; s c] [1 sh; 0 1] [sx 0; 0 sy] */
    float c = cosf(th), sn = sinf(th);
    float m00 = c * sx, m01 = (c * sh - sn) * sy;
    float m10 = sn * sx, m11 = (sn * sh + c) * sy;
    float n[6] = {m00, m01, tx, m10, m11, ty};
    if (ro->has_affine) { /* compose: new after old */
        const float *o = ro->affine;
        float r[6] = {n[0] * o[0] + n[1] * o[3], n[0] * o[1] + n[1] * o[4], n[0] * o[2] + n[1] * o[5] + n[2],
                      n[3] * o[0] + n[4] * o[3], n[3] * o[1] + n[4] * o[4], n[3] * o[2] + n[4] * o[5] + n[5]};
        memcpy(n, r, sizeof n);
    }
    memcpy(ro->affine, n, sizeof n);
    ro->has_affine = 1;
}
