/* shapes_dog.c — the dog shape model: standing side view (breeds from dachshund to greyhound),
 * sitting front view, or a head portrait. What makes it a dog (and not a cat): a protruding muzzle
 * with a big nose, ears that mostly hang down (floppy) or stand rounded, a deeper boxier body,
 * thicker legs, a short tail, sometimes a tongue or a collar. */
#include <math.h>

#include "data/synth/synth_internal.h"

/* Profile head facing +x: skull, muzzle, nose, eye, ear. */
static void dog_head_profile(sx_scene *sc, sbir_rng *r, float hx, float hy, float hr, int depth) {
    sx_ellipse(sc, hx, hy, hr, hr * 0.88f, 0, SL_BODY, depth);
    float ml = hr * rng_range(r, 0.7f, 1.25f), mh = hr * rng_range(r, 0.38f, 0.52f);
    float mx = hx + hr * 0.45f + ml * 0.5f, my = hy + hr * rng_range(r, 0.2f, 0.4f);
    sx_rrect(sc, mx, my, ml + hr * 0.4f, mh * 2, mh * 0.9f, rng_range(r, -0.05f, 0.15f), SL_BODY, depth + 1);
    float nx = mx + ml * 0.5f + hr * 0.12f, ny = my - mh * 0.55f;
    sx_ellipse(sc, nx, ny, hr * 0.17f, hr * 0.13f, 0, SL_DARK, depth + 3)->sketch_p = 0.8f;
    sx_segment(sc, SP_LINE, mx - ml * 0.1f, my + mh * 0.45f, nx - hr * 0.05f, my + mh * 0.35f, hr * 0.05f, SL_DARK,
               depth + 3)->sketch_p = 0.5f;
    if (rng_uniform(r) < 0.35f)
        sx_ellipse(sc, mx + ml * 0.1f, my + mh * 1.05f, hr * 0.16f, hr * 0.24f, 0.2f, SL_ACCENT, depth - 1)->sketch_p = 0.6f;
    float ex = hx + hr * 0.3f, ey = hy - hr * 0.22f;
    sx_ellipse(sc, ex, ey, hr * 0.14f, hr * 0.15f, 0, SL_LIGHT, depth + 2)->sketch_p = 0.5f;
    sx_ellipse(sc, ex + hr * 0.03f, ey, hr * 0.09f, hr * 0.1f, 0, SL_DARK, depth + 3)->sketch_p = 0.8f;
    if (rng_uniform(r) < 0.85f) { /* floppy ear hanging over the side of the head */
        float el = hr * rng_range(r, 0.55f, 0.9f);
        sx_ellipse(sc, hx - hr * 0.3f, hy + el * 0.25f, hr * rng_range(r, 0.25f, 0.35f), el, rng_range(r, 0.1f, 0.45f),
                   SL_BODY2, depth + 4);
    } else { /* upright ear with a rounded tip */
        float eh = hr * rng_range(r, 0.6f, 0.95f);
        float xy[8] = {hx - hr * 0.55f, hy - hr * 0.55f, hx - hr * 0.45f, hy - hr * 0.6f - eh,
                       hx - hr * 0.2f,  hy - hr * 0.65f - eh * 0.8f, hx - hr * 0.02f, hy - hr * 0.75f};
        sx_rpoly(sc, xy, 4, hr * 0.25f, SL_BODY2, depth - 2);
    }
}

