#include "util/plot.h"

#include <cairo.h>
#include <math.h>
#include <stdio.h>

#include "util/atomic_file.h"
#include "util/common.h"

static cairo_status_t write_chunk(void *closure, const unsigned char *data, unsigned int length) {
    return afile_write(closure, data, length) == SBIR_OK ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

int cairo_surface_write_png_atomic(cairo_surface_t *surface, const char *path) {
    sbir_afile *f = afile_open(path);
    if (!f) return SBIR_ERR;
    cairo_status_t st = cairo_surface_write_to_png_stream(surface, write_chunk, f);
    if (st != CAIRO_STATUS_SUCCESS) {
        afile_abort(f);
        return sbir_error("%s: cannot write PNG: %s", path, cairo_status_to_string(st));
    }
    return afile_commit(f);
}

cairo_surface_t *cairo_surface_from_pixels(const uint8_t *px, int w, int h, int channels) {
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_surface_flush(s);
    unsigned char *d = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            const uint8_t *p = px + ((size_t)y * w + x) * channels;
            uint32_t r = p[0], g = channels == 3 ? p[1] : p[0], b = channels == 3 ? p[2] : p[0];
            *(uint32_t *)(d + (size_t)y * stride + 4 * x) = (r << 16) | (g << 8) | b;
        }
    cairo_surface_mark_dirty(s);
    return s;
}

static const double k_colours[][3] = {{0.12, 0.47, 0.71}, {1.0, 0.50, 0.05}, {0.17, 0.63, 0.17}, {0.84, 0.15, 0.16},
                                      {0.58, 0.40, 0.74}, {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.5, 0.5, 0.5}};

int plot_lines_png(const char *path, const plot_opts *o, const plot_series *series, int n_series) {
    int W = o->width ? o->width : 800, H = o->height ? o->height : 500;
    double x0 = o->xmin, x1 = o->xmax, y0 = o->ymin, y1 = o->ymax;
    if (x0 == x1 || y0 == y1) {
        double ax = INFINITY, bx = -INFINITY, ay = INFINITY, by = -INFINITY;
        for (int s = 0; s < n_series; s++)
            for (int i = 0; i < series[s].n; i++) {
                if (!isfinite(series[s].x[i]) || !isfinite(series[s].y[i])) continue;
                ax = fmin(ax, series[s].x[i]);
                bx = fmax(bx, series[s].x[i]);
                ay = fmin(ay, series[s].y[i]);
                by = fmax(by, series[s].y[i]);
            }
        if (!(ax < INFINITY)) ax = 0, bx = 1, ay = 0, by = 1;
        if (x0 == x1) x0 = ax, x1 = bx > ax ? bx : ax + 1;
        if (y0 == y1) {
            double pad = (by - ay) * 0.05;
            y0 = ay - pad, y1 = by > ay ? by + pad : ay + 1;
        }
    }
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    double L = 70, R = W - 20, T = 40, B = H - 50; /* plot area */
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 12);
    cairo_set_line_width(cr, 1);
    char buf[64];
    for (int t = 0; t <= 5; t++) { /* grid and tick labels */
        double fy = (double)t / 5, yv = y0 + fy * (y1 - y0), py = B - fy * (B - T);
        double xv = x0 + fy * (x1 - x0), px = L + fy * (R - L);
        cairo_set_source_rgb(cr, 0.9, 0.9, 0.9);
        cairo_move_to(cr, L, py);
        cairo_line_to(cr, R, py);
        cairo_move_to(cr, px, T);
        cairo_line_to(cr, px, B);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
        snprintf(buf, sizeof buf, "%.3g", yv);
        cairo_move_to(cr, 8, py + 4);
        cairo_show_text(cr, buf);
        snprintf(buf, sizeof buf, fabs(x1 - x0) >= 100 ? "%.0f" : "%.3g", xv);
        cairo_text_extents_t ext;
        cairo_text_extents(cr, buf, &ext);
        cairo_move_to(cr, SBIR_MIN(px - ext.width / 2, W - ext.width - 4), B + 18);
        cairo_show_text(cr, buf);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, L, T, R - L, B - T);
    cairo_stroke(cr);
    if (o->xlabel) {
        cairo_move_to(cr, (L + R) / 2 - 30, H - 12);
        cairo_show_text(cr, o->xlabel);
    }
    if (o->ylabel) {
        cairo_save(cr);
        cairo_move_to(cr, 20, (T + B) / 2 + 30);
        cairo_rotate(cr, -M_PI / 2);
        cairo_show_text(cr, o->ylabel);
        cairo_restore(cr);
    }
    if (o->title) {
        cairo_set_font_size(cr, 15);
        cairo_move_to(cr, L, 25);
        cairo_show_text(cr, o->title);
        cairo_set_font_size(cr, 12);
    }
    cairo_rectangle(cr, L, T, R - L, B - T);
    cairo_clip(cr);
    cairo_set_line_width(cr, 2);
    for (int s = 0; s < n_series; s++) {
        const double *c = k_colours[s % SBIR_ARRAY_LEN(k_colours)];
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        int pen = 0;
        for (int i = 0; i < series[s].n; i++) {
            double xv = series[s].x[i], yv = series[s].y[i];
            if (!isfinite(xv) || !isfinite(yv)) {
                pen = 0;
                continue;
            }
            double px = L + (xv - x0) / (x1 - x0) * (R - L), py = B - (yv - y0) / (y1 - y0) * (B - T);
            if (pen) cairo_line_to(cr, px, py);
            else cairo_move_to(cr, px, py);
            pen = 1;
        }
        cairo_stroke(cr);
    }
    cairo_reset_clip(cr);
    for (int s = 0; s < n_series; s++) { /* legend */
        const double *c = k_colours[s % SBIR_ARRAY_LEN(k_colours)];
        double ly = T + 12 + 16 * s;
        cairo_set_source_rgb(cr, c[0], c[1], c[2]);
        cairo_rectangle(cr, R - 270, ly - 8, 14, 8);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, R - 250, ly);
        cairo_show_text(cr, series[s].name ? series[s].name : "");
    }
    cairo_destroy(cr);
    int rc = cairo_surface_write_png_atomic(surf, path);
    cairo_surface_destroy(surf);
    return rc;
}
