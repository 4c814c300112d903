/* shapes_cat.c — the cat shape model: standing/walking side view, sitting, or a face portrait.
 * What makes it a cat (and not a dog) is its structure: pointed triangular ears on a round head, a
 * short face with a small nose, whiskers, a slim body and a long curving tail. */
#include <math.h>

#include "data/synth/synth_internal.h"

#define PI_F 3.14159265f

/* Round head with triangular ears, almond eyes, nose, mouth and whiskers. turn in [-0.5, 0.5] shifts
 * the features sideways (a three-quarter view); turn > 0 faces +x. */
static void cat_face(sx_scene *sc, sbir_rng *r, float hx, float hy, float hr, float turn, int depth) {
    sx_ellipse(sc, hx, hy, hr * rng_range(r, 1.0f, 1.15f), hr * rng_range(r, 0.88f, 0.98f), 0, SL_BODY, depth);
    float spread = rng_range(r, 0.5f, 0.72f), eh = hr * rng_range(r, 0.55f, 0.95f), ew = rng_range(r, 0.28f, 0.42f);
    int inner = rng_uniform(r) < 0.6f;
    for (int s = -1; s <= 1; s += 2) {
        float c = -PI_F / 2 + s * spread + turn * 0.5f, R = hr * 0.8f;
        float tip_lean = rng_range(r, -0.08f, 0.12f) * s;
        float xy[6] = {hx + R * cosf(c - ew), hy + R * sinf(c - ew), hx + (R + eh) * cosf(c + tip_lean),
                       hy + (R + eh) * sinf(c + tip_lean), hx + R * cosf(c + ew), hy + R * sinf(c + ew)};
        sx_part *e = sx_poly(sc, xy, 3, SL_BODY, depth - 2);
        e->sketch_p = 0.97f;
        if (inner) {
            float R2 = R + eh * 0.12f;
            float in[6] = {hx + R2 * cosf(c - ew * 0.55f), hy + R2 * sinf(c - ew * 0.55f),
                           hx + (R + eh * 0.78f) * cosf(c + tip_lean), hy + (R + eh * 0.78f) * sinf(c + tip_lean),
                           hx + R2 * cosf(c + ew * 0.55f), hy + R2 * sinf(c + ew * 0.55f)};
            sx_part *ie = sx_poly(sc, in, 3, SL_ACCENT, depth - 1);
            ie->sketch_p = 0.25f;
        }
    }
    float fx = hx + turn * hr * 0.9f; /* face centre line */
    float sep = hr * 0.4f * (1 - fabsf(turn) * 0.5f), ey = hy - hr * rng_range(r, 0.02f, 0.15f);
    float erx = hr * rng_range(r, 0.13f, 0.2f), ery = hr * rng_range(r, 0.15f, 0.24f);
    int slit = rng_uniform(r) < 0.6f;
    for (int s = -1; s <= 1; s += 2) {
        float ex = fx + s * sep;
        sx_part *w = sx_ellipse(sc, ex, ey, erx, ery, 0, SL_LIGHT, depth + 1);
        w->sketch_p = 0.8f;
        sx_part *pu = sx_ellipse(sc, ex, ey, slit ? erx * 0.3f : erx * 0.6f, ery * 0.85f, 0, SL_DARK, depth + 2);
        pu->sketch_p = 0.45f;
    }
    float nx = fx, ny = hy + hr * rng_range(r, 0.2f, 0.32f), ns = hr * rng_range(r, 0.09f, 0.14f);
    float nose[6] = {nx - ns, ny - ns * 0.6f, nx + ns, ny - ns * 0.6f, nx, ny + ns * 0.6f};
    sx_poly(sc, nose, 3, SL_DARK, depth + 3)->sketch_p = 0.7f;
    float my = ny + ns * 0.6f;
    float mouth[10] = {nx - hr * 0.2f, my + hr * 0.12f, nx - hr * 0.08f, my + hr * 0.16f, nx, my,
                       nx + hr * 0.08f, my + hr * 0.16f, nx + hr * 0.2f, my + hr * 0.12f};
    sx_path(sc, SP_LINE, mouth, 5, 1, hr * 0.05f, SL_DARK, depth + 3)->sketch_p = 0.45f;
    int nw = 2 + (int)rng_below(r, 2);
    float wl = hr * rng_range(r, 0.9f, 1.3f);
    for (int s = -1; s <= 1; s += 2)
        for (int k = 0; k < nw; k++) {
            float a = (k - (nw - 1) / 2.0f) * 0.22f + rng_range(r, -0.05f, 0.05f);
            float x0 = nx + s * hr * 0.22f, y0 = ny + hr * 0.1f;
            sx_part *w = sx_segment(sc, SP_LINE, x0, y0, x0 + s * wl * cosf(a), y0 + wl * sinf(a), hr * 0.035f,
                                    SL_DARK, depth + 4);
            w->sketch_p = 0.8f;
        }
}