/* Frontal face: floppy ears on both sides, a muzzle patch, nose, eyes, mouth, maybe tongue. */
static void dog_face_front(sx_scene *sc, sbir_rng *r, float hx, float hy, float hr, int depth) {
    float hw = hr * rng_range(r, 0.88f, 1.05f);
    sx_ellipse(sc, hx, hy, hw, hr * rng_range(r, 0.95f, 1.12f), 0, SL_BODY, depth);
    int floppy = rng_uniform(r) < 0.85f;
    float el = hr * rng_range(r, 0.6f, 0.9f), ew = hr * rng_range(r, 0.25f, 0.38f);
    for (int s = -1; s <= 1; s += 2) {
        if (floppy) {
            sx_ellipse(sc, hx + s * hw * 0.95f, hy + el * 0.25f, ew, el, -s * rng_range(r, 0.15f, 0.4f), SL_BODY2,
                       depth + 4);
        } else {
            /* upright but broad and rounded, set wide on the head: not a cat's narrow point */
            float xy[8] = {hx + s * hw * 0.3f, hy - hr * 0.8f, hx + s * hw * 0.7f, hy - hr * 0.85f - el * 0.7f,
                           hx + s * hw * 1.1f,  hy - hr * 0.7f - el * 0.5f, hx + s * hw * 0.98f, hy - hr * 0.25f};
            sx_rpoly(sc, xy, 4, hr * 0.25f, SL_BODY2, depth - 2);
        }
    }
    float my = hy + hr * 0.42f;
    sx_ellipse(sc, hx, my, hr * rng_range(r, 0.45f, 0.6f), hr * rng_range(r, 0.32f, 0.42f), 0, SL_LIGHT, depth + 1)
        ->sketch_p = 0.85f;
    float ny = hy + hr * 0.22f;
    sx_ellipse(sc, hx, ny, hr * rng_range(r, 0.17f, 0.24f), hr * rng_range(r, 0.11f, 0.15f), 0, SL_DARK, depth + 3)
        ->sketch_p = 0.85f;
    float mouth[10] = {hx - hr * 0.28f, my + hr * 0.12f, hx - hr * 0.12f, my + hr * 0.22f, hx, ny + hr * 0.12f,
                       hx + hr * 0.12f, my + hr * 0.22f, hx + hr * 0.28f, my + hr * 0.12f};
    sx_path(sc, SP_LINE, mouth, 5, 1, hr * 0.05f, SL_DARK, depth + 3)->sketch_p = 0.6f;
    if (rng_uniform(r) < 0.4f)
        sx_ellipse(sc, hx, my + hr * 0.32f, hr * 0.15f, hr * 0.22f, 0, SL_ACCENT, depth + 2)->sketch_p = 0.6f;
    float sep = hr * rng_range(r, 0.32f, 0.42f), ey = hy - hr * rng_range(r, 0.1f, 0.25f);
    for (int s = -1; s <= 1; s += 2) {
        sx_ellipse(sc, hx + s * sep, ey, hr * 0.13f, hr * 0.14f, 0, SL_LIGHT, depth + 2)->sketch_p = 0.4f;
        sx_ellipse(sc, hx + s * sep, ey, hr * 0.085f, hr * 0.095f, 0, SL_DARK, depth + 3)->sketch_p = 0.85f;
    }
}

static void dog_leg(sx_scene *sc, float x0, float y0, float x1, float w, int depth, float shade, float sp) {
    float xy[6] = {x0, y0, (x0 + x1) / 2, y0 * 0.5f, x1, -w * 0.4f};
    sx_part *p = sx_path(sc, SP_TUBE, xy, 3, 1, w, SL_BODY, depth);
    p->shade = shade;
    p->sketch_p = sp;
    sx_part *paw = sx_ellipse(sc, x1 + w * 0.3f, -w * 0.38f, w * 0.8f, w * 0.4f, 0, SL_BODY, depth);
    paw->shade = shade;
    paw->sketch_p = 0.35f;
}

static void dog_standing(sx_scene *sc, sbir_rng *r) {
    float L = rng_range(r, 0.55f, 0.85f), bh = rng_range(r, 0.1f, 0.16f), lg = rng_range(r, 0.1f, 0.32f);
    float hr = rng_range(r, 0.1f, 0.14f), lw = rng_range(r, 0.055f, 0.085f);
    float by = -(lg + bh * 0.6f);
    sx_rrect(sc, 0, by, L, 2 * bh, bh * rng_range(r, 0.7f, 0.95f), rng_range(r, -0.08f, 0.04f), SL_BODY, 20);
    if (rng_uniform(r) < 0.35f) /* a patch */
        sx_ellipse(sc, rng_range(r, -L * 0.25f, L * 0.2f), by - bh * 0.2f, L * rng_range(r, 0.1f, 0.2f), bh * 0.6f,
                   rng_range(r, -0.5f, 0.5f), SL_BODY2, 21)->sketch_p = 0.1f;
    int walk = rng_uniform(r) < 0.45f;
    float s1 = walk ? rng_range(r, 0.03f, 0.07f) : rng_range(r, -0.01f, 0.015f);
    float fx = L * 0.36f, bx = -L * 0.34f, top = by + bh * 0.2f;
    dog_leg(sc, fx + 0.04f, top, fx + 0.04f - s1, lw, 10, -0.35f, 0.55f);
    dog_leg(sc, bx + 0.04f, top, bx + 0.04f + s1, lw, 10, -0.35f, 0.55f);
    dog_leg(sc, fx, top, fx + s1, lw, 30, 0, 0.92f);
    dog_leg(sc, bx, top, bx - s1, lw, 30, 0, 0.92f);
    float tx = -L / 2 + 0.02f, ty = by - bh * 0.5f, tw = rng_range(r, 0.035f, 0.06f), tl = rng_range(r, 0.12f, 0.22f);
    float ta = rng_range(r, -2.4f, -1.2f); /* up and back .. straight up; y down so negative is up */
    float t[6] = {tx, ty, tx + cosf(ta - 0.4f) * tl * 0.55f - 0.03f, ty + sinf(ta - 0.4f) * tl * 0.55f,
                  tx + cosf(ta) * tl - 0.02f, ty + sinf(ta) * tl};
    sx_path(sc, SP_TUBE, t, 3, 1, tw, SL_BODY, 15);
    float hx = L / 2 + hr * rng_range(r, 0.1f, 0.5f), hy = by - bh - hr * rng_range(r, 0.5f, 1.1f);
    float nk[4] = {L / 2 - bh * 0.5f, by - bh * 0.3f, hx - hr * 0.2f, hy + hr * 0.2f};
    sx_path(sc, SP_TUBE, nk, 2, 0, hr * rng_range(r, 1.0f, 1.3f), SL_BODY, 25)->sketch_p = 0.3f;
    if (rng_uniform(r) < 0.3f)
        sx_segment(sc, SP_TUBE, nk[0] + (nk[2] - nk[0]) * 0.55f - hr * 0.35f, nk[1] + (nk[3] - nk[1]) * 0.55f - hr * 0.25f,
                   nk[0] + (nk[2] - nk[0]) * 0.55f + hr * 0.4f, nk[1] + (nk[3] - nk[1]) * 0.55f + hr * 0.3f, hr * 0.22f,
                   SL_ACCENT, 26)->sketch_p = 0.3f;
    dog_head_profile(sc, r, hx, hy, hr, 40);
    sc->grounded = 1;
}

