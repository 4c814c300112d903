/* fetch_bam.c — see fetch_bam.h. The selection streams from the BAM! database straight into the
 * download engine (fetch_http.h), so 2.5M mids cost no more memory than 20. */
#include "fetch/fetch_bam.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/image.h"
#include "data/bam_select.h"
#include "fetch/fetch_http.h"
#include "fetch/fetch_state.h"
#include "util/atomic_file.h"
#include "util/common.h"

void fetch_bam_opts_default(fetch_bam_opts *o) {
    memset(o, 0, sizeof *o);
    o->jobs = 16;
    o->rate = 10;
    o->timeout_s = 60;
    o->retries = 3;
    o->backoff_s = 1;
    o->max_bytes = (uint64_t)64 << 20;
}

typedef struct {
    fetch_job j;
    long long mid;
    char *url;
    char part[4200];
    char file[64]; /* final name inside DIR once done */
} bam_job;

typedef struct {
    const fetch_bam_opts *o;
    fetch_bam_report *r;
    bam_select *sel;
    fetch_state *fs;
    int64_t *cells;
    int n_contents;
    int64_t skipped;
    int fatal;
    char fatal_msg[512];
} bam_ctx;

static void add_example(fetch_bam_report *r, const char *msg) {
    if (r->n_examples < (int)SBIR_ARRAY_LEN(r->examples))
        snprintf(r->examples[r->n_examples++], sizeof r->examples[0], "%s", msg);
}

static void add_code(fetch_bam_report *r, int dead, long code) {
    int *n = dead ? &r->n_dead_codes : &r->n_failed_codes;
    __typeof__(r->dead_codes[0]) *v = dead ? r->dead_codes : r->failed_codes;
    for (int i = 0; i < *n; i++)
        if (v[i].code == code) {
            v[i].n++;
            return;
        }
    if (*n < FETCH_BAM_MAX_CODES) {
        v[*n].code = code;
        v[*n].n = 1;
        (*n)++;
    } else {
        v[FETCH_BAM_MAX_CODES - 1].n++; /* lumped with the last kind: the report stays bounded */
    }
}

static void set_fatal(bam_ctx *c) {
    if (!c->fatal) snprintf(c->fatal_msg, sizeof c->fatal_msg, "%s", sbir_last_error());
    c->fatal = 1; /* next_job() hands out no more work; the running transfers finish */
}

static int put(bam_ctx *c, long long mid, const char *url, const char *status, long http, int attempts,
               const char *file, const char *err) {
    if (fetch_state_put(c->fs, mid, url ? url : "", status, http, attempts, file, err)) {
        set_fatal(c);
        return SBIR_ERR;
    }
    return SBIR_OK;
}

/* Decodes the bytes fully enough to know they are a real JPEG/PNG (the DCT-scaled JPEG decode still
 * reads every entropy-coded byte, so a truncated file is caught). Returns the extension or NULL. */
static const char *check_image(const unsigned char *buf, size_t n, const char *name) {
    image_format fmt = image_sniff(buf, n);
    if (fmt == IMAGE_FORMAT_UNKNOWN) {
        sbir_error("%s: not an image (%zu bytes starting with '%.12s')", name, n, n ? (const char *)buf : "");
        return NULL;
    }
    sbir_image im = {0};
    if (image_decode_mem(buf, n, name, 64, &im)) return NULL;
    image_free(&im);
    return fmt == IMAGE_FORMAT_PNG ? "png" : "jpg";
}

static int check_image_file(const char *path, uint64_t max_bytes) {
    unsigned char *buf;
    size_t n;
    if (read_file_all(path, max_bytes, &buf, &n)) return SBIR_ERR;
    const char *ext = check_image(buf, n, path);
    free(buf);
    return ext ? SBIR_OK : SBIR_ERR;
}

/* DIR/<mid>.<ext> already there (any of the importer's extensions): its name, or 0. */
static int existing_file(const char *dir, long long mid, char *name, size_t cap, char *path, size_t pcap) {
    static const char *exts[] = {"jpg", "jpeg", "png", "JPG", "JPEG", "PNG"};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(exts); i++) {
        snprintf(name, cap, "%lld.%s", mid, exts[i]);
        snprintf(path, pcap, "%s/%s", dir, name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) return 1;
    }
    return 0;
}

