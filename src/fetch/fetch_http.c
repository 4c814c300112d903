/* fetch_http.c — see fetch_http.h. One curl multi handle, one easy handle per attempt (simple, and
 * connections are still reused through the multi handle's pool). All callbacks run on the calling
 * thread, so the caller's state needs no locks. */
#include "fetch/fetch_http.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/common.h"
#include "util/progress.h"

void fetch_opts_default(fetch_opts *o) {
    memset(o, 0, sizeof *o);
    o->jobs = 8;
    o->stall_s = 30;
    o->connect_timeout_s = 15;
    o->retries = 3;
    o->backoff_s = 1;
    o->max_bytes = (uint64_t)64 << 20;
}

int fetch_url_escape(const char *s, char *out, size_t cap) {
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        int plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                    *p == '-' || *p == '.' || *p == '_' || *p == '~';
        if (n + (plain ? 1 : 3) >= cap) return sbir_error("'%s': too long for a URL", s);
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = 0;
    return SBIR_OK;
}

int fetch_commit_file(const char *from, const char *to) {
    int fd = open(from, O_RDONLY);
    if (fd < 0) return sbir_error("%s: %s", from, strerror(errno));
    int rc = fsync(fd);
    close(fd);
    if (rc) return sbir_error("%s: fsync: %s", from, strerror(errno));
    if (rename(from, to)) return sbir_error("%s: cannot rename to %s: %s", from, to, strerror(errno));
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", to);
    int dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY);
    if (dfd >= 0) {
        fsync(dfd); /* best effort: some file systems refuse fsync on directories */
        close(dfd);
    }
    return SBIR_OK;
}

/* ---- per-host request rate ---- */

typedef struct {
    char host[256];
    double next_ok;
} host_slot;

typedef struct {
    host_slot *v;
    int n, cap;
} host_table;

static host_slot *host_get(host_table *t, const char *host) {
    for (int i = 0; i < t->n; i++)
        if (strcasecmp(t->v[i].host, host) == 0) return &t->v[i];
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 16;
        t->v = reallocCheck(t->v, (size_t)t->cap * sizeof *t->v);
    }
    host_slot *s = &t->v[t->n++];
    snprintf(s->host, sizeof s->host, "%s", host);
    s->next_ok = 0;
    return s;
}

/* The host of an http(s) URL, or SBIR_ERR with job->err set. */
static int url_host(fetch_job *j, char *host, size_t cap) {
    if (strncasecmp(j->url, "http://", 7) && strncasecmp(j->url, "https://", 8)) {
        snprintf(j->err, sizeof j->err, "%.300s: not an http:// or https:// URL", j->url);
        return SBIR_ERR;
    }
    CURLU *u = curl_url();
    char *h = NULL;
    int rc = SBIR_ERR;
    if (u && curl_url_set(u, CURLUPART_URL, j->url, 0) == CURLUE_OK && curl_url_get(u, CURLUPART_HOST, &h, 0) == CURLUE_OK &&
        h && *h) {
        snprintf(host, cap, "%s", h);
        rc = SBIR_OK;
    } else {
        snprintf(j->err, sizeof j->err, "%.300s: not a valid URL", j->url);
    }
    curl_free(h);
    curl_url_cleanup(u);
    return rc;
}

/* ---- one transfer ---- */

typedef struct {
    fetch_job *job;
    CURL *h;
    int fd;
    uint64_t offset;   /* bytes already in the part when the request was made */
    uint64_t written;  /* body bytes appended by this attempt */
    int64_t cr_start, cr_total; /* Content-Range of the last response (-1: none / unknown) */
    int64_t total;     /* announced size of the whole file, -1 unknown */
    int decided, to_file, too_big, range_mismatch, io_errno;
    long code;
    uint64_t max_bytes;
    uint64_t *bytes_counter;
    char range[32];
    char curl_err[CURL_ERROR_SIZE];
} xfer;

static size_t on_header(char *p, size_t sz, size_t n, void *ud) {
    xfer *x = ud;
    size_t len = sz * n;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (after a redirect or 100) */
        x->cr_start = x->cr_total = -1;
    } else if (len > 14 && strncasecmp(p, "content-range:", 14) == 0) {
        char buf[128];
        snprintf(buf, sizeof buf, "%.*s", (int)SBIR_MIN(len - 14, sizeof buf - 1), p + 14);
        long long a = -1, b = -1, t = -1;
        if (sscanf(buf, " bytes %lld-%lld/%lld", &a, &b, &t) >= 2) {
            x->cr_start = a;
            x->cr_total = t;
        } else if (sscanf(buf, " bytes */%lld", &t) == 1) {
            x->cr_total = t;
        }
    }
    return len;
}