static void dog_sitting(sx_scene *sc, sbir_rng *r) {
    float H = rng_range(r, 0.42f, 0.58f), W = rng_range(r, 0.38f, 0.5f), hr = rng_range(r, 0.14f, 0.18f);
    float body[16] = {W * 0.38f, 0,          W * 0.42f,  -H * 0.35f, W * 0.3f,   -H * 0.8f, W * 0.12f, -H,
                      -W * 0.12f, -H,         -W * 0.3f,  -H * 0.8f,  -W * 0.42f, -H * 0.35f, -W * 0.38f, 0};
    sx_blob(sc, body, 8, SL_BODY, 20);
    for (int s = -1; s <= 1; s += 2) /* haunches */
        sx_ellipse(sc, s * W * 0.4f, -H * 0.17f, W * 0.18f, H * 0.2f, 0, SL_BODY, 21)->sketch_p = 0.5f;
    if (rng_uniform(r) < 0.5f) sx_ellipse(sc, 0, -H * 0.68f, W * 0.2f, H * 0.22f, 0, SL_BODY2, 22)->sketch_p = 0.1f;
    float lw = rng_range(r, 0.06f, 0.085f);
    dog_leg(sc, -W * 0.14f, -H * 0.6f, -W * 0.16f, lw, 30, -0.1f, 0.85f);
    dog_leg(sc, W * 0.14f, -H * 0.6f, W * 0.12f, lw, 31, 0, 0.85f);
    if (rng_uniform(r) < 0.4f) {
        float t[6] = {W * 0.38f, -0.03f, W * 0.55f, -0.06f, W * 0.68f, -0.14f};
        sx_path(sc, SP_TUBE, t, 3, 1, rng_range(r, 0.035f, 0.055f), SL_BODY, 15);
    }
    if (rng_uniform(r) < 0.3f)
        sx_segment(sc, SP_TUBE, -W * 0.22f, -H * 0.95f, W * 0.22f, -H * 0.95f, hr * 0.22f, SL_ACCENT, 35)->sketch_p = 0.3f;
    dog_face_front(sc, r, 0, -H - hr * 0.7f, hr, 40);
    sc->grounded = 1;
}

static void dog_portrait(sx_scene *sc, sbir_rng *r) {
    if (rng_uniform(r) < 0.55f) {
        float sw = rng_range(r, 0.35f, 0.5f);
        float sh[10] = {-sw, 0.62f, -sw * 0.8f, 0.3f, 0, 0.18f, sw * 0.8f, 0.3f, sw, 0.62f};
        sx_blob(sc, sh, 5, SL_BODY, 20)->sketch_p = 0.6f;
    }
    if (rng_uniform(r) < 0.6f) dog_face_front(sc, r, 0, 0, 0.3f, 40);
    else dog_head_profile(sc, r, 0, 0, 0.3f, 40);
    sc->grounded = 0;
}

void shape_dog(sx_scene *sc, sbir_rng *r) {
    float u = rng_uniform(r);
    if (u < 0.5f) dog_standing(sc, r);
    else if (u < 0.75f) dog_sitting(sc, r);
    else dog_portrait(sc, r);
}