static void leg(sx_scene *sc, float x0, float y0, float x1, float knee, float w, int depth, float shade,
                float sp) {
    float xy[6] = {x0, y0, (x0 + x1) / 2 + knee, y0 * 0.45f, x1, -w * 0.5f};
    sx_part *p = sx_path(sc, SP_TUBE, xy, 3, 1, w, SL_BODY, depth);
    p->shade = shade;
    p->sketch_p = sp;
    sx_part *paw = sx_ellipse(sc, x1 + w * 0.25f, -w * 0.4f, w * 0.75f, w * 0.42f, 0, SL_BODY, depth);
    paw->shade = shade;
    paw->sketch_p = 0.2f;
}

static void cat_standing(sx_scene *sc, sbir_rng *r) {
    float L = rng_range(r, 0.48f, 0.68f), bh = rng_range(r, 0.095f, 0.135f), lg = rng_range(r, 0.17f, 0.27f);
    float hr = rng_range(r, 0.1f, 0.14f), lw = rng_range(r, 0.042f, 0.06f);
    float by = -(lg + bh * 0.6f), tilt = rng_range(r, -0.1f, 0.06f);
    sx_ellipse(sc, 0, by, L / 2, bh, tilt, SL_BODY, 20);
    if (rng_uniform(r) < 0.4f) sx_ellipse(sc, 0.02f, by + bh * 0.45f, L * 0.35f, bh * 0.45f, 0, SL_BODY2, 21)->sketch_p = 0.05f;
    if (rng_uniform(r) < 0.3f) /* tabby stripes */
        for (int k = 0; k < 3; k++) {
            float x = -L * 0.25f + k * L * 0.16f;
            sx_segment(sc, SP_TUBE, x, by - bh * 0.95f, x - 0.03f, by - bh * 0.2f, lw * 0.35f, SL_BODY2, 22)->sketch_p = 0.1f;
        }
    int walk = rng_uniform(r) < 0.5f;
    float s1 = walk ? rng_range(r, 0.03f, 0.08f) : rng_range(r, -0.01f, 0.02f);
    float fx = L * 0.32f, bx = -L * 0.3f, top = by + bh * 0.3f;
    leg(sc, fx + 0.04f, top, fx + 0.04f - s1, 0.01f, lw, 10, -0.35f, 0.55f);
    leg(sc, bx + 0.04f, top, bx + 0.04f + s1, -0.03f, lw, 10, -0.35f, 0.55f);
    leg(sc, fx, top, fx + s1, 0.01f, lw, 30, 0, 0.92f);
    leg(sc, bx, top, bx - s1, -0.03f, lw, 30, 0, 0.92f);
    /* tail: up in an S, or low and curving */
    float tx = -L / 2 + 0.03f, ty = by - bh * 0.3f, tw = rng_range(r, 0.03f, 0.05f);
    float tl = rng_range(r, 0.8f, 1.2f);
    if (rng_uniform(r) < 0.6f) {
        float t[8] = {tx, ty, tx - 0.09f * tl, ty - 0.06f * tl, tx - 0.12f * tl, ty - 0.2f * tl, tx - 0.06f * tl,
                      ty - 0.32f * tl};
        sx_path(sc, SP_TUBE, t, 4, 1, tw, SL_BODY, 15);
    } else {
        float t[8] = {tx, ty, tx - 0.1f * tl, ty + 0.04f * tl, tx - 0.2f * tl, ty + 0.02f * tl, tx - 0.27f * tl,
                      ty - 0.07f * tl};
        sx_path(sc, SP_TUBE, t, 4, 1, tw, SL_BODY, 15);
    }
    float hx = L / 2 + hr * rng_range(r, 0.0f, 0.4f), hy = by - bh - hr * rng_range(r, 0.3f, 0.7f);
    if (rng_uniform(r) < 0.15f) /* collar */
        sx_segment(sc, SP_TUBE, hx - hr * 0.5f, hy + hr * 0.9f, hx + hr * 0.1f, hy + hr * 1.05f, hr * 0.18f, SL_ACCENT,
                   36)->sketch_p = 0.3f;
    cat_face(sc, r, hx, hy, hr, rng_range(r, 0.15f, 0.45f), 40);
    sc->grounded = 1;
}