/* Called once the final response's status is known (first body byte, or the end of the transfer):
 * decides whether the body goes to the part, and how it lines up with what is already there. */
static int decide(xfer *x) {
    x->decided = 1;
    curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->code);
    curl_off_t cl = -1;
    curl_easy_getinfo(x->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl);
    if (x->code == 206) {
        if (x->offset == 0 || x->cr_start != (int64_t)x->offset) {
            x->range_mismatch = 1; /* a range we did not ask for: start over */
            return SBIR_ERR;
        }
        x->total = x->cr_total >= 0 ? x->cr_total : (cl >= 0 ? (int64_t)x->offset + cl : -1);
        x->to_file = 1;
    } else if (x->code >= 200 && x->code < 300) {
        if (x->offset > 0) { /* the server ignored Range and sends the whole file again */
            if (ftruncate(x->fd, 0)) {
                x->io_errno = errno;
                return SBIR_ERR;
            }
            x->offset = 0;
        }
        x->total = cl >= 0 ? cl : -1;
        x->to_file = 1;
    } else {
        return SBIR_ERR; /* error page: not worth reading */
    }
    if (x->total >= 0 && (uint64_t)x->total > x->max_bytes) {
        x->too_big = 1;
        return SBIR_ERR;
    }
    return SBIR_OK;
}

static size_t on_body(char *p, size_t sz, size_t n, void *ud) {
    xfer *x = ud;
    size_t len = sz * n;
    if (!x->decided && decide(x)) return 0;
    if (!x->to_file) return 0;
    if (x->offset + x->written + len > x->max_bytes) {
        x->too_big = 1;
        return 0;
    }
    for (size_t done = 0; done < len;) {
        ssize_t w = write(x->fd, p + done, len - done);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            x->io_errno = w < 0 ? errno : EIO;
            return 0;
        }
        done += (size_t)w;
    }
    x->written += len;
    *x->bytes_counter += len;
    return len;
}

/* ---- the engine ---- */

typedef struct {
    const fetch_opts *o;
    fetch_stats *st;
    CURLM *m;
    host_table hosts;
    fetch_job *wait_head, *wait_tail; /* jobs in hand, not running (new or waiting for a retry) */
    int n_wait, active, exhausted;
    xfer **running; /* the active transfers, for an interrupt (curl_multi_get_handles is 8.4+) */
    sbir_progress prog;
    double last_draw;
} engine;

static void wait_push(engine *e, fetch_job *j) {
    j->link = NULL;
    if (e->wait_tail) e->wait_tail->link = j;
    else e->wait_head = j;
    e->wait_tail = j;
    e->n_wait++;
}

static void finish_job(engine *e, fetch_job *j) {
    e->st->finished++;
    if (j->result == FETCH_OK) {
        e->st->ok++;
        j->err[0] = 0;
    }
    e->o->done(e->o->ctx, j);
}

/* A failed attempt: try again later, or give up. */
static void retry_or_fail(engine *e, fetch_job *j) {
    if (j->attempts <= e->o->retries && !(e->o->stop && *e->o->stop)) {
        double d = e->o->backoff_s;
        for (int k = 1; k < j->attempts && d < 300; k++) d *= 2;
        j->not_before = sbir_now() + d;
        e->st->retries++;
        wait_push(e, j);
        return;
    }
    finish_job(e, j);
}

