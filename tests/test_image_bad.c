/* test_image_bad.c — hostile images: truncated, corrupt, huge headers, zero size, not an image at
 * all. Every case must give an error that names the file (or, for corrupt bytes that still decode, a
 * valid image) and never crash or allocate the claimed size. */
#include <stdio.h>
#include <string.h>
/* jpeglib.h needs FILE and size_t first */
#include <jpeglib.h>

#include "data/image.h"
#include "test.h"
#include "util/atomic_file.h"
#include "util/common.h"

static const char *tmp_path(const char *name) {
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

/* A smooth test picture encoded with libjpeg (progressive or not, RGB or CMYK). */
static void make_jpeg(int w, int h, int progressive, int cmyk, unsigned char **out, unsigned long *n) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    *out = NULL;
    *n = 0;
    jpeg_mem_dest(&c, out, n);
    c.image_width = w;
    c.image_height = h;
    c.input_components = cmyk ? 4 : 3;
    c.in_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    if (progressive) jpeg_simple_progression(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char *row = malloc((size_t)w * c.input_components);
    while (c.next_scanline < c.image_height) {
        int y = c.next_scanline;
        for (int x = 0; x < w; x++)
            for (int k = 0; k < c.input_components; k++)
                row[x * c.input_components + k] = (unsigned char)(cmyk ? (k == 3 ? 255 : 255 - (x + y) % 200) : (x * 3 + y + 60 * k) % 256);
        JSAMPROW r[1] = {row};
        jpeg_write_scanlines(&c, r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
}

static void make_png(int w, int h, uint8_t **out, size_t *n) {
    uint8_t *px = malloc((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++) px[i] = (uint8_t)(i * 7);
    if (image_encode_png(px, w, h, 3, out, n)) {
        fprintf(stderr, "encode failed: %s\n", sbir_last_error());
        exit(2);
    }
    free(px);
}

/* Decoding `path` must fail with a message naming it; the probe must not crash either. */
static void expect_error(const char *path, const char *what) {
    sbir_image im = {0};
    sbir_clear_error();
    int rc = image_decode_file(path, 0, &im);
    CHECK(rc == SBIR_ERR, "%s: decoded as %dx%d", what, im.w, im.h);
    CHECK(strstr(sbir_last_error(), path) != NULL, "%s: error does not name the file: %s", what, sbir_last_error());
    CHECK(im.rgb == NULL, "%s: buffer returned on error", what);
    image_free(&im);
    rc = image_load_square(path, 64, IMAGE_FIT_PAD, &im);
    CHECK(rc == SBIR_ERR && im.rgb == NULL, "%s: load_square accepted it", what);
    int w, h;
    (void)image_probe_file(path, &w, &h, NULL); /* may or may not fail (header intact); must not crash */
}

static void test_truncated(void) {
    unsigned char *jpg;
    unsigned long jn;
    for (int prog = 0; prog < 2; prog++) {
        make_jpeg(160, 120, prog, 0, &jpg, &jn);
        /* Sanity: the whole file decodes. */
        sbir_image im;
        CHECK(image_decode_mem(jpg, jn, "ok.jpg", 0, &im) == SBIR_OK && im.w == 160 && im.h == 120, "%s", sbir_last_error());
        image_free(&im);
        size_t cuts[] = {2, 10, 200, jn / 2, jn - 2};
        for (size_t k = 0; k < SBIR_ARRAY_LEN(cuts); k++) {
            char name[64];
            snprintf(name, sizeof name, "cut%d_%zu.jpg", prog, cuts[k]);
            const char *p = tmp_path(name);
            test_write_file(p, jpg, cuts[k]);
            expect_error(p, name);
        }
        free(jpg);
    }
    uint8_t *png;
    size_t pn;
    make_png(100, 80, &png, &pn);
    size_t cuts[] = {4, 8, 20, 40, pn / 2, pn - 12, pn - 1};
    for (size_t k = 0; k < SBIR_ARRAY_LEN(cuts); k++) {
        char name[64];
        snprintf(name, sizeof name, "cut_%zu.png", cuts[k]);
        const char *p = tmp_path(name);
        test_write_file(p, png, cuts[k]);
        expect_error(p, name);
    }
    free(png);
}

/* Flipped bytes: an error naming the file or a decoded image of the header's size; never a crash. */
static void test_corrupt(void) {
    unsigned char *jpg;
    unsigned long jn;
    make_jpeg(160, 120, 1, 0, &jpg, &jn);
    int errors = 0, decoded = 0;
    for (int trial = 0; trial < 60; trial++) {
        unsigned char *c = malloc(jn);
        memcpy(c, jpg, jn);
        for (int k = 0; k < 4; k++) c[(size_t)(trial * 7919 + k * 104729) % jn] ^= (unsigned char)(0x5A + trial);
        sbir_image im;
        const char *name = tmp_path("corrupt.jpg");
        if (image_decode_mem(c, jn, name, 0, &im) == SBIR_OK) {
            decoded++;
            CHECK(im.w > 0 && im.h > 0 && im.rgb, "failed");
        } else {
            errors++;
            CHECK(strstr(sbir_last_error(), name) != NULL, "%s", sbir_last_error());
        }
        image_free(&im);
        free(c);
    }
    CHECK(errors + decoded == 60, "failed");
    free(jpg);
    uint8_t *png;
    size_t pn;
    make_png(64, 64, &png, &pn);
    for (int trial = 0; trial < 30; trial++) {
        uint8_t *c = malloc(pn);
        memcpy(c, png, pn);
        c[8 + (size_t)(trial * 131) % (pn - 8)] ^= 0xFF; /* past the signature: some chunk's CRC breaks */
        sbir_image im;
        int rc = image_decode_mem(c, pn, "corrupt.png", 0, &im);
        CHECK(rc == SBIR_ERR && strstr(sbir_last_error(), "corrupt.png"), "trial %d: corrupt PNG accepted", trial);
        image_free(&im);
        free(c);
    }
    free(png);
}

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A PNG whose IHDR claims w x h (valid CRC), followed by a tiny IDAT and IEND. */
static void write_png_header_only(const char *path, uint32_t w, uint32_t h) {
    uint8_t f[8 + 25 + 12 + 12] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t *ihdr = f + 8;
    put_be32(ihdr, 13);
    memcpy(ihdr + 4, "IHDR", 4);
    put_be32(ihdr + 8, w);
    put_be32(ihdr + 12, h);
    ihdr[16] = 8, ihdr[17] = 2, ihdr[18] = 0, ihdr[19] = 0, ihdr[20] = 0;
    put_be32(ihdr + 21, sbir_crc32(0, ihdr + 4, 17));
    uint8_t *idat = ihdr + 25;
    put_be32(idat, 0);
    memcpy(idat + 4, "IDAT", 4);
    put_be32(idat + 8, sbir_crc32(0, idat + 4, 4));
    uint8_t *iend = idat + 12;
    put_be32(iend, 0);
    memcpy(iend + 4, "IEND", 4);
    put_be32(iend + 8, sbir_crc32(0, iend + 4, 4));
    test_write_file(path, f, sizeof f);
}

/* Rewrites the SOF dimensions of a JPEG in place. */
static int patch_sof(unsigned char *j, unsigned long n, unsigned w, unsigned h) {
    for (unsigned long i = 2; i + 9 < n; i++)
        if (j[i] == 0xFF && (j[i + 1] == 0xC0 || j[i + 1] == 0xC2)) {
            j[i + 5] = (unsigned char)(h >> 8), j[i + 6] = (unsigned char)h;
            j[i + 7] = (unsigned char)(w >> 8), j[i + 8] = (unsigned char)w;
            return 1;
        }
    return 0;
}

static void test_huge_and_zero(void) {
    const char *p = tmp_path("huge.png");
    write_png_header_only(p, 50000, 50000);
    expect_error(p, "50000x50000 PNG");
    CHECK(strstr(sbir_last_error(), "limit") != NULL, "%s", sbir_last_error());
    int w = 0, h = 0;
    CHECK(image_probe_file(p, &w, &h, NULL) == SBIR_OK && w == 50000 && h == 50000, "probe reads the header");
    p = tmp_path("zero.png");
    write_png_header_only(p, 0, 10);
    expect_error(p, "0x10 PNG");

    unsigned char *jpg;
    unsigned long jn;
    make_jpeg(64, 48, 0, 0, &jpg, &jn);
    CHECK(patch_sof(jpg, jn, 50000, 50000), "failed");
    p = tmp_path("huge.jpg");
    test_write_file(p, jpg, jn);
    expect_error(p, "50000x50000 JPEG");
    CHECK(strstr(sbir_last_error(), "limit") != NULL, "%s", sbir_last_error());
    CHECK(patch_sof(jpg, jn, 64, 0), "failed");
    p = tmp_path("zero.jpg");
    test_write_file(p, jpg, jn);
    expect_error(p, "64x0 JPEG");
    free(jpg);

    /* The limit is configurable: a 160x120 image is refused under a 10000-pixel limit. */
    make_jpeg(160, 120, 0, 0, &jpg, &jn);
    image_set_max_pixels(10000);
    sbir_image im;
    CHECK(image_decode_mem(jpg, jn, "small.jpg", 0, &im) == SBIR_ERR, "failed");
    image_set_max_pixels(0); /* back to the default */
    CHECK(image_max_pixels() == IMAGE_DEFAULT_MAX_PIXELS, "failed");
    CHECK(image_decode_mem(jpg, jn, "small.jpg", 0, &im) == SBIR_OK, "failed");
    image_free(&im);
    free(jpg);
}

static void test_not_images(void) {
    const char *p = tmp_path("empty.jpg");
    test_write_file(p, "", 0);
    expect_error(p, "empty file");
    p = tmp_path("text.jpg");
    const char *txt = "this is not a picture\n";
    test_write_file(p, txt, strlen(txt));
    expect_error(p, "text named .jpg");
    CHECK(strstr(sbir_last_error(), "not a JPEG or PNG") != NULL, "%s", sbir_last_error());
    /* JPEG magic then garbage. */
    p = tmp_path("magic.jpg");
    test_write_file(p, "\xFF\xD8\xFF\xE0garbage-garbage-garbage", 26);
    expect_error(p, "JPEG magic + garbage");
    p = tmp_path("missing.png");
    expect_error(p, "missing file");
    expect_error(test_tmpdir(), "a directory");
}

/* Valid but unusual: CMYK JPEG (Adobe-inverted by libjpeg) decodes to RGB. */
static void test_cmyk(void) {
    unsigned char *jpg;
    unsigned long jn;
    make_jpeg(32, 16, 0, 1, &jpg, &jn);
    sbir_image im;
    CHECK(image_decode_mem(jpg, jn, "cmyk.jpg", 0, &im) == SBIR_OK && im.w == 32 && im.h == 16, "%s", sbir_last_error());
    image_free(&im);
    free(jpg);
}

int main(void) {
    RUN(test_truncated);
    RUN(test_corrupt);
    RUN(test_huge_and_zero);
    RUN(test_not_images);
    RUN(test_cmyk);
    return test_summary();
}
