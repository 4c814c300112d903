/* shapes_car.c — the car shape model: side view of a sedan, hatchback, SUV/van, coupe or pickup, or
 * a front view. Its structure: a long low body with a cabin (greenhouse) on top, windows, two big
 * wheels with hubcaps, lights, door seams. */
#include <math.h>

#include "data/synth/synth_internal.h"

static float lerp(float a, float b, float t) { return a + (b - a) * t; }

static void car_side(sx_scene *sc, sbir_rng *r) {
    int type = (int)rng_below(r, 5); /* 0 sedan, 1 hatchback, 2 suv/van, 3 coupe, 4 pickup */
    float wr = rng_range(r, 0.085f, 0.12f), bhh = rng_range(r, 0.14f, 0.2f), ch = rng_range(r, 0.11f, 0.16f);
    if (type == 2) bhh *= 1.2f, ch *= 1.25f;
    if (type == 3) bhh *= 0.85f, ch *= 0.8f;
    float yb = -wr * rng_range(r, 0.45f, 0.7f), yt = yb - bhh;
    float nose = rng_range(r, 0.02f, 0.06f), hood = rng_range(r, 0.0f, 0.3f) * bhh;
    float body[16] = {-0.5f, yb,          0.48f,         yb,       0.5f,  yb - bhh * 0.35f, 0.5f - nose, yt + hood,
                      0.22f, yt,          -0.3f,         yt,       -0.49f, yt + bhh * 0.12f, -0.5f,     yb - bhh * 0.3f};
    sx_rpoly(sc, body, 8, bhh * rng_range(r, 0.15f, 0.4f), SL_BODY, 20);
    /* cabin quad: rear-bottom, rear-top, front-top, front-bottom */
    float q[4][2];
    switch (type) {
    case 0: q[0][0] = -0.34f, q[1][0] = -0.2f, q[2][0] = 0.07f, q[3][0] = 0.22f; break;
    case 1: q[0][0] = -0.44f, q[1][0] = -0.4f, q[2][0] = 0.04f, q[3][0] = 0.2f; break;
    case 2: q[0][0] = -0.48f, q[1][0] = -0.47f, q[2][0] = 0.08f, q[3][0] = 0.24f; break;
    case 3: q[0][0] = -0.3f, q[1][0] = -0.1f, q[2][0] = 0.04f, q[3][0] = 0.24f; break;
    default: q[0][0] = -0.12f, q[1][0] = -0.1f, q[2][0] = 0.08f, q[3][0] = 0.22f; break;
    }
    for (int k = 0; k < 4; k++) q[k][0] += rng_range(r, -0.03f, 0.03f);
    q[0][1] = q[3][1] = yt + 0.01f;
    q[1][1] = q[2][1] = yt - ch;
    float cab[8] = {q[0][0], q[0][1], q[1][0], q[1][1], q[2][0], q[2][1], q[3][0], q[3][1]};
    sx_rpoly(sc, cab, 4, ch * rng_range(r, 0.15f, 0.5f), SL_BODY, 18);
    /* windows: the cabin inset, split by pillars */
    int nw = type == 4 ? 1 : 1 + (int)rng_below(r, 3);
    float m = ch * 0.16f;
    for (int i = 0; i < nw; i++) {
        float s0 = (float)i / nw + (i ? 0.03f : 0.06f), s1 = (float)(i + 1) / nw - (i + 1 < nw ? 0.03f : 0.06f);
        float w[8] = {lerp(q[0][0], q[3][0], s0) + m * 0.5f, yt - m * 0.4f, lerp(q[1][0], q[2][0], s0) + m * 0.5f,
                      yt - ch + m, lerp(q[1][0], q[2][0], s1) - m * 0.5f, yt - ch + m,
                      lerp(q[0][0], q[3][0], s1) - m * 0.5f, yt - m * 0.4f};
        sx_rpoly(sc, w, 4, m * 0.5f, SL_LIGHT, 22)->sketch_p = 0.7f;
    }
    if (type == 4) /* pickup bed rim */
        sx_segment(sc, SP_LINE, -0.48f, yt + 0.02f, q[0][0] - 0.02f, yt + 0.02f, 0.01f, SL_DARK, 23)->sketch_p = 0.4f;
    /* door seams and handles */
    float dx = lerp(q[0][0], q[3][0], rng_range(r, 0.4f, 0.6f));
    if (rng_uniform(r) < 0.7f) {
        sx_segment(sc, SP_LINE, dx, yt + 0.01f, dx + 0.01f, yb - 0.015f, 0.008f, SL_DARK, 23)->sketch_p = 0.35f;
        sx_segment(sc, SP_LINE, dx - 0.07f, yt + bhh * 0.25f, dx - 0.035f, yt + bhh * 0.25f, 0.012f, SL_DARK, 23)
            ->sketch_p = 0.2f;
    }
    if (rng_uniform(r) < 0.25f)
        sx_segment(sc, SP_TUBE, -0.48f, yt + bhh * 0.55f, 0.48f, yt + bhh * 0.55f, bhh * 0.08f, SL_ACCENT, 21)
            ->sketch_p = 0.25f;
    sx_ellipse(sc, 0.47f, yt + hood + bhh * 0.2f, 0.03f, bhh * 0.12f, 0, SL_ACCENT, 24)->sketch_p = 0.55f;
    sx_rrect(sc, -0.485f, yt + bhh * 0.35f, 0.025f, bhh * 0.22f, 0.008f, 0, SL_ACCENT, 24)->sketch_p = 0.3f;
    if (rng_uniform(r) < 0.5f) {
        sx_rrect(sc, 0.47f, yb - 0.01f, 0.08f, bhh * 0.16f, 0.01f, 0, SL_DARK, 24)->sketch_p = 0.15f;
        sx_rrect(sc, -0.47f, yb - 0.01f, 0.08f, bhh * 0.16f, 0.01f, 0, SL_DARK, 24)->sketch_p = 0.15f;
    }
    if (rng_uniform(r) < 0.4f) sx_ellipse(sc, q[3][0] - 0.01f, yt - 0.015f, 0.02f, 0.013f, 0, SL_BODY, 24)->sketch_p = 0.15f;
    if (type == 3 && rng_uniform(r) < 0.4f)
        sx_rrect(sc, -0.46f, yt - 0.025f, 0.08f, 0.014f, 0.005f, 0, SL_DARK, 19)->sketch_p = 0.4f;
    /* wheels */
    float inset = rng_range(r, 0.15f, 0.22f), hub = rng_range(r, 0.42f, 0.62f);
    int spokes = rng_uniform(r) < 0.35f ? 5 : 0;
    for (int s = -1; s <= 1; s += 2) {
        float wx = s * (0.5f - inset), wy = -wr;
        sx_ellipse(sc, wx, wy, wr * 1.12f, wr * 1.12f, 0, SL_DARK, 19)->sketch_p = 0.1f; /* arch shadow */
        sx_ellipse(sc, wx, wy, wr, wr, 0, SL_DARK, 30)->sketch_p = 0.99f;
        sx_ellipse(sc, wx, wy, wr * hub, wr * hub, 0, SL_LIGHT, 31)->sketch_p = 0.55f;
        for (int k = 0; k < spokes; k++) {
            float a = 6.2831853f * k / spokes;
            sx_segment(sc, SP_LINE, wx, wy, wx + cosf(a) * wr * hub * 0.9f, wy + sinf(a) * wr * hub * 0.9f,
                       wr * 0.08f, SL_DARK, 32)->sketch_p = 0.1f;
        }
    }
}

