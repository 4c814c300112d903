/* media_graphite.c — graphite pencil: grey only. Soft smudged tonal shading (blurred), layers of thin
 * diagonal pencil hatching whose density follows each colour's value and the light, sketchy contours
 * drawn in two or three slightly different passes, all broken up by the paper's tooth (graphite only
 * catches the raised grain) on an off-white, textured sheet. */
#include <math.h>

#include "data/synth/synth_internal.h"
#include "util/common.h"

static float tone_of(const sx_hsv *hp, const sx_part *p) {
    float t = 1 - hp[p->slot].v * (1 - 0.25f * hp[p->slot].s);
    if (p->shade < 0) t = fminf(1, t - p->shade * 0.4f);
    return t;
}

/* Graphite deposits only where the paper's tooth lets it: darkness is modulated by grain, then the
 * sheet's colour is applied. */
static void tooth(cairo_surface_t *s, uint32_t seed, sx_rgb paper, float grain) {
    cairo_surface_flush(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int st = cairo_image_surface_get_stride(s) / 4;
    uint32_t *px = (uint32_t *)cairo_image_surface_get_data(s);
    float k = 128.0f / (float)w;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint32_t v = px[y * st + x];
            float L = (0.3f * ((v >> 16) & 255) + 0.59f * ((v >> 8) & 255) + 0.11f * (v & 255)) / 255.0f;
            float d = 1 - L;
            float g = sx_noise(x * k * 0.9f, y * k * 0.9f, seed) * 0.6f + sx_noise(x * k * 0.35f, y * k * 0.35f, seed + 3) * 0.4f;
            d *= 1 - grain + 2 * grain * g;
            float fibre = 1 + 0.03f * (sx_noise(x * k * 0.15f, y * k * 1.2f, seed + 9) - 0.5f);
            /* graphite is a slightly cool, shiny grey */
            float rr = paper.r * (1 - d * 0.98f), gg = paper.g * (1 - d * 0.97f), bb = paper.b * (1 - d * 0.94f);
            int R = SBIR_MIN(SBIR_MAX((int)(rr * fibre * 255), 0), 255), G = SBIR_MIN(SBIR_MAX((int)(gg * fibre * 255), 0), 255),
                B = SBIR_MIN(SBIR_MAX((int)(bb * fibre * 255), 0), 255);
            px[y * st + x] = (uint32_t)R << 16 | (uint32_t)G << 8 | (uint32_t)B;
        }
    cairo_surface_mark_dirty(s);
}

/* A soft, smudged tone over the part: darker away from the light, its edge smeared outward. */
static void smudge(cairo_t *cr, const sx_part *p, float t, float lx, float ly, float a) {
    float R = fmaxf(p->rx, p->ry);
    cairo_pattern_t *g = cairo_pattern_create_linear(p->cx + lx * R, p->cy + ly * R, p->cx - lx * R, p->cy - ly * R);
    cairo_pattern_add_color_stop_rgba(g, 0, 0, 0, 0, a * t * 0.25f);
    cairo_pattern_add_color_stop_rgba(g, 1, 0, 0, 0, fminf(1, a * t * 1.4f));
    cairo_set_source(cr, g);
    sx_path_part(cr, p);
    cairo_fill_preserve(cr);
    cairo_set_line_width(cr, 3.5f * (float)SX_PX);
    cairo_stroke(cr);
    cairo_pattern_destroy(g);
}

