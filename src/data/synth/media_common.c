/* media_common.c — what all media share: the colour intent of an image, colour helpers, part paths
 * (exact or hand-wobbled), hatching, value noise, and pixel operations (blur, grain). */
#include <math.h>
#include <string.h>

#include "data/synth/synth_internal.h"
#include "util/common.h"

float sx_clamp01(float v) { return v < 0 ? 0 : v > 1 ? 1 : v; }

sx_rgb sx_hsv2rgb(sx_hsv c) {
    float h = c.h - floorf(c.h), s = sx_clamp01(c.s), v = sx_clamp01(c.v);
    float f = h * 6;
    int i = (int)f % 6;
    f -= floorf(f);
    float p = v * (1 - s), q = v * (1 - s * f), t = v * (1 - s * (1 - f));
    switch (i) {
    case 0: return (sx_rgb){v, t, p};
    case 1: return (sx_rgb){q, v, p};
    case 2: return (sx_rgb){p, v, t};
    case 3: return (sx_rgb){p, q, v};
    case 4: return (sx_rgb){t, p, v};
    default: return (sx_rgb){v, p, q};
    }
}

sx_rgb sx_mix(sx_rgb a, sx_rgb b, float t) {
    return (sx_rgb){a.r + (b.r - a.r) * t, a.g + (b.g - a.g) * t, a.b + (b.b - a.b) * t};
}

sx_rgb sx_scale_rgb(sx_rgb a, float k) {
    return (sx_rgb){sx_clamp01(a.r * k), sx_clamp01(a.g * k), sx_clamp01(a.b * k)};
}

float sx_luma(sx_rgb c) { return 0.299f * c.r + 0.587f * c.g + 0.114f * c.b; }

sx_rgb sx_part_rgb(const sx_rgb *pal, const sx_part *p) {
    sx_rgb c = pal[p->slot];
    if (p->shade < 0) return sx_scale_rgb(c, 1 + p->shade * 0.6f);
    return sx_mix(c, (sx_rgb){1, 1, 1}, p->shade * 0.6f);
}

void sx_set(cairo_t *cr, sx_rgb c) { cairo_set_source_rgb(cr, sx_clamp01(c.r), sx_clamp01(c.g), sx_clamp01(c.b)); }
void sx_set_a(cairo_t *cr, sx_rgb c, float a) {
    cairo_set_source_rgba(cr, sx_clamp01(c.r), sx_clamp01(c.g), sx_clamp01(c.b), a);
}

/* An object colour: half the time natural (browns, greys, black, white, orange), half any hue. The
 * distribution is the same for every class, so colour cannot tell a cat from a car. */
static sx_hsv object_colour(sbir_rng *r) {
    float u = rng_uniform(r);
    if (u < 0.3f) return (sx_hsv){rng_range(r, 0.02f, 0.12f), rng_range(r, 0.25f, 0.75f), rng_range(r, 0.3f, 0.9f)};
    if (u < 0.5f) return (sx_hsv){rng_uniform(r), rng_range(r, 0.0f, 0.1f), rng_range(r, 0.12f, 0.95f)};
    return (sx_hsv){rng_uniform(r), rng_range(r, 0.4f, 0.9f), rng_range(r, 0.4f, 0.95f)};
}

void sx_palette_base(sbir_rng *r, sx_hsv pal[SL_N]) {
    pal[SL_BODY] = object_colour(r);
    if (rng_uniform(r) < 0.45f) {
        pal[SL_BODY2] = pal[SL_BODY];
        pal[SL_BODY2].v = sx_clamp01(pal[SL_BODY].v + (pal[SL_BODY].v > 0.5f ? -1 : 1) * rng_range(r, 0.15f, 0.35f));
    } else {
        pal[SL_BODY2] = object_colour(r);
    }
    pal[SL_ACCENT] = (sx_hsv){rng_uniform(r), rng_range(r, 0.5f, 0.95f), rng_range(r, 0.6f, 1.0f)};
    pal[SL_DARK] = (sx_hsv){rng_uniform(r), rng_range(r, 0.0f, 0.3f), rng_range(r, 0.05f, 0.2f)};
    pal[SL_LIGHT] = (sx_hsv){rng_uniform(r), rng_range(r, 0.0f, 0.25f), rng_range(r, 0.85f, 1.0f)};
    pal[SL_PROP] = object_colour(r);
    pal[SL_SKY] = (sx_hsv){rng_uniform(r), rng_range(r, 0.05f, 0.5f), rng_range(r, 0.55f, 1.0f)};
    pal[SL_GROUND] = (sx_hsv){rng_uniform(r), rng_range(r, 0.15f, 0.6f), rng_range(r, 0.3f, 0.85f)};
    pal[SL_BG2] = rng_uniform(r) < 0.5f ? (sx_hsv){pal[SL_SKY].h, pal[SL_SKY].s * 0.6f, sx_clamp01(pal[SL_SKY].v + 0.2f)}
                                          : (sx_hsv){rng_uniform(r), rng_range(r, 0.1f, 0.6f), rng_range(r, 0.4f, 0.95f)};
    pal[SL_BG3] = (sx_hsv){rng_uniform(r), rng_range(r, 0.3f, 0.9f), rng_range(r, 0.75f, 1.0f)};
    /* keep the object readable against its backdrop: push the body's value away from the sky's */
    for (int i = SL_BODY; i <= SL_BODY2; i++) {
        float d = pal[i].v - pal[SL_SKY].v;
        if (fabsf(d) < 0.25f && fabsf(pal[i].h - pal[SL_SKY].h) < 0.12f)
            pal[i].v = sx_clamp01(pal[SL_SKY].v + (d >= 0 && pal[SL_SKY].v < 0.7f ? 0.3f : -0.35f));
    }
}

