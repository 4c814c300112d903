#include "model/query_sheet.h"

#include <cairo.h>
#include <string.h>

#include "util/common.h"
#include "util/plot.h"

int query_sheet_png(const char *path, const char *title, int S, const sheet_row *rows, int n_rows) {
    const int cell = 112, pad = 8, label_w = 150, top = 40;
    int max_res = 0;
    for (int r = 0; r < n_rows; r++) max_res = SBIR_MAX(max_res, rows[r].n_results);
    int W = label_w + (cell + pad) * (max_res + 1) + pad, H = top + (cell + pad) * n_rows + pad;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 0.95, 0.95, 0.95);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 16);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, pad, 26);
    cairo_show_text(cr, title);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 13);
    double scale = (double)(cell - 8) / S;
    for (int r = 0; r < n_rows; r++) {
        double y = top + r * (cell + pad);
        cairo_set_source_rgb(cr, 0, 0, 0);
        cairo_move_to(cr, pad, y + cell / 2.0);
        cairo_show_text(cr, rows[r].label);
        for (int k = -1; k < rows[r].n_results; k++) {
            double x = label_w + (k + 1) * (cell + pad);
            if (k < 0) cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
            else if (rows[r].relevant[k]) cairo_set_source_rgb(cr, 0.1, 0.7, 0.2);
            else cairo_set_source_rgb(cr, 0.85, 0.1, 0.1);
            cairo_rectangle(cr, x, y, cell, cell);
            cairo_fill(cr);
            cairo_surface_t *img = cairo_surface_from_pixels(k < 0 ? rows[r].sketch_grey : rows[r].result_rgb[k], S, S, k < 0 ? 1 : 3);
            cairo_save(cr);
            cairo_translate(cr, x + 4, y + 4);
            cairo_scale(cr, scale, scale);
            cairo_set_source_surface(cr, img, 0, 0);
            cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
            cairo_paint(cr);
            cairo_restore(cr);
            cairo_surface_destroy(img);
        }
    }
    cairo_destroy(cr);
    int rc = cairo_surface_write_png_atomic(surf, path);
    cairo_surface_destroy(surf);
    return rc;
}