/* 0: running; 1: the job already failed (and went back through done()); SBIR_ERR: libcurl broke. */
static int start(engine *e, fetch_job *j) {
    const fetch_opts *o = e->o;
    xfer *x = callocCheck(1, sizeof *x);
    x->job = j;
    x->cr_start = x->cr_total = x->total = -1;
    x->max_bytes = o->max_bytes;
    x->bytes_counter = &e->st->bytes;
    x->fd = open(j->part, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    struct stat sb;
    if (x->fd < 0 || fstat(x->fd, &sb)) {
        j->result = FETCH_NET_ERROR;
        snprintf(j->err, sizeof j->err, "%.300s: cannot write: %s", j->part, strerror(errno));
        if (x->fd >= 0) close(x->fd);
        free(x);
        finish_job(e, j);
        return 1;
    }
    x->offset = (uint64_t)sb.st_size;
    x->h = curl_easy_init();
    if (!x->h) {
        close(x->fd);
        free(x);
        return sbir_error("curl_easy_init failed");
    }
    CURL *h = x->h;
    curl_easy_setopt(h, CURLOPT_URL, j->url);
    curl_easy_setopt(h, CURLOPT_PRIVATE, x);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, x->curl_err);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, 5L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_USERAGENT, "sbir-fetch/0.1 (+https://github.com/; research data download)");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, (long)(o->connect_timeout_s * 1000));
    if (o->timeout_s > 0) curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, (long)(o->timeout_s * 1000));
    if (o->stall_s > 0) {
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (long)(o->stall_s < 1 ? 1 : o->stall_s));
    }
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)o->max_bytes);
    if (x->offset > 0) {
        snprintf(x->range, sizeof x->range, "%llu-", (unsigned long long)x->offset);
        curl_easy_setopt(h, CURLOPT_RANGE, x->range);
    }
    j->attempts++;
    e->st->requests++;
    if (curl_multi_add_handle(e->m, h) != CURLM_OK) {
        curl_easy_cleanup(h);
        close(x->fd);
        free(x);
        return sbir_error("curl_multi_add_handle failed");
    }
    e->running[e->active++] = x;
    return SBIR_OK;
}

static void unlist(engine *e, xfer *x) {
    for (int i = 0; i < e->active; i++)
        if (e->running[i] == x) {
            e->running[i] = e->running[--e->active];
            return;
        }
}

static int retryable_status(long code) { return code >= 500 || code == 408 || code == 429; }

static uint64_t file_size(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 ? (uint64_t)sb.st_size : 0;
}

