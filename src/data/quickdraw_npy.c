/* quickdraw_npy.c — Google's numpy_bitmap files: a .npy array of uint8, shape (N, 784) (also
 * accepted: (N, S*S) for any square S, or (N, S, S)), 255 = ink. Each row becomes a bitmap sketch.
 *
 * The header is a Python dict literal; it is parsed with a small tokenizer rather than by searching
 * for substrings so that a hostile header cannot make us read a shape out of a string value. The
 * data size the header promises is checked against the file size at open, so a truncated file is
 * reported before any row is used. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "data/quickdraw_internal.h"
#include "util/common.h"

#define NPY_MAX_HEADER (1u << 16)
#define NPY_MAX_SIDE 4096

typedef struct {
    uint64_t rows;
    int side;
    uint64_t data_start;
} npy_state;

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && isspace((unsigned char)*c->p)) c->p++;
}

static int eat(cursor *c, char ch) {
    skip_ws(c);
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

/* A quoted string ('...' or "...") without escapes, copied into out. */
static int read_str(cursor *c, char *out, size_t n) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return 0;
    char q = *c->p++;
    size_t len = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\' || len + 1 >= n) return 0;
        out[len++] = *c->p++;
    }
    if (c->p >= c->end) return 0;
    c->p++;
    out[len] = 0;
    return 1;
}

static int read_word(cursor *c, char *out, size_t n) {
    skip_ws(c);
    size_t len = 0;
    while (c->p < c->end && isalpha((unsigned char)*c->p) && len + 1 < n) out[len++] = *c->p++;
    out[len] = 0;
    return len > 0;
}

/* "(1500, 784)" or "(1500, 28, 28)" (trailing comma allowed); at most 3 dims. */
static int read_shape(cursor *c, uint64_t *dims, int *nd) {
    *nd = 0;
    if (!eat(c, '(')) return 0;
    for (;;) {
        if (eat(c, ')')) return 1;
        skip_ws(c);
        if (c->p >= c->end || !isdigit((unsigned char)*c->p) || *nd == 3) return 0;
        uint64_t v = 0;
        while (c->p < c->end && isdigit((unsigned char)*c->p)) {
            if (v > (UINT64_MAX / 10) - 10) return 0;
            v = v * 10 + (uint64_t)(*c->p++ - '0');
        }
        dims[(*nd)++] = v;
        if (!eat(c, ',')) return eat(c, ')');
    }
}

static int parse_header(qd_reader *r, const char *h, size_t len, npy_state *st) {
    cursor c = {h, h + len};
    char key[32], descr[32] = "", word[16];
    int fortran = -1, nd = -1;
    uint64_t dims[3];
    if (!eat(&c, '{')) return sbir_error("%s: .npy header is not a dict (byte 10)", r->path);
    for (;;) {
        if (eat(&c, '}')) break;
        if (!read_str(&c, key, sizeof key) || !eat(&c, ':'))
            return sbir_error("%s: malformed .npy header near byte %zu", r->path, (size_t)(c.p - h) + 10);
        if (!strcmp(key, "descr")) {
            if (!read_str(&c, descr, sizeof descr)) return sbir_error("%s: .npy header: bad 'descr'", r->path);
        } else if (!strcmp(key, "fortran_order")) {
            if (!read_word(&c, word, sizeof word) || (strcmp(word, "True") && strcmp(word, "False")))
                return sbir_error("%s: .npy header: bad 'fortran_order'", r->path);
            fortran = !strcmp(word, "True");
        } else if (!strcmp(key, "shape")) {
            if (!read_shape(&c, dims, &nd)) return sbir_error("%s: .npy header: bad 'shape'", r->path);
        } else {
            return sbir_error("%s: .npy header: unexpected key '%s'", r->path, key);
        }
        if (!eat(&c, ',')) {
            if (!eat(&c, '}')) return sbir_error("%s: malformed .npy header near byte %zu", r->path, (size_t)(c.p - h) + 10);
            break;
        }
    }
    if (!descr[0] || fortran < 0 || nd < 0)
        return sbir_error("%s: .npy header lacks 'descr', 'fortran_order' or 'shape'", r->path);
    if (strcmp(descr, "|u1") && strcmp(descr, "<u1") && strcmp(descr, ">u1") && strcmp(descr, "u1") &&
        strcmp(descr, "=u1") && strcmp(descr, "B"))
        return sbir_error("%s: .npy dtype '%s' is not supported (Quick, Draw! bitmaps are uint8, '|u1')", r->path, descr);
    if (fortran && nd > 1 && dims[0] > 1)
        return sbir_error("%s: .npy array is in Fortran order (column-major); expected C order", r->path);
    uint64_t side = 0;
    if (nd == 2) {
        uint64_t d = dims[1];
        for (side = 1; side * side < d && side <= NPY_MAX_SIDE; side++) {}
        if (side * side != d || side > NPY_MAX_SIDE)
            return sbir_error("%s: .npy rows have %llu values, not a square image (expected 784 = 28x28)", r->path,
                              (unsigned long long)d);
    } else if (nd == 3) {
        if (dims[1] != dims[2] || dims[1] == 0 || dims[1] > NPY_MAX_SIDE)
            return sbir_error("%s: .npy shape (%llu, %llu, %llu) is not N square images", r->path,
                              (unsigned long long)dims[0], (unsigned long long)dims[1], (unsigned long long)dims[2]);
        side = dims[1];
    } else {
        return sbir_error("%s: .npy array has %d dimensions (expected shape (N, 784))", r->path, nd);
    }
    if (side == 0) return sbir_error("%s: .npy rows are empty", r->path);
    st->rows = dims[0];
    st->side = (int)side;
    return SBIR_OK;
}

