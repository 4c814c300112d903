/* media_watercolor.c — watercolour: translucent washes glazed over white paper (multiply), each laid
 * in two or three passes with irregular, wet edges that pool darker at their border; loose backdrop
 * washes that leave paper showing; blooms; a softening blur (the wet bleed); light pencil
 * under-drawing on top; paper grain and pigment granulation. */
#include <math.h>

#include "data/synth/synth_internal.h"

static void wash(cairo_t *cr, const sx_part *p, sbir_rng *r, sx_rgb c, float alpha, float amp) {
    int passes = 2 + (int)rng_below(r, 2);
    for (int k = 0; k < passes; k++) {
        sx_path_wobble(cr, p, r, amp);
        if (p->kind == SP_FILL) {
            sx_set_a(cr, c, alpha / passes * 1.6f);
            cairo_fill_preserve(cr);
            /* the wet edge: pigment dries darker at the border */
            sx_set_a(cr, sx_scale_rgb(c, 0.75f), alpha * 0.35f);
            cairo_set_line_width(cr, 1.1f * (float)SX_PX);
            cairo_stroke(cr);
        } else {
            sx_set_a(cr, c, alpha / passes * 1.6f);
            cairo_set_line_width(cr, fmaxf(p->width, 1.2f * (float)SX_PX));
            cairo_stroke(cr);
        }
    }
}