/* One attempt ended (curl result rc). */
static void attempt_done(engine *e, xfer *x, CURLcode rc) {
    fetch_job *j = x->job;
    const char *url = j->url;
    if (!x->decided && rc == CURLE_OK) decide(x); /* an empty body */
    if (!x->decided) curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->code);
    j->http = x->code;
    close(x->fd);
    int interrupted = e->o->stop && *e->o->stop;
    if (x->too_big || rc == CURLE_FILESIZE_EXCEEDED) {
        j->result = FETCH_TOO_BIG;
        curl_off_t cl = -1; /* curl may refuse from the headers alone, before decide() ran */
        if (x->total < 0 && curl_easy_getinfo(x->h, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &cl) == CURLE_OK && cl >= 0)
            x->total = (int64_t)x->offset + cl;
        if (x->total >= 0)
            snprintf(j->err, sizeof j->err, "%.300s: %lld bytes announced, larger than the limit of %llu bytes", url,
                     (long long)x->total, (unsigned long long)e->o->max_bytes);
        else
            snprintf(j->err, sizeof j->err, "%.300s: larger than the limit of %llu bytes", url,
                     (unsigned long long)e->o->max_bytes);
        unlink(j->part);
        finish_job(e, j);
        return;
    }
    if (x->io_errno) {
        j->result = FETCH_NET_ERROR;
        snprintf(j->err, sizeof j->err, "%.300s: writing %s: %s", url, j->part, strerror(x->io_errno));
        finish_job(e, j); /* a full disk does not heal by retrying */
        return;
    }
    if (x->range_mismatch) {
        j->result = FETCH_NET_ERROR;
        snprintf(j->err, sizeof j->err, "%.300s: asked for bytes %llu-, got a range starting at %lld", url,
                 (unsigned long long)x->offset, (long long)x->cr_start);
        if (truncate(j->part, 0)) {}
        retry_or_fail(e, j);
        return;
    }
    if (x->code == 416 && x->offset > 0) {
        /* "Range not satisfiable": the part may already be the whole file (killed before rename). */
        if (x->cr_total >= 0 && (uint64_t)x->cr_total == x->offset) {
            x->total = x->cr_total;
            rc = CURLE_OK;
            x->code = 200;
        } else {
            j->result = FETCH_NET_ERROR;
            snprintf(j->err, sizeof j->err, "%.300s: HTTP 416 for bytes %llu- (partial file out of date)", url,
                     (unsigned long long)x->offset);
            unlink(j->part);
            retry_or_fail(e, j);
            return;
        }
    }
    if (x->code >= 300 || (x->code > 0 && x->code < 200)) {
        j->result = FETCH_HTTP_ERROR;
        snprintf(j->err, sizeof j->err, "%.300s: HTTP %ld", url, x->code);
        if (retryable_status(x->code)) {
            if (file_size(j->part) == 0) unlink(j->part);
            retry_or_fail(e, j);
        } else {
            unlink(j->part); /* a dead link: nothing to resume */
            finish_job(e, j);
        }
        return;
    }
    if (rc != CURLE_OK) {
        j->result = interrupted ? FETCH_INTERRUPTED : FETCH_NET_ERROR;
        const char *why = x->curl_err[0] ? x->curl_err : curl_easy_strerror(rc);
        if (x->to_file && x->total >= 0)
            snprintf(j->err, sizeof j->err, "%.300s: connection ended at byte %llu of %lld (%s)", url,
                     (unsigned long long)(x->offset + x->written), (long long)x->total, why);
        else if (rc == CURLE_OPERATION_TIMEDOUT)
            snprintf(j->err, sizeof j->err, "%.300s: timed out (%s)", url, why);
        else
            snprintf(j->err, sizeof j->err, "%.300s: %s", url, why);
        if (file_size(j->part) == 0) unlink(j->part);
        if (rc == CURLE_UNSUPPORTED_PROTOCOL || rc == CURLE_URL_MALFORMAT) {
            j->result = FETCH_BAD_URL;
            finish_job(e, j);
        } else if (interrupted) {
            finish_job(e, j);
        } else {
            retry_or_fail(e, j);
        }
        return;
    }
    uint64_t have = file_size(j->part);
    j->size = have;
    if (x->total >= 0 && have != (uint64_t)x->total) {
        j->result = FETCH_NET_ERROR;
        snprintf(j->err, sizeof j->err, "%.300s: %s holds %llu bytes, the server announced %lld", url, j->part,
                 (unsigned long long)have, (long long)x->total);
        if (have > (uint64_t)x->total) unlink(j->part);
        retry_or_fail(e, j);
        return;
    }
    j->result = FETCH_OK;
    int c = e->o->complete(e->o->ctx, j);
    if (c == FETCH_DONE) {
        j->result = FETCH_OK;
        finish_job(e, j);
    } else if (c == FETCH_RETRY) {
        retry_or_fail(e, j);
    } else {
        finish_job(e, j);
    }
}

/* The next job allowed to start now: a waiting one whose time and host allow it, else a new one.
 * *wake gets the earliest time something waiting could start. */
static fetch_job *pick(engine *e, double now, double *wake) {
    const fetch_opts *o = e->o;
    for (;;) {
        fetch_job *prev = NULL;
        for (fetch_job *j = e->wait_head; j; prev = j, j = j->link) {
            double t = j->not_before;
            host_slot *hs = NULL;
            if (o->rate > 0) {
                if (j->host == 0) { /* looked up once: this list is scanned on every turn of the loop */
                    char host[256];
                    j->host = url_host(j, host, sizeof host) == SBIR_OK ? 1 + (int)(host_get(&e->hosts, host) - e->hosts.v) : -1;
                }
                if (j->host > 0) {
                    hs = &e->hosts.v[j->host - 1];
                    if (hs->next_ok > t) t = hs->next_ok;
                } else {
                    t = 0; /* a bad URL: start it so that it fails through the normal path */
                }
            }
            if (t > now) {
                if (t < *wake) *wake = t;
                continue;
            }
            if (prev) prev->link = j->link;
            else e->wait_head = j->link;
            if (e->wait_tail == j) e->wait_tail = prev;
            e->n_wait--;
            if (hs) hs->next_ok = (hs->next_ok > now ? hs->next_ok : now) + 1.0 / o->rate;
            return j;
        }
        /* Nothing waiting can start: take new jobs while the hand is small (memory stays bounded). */
        if (e->exhausted || e->n_wait >= 4 * o->jobs + 16) return NULL;
        fetch_job *j = o->next(o->ctx);
        if (!j) {
            e->exhausted = 1;
            return NULL;
        }
        j->not_before = 0;
        j->host = 0;
        j->attempts = 0;
        j->http = 0;
        j->err[0] = 0;
        wait_push(e, j);
    }
}