static fetch_job *next_job(void *ud) {
    bam_ctx *c = ud;
    const fetch_bam_opts *o = c->o;
    fetch_bam_report *r = c->r;
    bam_row row;
    while (!c->fatal) {
        int rc = bam_select_next(c->sel, &row);
        if (rc == 0) return NULL;
        if (rc < 0) {
            set_fatal(c);
            return NULL;
        }
        r->mids++;
        if (row.why != BAM_SELECTED) {
            r->not_selected++;
            continue;
        }
        int64_t *cell = &c->cells[row.medium * c->n_contents + row.content];
        if ((o->per_cell > 0 && *cell >= o->per_cell) || (o->limit > 0 && r->found >= o->limit)) {
            r->over_cell++;
            continue;
        }
        (*cell)++;
        r->found++;
        char status[32], file[64], path[4200];
        int have = fetch_state_get(c->fs, row.mid, status, sizeof status, file, sizeof file);
        if (have < 0) {
            set_fatal(c);
            return NULL;
        }
        struct stat st;
        if (have && strcmp(status, "done") == 0 && file[0] && !strchr(file, '/') &&
            (snprintf(path, sizeof path, "%s/%s", o->out, file), stat(path, &st) == 0)) {
            r->done_before++;
            c->skipped++;
            continue;
        }
        if (have && strcmp(status, "dead") == 0 && !o->retry_dead) {
            r->dead_before++;
            c->skipped++;
            continue;
        }
        if (existing_file(o->out, row.mid, file, sizeof file, path, sizeof path)) {
            if (check_image_file(path, o->max_bytes) == SBIR_OK) {
                r->present++;
                c->skipped++;
                if (put(c, row.mid, row.src, "done", 0, 0, file, NULL)) return NULL;
                continue;
            }
            unlink(path); /* a broken file would shadow the download for `sbir import bam` */
        }
        if (!row.src || !*row.src) {
            r->bad_url++;
            c->skipped++;
            char msg[128];
            snprintf(msg, sizeof msg, "mid %lld: modules.src is empty", row.mid);
            add_example(r, msg);
            if (put(c, row.mid, "", "bad_url", 0, 0, NULL, msg)) return NULL;
            continue;
        }
        bam_job *b = callocCheck(1, sizeof *b);
        b->mid = row.mid;
        b->url = strdupCheck(row.src);
        snprintf(b->part, sizeof b->part, "%s/%lld.part", o->out, row.mid);
        b->j.url = b->url;
        b->j.part = b->part;
        b->j.user = b;
        return &b->j;
    }
    return NULL;
}

static int complete_job(void *ud, fetch_job *j) {
    bam_ctx *c = ud;
    bam_job *b = j->user;
    unsigned char *buf;
    size_t n;
    const char *ext = NULL;
    if (read_file_all(j->part, c->o->max_bytes, &buf, &n) == SBIR_OK) {
        ext = check_image(buf, n, j->url);
        free(buf);
    }
    if (!ext) {
        j->result = FETCH_BAD_CONTENT;
        snprintf(j->err, sizeof j->err, "%s", sbir_last_error());
        unlink(j->part);
        return FETCH_FAIL;
    }
    snprintf(b->file, sizeof b->file, "%lld.%s", b->mid, ext);
    char final[4300];
    snprintf(final, sizeof final, "%s/%s", c->o->out, b->file);
    if (fetch_commit_file(j->part, final)) {
        j->result = FETCH_NET_ERROR;
        snprintf(j->err, sizeof j->err, "%s", sbir_last_error());
        return FETCH_FAIL;
    }
    return FETCH_DONE;
}