static void cat_sitting(sx_scene *sc, sbir_rng *r) {
    float H = rng_range(r, 0.42f, 0.6f), W = rng_range(r, 0.3f, 0.42f), hr = rng_range(r, 0.12f, 0.17f);
    float body[16] = {W * 0.42f, 0,         W * 0.48f,  -H * 0.3f, W * 0.3f,   -H * 0.72f, W * 0.12f, -H,
                      -W * 0.2f, -H * 0.95f, -W * 0.42f, -H * 0.6f, -W * 0.55f, -H * 0.2f,  -W * 0.4f, 0};
    sx_blob(sc, body, 8, SL_BODY, 20);
    if (rng_uniform(r) < 0.5f) sx_ellipse(sc, W * 0.15f, -H * 0.62f, W * 0.18f, H * 0.22f, 0, SL_BODY2, 21)->sketch_p = 0.1f;
    float lw = rng_range(r, 0.05f, 0.07f);
    leg(sc, W * 0.05f, -H * 0.6f, W * 0.08f, 0, lw, 30, -0.15f, 0.85f);
    leg(sc, W * 0.27f, -H * 0.6f, W * 0.3f, 0, lw, 31, 0, 0.85f);
    float tw = rng_range(r, 0.035f, 0.05f);
    if (rng_uniform(r) < 0.55f) {
        float t[8] = {-W * 0.4f, -0.03f, -W * 0.1f, 0.005f, W * 0.35f, 0.0f, W * 0.6f, -0.07f};
        sx_path(sc, SP_TUBE, t, 4, 1, tw, SL_BODY, 35);
    } else {
        float t[8] = {-W * 0.5f, -0.05f, -W * 0.85f, -0.15f, -W * 0.8f, -0.35f, -W * 0.6f, -0.45f};
        sx_path(sc, SP_TUBE, t, 4, 1, tw, SL_BODY, 15);
    }
    cat_face(sc, r, W * 0.1f, -H - hr * 0.55f, hr, rng_range(r, -0.15f, 0.3f), 40);
    sc->grounded = 1;
}

static void cat_portrait(sx_scene *sc, sbir_rng *r) {
    float hr = 0.3f;
    if (rng_uniform(r) < 0.6f) {
        float sw = rng_range(r, 0.35f, 0.5f);
        float sh[10] = {-sw, 0.62f, -sw * 0.8f, 0.3f, 0, 0.15f, sw * 0.8f, 0.3f, sw, 0.62f};
        sx_blob(sc, sh, 5, SL_BODY, 20)->sketch_p = 0.6f;
    }
    cat_face(sc, r, 0, 0, hr, rng_range(r, -0.2f, 0.2f), 40);
    sc->grounded = 0;
}

void shape_cat(sx_scene *sc, sbir_rng *r) {
    float u = rng_uniform(r);
    if (u < 0.45f) cat_standing(sc, r);
    else if (u < 0.75f) cat_sitting(sc, r);
    else cat_portrait(sc, r);
}
