/* server.c — the libmicrohttpd daemon: options, the access handler (route, body limits, hand-off
 * of searches to the queue), start and stop. See server.h. */
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "api/index_sidecar.h"
#include "serve/server_internal.h"
#include "util/common.h"

void srv_opts_default(srv_opts *o) {
    memset(o, 0, sizeof *o);
    o->host = "127.0.0.1";
    o->port = 8080;
    o->http_threads = 2;
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    o->workers = n > 0 ? (int)SBIR_MIN(n, 64) : 1;
    o->queue = 64;
    o->queue_wait_ms = 5000;
    o->conn_timeout_s = 10;
    o->body_timeout_ms = 15000;
    o->request_timeout_ms = 10000;
    o->max_connections = 512;
    o->max_body = (size_t)8 << 20;
    o->max_depth = 16;
    o->max_strokes = 1000;
    o->max_points = 100000;
    o->max_style_images = 16;
    o->max_pixels = 16000000;
    o->max_k = 200;
}

int srv_port(const srv *s) { return s ? s->port : 0; }

void srv_get_stats(srv *s, srv_stats *out) {
    pthread_mutex_lock(&s->mu);
    *out = s->st;
    out->queued = s->queued;
    pthread_mutex_unlock(&s->mu);
    pthread_mutex_lock(&s->conn_mu);
    out->timed_out = s->timed_out;
    pthread_mutex_unlock(&s->conn_mu);
}

static enum MHD_Result send_now(req *r, unsigned status, struct MHD_Response *reply) {
    r->sent_status = status;
    conn_phase(r->s, r->tc, CONN_BUSY);
    if (status >= 400) {
        pthread_mutex_lock(&r->s->mu);
        if (status >= 500) r->s->st.errors_5xx++;
        else r->s->st.errors_4xx++;
        if (status == MHD_HTTP_SERVICE_UNAVAILABLE) r->s->st.rejected_busy++;
        pthread_mutex_unlock(&r->s->mu);
    }
    return reply_send(r->conn, status, reply);
}

