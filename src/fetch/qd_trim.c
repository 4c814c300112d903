/* qd_trim.c — see qd_trim.h. Each format is copied in bounded chunks, so trimming a 300 MB class file
 * costs no more memory than trimming a small one. */
#include "fetch/qd_trim.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "util/atomic_file.h"
#include "util/common.h"

static int trim_ndjson(FILE *f, const char *src, sbir_afile *out, uint64_t n, uint64_t *kept) {
    unsigned char buf[1 << 16];
    uint64_t lines = 0;
    int partial = 0; /* bytes of an unterminated line written */
    size_t got;
    while (lines < n && (got = fread(buf, 1, sizeof buf, f)) > 0) {
        size_t take = got;
        for (size_t i = 0; i < got; i++) {
            if (buf[i] != '\n') continue;
            if (++lines == n) {
                take = i + 1;
                break;
            }
        }
        if (afile_write(out, buf, take)) return SBIR_ERR;
        partial = buf[take - 1] != '\n';
    }
    if (ferror(f)) return sbir_error("%s: read error: %s", src, strerror(errno));
    *kept = lines + (partial ? 1 : 0);
    return SBIR_OK;
}

static int copy_exact(FILE *f, const char *src, sbir_afile *out, uint64_t n, uint64_t at, const char *what) {
    unsigned char buf[1 << 16];
    while (n > 0) {
        size_t want = n < sizeof buf ? (size_t)n : sizeof buf;
        size_t got = fread(buf, 1, want, f);
        if (got < want)
            return sbir_error("%s: %s (at byte %llu): file ends early (truncated file)", src, what, (unsigned long long)at);
        if (afile_write(out, buf, got)) return SBIR_ERR;
        n -= got;
    }
    return SBIR_OK;
}

static int trim_bin(FILE *f, const char *src, sbir_afile *out, uint64_t n, uint64_t *kept) {
    uint64_t at = 0, k = 0;
    unsigned char h[17], buf[2 * 65535];
    for (; k < n; k++) {
        char what[64];
        snprintf(what, sizeof what, "drawing %llu", (unsigned long long)k + 1);
        size_t got = fread(h, 1, sizeof h, f);
        if (got == 0 && !ferror(f)) break;
        if (got < sizeof h) return sbir_error("%s: %s (at byte %llu): file ends inside the header", src, what, (unsigned long long)at);
        if (afile_write(out, h, sizeof h)) return SBIR_ERR;
        unsigned ns = (unsigned)h[15] | (unsigned)h[16] << 8;
        if (ns == 0) return sbir_error("%s: %s (at byte %llu): 0 strokes (not a Quick, Draw! .bin file?)", src, what, (unsigned long long)at);
        for (unsigned s = 0; s < ns; s++) {
            unsigned char nb[2];
            if (fread(nb, 1, 2, f) < 2) return sbir_error("%s: %s (at byte %llu): file ends in stroke %u", src, what, (unsigned long long)at, s + 1);
            size_t np = (size_t)(nb[0] | nb[1] << 8);
            if (fread(buf, 1, 2 * np, f) < 2 * np)
                return sbir_error("%s: %s (at byte %llu): file ends in stroke %u", src, what, (unsigned long long)at, s + 1);
            if (afile_write(out, nb, 2) || afile_write(out, buf, 2 * np)) return SBIR_ERR;
        }
        at = afile_size(out);
    }
    *kept = k;
    return SBIR_OK;
}

static int trim_npy(FILE *f, const char *src, sbir_afile *out, uint64_t n, uint64_t *kept) {
    /* Validate the whole file with the reader first (header, dtype, size), and learn the row side. */
    qd_options qo;
    qd_options_default(&qo);
    qo.format = QD_NPY;
    qd_reader *r = qd_open(src, &qo);
    if (!r) return SBIR_ERR;
    sbir_sketch s;
    sketch_init(&s);
    int got = qd_next(r, &s);
    int side = s.bitmap_size;
    sketch_free(&s);
    qd_close(r);
    if (got < 0) return SBIR_ERR;
    if (got == 0 || side <= 0) return sbir_error("%s: .npy file has no rows", src);
    unsigned char pre[12];
    if (fread(pre, 1, 10, f) < 10) return sbir_error("%s: .npy header truncated", src);
    uint64_t start;
    if (pre[6] == 1) {
        start = 10 + ((uint64_t)pre[8] | (uint64_t)pre[9] << 8);
    } else {
        if (fread(pre + 10, 1, 2, f) < 2) return sbir_error("%s: .npy header truncated", src);
        start = 12 + ((uint64_t)pre[8] | (uint64_t)pre[9] << 8 | (uint64_t)pre[10] << 16 | (uint64_t)pre[11] << 24);
    }
    struct stat sb;
    if (fstat(fileno(f), &sb)) return sbir_error("%s: %s", src, strerror(errno));
    uint64_t row = (uint64_t)side * (uint64_t)side;
    uint64_t rows = ((uint64_t)sb.st_size - start) / row, keep = rows < n ? rows : n;
    /* Version 1 header, padded with spaces so that the data starts at a multiple of 64 (as numpy does). */
    char h[256];
    int len = snprintf(h, sizeof h, "{'descr': '|u1', 'fortran_order': False, 'shape': (%llu, %llu), }",
                       (unsigned long long)keep, (unsigned long long)row);
    while ((10 + len + 1) % 64) h[len++] = ' ';
    h[len++] = '\n';
    unsigned char mh[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)(len & 255), (unsigned char)(len >> 8)};
    if (afile_write(out, mh, 10) || afile_write(out, h, (size_t)len)) return SBIR_ERR;
    if (fseeko(f, (off_t)start, SEEK_SET)) return sbir_error("%s: cannot seek to byte %llu", src, (unsigned long long)start);
    if (copy_exact(f, src, out, keep * row, start, "data")) return SBIR_ERR;
    *kept = keep;
    return SBIR_OK;
}

int qd_trim(const char *src, const char *dst, qd_format fmt, uint64_t n, uint64_t *kept) {
    *kept = 0;
    FILE *f = fopen(src, "rb");
    if (!f) return sbir_error("%s: cannot open: %s", src, strerror(errno));
    sbir_afile *out = afile_open(dst);
    if (!out) {
        fclose(f);
        return SBIR_ERR;
    }
    int rc;
    switch (fmt) {
    case QD_NDJSON: rc = trim_ndjson(f, src, out, n, kept); break;
    case QD_BIN: rc = trim_bin(f, src, out, n, kept); break;
    case QD_NPY: rc = trim_npy(f, src, out, n, kept); break;
    default: rc = sbir_error("%s: unknown Quick, Draw! format", src); break;
    }
    fclose(f);
    if (rc) {
        afile_abort(out);
        return SBIR_ERR;
    }
    return afile_commit(out);
}
