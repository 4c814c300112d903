/* media_pen_ink.c — pen and ink: black (sometimes sepia or blue-black) lines on white or cream paper.
 * Form and tone come only from line: confident, slightly wobbly contours, parallel hatching on the
 * side away from the light, cross-hatching or solid black for dark colours, stippling sometimes;
 * the backdrop is suggested with a few strokes. */
#include <math.h>

#include "data/synth/synth_internal.h"

/* Clip to the part minus itself shifted toward the light: the shadow side. */
static void clip_shadow_side(cairo_t *cr, const sx_part *p, float lx, float ly) {
    float R = fmaxf(p->rx, p->ry) * 0.35f;
    sx_path_part(cr, p);
    cairo_clip(cr);
    cairo_set_fill_rule(cr, CAIRO_FILL_RULE_EVEN_ODD);
    cairo_rectangle(cr, -1, -1, 3, 3);
    cairo_save(cr);
    cairo_translate(cr, lx * R, ly * R);
    sx_path_part(cr, p);
    cairo_restore(cr);
    cairo_clip(cr);
    cairo_set_fill_rule(cr, CAIRO_FILL_RULE_WINDING);
}

static void stipple(cairo_t *cr, sbir_rng *r, float density, float dot) {
    double x0, y0, x1, y1;
    cairo_clip_extents(cr, &x0, &y0, &x1, &y1);
    int n = (int)((x1 - x0) * (y1 - y0) / (dot * dot) * density * 0.5f);
    if (n > 3000) n = 3000;
    for (int i = 0; i < n; i++) {
        float x = rng_range(r, (float)x0, (float)x1), y = rng_range(r, (float)y0, (float)y1);
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, dot * 0.5f, 0, 6.2831853);
    }
    cairo_fill(cr);
}

