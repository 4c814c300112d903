/* result_sheet.c — see result_sheet.h. */
#include "api/result_sheet.h"

#include <cairo.h>
#include <stdio.h>
#include <string.h>

#include "util/common.h"
#include "util/plot.h"

#define CELL 128
#define PAD 10
#define CAPTION 34
#define PER_ROW 5

static void draw_px(cairo_t *cr, const uint8_t *px, int S, int grey, double x, double y) {
    if (!px) return;
    cairo_surface_t *s = cairo_surface_from_pixels(px, S, S, grey ? 1 : 3);
    double scale = (double)(CELL - 8) / S;
    cairo_save(cr);
    cairo_translate(cr, x + 4, y + 4);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, s, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_GOOD);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(s);
}

static void frame(cairo_t *cr, double x, double y, double r, double g, double b) {
    cairo_set_source_rgb(cr, r, g, b);
    cairo_rectangle(cr, x, y, CELL, CELL);
    cairo_fill(cr);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_rectangle(cr, x + 4, y + 4, CELL - 8, CELL - 8);
    cairo_fill(cr);
}

static void text(cairo_t *cr, double x, double y, const char *s) {
    char buf[40]; /* captions are clipped to the cell's width */
    snprintf(buf, sizeof buf, "%s", s);
    cairo_text_extents_t e;
    cairo_text_extents(cr, buf, &e);
    while (e.width > CELL && strlen(buf) > 4) {
        buf[strlen(buf) - 4] = 0;
        strcat(buf, "..");
        cairo_text_extents(cr, buf, &e);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, x, y);
    cairo_show_text(cr, buf);
}

int result_sheet_png(const char *path, const result_sheet *s) {
    int left = 1 + (s->n_examples > 0); /* query column(s) */
    int rows = s->n > 0 ? (s->n + PER_ROW - 1) / PER_ROW : 1;
    int W = PAD + (CELL + PAD) * (left + PER_ROW) + PAD, top = 40;
    int ex_rows = s->n_examples;
    int H = top + SBIR_MAX(rows, 1 + ex_rows) * (CELL + CAPTION) + PAD;
    cairo_surface_t *surf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(surf);
    cairo_set_source_rgb(cr, 0.95, 0.95, 0.95);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_BOLD);
    cairo_set_font_size(cr, 15);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_move_to(cr, PAD, 26);
    cairo_show_text(cr, s->title ? s->title : "query");
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, 11);
    /* the query: sketch, then the style examples below it in a second column */
    frame(cr, PAD, top, 0.3, 0.3, 0.3);
    draw_px(cr, s->sketch_grey, s->S, 1, PAD, top);
    text(cr, PAD, top + CELL + 13, "sketch");
    if (s->want_class) text(cr, PAD, top + CELL + 26, s->want_class);
    for (int i = 0; i < s->n_examples; i++) {
        double x = PAD + CELL + PAD, y = top + i * (CELL + CAPTION);
        frame(cr, x, y, 0.3, 0.3, 0.3);
        draw_px(cr, s->example_rgb ? s->example_rgb[i] : NULL, s->S, 0, x, y);
        text(cr, x, y + CELL + 13, "style example");
    }
    double x0 = PAD + (CELL + PAD) * left + PAD;
    for (int i = 0; i < s->n; i++) {
        const sbir_result *r = &s->results[i];
        double x = x0 + (i % PER_ROW) * (CELL + PAD), y = top + (i / PER_ROW) * (CELL + CAPTION);
        int known = s->want_class || s->want_style;
        int match = (!s->want_class || strcmp(s->want_class, r->class_name) == 0) &&
                    (!s->want_style || strcmp(s->want_style, r->style) == 0);
        if (!known) frame(cr, x, y, 0.6, 0.6, 0.6);
        else if (match) frame(cr, x, y, 0.1, 0.7, 0.2);
        else frame(cr, x, y, 0.85, 0.1, 0.1);
        draw_px(cr, s->result_rgb[i], s->S, 0, x, y);
        char cap[128];
        snprintf(cap, sizeof cap, "%d. %s / %s", i + 1, r->class_name[0] ? r->class_name : "?", r->style[0] ? r->style : "?");
        text(cr, x, y + CELL + 13, cap);
        snprintf(cap, sizeof cap, "score %.4f", r->score);
        text(cr, x, y + CELL + 26, cap);
    }
    cairo_destroy(cr);
    int rc = cairo_surface_write_png_atomic(surf, path);
    cairo_surface_destroy(surf);
    return rc;
}
