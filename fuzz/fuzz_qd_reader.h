/* fuzz_qd_reader.h — the body shared by the three Quick, Draw! file targets (ndjson, .bin, .npy):
 * the input becomes a file whose extension picks the format, and every drawing is read to the end.
 *
 * Invariants checked on each drawing (a reader that returns 1 vouches for them; the rasteriser and
 * the simplifier index arrays with these numbers): stroke offsets start at 0, never decrease, end at
 * n_points; every coordinate is finite and within max_abs_coord; the limits hold; bitmap sketches
 * have no strokes. After the loop, a failed reader must keep failing with a message. */
#ifndef SBIR_FUZZ_QD_READER_H
#define SBIR_FUZZ_QD_READER_H

#include <math.h>

#include "data/quickdraw.h"
#include "fuzz_common.h"

static void fuzz_check_sketch(const sbir_sketch *s, const qd_options *o) {
    if (s->bitmap_size) {
        if (s->n_strokes || !s->bitmap) FUZZ_ABORT("bitmap sketch with strokes or without a bitmap");
        return;
    }
    if (s->n_strokes > o->max_strokes) FUZZ_ABORT("%u strokes > limit %u", s->n_strokes, o->max_strokes);
    if (s->n_points > o->max_points) FUZZ_ABORT("%u points > limit %u", s->n_points, o->max_points);
    if (s->n_points == 0) FUZZ_ABORT("a drawing without points was returned");
    if (s->stroke_start[0] != 0 || s->stroke_start[s->n_strokes] != s->n_points)
        FUZZ_ABORT("stroke offsets do not span the points");
    for (uint32_t k = 0; k < s->n_strokes; k++)
        if (s->stroke_start[k + 1] < s->stroke_start[k]) FUZZ_ABORT("stroke %u has a negative length", k);
    for (uint32_t i = 0; i < s->n_points; i++) {
        if (!isfinite(s->x[i]) || !isfinite(s->y[i]) || fabs(s->x[i]) > o->max_abs_coord ||
            fabs(s->y[i]) > o->max_abs_coord)
            FUZZ_ABORT("point %u (%g, %g) is not finite or out of range", i, s->x[i], s->y[i]);
        if (s->has_time && (!isfinite(s->t[i]) || s->t[i] < 0)) FUZZ_ABORT("point %u has time %g", i, s->t[i]);
    }
    if (memchr(s->word, 0, sizeof s->word) == NULL) FUZZ_ABORT("word is not NUL-terminated");
    if (memchr(s->countrycode, 0, sizeof s->countrycode) == NULL) FUZZ_ABORT("countrycode is not NUL-terminated");
}

static int fuzz_qd_file(const char *name, const uint8_t *data, size_t size) {
    const char *path = fuzz_write(name, data, size);
    qd_options o;
    qd_options_default(&o);
    /* smaller than the defaults so that an input of a few kilobytes can reach every limit */
    o.max_line = 1 << 16, o.max_strokes = 64, o.max_points = 4096;
    qd_reader *r = qd_open(path, &o);
    if (!r) {
        if (!sbir_last_error()[0]) FUZZ_ABORT("qd_open failed without a message");
        return 0;
    }
    sbir_sketch s;
    sketch_init(&s);
    int rc;
    while ((rc = qd_next(r, &s)) == 1) {
        fuzz_check_sketch(&s, &o);
        if (qd_count(r) > 1000000) FUZZ_ABORT("more drawings than bytes");
    }
    if (rc == SBIR_ERR) {
        if (!sbir_last_error()[0]) FUZZ_ABORT("qd_next failed without a message");
        if (qd_next(r, &s) != SBIR_ERR) FUZZ_ABORT("a failed reader recovered");
    } else if (rc != 0) {
        FUZZ_ABORT("qd_next returned %d", rc);
    } else if (qd_count(r) == 0) {
        FUZZ_ABORT("end of an empty file without an error");
    }
    sketch_free(&s);
    qd_close(r);
    return 0;
}

#endif
