/* raster.c — the cairo rasteriser for strokes and bitmaps, and the PNG writer.
 *
 * We draw into a CAIRO_FORMAT_A8 surface (coverage only: 1 byte per pixel, what anti-aliasing
 * produces) and convert coverage to grey at the end. Points are transformed to output pixels by us,
 * not by cairo's CTM, so that the line width stays in output pixels under any augmentation affine. */
#include "data/raster.h"

#include <cairo.h>
#include <math.h>
#include <string.h>

#include "util/atomic_file.h"
#include "util/common.h"

#define RASTER_MAX_SIZE 8192

void raster_opts_default(sbir_raster_opts *o) {
    memset(o, 0, sizeof *o);
    o->size = 256;
    o->line_width = 0;
    o->margin = 0.05f;
    o->fit = 1;
    o->affine[0] = o->affine[4] = 1;
}

float raster_line_width(const sbir_raster_opts *o) {
    if (o->line_width > 0) return o->line_width;
    return SBIR_MAX(1.0f, (float)o->size / 64.0f);
}

static int check_opts(const sbir_raster_opts *o) {
    if (o->size < 1 || o->size > RASTER_MAX_SIZE) return sbir_error("raster size %d out of range 1..%d", o->size, RASTER_MAX_SIZE);
    if (!(o->margin >= 0 && o->margin < 0.5f)) return sbir_error("raster margin %g out of range [0, 0.5)", o->margin);
    if (!(raster_line_width(o) < (float)o->size)) return sbir_error("line width %g too large for size %d", raster_line_width(o), o->size);
    return SBIR_OK;
}

/* Coverage surface -> grey bytes. */
static void surface_to_grey(cairo_surface_t *surf, int invert, uint8_t *out) {
    cairo_surface_flush(surf);
    const uint8_t *d = cairo_image_surface_get_data(surf);
    int w = cairo_image_surface_get_width(surf), h = cairo_image_surface_get_height(surf);
    int stride = cairo_image_surface_get_stride(surf);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t a = d[(size_t)y * stride + x];
            out[(size_t)y * w + x] = invert ? a : (uint8_t)(255 - a);
        }
}

static cairo_surface_t *new_surface(int size) {
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_A8, size, size);
    if (cairo_surface_status(surf) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(surf);
        return NULL;
    }
    return surf;
}

/* Normalised-coordinate affine applied to a pixel position. */
static void apply_affine(const sbir_raster_opts *o, double *x, double *y) {
    if (!o->has_affine) return;
    double h = o->size / 2.0, nx = (*x - h) / h, ny = (*y - h) / h;
    const float *a = o->affine;
    *x = (a[0] * nx + a[1] * ny + a[2]) * h + h;
    *y = (a[3] * nx + a[4] * ny + a[5]) * h + h;
}

static int raster_strokes(const sbir_sketch *s, const sbir_raster_opts *o, uint8_t *out) {
    int S = o->size;
    float lw = raster_line_width(o);
    double inner = S * (1.0 - 2.0 * o->margin) - lw; /* room for the path so the ink stays inside */
    if (inner < 0) inner = 0;
    double scale, ox, oy;
    float x0, y0, x1, y1;
    if (!sketch_bounds(s, &x0, &y0, &x1, &y1)) {
        memset(out, o->invert ? 0 : 255, (size_t)S * S);
        return SBIR_OK;
    }
    if (o->fit) {
        double ext = SBIR_MAX(x1 - x0, y1 - y0);
        scale = ext > 0 ? inner / ext : 1.0;
        ox = S / 2.0 - scale * (x0 + x1) / 2.0;
        oy = S / 2.0 - scale * (y0 + y1) / 2.0;
    } else {
        scale = inner / 255.0;
        ox = oy = S * o->margin + lw / 2.0;
    }
    cairo_surface_t *surf = new_surface(S);
    if (!surf) return sbir_error("cairo: cannot create a %dx%d surface", S, S);
    cairo_t *cr = cairo_create(surf);
    cairo_set_antialias(cr, CAIRO_ANTIALIAS_GRAY);
    cairo_set_line_width(cr, lw);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    cairo_set_source_rgba(cr, 0, 0, 0, 1);
    for (uint32_t k = 0; k < s->n_strokes; k++) {
        uint32_t a = s->stroke_start[k], n = sketch_stroke_len(s, k);
        for (uint32_t i = 0; i < n; i++) {
            double px = ox + scale * s->x[a + i], py = oy + scale * s->y[a + i];
            apply_affine(o, &px, &py);
            if (i == 0) cairo_move_to(cr, px, py);
            else cairo_line_to(cr, px, py);
        }
        /* a one-point stroke (a dot) becomes a zero-length segment, which round caps draw as a disc */
        if (n == 1) cairo_rel_line_to(cr, 0, 0);
    }
    cairo_stroke(cr);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS) surface_to_grey(surf, o->invert, out);
    cairo_surface_destroy(surf);
    return st == CAIRO_STATUS_SUCCESS ? SBIR_OK : sbir_error("cairo: %s", cairo_status_to_string(st));
}

