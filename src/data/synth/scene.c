/* scene.c — building scene descriptions: primitive parts as cubic bezier paths, pose and placement in
 * the frame, the class-independent background, depth sorting. */
#include <math.h>
#include <string.h>

#include "data/synth/synth_internal.h"
#include "util/common.h"

#define KAPPA 0.5522847f
#define PI_F 3.14159265f

void sx_init(sx_scene *sc) {
    memset(sc, 0, sizeof *sc);
    sc->horizon = -1;
    sc->ground_y = -1;
    sc->light_x = -0.6f;
    sc->light_y = -0.8f;
}

sx_part *sx_new(sx_scene *sc, int kind, int slot, int depth) {
    /* A model that overflows loses its last details rather than failing: they go to scratch. */
    sx_part *p = sc->n_parts < SX_MAX_PARTS ? &sc->part[sc->n_parts++] : &sc->scratch;
    memset(p, 0, sizeof *p);
    p->kind = (uint8_t)kind;
    p->slot = (uint8_t)slot;
    p->depth = (int16_t)depth;
    p->sketch_p = kind == SP_FILL ? 0.97f : kind == SP_TUBE ? 0.9f : 0.6f;
    return p;
}

static void put(sx_part *p, float x, float y) {
    if (p->n >= SX_MAX_PTS) return;
    p->pt[2 * p->n] = x;
    p->pt[2 * p->n + 1] = y;
    p->n++;
}

/* A straight segment written as a cubic, so every part is one kind of path. */
static void put_line(sx_part *p, float x0, float y0, float x1, float y1) {
    put(p, x0 + (x1 - x0) / 3, y0 + (y1 - y0) / 3);
    put(p, x0 + 2 * (x1 - x0) / 3, y0 + 2 * (y1 - y0) / 3);
    put(p, x1, y1);
}

sx_part *sx_ellipse(sx_scene *sc, float cx, float cy, float rx, float ry, float ang, int slot, int depth) {
    sx_part *p = sx_new(sc, SP_FILL, slot, depth);
    p->closed = 1;
    float ca = cosf(ang), sa = sinf(ang);
    /* the unit circle as 4 cubics, scaled and rotated */
    static const float u[13][2] = {{1, 0},      {1, KAPPA},  {KAPPA, 1},  {0, 1},      {-KAPPA, 1},
                                   {-1, KAPPA}, {-1, 0},     {-1, -KAPPA}, {-KAPPA, -1}, {0, -1},
                                   {KAPPA, -1}, {1, -KAPPA}, {1, 0}};
    for (int i = 0; i < 13; i++) {
        float x = u[i][0] * rx, y = u[i][1] * ry;
        put(p, cx + ca * x - sa * y, cy + sa * x + ca * y);
    }
    return p;
}

sx_part *sx_rrect(sx_scene *sc, float cx, float cy, float w, float h, float r, float ang, int slot, int depth) {
    sx_part *p = sx_new(sc, SP_FILL, slot, depth);
    p->closed = 1;
    float hw = w / 2, hh = h / 2;
    if (r > hw) r = hw;
    if (r > hh) r = hh;
    float k = r * KAPPA;
    float q[25][2];
    int n = 0;
#define Q(X, Y) (q[n][0] = (X), q[n][1] = (Y), n++)
#define QL(X0, Y0, X1, Y1) (Q((X0) + ((X1) - (X0)) / 3, (Y0) + ((Y1) - (Y0)) / 3), \
                            Q((X0) + 2 * ((X1) - (X0)) / 3, (Y0) + 2 * ((Y1) - (Y0)) / 3), Q(X1, Y1))
    Q(-hw + r, -hh);
    QL(-hw + r, -hh, hw - r, -hh);
    Q(hw - r + k, -hh), Q(hw, -hh + r - k), Q(hw, -hh + r);
    QL(hw, -hh + r, hw, hh - r);
    Q(hw, hh - r + k), Q(hw - r + k, hh), Q(hw - r, hh);
    QL(hw - r, hh, -hw + r, hh);
    Q(-hw + r - k, hh), Q(-hw, hh - r + k), Q(-hw, hh - r);
    QL(-hw, hh - r, -hw, -hh + r);
    Q(-hw, -hh + r - k), Q(-hw + r - k, -hh), Q(-hw + r, -hh);
