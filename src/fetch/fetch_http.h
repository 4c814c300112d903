/* fetch_http.h — the download engine behind `sbir fetch`: many HTTP(S) downloads at once with
 * libcurl's multi interface, each into a partial file that survives interruption.
 *
 * A caller streams jobs in through next() (so 2.5M BAM! URLs never sit in memory at once) and gets
 * each one back exactly once through done(), with its outcome. In between the engine:
 *   - runs at most `jobs` transfers at once and keeps at most a few times that many jobs in hand;
 *   - starts at most `rate` requests per second per host (a polite crawler; 0 = no limit);
 *   - resumes: the body goes to job->part, opened for appending; when the part already holds bytes the
 *     request carries "Range: bytes=N-". A 206 whose Content-Range starts at N is appended; a 200 means
 *     the server ignored the range, so the part is truncated and the file restarts from byte 0;
 *   - verifies the size: the total announced by Content-Length / Content-Range must be what ends up on
 *     disk, and a body larger than max_bytes (announced or actual) is refused without retry;
 *   - retries what may succeed later (timeouts, refused or cut connections, HTTP 5xx, 408, 429, a size
 *     mismatch) with exponential backoff, up to `retries` times; other 4xx are final;
 *   - hands the complete part to complete(), which checks the content and gives it its final name.
 * Only http:// and https:// are allowed, also after redirects (URLs come from a database we do not
 * control; file:// or gopher:// must not be reachable through it). */
#ifndef SBIR_FETCH_HTTP_H
#define SBIR_FETCH_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    FETCH_OK = 0,
    FETCH_HTTP_ERROR,  /* the server answered with a non-2xx status (job->http) */
    FETCH_NET_ERROR,   /* timeout, refused/cut connection, DNS, TLS, size mismatch... */
    FETCH_TOO_BIG,     /* announced or actual size above max_bytes */
    FETCH_BAD_CONTENT, /* complete() refused the body (not an image, not the expected format) */
    FETCH_BAD_URL,     /* not an http(s) URL, or one curl cannot parse */
    FETCH_INTERRUPTED  /* the stop flag was raised while it ran */
} fetch_result;

typedef struct fetch_job {
    /* set by the caller (owned by it; the engine never frees them) */
    const char *url;
    const char *part; /* path of the partial file */
    void *user;
    /* outcome, read in done() */
    fetch_result result;
    long http;          /* last HTTP status, 0 when none arrived */
    int attempts;       /* requests made */
    uint64_t size;      /* bytes in the part when complete() was called */
    char err[400];      /* one line naming the URL, empty on success */
    /* engine-private */
    double not_before;
    int host; /* 1 + index in the engine's host table, 0 = not looked up yet, -1 = bad URL */
    struct fetch_job *link;
} fetch_job;

/* What complete() returns. */
enum { FETCH_DONE = 0, FETCH_RETRY = 1, FETCH_FAIL = 2 };

typedef struct {
    int jobs;                /* concurrent transfers (default 8) */
    double rate;             /* requests per second per host, 0 = unlimited */
    double timeout_s;        /* whole request, 0 = none (big files use stall_s instead) */
    double stall_s;          /* abort when less than 1 byte/s arrives for this long (default 30) */
    double connect_timeout_s;/* default 15 */
    int retries;             /* extra attempts after the first (default 3) */
    double backoff_s;        /* first retry delay, doubled each time (default 1) */
    uint64_t max_bytes;      /* largest accepted body (default 64 MiB) */
    const char *label;       /* progress bar label; NULL = no bar */
    uint64_t total;          /* jobs expected, for the bar (0 = unknown) */
    const int64_t *skipped;  /* optional: items the caller skipped without a job, counted as progress */
    volatile sig_atomic_t *stop; /* when it becomes non-zero, transfers end as FETCH_INTERRUPTED */
    fetch_job *(*next)(void *ctx);   /* next job, or NULL when there are no more */
    /* The body is complete in j->part (size checked). Return FETCH_DONE after moving it into place,
     * FETCH_RETRY or FETCH_FAIL after setting j->result and j->err. */
    int (*complete)(void *ctx, fetch_job *j);
    void (*done)(void *ctx, fetch_job *j); /* final outcome; the job belongs to the caller again */
    void *ctx;
} fetch_opts;

typedef struct {
    uint64_t finished, ok, requests, retries, bytes;
} fetch_stats;

void fetch_opts_default(fetch_opts *o);

/* Runs until next() returns NULL and every job has come back through done(). Returns SBIR_ERR only
 * when libcurl cannot be set up; per-job failures are reported through done(). */
int fetch_run(const fetch_opts *o, fetch_stats *st);

/* Percent-encodes everything but RFC 3986 unreserved characters ("The Eiffel Tower" ->
 * "The%20Eiffel%20Tower"). Writes at most cap bytes; returns SBIR_ERR when it does not fit. */
int fetch_url_escape(const char *s, char *out, size_t cap);

/* fsync(path) then rename(from, to) then fsync the directory: a completed download is durable before
 * it takes its final name. */
int fetch_commit_file(const char *from, const char *to);

#endif
