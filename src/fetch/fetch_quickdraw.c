/* fetch_quickdraw.c — see fetch_quickdraw.h. A handful of big files: the engine's job list is the
 * class list, and its progress status shows the megabytes. */
#include "fetch/fetch_quickdraw.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/quickdraw.h"
#include "fetch/fetch_http.h"
#include "fetch/qd_trim.h"
#include "util/common.h"

static const struct {
    const char *dir, *ext;
    qd_format qd;
} k_fmt[4] = {{"simplified", "ndjson", QD_NDJSON}, {"raw", "ndjson", QD_NDJSON}, {"numpy_bitmap", "npy", QD_NPY},
              {"binary", "bin", QD_BIN}};

void fetch_qd_opts_default(fetch_qd_opts *o) {
    memset(o, 0, sizeof *o);
    o->jobs = 4;
    o->retries = 5;
    o->backoff_s = 1;
    o->stall_s = 60;
    o->max_bytes = (uint64_t)8 << 30;
}

int fetch_qd_format_parse(const char *s, qd_fetch_format *f) {
    if (!strcmp(s, "simplified")) *f = QD_FETCH_SIMPLIFIED;
    else if (!strcmp(s, "raw")) *f = QD_FETCH_RAW;
    else if (!strcmp(s, "bitmap") || !strcmp(s, "numpy_bitmap") || !strcmp(s, "npy")) *f = QD_FETCH_BITMAP;
    else if (!strcmp(s, "binary") || !strcmp(s, "bin")) *f = QD_FETCH_BINARY;
    else return sbir_error("unknown Quick, Draw! format '%s' (simplified, raw, bitmap or binary)", s);
    return SBIR_OK;
}

int fetch_qd_file_name(const char *cls, qd_fetch_format f, char *out, size_t cap) {
    size_t n = strlen(cls);
    if (n == 0 || n > 200 || cls[0] == '.' || cls[0] == ' ')
        return sbir_error("'%s': not a Quick, Draw! class name", cls);
    for (const unsigned char *p = (const unsigned char *)cls; *p; p++)
        if (*p < 0x20 || *p == 0x7f || *p == '/' || *p == '\\')
            return sbir_error("'%s': not a Quick, Draw! class name (character 0x%02x)", cls, *p);
    if ((size_t)snprintf(out, cap, "%s.%s", cls, k_fmt[f].ext) >= cap) return sbir_error("'%s': name too long", cls);
    return SBIR_OK;
}

int fetch_qd_url(const char *base, const char *cls, qd_fetch_format f, char *out, size_t cap) {
    char esc[1024];
    if (fetch_url_escape(cls, esc, sizeof esc)) return SBIR_ERR;
    size_t bl = strlen(base);
    while (bl > 0 && base[bl - 1] == '/') bl--; /* "…/full/" and "…/full" are the same mirror */
    if ((size_t)snprintf(out, cap, "%.*s/%s/%s.%s", (int)bl, base, k_fmt[f].dir, esc, k_fmt[f].ext) >= cap)
        return sbir_error("%s: URL too long", base);
    return SBIR_OK;
}

typedef struct {
    fetch_job j;
    char url[2048], part[4300], final[4300];
} qd_job;

typedef struct {
    const fetch_qd_opts *o;
    fetch_qd_report *r;
    qd_job *jobs;
    int n, next;
} qd_ctx;

static fetch_job *next_job(void *ud) {
    qd_ctx *c = ud;
    return c->next < c->n ? &c->jobs[c->next++].j : NULL;
}

static int complete_job(void *ud, fetch_job *j) {
    qd_ctx *c = ud;
    qd_job *q = j->user;
    qd_format fmt = k_fmt[c->o->format].qd;
    /* The first drawing must parse: a mirror that answers 200 with an HTML page fails here. */
    qd_options qo;
    qd_options_default(&qo);
    qo.format = fmt;
    qd_reader *rd = qd_open(q->part, &qo);
    int ok = rd != NULL;
    if (rd) {
        sbir_sketch s;
        sketch_init(&s);
        ok = qd_next(rd, &s) == 1;
        sketch_free(&s);
        qd_close(rd);
    }
    if (!ok) {
        j->result = FETCH_BAD_CONTENT;
        snprintf(j->err, sizeof j->err, "%.300s: not a Quick, Draw! %s file: %s", j->url, qd_format_name(fmt),
                 sbir_last_error());
        unlink(q->part);
        return FETCH_FAIL;
    }
    int rc;
    if (c->o->max_per_class > 0) {
        uint64_t kept;
        rc = qd_trim(q->part, q->final, fmt, (uint64_t)c->o->max_per_class, &kept);
        if (rc == SBIR_OK) unlink(q->part);
    } else {
        rc = fetch_commit_file(q->part, q->final);
    }
    if (rc) {
        j->result = FETCH_BAD_CONTENT;
        snprintf(j->err, sizeof j->err, "%.300s: %s", j->url, sbir_last_error());
        return FETCH_FAIL;
    }
    return FETCH_DONE;
}