void media_watercolor(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r) {
    sx_hsv hp[SL_N];
    sx_palette_base(r, hp);
    sx_rgb pal[SL_N];
    for (int i = 0; i < SL_N; i++) {
        sx_hsv c = hp[i];
        c.s = 0.2f + 0.65f * c.s;
        c.v = 0.55f + 0.45f * c.v;
        if (i == SL_DARK) c.v = 0.25f + 0.3f * c.v;
        pal[i] = sx_hsv2rgb(c);
    }
    float px = (float)SX_PX;
    sx_rgb paper = {rng_range(r, 0.95f, 1.0f), rng_range(r, 0.94f, 0.99f), rng_range(r, 0.88f, 0.97f)};
    cairo_t *cr = sx_cairo(s);
    sx_set(cr, paper);
    cairo_paint(cr);
    cairo_set_operator(cr, CAIRO_OPERATOR_MULTIPLY);
    /* a loose sky wash fading downward, not always reaching the edges */
    if (rng_uniform(r) < 0.65f) {
        float bottom = rng_range(r, 0.4f, 0.9f), in = rng_uniform(r) < 0.5f ? rng_range(r, 0.02f, 0.1f) : -0.05f;
        sx_scene tmp;
        sx_init(&tmp);
        float xy[16] = {in,     in,        0.5f, in + rng_range(r, -0.02f, 0.03f), 1 - in, in, 1 - in, bottom * 0.6f,
                        1 - in, bottom,    0.5f, bottom + rng_range(r, -0.08f, 0.08f), in, bottom, in, bottom * 0.5f};
        sx_part *p = sx_blob(&tmp, xy, 8, SL_SKY, 0);
        cairo_pattern_t *g = cairo_pattern_create_linear(0, 0, 0, bottom);
        sx_rgb c = pal[SL_SKY];
        float a = rng_range(r, 0.35f, 0.7f);
        cairo_pattern_add_color_stop_rgba(g, 0, c.r, c.g, c.b, a);
        cairo_pattern_add_color_stop_rgba(g, 1, c.r, c.g, c.b, a * 0.15f);
        sx_path_wobble(cr, p, r, 2.5f * px);
        cairo_set_source(cr, g);
        cairo_fill(cr);
        cairo_pattern_destroy(g);
    }
    for (int i = 0; i < sc->n_parts; i++) {
        const sx_part *p = &sc->part[i];
        sx_rgb c = sx_part_rgb(pal, p);
        if (p->kind == SP_LINE) continue; /* drawn with the pencil, after the blur */
        float alpha = p->bg ? rng_range(r, 0.3f, 0.55f) : rng_range(r, 0.55f, 0.85f);
        if (p->slot == SL_DARK) alpha = 0.9f;
        wash(cr, p, r, c, alpha, (p->bg ? 2.5f : 1.1f) * px);
        /* a bloom: a backrun of lighter pigment inside bigger washes */
        if (!p->bg && p->kind == SP_FILL && fminf(p->rx, p->ry) > 0.04f && rng_uniform(r) < 0.45f) {
            cairo_save(cr);
            cairo_set_operator(cr, CAIRO_OPERATOR_OVER);
            sx_path_part(cr, p);
            cairo_clip(cr);
            float bx = p->cx + rng_range(r, -p->rx, p->rx) * 0.5f, by = p->cy + rng_range(r, -p->ry, p->ry) * 0.5f;
            float br = fminf(p->rx, p->ry) * rng_range(r, 0.3f, 0.6f);
            sx_part blob = {0};
            blob.kind = SP_FILL;
            blob.closed = 1;
            /* an irregular backrun: lighter inside, a ragged darker rim where the pigment was pushed */
            blob.n = 13;
            for (int k = 0; k < 13; k++) {
                float t = 6.2831853f * (k / 3) / 4 + (k % 3) * 0.52f;
                float rr = br * rng_range(r, 0.75f, 1.2f);
                blob.pt[2 * k] = bx + cosf(t) * rr;
                blob.pt[2 * k + 1] = by + sinf(t) * rr;
            }
            blob.pt[24] = blob.pt[0], blob.pt[25] = blob.pt[1];
            sx_path_wobble(cr, &blob, r, 1.2f * px);
            sx_set_a(cr, paper, 0.3f);
            cairo_fill_preserve(cr);
            sx_set_a(cr, sx_scale_rgb(c, 0.7f), 0.3f);
            cairo_set_line_width(cr, 0.9f * px);
            cairo_stroke(cr);
            cairo_restore(cr);
        }
        /* shadow glaze on the side away from the light */
        if (!p->bg && p->kind == SP_FILL && fminf(p->rx, p->ry) > 0.03f) {
            cairo_save(cr);
            sx_path_part(cr, p);
            cairo_clip(cr);
            float gx = p->cx - sc->light_x * p->rx, gy = p->cy - sc->light_y * p->ry;
            cairo_pattern_t *g = cairo_pattern_create_linear(p->cx, p->cy, gx, gy);
            sx_rgb d = sx_scale_rgb(c, 0.7f);
            cairo_pattern_add_color_stop_rgba(g, 0, d.r, d.g, d.b, 0);
            cairo_pattern_add_color_stop_rgba(g, 1, d.r, d.g, d.b, 0.55);
            cairo_set_source(cr, g);
            cairo_paint(cr);
            cairo_pattern_destroy(g);
            cairo_restore(cr);
        }
    }
    cairo_destroy(cr);
    int size = cairo_image_surface_get_width(s);
    sx_blur(s, size >= 96 ? size / 96 : 1); /* the wet bleed */
    cr = sx_cairo(s);
    cairo_set_operator(cr, CAIRO_OPERATOR_MULTIPLY);
    float pencil = rng_uniform(r) < 0.7f ? rng_range(r, 0.25f, 0.5f) : 0;
    sx_rgb lead = {0.35f, 0.33f, 0.32f};
    float ox = rng_range(r, -1.2f, 1.2f) * px, oy = rng_range(r, -1.2f, 1.2f) * px; /* paint misses the lines */
    cairo_translate(cr, ox, oy);
    for (int i = 0; i < sc->n_parts; i++) {
        const sx_part *p = &sc->part[i];
        if (p->bg) continue;
        if (p->kind == SP_LINE) {
            sx_set_a(cr, sx_scale_rgb(pal[SL_DARK], 0.8f), 0.7f);
            sx_path_wobble(cr, p, r, 0.4f * px);
            cairo_set_line_width(cr, fmaxf(p->width * 0.7f, 0.7f * px));
            cairo_stroke(cr);
        } else if (pencil > 0 && p->kind == SP_FILL) {
            sx_set_a(cr, lead, pencil);
            sx_path_part(cr, p);
            cairo_set_line_width(cr, 0.7f * px);
            cairo_stroke(cr);
        }
    }
    cairo_destroy(cr);
    uint32_t seed = (uint32_t)rng_next(r);
    sx_grain(s, seed, 24.0f, 0.05f);      /* granulation in pigment pools */
    sx_grain(s, seed + 7, 100.0f, 0.035f); /* paper tooth */
}
