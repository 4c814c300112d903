/* test_image.c — decoding real JPEG/PNG files, PNG variants round-tripped, DCT-scaled decoding,
 * resampling and the network layout. */
#include <png.h>
#include <string.h>

#include "data/image.h"
#include "test.h"
#include "util/common.h"

static char g_path[4096];
static const char *data_path(const char *rel) {
    const char *d = test_data_dir();
    if (!d) return NULL;
    snprintf(g_path, sizeof g_path, "%s/%s", d, rel);
    return g_path;
}

static const char *tmp_path(const char *name) {
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

static double mean_value(const sbir_image *im) {
    double s = 0;
    size_t n = (size_t)im->w * im->h * 3;
    for (size_t i = 0; i < n; i++) s += im->rgb[i];
    return s / n;
}

static void test_real_files(void) {
    if (!test_data_dir()) {
        SKIP("../shared/data absent");
        return;
    }
    const char *files[] = {"pacs/photo/dog/056_0001.jpg", "pacs/sketch/dog/5283.png", "pacs/art_painting/horse/pic_003.jpg",
                           "pacs/cartoon/house/pic_001.jpg"};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(files); i++) {
        const char *p = data_path(files[i]);
        sbir_image im;
        int rc = image_decode_file(p, 0, &im);
        CHECK(rc == SBIR_OK, "%s: %s", p, sbir_last_error());
        CHECK(im.w == 227 && im.h == 227, "%s: %dx%d", p, im.w, im.h);
        double m = rc ? 0 : mean_value(&im);
        CHECK(m > 20 && m < 250, "%s: mean %g: not a plausible picture", p, m);
        int w, h;
        image_format f;
        CHECK(image_probe_file(p, &w, &h, &f) == SBIR_OK && w == 227 && h == 227, "failed");
        CHECK(f == (strstr(p, ".png") ? IMAGE_FORMAT_PNG : IMAGE_FORMAT_JPEG), "failed");
        image_free(&im);
    }
    /* The two BAM! JPEGs (progressive; one with EXIF). */
    struct { const char *f; int w, h; } bam[] = {{"bam/comic_14480155.jpg", 600, 882}, {"bam/watercolor_142090457.jpg", 600, 436}};
    for (int i = 0; i < 2; i++) {
        const char *p = data_path(bam[i].f);
        sbir_image im;
        CHECK(image_decode_file(p, 0, &im) == SBIR_OK, "%s", sbir_last_error());
        CHECK(im.w == bam[i].w && im.h == bam[i].h, "%s: %dx%d", p, im.w, im.h);
        int w, h;
        CHECK(image_probe_file(p, &w, &h, NULL) == SBIR_OK && w == bam[i].w && h == bam[i].h, "failed");
        image_free(&im);
    }
}

/* Mean |a - b| over the interior with b shifted by (dx, dy). */
static double shifted_diff(const sbir_image *a, const sbir_image *b, int dx, int dy) {
    double d = 0;
    int n = 0, S = a->w;
    for (int y = 2; y < S - 2; y++)
        for (int x = 2; x < S - 2; x++)
            for (int c = 0; c < 3; c++, n++) d += fabs((double)a->rgb[(y * S + x) * 3 + c] - b->rgb[((y + dy) * S + x + dx) * 3 + c]);
    return d / n;
}

/* DCT-scaled decoding must give what full decoding followed by resampling gives: the same picture,
 * aligned to the pixel (a half-pixel shift would show as a large difference), without a bias; the
 * remaining difference is the DCT filter's ringing on sharp line art versus the box filter. */
