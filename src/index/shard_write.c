/* shard_write.c — writing a sharded index (shards.h): every shard an index file of its own, then the
 * manifest that lists them with their sizes and CRCs. */
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "index/shards.h"
#include "util/atomic_file.h"
#include "util/common.h"

/* Size and trailer CRC of a written index file (the trailer is "SBIRIEND", u32 CRC, u32 0). */
static int file_size_crc(const char *path, uint64_t *bytes, uint32_t *crc) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return sbir_error("%s: cannot reopen the shard just written", path);
    struct stat st;
    unsigned char t[16];
    int ok = fstat(fd, &st) == 0 && st.st_size >= 16 && pread(fd, t, 16, st.st_size - 16) == 16 &&
             memcmp(t, "SBIRIEND", 8) == 0;
    close(fd);
    if (!ok) return sbir_error("%s: the shard just written has no index trailer", path);
    *bytes = (uint64_t)st.st_size;
    memcpy(crc, t + 8, 4);
    return SBIR_OK;
}

/* Rows of shard s copied out of rows (round-robin: global row r = local * n + s). */
typedef struct {
    float *content, *style;
    sbir_index_item *items;
    const char **paths;
    sbir_index_rows rows;
} part;

static void part_fill(part *p, const sbir_index_rows *all, int n, int s) {
    int64_t m = shard_count(all->n, n, s);
    size_t dc = (size_t)all->dim_content, ds = (size_t)all->dim_style;
    p->content = mallocCheck(sizeof(float) * (size_t)(m ? m : 1) * (dc ? dc : 1));
    p->style = mallocCheck(sizeof(float) * (size_t)(m ? m : 1) * (ds ? ds : 1));
    p->items = mallocCheck(sizeof(sbir_index_item) * (size_t)(m ? m : 1));
    p->paths = all->paths ? mallocCheck(sizeof(char *) * (size_t)(m ? m : 1)) : NULL;
    for (int64_t l = 0; l < m; l++) {
        int64_t r = shard_global_row(l, n, s);
        memcpy(p->content + (size_t)l * dc, all->content + (size_t)r * dc, sizeof(float) * dc);
        if (ds) memcpy(p->style + (size_t)l * ds, all->style + (size_t)r * ds, sizeof(float) * ds);
        p->items[l] = all->items[r];
        if (p->paths) p->paths[l] = all->paths[r];
    }
    p->rows = (sbir_index_rows){m, all->dim_content, all->dim_style, p->content, p->style, p->items,
                                (const char *const *)p->paths};
}

static void part_free(part *p) {
    free(p->content), free(p->style), free(p->items), free(p->paths);
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

static cJSON *manifest_json(const shard_manifest *m) {
    char hex[16];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "format", "sbir-sharded-index");
    cJSON_AddNumberToObject(o, "version", 1);
    cJSON_AddStringToObject(o, "assignment", "row % shards");
    cJSON_AddNumberToObject(o, "shards", m->n);
    cJSON_AddNumberToObject(o, "count", (double)m->count);
    cJSON_AddStringToObject(o, "fingerprint", m->fingerprint);
    cJSON_AddNumberToObject(o, "dim_content", m->dim_content);
    cJSON_AddNumberToObject(o, "dim_style", m->dim_style);
    cJSON_AddStringToObject(o, "elem", sbir_elem_name(m->elem));
    snprintf(hex, sizeof hex, "%08x", m->labels_crc);
    cJSON_AddStringToObject(o, "labels_crc32", hex);
    cJSON *files = cJSON_AddArrayToObject(o, "files");
    for (int s = 0; s < m->n; s++) {
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "file", m->shards[s].file);
        cJSON_AddNumberToObject(e, "count", (double)m->shards[s].count);
        cJSON_AddNumberToObject(e, "bytes", (double)m->shards[s].bytes);
        snprintf(hex, sizeof hex, "%08x", m->shards[s].crc);
        cJSON_AddStringToObject(e, "crc32", hex);
        cJSON_AddItemToArray(files, e);
    }
    return o;
}

void shard_remove_files(const shard_manifest *old, const shard_manifest *keep) {
    for (int i = 0; old && i < old->n; i++) {
        int kept = 0;
        for (int j = 0; keep && j < keep->n && !kept; j++) kept = strcmp(old->shards[i].path, keep->shards[j].path) == 0;
        if (!kept) unlink(old->shards[i].path);
    }
}

int index_write_sharded(const char *out, int n, const sbir_index_meta *meta, const sbir_index_rows *rows) {
    if (n < 1 || n > SHARD_MAX) return sbir_error("%s: shard count %d outside 1..%d", out, n, SHARD_MAX);
    if (!meta || !rows || rows->n < 0) return sbir_error("%s: bad arguments", out);
    if (n > 1 && rows->n < n) /* an empty shard would serve no purpose but to be a special case */
        return sbir_error("%s: %lld images cannot fill %d shards: use at most %lld", out, (long long)rows->n, n,
                          (long long)(rows->n > 1 ? rows->n : 1));
    shard_manifest old = {0};
    int had_old = shard_manifest_is(out) && shard_manifest_read(out, &old) == SBIR_OK;
    sbir_clear_error(); /* an unreadable old manifest only means nothing to clean up */
    shard_manifest m = {.n = n,
                        .count = rows->n,
                        .fingerprint = (char *)(meta->fingerprint ? meta->fingerprint : ""),
                        .dim_content = rows->dim_content,
                        .dim_style = rows->dim_style,
                        .elem = meta->elem,
                        .labels_crc = shard_labels_crc(meta->n_classes, meta->class_names, meta->n_styles, meta->style_names)};
    m.shards = callocCheck((size_t)n, sizeof *m.shards);
    int rc = SBIR_OK, made = 0;
    for (int s = 0; s < n && rc == SBIR_OK; s++, made++) {
        shard_file *sf = &m.shards[s];
        sf->path = shard_file_name(out, s, n);
        sf->file = strdupCheck(base_name(sf->path));
        part p;
        part_fill(&p, rows, n, s);
        sf->count = p.rows.n;
        rc = index_write(sf->path, meta, &p.rows);
        part_free(&p);
        if (rc == SBIR_OK) rc = file_size_crc(sf->path, &sf->bytes, &sf->crc);
    }
    if (rc == SBIR_OK) {
        cJSON *o = manifest_json(&m);
        char *text = cJSON_Print(o);
        cJSON_Delete(o);
        if (!text) rc = sbir_error("%s: out of memory", out);
        else {
            size_t len = strlen(text);
            text[len] = '\n'; /* cJSON's buffer ends with a NUL we may overwrite: it is written by length */
            rc = write_file_atomic(out, text, len + 1);
            cJSON_free(text);
        }
    }
    if (rc == SBIR_OK && had_old) shard_remove_files(&old, &m);
    if (rc != SBIR_OK) { /* new files the old manifest does not list are garbage now */
        shard_manifest made_m = m;
        made_m.n = made;
        shard_remove_files(&made_m, had_old ? &old : NULL);
    }
    for (int s = 0; s < n; s++) free(m.shards[s].file), free(m.shards[s].path);
    free(m.shards);
    shard_manifest_free(&old);
    return rc;
}
