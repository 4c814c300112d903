/* server.h — `sbir serve`: the HTTP JSON API and the web page, on libmicrohttpd.
 *
 *   POST /api/search     {"strokes": [[[x..],[y..](,[t..])], ...] | "sketch_png": "data:image/png;base64,..",
 *                         "style": NAME | "style_images": ["data:image/..;base64,..", ...], "k": N, "class": NAME}
 *                        -> 200 {"results": [{"rank","id","score","class","style","content_dist","style_dist",
 *                                             "image"}, ...], "query": {...}, "ms": {...}}
 *                        (also: a raw PNG/JPEG body with Content-Type image/png or image/jpeg, ?style=&k= in the URL)
 *   GET  /api/styles     the model's styles, each with example image ids from the index (thumbnails)
 *   GET  /api/image/ID   an indexed image by its id (never by path); ?size=N: a PNG thumbnail, N <= 512
 *   GET  /healthz        {"status": "ok", ...}
 *   GET  /, /app.js, /style.css   the page (web/, compiled into the binary: web_assets.c)
 * Errors are JSON, {"error": "reason", "status": 4xx}.
 *
 * Threads: libmicrohttpd runs a small pool of I/O threads (http_threads) that never run a network.
 * A finished search request is suspended and put on a bounded queue; `workers` threads, each with
 * its own model context (a model's networks are single-threaded objects, sbir.h THREADS), take
 * jobs, run the whole search on one core (batch-1 forwards and the search with 1 OpenMP thread: the
 * pool is the parallelism) and resume the connection with the answer. A full queue answers 503 at
 * once, and so does a job that waited longer than queue_wait_ms: overload sheds work instead of
 * growing latency and memory without bound.
 *
 * Limits (hostile clients, SPEC section 8): request bodies (Content-Length checked before reading,
 * chunked bodies counted), JSON nesting depth, strokes and points, images (base64 size, and the
 * pixel count from the header before any decode), k, connection count (total and per IP), idle
 * connection timeout (a client that stops sending is dropped), and deadlines for a request's headers
 * and for its body (a client that keeps sending, slowly, is dropped too: conn_guard.c). */
#ifndef SBIR_SERVE_SERVER_H
#define SBIR_SERVE_SERVER_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char *index_path;
    const char *model_path;  /* NULL: the model recorded next to the index (INDEX.json) */
    const char *host;        /* numeric IPv4/IPv6 address or "localhost"; default 127.0.0.1 */
    int port;                /* 0: an ephemeral port (srv_port tells which) */
    int http_threads;        /* I/O threads (default 2) */
    int workers;             /* concurrent searches, one model context each (default: online CPUs) */
    int queue;               /* searches that may wait for a worker (default 64); beyond: 503 */
    int queue_wait_ms;       /* a search that waited longer is answered 503 (default 5000) */
    int conn_timeout_s;      /* idle connection timeout (default 10) */
    int request_timeout_ms;  /* a request's headers must all arrive within this of the connection
                              * opening or of its previous answer (default 10000; 0: no bound) */
    int body_timeout_ms;     /* a whole request body must arrive within this of its headers
                              * (default 15000; 0: no bound) */
    int max_connections;     /* default 512 */
    int max_per_ip;          /* default 0: no per-IP limit (loopback load tests come from one address) */
    size_t max_body;         /* bytes (default 8 MiB) */
    int max_depth;           /* JSON nesting (default 16) */
    int max_strokes;         /* default 1000 */
    int max_points;          /* all strokes together (default 100000) */
    int max_style_images;    /* default 16 */
    uint64_t max_pixels;     /* per decoded image (default 16 megapixels) */
    int max_k;               /* default 200 */
    int test_delay_ms;       /* tests only: each search holds its worker this much longer */
    int log;                 /* 1: one line per request on stderr */
} srv_opts;

void srv_opts_default(srv_opts *o);

typedef struct srv srv;

/* Opens the index and the model (workers times), binds, starts the threads. NULL + sbir_error. */
srv *srv_start(const srv_opts *o);
int srv_port(const srv *s);
/* Stops accepting, answers queued searches 503, waits for running ones, frees everything. NULL-safe. */
void srv_stop(srv *s);

typedef struct {
    uint64_t requests, searches, rejected_busy, errors_4xx, errors_5xx;
    uint64_t timed_out; /* connections closed for sending a request too slowly */
    int queued, queue_peak;
} srv_stats;
void srv_get_stats(srv *s, srv_stats *out);

#endif
