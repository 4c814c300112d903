/* media_3d.c — 3D graphics: every shape smoothly shaded as a lit solid (elliptical radial gradients
 * with the bright side toward the light, dark falloff at the rims), specular highlights, cylindrical
 * shading on tubes, a soft blurred drop shadow and contact shadow, studio gradient backdrops. */
#include <math.h>
#include <string.h>

#include "data/synth/synth_internal.h"
#include "util/common.h"

/* Sets a radial gradient in the part's own ellipse: highlight at the light side, base, dark rim. */
static void solid_source(cairo_t *cr, const sx_part *p, sx_rgb c, float lx, float ly, float gloss) {
    float rx = fmaxf(p->rx, 1e-4f), ry = fmaxf(p->ry, 1e-4f);
    cairo_pattern_t *g = cairo_pattern_create_radial(lx * 0.45, ly * 0.45, 0, 0, 0, 1.2);
    sx_rgb hi = sx_mix(c, (sx_rgb){1, 1, 1}, 0.25f + 0.25f * gloss), lo = sx_scale_rgb(c, 0.42f);
    cairo_pattern_add_color_stop_rgb(g, 0, hi.r, hi.g, hi.b);
    cairo_pattern_add_color_stop_rgb(g, 0.5, c.r, c.g, c.b);
    cairo_pattern_add_color_stop_rgb(g, 1, lo.r, lo.g, lo.b);
    cairo_matrix_t m;
    cairo_matrix_init_scale(&m, 1 / rx, 1 / ry);
    cairo_matrix_translate(&m, -p->cx, -p->cy);
    cairo_pattern_set_matrix(g, &m);
    cairo_set_source(cr, g);
    cairo_pattern_destroy(g);
}

static void specular(cairo_t *cr, const sx_part *p, float lx, float ly, float strength) {
    float R = fminf(p->rx, p->ry) * 0.3f;
    if (R < 0.8f * SX_PX) return;
    float x = p->cx + lx * p->rx * 0.5f, y = p->cy + ly * p->ry * 0.5f;
    cairo_pattern_t *g = cairo_pattern_create_radial(x, y, 0, x, y, R);
    cairo_pattern_add_color_stop_rgba(g, 0, 1, 1, 1, strength);
    cairo_pattern_add_color_stop_rgba(g, 1, 1, 1, 1, 0);
    cairo_set_source(cr, g);
    cairo_arc(cr, x, y, R, 0, 6.2831853);
    cairo_fill(cr);
    cairo_pattern_destroy(g);
}

static void draw_silhouette(cairo_t *cr, const sx_scene *sc) {
    for (int i = 0; i < sc->n_parts; i++) {
        const sx_part *p = &sc->part[i];
        if (p->bg) continue;
        sx_draw_flat(cr, p, (sx_rgb){1, 1, 1}, 1);
    }
}

/* A blurred shadow of the object: silhouette offset away from the light plus a contact ellipse. */
static void drop_shadow(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r) {
    int size = cairo_image_surface_get_width(s);
    cairo_surface_t *m = cairo_image_surface_create(CAIRO_FORMAT_RGB24, size, size);
    cairo_t *cr = sx_cairo(m);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_paint(cr);
    float off = rng_range(r, 0.015f, 0.04f);
    cairo_save(cr);
    if (sc->ground_y >= 0) { /* cast onto the floor: sheared and flattened about the ground line */
        cairo_matrix_t mt;
        cairo_matrix_init(&mt, 1, 0, -sc->light_x * 0.6, 0.35, 0, 0);
        cairo_translate(cr, -off * sc->light_x, sc->ground_y);
        cairo_transform(cr, &mt);
        cairo_translate(cr, 0, -sc->ground_y);
    } else {
        cairo_translate(cr, -sc->light_x * off * 2, -sc->light_y * off * 2);
    }
    draw_silhouette(cr, sc);
    cairo_restore(cr);
    if (sc->ground_y >= 0) {
        float w = (sc->bx1 - sc->bx0) * 0.5f;
        cairo_save(cr);
        cairo_translate(cr, (sc->bx0 + sc->bx1) / 2, sc->ground_y);
        cairo_scale(cr, w, w * 0.1f);
        cairo_arc(cr, 0, 0, 1, 0, 6.2831853);
        cairo_restore(cr);
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_fill(cr);
    }
    cairo_destroy(cr);
    int rad = SBIR_MAX(1, size / 48);
    sx_blur(m, rad);
    sx_blur(m, rad);
    cairo_surface_flush(s);
    uint32_t *dst = (uint32_t *)cairo_image_surface_get_data(s), *src = (uint32_t *)cairo_image_surface_get_data(m);
    int ds = cairo_image_surface_get_stride(s) / 4, ms = cairo_image_surface_get_stride(m) / 4;
    float strength = rng_range(r, 0.35f, 0.55f);
    for (int y = 0; y < size; y++)
        for (int x = 0; x < size; x++) {
            float a = (float)(src[y * ms + x] & 255) / 255.0f * strength;
            uint32_t v = dst[y * ds + x];
            float k = 1 - a;
            dst[y * ds + x] = (uint32_t)(((v >> 16) & 255) * k) << 16 | (uint32_t)(((v >> 8) & 255) * k) << 8 |
                              (uint32_t)((v & 255) * k);
        }
    cairo_surface_mark_dirty(s);
    cairo_surface_destroy(m);
}

