/* media_vectorart.c — vector art: flat shapes with clean edges, harmonious modern palettes, linear
 * gradients (backdrop, sometimes on shapes), optional thin same-hue outlines, flat shadows. No texture
 * and no noise anywhere: crisp, uniform regions are this medium's signature. */
#include <math.h>

#include "data/synth/synth_internal.h"

static void linear(cairo_t *cr, float x0, float y0, float x1, float y1, sx_rgb a, sx_rgb b) {
    cairo_pattern_t *g = cairo_pattern_create_linear(x0, y0, x1, y1);
    cairo_pattern_add_color_stop_rgb(g, 0, a.r, a.g, a.b);
    cairo_pattern_add_color_stop_rgb(g, 1, b.r, b.g, b.b);
    cairo_set_source(cr, g);
    cairo_pattern_destroy(g);
}

void media_vectorart(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r) {
    sx_hsv hp[SL_N];
    sx_palette_base(r, hp);
    sx_rgb pal[SL_N];
    for (int i = 0; i < SL_N; i++) {
        sx_hsv c = hp[i];
        if (i != SL_DARK) { /* flat design: clean mid-to-high values, moderate saturation */
            c.s = 0.3f + 0.55f * c.s;
            c.v = 0.5f + 0.47f * c.v;
        } else {
            c.s = 0.3f + 0.4f * c.s; /* deep navy/plum rather than black */
            c.v = 0.16f + c.v;
        }
        pal[i] = sx_hsv2rgb(c);
    }
    cairo_t *cr = sx_cairo(s);
    /* backdrop: a linear gradient most of the time */
    sx_rgb sky2 = sx_hsv2rgb((sx_hsv){hp[SL_SKY].h + rng_range(r, -0.12f, 0.12f), 0.3f + 0.5f * hp[SL_SKY].s,
                                     sx_clamp01(0.5f + 0.47f * hp[SL_SKY].v + rng_range(r, -0.25f, 0.1f))});
    if (rng_uniform(r) < 0.7f) {
        float a = rng_range(r, 0, 6.283f);
        linear(cr, 0.5f - 0.5f * cosf(a), 0.5f - 0.5f * sinf(a), 0.5f + 0.5f * cosf(a), 0.5f + 0.5f * sinf(a),
               pal[SL_SKY], sky2);
    } else {
        sx_set(cr, pal[SL_SKY]);
    }
    cairo_paint(cr);
    int grad = rng_uniform(r) < 0.5f, outline = rng_uniform(r) < 0.35f;
    float ow = rng_range(r, 0.8f, 1.6f) * (float)SX_PX;
    int shadow_done = 0;
    for (int i = 0; i < sc->n_parts; i++) {
        const sx_part *p = &sc->part[i];
        if (!p->bg && !shadow_done) {
            shadow_done = 1;
            if (sc->ground_y >= 0 && rng_uniform(r) < 0.6f) { /* flat contact shadow, no blur */
                float w = (sc->bx1 - sc->bx0) * 0.55f;
                cairo_save(cr);
                cairo_translate(cr, (sc->bx0 + sc->bx1) / 2, sc->ground_y);
                cairo_scale(cr, w, w * 0.12f);
                cairo_arc(cr, 0, 0, 1, 0, 6.2831853);
                cairo_restore(cr);
                sx_set_a(cr, (sx_rgb){0, 0, 0}, 0.18f);
                cairo_fill(cr);
            }
        }
        sx_rgb c = sx_part_rgb(pal, p);
        if (p->kind == SP_LINE) {
            sx_draw_flat(cr, p, sx_scale_rgb(pal[SL_DARK], 1.0f), 1);
            continue;
        }
        if (p->kind == SP_TUBE) {
            if (outline) {
                sx_set(cr, sx_scale_rgb(c, 0.55f));
                sx_path_part(cr, p);
                cairo_set_line_width(cr, p->width + 2 * ow);
                cairo_stroke(cr);
            }
            sx_draw_flat(cr, p, c, 1);
            continue;
        }
        sx_path_part(cr, p);
        if (grad && !p->bg) {
            float lx = sc->light_x, ly = sc->light_y, R = fmaxf(p->rx, p->ry);
            linear(cr, p->cx + lx * R, p->cy + ly * R, p->cx - lx * R, p->cy - ly * R,
                   sx_mix(c, (sx_rgb){1, 1, 1}, 0.18f), sx_scale_rgb(c, 0.8f));
        } else {
            sx_set(cr, c);
        }
        if (outline && !p->bg) {
            cairo_fill_preserve(cr);
            sx_set(cr, sx_scale_rgb(c, 0.55f));
            cairo_set_line_width(cr, ow);
            cairo_stroke(cr);
        } else {
            cairo_fill(cr);
        }
    }
    cairo_destroy(cr);
}
