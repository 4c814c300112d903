/* shapes_bird.c — the bird shape model: perched on a branch, standing on the ground, or flying.
 * Its structure: a teardrop body tilted head-up, a round head with a pointed beak, a folded wing
 * (or two spread wings in flight), a wedge tail, thin legs with toes. */
#include <math.h>

#include "data/synth/synth_internal.h"

/* rotate (x, y) by angle a about (cx, cy) and write to out */
static void rot(float cx, float cy, float a, float x, float y, float *ox, float *oy) {
    float c = cosf(a), s = sinf(a);
    *ox = cx + c * x - s * y;
    *oy = cy + s * x + c * y;
}

static void head(sx_scene *sc, sbir_rng *r, float hx, float hy, float hr, float dir) {
    sx_ellipse(sc, hx, hy, hr, hr * 0.95f, 0, SL_BODY, 40);
    /* beak: a triangle (or hooked / long) pointing along dir */
    float bl = hr * rng_range(r, 0.55f, 1.5f), bw = rng_range(r, 0.3f, 0.5f);
    float c = cosf(dir), s = sinf(dir);
    float R = hr * 0.8f;
    float b[8] = {hx + R * cosf(dir - bw), hy + R * sinf(dir - bw), hx + (R + bl) * c, hy + (R + bl) * s,
                  hx + R * cosf(dir + bw), hy + R * sinf(dir + bw), hx, hy};
    if (rng_uniform(r) < 0.25f) { /* hooked tip (raptor, parrot) */
        b[2] = hx + (R + bl * 0.9f) * c - s * hr * 0.1f;
        b[3] = hy + (R + bl * 0.9f) * s + c * hr * 0.1f;
    }
    sx_poly(sc, b, 3, SL_ACCENT, 39)->sketch_p = 0.97f;
    float ex = hx + hr * 0.3f * c, ey = hy - hr * 0.25f;
    sx_ellipse(sc, ex, ey, hr * 0.26f, hr * 0.26f, 0, SL_LIGHT, 41)->sketch_p = 0.3f;
    sx_ellipse(sc, ex + hr * 0.04f, ey, hr * 0.15f, hr * 0.15f, 0, SL_DARK, 42)->sketch_p = 0.85f;
    if (rng_uniform(r) < 0.2f) /* crest */
        for (int k = 0; k < 3; k++) {
            float a = -2.0f - k * 0.3f, a0 = a - 0.12f, a1 = a + 0.12f, L = hr * rng_range(r, 0.5f, 0.9f);
            float t[6] = {hx + hr * 0.85f * cosf(a0), hy + hr * 0.85f * sinf(a0), hx + (hr + L) * cosf(a - 0.25f),
                          hy + (hr + L) * sinf(a - 0.25f), hx + hr * 0.85f * cosf(a1), hy + hr * 0.85f * sinf(a1)};
            sx_poly(sc, t, 3, SL_BODY, 38)->sketch_p = 0.7f;
        }
}

/* Wedge tail leaving the body at (x, y) in direction a. */
static void tail(sx_scene *sc, sbir_rng *r, float x, float y, float a, float len, int depth) {
    float w = len * rng_range(r, 0.25f, 0.45f), notch = rng_uniform(r) < 0.4f ? len * 0.2f : 0;
    float lx[10] = {0, -w * 0.35f, len, -w, len - notch, 0, len, w, 0, w * 0.35f};
    float xy[10];
    for (int k = 0; k < 5; k++) rot(x, y, a, lx[2 * k], lx[2 * k + 1], &xy[2 * k], &xy[2 * k + 1]);
    sx_poly(sc, xy, 5, SL_BODY, depth);
}

