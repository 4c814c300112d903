/* fetch_bam.h — `sbir fetch bam`: downloads the images of the BAM! mids that `sbir import bam` would
 * import (same label rule, data/bam_select.h) from modules.src, into DIR/<mid>.<ext> where ext
 * (jpg or png) is what the bytes are, not what the URL says.
 *
 * Each download lands in DIR/<mid>.part, is decoded (data/image.h) to prove it is a real image, then is
 * fsynced and renamed to its final name; an HTML error page served with status 200 is "not an image".
 * Progress is recorded in DIR/fetch-state.sqlite (fetch/fetch_state.h): a re-run skips mids that are
 * done (and whose file is still there), skips dead links (HTTP 4xx) unless retry_dead, and retries the
 * rest. A file found in DIR without a state row (a run killed before it recorded it) is verified and
 * counted as present rather than downloaded again. */
#ifndef SBIR_FETCH_BAM_H
#define SBIR_FETCH_BAM_H

#include <signal.h>
#include <stdint.h>

#include "data/import_bam.h"

typedef struct {
    const char *db, *out;
    import_bam_labels labels;
    double threshold;
    const char *const *media;
    int n_media;
    const char *const *contents;
    int n_contents;
    int64_t per_cell;   /* at most this many selected mids per (medium, content) cell, in mid order; 0 = all */
    int64_t limit;      /* at most this many selected mids overall; 0 = all */
    int jobs;           /* concurrent downloads (default 16) */
    double rate;        /* requests per second per host (default 10; 0 = unlimited) */
    double timeout_s;   /* per request (default 60) */
    int retries;        /* default 3 */
    double backoff_s;   /* default 1 */
    uint64_t max_bytes; /* per image (default 64 MiB) */
    int retry_dead;     /* also retry mids recorded as dead links */
    int progress;       /* draw a progress bar */
    volatile sig_atomic_t *stop;
} fetch_bam_opts;

#define FETCH_BAM_MAX_CODES 16

typedef struct {
    int64_t mids;          /* rows of modules */
    int64_t found;         /* selected by the labels (within per_cell / limit) */
    int64_t not_selected;  /* labels do not give exactly one medium and one content */
    int64_t over_cell;     /* selected, but the cell already had per_cell (or past limit) */
    int64_t done_before;   /* skipped: done in an earlier run, file present */
    int64_t present;       /* file already in DIR (verified), recorded as done */
    int64_t dead_before;   /* skipped: a dead link in an earlier run */
    int64_t downloaded;
    int64_t dead;          /* final HTTP 4xx this run */
    int64_t failed;        /* network errors / 5xx after the retries */
    int64_t not_image;
    int64_t too_big;
    int64_t bad_url;
    int64_t interrupted;
    uint64_t bytes;
    struct {
        long code; /* HTTP status; 0 = no HTTP answer (network) */
        int64_t n;
    } dead_codes[FETCH_BAM_MAX_CODES], failed_codes[FETCH_BAM_MAX_CODES];
    int n_dead_codes, n_failed_codes;
    char examples[5][400]; /* first failures, one line each naming the URL */
    int n_examples;
    double seconds;
} fetch_bam_report;

void fetch_bam_opts_default(fetch_bam_opts *o);
/* SBIR_ERR for failures of the whole run (bad database, unwritable DIR, state file); per-image failures
 * are counted in the report. */
int fetch_bam(const fetch_bam_opts *o, fetch_bam_report *r);

#endif