static void car_front(sx_scene *sc, sbir_rng *r) {
    float w = rng_range(r, 0.75f, 0.9f), bhh = rng_range(r, 0.2f, 0.28f), ch = rng_range(r, 0.15f, 0.22f);
    float wr = rng_range(r, 0.08f, 0.11f), yb = -wr * 0.8f, yt = yb - bhh;
    for (int s = -1; s <= 1; s += 2)
        sx_rrect(sc, s * (w / 2 - 0.08f), -wr * 0.7f, 0.12f, wr * 1.4f, 0.03f, 0, SL_DARK, 10)->sketch_p = 0.9f;
    sx_rrect(sc, 0, (yb + yt) / 2, w, bhh, bhh * rng_range(r, 0.15f, 0.35f), 0, SL_BODY, 20);
    float tw = w * rng_range(r, 0.32f, 0.4f), bw = w * rng_range(r, 0.42f, 0.48f);
    float cab[8] = {-bw, yt + 0.01f, -tw, yt - ch, tw, yt - ch, bw, yt + 0.01f};
    sx_rpoly(sc, cab, 4, ch * 0.25f, SL_BODY, 18);
    float m = ch * 0.15f;
    float ws[8] = {-bw + m * 1.2f, yt - m * 0.3f, -tw + m, yt - ch + m, tw - m, yt - ch + m, bw - m * 1.2f, yt - m * 0.3f};
    sx_rpoly(sc, ws, 4, m * 0.5f, SL_LIGHT, 22)->sketch_p = 0.85f;
    float ly = yt + bhh * rng_range(r, 0.25f, 0.4f), lr = bhh * rng_range(r, 0.12f, 0.18f);
    int round = rng_uniform(r) < 0.5f;
    for (int s = -1; s <= 1; s += 2) {
        if (round) sx_ellipse(sc, s * w * 0.36f, ly, lr, lr, 0, SL_ACCENT, 24)->sketch_p = 0.9f;
        else sx_rrect(sc, s * w * 0.34f, ly, lr * 2.6f, lr * 1.2f, lr * 0.3f, 0, SL_ACCENT, 24)->sketch_p = 0.9f;
        sx_ellipse(sc, s * (bw + 0.03f), yt - 0.02f, 0.035f, 0.022f, 0, SL_BODY, 17)->sketch_p = 0.4f; /* mirrors */
    }
    sx_rrect(sc, 0, ly + lr * 0.3f, w * rng_range(r, 0.3f, 0.45f), bhh * 0.3f, 0.02f, 0, SL_DARK, 24)->sketch_p = 0.7f;
    sx_rrect(sc, 0, yb - bhh * 0.12f, w * 0.96f, bhh * 0.12f, 0.02f, 0, SL_DARK, 23)->sketch_p = 0.4f;
    sx_rrect(sc, 0, yb - bhh * 0.14f, 0.14f, bhh * 0.13f, 0.01f, 0, SL_LIGHT, 25)->sketch_p = 0.3f;
}

void shape_car(sx_scene *sc, sbir_rng *r) {
    if (rng_uniform(r) < 0.2f) car_front(sc, r);
    else car_side(sc, r);
    sc->grounded = 1;
}