void media_graphite(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r) {
    sx_hsv hp[SL_N];
    sx_palette_base(r, hp);
    float px = (float)SX_PX;
    sx_rgb lead = {0.0f, 0.0f, 0.0f}, white = {1, 1, 1};
    float w = rng_range(r, 0.88f, 0.97f), tint = rng_range(r, -0.02f, 0.03f);
    sx_rgb paper = {w + tint, w + tint * 0.5f, w - tint};
    float ha = rng_range(r, 0.75f, 1.15f) * (rng_uniform(r) < 0.8f ? 1 : -1); /* right-handed diagonals */
    float lx = sc->light_x, ly = sc->light_y;
    float press = rng_range(r, 0.7f, 1.1f); /* a heavy or light hand */
    float sp0 = rng_range(r, 1.6f, 2.4f) * px, lw = rng_range(r, 0.5f, 0.75f) * px;
    int hatch_bg = rng_uniform(r) < 0.5f;
    cairo_t *cr = sx_cairo(s);
    sx_set(cr, white);
    cairo_paint(cr);
    /* Parts in depth order, each first covering what is behind it with blank paper, so a drawing
     * shows only visible contours. */
    int shadow_done = 0;
    for (int i = 0; i < sc->n_parts; i++) {
        const sx_part *p = &sc->part[i];
        float t = tone_of(hp, p), R = fmaxf(p->rx, p->ry);
        if (!p->bg && !shadow_done) {
            shadow_done = 1;
            if (sc->ground_y >= 0) { /* soft cast shadow under the object */
                float cx = (sc->bx0 + sc->bx1) / 2, hw = (sc->bx1 - sc->bx0) * 0.55f;
                cairo_save(cr);
                cairo_translate(cr, cx, sc->ground_y);
                cairo_scale(cr, hw, hw * 0.14f);
                cairo_pattern_t *g = cairo_pattern_create_radial(0, 0, 0, 0, 0, 1);
                cairo_pattern_add_color_stop_rgba(g, 0, 0, 0, 0, 0.35f * press);
                cairo_pattern_add_color_stop_rgba(g, 1, 0, 0, 0, 0);
                cairo_set_source(cr, g);
                cairo_arc(cr, 0, 0, 1, 0, 6.2831853);
                cairo_fill(cr);
                cairo_pattern_destroy(g);
                cairo_restore(cr);
            }
        }
        if (p->bg && p->slot == SL_BG3 && R > 0.15f) continue; /* a decorative disc: not in a drawing */
        if (p->bg) {
            if (p->slot == SL_GROUND) {
                sx_set(cr, white);
                sx_path_part(cr, p);
                cairo_fill(cr);
                sx_set_a(cr, lead, 0.45f * press);
                cairo_set_line_width(cr, 0.8f * px);
                cairo_move_to(cr, 0, sc->horizon + rng_range(r, -0.01f, 0.01f));
                cairo_line_to(cr, 1, sc->horizon + rng_range(r, -0.01f, 0.01f));
                cairo_stroke(cr);
            }
            if (hatch_bg) {
                cairo_save(cr);
                sx_path_part(cr, p);
                cairo_clip(cr);
                sx_set_a(cr, lead, 0.25f * press);
                sx_hatch(cr, p->slot == SL_GROUND ? 0.05f : ha, sp0 * 1.6f, lw, r, 0.5f * px);
                cairo_restore(cr);
            }
            if (p->slot != SL_GROUND) {
                sx_set_a(cr, lead, 0.35f * press);
                sx_path_wobble(cr, p, r, 0.8f * px);
                cairo_set_line_width(cr, 0.7f * px);
                cairo_stroke(cr);
            }
            continue;
        }
        if (p->kind == SP_LINE) {
            sx_set_a(cr, lead, 0.75f * press);
            sx_path_wobble(cr, p, r, 0.4f * px);
            cairo_set_line_width(cr, fmaxf(p->width * 0.7f, 0.7f * px));
            cairo_stroke(cr);
            continue;
        }
        if (p->kind == SP_TUBE) {
            float tw = fmaxf(p->width, 0.8f * px);
            sx_set(cr, white);
            sx_path_part(cr, p);
            cairo_set_line_width(cr, tw);
            cairo_stroke(cr);
            int passes = 2 + (int)rng_below(r, 2);
            for (int k = 0; k < passes; k++) {
                sx_set_a(cr, lead, (0.2f + 0.3f * t) * press);
                sx_path_wobble(cr, p, r, rng_range(r, 0.3f, 0.8f) * px);
                cairo_set_line_width(cr, tw * rng_range(r, 0.8f, 1.0f));
                cairo_stroke(cr);
            }
            continue;
        }
        sx_set(cr, white);
        sx_path_part(cr, p);
        cairo_fill(cr);
        if (p->slot == SL_DARK && R < 0.05f) {
            sx_set_a(cr, lead, 0.85f * press);
            sx_path_part(cr, p);
            cairo_fill(cr);
        } else {
            smudge(cr, p, t, lx, ly, 0.5f * press);
            cairo_save(cr);
            sx_path_part(cr, p);
            cairo_clip(cr);
            if (t > 0.2f) {
                sx_set_a(cr, lead, fminf(0.85f, (0.12f + 0.4f * t) * press));
                sx_hatch(cr, ha + rng_range(r, -0.15f, 0.15f), sp0 * (2.2f - 1.2f * t), lw, r, 0.6f * px);
            }
            if (t > 0.6f) {
                sx_set_a(cr, lead, 0.3f * t * press);
                sx_hatch(cr, ha - rng_range(r, 0.5f, 0.9f), sp0 * (2.6f - 1.4f * t), lw, r, 0.6f * px);
            }
            cairo_restore(cr);
        }
        /* sketchy contour: two or three light passes, each a little off */
        int passes = 2 + (int)rng_below(r, 2);
        for (int k = 0; k < passes; k++) {
            sx_set_a(cr, lead, (0.3f + 0.25f * t) * press);
            sx_path_wobble(cr, p, r, rng_range(r, 0.4f, 1.1f) * px);
            cairo_set_line_width(cr, rng_range(r, 0.6f, 1.0f) * px);
            cairo_stroke(cr);
        }
    }
    cairo_destroy(cr);
    tooth(s, (uint32_t)rng_next(r), paper, rng_range(r, 0.3f, 0.45f));
}