void media_pen_ink(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r) {
    sx_hsv hp[SL_N];
    sx_palette_base(r, hp);
    float px = (float)SX_PX;
    float u = rng_uniform(r);
    sx_rgb ink = u < 0.75f ? (sx_rgb){0.03f, 0.03f, 0.04f}
                 : u < 0.88f ? (sx_rgb){0.22f, 0.12f, 0.06f}
                             : (sx_rgb){0.06f, 0.08f, 0.22f};
    sx_rgb paper = rng_uniform(r) < 0.6f ? (sx_rgb){1, 1, 1}
                                         : (sx_rgb){rng_range(r, 0.96f, 1.0f), rng_range(r, 0.93f, 0.98f),
                                                    rng_range(r, 0.84f, 0.93f)};
    float ha = rng_range(r, 0.5f, 1.1f) * (rng_uniform(r) < 0.5f ? 1 : -1);
    float sp0 = rng_range(r, 2.2f, 3.0f) * px, lw = rng_range(r, 0.55f, 0.8f) * px;
    float cw = rng_range(r, 1.1f, 1.7f) * px;
    int stip = rng_uniform(r) < 0.2f;
    float lx = sc->light_x, ly = sc->light_y;
    cairo_t *cr = sx_cairo(s);
    sx_set(cr, paper);
    cairo_paint(cr);
    for (int i = 0; i < sc->n_parts; i++) {
        const sx_part *p = &sc->part[i];
        float tone = 1 - hp[p->slot].v * (1 - 0.3f * hp[p->slot].s); /* 0 white .. 1 black */
        if (p->shade < 0) tone = fminf(1, tone - p->shade * 0.5f);
        float R = fmaxf(p->rx, p->ry);
        sx_set(cr, ink);
        if (p->bg && p->slot == SL_BG3 && R > 0.15f) continue; /* a decorative disc: not in a drawing */
        if (p->bg) {
            /* the backdrop, suggested: horizon and contours, a little hatching */
            if (p->slot == SL_GROUND) {
                float y = sc->horizon;
                float seg[8] = {-0.05f, y, 0.35f, y + rng_range(r, -0.01f, 0.01f), 0.7f, y + rng_range(r, -0.01f, 0.01f),
                                1.05f, y};
                sx_scene tmp;
                sx_init(&tmp);
                sx_part *h = sx_path(&tmp, SP_LINE, seg, 4, 1, cw * 0.7f, SL_GROUND, 0);
                sx_path_wobble(cr, h, r, 0.6f * px);
                cairo_set_line_width(cr, cw * 0.7f);
                cairo_stroke(cr);
                int n = 3 + (int)rng_below(r, 6);
                cairo_set_line_width(cr, lw);
                for (int k = 0; k < n; k++) {
                    float gx = rng_range(r, 0, 1), gy = rng_range(r, y + 0.03f, 0.98f), gl = rng_range(r, 0.03f, 0.12f);
                    cairo_move_to(cr, gx, gy);
                    cairo_line_to(cr, gx + gl, gy + rng_range(r, -0.005f, 0.005f));
                }
                cairo_stroke(cr);
            } else {
                /* only what rises above the horizon shows: the ground is not filled in ink */
                cairo_save(cr);
                if (sc->horizon >= 0) {
                    cairo_rectangle(cr, -1, -1, 3, sc->horizon + 1);
                    cairo_clip(cr);
                }
                sx_path_wobble(cr, p, r, 0.7f * px);
                cairo_set_line_width(cr, lw * 1.2f);
                cairo_stroke(cr);
                if (rng_uniform(r) < 0.4f) {
                    sx_path_part(cr, p);
                    cairo_clip(cr);
                    sx_hatch(cr, ha, sp0 * 1.8f, lw * 0.8f, r, 0.4f * px);
                }
                cairo_restore(cr);
            }
            continue;
        }
        if (p->kind == SP_LINE) {
            sx_path_wobble(cr, p, r, 0.3f * px);
            cairo_set_line_width(cr, fmaxf(p->width * 0.8f, 0.8f * px));
            cairo_stroke(cr);
            continue;
        }
        if (p->kind == SP_TUBE) {
            float w = fmaxf(p->width, 1.2f * px);
            if (tone > 0.7f || w < 3 * px) {
                sx_path_wobble(cr, p, r, 0.3f * px);
                cairo_set_line_width(cr, w);
                cairo_stroke(cr);
            } else { /* an outlined tube, hatched if mid-toned */
                sx_path_part(cr, p);
                cairo_set_line_width(cr, w + 2 * lw * 1.4f);
                cairo_stroke(cr);
                sx_set(cr, paper);
                sx_path_part(cr, p);
                cairo_set_line_width(cr, w);
                cairo_stroke(cr);
                if (tone > 0.35f) { /* a shading line inside the tube, on the side away from the light */
                    cairo_save(cr);
                    cairo_translate(cr, -lx * w * 0.22f, -ly * w * 0.22f);
                    sx_set(cr, ink);
                    sx_path_part(cr, p);
                    cairo_set_line_width(cr, fminf(lw * 1.3f, w * 0.3f));
                    cairo_stroke(cr);
                    cairo_restore(cr);
                }
            }
            continue;
        }
        /* filled part: paper (hides what is behind), then tone from lines, then the contour */
        sx_set(cr, paper);
        sx_path_part(cr, p);
        cairo_fill(cr);
        sx_set(cr, ink);
        if (tone > 0.82f && R < 0.05f) {
            sx_path_part(cr, p);
            cairo_fill(cr);
            continue;
        }
        if (tone > 0.15f && R > 2.5f * px) {
            cairo_save(cr);
            clip_shadow_side(cr, p, lx, ly);
            if (stip) stipple(cr, r, 0.25f + 0.4f * tone, 0.9f * px);
            else sx_hatch(cr, ha, sp0 * (1.5f - 0.6f * tone), lw, r, 0.4f * px);
            cairo_restore(cr);
        }
        if (tone > 0.45f) {
            cairo_save(cr);
            sx_path_part(cr, p);
            cairo_clip(cr);
            if (stip) stipple(cr, r, 0.3f * tone, 0.9f * px);
            else sx_hatch(cr, ha, sp0 * (2.3f - 1.2f * tone), lw, r, 0.4f * px);
            if (tone > 0.68f && !stip) sx_hatch(cr, ha + rng_range(r, 1.0f, 1.57f), sp0 * (2.2f - tone), lw, r, 0.4f * px);
            cairo_restore(cr);
        }
        sx_path_wobble(cr, p, r, 0.45f * px);
        cairo_set_line_width(cr, R < 0.04f ? cw * 0.65f : cw);
        cairo_stroke(cr);
    }
    cairo_destroy(cr);
}