static void bird_resting(sx_scene *sc, sbir_rng *r) {
    float bl = rng_range(r, 0.25f, 0.36f), bh = rng_range(r, 0.13f, 0.19f), lg = rng_range(r, 0.05f, 0.14f);
    float tilt = rng_range(r, -0.55f, -0.15f); /* head up, tail down */
    float cx = 0, cy = -lg - bh * 0.85f;
    float xy[20];
    for (int k = 0; k < 10; k++) { /* teardrop: round chest in front, tapering to the back */
        float t = 6.2831853f * k / 10, c = cosf(t), s = sinf(t);
        float x = c * bl * (c < 0 ? 1.15f : 1.0f), y = s * bh * (c < 0 ? 1 + 0.55f * c : 1);
        rot(cx, cy, tilt, x, y, &xy[2 * k], &xy[2 * k + 1]);
    }
    sx_blob(sc, xy, 10, SL_BODY, 20);
    if (rng_uniform(r) < 0.45f) {
        float ex, ey;
        rot(cx, cy, tilt, bl * 0.25f, bh * 0.4f, &ex, &ey);
        sx_ellipse(sc, ex, ey, bl * 0.6f, bh * 0.5f, tilt, SL_LIGHT, 21)->sketch_p = 0.05f;
    }
    /* folded wing: teardrop from the shoulder to past the back */
    float w[12] = {bl * 0.45f, -bh * 0.35f, bl * 0.1f, -bh * 0.7f, -bl * 0.6f, -bh * 0.45f,
                   -bl * 1.25f, bh * 0.1f,  -bl * 0.5f, bh * 0.3f,  bl * 0.2f,  bh * 0.25f};
    float wxy[12];
    for (int k = 0; k < 6; k++) rot(cx, cy, tilt, w[2 * k], w[2 * k + 1], &wxy[2 * k], &wxy[2 * k + 1]);
    sx_blob(sc, wxy, 6, SL_BODY2, 25)->sketch_p = 0.75f;
    if (rng_uniform(r) < 0.5f)
        for (int k = 0; k < 2; k++) {
            float a0x, a0y, a1x, a1y;
            rot(cx, cy, tilt, -bl * (0.2f + 0.25f * k), -bh * 0.1f, &a0x, &a0y);
            rot(cx, cy, tilt, -bl * (0.75f + 0.2f * k), bh * 0.12f, &a1x, &a1y);
            sx_segment(sc, SP_LINE, a0x, a0y, a1x, a1y, bh * 0.05f, SL_DARK, 26)->sketch_p = 0.2f;
        }
    float tx, ty;
    rot(cx, cy, tilt, -bl * 1.0f, bh * 0.05f, &tx, &ty);
    float ta = 3.14159f + tilt + (rng_uniform(r) < 0.2f ? -0.9f : rng_range(r, -0.2f, 0.35f)); /* wren: cocked */
    tail(sc, r, tx, ty, ta, bl * rng_range(r, 0.5f, 1.0f), 15);
    float hr = bh * rng_range(r, 0.6f, 0.85f), hx, hy;
    rot(cx, cy, tilt, bl * 0.85f, -bh * 0.55f, &hx, &hy);
    head(sc, r, hx, hy, hr, rng_range(r, -0.15f, 0.35f));
    /* legs and toes */
    int perch = rng_uniform(r) < 0.45f;
    float lwid = rng_range(r, 0.012f, 0.02f);
    for (int k = 0; k < 2; k++) {
        float lx = cx + (k ? 0.05f : -0.02f) * bl * 4, top = cy + bh * 0.5f;
        sx_segment(sc, SP_TUBE, lx, top, lx + 0.01f, 0, lwid, SL_ACCENT, k ? 12 : 11)->sketch_p = 0.85f;
        for (int t = -1; t <= 1; t++) {
            float a = (float)t * 0.5f;
            sx_segment(sc, SP_LINE, lx + 0.01f, 0, lx + 0.01f + 0.045f * cosf(a), 0.045f * sinf(a) * 0.2f, lwid * 0.8f,
                       SL_ACCENT, 13)->sketch_p = 0.5f;
        }
    }
    if (perch) {
        float span = rng_range(r, 0.35f, 0.6f), bw = rng_range(r, 0.03f, 0.045f), sag = rng_range(r, -0.03f, 0.03f);
        float br[6] = {-span, bw * 0.5f + sag, 0, bw * 0.5f, span, bw * 0.5f - sag};
        sx_path(sc, SP_TUBE, br, 3, 1, bw, SL_PROP, 8)->sketch_p = 0.7f;
        int leaves = (int)rng_below(r, 3);
        for (int k = 0; k < leaves; k++) {
            float lx = rng_range(r, -span, span) * 0.9f;
            if (fabsf(lx) < 0.12f) lx += 0.2f;
            sx_ellipse(sc, lx, bw + 0.03f, 0.05f, 0.02f, rng_range(r, 0.3f, 1.2f), SL_PROP, 9)->sketch_p = 0.4f;
        }
    }
    sc->grounded = 1;
}