static void job_done(void *ud, fetch_job *j) {
    qd_ctx *c = ud;
    if (j->result == FETCH_OK) {
        c->r->downloaded++;
        c->r->bytes += j->size;
    } else {
        c->r->failed++;
        if (c->r->n_examples < (int)SBIR_ARRAY_LEN(c->r->examples))
            snprintf(c->r->examples[c->r->n_examples++], sizeof c->r->examples[0], "%s", j->err);
    }
}

int fetch_quickdraw(const fetch_qd_opts *o, fetch_qd_report *r) {
    memset(r, 0, sizeof *r);
    double t0 = sbir_now();
    if (o->n_classes <= 0) return sbir_error("no Quick, Draw! class given");
    if ((unsigned)o->format > QD_FETCH_BINARY) return sbir_error("bad Quick, Draw! format");
    if (mkdir(o->out, 0755) != 0 && errno != EEXIST) return sbir_error("%s: cannot create: %s", o->out, strerror(errno));
    struct stat st;
    if (stat(o->out, &st) != 0 || !S_ISDIR(st.st_mode)) return sbir_error("%s: not a directory", o->out);
    const char *base = o->base_url && *o->base_url ? o->base_url : FETCH_QD_DEFAULT_BASE;
    qd_ctx c = {.o = o, .r = r};
    c.jobs = callocCheck((size_t)o->n_classes, sizeof *c.jobs);
    r->classes = o->n_classes;
    int rc = SBIR_OK;
    for (int i = 0; i < o->n_classes && rc == SBIR_OK; i++) {
        char name[512];
        qd_job *q = &c.jobs[c.n];
        if (fetch_qd_file_name(o->classes[i], o->format, name, sizeof name) ||
            fetch_qd_url(base, o->classes[i], o->format, q->url, sizeof q->url)) {
            rc = SBIR_ERR;
            break;
        }
        for (int k = 0; k < i; k++)
            if (!strcmp(o->classes[k], o->classes[i])) rc = sbir_error("class '%s' given twice", o->classes[i]);
        snprintf(q->final, sizeof q->final, "%s/%s", o->out, name);
        snprintf(q->part, sizeof q->part, "%s.part", q->final);
        if (stat(q->final, &st) == 0) { /* finished in an earlier run */
            r->present++;
            continue;
        }
        q->j.url = q->url;
        q->j.part = q->part;
        q->j.user = q;
        c.n++;
    }
    if (rc == SBIR_OK && c.n > 0) {
        fetch_opts fo;
        fetch_opts_default(&fo);
        fo.jobs = o->jobs > 0 ? o->jobs : 4;
        fo.retries = o->retries;
        fo.backoff_s = o->backoff_s;
        fo.stall_s = o->stall_s > 0 ? o->stall_s : 60;
        fo.connect_timeout_s = fo.stall_s < 15 ? fo.stall_s : 15;
        fo.timeout_s = 0; /* a 300 MB file may take long; a stalled one is cut by stall_s */
        fo.max_bytes = o->max_bytes ? o->max_bytes : (uint64_t)8 << 30;
        fo.label = o->progress ? "fetch quickdraw" : NULL;
        fo.total = (uint64_t)c.n;
        fo.stop = o->stop;
        fo.next = next_job;
        fo.complete = complete_job;
        fo.done = job_done;
        fo.ctx = &c;
        rc = fetch_run(&fo, NULL);
    }
    free(c.jobs);
    r->seconds = sbir_now() - t0;
    if (rc == SBIR_OK && r->failed > 0)
        rc = sbir_error("%d of %d Quick, Draw! files could not be fetched; first: %s", r->failed, r->classes,
                        r->examples[0]);
    return rc;
}
