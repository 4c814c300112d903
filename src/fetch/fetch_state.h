/* fetch_state.h — what `sbir fetch bam` has done, in an SQLite file next to the images
 * (DIR/fetch-state.sqlite), so that a re-run after an interruption skips what is done and retries what
 * failed.
 *
 *   fetch(mid PRIMARY KEY, url, status, http, attempts, file, error, updated)
 * status: 'done' (file is DIR/<file>), 'dead' (a final HTTP 4xx), 'failed' (network/5xx after the
 * retries; retried next run), 'not_image', 'too_big', 'bad_url'. Writes are grouped in transactions
 * (committed every few hundred rows or second, and on close), so a kill loses at most the last group —
 * whose files are then found on disk and re-verified instead of downloaded again. */
#ifndef SBIR_FETCH_STATE_H
#define SBIR_FETCH_STATE_H

#include <stddef.h>
#include <stdint.h>

typedef struct fetch_state fetch_state;

#define FETCH_STATE_FILE "fetch-state.sqlite"

fetch_state *fetch_state_open(const char *dir); /* NULL + sbir_error */
/* 1 and the status/file (empty when none) when mid has a row, 0 when not, SBIR_ERR. */
int fetch_state_get(fetch_state *s, long long mid, char *status, size_t scap, char *file, size_t fcap);
int fetch_state_put(fetch_state *s, long long mid, const char *url, const char *status, long http, int attempts,
                    const char *file, const char *error);
int fetch_state_close(fetch_state *s); /* commits; frees s in all cases */

#endif
