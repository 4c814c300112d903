/* image.c — format sniffing, limits, file reading and dispatch to the JPEG/PNG decoders. */
#include "data/image.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include "util/atomic_file.h"
#include "util/common.h"

static _Atomic uint64_t g_max_pixels = IMAGE_DEFAULT_MAX_PIXELS;

void image_set_max_pixels(uint64_t max_pixels) { g_max_pixels = max_pixels ? max_pixels : IMAGE_DEFAULT_MAX_PIXELS; }
uint64_t image_max_pixels(void) { return g_max_pixels; }

image_format image_sniff(const void *data, size_t n) {
    const uint8_t *p = data;
    static const uint8_t png_sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n >= 8 && memcmp(p, png_sig, 8) == 0) return IMAGE_FORMAT_PNG;
    if (n >= 3 && p[0] == 0xFF && p[1] == 0xD8 && p[2] == 0xFF) return IMAGE_FORMAT_JPEG;
    return IMAGE_FORMAT_UNKNOWN;
}

int image_has_image_ext(const char *path) {
    const char *dot = strrchr(path, '.');
    if (!dot || strchr(dot, '/')) return 0;
    return strcasecmp(dot, ".jpg") == 0 || strcasecmp(dot, ".jpeg") == 0 || strcasecmp(dot, ".png") == 0;
}

static int unknown_format(const char *name, size_t n) {
    if (n == 0) return sbir_error("%s: empty file, not an image", name);
    return sbir_error("%s: not a JPEG or PNG file (unrecognised first bytes)", name);
}

int image_probe_mem(const void *data, size_t n, const char *name, int *w, int *h, image_format *fmt) {
    image_format f = image_sniff(data, n);
    if (fmt) *fmt = f;
    *w = *h = 0;
    int rc;
    if (f == IMAGE_FORMAT_JPEG)
        rc = image_jpeg_probe(data, n, name, w, h);
    else if (f == IMAGE_FORMAT_PNG)
        rc = image_png_probe(data, n, name, w, h);
    else
        return unknown_format(name, n);
    if (rc == SBIR_OK && (*w <= 0 || *h <= 0)) return sbir_error("%s: image has zero size (%dx%d)", name, *w, *h);
    return rc;
}

/* JPEG SOF can follow 64 KiB APPn segments (EXIF, ICC, thumbnails), so the probe reads a generous head
 * of the file and falls back to the whole file only when that was not enough. */
int image_probe_file(const char *path, int *w, int *h, image_format *fmt) {
    FILE *f = fopen(path, "rb");
    if (!f) return sbir_error("%s: cannot open: %s", path, strerror(errno));
    size_t cap = 256 << 10;
    uint8_t *buf = mallocCheck(cap);
    size_t n = fread(buf, 1, cap, f);
    int more = n == cap && fgetc(f) != EOF;
    fclose(f);
    int rc;
    if (!more) {
        rc = image_probe_mem(buf, n, path, w, h, fmt);
    } else {
        /* Try the head silently; on failure read the whole file for the real answer. */
        rc = image_probe_mem(buf, n, path, w, h, fmt);
        if (rc != SBIR_OK) {
            free(buf);
            buf = NULL;
            if (read_file_all(path, IMAGE_MAX_FILE_BYTES, &buf, &n)) return SBIR_ERR;
            rc = image_probe_mem(buf, n, path, w, h, fmt);
        }
    }
    free(buf);
    return rc;
}

int image_decode_mem(const void *data, size_t n, const char *name, int min_side, sbir_image *out) {
    memset(out, 0, sizeof *out);
    switch (image_sniff(data, n)) {
    case IMAGE_FORMAT_JPEG: return image_jpeg_decode(data, n, name, min_side, out);
    case IMAGE_FORMAT_PNG: return image_png_decode(data, n, name, out);
    default: return unknown_format(name, n);
    }
}

int image_decode_file(const char *path, int min_side, sbir_image *out) {
    unsigned char *buf = NULL;
    size_t n = 0;
    memset(out, 0, sizeof *out);
    if (read_file_all(path, IMAGE_MAX_FILE_BYTES, &buf, &n)) return SBIR_ERR;
    int rc = image_decode_mem(buf, n, path, min_side, out);
    free(buf);
    return rc;
}

void image_free(sbir_image *im) {
    if (!im) return;
    free(im->rgb);
    memset(im, 0, sizeof *im);
}

int image_load_square(const char *path, int S, image_fit_mode mode, sbir_image *out) {
    memset(out, 0, sizeof *out);
    if (S <= 0) return sbir_error("%s: bad target size %d", path, S);
    unsigned char *buf = NULL;
    size_t n = 0;
    if (read_file_all(path, IMAGE_MAX_FILE_BYTES, &buf, &n)) return SBIR_ERR;
    int w, h;
    image_format fmt;
    if (image_probe_mem(buf, n, path, &w, &h, &fmt)) {
        free(buf);
        return SBIR_ERR;
    }
    int lo = SBIR_MIN(w, h), hi = SBIR_MAX(w, h);
    /* Pad keeps the longer side >= S; crop keeps the shorter side >= S, i.e. the longer >= S * aspect. */
    int min_side = mode == IMAGE_FIT_CROP ? (int)SBIR_MIN(((int64_t)S * hi + lo - 1) / lo, (int64_t)hi) : S;
    sbir_image dec;
    int rc = image_decode_mem(buf, n, path, min_side, &dec);
    free(buf);
    if (rc) return rc;
    /* The picture's true extent in the decoded pixels: w * num/8, whose last pixel may be partial. */
    double scale = fmt == IMAGE_FORMAT_JPEG ? image_jpeg_scale_num(hi, min_side) / 8.0 : 1.0;
    double ew = SBIR_MIN((double)dec.w, w * scale), eh = SBIR_MIN((double)dec.h, h * scale);
    rc = image_fit_extent(&dec, ew, eh, S, mode, out);
    image_free(&dec);
    return rc;
}

int image_write_png(const char *path, const uint8_t *px, int w, int h, int channels) {
    uint8_t *buf;
    size_t n;
    if (image_encode_png(px, w, h, channels, &buf, &n)) return sbir_error_prefix("%s", path);
    int rc = write_file_atomic(path, buf, n);
    free(buf);
    return rc;
}
