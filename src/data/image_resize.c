/* image_resize.c — separable resampling, fitting into the network's S x S square, and the float
 * (3, H, W) network layout.
 *
 * Shrinking uses exact area averaging: output pixel j covers the input interval [j*s, (j+1)*s) (s =
 * in/out) and each input pixel contributes its overlap with it. This is the correct anti-aliasing filter
 * for large reductions (a 1000-pixel side to 128), where bilinear sampling would alias fine texture —
 * and style is texture. Enlarging uses bilinear (triangle) interpolation at pixel centres. Weights of
 * every output pixel sum to 1, so a constant image stays exactly constant. */
#include <math.h>
#include <string.h>

#include "data/image.h"
#include "util/common.h"

typedef struct {
    int first, count; /* input range */
    float *w;         /* count weights, into a shared pool */
} taps;

/* Weights for resampling the source interval [x0, x0 + extent) of a line of n_in samples to n_out
 * samples. Returns a pool the caller frees. */
static float *make_taps(int n_in, double x0, double extent, int n_out, taps *t) {
    double s = extent / n_out;
    int max_count = s > 1 ? (int)ceil(s) + 2 : 2;
    float *pool = mallocCheck((size_t)n_out * max_count * sizeof(float));
    for (int j = 0; j < n_out; j++) {
        float *w = pool + (size_t)j * max_count;
        if (s > 1) {
            double a = x0 + j * s, b = x0 + (j + 1) * s;
            int i0 = SBIR_MIN((int)floor(a), n_in - 1), i1 = SBIR_MIN((int)ceil(b), n_in);
            if (i1 - i0 > max_count) i1 = i0 + max_count; /* rounding guard */
            t[j].first = i0;
            t[j].count = i1 - i0;
            double sum = 0;
            for (int i = i0; i < i1; i++) {
                double lo = SBIR_MAX(a, (double)i), hi = SBIR_MIN(b, (double)i + 1);
                w[i - i0] = (float)(hi > lo ? hi - lo : 0);
                sum += w[i - i0];
            }
            /* Normalise: exact for interior pixels, and keeps constants constant when b rounds past n_in. */
            for (int k = 0; k < t[j].count; k++) w[k] = sum > 0 ? (float)(w[k] / sum) : 1.0f / t[j].count;
        } else {
            double x = x0 + (j + 0.5) * s - 0.5;
            if (x < 0) x = 0;
            if (x > n_in - 1) x = n_in - 1;
            int i0 = (int)floor(x);
            double f = x - i0;
            t[j].first = i0;
            if (i0 + 1 < n_in && f > 0) {
                t[j].count = 2;
                w[0] = (float)(1 - f);
                w[1] = (float)f;
            } else {
                t[j].count = 1;
                w[0] = 1;
            }
        }
        t[j].w = w;
    }
    return pool;
}

/* Clamp then round half up: (int)(v + 0.5f) vectorises, where roundf() is a libm call per sample. */
static uint8_t to_u8(float v) {
    v = v < 0 ? 0 : v > 255 ? 255 : v;
    return (uint8_t)(int)(v + 0.5f);
}

