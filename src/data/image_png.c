/* image_png.c — PNG decoding and encoding through libpng, from/to memory.
 *
 * libpng reports fatal errors through a callback that must not return; ours copies the message and
 * longjmps back to the setjmp in each entry point. Every PNG variant is normalised to 8-bit RGB:
 * palette and low-bit grey expanded, tRNS turned into alpha, 16-bit scaled (not truncated) to 8, grey
 * replicated, and alpha composited on white. */
#include <png.h>
#include <setjmp.h>
#include <string.h>

#include "data/image.h"
#include "util/common.h"

typedef struct {
    const uint8_t *p;
    size_t n, pos;
    char msg[256];
} png_src;

static void on_png_error(png_structp png, png_const_charp msg) {
    png_src *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg) {
    (void)png; /* ancillary-chunk complaints (bad iCCP, sRGB profiles...) do not change the pixels */
    (void)msg;
}

static void on_png_read(png_structp png, png_bytep dst, png_size_t len) {
    png_src *s = png_get_io_ptr(png);
    if (len > s->n - s->pos) png_error(png, "file is truncated");
    memcpy(dst, s->p + s->pos, len);
    s->pos += len;
}

static png_structp make_reader(png_src *s, png_infop *info) {
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, s, on_png_error, on_png_warning);
    if (!png) return NULL;
    *info = png_create_info_struct(png);
    if (!*info) {
        png_destroy_read_struct(&png, NULL, NULL);
        return NULL;
    }
    png_set_read_fn(png, s, on_png_read);
    /* Bound ancillary chunk sizes (text, ICC...) so a hostile file cannot make libpng allocate much. */
    png_set_chunk_malloc_max(png, 8u << 20);
    return png;
}

int image_png_probe(const void *data, size_t n, const char *name, int *w, int *h) {
    png_src s = {.p = data, .n = n};
    png_infop info = NULL;
    png_structp png = make_reader(&s, &info);
    if (!png) return sbir_error("%s: PNG: out of memory", name);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        return sbir_error("%s: PNG: %s", name, s.msg);
    }
    png_read_info(png, info);
    *w = (int)png_get_image_width(png, info);
    *h = (int)png_get_image_height(png, info);
    png_destroy_read_struct(&png, &info, NULL);
    return SBIR_OK;
}

int image_png_decode(const void *data, size_t n, const char *name, sbir_image *out) {
    png_src s = {.p = data, .n = n};
    png_infop info = NULL;
    uint8_t *volatile buf = NULL;
    png_bytep *volatile rows = NULL;
    memset(out, 0, sizeof *out);
    png_structp png = make_reader(&s, &info);
    if (!png) return sbir_error("%s: PNG: out of memory", name);
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        free(buf);
        free(rows);
        return sbir_error("%s: PNG: %s", name, s.msg);
    }
    png_read_info(png, info);
    png_uint_32 W = png_get_image_width(png, info), H = png_get_image_height(png, info);
    uint64_t npix = (uint64_t)W * H;
    if (npix == 0 || npix > image_max_pixels()) {
        png_destroy_read_struct(&png, &info, NULL);
        return sbir_error("%s: PNG: %ux%u image exceeds the limit of %llu pixels", name, (unsigned)W, (unsigned)H,
                          (unsigned long long)image_max_pixels());
    }
    int type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
    if (type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    if (depth == 16) png_set_scale_16(png);
    if (type == PNG_COLOR_TYPE_GRAY || type == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    int C = png_get_channels(png, info);
    size_t rowbytes = png_get_rowbytes(png, info);
    if ((C != 3 && C != 4) || rowbytes != (size_t)W * C) {
        snprintf(s.msg, sizeof s.msg, "unsupported layout (%d channels)", C);
        png_longjmp(png, 1);
    }
    buf = mallocCheck((size_t)H * rowbytes);
    rows = mallocCheck((size_t)H * sizeof(png_bytep));
    for (png_uint_32 y = 0; y < H; y++) rows[y] = buf + (size_t)y * rowbytes;
    png_read_image(png, rows);
    png_read_end(png, NULL); /* checks the CRCs up to IEND: a file cut after the pixels is still an error */
    png_destroy_read_struct(&png, &info, NULL);
    free(rows);
    if (C == 4) { /* composite on white, in place (the RGB output is never ahead of the RGBA input) */
        uint8_t *p = buf;
        for (size_t i = 0; i < npix; i++) {
            int a = p[4 * i + 3];
            for (int ch = 0; ch < 3; ch++) p[3 * i + ch] = (uint8_t)((p[4 * i + ch] * a + 255 * (255 - a) + 127) / 255);
        }
        buf = reallocCheck(buf, (size_t)npix * 3);
    }
    out->w = (int)W;
    out->h = (int)H;
    out->rgb = buf;
    return SBIR_OK;
}

/* ---- writing ---- */

typedef struct {
    uint8_t *p;
    size_t n, cap;
    char msg[256];
} png_sink;

static void on_png_write(png_structp png, png_bytep src, png_size_t len) {
    png_sink *s = png_get_io_ptr(png);
    if (s->n + len > s->cap) {
        s->cap = SBIR_MAX(s->cap * 2, s->n + len + 4096);
        s->p = reallocCheck(s->p, s->cap);
    }
    memcpy(s->p + s->n, src, len);
    s->n += len;
}

static void on_png_flush(png_structp png) { (void)png; }

static void on_png_write_error(png_structp png, png_const_charp msg) {
    png_sink *s = png_get_error_ptr(png);
    snprintf(s->msg, sizeof s->msg, "%s", msg);
    png_longjmp(png, 1);
}

int image_encode_png(const uint8_t *px, int w, int h, int channels, uint8_t **out, size_t *out_len) {
    *out = NULL;
    *out_len = 0;
    if (w <= 0 || h <= 0 || (channels != 1 && channels != 3 && channels != 4))
        return sbir_error("PNG encode: bad image %dx%d with %d channels", w, h, channels);
    png_sink s = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &s, on_png_write_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        return sbir_error("PNG encode: out of memory");
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(s.p);
        return sbir_error("PNG encode: %s", s.msg);
    }
    int type = channels == 1 ? PNG_COLOR_TYPE_GRAY : channels == 3 ? PNG_COLOR_TYPE_RGB : PNG_COLOR_TYPE_RGBA;
    png_set_write_fn(png, &s, on_png_write, on_png_flush);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < h; y++) png_write_row(png, (png_const_bytep)(px + (size_t)y * w * channels));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *out = s.p;
    *out_len = s.n;
    return SBIR_OK;
}