static void test_dct_scaling(void) {
    if (!test_data_dir()) {
        SKIP("../shared/data absent");
        return;
    }
    const char *p = data_path("bam/comic_14480155.jpg");
    sbir_image full, scaled;
    CHECK(image_decode_file(p, 0, &full) == SBIR_OK, "failed");
    CHECK(image_decode_file(p, 200, &scaled) == SBIR_OK, "failed");
    /* 882 * 2/8 = 220.5 -> 221 >= 200: the 2/8 scale is the smallest that keeps the longer side >= 200. */
    CHECK(scaled.h == 221 && scaled.w == 150, "scaled %dx%d", scaled.w, scaled.h);
    image_free(&scaled);
    /* min_side larger than the image: full size. */
    sbir_image big;
    CHECK(image_decode_file(p, 5000, &big) == SBIR_OK && big.w == 600 && big.h == 882, "failed");
    image_free(&big);
    const char *files[] = {"bam/comic_14480155.jpg", "bam/watercolor_142090457.jpg"};
    for (int f = 0; f < 2; f++) {
        p = data_path(files[f]);
        image_free(&full);
        CHECK(image_decode_file(p, 0, &full) == SBIR_OK, "failed");
        int sizes[] = {64, 96, 128};
        for (int k = 0; k < 3; k++)
            for (int mode = 0; mode < 2; mode++) {
                sbir_image a, b;
                int S = sizes[k];
                CHECK(image_load_square(p, S, (image_fit_mode)mode, &a) == SBIR_OK && a.w == S && a.h == S, "failed");
                CHECK(image_fit(&full, S, (image_fit_mode)mode, &b) == SBIR_OK, "failed");
                if (!a.rgb || !b.rgb) continue;
                double d0 = shifted_diff(&a, &b, 0, 0), dx = shifted_diff(&a, &b, 1, 0), dy = shifted_diff(&a, &b, 0, 1);
                double bias = 0;
                for (int i = 0; i < S * S * 3; i++) bias += (double)a.rgb[i] - b.rgb[i];
                bias /= S * S * 3;
                CHECK(d0 < (mode ? 12.0 : 8.0) && d0 < 0.5 * dx && d0 < 0.5 * dy && fabs(bias) < 1.5,
                      "%s S=%d mode %d: diff %.2f (shifted %.2f %.2f), bias %.2f", files[f], S, mode, d0, dx, dy, bias);
                image_free(&a);
                image_free(&b);
            }
    }
    /* load_square, pad mode: 600x882 -> 65x96 centred, columns 0..14 are white padding. */
    sbir_image sq;
    CHECK(image_load_square(data_path("bam/comic_14480155.jpg"), 96, IMAGE_FIT_PAD, &sq) == SBIR_OK, "failed");
    CHECK(sq.rgb && sq.rgb[0] == 255 && sq.rgb[3 * 14] == 255 && sq.rgb[3 * (95 * 96 + 95)] == 255, "failed");
    image_free(&sq);
    image_free(&full);
}

static void test_png_writer_roundtrip(void) {
    enum { W = 13, H = 7 };
    uint8_t grey[W * H], rgb[W * H * 3], rgba[W * H * 4];
    for (int i = 0; i < W * H; i++) {
        grey[i] = (uint8_t)(i * 3);
        for (int c = 0; c < 3; c++) rgb[3 * i + c] = (uint8_t)(i * (c + 1));
        for (int c = 0; c < 3; c++) rgba[4 * i + c] = (uint8_t)(i + 50 * c);
        rgba[4 * i + 3] = (uint8_t)(i * 255 / (W * H - 1));
    }
    sbir_image im;
    CHECK(image_write_png(tmp_path("g.png"), grey, W, H, 1) == SBIR_OK, "%s", sbir_last_error());
    CHECK(image_decode_file(tmp_path("g.png"), 0, &im) == SBIR_OK && im.w == W && im.h == H, "failed");
    int bad = 0;
    for (int i = 0; im.rgb && i < W * H; i++)
        for (int c = 0; c < 3; c++) bad += im.rgb[3 * i + c] != grey[i];
    CHECK(bad == 0, "grey round trip: %d wrong samples", bad);
    image_free(&im);

    CHECK(image_write_png(tmp_path("rgb.png"), rgb, W, H, 3) == SBIR_OK, "failed");
    CHECK(image_decode_file(tmp_path("rgb.png"), 0, &im) == SBIR_OK, "failed");
    CHECK(im.rgb && memcmp(im.rgb, rgb, sizeof rgb) == 0, "RGB round trip differs");
    image_free(&im);

    CHECK(image_write_png(tmp_path("rgba.png"), rgba, W, H, 4) == SBIR_OK, "failed");
    CHECK(image_decode_file(tmp_path("rgba.png"), 0, &im) == SBIR_OK, "failed");
    bad = 0;
    for (int i = 0; im.rgb && i < W * H; i++)
        for (int c = 0; c < 3; c++) {
            int a = rgba[4 * i + 3];
            int want = (rgba[4 * i + c] * a + 255 * (255 - a) + 127) / 255;
            bad += abs(im.rgb[3 * i + c] - want) > 1;
        }
    CHECK(bad == 0, "RGBA on white: %d wrong samples", bad);
    CHECK(im.rgb && im.rgb[0] == 255 && im.rgb[1] == 255, "fully transparent pixel must be white");
    image_free(&im);
    CHECK(image_write_png(tmp_path("x.png"), rgb, 0, H, 3) == SBIR_ERR, "failed");
    CHECK(image_write_png(tmp_path("x.png"), rgb, W, H, 2) == SBIR_ERR, "failed");
}

