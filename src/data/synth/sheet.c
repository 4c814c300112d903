/* sheet.c — a contact sheet of the demo collection, to judge it by eye: one row per medium plus a row
 * of sketches, one column group per class, labelled with cairo's toy text API. */
#include <stdio.h>
#include <string.h>

#include "data/synth.h"
#include "data/synth/synth_internal.h"
#include "util/common.h"

static void draw_sketch(cairo_t *cr, const synth_strokes *sk, float x, float y, float side) {
    float m = side * 0.08f, k = (side - 2 * m) / 255.0f;
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, x, y, side, side);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, side / 90.0);
    cairo_set_line_cap(cr, CAIRO_LINE_CAP_ROUND);
    cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND);
    for (int s = 0; s < sk->n_strokes; s++) {
        int a = sk->start[s], b = sk->start[s + 1];
        if (b <= a) continue;
        cairo_move_to(cr, x + m + sk->x[a] * k, y + m + sk->y[a] * k);
        if (b - a == 1) cairo_line_to(cr, x + m + sk->x[a] * k + 0.01, y + m + sk->y[a] * k);
        for (int i = a + 1; i < b; i++) cairo_line_to(cr, x + m + sk->x[i] * k, y + m + sk->y[i] * k);
        cairo_stroke(cr);
    }
}

int synth_write_sheet(const char *path, uint64_t seed, int size, int examples) {
    if (size < 16 || size > 512) return sbir_error("synth: sheet thumbnail size %d out of range 16..512", size);
    if (examples < 1 || examples > 20) return sbir_error("synth: sheet examples %d out of range 1..20", examples);
    int label_w = 110, head_h = 28, gap = 8, pad = 2;
    int cell_w = examples * (size + pad) + gap;
    int rows = SYNTH_N_STYLES + 1;
    int W = label_w + SYNTH_N_CLASSES * cell_w, H = head_h + rows * (size + pad) + 4;
    cairo_surface_t *sheet = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    if (cairo_surface_status(sheet) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(sheet);
        return sbir_error("synth: cannot create a %dx%d sheet", W, H);
    }
    /* render every thumbnail first (in parallel), then compose */
    int n = SYNTH_N_STYLES * SYNTH_N_CLASSES * examples;
    uint8_t *rgb = mallocCheck((size_t)n * size * size * 3);
    int failed = 0;
#pragma omp parallel for schedule(dynamic)
    for (int k = 0; k < n; k++) {
        int e = k % examples, cell = k / examples, st = cell / SYNTH_N_CLASSES, c = cell % SYNTH_N_CLASSES;
        if (synth_render_image(st, c, seed, (uint32_t)e, size, rgb + (size_t)k * size * size * 3)) {
#pragma omp atomic write
            failed = 1;
        }
    }
    if (failed) {
        free(rgb);
        cairo_surface_destroy(sheet);
        return sbir_error("synth: rendering the sheet failed");
    }
    cairo_t *cr = cairo_create(sheet);
    cairo_set_source_rgb(cr, 0.93, 0.93, 0.93);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 14);
    cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
    for (int c = 0; c < SYNTH_N_CLASSES; c++) {
        cairo_move_to(cr, label_w + c * cell_w + 4, head_h - 9);
        cairo_show_text(cr, synth_classes[c]);
    }
    for (int row = 0; row < rows; row++) {
        cairo_set_source_rgb(cr, 0.1, 0.1, 0.1);
        cairo_move_to(cr, 6, head_h + row * (size + pad) + size / 2 + 5);
        cairo_show_text(cr, row < SYNTH_N_STYLES ? synth_styles[row] : "sketches");
    }
    cairo_surface_t *thumb = cairo_image_surface_create(CAIRO_FORMAT_RGB24, size, size);
    cairo_surface_flush(thumb);
    synth_strokes sk = {0};
    for (int row = 0; row < rows; row++)
        for (int c = 0; c < SYNTH_N_CLASSES; c++)
            for (int e = 0; e < examples; e++) {
                float x = (float)(label_w + c * cell_w + e * (size + pad)), y = (float)(head_h + row * (size + pad));
                if (row == SYNTH_N_STYLES) {
                    if (synth_sketch(c, seed, (uint32_t)e, &sk) == SBIR_OK) draw_sketch(cr, &sk, x, y, (float)size);
                    continue;
                }
                const uint8_t *src = rgb + ((size_t)((row * SYNTH_N_CLASSES + c) * examples + e)) * size * size * 3;
                uint8_t *d = cairo_image_surface_get_data(thumb);
                int stride = cairo_image_surface_get_stride(thumb);
                for (int yy = 0; yy < size; yy++)
                    for (int xx = 0; xx < size; xx++) {
                        const uint8_t *p = src + ((size_t)yy * size + xx) * 3;
                        ((uint32_t *)(d + (size_t)yy * stride))[xx] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
                    }
                cairo_surface_mark_dirty(thumb);
                cairo_set_source_surface(cr, thumb, x, y);
                cairo_paint(cr);
            }
    synth_strokes_free(&sk);
    cairo_surface_destroy(thumb);
    cairo_destroy(cr);
    free(rgb);
    int rc = sx_write_png(sheet, path);
    cairo_surface_destroy(sheet);
    return rc;
}
