/* sharded_search.c — see sharded.h. */
#include "api/sharded.h"

#include <stdio.h>
#include <string.h>

#include "api/api_internal.h"
#include "dist/comm.h"
#include "index/shards.h"
#include "util/common.h"

struct sharded_index {
    shard_manifest man;
    int nproc;
    int n_parts;
    int *shard_of;          /* the shard number of each part */
    sbir_index_ctx **parts; /* this process's shards */
};

sbir_status sharded_open(const char *path, int rank, int nproc, sharded_index **out) {
    if (!out) return api_fail(SBIR_E_ARG, "sharded_open: out is NULL");
    *out = NULL;
    if (!path || nproc < 1 || rank < 0 || rank >= nproc) return api_fail(SBIR_E_ARG, "sharded_open: bad arguments");
    sharded_index *s = callocCheck(1, sizeof *s);
    s->nproc = nproc;
    if (shard_manifest_read(path, &s->man) != SBIR_OK) {
        free(s);
        return api_file_status(path);
    }
    int n = s->man.n;
    sbir_status st = SBIR_E_OK;
    if (nproc > n)
        st = api_fail(SBIR_E_ARG, "%s has %d shard%s but %d processes were started: start at most %d (mpirun -np %d)", path,
                      n, n == 1 ? "" : "s", nproc, n, n);
    else if (nproc > 1 && (nproc != comm_size() || rank != comm_rank()))
        st = api_fail(SBIR_E_ARG, "sharded_open: rank %d of %d is not this MPI job's (%d of %d)", rank, nproc, comm_rank(),
                      comm_size());
    if (st != SBIR_E_OK) {
        sharded_close(s);
        return st;
    }
    int cap = (s->man.n + nproc - 1) / nproc;
    s->shard_of = mallocCheck(sizeof(int) * (size_t)cap);
    s->parts = callocCheck((size_t)cap, sizeof *s->parts);
    for (int sh = rank; sh < s->man.n; sh += nproc) {
        sbir_index *ix = shard_open(path, &s->man, sh, 0);
        st = ix ? api_index_wrap(ix, &s->parts[s->n_parts]) : SBIR_E_FORMAT;
        if (st != SBIR_E_OK) {
            if (!ix) st = api_file_status(s->man.shards[sh].path);
            sharded_close(s);
            return st;
        }
        s->shard_of[s->n_parts++] = sh;
    }
    *out = s;
    return SBIR_E_OK;
}

void sharded_close(sharded_index *s) {
    if (!s) return;
    for (int i = 0; i < s->n_parts; i++) sbir_index_close(s->parts[i]);
    free(s->parts);
    free(s->shard_of);
    shard_manifest_free(&s->man);
    free(s);
}

const char *sharded_fingerprint(const sharded_index *s) { return s ? s->man.fingerprint : ""; }
int64_t sharded_count(const sharded_index *s) { return s ? s->man.count : 0; }
int sharded_n_shards(const sharded_index *s) { return s ? s->man.n : 0; }
int sharded_n_local(const sharded_index *s) { return s ? s->n_parts : 0; }

/* ---- the exchange ---- */

#define MSG_BYTES 504

/* One process's message: a header, count records, then their paths (each with its NUL). */
typedef struct {
    int32_t status; /* sbir_status of this process's search */
    int32_t count;
    char msg[MSG_BYTES]; /* its error when status != 0 */
} wire_header;

typedef struct {
    float key, score, dc, ds;
    int64_t row, id; /* global row */
    int32_t class_id, style_id;
    uint32_t path_bytes; /* including the NUL */
    uint32_t pad;
} wire_hit;

typedef struct {
    unsigned char *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *x, size_t n) {
    if (b->n + n > b->cap) {
        b->cap = SBIR_MAX(b->cap * 2, b->n + n);
        b->p = reallocCheck(b->p, b->cap);
    }
    memcpy(b->p + b->n, x, n);
    b->n += n;
}