#undef QL
#undef Q
    float ca = cosf(ang), sa = sinf(ang);
    for (int i = 0; i < n; i++) put(p, cx + ca * q[i][0] - sa * q[i][1], cy + sa * q[i][0] + ca * q[i][1]);
    return p;
}

/* Catmull-Rom through pts (closed or open with clamped ends) as cubic beziers. */
static void put_smooth(sx_part *p, const float *xy, int n, int closed) {
    if (n > SX_MAX_SEGS) n = SX_MAX_SEGS;
#define PX(i) xy[2 * (closed ? (((i) % n) + n) % n : ((i) < 0 ? 0 : (i) >= n ? n - 1 : (i)))]
#define PY(i) xy[2 * (closed ? (((i) % n) + n) % n : ((i) < 0 ? 0 : (i) >= n ? n - 1 : (i))) + 1]
    put(p, xy[0], xy[1]);
    int segs = closed ? n : n - 1;
    for (int i = 0; i < segs; i++) {
        put(p, PX(i) + (PX(i + 1) - PX(i - 1)) / 6, PY(i) + (PY(i + 1) - PY(i - 1)) / 6);
        put(p, PX(i + 1) - (PX(i + 2) - PX(i)) / 6, PY(i + 1) - (PY(i + 2) - PY(i)) / 6);
        put(p, PX(i + 1), PY(i + 1));
    }
#undef PX
#undef PY
}

sx_part *sx_blob(sx_scene *sc, const float *xy, int n, int slot, int depth) {
    sx_part *p = sx_new(sc, SP_FILL, slot, depth);
    p->closed = 1;
    put_smooth(p, xy, n, 1);
    return p;
}

sx_part *sx_poly(sx_scene *sc, const float *xy, int n, int slot, int depth) {
    sx_part *p = sx_new(sc, SP_FILL, slot, depth);
    p->closed = 1;
    if (n > SX_MAX_SEGS) n = SX_MAX_SEGS;
    put(p, xy[0], xy[1]);
    for (int i = 0; i < n; i++) {
        int j = (i + 1) % n;
        put_line(p, xy[2 * i], xy[2 * i + 1], xy[2 * j], xy[2 * j + 1]);
    }
    return p;
}

sx_part *sx_rpoly(sx_scene *sc, const float *xy, int n, float rad, int slot, int depth) {
    sx_part *p = sx_new(sc, SP_FILL, slot, depth);
    p->closed = 1;
    if (n > SX_MAX_SEGS / 2) n = SX_MAX_SEGS / 2;
    /* For each corner V: A = V - r * (incoming direction), B = V + r * (outgoing direction); the corner
     * becomes a cubic A -> B pulled toward V, the edges are straight between consecutive corners. */
    float ax[SX_MAX_SEGS], ay[SX_MAX_SEGS], bx[SX_MAX_SEGS], by[SX_MAX_SEGS];
    for (int i = 0; i < n; i++) {
        int h = (i + n - 1) % n, j = (i + 1) % n;
        float vx = xy[2 * i], vy = xy[2 * i + 1];
        float dx0 = vx - xy[2 * h], dy0 = vy - xy[2 * h + 1], dx1 = xy[2 * j] - vx, dy1 = xy[2 * j + 1] - vy;
        float l0 = sqrtf(dx0 * dx0 + dy0 * dy0) + 1e-9f, l1 = sqrtf(dx1 * dx1 + dy1 * dy1) + 1e-9f;
        float r0 = SBIR_MIN(rad, l0 * 0.45f), r1 = SBIR_MIN(rad, l1 * 0.45f);
        ax[i] = vx - dx0 / l0 * r0;
        ay[i] = vy - dy0 / l0 * r0;
        bx[i] = vx + dx1 / l1 * r1;
        by[i] = vy + dy1 / l1 * r1;
    }
    put(p, bx[0], by[0]);
    for (int k = 1; k <= n; k++) {
        int i = k % n;
        float vx = xy[2 * i], vy = xy[2 * i + 1];
        put_line(p, p->pt[2 * (p->n - 1)], p->pt[2 * (p->n - 1) + 1], ax[i], ay[i]);
        put(p, ax[i] + (vx - ax[i]) * 0.55f, ay[i] + (vy - ay[i]) * 0.55f);
        put(p, bx[i] + (vx - bx[i]) * 0.55f, by[i] + (vy - by[i]) * 0.55f);
        put(p, bx[i], by[i]);
    }
    return p;
}