/* The first call for a request: its headers are in, its body (if any) is not. */
static enum MHD_Result on_headers(srv *s, req *r, struct MHD_Connection *c, const char *url, const char *method) {
    int method_ok;
    r->route = route_of(method, url, &method_ok);
    if (r->route == ROUTE_NONE) return send_now(r, MHD_HTTP_NOT_FOUND, reply_error(MHD_HTTP_NOT_FOUND, "no such page: %.200s", url));
    if (!method_ok) {
        struct MHD_Response *rep = reply_error(MHD_HTTP_METHOD_NOT_ALLOWED, "%.16s is not allowed here", method);
        if (rep) MHD_add_response_header(rep, MHD_HTTP_HEADER_ALLOW, r->route == ROUTE_SEARCH ? "POST" : "GET, HEAD");
        return send_now(r, MHD_HTTP_METHOD_NOT_ALLOWED, rep);
    }
    if (r->route != ROUTE_SEARCH) {
        /* Answered on the next call, once libmicrohttpd has the whole (empty) request: libmicrohttpd
         * 0.9.75 closes the connection after a response queued before then ("early"), so a page's
         * requests could not share a kept-alive connection. A GET that says it has a body is
         * answered at once, and its body never read. */
        if (!MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH) &&
            !MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING))
            return MHD_YES;
        unsigned status;
        struct MHD_Response *rep = route_get(s, c, r->route, url, &status);
        return send_now(r, status, rep);
    }
    /* A declared body that is too large is refused before a byte of it is read. */
    const char *cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl) {
        char *end;
        errno = 0;
        unsigned long long v = strtoull(cl, &end, 10);
        if (errno || *end || v > s->o.max_body)
            return send_now(r, MHD_HTTP_CONTENT_TOO_LARGE,
                            reply_error(MHD_HTTP_CONTENT_TOO_LARGE, "the body is larger than %zu bytes", s->o.max_body));
    }
    const char *ct = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE);
    snprintf(r->content_type, sizeof r->content_type, "%s", ct ? ct : "");
    int json = !ct || !*ct || strncmp(ct, "application/json", 16) == 0 || strncmp(ct, "text/plain", 10) == 0;
    int image = strncmp(ct ? ct : "", "image/png", 9) == 0 || strncmp(ct ? ct : "", "image/jpeg", 10) == 0;
    if (!json && !image)
        return send_now(r, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                        reply_error(MHD_HTTP_UNSUPPORTED_MEDIA_TYPE,
                                    "send application/json (or a sketch as image/png or image/jpeg), not %.40s", ct));
    if (image) {
        const char *st = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "style");
        const char *k = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "k");
        if (st) snprintf(r->style_arg, sizeof r->style_arg, "%s", st);
        if (k) {
            char *end;
            long v = strtol(k, &end, 10);
            r->k_arg = *end || end == k || v < 1 || v > s->o.max_k ? -1 : (int)v;
        }
    }
    return MHD_YES;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_data_size,
                                  void **con_cls) {
    (void)version;
    srv *s = cls;
    req *r = *con_cls;
    if (!r) {
        r = callocCheck(1, sizeof *r);
        r->s = s, r->conn = c, r->t0 = sbir_now();
        r->tc = conn_of(c);
        conn_phase(s, r->tc, CONN_BODY); /* the headers are in: the body's deadline starts */
        snprintf(r->method, sizeof r->method, "%s", method);
        snprintf(r->url, sizeof r->url, "%s", url);
        *con_cls = r;
        pthread_mutex_lock(&s->mu);
        s->st.requests++;
        pthread_mutex_unlock(&s->mu);
        return on_headers(s, r, c, url, method);
    }
    if (r->reply) { /* resumed: the worker's answer */
        struct MHD_Response *rep = r->reply;
        r->reply = NULL;
        r->sent_status = r->reply_status;
        return reply_send(c, r->reply_status, rep);
    }
    if (r->suspended) return MHD_NO; /* resumed without an answer: cannot happen */
    if (r->route != ROUTE_SEARCH) { /* a GET without a body, all in (see on_headers) */
        if (*upload_data_size) return MHD_NO;
        unsigned status;
        struct MHD_Response *rep = route_get(s, c, r->route, url, &status);
        return send_now(r, status, rep);
    }
    if (*upload_data_size) {
        /* A body that trickles in is cut off: the idle timeout alone lets a client that sends one
         * byte every few seconds hold a connection for ever. */
        if (s->o.body_timeout_ms > 0 && 1e3 * (sbir_now() - r->t0) > s->o.body_timeout_ms) {
            conn_timed_out(s, r->tc); /* the sweeper (conn_guard.c) would have cut it in a moment */
            return MHD_NO;
        }
        size_t n = *upload_data_size;
        *upload_data_size = 0;
        if (r->too_big || r->len + n > s->o.max_body) { /* chunked and too long: read on, keep nothing */
            r->too_big = 1;
            free(r->body);
            r->body = NULL;
            r->len = r->cap = 0;
            return MHD_YES;
        }
        if (r->len + n + 1 > r->cap) {
            size_t cap = r->cap ? r->cap : 4096;
            while (cap < r->len + n + 1) cap *= 2;
            r->body = reallocCheck(r->body, cap);
            r->cap = cap;
        }
        memcpy(r->body + r->len, upload_data, n);
        r->len += n;
        r->body[r->len] = 0;
        return MHD_YES;
    }
    if (r->too_big)
        return send_now(r, MHD_HTTP_CONTENT_TOO_LARGE,
                        reply_error(MHD_HTTP_CONTENT_TOO_LARGE, "the body is larger than %zu bytes", s->o.max_body));
    if (r->k_arg < 0) return send_now(r, MHD_HTTP_BAD_REQUEST, reply_error(MHD_HTTP_BAD_REQUEST, "k must be 1 to %d", s->o.max_k));
    if (!r->body) r->body = strdupCheck(""); /* an empty body: the search answers why that is wrong */
    conn_phase(s, r->tc, CONN_BUSY); /* before the push: a worker may answer, and r go, at once */
    if (queue_push(s, r) == 0) return MHD_YES;
    return send_now(r, MHD_HTTP_SERVICE_UNAVAILABLE,
                    reply_error(MHD_HTTP_SERVICE_UNAVAILABLE, "busy: %d searches are waiting; try again", s->o.queue));
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode why) {
    srv *s = cls;
    /* answered: a kept-alive connection now waits for its next request, under the same deadline */
    conn_phase(s, conn_of(c), CONN_WAITING);
    req *r = *con_cls;
    if (!r) return;
    if (s->o.log)
        fprintf(stderr, "serve: %s %s %u %.1f ms%s\n", r->method, r->url, r->sent_status, 1e3 * (sbir_now() - r->t0),
                why == MHD_REQUEST_TERMINATED_COMPLETED_OK ? "" : " (connection closed)");
    if (r->reply) MHD_destroy_response(r->reply);
    free(r->body);
    free(r);
    *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
    const srv *s = cls;
    if (!s->o.log) return;
    fprintf(stderr, "serve: ");
    vfprintf(stderr, fmt, ap);
}