/* Writes a PNG with libpng directly, for the variants our writer does not produce. */
static void write_png_raw(const char *path, int w, int h, int depth, int type, const uint8_t *rows_data, size_t rowbytes,
                          const png_color *pal, int npal, const uint8_t *trns, int ntrns, int interlace) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "libpng write failed\n");
        exit(2);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, w, h, depth, type, interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (pal) png_set_PLTE(png, info, pal, npal);
    if (trns) png_set_tRNS(png, info, trns, ntrns, NULL);
    png_bytep *rows = malloc(sizeof(png_bytep) * h);
    for (int y = 0; y < h; y++) rows[y] = (png_bytep)(rows_data + (size_t)y * rowbytes);
    png_set_rows(png, info, rows);
    png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
    png_destroy_write_struct(&png, &info);
    free(rows);
    fclose(f);
}

static void test_png_variants(void) {
    enum { W = 8, H = 4 };
    sbir_image im;
    /* Palette (4 colours, 2-bit indices) with a transparent entry -> composited on white. */
    png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {0, 0, 0}};
    uint8_t trns[4] = {255, 255, 255, 0};
    uint8_t pidx[W * H / 4];
    for (int i = 0; i < W * H / 4; i++) pidx[i] = 0x1B; /* indices 0,1,2,3 */
    write_png_raw(tmp_path("pal.png"), W, H, 2, PNG_COLOR_TYPE_PALETTE, pidx, W / 4, pal, 4, trns, 4, 0);
    CHECK(image_decode_file(tmp_path("pal.png"), 0, &im) == SBIR_OK && im.w == W && im.h == H, "%s", sbir_last_error());
    if (im.rgb) {
        const uint8_t want[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
        int bad = 0;
        for (int x = 0; x < W; x++)
            for (int c = 0; c < 3; c++) bad += im.rgb[3 * (W + x) + c] != want[x % 4][c];
        CHECK(bad == 0, "palette: %d wrong samples", bad);
    }
    image_free(&im);

    /* 16-bit RGB: 0xFFFF -> 255, 0x8080 -> 128, 0 -> 0. */
    uint8_t rgb16[W * H * 6];
    for (int i = 0; i < W * H; i++) {
        uint16_t v[3] = {0xFFFF, 0x8080, 0};
        for (int c = 0; c < 3; c++) {
            rgb16[6 * i + 2 * c] = (uint8_t)(v[c] >> 8);
            rgb16[6 * i + 2 * c + 1] = (uint8_t)v[c];
        }
    }
    write_png_raw(tmp_path("rgb16.png"), W, H, 16, PNG_COLOR_TYPE_RGB, rgb16, W * 6, NULL, 0, NULL, 0, 0);
    CHECK(image_decode_file(tmp_path("rgb16.png"), 0, &im) == SBIR_OK, "%s", sbir_last_error());
    CHECK(im.rgb && im.rgb[0] == 255 && im.rgb[1] == 128 && im.rgb[2] == 0, "16-bit: %d %d %d", im.rgb ? im.rgb[0] : -1,
          im.rgb ? im.rgb[1] : -1, im.rgb ? im.rgb[2] : -1);
    image_free(&im);

    /* 16-bit grey + alpha, interlaced: half-transparent black -> mid grey. */
    uint8_t ga16[W * H * 4];
    for (int i = 0; i < W * H; i++) {
        ga16[4 * i] = ga16[4 * i + 1] = 0;      /* grey 0 */
        ga16[4 * i + 2] = ga16[4 * i + 3] = 0x80; /* alpha 0x8080 -> 128 */
    }
    write_png_raw(tmp_path("ga16.png"), W, H, 16, PNG_COLOR_TYPE_GRAY_ALPHA, ga16, W * 4, NULL, 0, NULL, 0, 1);
    CHECK(image_decode_file(tmp_path("ga16.png"), 0, &im) == SBIR_OK, "%s", sbir_last_error());
    CHECK(im.rgb && im.rgb[0] == 127 && im.rgb[1] == 127 && im.rgb[2] == 127, "grey+alpha on white: %d",
          im.rgb ? im.rgb[0] : -1);
    image_free(&im);

    /* 1-bit grey: 0 -> black, 1 -> white. */
    uint8_t g1[H] = {0xAA, 0xAA, 0xAA, 0xAA}; /* 10101010 */
    write_png_raw(tmp_path("g1.png"), W, H, 1, PNG_COLOR_TYPE_GRAY, g1, 1, NULL, 0, NULL, 0, 0);
    CHECK(image_decode_file(tmp_path("g1.png"), 0, &im) == SBIR_OK, "%s", sbir_last_error());
    CHECK(im.rgb && im.rgb[0] == 255 && im.rgb[3] == 0 && im.rgb[5] == 0, "1-bit grey");
    image_free(&im);
}