sx_part *sx_path(sx_scene *sc, int kind, const float *xy, int n, int smooth, float width, int slot, int depth) {
    sx_part *p = sx_new(sc, kind, slot, depth);
    p->width = width;
    if (n > SX_MAX_SEGS + 1) n = SX_MAX_SEGS + 1;
    if (smooth) {
        put_smooth(p, xy, n, 0);
    } else {
        put(p, xy[0], xy[1]);
        for (int i = 0; i + 1 < n; i++) put_line(p, xy[2 * i], xy[2 * i + 1], xy[2 * i + 2], xy[2 * i + 3]);
    }
    return p;
}

sx_part *sx_segment(sx_scene *sc, int kind, float x0, float y0, float x1, float y1, float width, int slot,
                    int depth) {
    float xy[4] = {x0, y0, x1, y1};
    return sx_path(sc, kind, xy, 2, 0, width, slot, depth);
}

sx_part *sx_ring(sx_scene *sc, float cx, float cy, float r, float width, int kind, int slot, int depth) {
    sx_part *p = sx_ellipse(sc, cx, cy, r, r, 0, slot, depth);
    p->kind = (uint8_t)kind;
    p->width = width;
    p->sketch_p = 0.95f;
    return p;
}

/* ---- placement ---- */

static void bbox_parts(const sx_scene *sc, int bg, float *x0, float *y0, float *x1, float *y1) {
    *x0 = *y0 = 1e9f;
    *x1 = *y1 = -1e9f;
    for (int i = 0; i < sc->n_parts; i++) {
        const sx_part *p = &sc->part[i];
        if (p->bg != bg) continue;
        float w = p->width / 2;
        for (int k = 0; k < p->n; k++) {
            float x = p->pt[2 * k], y = p->pt[2 * k + 1];
            if (x - w < *x0) *x0 = x - w;
            if (x + w > *x1) *x1 = x + w;
            if (y - w < *y0) *y0 = y - w;
            if (y + w > *y1) *y1 = y + w;
        }
    }
}

void sx_place(sx_scene *sc, sbir_rng *r, float fill_lo, float fill_hi) {
    float flip = rng_uniform(r) < 0.5f ? -1.0f : 1.0f;
    /* Grounded objects tilt less: a strongly tilted car on a level horizon looks broken. */
    float rot = rng_normal(r) * (sc->grounded ? 0.04f : 0.12f);
    if (rot > 0.25f) rot = 0.25f;
    if (rot < -0.25f) rot = -0.25f;
    /* An oblique viewpoint foreshortens the object's length. */
    float squash = rng_uniform(r) < 0.3f ? rng_range(r, 0.72f, 0.95f) : 1.0f;
    float ca = cosf(rot), sa = sinf(rot);
    float a = ca * flip * squash, b = sa * flip * squash, c = -sa, d = ca; /* x' = a x + c y, y' = b x + d y */

    float ox0, oy0, ox1, oy1;
    bbox_parts(sc, 0, &ox0, &oy0, &ox1, &oy1);
    /* transformed bbox of the object bbox corners */
    float tx0 = 1e9f, ty0 = 1e9f, tx1 = -1e9f, ty1 = -1e9f;
    for (int k = 0; k < 4; k++) {
        float x = (k & 1) ? ox1 : ox0, y = (k & 2) ? oy1 : oy0;
        float X = a * x + c * y, Y = b * x + d * y;
        if (X < tx0) tx0 = X;
        if (X > tx1) tx1 = X;
        if (Y < ty0) ty0 = Y;
        if (Y > ty1) ty1 = Y;
    }
    float w = tx1 - tx0, h = ty1 - ty0, big = w > h ? w : h;
    if (big < 1e-6f) big = 1e-6f;
    float fill = rng_range(r, fill_lo, fill_hi);
    float k = fill / big;
    if (w * k > 0.92f) k = 0.92f / w;
    if (h * k > 0.92f) k = 0.92f / h;
    float W = w * k, H = h * k;
    float m = 0.04f;
    float px = rng_range(r, m, 1 - m - W) - tx0 * k;
    /* grounded objects sit in the lower part of the frame more often than not */
    float ylo = m, yhi = 1 - m - H;
    float py = (sc->grounded ? ylo + (yhi - ylo) * sqrtf(rng_uniform(r)) : rng_range(r, ylo, yhi)) - ty0 * k;
    float wk = k * sqrtf(squash);
    for (int i = 0; i < sc->n_parts; i++) {
        sx_part *p = &sc->part[i];
        if (p->bg) continue;
        for (int j = 0; j < p->n; j++) {
            float x = p->pt[2 * j], y = p->pt[2 * j + 1];
            p->pt[2 * j] = (a * x + c * y) * k + px;
            p->pt[2 * j + 1] = (b * x + d * y) * k + py;
        }
        p->width *= wk;
    }
    sc->ground_y = sc->grounded ? py : -1; /* object y = 0 maps to y' = py at x = 0 */
    /* The light comes from the upper left or upper right, independently of the object's facing. */
    float la = rng_range(r, -2.6f, -0.55f);
    sc->light_x = cosf(la);
    sc->light_y = sinf(la);
}

