/* qd_trim.h — keeps the first N drawings of a Quick, Draw! file (`sbir fetch quickdraw
 * --max-per-class N`), byte for byte: ndjson keeps its first N lines, .bin its first N records (the
 * record lengths are parsed, see data/quickdraw.h), .npy its first N rows under a rewritten header whose
 * shape says N. The result is written atomically (util/atomic_file.h). */
#ifndef SBIR_QD_TRIM_H
#define SBIR_QD_TRIM_H

#include <stdint.h>

#include "data/quickdraw.h"

/* *kept: drawings written (all of them when src has fewer than n). Errors name src and the position. */
int qd_trim(const char *src, const char *dst, qd_format fmt, uint64_t n, uint64_t *kept);

#endif
