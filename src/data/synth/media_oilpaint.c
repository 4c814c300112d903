/* media_oilpaint.c — oil paint: everything (backdrop included) built from thick, short, oriented brush
 * strokes whose bristles leave streaks of slightly different colour; strokes follow each shape's axis
 * and are lighter on the lit side; loose dark contours; impasto relief (an emboss of the paint's
 * luminance) and canvas weave on top. */
#include <math.h>

#include "data/synth/synth_internal.h"
#include "util/common.h"

static sx_rgb jitter(sx_rgb c, sbir_rng *r, float amt) {
    float k = 1 + rng_range(r, -amt, amt);
    return (sx_rgb){sx_clamp01(c.r * k + rng_range(r, -amt, amt) * 0.3f),
                    sx_clamp01(c.g * k + rng_range(r, -amt, amt) * 0.3f),
                    sx_clamp01(c.b * k + rng_range(r, -amt, amt) * 0.3f)};
}

/* One brush stroke along a slightly curved path. The bristles' streaks are a gradient across the
 * stroke with a different colour at each bristle: one cairo stroke instead of one per bristle. */
static void brush(cairo_t *cr, sbir_rng *r, float x, float y, float ang, float len, float wid, sx_rgb c) {
    float ca = cosf(ang), sa = sinf(ang), bend = rng_range(r, -0.25f, 0.25f) * len;
    float sx = x - ca * len / 2, sy = y - sa * len / 2;
    cairo_pattern_t *g = cairo_pattern_create_linear(x + sa * wid / 2, y - ca * wid / 2, x - sa * wid / 2, y + ca * wid / 2);
    int k = 6;
    for (int b = 0; b < k; b++) {
        sx_rgb q = jitter(c, r, 0.11f);
        cairo_pattern_add_color_stop_rgba(g, (double)b / (k - 1), q.r, q.g, q.b, b == 0 || b == k - 1 ? 0.6 : 0.92);
    }
    cairo_set_source(cr, g);
    cairo_move_to(cr, sx, sy);
    cairo_curve_to(cr, sx + ca * len / 3 - sa * bend, sy + sa * len / 3 + ca * bend, sx + ca * 2 * len / 3 - sa * bend,
                   sy + sa * 2 * len / 3 + ca * bend, sx + ca * len, sy + sa * len);
    cairo_set_line_width(cr, wid);
    cairo_stroke(cr);
    cairo_pattern_destroy(g);
}

/* Fills the current clip's box with strokes of colours between c and c2, shaded by the light about
 * (cx, cy): warm lights, cool shadows, as a painter mixes them. Strokes follow angle ang, or for
 * round shapes (round = 1) go around the centre, following the form. */
static void paint_area(cairo_t *cr, sbir_rng *r, sx_rgb c, sx_rgb c2, float ang, float angj, float round, float len,
                       float wid, float density, float cx, float cy, float R, float lx, float ly, float shading) {
    double x0, y0, x1, y1;
    cairo_clip_extents(cr, &x0, &y0, &x1, &y1);
    float area = (float)((x1 - x0) * (y1 - y0));
    int n = (int)(area / (len * wid) * density) + 1;
    if (n > 900) n = 900;
    for (int i = 0; i < n; i++) {
        float x = rng_range(r, (float)x0, (float)x1), y = rng_range(r, (float)y0, (float)y1);
        float lit = R > 0 ? ((x - cx) * lx + (y - cy) * ly) / R : 0;
        sx_rgb base = sx_mix(c, c2, rng_uniform(r));
        sx_rgb cc = lit > 0 ? sx_mix(base, (sx_rgb){1, 0.93f, 0.75f}, fminf(lit, 1) * 0.4f * shading)
                            : sx_mix(sx_scale_rgb(base, 1 + fmaxf(lit, -1) * 0.3f * shading), (sx_rgb){0.12f, 0.15f, 0.32f},
                                     fminf(-lit, 1) * 0.12f * shading);
        float a = ang;
        if (round > 0 && rng_uniform(r) < round) a = atan2f(y - cy, x - cx) + 1.5708f;
        brush(cr, r, x, y, a + rng_range(r, -angj, angj), len * rng_range(r, 0.7f, 1.3f), wid, cc);
    }
}

static void impasto(cairo_surface_t *s, uint32_t seed) {
    cairo_surface_flush(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int st = cairo_image_surface_get_stride(s) / 4;
    uint32_t *px = (uint32_t *)cairo_image_surface_get_data(s);
    float *L = mallocCheck(sizeof(float) * (size_t)w * h);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t v = px[y * st + x];
            L[y * w + x] = 0.3f * ((v >> 16) & 255) + 0.59f * ((v >> 8) & 255) + 0.11f * (v & 255);
        }
    float cell = (float)w / 128.0f * 2.5f; /* canvas weave period, about 2.5 px at 128 */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            int xa = SBIR_MAX(x - 1, 0), ya = SBIR_MAX(y - 1, 0), xb = SBIR_MIN(x + 1, w - 1), yb = SBIR_MIN(y + 1, h - 1);
            float relief = (L[ya * w + xa] - L[yb * w + xb]) * 0.45f; /* lit from the upper left */
            float weave = 1 + 0.05f * sinf(x / cell * 3.14159f) * sinf(y / cell * 3.14159f) +
                          0.04f * (sx_noise(x * 0.5f, y * 0.5f, seed) - 0.5f);
            uint32_t v = px[y * st + x];
            int c[3] = {(int)((v >> 16) & 255), (int)((v >> 8) & 255), (int)(v & 255)};
            for (int k = 0; k < 3; k++) c[k] = SBIR_MIN(SBIR_MAX((int)((c[k] + relief) * weave), 0), 255);
            px[y * st + x] = (uint32_t)c[0] << 16 | (uint32_t)c[1] << 8 | (uint32_t)c[2];
        }
    free(L);
    cairo_surface_mark_dirty(s);
}

