#include "nn/safetensors.h"

#include <cjson/cJSON.h>
#include <inttypes.h>
#include <string.h>

#include "util/atomic_file.h"
#include "util/common.h"

/* Limits that keep a hostile header from costing unbounded time or memory. */
#define ST_MAX_HEADER (64u << 20)
#define ST_MAX_FILE ((size_t)16 << 30)
#define ST_MAX_TENSORS 100000
#define CRC_SLOT "\"sbir_crc32\":\"00000000\""

struct safetensors {
    int n;
    st_tensor *tensors;
    char **names;
    float **buffers;
    cJSON *meta;
};

static int64_t numel(const st_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

static void put_u64le(unsigned char *b, uint64_t v) {
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(v >> (8 * i));
}

int safetensors_write(const char *path, const st_tensor *tensors, int n, const char *const *meta, int n_meta) {
    cJSON *root = cJSON_CreateObject();
    cJSON *md = cJSON_AddObjectToObject(root, "__metadata__");
    for (int i = 0; i < n_meta; i++) {
        if (strcmp(meta[2 * i], "sbir_crc32") == 0) {
            cJSON_Delete(root);
            return sbir_error("%s: metadata key sbir_crc32 is reserved", path);
        }
        cJSON_AddStringToObject(md, meta[2 * i], meta[2 * i + 1]);
    }
    uint32_t crc = 0;
    uint64_t off = 0;
    for (int i = 0; i < n; i++) {
        const st_tensor *t = &tensors[i];
        if (cJSON_GetObjectItemCaseSensitive(root, t->name)) {
            cJSON_Delete(root);
            return sbir_error("%s: duplicate tensor name '%s'", path, t->name);
        }
        cJSON *o = cJSON_AddObjectToObject(root, t->name);
        cJSON_AddStringToObject(o, "dtype", "F32");
        cJSON *shape = cJSON_AddArrayToObject(o, "shape");
        for (int d = 0; d < t->ndim; d++) cJSON_AddItemToArray(shape, cJSON_CreateNumber((double)t->shape[d]));
        uint64_t bytes = (uint64_t)numel(t) * 4;
        cJSON *offs = cJSON_AddArrayToObject(o, "data_offsets");
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)off));
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)(off + bytes)));
        off += bytes;
    }
    cJSON_AddStringToObject(md, "sbir_crc32", "00000000"); /* filled in below */
    char *json = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    size_t jlen = strlen(json);
    size_t padded = (jlen + 7) & ~(size_t)7; /* keeps tensor data 8-byte aligned, as the format advises */
    unsigned char *hdr = mallocCheck(8 + padded);
    put_u64le(hdr, padded);
    memcpy(hdr + 8, json, jlen);
    memset(hdr + 8 + jlen, ' ', padded - jlen);
    free(json);
    /* The checksum covers the header (with its own 8 digits as zeros) and then every tensor's bytes. */
    char *slot = strstr((char *)hdr + 8, CRC_SLOT);
    crc = sbir_crc32(0, hdr, 8 + padded);
    for (int i = 0; i < n; i++) crc = sbir_crc32(crc, tensors[i].data, (size_t)numel(&tensors[i]) * 4);
    char hex[16];
    snprintf(hex, sizeof hex, "%08x", crc);
    memcpy(slot + strlen(CRC_SLOT) - 9, hex, 8);

    sbir_afile *f = afile_open(path);
    if (!f) {
        free(hdr);
        return SBIR_ERR;
    }
    int rc = afile_write(f, hdr, 8 + padded);
    free(hdr);
    for (int i = 0; i < n && rc == SBIR_OK; i++)
        rc = afile_write(f, tensors[i].data, (size_t)numel(&tensors[i]) * 4);
    if (rc != SBIR_OK) {
        afile_abort(f);
        return SBIR_ERR;
    }
    return afile_commit(f);
}

void safetensors_close(safetensors *st) {
    if (!st) return;
    for (int i = 0; i < st->n; i++) {
        free(st->names[i]);
        free(st->buffers[i]);
    }
    free(st->names);
    free(st->buffers);
    free(st->tensors);
    cJSON_Delete(st->meta);
    free(st);
}

