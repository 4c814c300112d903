/* shard_manifest.c — the manifest of a sharded index (shards.h): naming, reading, checking.
 *
 * The manifest is JSON so a person can read it (`cat OUT`) and see which files make the index:
 *   {"format": "sbir-sharded-index", "version": 1, "assignment": "row % shards", "shards": 2,
 *    "count": 1000, "fingerprint": "...", "dim_content": 128, "dim_style": 64, "elem": "f32",
 *    "labels_crc32": "1a2b3c4d",
 *    "files": [{"file": "pacs.index.shard-0-of-2", "count": 500, "bytes": 330112, "crc32": "..."}, ...]}
 * It carries no checksum of its own: every field is checked against something else (counts against
 * the assignment rule and the total, sizes and CRCs against the shard files, fingerprint, dimensions
 * and labels against each shard's header), so a damaged manifest is refused when the shards are opened. */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "index/shards.h"
#include "util/atomic_file.h"
#include "util/common.h"

#define MANIFEST_FORMAT "sbir-sharded-index"
#define MANIFEST_MAX_BYTES ((size_t)16 << 20)

char *shard_file_name(const char *out, int s, int n) {
    size_t len = strlen(out) + 40;
    char *p = mallocCheck(len);
    snprintf(p, len, "%s.shard-%d-of-%d", out, s, n);
    return p;
}

int64_t shard_count(int64_t n, int shards, int s) { return n > s ? (n - s + shards - 1) / shards : 0; }

uint32_t shard_labels_crc(int n_classes, const char *const *class_names, int n_styles, const char *const *style_names) {
    uint32_t crc = 0;
    for (int t = 0; t < 2; t++) {
        int n = t ? n_styles : n_classes;
        const char *const *names = t ? style_names : class_names;
        uint32_t count = (uint32_t)n;
        crc = sbir_crc32(crc, &count, 4);
        for (int i = 0; i < n; i++) {
            uint32_t len = (uint32_t)strlen(names[i]);
            crc = sbir_crc32(crc, &len, 4);
            crc = sbir_crc32(crc, names[i], len);
        }
    }
    return crc;
}

int shard_manifest_is(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return 0;
    char buf[256];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* an index file starts with "SBIRIDX1"; a manifest is JSON naming its format near the top */
    size_t i = 0;
    while (i < n && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')) i++;
    return i < n && buf[i] == '{' && strstr(buf, "\"" MANIFEST_FORMAT "\"") != NULL;
}

void shard_manifest_free(shard_manifest *m) {
    if (!m) return;
    for (int i = 0; m->shards && i < m->n; i++) free(m->shards[i].file), free(m->shards[i].path);
    free(m->shards);
    free(m->fingerprint);
    memset(m, 0, sizeof *m);
}

/* The folder part of path including its '/', or "" (malloc'd). */
static char *folder_of(const char *path) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path + 1) : 0;
    char *d = mallocCheck(n + 1);
    memcpy(d, path, n);
    d[n] = '\0';
    return d;
}

/* A non-negative integer field that a double holds exactly. */
static int get_int(const cJSON *o, const char *key, double max, int64_t *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsNumber(x) || !(x->valuedouble >= 0) || x->valuedouble > max || x->valuedouble != (double)(int64_t)x->valuedouble)
        return SBIR_ERR;
    *v = (int64_t)x->valuedouble;
    return SBIR_OK;
}

static int get_crc(const cJSON *o, const char *key, uint32_t *v) {
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!cJSON_IsString(x) || strlen(x->valuestring) != 8) return SBIR_ERR;
    char *end;
    unsigned long u = strtoul(x->valuestring, &end, 16);
    if (*end) return SBIR_ERR;
    *v = (uint32_t)u;
    return SBIR_OK;
}