cairo_t *sx_cairo(cairo_surface_t *s) {
    cairo_t *cr = cairo_create(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    cairo_scale(cr, w, h);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    return cr;
}

void sx_path_part(cairo_t *cr, const sx_part *p) {
    if (p->n <= 0) return;
    cairo_move_to(cr, p->pt[0], p->pt[1]);
    for (int i = 1; i + 2 < p->n; i += 3)
        cairo_curve_to(cr, p->pt[2 * i], p->pt[2 * i + 1], p->pt[2 * i + 2], p->pt[2 * i + 3], p->pt[2 * i + 4],
                       p->pt[2 * i + 5]);
    if (p->closed) cairo_close_path(cr);
}

void sx_path_wobble(cairo_t *cr, const sx_part *p, sbir_rng *r, float amp) {
    float x[SX_MAX_FLAT], y[SX_MAX_FLAT];
    int n = sx_flatten(p, x, y);
    if (n < 2) return;
    /* Whole numbers of periods along the path keep closed outlines closed. */
    float k1 = (float)(1 + rng_below(r, 3)), k2 = (float)(3 + rng_below(r, 4));
    float p1 = rng_range(r, 0, 6.283f), p2 = rng_range(r, 0, 6.283f), p3 = rng_range(r, 0, 6.283f),
          p4 = rng_range(r, 0, 6.283f);
    for (int i = 0; i < n; i++) {
        float t = 6.2831853f * i / (n - 1);
        float dx = amp * (0.65f * sinf(k1 * t + p1) + 0.35f * sinf(k2 * t + p2));
        float dy = amp * (0.65f * sinf(k1 * t + p3) + 0.35f * sinf(k2 * t + p4));
        if (i == 0) cairo_move_to(cr, x[i] + dx, y[i] + dy);
        else cairo_line_to(cr, x[i] + dx, y[i] + dy);
    }
    if (p->closed) cairo_close_path(cr);
}

void sx_draw_flat(cairo_t *cr, const sx_part *p, sx_rgb c, float alpha) {
    sx_set_a(cr, c, alpha);
    sx_path_part(cr, p);
    if (p->kind == SP_FILL) {
        cairo_fill(cr);
    } else {
        cairo_set_line_width(cr, SBIR_MAX(p->width, (float)SX_PX * 0.9f));
        cairo_stroke(cr);
    }
}

void sx_hatch(cairo_t *cr, float ang, float sp, float width, sbir_rng *r, float wobble) {
    double x0, y0, x1, y1;
    cairo_clip_extents(cr, &x0, &y0, &x1, &y1);
    if (x1 <= x0 || y1 <= y0 || sp <= 0) return;
    float cx = (float)(x0 + x1) / 2, cy = (float)(y0 + y1) / 2;
    float R = (float)hypot(x1 - x0, y1 - y0) / 2 + sp;
    float ca = cosf(ang), sa = sinf(ang);
    cairo_set_line_width(cr, width);
    for (float o = -R + rng_range(r, 0, sp); o <= R; o += sp * rng_range(r, 0.85f, 1.15f)) {
        /* a line along direction (ca, sa) at offset o across it, bowed slightly like a hand stroke */
        float bx = cx - sa * o, by = cy + ca * o, bow = rng_range(r, -wobble, wobble);
        cairo_move_to(cr, bx - ca * R, by - sa * R);
        cairo_curve_to(cr, bx - ca * R / 3 - sa * bow, by - sa * R / 3 + ca * bow, bx + ca * R / 3 - sa * bow,
                       by + sa * R / 3 + ca * bow, bx + ca * R, by + sa * R);
    }
    cairo_stroke(cr);
}

/* ---- noise ---- */

static float lattice(int x, int y, uint32_t seed) {
    uint32_t h = (uint32_t)x * 0x8da6b343u ^ (uint32_t)y * 0xd8163841u ^ seed * 0xcb1ab31fu;
    h ^= h >> 13;
    h *= 0x5bd1e995u;
    h ^= h >> 15;
    return (float)(h & 0xffffff) / 16777215.0f;
}

float sx_noise(float x, float y, uint32_t seed) {
    float fx = floorf(x), fy = floorf(y);
    int ix = (int)fx, iy = (int)fy;
    float tx = x - fx, ty = y - fy;
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    float a = lattice(ix, iy, seed), b = lattice(ix + 1, iy, seed), c = lattice(ix, iy + 1, seed),
          d = lattice(ix + 1, iy + 1, seed);
    return (a + (b - a) * tx) + ((c + (d - c) * tx) - (a + (b - a) * tx)) * ty;
}

float sx_fbm(float x, float y, uint32_t seed, int octaves) {
    float sum = 0, amp = 0.5f, norm = 0;
    for (int o = 0; o < octaves; o++) {
        sum += amp * sx_noise(x, y, seed + 101u * (uint32_t)o);
        norm += amp;
        x *= 2.03f;
        y *= 2.03f;
        amp *= 0.5f;
    }
    return sum / norm;
}

/* ---- pixels ---- */

void sx_blur(cairo_surface_t *s, int radius) {
    if (radius <= 0) return;
    cairo_surface_flush(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s) / 4;
    uint32_t *px = (uint32_t *)cairo_image_surface_get_data(s);
    int n = w > h ? w : h;
    uint32_t *line = mallocCheck(sizeof(uint32_t) * (size_t)n);
    /* box blur, horizontal then vertical, edges clamped */
    for (int pass = 0; pass < 2; pass++) {
        int len = pass ? h : w, count = pass ? w : h;
        for (int j = 0; j < count; j++) {
            for (int i = 0; i < len; i++) line[i] = pass ? px[i * stride + j] : px[j * stride + i];
            int sr = 0, sg = 0, sb = 0;
            for (int k = -radius; k <= radius; k++) {
                uint32_t v = line[SBIR_MIN(SBIR_MAX(k, 0), len - 1)];
                sr += (v >> 16) & 255, sg += (v >> 8) & 255, sb += v & 255;
            }
            int d = 2 * radius + 1;
            for (int i = 0; i < len; i++) {
                uint32_t out = (uint32_t)(sr / d) << 16 | (uint32_t)(sg / d) << 8 | (uint32_t)(sb / d);
                if (pass) px[i * stride + j] = out;
                else px[j * stride + i] = out;
                uint32_t a = line[SBIR_MIN(i + radius + 1, len - 1)], b = line[SBIR_MAX(i - radius, 0)];
                sr += (int)((a >> 16) & 255) - (int)((b >> 16) & 255);
                sg += (int)((a >> 8) & 255) - (int)((b >> 8) & 255);
                sb += (int)(a & 255) - (int)(b & 255);
            }
        }
    }
    free(line);
    cairo_surface_mark_dirty(s);
}

void sx_grain(cairo_surface_t *s, uint32_t seed, float scale, float amp) {
    cairo_surface_flush(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    int stride = cairo_image_surface_get_stride(s) / 4;
    uint32_t *px = (uint32_t *)cairo_image_surface_get_data(s);
    float k = scale / (float)w; /* noise features per image width, independent of the size */
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            float f = 1 + amp * (2 * sx_fbm(x * k, y * k, seed, 3) - 1);
            uint32_t v = px[y * stride + x];
            int r = (int)(((v >> 16) & 255) * f), g = (int)(((v >> 8) & 255) * f), b = (int)((v & 255) * f);
            r = SBIR_MIN(SBIR_MAX(r, 0), 255), g = SBIR_MIN(SBIR_MAX(g, 0), 255), b = SBIR_MIN(SBIR_MAX(b, 0), 255);
            px[y * stride + x] = (uint32_t)r << 16 | (uint32_t)g << 8 | (uint32_t)b;
        }
    cairo_surface_mark_dirty(s);
}
