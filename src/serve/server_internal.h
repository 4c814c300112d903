/* server_internal.h — internal to src/serve: what the server's files share. */
#ifndef SBIR_SERVE_SERVER_INTERNAL_H
#define SBIR_SERVE_SERVER_INTERNAL_H

#include <microhttpd.h>
#include <pthread.h>

#include "sbir.h"
#include "serve/catalog.h"
#include "serve/server.h"

typedef struct req req;
typedef struct conn_track conn_track;

/* conn_guard.c: every open connection, with the phase it is in and since when, so that a client
 * that trickles its request in (one header byte every few seconds: libmicrohttpd's idle timeout
 * restarts on every byte) is cut off by a deadline on the whole request, not only by the idle one. */
enum { CONN_WAITING = 0, /* for a request's headers (opened, or the previous answer was sent) */
       CONN_BODY,        /* headers in, reading the body */
       CONN_BUSY };      /* the request is in: queued, being searched or answered (no deadline) */
struct conn_track {
    conn_track *prev, *next;
    int fd;
    int phase; /* CONN_* */
    int cut;   /* shut down by the sweeper */
    double since;
};

/* One search waiting for, or being run by, a worker. */
struct req {
    struct srv *s;
    struct MHD_Connection *conn;
    int route;           /* ROUTE_* */
    int started;         /* the first (headers) call of the access handler has happened */
    int too_big;         /* the body outgrew max_body (chunked: no Content-Length to check first) */
    int suspended;
    char *body;
    size_t len, cap;
    char content_type[64];
    char method[8], url[128]; /* for the request log */
    unsigned sent_status;
    conn_track *tc;      /* the connection's entry (conn_guard.c); NULL if none */
    char style_arg[128]; /* ?style= and ?k= for raw image bodies */
    int k_arg;
    double t0, t_queued;
    req *next;           /* queue link */
    /* The answer, set by the worker before it resumes the connection. */
    struct MHD_Response *reply;
    unsigned reply_status;
};

enum { ROUTE_NONE = 0, ROUTE_SEARCH, ROUTE_STYLES, ROUTE_IMAGE, ROUTE_HEALTH, ROUTE_ASSET };

struct srv {
    srv_opts o;
    struct MHD_Daemon *d;
    int port;
    sbir_index_ctx *ix;
    sbir_model_ctx **models; /* one per worker */
    catalog cat;
    char *styles_json;       /* GET /api/styles, built once */
    size_t styles_len;
    /* the bounded queue */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    req *head, *tail;
    int queued, stopping;
    pthread_t *threads;
    int n_threads;
    /* counters (under mu) */
    srv_stats st;
    /* open connections and the sweeper that enforces the request deadlines (conn_guard.c) */
    pthread_mutex_t conn_mu;
    pthread_cond_t conn_cv;
    conn_track *conns;
    uint64_t timed_out; /* under conn_mu */
    int sweeper_on, sweeper_stop;
    pthread_t sweeper;
};

/* http_reply.c: responses with the headers every answer carries (no sniffing, a strict CSP). */
struct MHD_Response *reply_json_text(char *text, size_t n); /* takes text (malloc'd) */
struct MHD_Response *reply_error(unsigned status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
struct MHD_Response *reply_static(const void *data, size_t n, const char *type, int cache_s);
void reply_common_headers(struct MHD_Response *r, const char *type);
/* Queues r with status, drops our reference, returns MHD's answer. */
enum MHD_Result reply_send(struct MHD_Connection *c, unsigned status, struct MHD_Response *r);

/* search_api.c: a whole POST /api/search on a worker's model. Sets *status; returns the response. */
struct MHD_Response *search_run(struct srv *s, sbir_model_ctx *m, const req *r, unsigned *status);

/* routes.c: the GET routes (answered on the I/O thread: no network runs there). */
struct MHD_Response *route_get(struct srv *s, struct MHD_Connection *c, int route, const char *url, unsigned *status);
int route_of(const char *method, const char *url, int *method_ok);

/* conn_guard.c */
void conn_guard_init(struct srv *s);
void conn_guard_destroy(struct srv *s);
/* MHD_OPTION_NOTIFY_CONNECTION: adds the connection to the list at STARTED, drops it at CLOSED. */
void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode code);
conn_track *conn_of(struct MHD_Connection *c);
/* The connection enters phase (CONN_*) now. NULL-safe. */
void conn_phase(struct srv *s, conn_track *t, int phase);
/* Counts t as cut for being too slow (once). NULL-safe. */
void conn_timed_out(struct srv *s, conn_track *t);
int conn_sweeper_start(struct srv *s);
void conn_sweeper_stop(struct srv *s);

/* work_queue.c */
int queue_start(struct srv *s);  /* the worker threads */
/* Suspends the connection and queues it: 0; or -1 when full or stopping (the caller answers 503). */
int queue_push(struct srv *s, req *r);
void queue_stop(struct srv *s);  /* answers what waits 503, joins the workers */

#endif
