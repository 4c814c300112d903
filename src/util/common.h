/* common.h — error reporting and tiny check macros shared by every module.
 *
 * Library code never exits: a function that can fail returns SBIR_ERR (or NULL) after calling
 * sbir_error(fmt, ...), which stores a one-line reason in a thread-local buffer that the caller reads
 * with sbir_last_error(). The CLI prints it as "sbir: <reason>". Messages name the file and the
 * position where the input went wrong ("cat.ndjson:12: stroke 3 has 5 x values but 4 y values").
 *
 * The *Check macros are for genuine programming/resource failures (out of memory): they print
 * file:line and abort, as in llm.c. */
#ifndef SBIR_COMMON_H
#define SBIR_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define SBIR_OK 0
#define SBIR_ERR (-1)

/* Records the reason for the current failure (printf-style); always returns SBIR_ERR. */
int sbir_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prefixes the current error with "prefix: " (e.g. a file name added by an outer caller). */
int sbir_error_prefix(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *sbir_last_error(void);
void sbir_clear_error(void);

void *malloc_check(size_t size, const char *file, int line);
void *calloc_check(size_t n, size_t size, const char *file, int line);
void *realloc_check(void *p, size_t size, const char *file, int line);
char *strdup_check(const char *s, const char *file, int line);
#define mallocCheck(size) malloc_check((size), __FILE__, __LINE__)
#define callocCheck(n, size) calloc_check((n), (size), __FILE__, __LINE__)
#define reallocCheck(p, size) realloc_check((p), (size), __FILE__, __LINE__)
#define strdupCheck(s) strdup_check((s), __FILE__, __LINE__)

/* 64-byte aligned allocation for SIMD / oneDNN buffers; free with free(). */
void *aligned_alloc_check(size_t size, const char *file, int line);
#define alignedAllocCheck(size) aligned_alloc_check((size), __FILE__, __LINE__)

#define SBIR_MIN(a, b) ((a) < (b) ? (a) : (b))
#define SBIR_MAX(a, b) ((a) > (b) ? (a) : (b))
#define SBIR_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Monotonic clock in seconds. */
double sbir_now(void);

#endif
