/* result_sheet.h — internal to src/api: a contact sheet PNG of one query: the sketch (and the style
 * examples, if any) on the left, then the top results in rows, each captioned with its rank, class,
 * style and score. A result's frame is green when it matches what was asked (class = the sketch's word
 * where known, style = the style asked for by name), red when it does not, grey where unknown. */
#ifndef SBIR_API_RESULT_SHEET_H
#define SBIR_API_RESULT_SHEET_H

#include <stdint.h>

#include "sbir.h"

typedef struct {
    const char *title;
    int S;                       /* side of every thumbnail below */
    const uint8_t *sketch_grey;  /* S x S */
    int n_examples;
    const uint8_t *const *example_rgb; /* S x S RGB style examples (may be NULL pixels: left blank) */
    const char *want_class;      /* or NULL: unknown */
    const char *want_style;      /* or NULL */
    int n;
    const sbir_result *results;
    const uint8_t *const *result_rgb; /* n thumbnails S x S RGB; NULL entries drawn as blanks */
} result_sheet;

int result_sheet_png(const char *path, const result_sheet *s);

#endif