static void test_resize(void) {
    /* A constant image stays exactly constant, shrinking or enlarging. */
    sbir_image c = {37, 23, malloc(37 * 23 * 3)}, r;
    for (int i = 0; i < 37 * 23 * 3; i++) c.rgb[i] = (uint8_t)(i % 3 == 0 ? 200 : i % 3 == 1 ? 17 : 99);
    int sizes[][2] = {{5, 3}, {64, 64}, {37, 23}, {100, 7}};
    for (size_t k = 0; k < SBIR_ARRAY_LEN(sizes); k++) {
        CHECK(image_resize(&c, sizes[k][0], sizes[k][1], &r) == SBIR_OK, "failed");
        int bad = 0;
        for (int i = 0; r.rgb && i < r.w * r.h * 3; i++) bad += r.rgb[i] != (i % 3 == 0 ? 200 : i % 3 == 1 ? 17 : 99);
        CHECK(bad == 0, "constant %dx%d: %d samples changed", sizes[k][0], sizes[k][1], bad);
        image_free(&r);
    }
    image_free(&c);

    /* Area averaging of a gradient: 0,10,..,70 -> pairs averaged. */
    sbir_image g = {8, 1, malloc(8 * 3)};
    for (int x = 0; x < 8; x++) g.rgb[3 * x] = g.rgb[3 * x + 1] = g.rgb[3 * x + 2] = (uint8_t)(10 * x);
    CHECK(image_resize(&g, 4, 1, &r) == SBIR_OK, "failed");
    CHECK(r.rgb && r.rgb[0] == 5 && r.rgb[3] == 25 && r.rgb[6] == 45 && r.rgb[9] == 65, "failed");
    image_free(&r);
    /* Non-integer factor 8 -> 3: output 0 covers [0, 8/3): (0+10+ 2/3*20)/(8/3) = 8.75 -> 9 */
    CHECK(image_resize(&g, 3, 1, &r) == SBIR_OK, "failed");
    CHECK(r.rgb && r.rgb[0] == 9 && r.rgb[3] == 35 && r.rgb[6] == 61, "%d %d %d", r.rgb[0], r.rgb[3], r.rgb[6]);
    image_free(&r);
    image_free(&g);
    /* Bilinear enlarging 2 -> 4 at pixel centres: 0, 25, 75, 100. */
    sbir_image t = {2, 1, malloc(6)};
    memset(t.rgb, 0, 3);
    memset(t.rgb + 3, 100, 3);
    CHECK(image_resize(&t, 4, 1, &r) == SBIR_OK, "failed");
    CHECK(r.rgb && r.rgb[0] == 0 && r.rgb[3] == 25 && r.rgb[6] == 75 && r.rgb[9] == 100, "failed");
    image_free(&r);
    image_free(&t);
}

static void test_fit_and_chw(void) {
    sbir_image red = {200, 100, malloc(200 * 100 * 3)}, out;
    for (int i = 0; i < 200 * 100; i++) red.rgb[3 * i] = 255, red.rgb[3 * i + 1] = red.rgb[3 * i + 2] = 0;
    CHECK(image_fit(&red, 64, IMAGE_FIT_PAD, &out) == SBIR_OK && out.w == 64 && out.h == 64, "failed");
    /* 200x100 -> 64x32 at rows 16..47; rows 0..15 and 48..63 white. */
    CHECK(out.rgb[(5 * 64 + 10) * 3 + 1] == 255 && out.rgb[(60 * 64 + 10) * 3 + 1] == 255, "failed");
    CHECK(out.rgb[(16 * 64 + 0) * 3 + 1] == 0 && out.rgb[(47 * 64 + 63) * 3] == 255 && out.rgb[(47 * 64 + 63) * 3 + 1] == 0, "failed");
    float *chw = malloc(sizeof(float) * 3 * 64 * 64);
    image_to_chw(&out, chw, NULL, NULL);
    CHECK_NEAR(chw[0], 1.0, 1e-6);                        /* R of white */
    CHECK_NEAR(chw[64 * 64 + 20 * 64 + 5], 0.0, 1e-6);    /* G of red */
    const float mean[3] = {0.5f, 0.5f, 0.5f}, sd[3] = {0.25f, 0.25f, 0.25f};
    image_to_chw(&out, chw, mean, sd);
    CHECK_NEAR(chw[0], 2.0, 1e-5);
    CHECK_NEAR(chw[2 * 64 * 64 + 20 * 64 + 5], -2.0, 1e-5);
    free(chw);
    image_free(&out);
    CHECK(image_fit(&red, 50, IMAGE_FIT_CROP, &out) == SBIR_OK && out.w == 50 && out.h == 50 && out.rgb[0] == 255 &&
          out.rgb[1] == 0, "failed");
    image_free(&out);
    image_free(&red);
}

int main(void) {
    RUN(test_real_files);
    RUN(test_dct_scaling);
    RUN(test_png_writer_roundtrip);
    RUN(test_png_variants);
    RUN(test_resize);
    RUN(test_fit_and_chw);
    return test_summary();
}
