/* image.h — decoding JPEG and PNG to RGB, resizing to the network's S x S input, writing PNG.
 *
 * Decoding: every decoder returns 8-bit RGB (3 bytes per pixel, row-major, no padding). Greyscale is
 * replicated, palettes expanded, 16-bit samples scaled to 8 bits, CMYK/YCCK JPEGs converted, and alpha
 * (PNG alpha channel or tRNS) composited on WHITE — sketches are dark ink on white paper, and a
 * transparent background must look like paper, not like black ink.
 *
 * Hostile input: the pixel count in the header is checked against image_max_pixels() (default 100
 * megapixels) BEFORE any pixel buffer is allocated; files larger than IMAGE_MAX_FILE_BYTES are refused;
 * truncated or corrupt data is an error (libjpeg's and libpng's fatal errors longjmp back to us, and
 * libjpeg's "premature end of data" / bad-Huffman warnings are promoted to errors so a half-grey image is
 * never returned silently). Errors name the file: "photo/dog/1.jpg: JPEG: Premature end of JPEG file".
 *
 * Size hint: decode(..., min_side, ...) lets the JPEG decoder use DCT scaling (1/8, 2/8 or 4/8: the
 * scales with SIMD inverse DCTs) to produce an image whose LONGER side is still >= min_side (0 = full
 * size). Decoding a 4000x3000 photo for a 128x128 network input then costs a fraction of a full decode.
 * PNG ignores the hint. image_load_square() accounts for the partial last DCT block, so the result is
 * aligned to the pixel with what a full decode + image_fit gives (tests/test_image.c checks this).
 *
 * Fitting to the network (image_fit): IMAGE_FIT_PAD (the default policy) scales the whole image to fit
 * inside S x S keeping its aspect ratio, centred, the borders padded with white; IMAGE_FIT_CROP scales
 * the shorter side to S and crops the centre. Resampling is separable: area averaging (exact box
 * overlap) when shrinking, bilinear (triangle) when enlarging, computed in float, rounded to nearest. */
#ifndef SBIR_IMAGE_H
#define SBIR_IMAGE_H

#include <stddef.h>
#include <stdint.h>

#define IMAGE_MAX_FILE_BYTES ((size_t)256 << 20)
#define IMAGE_DEFAULT_MAX_PIXELS ((uint64_t)100000000)

typedef struct {
    int w, h;
    uint8_t *rgb; /* w * h * 3 bytes */
} sbir_image;

typedef enum { IMAGE_FORMAT_UNKNOWN = 0, IMAGE_FORMAT_JPEG, IMAGE_FORMAT_PNG } image_format;
typedef enum { IMAGE_FIT_PAD = 0, IMAGE_FIT_CROP = 1 } image_fit_mode;

/* Process-wide limit on width * height of images to decode (header check before allocating). */
void image_set_max_pixels(uint64_t max_pixels);
uint64_t image_max_pixels(void);

/* Format from the first bytes (magic numbers), not from the file name. */
image_format image_sniff(const void *data, size_t n);
/* True when the file name ends in .jpg/.jpeg/.png (any case). */
int image_has_image_ext(const char *path);

/* Width and height from the header only (no pixel decode). name is for error messages. */
int image_probe_mem(const void *data, size_t n, const char *name, int *w, int *h, image_format *fmt);
int image_probe_file(const char *path, int *w, int *h, image_format *fmt);

/* Full decode to RGB. min_side: see the size hint above (0 = full size). out->rgb is malloc'd;
 * on error out is zeroed. */
int image_decode_mem(const void *data, size_t n, const char *name, int min_side, sbir_image *out);
int image_decode_file(const char *path, int min_side, sbir_image *out);
void image_free(sbir_image *im); /* frees im->rgb, zeroes im; NULL-safe */

/* Resamples src to w x h (see the filter policy above). */
int image_resize(const sbir_image *src, int w, int h, sbir_image *out);
/* Fits src into an S x S image by the given policy. */
int image_fit(const sbir_image *src, int S, image_fit_mode mode, sbir_image *out);
/* decode (with the right DCT hint for the mode) + fit: the usual way to load a network input. */
int image_load_square(const char *path, int S, image_fit_mode mode, sbir_image *out);

/* Network input layout: out[c*h*w + y*w + x] (3, h, w) floats. mean/std NULL: values in [0, 1]
 * (v / 255); otherwise (v / 255 - mean[c]) / std[c] (e.g. ImageNet 0.485,0.456,0.406 / 0.229,0.224,0.225). */
void image_to_chw(const sbir_image *im, float *out, const float *mean, const float *std);

/* PNG writing of an 8-bit buffer with 1 (grey), 3 (RGB) or 4 (RGBA) channels, rows of w*channels bytes.
 * The file is written atomically (util/atomic_file.h). The _mem form returns a malloc'd buffer. */
int image_encode_png(const uint8_t *px, int w, int h, int channels, uint8_t **out, size_t *out_len);
int image_write_png(const char *path, const uint8_t *px, int w, int h, int channels);

/* Resamples the source rectangle [x0, x0+rw) x [y0, y0+rh) (pixel units, fractions allowed) to w x h. */
int image_resize_region(const sbir_image *src, double x0, double y0, double rw, double rh, int w, int h,
                        sbir_image *out);
/* image_fit for an image whose picture covers only ew x eh of its pixels (ew <= w): a DCT-scaled JPEG
 * whose size is not a multiple of 8/scale has a last row/column that stands for a fraction of a pixel. */
int image_fit_extent(const sbir_image *src, double ew, double eh, int S, image_fit_mode mode, sbir_image *out);

/* Internal to the decoders (image_jpeg.c, image_png.c). */
int image_jpeg_probe(const void *data, size_t n, const char *name, int *w, int *h);
int image_jpeg_decode(const void *data, size_t n, const char *name, int min_side, sbir_image *out);
/* The DCT scale (num/8) the JPEG decoder uses for an image whose longer side is `longer`. */
int image_jpeg_scale_num(long longer, int min_side);
int image_png_probe(const void *data, size_t n, const char *name, int *w, int *h);
int image_png_decode(const void *data, size_t n, const char *name, sbir_image *out);

#endif
