/* sketch.h — one drawing in memory: strokes of float (x, y[, t]) points plus Quick, Draw! metadata,
 * or (for the numpy bitmap format, which has no strokes) a square 8-bit bitmap.
 *
 * Points of all strokes live in one contiguous array per coordinate and stroke i spans
 * [stroke_start[i], stroke_start[i+1]); this keeps a streaming reader allocation-free after the first
 * few drawings (sketch_clear keeps the buffers) and makes whole-sketch transforms one loop.
 *
 * Ownership: sketch_init() zeroes, sketch_free() releases everything; a sbir_sketch may be reused
 * for any number of drawings in between. */
#ifndef SBIR_SKETCH_H
#define SBIR_SKETCH_H

#include <stdint.h>

#define SKETCH_WORD_MAX 128    /* bytes incl. NUL; longer words are rejected by readers */
#define SKETCH_COUNTRY_MAX 8

typedef struct {
    uint32_t n_strokes, n_points;
    uint32_t *stroke_start; /* n_strokes + 1 offsets into x/y/t */
    float *x, *y;
    float *t;     /* milliseconds since the first point; valid only where has_time */
    int has_time; /* raw ndjson strokes carry t; simplified and .bin do not */

    /* Bitmap sketches (.npy rows): bitmap_size x bitmap_size bytes, row-major, 255 = ink (as in
     * Google's files). bitmap_size == 0 for stroke sketches. */
    uint8_t *bitmap;
    int bitmap_size;

    uint64_t key_id;              /* 0 where unknown */
    char word[SKETCH_WORD_MAX];   /* class; "" where unknown */
    char countrycode[SKETCH_COUNTRY_MAX];
    int recognized;               /* 1 / 0, -1 where unknown */
    int64_t timestamp;            /* Unix seconds (UTC), 0 where unknown */

    /* capacities (private) */
    uint32_t cap_points, cap_strokes;
    int cap_bitmap;
} sbir_sketch;

void sketch_init(sbir_sketch *s);
void sketch_free(sbir_sketch *s);
/* Forgets the content and metadata but keeps the buffers for reuse. */
void sketch_clear(sbir_sketch *s);

/* Building: begin a stroke, then add its points. */
void sketch_begin_stroke(sbir_sketch *s);
void sketch_add_point(sbir_sketch *s, float x, float y, float t);
/* Removes strokes that ended up with no points (begin_stroke never followed by add_point). */
void sketch_drop_empty_strokes(sbir_sketch *s);
/* Makes s a bitmap sketch of size x size (contents uninitialised); returns the buffer. */
uint8_t *sketch_set_bitmap(sbir_sketch *s, int size);

static inline uint32_t sketch_stroke_len(const sbir_sketch *s, uint32_t i) {
    return s->stroke_start[i + 1] - s->stroke_start[i];
}

/* Deep copy (dst is cleared first; dst must be initialised). */
void sketch_copy(sbir_sketch *dst, const sbir_sketch *src);

/* Bounding box of all points; returns 0 if the sketch has no points. */
int sketch_bounds(const sbir_sketch *s, float *min_x, float *min_y, float *max_x, float *max_y);

/* Google's raw-to-simplified conversion (SPEC section 2), in place: align to the top-left, scale
 * uniformly so the largest coordinate is 255, resample each stroke at 1-unit spacing, simplify with
 * Ramer-Douglas-Peucker (epsilon 2.0), round to integers in 0..255. Drops timing. */
void sketch_simplify(sbir_sketch *s);

/* Ramer-Douglas-Peucker on one polyline (x, y, n points): marks keep[i] = 1 for kept points (the
 * endpoints always). Exposed for tests. */
void sketch_rdp(const float *x, const float *y, uint32_t n, float epsilon, uint8_t *keep);

#endif
