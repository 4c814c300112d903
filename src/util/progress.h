/* progress.h — a progress bar on stderr for long work: percentage, rate, ETA and a free-text status
 * (live loss, accuracy...). On a terminal it redraws one line; otherwise (CI logs, pipes) it prints a
 * plain line at most every 10% so logs stay short. SBIR_QUIET=1 in the environment silences it. */
#ifndef SBIR_PROGRESS_H
#define SBIR_PROGRESS_H

#include <stdint.h>

typedef struct {
    const char *label;
    uint64_t total, done, start; /* start: work done before this run (a resumed job), not in the rate */
    double t0, last_draw;
    int tty, quiet, last_decile;
    char status[160];
} sbir_progress;

void progress_start(sbir_progress *p, const char *label, uint64_t total);
/* status may be NULL; printf-style */
void progress_update(sbir_progress *p, uint64_t done, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void progress_end(sbir_progress *p);
/* A job resumed with `done` of total already finished: the bar starts there, and rate and ETA count
 * only the work done since. Call right after progress_start. */
void progress_resume(sbir_progress *p, uint64_t done);

#endif