static void bird_flying(sx_scene *sc, sbir_rng *r) {
    float bl = rng_range(r, 0.25f, 0.34f), bh = rng_range(r, 0.1f, 0.14f), tilt = rng_range(r, -0.25f, 0.1f);
    float xy[20];
    for (int k = 0; k < 10; k++) {
        float t = 6.2831853f * k / 10, c = cosf(t), s = sinf(t);
        float x = c * bl * (c < 0 ? 1.15f : 1.0f), y = s * bh * (c < 0 ? 1 + 0.5f * c : 1);
        rot(0, 0, tilt, x, y, &xy[2 * k], &xy[2 * k + 1]);
    }
    sx_blob(sc, xy, 10, SL_BODY, 20);
    float tx, ty;
    rot(0, 0, tilt, -bl, 0, &tx, &ty);
    tail(sc, r, tx, ty, 3.14159f + tilt + rng_range(r, -0.2f, 0.2f), bl * rng_range(r, 0.5f, 0.9f), 15);
    float hr = bh * rng_range(r, 0.85f, 1.1f), hx, hy;
    rot(0, 0, tilt, bl * 0.95f, -bh * 0.35f, &hx, &hy);
    head(sc, r, hx, hy, hr, tilt + rng_range(r, -0.1f, 0.2f));
    /* two wings: up-stroke (tips high) or down-stroke (tips low); the far one smaller and behind */
    float up = rng_uniform(r) < 0.65f ? 1.0f : -0.6f, span = rng_range(r, 0.45f, 0.7f);
    for (int k = 0; k < 2; k++) {
        float f = k ? 1.0f : 0.75f, off = k ? 0 : bl * 0.2f;
        /* broad at the shoulder, leading edge bowed forward, tip swept back, trailing edge in
         * separate flight feathers */
        float S = span * f * up, sw = rng_range(r, -0.1f, 0.1f) * bl;
        float wl[18] = {bl * 0.35f + off,        -bh * 0.25f,
                        bl * 0.25f + off,        -bh * 0.3f - S * 0.5f,
                        -bl * 0.15f + off + sw,  -bh * 0.3f - S * 0.92f,
                        -bl * 0.6f + off + sw,   -bh * 0.3f - S,
                        -bl * 0.42f + off + sw,  -bh * 0.3f - S * 0.74f,
                        -bl * 0.68f + off,       -bh * 0.3f - S * 0.6f,
                        -bl * 0.45f + off,       -bh * 0.3f - S * 0.38f,
                        -bl * 0.65f + off,       -bh * 0.3f - S * 0.2f,
                        -bl * 0.3f + off,        -bh * 0.05f};
        float wxy[18];
        for (int j = 0; j < 9; j++) rot(0, 0, tilt, wl[2 * j], wl[2 * j + 1], &wxy[2 * j], &wxy[2 * j + 1]);
        sx_part *p = sx_blob(sc, wxy, 9, SL_BODY2, k ? 30 : 10);
        p->shade = k ? 0 : -0.3f;
        p->sketch_p = k ? 0.97f : 0.8f;
    }
    sc->grounded = 0;
}

void shape_bird(sx_scene *sc, sbir_rng *r) {
    if (rng_uniform(r) < 0.3f) bird_flying(sc, r);
    else bird_resting(sc, r);
}
