/* conn_guard.c — deadlines on receiving a request (server.h, Limits). libmicrohttpd's connection
 * timeout is an idle timeout: it restarts with every byte, so a client that sends one header byte
 * every few seconds ("slowloris") would hold a connection, and a slot of max_connections, for ever.
 * Every connection is listed here (MHD_OPTION_NOTIFY_CONNECTION) with the phase it is in and when
 * that phase began; a sweeper thread shuts down the socket of one that has spent longer than
 * request_timeout_ms waiting for a request's headers (since it opened, or since its previous answer
 * was sent), or longer than body_timeout_ms reading a body. libmicrohttpd then sees the connection
 * end and closes it on its own thread as it would for a client that hung up.
 *
 * The fd is used only under conn_mu, and the CLOSED notification takes conn_mu before
 * libmicrohttpd closes the fd, so the sweeper never shuts down a descriptor that was reused. */
#include <sys/socket.h>

#include "serve/server_internal.h"
#include "util/common.h"

void conn_guard_init(srv *s) {
    pthread_mutex_init(&s->conn_mu, NULL);
    pthread_cond_init(&s->conn_cv, NULL);
}

void conn_guard_destroy(srv *s) {
    pthread_mutex_destroy(&s->conn_mu);
    pthread_cond_destroy(&s->conn_cv);
}

void conn_notify(void *cls, struct MHD_Connection *c, void **socket_context, enum MHD_ConnectionNotificationCode code) {
    srv *s = cls;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (!ci) return;
        conn_track *t = callocCheck(1, sizeof *t);
        t->fd = ci->connect_fd;
        t->phase = CONN_WAITING;
        t->since = sbir_now();
        pthread_mutex_lock(&s->conn_mu);
        t->next = s->conns;
        if (s->conns) s->conns->prev = t;
        s->conns = t;
        pthread_mutex_unlock(&s->conn_mu);
        *socket_context = t;
    } else if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        conn_track *t = *socket_context;
        if (!t) return;
        pthread_mutex_lock(&s->conn_mu);
        if (t->prev) t->prev->next = t->next;
        else s->conns = t->next;
        if (t->next) t->next->prev = t->prev;
        pthread_mutex_unlock(&s->conn_mu);
        free(t);
        *socket_context = NULL;
    }
}

conn_track *conn_of(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void conn_phase(srv *s, conn_track *t, int phase) {
    if (!t) return;
    pthread_mutex_lock(&s->conn_mu);
    t->phase = phase;
    t->since = sbir_now();
    pthread_mutex_unlock(&s->conn_mu);
}

void conn_timed_out(srv *s, conn_track *t) {
    if (!t) return;
    pthread_mutex_lock(&s->conn_mu);
    if (!t->cut) s->timed_out++;
    t->cut = 1;
    pthread_mutex_unlock(&s->conn_mu);
}

/* How often the sweeper looks: a tenth of the shortest deadline, within 20 ms .. 500 ms. */
static int sweep_period_ms(const srv *s) {
    int shortest = s->o.body_timeout_ms;
    if (s->o.request_timeout_ms > 0 && (shortest <= 0 || s->o.request_timeout_ms < shortest)) shortest = s->o.request_timeout_ms;
    if (shortest <= 0) return 500;
    return SBIR_MAX(20, SBIR_MIN(500, shortest / 10));
}

static void *sweeper_main(void *p) {
    srv *s = p;
    const int period = sweep_period_ms(s);
    pthread_mutex_lock(&s->conn_mu);
    while (!s->sweeper_stop) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += (long)period * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&s->conn_cv, &s->conn_mu, &ts);
        if (s->sweeper_stop) break;
        double now = sbir_now();
        for (conn_track *t = s->conns; t; t = t->next) {
            int limit_ms = t->phase == CONN_WAITING ? s->o.request_timeout_ms : t->phase == CONN_BODY ? s->o.body_timeout_ms : 0;
            if (t->cut || limit_ms <= 0 || 1e3 * (now - t->since) <= limit_ms) continue;
            shutdown(t->fd, SHUT_RDWR); /* libmicrohttpd reads the end and closes the connection */
            t->cut = 1;
            s->timed_out++;
            if (s->o.log)
                fprintf(stderr, "serve: closed a connection that took over %d ms to send its request %s\n", limit_ms,
                        t->phase == CONN_WAITING ? "headers" : "body");
        }
    }
    pthread_mutex_unlock(&s->conn_mu);
    return NULL;
}

int conn_sweeper_start(srv *s) {
    if (s->o.request_timeout_ms <= 0 && s->o.body_timeout_ms <= 0) return SBIR_OK;
    s->sweeper_stop = 0;
    if (pthread_create(&s->sweeper, NULL, sweeper_main, s) != 0) return sbir_error("serve: cannot start the connection sweeper");
    s->sweeper_on = 1;
    return SBIR_OK;
}

void conn_sweeper_stop(srv *s) {
    if (!s->sweeper_on) return;
    pthread_mutex_lock(&s->conn_mu);
    s->sweeper_stop = 1;
    pthread_cond_signal(&s->conn_cv);
    pthread_mutex_unlock(&s->conn_mu);
    pthread_join(s->sweeper, NULL);
    s->sweeper_on = 0;
}
