/* json_in.h — internal to src/serve: checks on untrusted request text before it is parsed or
 * decoded. cJSON recurses once per nesting level (its own limit is 1000, deep enough to matter on
 * a worker thread's stack and pointless for this API), so the depth is measured first, without
 * recursion; base64 is decoded with its output size known in advance. */
#ifndef SBIR_SERVE_JSON_IN_H
#define SBIR_SERVE_JSON_IN_H

#include <stddef.h>
#include <stdint.h>

/* The deepest nesting of [ and { in text (strings skipped, escapes honoured); stops counting past
 * limit + 1. Unbalanced text is left to the parser. */
int json_depth(const char *text, size_t n, int limit);

/* Decodes base64 (standard alphabet, optional '=' padding, no whitespace), or a data URL
 * "data:<type>;base64,<base64>", into a malloc'd buffer. Fails (NULL + sbir_error naming what) on
 * a bad character, bad length, or when the decoded size would exceed max_bytes. */
uint8_t *b64_decode(const char *what, const char *text, size_t max_bytes, size_t *out_len);

#endif