static int parse(const char *path, const cJSON *o, shard_manifest *m) {
    const cJSON *fmt = cJSON_GetObjectItemCaseSensitive(o, "format");
    if (!cJSON_IsString(fmt) || strcmp(fmt->valuestring, MANIFEST_FORMAT) != 0)
        return sbir_error("%s: not a sharded-index manifest (no \"format\": \"" MANIFEST_FORMAT "\")", path);
    int64_t version, n, count, dc, ds;
    if (get_int(o, "version", 1e9, &version) || version != 1)
        return sbir_error("%s: manifest version is not 1 (written by a newer sbir?)", path);
    if (get_int(o, "shards", SHARD_MAX, &n) || n < 1) return sbir_error("%s: \"shards\" must be 1..%d", path, SHARD_MAX);
    if (get_int(o, "count", (double)((int64_t)1 << 40), &count)) return sbir_error("%s: bad \"count\"", path);
    if (get_int(o, "dim_content", 65536, &dc) || get_int(o, "dim_style", 65536, &ds))
        return sbir_error("%s: bad \"dim_content\" or \"dim_style\"", path);
    const cJSON *fp = cJSON_GetObjectItemCaseSensitive(o, "fingerprint");
    const cJSON *el = cJSON_GetObjectItemCaseSensitive(o, "elem");
    const cJSON *as = cJSON_GetObjectItemCaseSensitive(o, "assignment");
    if (!cJSON_IsString(fp)) return sbir_error("%s: no \"fingerprint\"", path);
    int elem = cJSON_IsString(el) ? sbir_elem_parse(el->valuestring) : -1;
    if (elem < 0) return sbir_error("%s: bad \"elem\"", path);
    if (!cJSON_IsString(as) || strcmp(as->valuestring, "row % shards") != 0)
        return sbir_error("%s: unknown \"assignment\" (this sbir knows \"row %% shards\")", path);
    if (get_crc(o, "labels_crc32", &m->labels_crc)) return sbir_error("%s: bad \"labels_crc32\"", path);
    const cJSON *files = cJSON_GetObjectItemCaseSensitive(o, "files");
    if (!cJSON_IsArray(files) || cJSON_GetArraySize(files) != n)
        return sbir_error("%s: \"files\" must list the %lld shards", path, (long long)n);
    m->n = (int)n, m->count = count, m->dim_content = (int)dc, m->dim_style = (int)ds, m->elem = (sbir_elem)elem;
    m->fingerprint = strdupCheck(fp->valuestring);
    m->shards = callocCheck((size_t)n, sizeof *m->shards);
    char *dir = folder_of(path);
    int s = 0, rc = SBIR_OK;
    const cJSON *e;
    cJSON_ArrayForEach(e, files) {
        shard_file *sf = &m->shards[s];
        const cJSON *name = cJSON_GetObjectItemCaseSensitive(e, "file");
        int64_t cnt, bytes;
        if (!cJSON_IsString(name) || !name->valuestring[0] || strchr(name->valuestring, '/')) {
            rc = sbir_error("%s: shard %d: \"file\" must be a file name in the manifest's folder", path, s);
            break;
        }
        if (get_int(e, "count", (double)count, &cnt) || get_int(e, "bytes", 9007199254740992.0, &bytes) ||
            get_crc(e, "crc32", &sf->crc)) {
            rc = sbir_error("%s: shard %d: bad \"count\", \"bytes\" or \"crc32\"", path, s);
            break;
        }
        if (cnt != shard_count(count, (int)n, s)) {
            rc = sbir_error("%s: shard %d lists %lld rows, but %lld rows over %lld shards give it %lld", path, s,
                            (long long)cnt, (long long)count, (long long)n, (long long)shard_count(count, (int)n, s));
            break;
        }
        sf->file = strdupCheck(name->valuestring);
        size_t len = strlen(dir) + strlen(sf->file) + 1;
        sf->path = mallocCheck(len);
        snprintf(sf->path, len, "%s%s", dir, sf->file);
        sf->count = cnt, sf->bytes = (uint64_t)bytes;
        s++;
    }
    free(dir);
    return rc;
}

int shard_manifest_read(const char *path, shard_manifest *m) {
    memset(m, 0, sizeof *m);
    unsigned char *buf = NULL;
    size_t n = 0;
    if (read_file_all(path, MANIFEST_MAX_BYTES, &buf, &n) != SBIR_OK) return SBIR_ERR;
    cJSON *o = cJSON_ParseWithLength((const char *)buf, n);
    free(buf);
    if (!o) return sbir_error("%s: the sharded-index manifest is not valid JSON (truncated or damaged)", path);
    int rc = parse(path, o, m);
    cJSON_Delete(o);
    if (rc != SBIR_OK) shard_manifest_free(m);
    return rc;
}