static int npy_next(qd_reader *r, sbir_sketch *s) {
    npy_state *st = r->impl;
    if (r->count >= st->rows) return 0;
    sketch_clear(s);
    size_t n = (size_t)st->side * st->side;
    uint8_t *bm = sketch_set_bitmap(s, st->side);
    uint64_t at = r->offset;
    if (qd_read_full(r, bm, n) != n)
        return sbir_error("%s: row %llu (at byte %llu): file ends at byte %llu (truncated file)", r->path,
                          (unsigned long long)r->count + 1, (unsigned long long)at, (unsigned long long)r->offset);
    memcpy(s->word, r->word, sizeof s->word);
    return 1;
}

static void npy_close(qd_reader *r) {
    free(r->impl);
    r->impl = NULL;
}

int qd_npy_open(qd_reader *r) {
    npy_state *st = callocCheck(1, sizeof *st);
    r->impl = st;
    r->next = npy_next;
    r->close = npy_close;
    uint8_t pre[12];
    size_t got = qd_read_full(r, pre, 10);
    if (got == 0) return sbir_error("%s: file is empty", r->path);
    if (got < 10 || memcmp(pre, "\x93NUMPY", 6))
        return sbir_error("%s: not a .npy file (bad magic at byte 0)", r->path);
    uint32_t major = pre[6], hlen;
    if (major == 1) {
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8;
    } else if (major == 2 || major == 3) {
        if (qd_read_full(r, pre + 10, 2) < 2) return sbir_error("%s: .npy header truncated at byte %llu", r->path, (unsigned long long)r->offset);
        hlen = (uint32_t)pre[8] | (uint32_t)pre[9] << 8 | (uint32_t)pre[10] << 16 | (uint32_t)pre[11] << 24;
    } else {
        return sbir_error("%s: .npy format version %u.%u is not supported (1, 2 or 3)", r->path, major, pre[7]);
    }
    if (hlen > NPY_MAX_HEADER) return sbir_error("%s: .npy header length %u is absurd (limit %u)", r->path, hlen, NPY_MAX_HEADER);
    char *h = mallocCheck(hlen + 1);
    uint64_t hstart = r->offset;
    if (qd_read_full(r, h, hlen) < hlen) {
        free(h);
        return sbir_error("%s: .npy header truncated: %u bytes promised at byte %llu, file ends at byte %llu", r->path,
                          hlen, (unsigned long long)hstart, (unsigned long long)r->offset);
    }
    h[hlen] = 0;
    int rc = parse_header(r, h, hlen, st);
    free(h);
    if (rc) return rc;
    st->data_start = r->offset;
    struct stat sb;
    if (fstat(fileno(r->f), &sb)) return sbir_error("%s: %s", r->path, strerror(errno));
    uint64_t row = (uint64_t)st->side * st->side;
    if (S_ISREG(sb.st_mode)) {
        uint64_t avail = (uint64_t)sb.st_size > st->data_start ? (uint64_t)sb.st_size - st->data_start : 0;
        if (st->rows > avail / row)
            return sbir_error("%s: .npy header promises %llu rows of %llu bytes from byte %llu, but the file has %llu "
                              "data bytes (truncated or corrupt)", r->path, (unsigned long long)st->rows,
                              (unsigned long long)row, (unsigned long long)st->data_start, (unsigned long long)avail);
        if (avail != st->rows * row)
            return sbir_error("%s: .npy file has %llu bytes after the %llu rows the header declares (corrupt)", r->path,
                              (unsigned long long)(avail - st->rows * row), (unsigned long long)st->rows);
    }
    return SBIR_OK;
}

int qd_npy_seek(qd_reader *r, uint64_t row) {
    npy_state *st = r->impl;
    if (row >= st->rows) return sbir_error("%s: no row %llu (the file has %llu, numbered from 0)", r->path,
                                           (unsigned long long)row, (unsigned long long)st->rows);
    uint64_t off = st->data_start + row * (uint64_t)st->side * st->side;
    if (fseeko(r->f, (off_t)off, SEEK_SET)) return sbir_error("%s: cannot seek to byte %llu", r->path, (unsigned long long)off);
    r->offset = off;
    r->count = row;
    return SBIR_OK;
}