/* A JSON number that is an exact non-negative integer no larger than max. */
static int json_uint(const cJSON *v, uint64_t max, uint64_t *out) {
    if (!cJSON_IsNumber(v)) return 0;
    double d = v->valuedouble;
    if (!(d >= 0) || d > (double)max || d != (double)(uint64_t)d) return 0;
    *out = (uint64_t)d;
    return 1;
}

typedef struct {
    uint64_t begin, end;
} span;

static int cmp_span(const void *a, const void *b) {
    const span *x = a, *y = b;
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

static int parse_tensor(safetensors *st, const char *path, const cJSON *o, const unsigned char *data,
                        uint64_t data_len, span *sp) {
    int i = st->n;
    const char *name = o->string;
    if (!cJSON_IsObject(o)) return sbir_error("%s: header: tensor '%s' is not an object", path, name);
    const cJSON *dtype = cJSON_GetObjectItemCaseSensitive(o, "dtype");
    const cJSON *shape = cJSON_GetObjectItemCaseSensitive(o, "shape");
    const cJSON *offs = cJSON_GetObjectItemCaseSensitive(o, "data_offsets");
    if (!cJSON_IsString(dtype) || !cJSON_IsArray(shape) || !cJSON_IsArray(offs))
        return sbir_error("%s: header: tensor '%s' lacks dtype, shape or data_offsets", path, name);
    if (strcmp(dtype->valuestring, "F32") != 0)
        return sbir_error("%s: tensor '%s' has dtype %s; only F32 is supported", path, name, dtype->valuestring);
    int ndim = cJSON_GetArraySize(shape);
    if (ndim > ST_MAX_DIMS) return sbir_error("%s: tensor '%s' has %d dimensions (at most %d)", path, name, ndim, ST_MAX_DIMS);
    st_tensor *t = &st->tensors[i];
    t->ndim = ndim;
    uint64_t count = 1;
    for (int d = 0; d < ndim; d++) {
        uint64_t v;
        if (!json_uint(cJSON_GetArrayItem(shape, d), UINT32_MAX, &v))
            return sbir_error("%s: tensor '%s': shape[%d] is not a valid size", path, name, d);
        t->shape[d] = (int64_t)v;
        if (v && count > data_len / v) return sbir_error("%s: tensor '%s': shape larger than the file", path, name);
        count *= v;
    }
    uint64_t b, e;
    if (cJSON_GetArraySize(offs) != 2 || !json_uint(cJSON_GetArrayItem(offs, 0), data_len, &b) ||
        !json_uint(cJSON_GetArrayItem(offs, 1), data_len, &e) || b > e)
        return sbir_error("%s: tensor '%s': data_offsets outside the data (%" PRIu64 " bytes)", path, name, data_len);
    if (e - b != count * 4)
        return sbir_error("%s: tensor '%s': data_offsets span %" PRIu64 " bytes but its shape needs %" PRIu64, path,
                          name, e - b, count * 4);
    sp->begin = b;
    sp->end = e;
    st->names[i] = strdupCheck(name);
    st->buffers[i] = alignedAllocCheck(count * 4);
    memcpy(st->buffers[i], data + b, count * 4);
    t->name = st->names[i];
    t->data = st->buffers[i];
    st->n++;
    return SBIR_OK;
}

safetensors *safetensors_open(const char *path) {
    unsigned char *buf;
    size_t len;
    if (read_file_all(path, ST_MAX_FILE, &buf, &len) != SBIR_OK) return NULL;
    safetensors *st = callocCheck(1, sizeof *st);
    cJSON *root = NULL;
    span *spans = NULL;
    if (len < 8) {
        sbir_error("%s: truncated: %zu bytes, too short for a safetensors header", path, len);
        goto fail;
    }
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
    if (hlen > ST_MAX_HEADER || hlen > len - 8) {
        sbir_error("%s: header length %" PRIu64 " exceeds the file (%zu bytes): truncated or not safetensors", path,
                   hlen, len);
        goto fail;
    }
    root = cJSON_ParseWithLength((const char *)buf + 8, (size_t)hlen);
    if (!cJSON_IsObject(root)) {
        sbir_error("%s: header is not a JSON object", path);
        goto fail;
    }
    const unsigned char *data = buf + 8 + hlen;
    uint64_t data_len = len - 8 - hlen;
    int count = cJSON_GetArraySize(root);
    if (count > ST_MAX_TENSORS) {
        sbir_error("%s: header lists %d entries (at most %d)", path, count, ST_MAX_TENSORS);
        goto fail;
    }
    st->tensors = callocCheck((size_t)count, sizeof *st->tensors);
    st->names = callocCheck((size_t)count, sizeof *st->names);
    st->buffers = callocCheck((size_t)count, sizeof *st->buffers);
    spans = callocCheck((size_t)count, sizeof *spans);
    for (const cJSON *o = root->child; o; o = o->next) {
        if (strcmp(o->string, "__metadata__") == 0) {
            if (!cJSON_IsObject(o)) {
                sbir_error("%s: header: __metadata__ is not an object", path);
                goto fail;
            }
            for (const cJSON *kv = o->child; kv; kv = kv->next)
                if (!cJSON_IsString(kv)) {
                    sbir_error("%s: header: metadata '%s' is not a string", path, kv->string);
                    goto fail;
                }
            continue;
        }
        if (parse_tensor(st, path, o, data, data_len, &spans[st->n]) != SBIR_OK) goto fail;
    }
    /* Tensors must not overlap and must cover the data exactly: anything else is corruption. */
    qsort(spans, (size_t)st->n, sizeof *spans, cmp_span);
    uint64_t at = 0;
    for (int i = 0; i < st->n; i++) {
        if (spans[i].begin != at) {
            sbir_error("%s: tensor data overlaps or leaves a gap at byte %" PRIu64, path, at);
            goto fail;
        }
        at = spans[i].end;
    }
    if (at != data_len) {
        sbir_error("%s: %" PRIu64 " bytes of data after the last tensor", path, data_len - at);
        goto fail;
    }
    cJSON *md = cJSON_DetachItemFromObjectCaseSensitive(root, "__metadata__");
    st->meta = md ? md : cJSON_CreateObject();
    const char *want = safetensors_meta(st, "sbir_crc32");
    if (!want || strlen(want) != 8) {
        sbir_error("%s: no sbir_crc32 checksum in the metadata: not written by sbir", path);
        goto fail;
    }
    /* Recompute as the writer did: the header with the checksum's digits zeroed, then the data. */
    char key[64], got[16];
    snprintf(key, sizeof key, "\"sbir_crc32\":\"%s\"", want);
    char *hdr_copy = mallocCheck((size_t)hlen + 1);
    memcpy(hdr_copy, buf + 8, (size_t)hlen);
    hdr_copy[hlen] = 0;
    char *slot = strstr(hdr_copy, key);
    if (!slot || strstr(slot + 1, key)) {
        free(hdr_copy);
        sbir_error("%s: header is corrupt (checksum field not found exactly once)", path);
        goto fail;
    }
    memset(slot + strlen(key) - 9, '0', 8);
    uint32_t crc = sbir_crc32(0, buf, 8);
    crc = sbir_crc32(crc, hdr_copy, (size_t)hlen);
    free(hdr_copy);
    snprintf(got, sizeof got, "%08x", sbir_crc32(crc, data, data_len));
    if (strcmp(want, got) != 0) {
        sbir_error("%s: checksum mismatch (header says %s, data gives %s): the file is corrupt", path, want, got);
        goto fail;
    }
    cJSON_Delete(root);
    free(spans);
    free(buf);
    return st;
fail:
    cJSON_Delete(root);
    free(spans);
    free(buf);
    safetensors_close(st);
    return NULL;
}

int safetensors_count(const safetensors *st) { return st->n; }
const st_tensor *safetensors_at(const safetensors *st, int i) { return i >= 0 && i < st->n ? &st->tensors[i] : NULL; }

const st_tensor *safetensors_get(const safetensors *st, const char *name) {
    for (int i = 0; i < st->n; i++)
        if (strcmp(st->tensors[i].name, name) == 0) return &st->tensors[i];
    return NULL;
}

const char *safetensors_meta(const safetensors *st, const char *key) {
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(st->meta, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}
