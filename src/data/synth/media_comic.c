/* media_comic.c — comic book: bold black outlines, flat saturated cel colours with one hard-edged
 * shadow tone, Ben-Day halftone dots (backdrop, sometimes in the shadows), speed-line bursts, white
 * gloss marks. */
#include <math.h>

#include "data/synth/synth_internal.h"

/* Dots on a 45-degree grid over the current clip, growing along direction (gx, gy). */
static void halftone(cairo_t *cr, sx_rgb c, float alpha, float sp, float rmin, float rmax, float gx, float gy) {
    double x0, y0, x1, y1;
    cairo_clip_extents(cr, &x0, &y0, &x1, &y1);
    sx_set_a(cr, c, alpha);
    float h = sp * 0.7071f;
    for (int j = (int)floor(y0 / h) - 1; j * h <= y1 + h; j++)
        for (int i = (int)floor(x0 / sp) - 1; i * sp <= x1 + sp; i++) {
            float x = i * sp + ((j & 1) ? sp / 2 : 0), y = j * h;
            float t = sx_clamp01(0.5f + (x - 0.5f) * gx + (y - 0.5f) * gy);
            float rad = rmin + (rmax - rmin) * t;
            if (rad <= 0.0005f) continue;
            cairo_new_sub_path(cr);
            cairo_arc(cr, x, y, rad, 0, 6.2831853);
        }
    cairo_fill(cr);
}

/* The part minus itself shifted toward the light: the crescent that a cel shadow occupies. */
static void shadow_region(cairo_t *cr, const sx_part *p, float lx, float ly, float k) {
    float R = fmaxf(p->rx, p->ry) * k;
    sx_path_part(cr, p);
    cairo_clip(cr);
    cairo_set_fill_rule(cr, CAIRO_FILL_RULE_EVEN_ODD);
    cairo_rectangle(cr, -1, -1, 3, 3);
    cairo_save(cr);
    cairo_translate(cr, lx * R, ly * R);
    sx_path_part(cr, p);
    cairo_restore(cr);
}

void media_comic(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r) {
    sx_hsv hp[SL_N];
    sx_palette_base(r, hp);
    sx_rgb pal[SL_N];
    for (int i = 0; i < SL_N; i++) {
        sx_hsv c = hp[i];
        if (i == SL_DARK) {
            c.v *= 0.5f;
        } else if (i == SL_LIGHT) {
            c.s *= 0.5f;
        } else { /* punchy printed colours */
            c.s = c.s < 0.12f ? c.s : 0.6f + 0.4f * c.s;
            c.v = 0.62f + 0.38f * c.v;
        }
        pal[i] = sx_hsv2rgb(c);
    }
    const sx_rgb ink = {0.04f, 0.03f, 0.05f}, white = {1, 1, 1};
    cairo_t *cr = sx_cairo(s);
    sx_set(cr, pal[SL_SKY]);
    cairo_paint(cr);
    float u = rng_uniform(r);
    if (u < 0.25f) { /* action burst: alternating wedges from behind the object */
        float cx = (sc->bx0 + sc->bx1) / 2, cy = (sc->by0 + sc->by1) / 2;
        int n = 14 + 2 * (int)rng_below(r, 8);
        sx_rgb c2 = sx_hsv2rgb((sx_hsv){hp[SL_SKY].h + rng_range(r, -0.1f, 0.1f), 0.7f, 0.95f});
        float a0 = rng_range(r, 0, 1);
        for (int k = 0; k < n; k += 2) {
            float a = a0 + 6.2831853f * k / n, b = a0 + 6.2831853f * (k + 1) / n;
            cairo_move_to(cr, cx, cy);
            cairo_line_to(cr, cx + 2 * cosf(a), cy + 2 * sinf(a));
            cairo_line_to(cr, cx + 2 * cosf(b), cy + 2 * sinf(b));
            cairo_close_path(cr);
        }
        sx_set(cr, c2);
        cairo_fill(cr);
    } else if (u < 0.85f) {
        float a = rng_range(r, 0, 6.283f), sp = rng_range(r, 4.0f, 6.5f) * (float)SX_PX;
        sx_rgb dot = rng_uniform(r) < 0.5f ? sx_scale_rgb(pal[SL_SKY], 0.7f)
                                           : sx_hsv2rgb((sx_hsv){hp[SL_SKY].h + 0.5f, 0.8f, 0.9f});
        cairo_save(cr);
        cairo_rectangle(cr, 0, 0, 1, 1);
        cairo_clip(cr);
        halftone(cr, dot, 1, sp, -0.2f * sp, sp * 0.55f, cosf(a) * 1.6f, sinf(a) * 1.6f);
        cairo_restore(cr);
    }
    float ow = rng_range(r, 2.0f, 3.0f) * (float)SX_PX;
    int dotted_shadow = rng_uniform(r) < 0.4f, gloss = rng_uniform(r) < 0.6f;
    float lx = sc->light_x, ly = sc->light_y;
    for (int i = 0; i < sc->n_parts; i++) {
        const sx_part *p = &sc->part[i];
        sx_rgb c = sx_part_rgb(pal, p);
        float small = fminf(p->rx, p->ry);
        float w = p->bg ? ow * 0.6f : fminf(ow, fmaxf(0.7f * (float)SX_PX, small * 0.35f));
        if (p->kind == SP_LINE) {
            sx_set(cr, ink);
            sx_path_part(cr, p);
            cairo_set_line_width(cr, fmaxf(p->width, 1.3f * (float)SX_PX));
            cairo_stroke(cr);
            continue;
        }
        if (p->kind == SP_TUBE) {
            sx_set(cr, ink);
            sx_path_part(cr, p);
            cairo_set_line_width(cr, p->width + 2 * ow * 0.8f);
            cairo_stroke(cr);
            sx_draw_flat(cr, p, c, 1);
            continue;
        }
        sx_set(cr, c);
        sx_path_part(cr, p);
        cairo_fill(cr);
        if (!p->bg && small > 3 * SX_PX && p->slot != SL_DARK) {
            cairo_save(cr);
            shadow_region(cr, p, lx, ly, 0.3f);
            if (dotted_shadow) {
                cairo_clip(cr);
                float sp = 3.2f * (float)SX_PX;
                halftone(cr, sx_scale_rgb(c, 0.45f), 1, sp, sp * 0.32f, sp * 0.32f, 0, 0);
            } else {
                sx_set(cr, sx_scale_rgb(c, 0.68f));
                cairo_fill(cr);
            }
            cairo_restore(cr);
            if (gloss && small > 6 * SX_PX) {
                float R = fminf(p->rx, p->ry);
                sx_set(cr, white);
                cairo_set_line_width(cr, 1.6f * (float)SX_PX);
                float a = atan2f(ly, lx);
                cairo_arc(cr, p->cx, p->cy, R * 0.68f, a - 0.35f, a + 0.25f);
                cairo_stroke(cr);
            }
        }
        sx_set(cr, ink);
        sx_path_part(cr, p);
        cairo_set_line_width(cr, w);
        cairo_stroke(cr);
    }
    cairo_destroy(cr);
}
