/* query_input.h — internal to src/api: a query sketch, from whatever the user gives, rendered exactly
 * as training rendered the collection's sketches (model/dataset.c): strokes with line width
 * max(1, S/48) on the default raster options, images fitted inside the default margin as grey. */
#ifndef SBIR_API_QUERY_INPUT_H
#define SBIR_API_QUERY_INPUT_H

#include <stddef.h>
#include <stdint.h>

#include "data/sketch.h"

/* Strokes to grey S x S. */
int qin_render_strokes(const sbir_sketch *s, int S, uint8_t *out);
/* w x h grey pixels (dark ink on light paper) to S x S, as data/sketch_load.c does for a PNG sketch. */
int qin_render_grey(const uint8_t *grey, int w, int h, int S, uint8_t *out);
/* spec: "-" (one ndjson line or drawing on stdin), a literal ndjson object ("{...}") or drawing
 * ("[[[x..],[y..]],...]"), or anything sketch_render_path() reads (Quick, Draw! FILE[#N], PNG/JPEG).
 * The sketch's class word, where the input has one, goes to word (may be NULL; word_size bytes). */
int qin_render_spec(const char *spec, int S, uint8_t *out, char *word, size_t word_size);

#endif
