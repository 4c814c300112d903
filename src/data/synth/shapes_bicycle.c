/* shapes_bicycle.c — the bicycle shape model, side view (an oblique view comes from the placement's
 * squash). Its structure: two large thin wheels with spokes, a diamond (or step-through) frame of
 * tubes between them, fork, handlebar (flat, drop or upright), saddle, crank with chainring;
 * sometimes fenders, a basket, a chain. */
#include <math.h>

#include "data/synth/synth_internal.h"

#define TWO_PI 6.2831853f

static void wheel(sx_scene *sc, sbir_rng *r, float x, float y, float wr, float tyre, int nsp) {
    sx_ring(sc, x, y, wr, tyre, SP_TUBE, SL_DARK, 10);
    sx_ring(sc, x, y, wr - tyre * 0.9f, tyre * 0.3f, SP_LINE, SL_LIGHT, 11)->sketch_p = 0.15f;
    float a0 = rng_range(r, 0, TWO_PI);
    for (int k = 0; k < nsp; k++) {
        float a = a0 + TWO_PI * k / nsp;
        sx_segment(sc, SP_LINE, x, y, x + cosf(a) * (wr - tyre), y + sinf(a) * (wr - tyre), 0.004f, SL_DARK, 9)
            ->sketch_p = 0.1f;
    }
    sx_ellipse(sc, x, y, tyre * 0.7f, tyre * 0.7f, 0, SL_LIGHT, 12)->sketch_p = 0.35f;
}