void media_3d(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r) {
    sx_hsv hp[SL_N];
    sx_palette_base(r, hp);
    sx_rgb pal[SL_N];
    for (int i = 0; i < SL_N; i++) {
        sx_hsv c = hp[i];
        if (i != SL_DARK && i != SL_LIGHT) { /* saturated plastic / paint */
            c.s = c.s < 0.1f ? c.s : 0.45f + 0.5f * c.s;
            c.v = 0.5f + 0.45f * c.v;
        }
        pal[i] = sx_hsv2rgb(c);
    }
    float lx = sc->light_x, ly = sc->light_y;
    cairo_t *cr = sx_cairo(s);
    /* studio backdrop: vertical gradient or a radial vignette */
    sx_rgb top = sx_mix(pal[SL_SKY], (sx_rgb){1, 1, 1}, rng_range(r, 0.0f, 0.4f));
    sx_rgb bot = sx_scale_rgb(pal[SL_SKY], rng_range(r, 0.45f, 0.8f));
    cairo_pattern_t *g;
    if (rng_uniform(r) < 0.55f) {
        g = cairo_pattern_create_linear(0, 0, 0, 1);
    } else {
        float cx = rng_range(r, 0.35f, 0.65f), cy = rng_range(r, 0.3f, 0.5f);
        g = cairo_pattern_create_radial(cx, cy, 0.05, cx, cy, rng_range(r, 0.6f, 0.9f));
    }
    cairo_pattern_add_color_stop_rgb(g, 0, top.r, top.g, top.b);
    cairo_pattern_add_color_stop_rgb(g, 1, bot.r, bot.g, bot.b);
    cairo_set_source(cr, g);
    cairo_paint(cr);
    cairo_pattern_destroy(g);
    int shadow_done = 0;
    float gloss = rng_range(r, 0.3f, 1.0f);
    for (int i = 0; i < sc->n_parts; i++) {
        const sx_part *p = &sc->part[i];
        if (!p->bg && !shadow_done) {
            shadow_done = 1;
            cairo_destroy(cr);
            drop_shadow(s, sc, r);
            cr = sx_cairo(s);
        }
        sx_rgb c = sx_part_rgb(pal, p);
        if (p->bg && p->slot == SL_GROUND) { /* floor: lighter far away, darker near */
            float hz = sc->horizon;
            cairo_pattern_t *fg = cairo_pattern_create_linear(0, hz, 0, 1);
            sx_rgb far = sx_mix(c, top, 0.5f), near = sx_scale_rgb(c, 0.7f);
            cairo_pattern_add_color_stop_rgb(fg, 0, far.r, far.g, far.b);
            cairo_pattern_add_color_stop_rgb(fg, 1, near.r, near.g, near.b);
            cairo_set_source(cr, fg);
            sx_path_part(cr, p);
            cairo_fill(cr);
            cairo_pattern_destroy(fg);
            continue;
        }
        if (p->kind == SP_LINE) {
            sx_set_a(cr, sx_scale_rgb(pal[SL_DARK], 1.0f), 0.85f);
            sx_path_part(cr, p);
            cairo_set_line_width(cr, fmaxf(p->width, 0.9f * (float)SX_PX));
            cairo_stroke(cr);
            continue;
        }
        if (p->kind == SP_TUBE) { /* a cylinder: dark body, lit band offset toward the light, thin glint */
            float w = fmaxf(p->width, 1.2f * (float)SX_PX);
            sx_set(cr, sx_scale_rgb(c, 0.5f));
            sx_path_part(cr, p);
            cairo_set_line_width(cr, w);
            cairo_stroke(cr);
            cairo_save(cr);
            cairo_translate(cr, lx * w * 0.15f, ly * w * 0.15f);
            sx_set(cr, c);
            sx_path_part(cr, p);
            cairo_set_line_width(cr, w * 0.6f);
            cairo_stroke(cr);
            cairo_translate(cr, lx * w * 0.12f, ly * w * 0.12f);
            sx_set_a(cr, (sx_rgb){1, 1, 1}, 0.35f + 0.4f * gloss);
            sx_path_part(cr, p);
            cairo_set_line_width(cr, w * 0.16f);
            cairo_stroke(cr);
            cairo_restore(cr);
            continue;
        }
        solid_source(cr, p, c, lx, ly, gloss);
        sx_path_part(cr, p);
        cairo_fill(cr);
        if (!p->bg || p->slot == SL_BG3) specular(cr, p, lx, ly, 0.45f + 0.5f * gloss);
    }
    cairo_destroy(cr);
    if (!shadow_done) drop_shadow(s, sc, r);
}