int raster_bitmap(const uint8_t *bm, int w, int h, int ink_high, const sbir_raster_opts *o, uint8_t *out) {
    if (check_opts(o)) return SBIR_ERR;
    if (w < 1 || h < 1 || w > RASTER_MAX_SIZE || h > RASTER_MAX_SIZE) return sbir_error("bitmap size %dx%d out of range", w, h);
    int S = o->size;
    cairo_surface_t *src = cairo_image_surface_create(CAIRO_FORMAT_A8, w, h);
    cairo_surface_t *dst = new_surface(S);
    if (cairo_surface_status(src) || !dst) {
        cairo_surface_destroy(src);
        if (dst) cairo_surface_destroy(dst);
        return sbir_error("cairo: cannot create surfaces");
    }
    cairo_surface_flush(src);
    uint8_t *sd = cairo_image_surface_get_data(src);
    int stride = cairo_image_surface_get_stride(src);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            uint8_t v = bm[(size_t)y * w + x];
            sd[(size_t)y * stride + x] = ink_high ? v : (uint8_t)(255 - v);
        }
    cairo_surface_mark_dirty(src);

    double inner = S * (1.0 - 2.0 * o->margin);
    double scale = inner / SBIR_MAX(w, h);
    cairo_t *cr = cairo_create(dst);
    if (o->has_affine) {
        const float *a = o->affine;
        cairo_matrix_t m;
        cairo_matrix_init(&m, a[0], a[3], a[1], a[4], a[2] * S / 2.0, a[5] * S / 2.0);
        cairo_translate(cr, S / 2.0, S / 2.0);
        cairo_transform(cr, &m);
        cairo_translate(cr, -S / 2.0, -S / 2.0);
    }
    cairo_translate(cr, (S - scale * w) / 2.0, (S - scale * h) / 2.0);
    cairo_scale(cr, scale, scale);
    cairo_set_source_rgba(cr, 0, 0, 0, 1);
    cairo_pattern_t *pat = cairo_pattern_create_for_surface(src);
    cairo_pattern_set_filter(pat, scale < 1 ? CAIRO_FILTER_GOOD : CAIRO_FILTER_BILINEAR);
    cairo_mask(cr, pat);
    cairo_pattern_destroy(pat);
    cairo_status_t st = cairo_status(cr);
    cairo_destroy(cr);
    if (st == CAIRO_STATUS_SUCCESS) surface_to_grey(dst, o->invert, out);
    cairo_surface_destroy(dst);
    cairo_surface_destroy(src);
    return st == CAIRO_STATUS_SUCCESS ? SBIR_OK : sbir_error("cairo: %s", cairo_status_to_string(st));
}

int raster_sketch(const sbir_sketch *s, const sbir_raster_opts *o, uint8_t *out) {
    if (check_opts(o)) return SBIR_ERR;
    if (s->bitmap_size) return raster_bitmap(s->bitmap, s->bitmap_size, s->bitmap_size, 1, o, out);
    return raster_strokes(s, o, out);
}

int raster_sketch_f32(const sbir_sketch *s, const sbir_raster_opts *o, float *out) {
    if (check_opts(o)) return SBIR_ERR;
    size_t n = (size_t)o->size * o->size;
    uint8_t *tmp = mallocCheck(n);
    int rc = raster_sketch(s, o, tmp);
    if (rc == SBIR_OK)
        for (size_t i = 0; i < n; i++) out[i] = tmp[i] * (1.0f / 255.0f);
    free(tmp);
    return rc;
}

static cairo_status_t png_sink(void *closure, const unsigned char *data, unsigned int len) {
    return afile_write(closure, data, len) ? CAIRO_STATUS_WRITE_ERROR : CAIRO_STATUS_SUCCESS;
}

int raster_write_png(const char *path, const uint8_t *grey, int w, int h) {
    if (w < 1 || h < 1 || w > 32767 || h > 32767) return sbir_error("%s: image size %dx%d out of range", path, w, h);
    /* cairo writes an A8 surface as an 8-bit greyscale PNG with the byte as the grey level */
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_A8, w, h);
    if (cairo_surface_status(surf)) {
        cairo_surface_destroy(surf);
        return sbir_error("%s: cairo cannot create a %dx%d surface", path, w, h);
    }
    cairo_surface_flush(surf);
    uint8_t *d = cairo_image_surface_get_data(surf);
    int stride = cairo_image_surface_get_stride(surf);
    for (int y = 0; y < h; y++) memcpy(d + (size_t)y * stride, grey + (size_t)y * w, (size_t)w);
    cairo_surface_mark_dirty(surf);
    sbir_afile *f = afile_open(path);
    if (!f) {
        cairo_surface_destroy(surf);
        return SBIR_ERR;
    }
    cairo_status_t st = cairo_surface_write_to_png_stream(surf, png_sink, f);
    cairo_surface_destroy(surf);
    if (st != CAIRO_STATUS_SUCCESS) {
        afile_abort(f);
        return sbir_error("%s: writing PNG: %s", path, cairo_status_to_string(st));
    }
    return afile_commit(f);
}
