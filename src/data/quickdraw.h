/* quickdraw.h — streaming readers for the four official Quick, Draw! formats (SPEC section 2):
 * raw ndjson, simplified ndjson, binary .bin and numpy bitmap .npy.
 *
 *   qd_reader *r = qd_open("cat.ndjson", NULL);      // NULL: default limits, format auto-detected
 *   sbir_sketch s; sketch_init(&s);
 *   int rc;
 *   while ((rc = qd_next(r, &s)) == 1) use(&s);
 *   qd_close(r); sketch_free(&s);
 *   if (rc == SBIR_ERR) puts(sbir_last_error());    // "cat.ndjson:12: stroke 3 has 5 x values but 4 y values"
 *
 * Memory is bounded by the limits (one line / one drawing at a time), whatever the file size. Input
 * is treated as hostile: every malformed, truncated or out-of-range input gives SBIR_ERR with a
 * message naming the file and the position (line for ndjson, drawing index and byte offset for .bin,
 * row and byte offset for .npy). After an error the reader stays failed. A file with no drawings at
 * all is an error (an empty download is never what the user meant).
 *
 * .bin and .npy carry no class word: the reader fills sketch.word from the file name ("cat.npy",
 * "full_numpy_bitmap_cat.npy" -> "cat"). .npy rows are bitmap sketches (sketch.bitmap, 255 = ink). */
#ifndef SBIR_QUICKDRAW_H
#define SBIR_QUICKDRAW_H

#include <stdint.h>
#include <stdio.h>

#include "data/sketch.h"

typedef enum { QD_AUTO = 0, QD_NDJSON, QD_BIN, QD_NPY } qd_format;

typedef struct {
    qd_format format;        /* QD_AUTO: from the content and the extension */
    size_t max_line;         /* ndjson: longest accepted line in bytes (default 16 MiB) */
    uint32_t max_strokes;    /* per drawing (default 10000) */
    uint32_t max_points;     /* per drawing, all strokes together (default 200000) */
    double max_abs_coord;    /* |x|, |y| above this are rejected (default 1e6); t must be in [0, 1e10] ms */
} qd_options;

void qd_options_default(qd_options *o);

typedef struct qd_reader qd_reader;

qd_reader *qd_open(const char *path, const qd_options *opts); /* NULL + sbir_error on failure */
/* 1: *s holds the next drawing (previous content replaced, buffers reused); 0: end; SBIR_ERR. */
int qd_next(qd_reader *r, sbir_sketch *s);
void qd_close(qd_reader *r);

qd_format qd_reader_format(const qd_reader *r);
/* Number of drawings returned so far (so the current one is index qd_count(r) - 1). */
uint64_t qd_count(const qd_reader *r);
const char *qd_format_name(qd_format f); /* "ndjson", "bin", "npy" */

/* Which format a file is in: ".bin"/".npy"/".ndjson"/".json"/".jsonl" extensions decide (a .bin
 * drawing can start with any byte), otherwise the content (the npy magic, or a '{'). */
int qd_detect_format(const char *path, qd_format *out);

/* The class a file name implies: basename without extension and without Google's "full_*_"
 * prefixes. Writes at most n bytes. */
void qd_word_from_path(const char *path, char *out, size_t n);

/* The "drawing" JSON of the ndjson formats ([[[x..],[y..]],...], with t arrays where has_time):
 * to_json returns a malloc'd string (integers where coordinates are integral); from_json parses one
 * with the same checks as the ndjson reader (where prefixes errors, e.g. "coll.sqlite: sketch 12"). */
char *qd_drawing_to_json(const sbir_sketch *s);
int qd_drawing_from_json(const char *json, const char *where, sbir_sketch *s);

/* Finds one drawing in a file: the index-th (0-based) when by_key is 0, else the one with key_id. */
int qd_find(const char *path, int by_key, uint64_t index_or_key, sbir_sketch *out);

/* Appends one drawing in the .bin format (coordinates must be integers in 0..255, as simplified
 * drawings are; at most 65535 strokes of 65535 points). */
int qd_bin_write(FILE *f, const sbir_sketch *s);

#endif
