/* quickdraw_internal.h — what the per-format readers share (not part of the public API). Each
 * format implements open (on an already opened FILE), next and close; quickdraw.c dispatches. */
#ifndef SBIR_QUICKDRAW_INTERNAL_H
#define SBIR_QUICKDRAW_INTERNAL_H

#include "data/quickdraw.h"

struct qd_reader {
    qd_format format;
    qd_options opt;
    FILE *f;
    char *path;       /* as given, for messages */
    char word[SKETCH_WORD_MAX]; /* class from the file name (bin, npy) */
    uint64_t count;   /* drawings returned */
    uint64_t offset;  /* bytes consumed so far (bin, npy) */
    int failed, done;
    char err[1024];   /* the error that failed the reader, repeated by later calls */
    void *impl;       /* format state */
    int (*next)(qd_reader *r, sbir_sketch *s);
    void (*close)(qd_reader *r);
};

/* The "drawing" JSON value to strokes (s is appended to: clear it first). where prefixes errors
 * ("cat.ndjson:12"). Also checks: at least one point, max_strokes/max_points from o. */
struct cJSON;
int qd_drawing_from_cjson(const struct cJSON *d, const qd_options *o, const char *where, sbir_sketch *s);

int qd_ndjson_open(qd_reader *r);
int qd_bin_open(qd_reader *r);
int qd_npy_open(qd_reader *r);
/* Positions an .npy reader so that the next qd_next returns row `row` (0-based), without reading. */
int qd_npy_seek(qd_reader *r, uint64_t row);

/* Reads exactly n bytes; returns the number actually read (short only at end of file / error). */
size_t qd_read_full(qd_reader *r, void *buf, size_t n);

#endif
