/* work_queue.c — the bounded search queue and its workers (server.h, Threads). A worker owns one
 * model context for its whole life, so no two threads ever share a network, and runs everything
 * with one OpenMP thread: batch-1 forwards wait on thread wake-ups otherwise (nn/net.h), and the
 * workers already keep every core busy. */
#include <omp.h>
#include <string.h>

#include "serve/server_internal.h"
#include "util/common.h"

typedef struct {
    srv *s;
    int i;
} worker_arg;

static void finish(req *r, unsigned status, struct MHD_Response *reply) {
    r->reply = reply;
    r->reply_status = status;
    /* After this call the connection, and r with it, belong to the I/O thread again. */
    MHD_resume_connection(r->conn);
}

static void count_status(srv *s, unsigned status) {
    pthread_mutex_lock(&s->mu);
    if (status >= 500) s->st.errors_5xx++;
    else if (status >= 400) s->st.errors_4xx++;
    if (status == MHD_HTTP_SERVICE_UNAVAILABLE) s->st.rejected_busy++;
    if (status == MHD_HTTP_OK) s->st.searches++;
    pthread_mutex_unlock(&s->mu);
}

static void *worker_main(void *p) {
    worker_arg a = *(worker_arg *)p;
    free(p);
    srv *s = a.s;
    omp_set_num_threads(1);
    for (;;) {
        pthread_mutex_lock(&s->mu);
        while (!s->head && !s->stopping) pthread_cond_wait(&s->cv, &s->mu);
        req *r = s->head;
        if (!r) { /* stopping, nothing left */
            pthread_mutex_unlock(&s->mu);
            return NULL;
        }
        s->head = r->next;
        if (!s->head) s->tail = NULL;
        s->queued--;
        int stopping = s->stopping;
        pthread_mutex_unlock(&s->mu);
        unsigned status;
        struct MHD_Response *reply;
        double waited_ms = 1e3 * (sbir_now() - r->t_queued);
        if (stopping) {
            status = MHD_HTTP_SERVICE_UNAVAILABLE;
            reply = reply_error(status, "the server is shutting down");
        } else if (waited_ms > s->o.queue_wait_ms) { /* the client has waited long enough: shed it */
            status = MHD_HTTP_SERVICE_UNAVAILABLE;
            reply = reply_error(status, "busy: the search waited %.0f ms for a worker; try again", waited_ms);
        } else {
            reply = search_run(s, s->models[a.i], r, &status);
        }
        count_status(s, status);
        finish(r, status, reply);
    }
}

int queue_start(srv *s) {
    s->threads = callocCheck((size_t)s->o.workers, sizeof(pthread_t));
    for (int i = 0; i < s->o.workers; i++) {
        worker_arg *a = mallocCheck(sizeof *a);
        a->s = s, a->i = i;
        if (pthread_create(&s->threads[i], NULL, worker_main, a) != 0) {
            free(a);
            return sbir_error("serve: cannot start worker thread %d", i);
        }
        s->n_threads++;
    }
    return SBIR_OK;
}

int queue_push(srv *s, req *r) {
    pthread_mutex_lock(&s->mu);
    if (s->stopping || s->queued >= s->o.queue) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    /* Suspended before any worker can see the job: a worker resuming a connection that is not yet
     * suspended would be lost, and the connection would hang. */
    MHD_suspend_connection(r->conn);
    r->suspended = 1;
    r->next = NULL;
    r->t_queued = sbir_now();
    if (s->tail) s->tail->next = r;
    else s->head = r;
    s->tail = r;
    if (++s->queued > s->st.queue_peak) s->st.queue_peak = s->queued;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    return 0;
}

void queue_stop(srv *s) {
    pthread_mutex_lock(&s->mu);
    s->stopping = 1;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
    for (int i = 0; i < s->n_threads; i++) pthread_join(s->threads[i], NULL);
    free(s->threads);
    s->threads = NULL;
    s->n_threads = 0;
}