int image_resize_region(const sbir_image *src, double x0, double y0, double rw, double rh, int w, int h,
                        sbir_image *out) {
    memset(out, 0, sizeof *out);
    if (!src || !src->rgb || src->w <= 0 || src->h <= 0 || w <= 0 || h <= 0 ||
        (uint64_t)w * h > image_max_pixels() || !(rw > 0) || !(rh > 0) || x0 < 0 || y0 < 0 ||
        x0 + rw > src->w + 1e-6 || y0 + rh > src->h + 1e-6)
        return sbir_error("image_resize: bad sizes %dx%d -> %dx%d", src ? src->w : 0, src ? src->h : 0, w, h);
    int W = src->w, H = src->h;
    taps *tx = mallocCheck((size_t)w * sizeof *tx), *ty = mallocCheck((size_t)h * sizeof *ty);
    float *px = make_taps(W, x0, rw, w, tx), *py = make_taps(H, y0, rh, h, ty);
    /* Horizontal pass into float rows (H x w x 3), then vertical pass into the output. */
    float *mid = mallocCheck((size_t)H * w * 3 * sizeof(float));
    for (int y = 0; y < H; y++) {
        const uint8_t *row = src->rgb + (size_t)y * W * 3;
        float *m = mid + (size_t)y * w * 3;
        for (int x = 0; x < w; x++) {
            float r = 0, g = 0, b = 0;
            const uint8_t *p = row + (size_t)tx[x].first * 3;
            for (int k = 0; k < tx[x].count; k++) {
                float wk = tx[x].w[k];
                r += wk * p[3 * k];
                g += wk * p[3 * k + 1];
                b += wk * p[3 * k + 2];
            }
            m[3 * x] = r;
            m[3 * x + 1] = g;
            m[3 * x + 2] = b;
        }
    }
    uint8_t *dst = mallocCheck((size_t)w * h * 3);
    float *acc = mallocCheck((size_t)w * 3 * sizeof(float));
    for (int y = 0; y < h; y++) {
        memset(acc, 0, (size_t)w * 3 * sizeof(float));
        for (int k = 0; k < ty[y].count; k++) {
            const float *m = mid + (size_t)(ty[y].first + k) * w * 3;
            float wk = ty[y].w[k];
            for (int i = 0; i < w * 3; i++) acc[i] += wk * m[i];
        }
        uint8_t *d = dst + (size_t)y * w * 3;
        for (int i = 0; i < w * 3; i++) d[i] = to_u8(acc[i]);
    }
    free(acc);
    free(mid);
    free(px);
    free(py);
    free(tx);
    free(ty);
    out->w = w;
    out->h = h;
    out->rgb = dst;
    return SBIR_OK;
}

int image_resize(const sbir_image *src, int w, int h, sbir_image *out) {
    if (!src) return sbir_error("image_resize: no image");
    return image_resize_region(src, 0, 0, src->w, src->h, w, h, out);
}

int image_fit_extent(const sbir_image *src, double ew, double eh, int S, image_fit_mode mode, sbir_image *out) {
    memset(out, 0, sizeof *out);
    if (!src || !src->rgb || src->w <= 0 || src->h <= 0 || S <= 0 || !(ew > 0) || !(eh > 0))
        return sbir_error("image_fit: bad image or size %d", S);
    if (mode == IMAGE_FIT_CROP) {
        /* Resample the central square of the picture straight to S x S. */
        double side = SBIR_MIN(ew, eh);
        return image_resize_region(src, (ew - side) / 2, (eh - side) / 2, side, side, S, S, out);
    }
    double longer = SBIR_MAX(ew, eh);
    int nw = SBIR_MAX(1, SBIR_MIN(S, (int)lround(ew * S / longer)));
    int nh = SBIR_MAX(1, SBIR_MIN(S, (int)lround(eh * S / longer)));
    sbir_image small;
    if (image_resize_region(src, 0, 0, ew, eh, nw, nh, &small)) return SBIR_ERR;
    if (nw == S && nh == S) {
        *out = small;
        return SBIR_OK;
    }
    out->w = out->h = S;
    out->rgb = mallocCheck((size_t)S * S * 3);
    memset(out->rgb, 255, (size_t)S * S * 3); /* white paper */
    int x0 = (S - nw) / 2, y0 = (S - nh) / 2;
    for (int y = 0; y < nh; y++)
        memcpy(out->rgb + ((size_t)(y0 + y) * S + x0) * 3, small.rgb + (size_t)y * nw * 3, (size_t)nw * 3);
    image_free(&small);
    return SBIR_OK;
}

int image_fit(const sbir_image *src, int S, image_fit_mode mode, sbir_image *out) {
    if (!src) return sbir_error("image_fit: no image");
    return image_fit_extent(src, src->w, src->h, S, mode, out);
}

void image_to_chw(const sbir_image *im, float *out, const float *mean, const float *std) {
    size_t plane = (size_t)im->w * im->h;
    for (int c = 0; c < 3; c++) {
        float m = mean ? mean[c] : 0.f, inv = std ? 1.f / std[c] : 1.f;
        float *o = out + c * plane;
        for (size_t i = 0; i < plane; i++) o[i] = (im->rgb[3 * i + c] * (1.f / 255.f) - m) * inv;
    }
}