static void job_done(void *ud, fetch_job *j) {
    bam_ctx *c = ud;
    fetch_bam_report *r = c->r;
    bam_job *b = j->user;
    const char *status = "failed";
    switch (j->result) {
    case FETCH_OK:
        status = "done";
        r->downloaded++;
        r->bytes += j->size;
        break;
    case FETCH_HTTP_ERROR:
        if (j->http >= 400 && j->http < 500 && j->http != 408 && j->http != 429) {
            status = "dead";
            r->dead++;
            add_code(r, 1, j->http);
        } else {
            r->failed++;
            add_code(r, 0, j->http);
        }
        break;
    case FETCH_NET_ERROR:
        r->failed++;
        add_code(r, 0, 0);
        break;
    case FETCH_TOO_BIG: status = "too_big"; r->too_big++; break;
    case FETCH_BAD_CONTENT: status = "not_image"; r->not_image++; break;
    case FETCH_BAD_URL: status = "bad_url"; r->bad_url++; break;
    case FETCH_INTERRUPTED: status = NULL; r->interrupted++; break;
    }
    if (j->result != FETCH_OK && j->result != FETCH_INTERRUPTED) add_example(r, j->err);
    if (status && !c->fatal) put(c, b->mid, b->url, status, j->http, j->attempts, j->result == FETCH_OK ? b->file : NULL, j->err);
    free(b->url);
    free(b);
}

int fetch_bam(const fetch_bam_opts *o, fetch_bam_report *r) {
    memset(r, 0, sizeof *r);
    double t0 = sbir_now();
    struct stat st;
    if (mkdir(o->out, 0755) != 0 && errno != EEXIST) return sbir_error("%s: cannot create: %s", o->out, strerror(errno));
    if (stat(o->out, &st) != 0 || !S_ISDIR(st.st_mode)) return sbir_error("%s: not a directory", o->out);
    bam_select_opts so = {.db = o->db, .labels = o->labels, .threshold = o->threshold, .media = o->media,
                          .n_media = o->n_media, .contents = o->contents, .n_contents = o->n_contents};
    bam_ctx c;
    memset(&c, 0, sizeof c);
    c.o = o;
    c.r = r;
    if (!(c.sel = bam_select_open(&so))) return SBIR_ERR;
    if (!(c.fs = fetch_state_open(o->out))) {
        bam_select_close(c.sel);
        return SBIR_ERR;
    }
    c.n_contents = bam_select_n_contents(c.sel);
    c.cells = callocCheck((size_t)bam_select_n_media(c.sel) * (size_t)c.n_contents, sizeof *c.cells);
    fetch_opts fo;
    fetch_opts_default(&fo);
    fo.jobs = o->jobs > 0 ? o->jobs : 16;
    fo.rate = o->rate;
    fo.timeout_s = o->timeout_s;
    fo.stall_s = o->timeout_s > 0 ? o->timeout_s : 30;
    fo.connect_timeout_s = o->timeout_s > 0 && o->timeout_s < 15 ? o->timeout_s : 15;
    fo.retries = o->retries;
    fo.backoff_s = o->backoff_s;
    fo.max_bytes = o->max_bytes ? o->max_bytes : (uint64_t)64 << 20;
    fo.label = o->progress ? "fetch bam" : NULL;
    fo.total = (uint64_t)bam_select_count(c.sel);
    if (o->per_cell > 0 || o->limit > 0) {
        uint64_t cap = o->per_cell > 0 ? (uint64_t)o->per_cell * bam_select_n_media(c.sel) * c.n_contents : UINT64_MAX;
        if (o->limit > 0 && (uint64_t)o->limit < cap) cap = (uint64_t)o->limit;
        if (cap < fo.total) fo.total = cap;
    }
    fo.skipped = &c.skipped;
    fo.stop = o->stop;
    fo.next = next_job;
    fo.complete = complete_job;
    fo.done = job_done;
    fo.ctx = &c;
    int rc = fetch_run(&fo, NULL);
    if (rc == SBIR_OK && c.fatal) rc = sbir_error("%s", c.fatal_msg);
    int rc2 = fetch_state_close(c.fs);
    if (rc == SBIR_OK) rc = rc2;
    bam_select_close(c.sel);
    free(c.cells);
    r->seconds = sbir_now() - t0;
    return rc;
}