void sx_background(sx_scene *sc, sbir_rng *r) {
    float u = rng_uniform(r);
    int ground = 0, hills = 0, sun = 0, clouds = 0, disc = 0;
    if (u < 0.22f) {
        /* plain backdrop */
    } else if (u < 0.55f) {
        ground = 1;
    } else if (u < 0.75f) {
        ground = 1;
        hills = 1 + (int)rng_below(r, 2);
    } else if (u < 0.9f) {
        ground = rng_uniform(r) < 0.6f;
        sun = rng_uniform(r) < 0.6f;
        clouds = sun ? (int)rng_below(r, 2) : 1 + (int)rng_below(r, 2);
    } else {
        disc = 1;
    }
    if (ground || hills) {
        float hz = sc->ground_y >= 0 ? sc->ground_y - rng_range(r, 0.04f, 0.3f) : rng_range(r, 0.55f, 0.85f);
        if (hz < 0.3f) hz = 0.3f;
        if (hz > 0.92f) hz = 0.92f;
        sc->horizon = hz;
        sx_part *g = sx_rrect(sc, 0.5f, (hz + 1.1f) / 2, 1.2f, 1.1f - hz, 0, 0, SL_GROUND, -50);
        g->bg = 1;
        for (int i = 0; i < hills; i++) {
            sx_part *p = sx_ellipse(sc, rng_range(r, 0.0f, 1.0f), hz + 0.02f, rng_range(r, 0.2f, 0.5f),
                                    rng_range(r, 0.07f, 0.2f), 0, SL_BG2, -60 + i);
            p->bg = 1;
        }
    }
    if (sun) {
        float rr = rng_range(r, 0.045f, 0.09f);
        sx_part *p = sx_ellipse(sc, rng_range(r, 0.1f, 0.9f), rng_range(r, 0.08f, 0.3f), rr, rr, 0, SL_BG3, -70);
        p->bg = 1;
    }
    for (int i = 0; i < clouds; i++) {
        float cx = rng_range(r, 0.1f, 0.9f), cy = rng_range(r, 0.08f, 0.35f), s = rng_range(r, 0.05f, 0.09f);
        /* a flat-bottomed cloud: round puffs on top, through the troughs between them */
        float xy[24];
        int bumps = 3 + (int)rng_below(r, 2);
        for (int k = 0; k < 12; k++) {
            float t = PI_F + PI_F * k / 11; /* top half, left to right */
            float ph = fabsf(sinf(bumps * PI_F * k / 11));
            xy[2 * k] = cx + cosf(t) * s * 2.0f;
            xy[2 * k + 1] = cy + sinf(t) * s * (0.7f + 0.55f * ph);
        }
        xy[0] = cx - s * 2.0f, xy[1] = cy + s * 0.25f, xy[22] = cx + s * 2.0f, xy[23] = cy + s * 0.25f;
        sx_part *p = sx_blob(sc, xy, 12, SL_BG2, -65 + i);
        p->bg = 1;
    }
    if (disc) {
        float cx = (sc->bx0 + sc->bx1) / 2, cy = (sc->by0 + sc->by1) / 2;
        float rr = rng_range(r, 0.3f, 0.45f);
        sx_part *p = sx_ellipse(sc, cx, cy, rr, rr, 0, SL_BG3, -70);
        p->bg = 1;
    }
}

