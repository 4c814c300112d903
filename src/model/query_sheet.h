/* query_sheet.h — a contact sheet of example queries: one row per (sketch, style) query showing the
 * sketch, the style asked for, and the top results with a green frame where the result is relevant
 * (right class and style) and red where it is not. */
#ifndef SBIR_MODEL_QUERY_SHEET_H
#define SBIR_MODEL_QUERY_SHEET_H

#include <stdint.h>

typedef struct {
    const uint8_t *sketch_grey; /* S x S */
    const char *label;          /* e.g. "cat + watercolor" */
    int n_results;
    const uint8_t *const *result_rgb; /* n_results thumbnails, S x S RGB */
    const int *relevant;              /* n_results flags */
} sheet_row;

int query_sheet_png(const char *path, const char *title, int S, const sheet_row *rows, int n_rows);

#endif