void shape_bicycle(sx_scene *sc, sbir_rng *r) {
    float wr = rng_range(r, 0.18f, 0.25f), wb = rng_range(r, 0.56f, 0.7f);
    float tyre = rng_range(r, 0.02f, 0.038f), tw = rng_range(r, 0.017f, 0.028f);
    float Rx = -wb / 2, Ry = -wr, Fx = wb / 2, Fy = -wr;
    float BBx = Rx + wb * rng_range(r, 0.38f, 0.46f), BBy = -wr + rng_range(r, 0.0f, 0.04f);
    float fs = rng_range(r, 0.28f, 0.4f);
    float Sx = BBx - fs * rng_range(r, 0.22f, 0.34f), Sy = BBy - fs;
    float Htx = Fx - wb * rng_range(r, 0.12f, 0.2f), Hty = Sy + rng_range(r, -0.02f, 0.05f);
    float Hbx = Htx + 0.03f, Hby = Hty + rng_range(r, 0.07f, 0.12f);
    int nsp = rng_uniform(r) < 0.7f ? 8 + 2 * (int)rng_below(r, 5) : 0;
    wheel(sc, r, Rx, Ry, wr, tyre, nsp);
    wheel(sc, r, Fx, Fy, wr, tyre, nsp);
    /* frame */
    int step = rng_uniform(r) < 0.25f;
    sx_segment(sc, SP_TUBE, BBx, BBy, Sx, Sy, tw, SL_BODY, 20)->sketch_p = 0.9f;
    if (step) {
        float c[6] = {Hbx - 0.01f, Hby - 0.02f, BBx + 0.06f, BBy - 0.07f, BBx, BBy};
        sx_path(sc, SP_TUBE, c, 3, 1, tw * 1.2f, SL_BODY, 20)->sketch_p = 0.9f;
    } else {
        sx_segment(sc, SP_TUBE, Sx, Sy + 0.01f, Htx, Hty + 0.01f, tw, SL_BODY, 20)->sketch_p = 0.9f;
        sx_segment(sc, SP_TUBE, BBx, BBy, Hbx, Hby, tw * 1.15f, SL_BODY, 20)->sketch_p = 0.9f;
    }
    sx_segment(sc, SP_TUBE, BBx, BBy, Rx, Ry, tw * 0.8f, SL_BODY, 20)->sketch_p = 0.8f;
    sx_segment(sc, SP_TUBE, Sx, Sy + 0.01f, Rx, Ry, tw * 0.75f, SL_BODY, 20)->sketch_p = 0.8f;
    sx_segment(sc, SP_TUBE, Htx, Hty, Hbx, Hby, tw * 1.3f, SL_BODY, 21)->sketch_p = 0.5f;
    float fork[6] = {Hbx, Hby, (Hbx + Fx) / 2 + 0.012f, (Hby + Fy) / 2, Fx, Fy};
    sx_path(sc, SP_TUBE, fork, 3, 1, tw * 0.85f, SL_BODY, 21)->sketch_p = 0.9f;
    /* seat post and saddle */
    float ph = rng_range(r, 0.04f, 0.1f), Px = Sx - ph * 0.3f, Py = Sy - ph;
    sx_segment(sc, SP_TUBE, Sx, Sy, Px, Py, tw * 0.7f, SL_LIGHT, 19)->sketch_p = 0.6f;
    float sl = rng_range(r, 0.11f, 0.16f), shh = rng_range(r, 0.022f, 0.035f);
    float sad[10] = {Px - sl * 0.45f, Py - shh * 0.7f, Px + sl * 0.1f, Py - shh * 0.4f, Px + sl * 0.55f, Py - shh * 0.2f,
                     Px + sl * 0.45f, Py + shh * 0.3f, Px - sl * 0.4f, Py + shh * 0.4f};
    sx_blob(sc, sad, 5, rng_uniform(r) < 0.5f ? SL_DARK : SL_ACCENT, 24)->sketch_p = 0.85f;
    /* stem and handlebar */
    float Stx = Htx - 0.01f, Sty = Hty - rng_range(r, 0.03f, 0.08f);
    sx_segment(sc, SP_TUBE, Htx, Hty, Stx, Sty, tw * 0.8f, SL_LIGHT, 22)->sketch_p = 0.7f;
    int bar = (int)rng_below(r, 3);
    float gx, gy;
    if (bar == 0) { /* flat */
        float h[4] = {Stx, Sty, Stx - 0.08f, Sty - 0.01f};
        sx_path(sc, SP_TUBE, h, 2, 0, tw * 0.7f, SL_DARK, 23)->sketch_p = 0.85f;
        gx = h[2], gy = h[3];
    } else if (bar == 1) { /* drop */
        float h[8] = {Stx, Sty, Stx + 0.05f, Sty - 0.005f, Stx + 0.07f, Sty + 0.04f, Stx + 0.035f, Sty + 0.07f};
        sx_path(sc, SP_TUBE, h, 4, 1, tw * 0.7f, SL_DARK, 23)->sketch_p = 0.85f;
        gx = h[6], gy = h[7];
    } else { /* upright, swept back */
        float h[6] = {Stx, Sty, Stx - 0.01f, Sty - 0.05f, Stx - 0.1f, Sty - 0.065f};
        sx_path(sc, SP_TUBE, h, 3, 1, tw * 0.7f, SL_DARK, 23)->sketch_p = 0.85f;
        gx = h[4], gy = h[5];
    }
    sx_ellipse(sc, gx, gy, tw * 1.1f, tw * 0.8f, 0, SL_ACCENT, 24)->sketch_p = 0.2f;
    /* crank, chainring, pedal */
    float cr = rng_range(r, 0.045f, 0.065f);
    sx_ring(sc, BBx, BBy, cr, tw * 0.6f, SP_TUBE, SL_DARK, 22)->sketch_p = 0.5f;
    float ca = rng_range(r, 0, TWO_PI), cl = cr * 1.5f;
    float pxx = BBx + cosf(ca) * cl, pyy = BBy + sinf(ca) * cl;
    sx_segment(sc, SP_TUBE, BBx, BBy, pxx, pyy, tw * 0.7f, SL_LIGHT, 25)->sketch_p = 0.4f;
    sx_rrect(sc, pxx, pyy, 0.05f, 0.018f, 0.004f, 0, SL_DARK, 26)->sketch_p = 0.4f;
    if (rng_uniform(r) < 0.4f) {
        sx_segment(sc, SP_LINE, BBx, BBy - cr, Rx, Ry - tyre * 0.6f, 0.006f, SL_DARK, 21)->sketch_p = 0.25f;
        sx_segment(sc, SP_LINE, BBx, BBy + cr, Rx, Ry + tyre * 0.6f, 0.006f, SL_DARK, 21)->sketch_p = 0.25f;
    }
    if (rng_uniform(r) < 0.3f) /* fenders: arcs over the wheels */
        for (int s = 0; s < 2; s++) {
            float cx = s ? Fx : Rx, a0 = s ? -2.6f : -2.2f, a1 = s ? -0.3f : 0.2f, rr = wr + tyre * 1.1f;
            float xy[10];
            for (int k = 0; k < 5; k++) {
                float a = a0 + (a1 - a0) * k / 4;
                xy[2 * k] = cx + cosf(a) * rr;
                xy[2 * k + 1] = Ry + sinf(a) * rr;
            }
            sx_path(sc, SP_TUBE, xy, 5, 1, tyre * 0.5f, SL_BODY2, 15)->sketch_p = 0.3f;
        }
    if (rng_uniform(r) < 0.15f) /* basket on the front */
        sx_rrect(sc, Stx + 0.07f, Sty + 0.03f, 0.11f, 0.08f, 0.015f, 0, SL_BODY2, 27)->sketch_p = 0.7f;
    sc->grounded = 1;
}