int sx_flatten(const sx_part *p, float *x, float *y) {
    if (p->n <= 0) return 0;
    int n = 0;
    x[n] = p->pt[0];
    y[n] = p->pt[1];
    n++;
    for (int s = 0; 1 + 3 * s + 2 < p->n; s++) {
        const float *q = p->pt + 2 * (3 * s);
        for (int k = 1; k <= SX_FLAT_PER_SEG; k++) {
            float t = (float)k / SX_FLAT_PER_SEG, u = 1 - t;
            float b0 = u * u * u, b1 = 3 * u * u * t, b2 = 3 * u * t * t, b3 = t * t * t;
            x[n] = b0 * q[0] + b1 * q[2] + b2 * q[4] + b3 * q[6];
            y[n] = b0 * q[1] + b1 * q[3] + b2 * q[5] + b3 * q[7];
            n++;
        }
    }
    return n;
}

static void derive(sx_part *p) {
    float x[SX_MAX_FLAT], y[SX_MAX_FLAT];
    int n = sx_flatten(p, x, y);
    float x0 = 1e9f, y0 = 1e9f, x1 = -1e9f, y1 = -1e9f, mx = 0, my = 0;
    for (int i = 0; i < n; i++) {
        if (x[i] < x0) x0 = x[i];
        if (x[i] > x1) x1 = x[i];
        if (y[i] < y0) y0 = y[i];
        if (y[i] > y1) y1 = y[i];
        mx += x[i];
        my += y[i];
    }
    if (n == 0) return;
    mx /= n;
    my /= n;
    float sxx = 0, syy = 0, sxy = 0;
    for (int i = 0; i < n; i++) {
        float dx = x[i] - mx, dy = y[i] - my;
        sxx += dx * dx;
        syy += dy * dy;
        sxy += dx * dy;
    }
    p->cx = (x0 + x1) / 2;
    p->cy = (y0 + y1) / 2;
    p->rx = (x1 - x0) / 2 + p->width / 2;
    p->ry = (y1 - y0) / 2 + p->width / 2;
    p->angle = 0.5f * atan2f(2 * sxy, sxx - syy); /* principal axis */
}

void sx_finish(sx_scene *sc) {
    /* stable insertion sort by depth: models add parts in a sensible order within one depth */
    for (int i = 1; i < sc->n_parts; i++) {
        sx_part tmp = sc->part[i];
        int j = i - 1;
        while (j >= 0 && sc->part[j].depth > tmp.depth) {
            sc->part[j + 1] = sc->part[j];
            j--;
        }
        sc->part[j + 1] = tmp;
    }
    for (int i = 0; i < sc->n_parts; i++) derive(&sc->part[i]);
    bbox_parts(sc, 0, &sc->bx0, &sc->by0, &sc->bx1, &sc->by1);
}

void sx_build_scene(sx_scene *sc, int cls, sbir_rng *r) {
    sx_init(sc);
    switch (cls) {
    case 0: shape_bicycle(sc, r); break;
    case 1: shape_bird(sc, r); break;
    case 2: shape_car(sc, r); break;
    case 3: shape_cat(sc, r); break;
    default: shape_dog(sc, r); break;
    }
    sx_place(sc, r, 0.55f, 0.88f);
    bbox_parts(sc, 0, &sc->bx0, &sc->by0, &sc->bx1, &sc->by1);
    sx_background(sc, r);
    sx_finish(sc);
}