/* GET /api/styles, the same for the server's whole life. */
static void build_styles_json(srv *s, const sbir_model_ctx *m) {
    cJSON *o = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(o, "styles");
    for (int i = 0; i < sbir_model_n_styles(m); i++) {
        cJSON *e = cJSON_CreateObject(), *ex = cJSON_AddArrayToObject(e, "examples");
        cJSON_AddStringToObject(e, "name", sbir_model_style_name(m, i));
        for (int j = 0; j < CATALOG_EXAMPLES; j++) {
            int64_t id = s->cat.examples[(size_t)i * CATALOG_EXAMPLES + j];
            if (id < 0) continue;
            cJSON *x = cJSON_CreateObject();
            char url[48];
            snprintf(url, sizeof url, "/api/image/%lld", (long long)id);
            cJSON_AddNumberToObject(x, "id", (double)id);
            cJSON_AddStringToObject(x, "image", url);
            cJSON_AddItemToArray(ex, x);
        }
        cJSON_AddItemToArray(arr, e);
    }
    cJSON *cls = cJSON_AddArrayToObject(o, "classes");
    for (int i = 0; i < sbir_model_n_classes(m); i++) cJSON_AddItemToArray(cls, cJSON_CreateString(sbir_model_class_name(m, i)));
    cJSON_AddNumberToObject(o, "images", (double)sbir_index_count(s->ix));
    cJSON_AddNumberToObject(o, "max_k", s->o.max_k);
    cJSON_AddNumberToObject(o, "max_style_images", s->o.max_style_images);
    s->styles_json = cJSON_PrintUnformatted(o);
    s->styles_len = s->styles_json ? strlen(s->styles_json) : 0;
    cJSON_Delete(o);
}

/* sbir_model_open builds its networks for batches of 64 (indexing), hundreds of megabytes of
 * activations per copy; a server only ever embeds one sketch or image at a time, so its copies are
 * built for batch 1 (same weights, same results, a fraction of the memory). */
static sbir_status open_model_b1(const char *path, sbir_model_ctx **out) {
    sbir_model *m = model_load(path, 1, NET_BACKEND_DNNL, NULL);
    if (!m) return SBIR_E_IO;
    sbir_model_ctx *c = callocCheck(1, sizeof *c);
    c->m = m;
    c->path = strdupCheck(path);
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return SBIR_E_OK;
}

static int open_data(srv *s) {
    char *model_path = s->o.model_path ? strdupCheck(s->o.model_path) : sidecar_model(s->o.index_path);
    if (!model_path)
        return sbir_error("%s: no model recorded next to the index (no %s.json): give --model", s->o.index_path,
                          s->o.index_path);
    int rc = SBIR_ERR;
    if (sbir_index_open(s->o.index_path, &s->ix) != SBIR_E_OK) goto done;
    s->models = callocCheck((size_t)s->o.workers, sizeof *s->models);
    for (int i = 0; i < s->o.workers; i++)
        if (open_model_b1(model_path, &s->models[i]) != SBIR_E_OK) goto done;
    if (strcmp(sbir_index_fingerprint(s->ix), sbir_model_fingerprint(s->models[0])) != 0) {
        sbir_error("%s was built with model %s, but %s is model %s: rebuild the index or give the right --model",
                   s->o.index_path, sbir_index_fingerprint(s->ix), model_path, sbir_model_fingerprint(s->models[0]));
        goto done;
    }
    if (catalog_build(&s->cat, s->ix, s->models[0]) != SBIR_OK) goto done;
    build_styles_json(s, s->models[0]);
    rc = s->styles_json ? SBIR_OK : sbir_error("serve: out of memory");
done:
    free(model_path);
    return rc;
}