/* This process's candidates: its shards searched one after another. */
static sbir_status local_candidates(const sharded_index *s, const sbir_model_ctx *m, const sbir_query *q, buf *out) {
    wire_header h = {0};
    put(out, &h, sizeof h);
    fused_hit *hits = mallocCheck(sizeof(fused_hit) * (size_t)q->k);
    wire_hit *w = mallocCheck(sizeof(wire_hit) * (size_t)q->k * (size_t)s->n_parts);
    buf paths = {0};
    sbir_status st = SBIR_E_OK;
    int count = 0;
    for (int p = 0; p < s->n_parts && st == SBIR_E_OK; p++) {
        int got = 0;
        st = api_search_hits(s->parts[p], m, q, NULL, 0, hits, &got);
        for (int i = 0; st == SBIR_E_OK && i < got; i++) {
            sbir_result r = api_result(s->parts[p], &hits[i]);
            const sbir_index_item *it = &index_items(s->parts[p]->ix)[hits[i].row];
            size_t len = strlen(r.path) + 1;
            w[count++] = (wire_hit){hits[i].key, hits[i].score, hits[i].dc, hits[i].ds,
                                    shard_global_row(hits[i].row, s->man.n, s->shard_of[p]), it->id, it->class_id,
                                    it->style_id, (uint32_t)len, 0};
            put(&paths, r.path, len);
        }
    }
    if (st == SBIR_E_OK) {
        h.count = count;
        put(out, w, sizeof(wire_hit) * (size_t)count);
        if (paths.n) put(out, paths.p, paths.n);
    } else {
        h.status = (int32_t)st;
        snprintf(h.msg, sizeof h.msg, "%s", sbir_last_error());
    }
    memcpy(out->p, &h, sizeof h);
    free(paths.p);
    free(w);
    free(hits);
    return st;
}

sbir_status sharded_agree(int nproc, sbir_status st) {
    if (nproc <= 1) return st;
    wire_header mine = {.status = (int32_t)st};
    if (st != SBIR_E_OK) snprintf(mine.msg, sizeof mine.msg, "%s", sbir_last_error());
    wire_header *all = mallocCheck(sizeof(wire_header) * (size_t)nproc);
    sbir_status res = SBIR_E_OK;
    if (comm_allgather(&mine, all, sizeof mine) != 0) res = SBIR_E_INTERNAL;
    for (int r = 0; res == SBIR_E_OK && r < nproc; r++) {
        if (all[r].status == SBIR_E_OK) continue;
        res = (sbir_status)all[r].status;
        if (r != comm_rank()) api_fail(res, "rank %d: %.*s", r, MSG_BYTES, all[r].msg);
        else if (st == SBIR_E_OK) api_fail(res, "%.*s", MSG_BYTES, all[r].msg);
    }
    free(all);
    return res;
}

