/* quickdraw_bin.c — Google's binary format, little-endian, per drawing:
 *   key_id u64, countrycode 2 bytes, recognized u8, timestamp u32, n_strokes u16,
 *   then per stroke: n_points u16, x u8[n_points], y u8[n_points].
 * There is no file header or count, so the end of the file is only valid between drawings; any
 * other end is a truncated file and is reported with the drawing and the byte offset. */
#include <string.h>

#include "data/quickdraw_internal.h"
#include "util/common.h"

typedef struct {
    uint8_t buf[2 * 65535];
} bin_state;

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24; }
static uint64_t le64(const uint8_t *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

static int truncated(qd_reader *r, uint64_t start, const char *where) {
    return sbir_error("%s: drawing %llu (at byte %llu): file ends %s at byte %llu (truncated file)", r->path,
                      (unsigned long long)r->count + 1, (unsigned long long)start, where,
                      (unsigned long long)r->offset);
}

static int bin_next(qd_reader *r, sbir_sketch *s) {
    bin_state *st = r->impl;
    uint8_t h[17];
    uint64_t start = r->offset;
    size_t got = qd_read_full(r, h, sizeof h);
    if (got == 0) return ferror(r->f) ? sbir_error("%s: read error at byte %llu", r->path, (unsigned long long)start) : 0;
    if (got < sizeof h) return truncated(r, start, "inside the drawing header");
    sketch_clear(s);
    s->key_id = le64(h);
    for (int i = 0; i < 2; i++) {
        uint8_t c = h[8 + i];
        if (c == 0) break;
        if (c < 0x20 || c > 0x7e)
            return sbir_error("%s: drawing %llu (at byte %llu): country code byte 0x%02x is not a printable character",
                              r->path, (unsigned long long)r->count + 1, (unsigned long long)start, c);
        s->countrycode[i] = (char)c;
        s->countrycode[i + 1] = 0;
    }
    if (h[10] > 1)
        return sbir_error("%s: drawing %llu (at byte %llu): recognized flag is %u (expected 0 or 1)", r->path,
                          (unsigned long long)r->count + 1, (unsigned long long)start, h[10]);
    s->recognized = h[10];
    s->timestamp = le32(h + 11);
    uint32_t ns = le16(h + 15);
    if (ns == 0 || ns > r->opt.max_strokes)
        return sbir_error("%s: drawing %llu (at byte %llu): %u strokes (expected 1 to %u)", r->path,
                          (unsigned long long)r->count + 1, (unsigned long long)start, ns, r->opt.max_strokes);
    for (uint32_t k = 0; k < ns; k++) {
        uint8_t nb[2];
        char where[64];
        snprintf(where, sizeof where, "in stroke %u", k + 1);
        if (qd_read_full(r, nb, 2) < 2) return truncated(r, start, where);
        uint32_t n = le16(nb);
        if ((uint64_t)s->n_points + n > r->opt.max_points)
            return sbir_error("%s: drawing %llu (at byte %llu): more than %u points", r->path,
                              (unsigned long long)r->count + 1, (unsigned long long)start, r->opt.max_points);
        if (qd_read_full(r, st->buf, 2 * (size_t)n) < 2 * (size_t)n) return truncated(r, start, where);
        if (n == 0) continue;
        sketch_begin_stroke(s);
        for (uint32_t i = 0; i < n; i++) sketch_add_point(s, st->buf[i], st->buf[n + i], 0.0f);
    }
    if (s->n_points == 0)
        return sbir_error("%s: drawing %llu (at byte %llu): drawing has no points", r->path,
                          (unsigned long long)r->count + 1, (unsigned long long)start);
    memcpy(s->word, r->word, sizeof s->word);
    return 1;
}

static void bin_close(qd_reader *r) {
    free(r->impl);
    r->impl = NULL;
}

int qd_bin_open(qd_reader *r) {
    r->impl = mallocCheck(sizeof(bin_state));
    r->next = bin_next;
    r->close = bin_close;
    return SBIR_OK;
}

int qd_bin_write(FILE *f, const sbir_sketch *s) {
    if (s->bitmap_size) return sbir_error("a bitmap sketch cannot be written in the .bin format");
    if (s->n_strokes == 0 || s->n_strokes > 65535)
        return sbir_error("the .bin format needs 1 to 65535 strokes, the sketch has %u", s->n_strokes);
    uint8_t h[17];
    for (int i = 0; i < 8; i++) h[i] = (uint8_t)(s->key_id >> (8 * i));
    h[8] = (uint8_t)s->countrycode[0];
    h[9] = s->countrycode[0] ? (uint8_t)s->countrycode[1] : 0;
    h[10] = s->recognized == 1;
    uint32_t ts = s->timestamp > 0 && s->timestamp <= (int64_t)UINT32_MAX ? (uint32_t)s->timestamp : 0;
    for (int i = 0; i < 4; i++) h[11 + i] = (uint8_t)(ts >> (8 * i));
    h[15] = (uint8_t)s->n_strokes, h[16] = (uint8_t)(s->n_strokes >> 8);
    if (fwrite(h, 1, sizeof h, f) != sizeof h) return sbir_error("write error");
    uint8_t *buf = mallocCheck(2 * 65535 + 2);
    int rc = SBIR_OK;
    for (uint32_t k = 0; k < s->n_strokes && rc == SBIR_OK; k++) {
        uint32_t a = s->stroke_start[k], n = sketch_stroke_len(s, k);
        if (n > 65535) {
            rc = sbir_error("stroke %u has %u points (the .bin format allows 65535)", k + 1, n);
            break;
        }
        buf[0] = (uint8_t)n, buf[1] = (uint8_t)(n >> 8);
        for (uint32_t i = 0; i < n; i++) {
            float x = s->x[a + i], y = s->y[a + i];
            if (!(x >= 0 && x <= 255 && y >= 0 && y <= 255) || x != (float)(int)x || y != (float)(int)y) {
                rc = sbir_error("stroke %u point %u (%g, %g) is not an integer in 0..255 (simplify first)", k + 1,
                                i + 1, x, y);
                break;
            }
            buf[2 + i] = (uint8_t)x;
            buf[2 + n + i] = (uint8_t)y;
        }
        if (rc == SBIR_OK && fwrite(buf, 1, 2 + 2 * (size_t)n, f) != 2 + 2 * (size_t)n) rc = sbir_error("write error");
    }
    free(buf);
    return rc;
}