static int parse_host(const char *host, int port, struct sockaddr_storage *ss, int *v6) {
    memset(ss, 0, sizeof *ss);
    if (!host || strcmp(host, "localhost") == 0) host = "127.0.0.1";
    struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;
    *v6 = 0;
    if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
        a4->sin_family = AF_INET;
        a4->sin_port = htons((uint16_t)port);
        return SBIR_OK;
    }
    if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
        a6->sin6_family = AF_INET6;
        a6->sin6_port = htons((uint16_t)port);
        *v6 = 1;
        return SBIR_OK;
    }
    return sbir_error("serve: --host must be a numeric IPv4/IPv6 address or localhost, not '%s'", host);
}

static void free_srv(srv *s) {
    for (int i = 0; s->models && i < s->o.workers; i++) sbir_model_close(s->models[i]);
    free(s->models);
    sbir_index_close(s->ix);
    catalog_free(&s->cat);
    cJSON_free(s->styles_json);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    conn_guard_destroy(s);
    free(s);
}

srv *srv_start(const srv_opts *o) {
    if (!o || !o->index_path) {
        sbir_error("serve: no index given");
        return NULL;
    }
    if (o->port < 0 || o->port > 65535 || o->workers < 1 || o->http_threads < 1 || o->queue < 0 || o->max_k < 1 ||
        o->max_body < 1 || o->request_timeout_ms < 0 || o->body_timeout_ms < 0) {
        sbir_error("serve: bad options (port, workers, threads, queue, k, body limit or timeouts out of range)");
        return NULL;
    }
    srv *s = callocCheck(1, sizeof *s);
    s->o = *o;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    conn_guard_init(s);
    struct sockaddr_storage addr;
    int v6;
    if (parse_host(o->host, o->port, &addr, &v6) != SBIR_OK || open_data(s) != SBIR_OK) {
        free_srv(s);
        return NULL;
    }
    if (queue_start(s) != SBIR_OK) {
        queue_stop(s);
        free_srv(s);
        return NULL;
    }
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG | (v6 ? MHD_USE_IPv6 : 0);
    s->d = MHD_start_daemon(
        flags, 0, NULL, NULL, on_request, s, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)(o->http_threads > 1 ? o->http_threads : 0),
        MHD_OPTION_CONNECTION_LIMIT, (unsigned)o->max_connections, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)(o->max_per_ip > 0 ? o->max_per_ip : 0), MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)o->conn_timeout_s,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
        MHD_OPTION_NOTIFY_CONNECTION, conn_notify, s, MHD_OPTION_LISTEN_BACKLOG_SIZE, 128u, MHD_OPTION_END);
    if (!s->d) {
        sbir_error("serve: cannot listen on %s port %d: %s", o->host ? o->host : "127.0.0.1", o->port, strerror(errno));
        queue_stop(s);
        free_srv(s);
        return NULL;
    }
    if (conn_sweeper_start(s) != SBIR_OK) {
        srv_stop(s);
        return NULL;
    }
    const union MHD_DaemonInfo *di = MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);
    s->port = di ? di->port : o->port;
    return s;
}

void srv_stop(srv *s) {
    if (!s) return;
    /* Stop accepting first, then let the workers answer what is queued (503) and finish what runs,
     * so every suspended connection is resumed before the daemon goes: libmicrohttpd must not be
     * stopped with connections still suspended. */
    conn_sweeper_stop(s);
    MHD_socket fd = MHD_quiesce_daemon(s->d);
    if (fd != MHD_INVALID_SOCKET) close(fd);
    queue_stop(s);
    MHD_stop_daemon(s->d);
    free_srv(s);
}