void media_oilpaint(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r) {
    sx_hsv hp[SL_N];
    sx_palette_base(r, hp);
    sx_rgb pal[SL_N];
    float moody = rng_uniform(r) < 0.4f ? 0.6f : 1.0f; /* dark, old-master backdrops sometimes */
    /* every colour is mixed a little with an earth pigment, as on a painter's palette */
    static const sx_rgb earths[4] = {{0.63f, 0.38f, 0.18f}, {0.8f, 0.62f, 0.3f}, {0.4f, 0.25f, 0.15f}, {0.55f, 0.5f, 0.35f}};
    sx_rgb earth = earths[rng_below(r, 4)];
    float em = rng_range(r, 0.1f, 0.3f);
    for (int i = 0; i < SL_N; i++) {
        sx_hsv c = hp[i];
        c.s = 0.25f + 0.65f * c.s;
        c.v = 0.2f + 0.72f * c.v;
        if (i == SL_SKY || i == SL_BG2) c.v *= moody;
        pal[i] = sx_mix(sx_hsv2rgb(c), earth, i == SL_DARK ? 0 : em);
    }
    float px = (float)SX_PX, lx = sc->light_x, ly = sc->light_y;
    cairo_t *cr = sx_cairo(s);
    sx_set(cr, pal[SL_SKY]);
    cairo_paint(cr);
    /* the backdrop is painted too: broad strokes in a flowing direction */
    float bga = rng_range(r, -0.5f, 0.5f) + (rng_uniform(r) < 0.3f ? 1.57f : 0);
    cairo_save(cr);
    cairo_rectangle(cr, 0, 0, 1, 1);
    cairo_clip(cr);
    sx_rgb sky2 = sx_hsv2rgb((sx_hsv){hp[SL_SKY].h + rng_range(r, -0.1f, 0.1f), 0.25f + 0.65f * hp[SL_SKY].s,
                                     (0.2f + 0.72f * hp[SL_SKY].v) * moody * rng_range(r, 0.75f, 1.2f)});
    paint_area(cr, r, pal[SL_SKY], sky2, bga, 0.35f, 0, 16 * px, 7 * px, 1.6f, 0.5f, 0.2f, 0.8f, 0, -1, 0.3f);
    cairo_restore(cr);
    float outline = rng_uniform(r) < 0.55f ? rng_range(r, 0.9f, 1.6f) : 0;
    for (int i = 0; i < sc->n_parts; i++) {
        const sx_part *p = &sc->part[i];
        sx_rgb c = sx_part_rgb(pal, p);
        float R = fmaxf(p->rx, p->ry);
        if (p->kind == SP_LINE) {
            sx_set_a(cr, sx_scale_rgb(pal[SL_DARK], 1.3f), 0.75f);
            sx_path_wobble(cr, p, r, 0.6f * px);
            cairo_set_line_width(cr, fmaxf(p->width, 1.1f * px));
            cairo_stroke(cr);
            continue;
        }
        if (p->kind == SP_TUBE) {
            float w = fmaxf(p->width, 1.5f * px);
            sx_set(cr, sx_scale_rgb(c, 0.8f));
            sx_path_wobble(cr, p, r, 0.5f * px);
            cairo_set_line_width(cr, w);
            cairo_stroke(cr);
            /* dabs along the tube */
            float x[SX_MAX_FLAT], y[SX_MAX_FLAT];
            int n = sx_flatten(p, x, y);
            for (int k = 1; k < n; k += 2) {
                float a = atan2f(y[k] - y[k - 1], x[k] - x[k - 1]);
                brush(cr, r, x[k], y[k], a, w * 2.5f, w * 0.8f, jitter(c, r, 0.1f));
            }
            continue;
        }
        cairo_save(cr);
        sx_path_wobble(cr, p, r, 0.7f * px);
        cairo_clip_preserve(cr);
        sx_set(cr, sx_scale_rgb(c, 0.85f));
        cairo_fill(cr);
        float len = fminf(fmaxf(R * 0.7f, 3 * px), 13 * px), wid = fminf(fmaxf(R * 0.4f, 1.6f * px), 6 * px);
        float ang = p->bg ? (p->slot == SL_GROUND ? rng_range(r, -0.2f, 0.2f) : bga) : p->angle;
        float aspect = fminf(p->rx, p->ry) / fmaxf(R, 1e-6f);
        sx_rgb c2 = jitter(c, r, 0.15f);
        paint_area(cr, r, c, c2, ang, p->bg ? 0.3f : 0.4f, p->bg ? 0 : aspect * 0.7f, len, wid, 2.0f, p->cx, p->cy, R, lx,
                   ly, p->bg ? 0.4f : 1.0f);
        cairo_restore(cr);
        if (outline > 0 && !p->bg && R > 3 * px) {
            sx_set_a(cr, sx_mix(sx_scale_rgb(c, 0.35f), (sx_rgb){0.2f, 0.1f, 0.05f}, 0.5f), 0.6f);
            sx_path_wobble(cr, p, r, 0.8f * px);
            cairo_set_line_width(cr, outline * px);
            cairo_stroke(cr);
        }
    }
    cairo_destroy(cr);
    impasto(s, (uint32_t)rng_next(r));
}