/* Every process's message, one after another: checks them, collects hits and path pointers. */
static sbir_status unpack(const sharded_index *s, unsigned char *all, const size_t *sizes, int nproc, wire_hit **hits,
                          const char ***paths, int64_t *n) {
    *n = 0;
    size_t off = 0, total = 0;
    for (int r = 0; r < nproc; r++) {
        wire_header h;
        if (sizes[r] < sizeof h) return api_fail(SBIR_E_INTERNAL, "sharded search: rank %d sent %zu bytes", r, sizes[r]);
        memcpy(&h, all + off, sizeof h);
        if (h.status != SBIR_E_OK) {
            if (r == comm_rank() || nproc == 1) return (sbir_status)h.status; /* our own message is already set */
            return api_fail((sbir_status)h.status, "rank %d: %.*s", r, MSG_BYTES, h.msg);
        }
        total += (size_t)h.count;
        off += sizes[r];
    }
    *hits = mallocCheck(sizeof(wire_hit) * (total ? total : 1));
    *paths = mallocCheck(sizeof(char *) * (total ? total : 1));
    off = 0;
    for (int r = 0; r < nproc; r++) {
        wire_header h;
        memcpy(&h, all + off, sizeof h);
        size_t at = off + sizeof h, end = off + sizes[r];
        if (at + sizeof(wire_hit) * (size_t)h.count > end)
            return api_fail(SBIR_E_INTERNAL, "sharded search: rank %d's message is short", r);
        memcpy(*hits + *n, all + at, sizeof(wire_hit) * (size_t)h.count);
        at += sizeof(wire_hit) * (size_t)h.count;
        for (int i = 0; i < h.count; i++) {
            const wire_hit *w = &(*hits)[*n + i];
            if (w->path_bytes < 1 || at + w->path_bytes > end || all[at + w->path_bytes - 1] != '\0' ||
                w->row < 0 || w->row >= s->man.count)
                return api_fail(SBIR_E_INTERNAL, "sharded search: rank %d's message is malformed", r);
            (*paths)[*n + i] = (const char *)all + at;
            at += w->path_bytes;
        }
        *n += h.count;
        off = end;
    }
    return SBIR_E_OK;
}

static const char *or_empty(const char *s) { return s ? s : ""; }

sbir_status sharded_search(const sharded_index *s, const sbir_model_ctx *m, const sbir_query *q, sharded_results *out) {
    if (!out) return api_fail(SBIR_E_ARG, "sharded_search: out is NULL");
    memset(out, 0, sizeof *out);
    if (!s || !m || !q || q->k < 1) return api_fail(SBIR_E_ARG, "sbir_search: bad arguments (NULL pointer or k < 1)");
    buf mine = {0};
    local_candidates(s, m, q, &mine); /* a failure travels in the message */
    int nproc = s->nproc;
    size_t *sizes = mallocCheck(sizeof(size_t) * (size_t)nproc);
    unsigned char *all = NULL;
    sbir_status st = SBIR_E_OK;
    if (nproc == 1) {
        all = mine.p, sizes[0] = mine.n;
        mine.p = NULL;
    } else if (comm_allgatherv(mine.p, mine.n, (void **)&all, sizes) != 0) {
        st = SBIR_E_INTERNAL;
    }
    free(mine.p);
    wire_hit *hits = NULL;
    const char **paths = NULL;
    int64_t n = 0;
    if (st == SBIR_E_OK) st = unpack(s, all, sizes, nproc, &hits, &paths, &n);
    if (st == SBIR_E_OK) {
        shard_hit *sh = mallocCheck(sizeof(shard_hit) * (size_t)(n ? n : 1));
        for (int64_t i = 0; i < n; i++) sh[i] = (shard_hit){hits[i].key, hits[i].score, hits[i].row, i};
        int64_t kept = shard_merge(sh, n, q->k);
        out->res = mallocCheck(sizeof(sbir_result) * (size_t)(kept ? kept : 1));
        const sbir_index *labels = s->parts[0]->ix; /* every shard holds the same label tables (shard_open) */
        for (int64_t i = 0; i < kept; i++) {
            const wire_hit *w = &hits[sh[i].tag];
            out->res[i] = (sbir_result){.row = w->row,
                                        .id = w->id,
                                        .score = w->score,
                                        .content_dist = w->dc,
                                        .style_dist = w->ds,
                                        .class_name = or_empty(index_class_name(labels, w->class_id)),
                                        .style = or_empty(index_style_name(labels, w->style_id)),
                                        .path = paths[sh[i].tag]};
        }
        out->n = (int)kept;
        out->owned = all;
        all = NULL;
        free(sh);
    }
    free(hits);
    free(paths);
    free(all);
    free(sizes);
    return st;
}

void sharded_results_free(sharded_results *r) {
    if (!r) return;
    free(r->res);
    free(r->owned);
    memset(r, 0, sizeof *r);
}
