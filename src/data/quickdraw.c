/* quickdraw.c — opening a Quick, Draw! file: format detection and dispatch to the format readers. */
#include <errno.h>
#include <string.h>
#include <strings.h>

#include "data/quickdraw_internal.h"
#include "util/common.h"

void qd_options_default(qd_options *o) {
    o->format = QD_AUTO;
    o->max_line = 16u << 20;
    o->max_strokes = 10000;
    o->max_points = 200000;
    o->max_abs_coord = 1e6;
}

const char *qd_format_name(qd_format f) {
    switch (f) {
    case QD_NDJSON: return "ndjson";
    case QD_BIN: return "bin";
    case QD_NPY: return "npy";
    default: return "auto";
    }
}

static const char *base_name(const char *path) {
    const char *b = strrchr(path, '/');
    return b ? b + 1 : path;
}

static const char *extension(const char *path) {
    const char *b = base_name(path), *dot = strrchr(b, '.');
    return dot ? dot + 1 : "";
}

void qd_word_from_path(const char *path, char *out, size_t n) {
    static const char *prefixes[] = {"full_numpy_bitmap_", "full_binary_", "full_simplified_", "full_raw_",
                                     "full-numpy_bitmap-", "full-binary-", "full-simplified-", "full-raw-"};
    const char *b = base_name(path);
    for (size_t i = 0; i < SBIR_ARRAY_LEN(prefixes); i++)
        if (strncmp(b, prefixes[i], strlen(prefixes[i])) == 0) {
            b += strlen(prefixes[i]);
            break;
        }
    const char *dot = strrchr(b, '.');
    size_t len = dot ? (size_t)(dot - b) : strlen(b);
    if (n == 0) return;
    if (len >= n) len = n - 1;
    memcpy(out, b, len);
    out[len] = 0;
}

int qd_detect_format(const char *path, qd_format *out) {
    const char *ext = extension(path);
    if (strcasecmp(ext, "bin") == 0) return *out = QD_BIN, SBIR_OK;
    if (strcasecmp(ext, "npy") == 0) return *out = QD_NPY, SBIR_OK;
    if (!strcasecmp(ext, "ndjson") || !strcasecmp(ext, "json") || !strcasecmp(ext, "jsonl"))
        return *out = QD_NDJSON, SBIR_OK;
    FILE *f = fopen(path, "rb");
    if (!f) return sbir_error("%s: %s", path, strerror(errno));
    unsigned char head[64];
    size_t n = fread(head, 1, sizeof head, f);
    fclose(f);
    if (n >= 6 && memcmp(head, "\x93NUMPY", 6) == 0) return *out = QD_NPY, SBIR_OK;
    size_t i = 0;
    while (i < n && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n')) i++;
    if (i < n && head[i] == '{') return *out = QD_NDJSON, SBIR_OK;
    if (n == 0) return sbir_error("%s: file is empty", path);
    return sbir_error("%s: not a Quick, Draw! file (expected ndjson, .bin or .npy; name it .bin if it is binary)",
                      path);
}

size_t qd_read_full(qd_reader *r, void *buf, size_t n) {
    size_t got = fread(buf, 1, n, r->f);
    r->offset += got;
    return got;
}

qd_reader *qd_open(const char *path, const qd_options *opts) {
    qd_reader *r = callocCheck(1, sizeof *r);
    if (opts) r->opt = *opts;
    else qd_options_default(&r->opt);
    r->path = strdupCheck(path);
    qd_word_from_path(path, r->word, sizeof r->word);
    r->format = r->opt.format;
    if (r->format == QD_AUTO && qd_detect_format(path, &r->format)) goto fail;
    r->f = fopen(path, "rb");
    if (!r->f) {
        sbir_error("%s: %s", path, strerror(errno));
        goto fail;
    }
    int rc = r->format == QD_NDJSON ? qd_ndjson_open(r)
             : r->format == QD_BIN  ? qd_bin_open(r)
             : r->format == QD_NPY  ? qd_npy_open(r)
                                    : sbir_error("%s: unknown format", path);
    if (rc) goto fail;
    return r;
fail:
    qd_close(r);
    return NULL;
}

int qd_next(qd_reader *r, sbir_sketch *s) {
    if (r->failed) return sbir_error("%s", r->err);
    if (r->done) return 0;
    int rc = r->next(r, s);
    if (rc == 1) {
        /* formats without words (and ndjson lines without one) get the class from the file name */
        if (!s->word[0]) memcpy(s->word, r->word, sizeof s->word);
        r->count++;
        return 1;
    }
    if (rc == 0) {
        r->done = 1;
        if (r->count == 0) {
            sbir_error("%s: contains no drawings", r->path);
            goto fail;
        }
        return 0;
    }
fail:
    r->failed = 1;
    snprintf(r->err, sizeof r->err, "%s", sbir_last_error());
    return SBIR_ERR;
}

void qd_close(qd_reader *r) {
    if (!r) return;
    if (r->close) r->close(r);
    if (r->f) fclose(r->f);
    free(r->path);
    free(r);
}

qd_format qd_reader_format(const qd_reader *r) { return r->format; }
uint64_t qd_count(const qd_reader *r) { return r->count; }

int qd_find(const char *path, int by_key, uint64_t index_or_key, sbir_sketch *out) {
    qd_reader *r = qd_open(path, NULL);
    if (!r) return SBIR_ERR;
    /* .npy rows have a fixed size: jump straight to the row instead of reading the ones before it */
    if (!by_key && r->format == QD_NPY && qd_npy_seek(r, index_or_key)) {
        qd_close(r);
        return SBIR_ERR;
    }
    int rc;
    while ((rc = qd_next(r, out)) == 1) {
        if (by_key ? out->key_id == index_or_key : qd_count(r) - 1 == index_or_key) break;
    }
    uint64_t n = qd_count(r);
    qd_close(r);
    if (rc == 1) return SBIR_OK;
    if (rc == 0) {
        if (by_key) return sbir_error("%s: no drawing with key_id %llu", path, (unsigned long long)index_or_key);
        return sbir_error("%s: no drawing %llu (the file has %llu, numbered from 0)", path,
                          (unsigned long long)index_or_key, (unsigned long long)n);
    }
    return SBIR_ERR;
}