static void draw_progress(engine *e, int force) {
    if (!e->o->label) return;
    double now = sbir_now();
    if (!force && now - e->last_draw < 0.25) return;
    e->last_draw = now;
    uint64_t done = e->st->finished + (e->o->skipped && *e->o->skipped > 0 ? (uint64_t)*e->o->skipped : 0);
    if (e->prog.total < done) e->prog.total = done;
    progress_update(&e->prog, done, "%llu ok, %.1f MB, %d active", (unsigned long long)e->st->ok,
                    (double)e->st->bytes / 1e6, e->active);
}

static int bad_url_job(engine *e, fetch_job *j) {
    char host[256];
    if (url_host(j, host, sizeof host) == SBIR_OK) return 0;
    j->result = FETCH_BAD_URL;
    j->attempts = 0;
    finish_job(e, j);
    return 1;
}

int fetch_run(const fetch_opts *o, fetch_stats *st) {
    fetch_stats local;
    if (!st) st = &local;
    memset(st, 0, sizeof *st);
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return sbir_error("libcurl could not be initialised");
    engine e;
    memset(&e, 0, sizeof e);
    e.o = o;
    e.st = st;
    e.m = curl_multi_init();
    if (!e.m) {
        curl_global_cleanup();
        return sbir_error("libcurl: curl_multi_init failed");
    }
    int jobs = o->jobs > 0 ? o->jobs : 1;
    e.running = callocCheck((size_t)jobs, sizeof *e.running);
    if (o->label) progress_start(&e.prog, o->label, o->total);
    int rc = SBIR_OK;
    while (rc == SBIR_OK) {
        double now = sbir_now(), wake = now + 0.2;
        int stopping = o->stop && *o->stop;
        while (!stopping && e.active < jobs) {
            fetch_job *j = pick(&e, now, &wake);
            if (!j) break;
            if (bad_url_job(&e, j)) continue;
            if (start(&e, j) < 0) {
                rc = SBIR_ERR;
                break;
            }
        }
        if (stopping) { /* hand everything not running back as interrupted */
            while (e.wait_head) {
                fetch_job *j = e.wait_head;
                e.wait_head = j->link;
                e.n_wait--;
                j->result = FETCH_INTERRUPTED;
                if (!j->err[0]) snprintf(j->err, sizeof j->err, "%.300s: interrupted", j->url);
                finish_job(&e, j);
            }
            e.wait_tail = NULL;
            e.exhausted = 1;
        }
        if (e.active == 0 && !e.wait_head && e.exhausted) break;
        int running = 0;
        curl_multi_perform(e.m, &running);
        CURLMsg *msg;
        int left;
        while ((msg = curl_multi_info_read(e.m, &left))) {
            if (msg->msg != CURLMSG_DONE) continue;
            CURL *h = msg->easy_handle;
            CURLcode res = msg->data.result;
            xfer *x = NULL;
            curl_easy_getinfo(h, CURLINFO_PRIVATE, (char **)&x);
            curl_multi_remove_handle(e.m, h);
            unlist(&e, x);
            attempt_done(&e, x, res);
            curl_easy_cleanup(h);
            free(x);
        }
        if (stopping && e.active > 0) { /* abort the running transfers; their parts stay for a resume */
            while (e.active > 0) {
                xfer *x = e.running[e.active - 1];
                CURL *h = x->h;
                curl_multi_remove_handle(e.m, h);
                e.active--;
                attempt_done(&e, x, CURLE_ABORTED_BY_CALLBACK);
                curl_easy_cleanup(h);
                free(x);
            }
            continue;
        }
        draw_progress(&e, 0);
        double t = wake - sbir_now();
        int ms = t <= 0 ? 0 : t > 0.2 ? 200 : (int)(t * 1000) + 1;
        if (e.active > 0 || ms > 0) curl_multi_poll(e.m, NULL, 0, ms, NULL);
    }
    if (o->label) {
        draw_progress(&e, 1);
        progress_end(&e.prog);
    }
    curl_multi_cleanup(e.m);
    free(e.hosts.v);
    free(e.running);
    curl_global_cleanup();
    return rc;
}
