#include "model/dataset.h"

#include <math.h>
#include <string.h>

#include "data/augment.h"
#include "data/collection.h"
#include "data/image.h"
#include "data/quickdraw.h"
#include "data/raster.h"
#include "data/sketch_load.h"
#include "util/common.h"
#include "util/progress.h"

/* A collection is input like any other: class, style and split may be NULL in a hand-made or damaged
 * one, and must then mean "unknown" (-1), not a crash. */
static int find_name(char **names, int n, const char *name) {
    if (!name) return -1;
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0) return i;
    return -1;
}

static void render_plain(const sbir_sketch *s, int S, uint8_t *out) {
    sbir_raster_opts ro;
    raster_opts_default(&ro);
    ro.size = S;
    ro.line_width = SBIR_MAX(1.0f, S / 48.0f);
    raster_sketch(s, &ro, out);
}

static int load_images(dataset *d, sbir_collection *c) {
    coll_image *im;
    size_t n;
    if (collection_list_images(c, NULL, &im, &n) != SBIR_OK) return SBIR_ERR;
    size_t px = (size_t)d->S * d->S * 3;
    d->img = mallocCheck(px * (n ? n : 1));
    d->img_class = mallocCheck(sizeof(int) * (n ? n : 1));
    d->img_style = mallocCheck(sizeof(int) * (n ? n : 1));
    d->img_split = mallocCheck(sizeof(int) * (n ? n : 1));
    d->img_id = mallocCheck(sizeof(int64_t) * (n ? n : 1));
    d->img_path = callocCheck(n ? n : 1, sizeof(char *));
    uint8_t *ok = callocCheck(n ? n : 1, 1);
    sbir_progress pr;
    progress_start(&pr, "decode", n);
    int done = 0;
#pragma omp parallel for schedule(dynamic, 16)
    for (size_t i = 0; i < n; i++) {
        char *abs = collection_abs_path(c, im[i].path);
        sbir_image out;
        if (image_load_square(abs, d->S, IMAGE_FIT_PAD, &out) == SBIR_OK) {
            memcpy(d->img + px * i, out.rgb, px);
            image_free(&out);
            ok[i] = 1;
        } else {
#pragma omp critical
            if (!d->first_skip_reason[0]) snprintf(d->first_skip_reason, sizeof d->first_skip_reason, "%s", sbir_last_error());
        }
        free(abs);
#pragma omp atomic
        done++;
        if ((done & 63) == 0) {
#pragma omp critical
            progress_update(&pr, (uint64_t)done, NULL);
        }
    }
    progress_update(&pr, n, NULL);
    progress_end(&pr);
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        /* training and evaluation index per-class and per-style tables with these ids */
        int cls = find_name(d->classes, d->C, im[i].class_name), sty = find_name(d->styles, d->NS, im[i].style);
        if (ok[i] && (cls < 0 || sty < 0) && !d->first_skip_reason[0])
            snprintf(d->first_skip_reason, sizeof d->first_skip_reason, "image %lld has no class or no style",
                     (long long)im[i].id);
        if (!ok[i] || cls < 0 || sty < 0) {
            d->skipped_images++;
            continue;
        }
        if (m != (int)i) memmove(d->img + px * m, d->img + px * i, px);
        d->img_class[m] = cls;
        d->img_style[m] = sty;
        d->img_split[m] = im[i].split ? sbir_split_parse(im[i].split) : -1;
        d->img_id[m] = im[i].id;
        d->img_path[m] = strdupCheck(im[i].path);
        m++;
    }
    d->n_img = m;
    free(ok);
    coll_images_free(im, n);
    return SBIR_OK;
}

static int load_sketches(dataset *d, sbir_collection *c) {
    coll_sketch *sk;
    size_t n;
    if (collection_list_sketches(c, NULL, &sk, &n) != SBIR_OK) return SBIR_ERR;
    size_t px = (size_t)d->S * d->S;
    d->sk = callocCheck(n ? n : 1, sizeof(sbir_sketch));
    d->sk_grey = mallocCheck(px * (n ? n : 1));
    d->sk_class = mallocCheck(sizeof(int) * (n ? n : 1));
    d->sk_split = mallocCheck(sizeof(int) * (n ? n : 1));
    d->sk_id = mallocCheck(sizeof(int64_t) * (n ? n : 1));
    int m = 0;
    for (size_t i = 0; i < n; i++) {
        int cls = find_name(d->classes, d->C, sk[i].class_name);
        sbir_sketch *s = &d->sk[m];
        sketch_init(s);
        int ok = cls >= 0;
        if (ok && sk[i].strokes) {
            ok = qd_drawing_from_json(sk[i].strokes, "strokes", s) == SBIR_OK && s->n_points > 0;
            if (ok) render_plain(s, d->S, d->sk_grey + px * m);
        } else if (ok) { /* an image or a bitmap row: rendered once, augmented as an image */
            sbir_raster_opts ro;
            raster_opts_default(&ro);
            ro.size = d->S;
            ok = sketch_render_stored(c, &sk[i], &ro, d->sk_grey + px * m) == SBIR_OK;
        }
        if (!ok) {
            if (cls >= 0 && !d->first_skip_reason[0])
                snprintf(d->first_skip_reason, sizeof d->first_skip_reason, "sketch %lld: %s", (long long)sk[i].id,
                         sbir_last_error());
            sketch_free(s);
            d->skipped_sketches++;
            continue;
        }
        d->sk_class[m] = cls;
        d->sk_split[m] = sk[i].split ? sbir_split_parse(sk[i].split) : -1;
        d->sk_id[m] = sk[i].id;
        m++;
    }
    d->n_sk = m;
    coll_sketches_free(sk, n);
    return SBIR_OK;
}

int dataset_load(dataset *d, const char *collection_path, int S) {
    memset(d, 0, sizeof *d);
    d->S = S;
    sbir_collection *c = collection_open(collection_path);
    if (!c) return SBIR_ERR;
    size_t nc = 0, ns = 0;
    int rc = SBIR_ERR;
    if (collection_classes(c, "images", &d->classes, &nc) != SBIR_OK) goto done;
    d->C = (int)nc; /* set at once: dataset_free needs the count if the next query fails */
    if (collection_styles(c, &d->styles, &ns) != SBIR_OK) goto done;
    d->NS = (int)ns;
    if (d->C < 2 || d->NS < 1) {
        sbir_error("%s: needs gallery images of at least 2 classes (has %d classes, %d styles)", collection_path, d->C,
                   d->NS);
        goto done;
    }
    if (load_images(d, c) != SBIR_OK || load_sketches(d, c) != SBIR_OK) goto done;
    rc = SBIR_OK;
done:
    if (rc != SBIR_OK) {
        sbir_error_prefix("%s", collection_path);
        dataset_free(d); /* callers do not free a dataset whose load failed */
    }
    collection_close(c);
    return rc;
}

void dataset_free(dataset *d) {
    coll_strings_free(d->classes, (size_t)d->C);
    coll_strings_free(d->styles, (size_t)d->NS);
    for (int i = 0; i < d->n_img; i++) free(d->img_path[i]);
    free(d->img_path);
    free(d->img);
    free(d->img_class);
    free(d->img_style);
    free(d->img_split);
    free(d->img_id);
    for (int i = 0; i < d->n_sk; i++) sketch_free(&d->sk[i]);
    free(d->sk);
    free(d->sk_grey);
    free(d->sk_class);
    free(d->sk_split);
    free(d->sk_id);
    memset(d, 0, sizeof *d);
}

static int *indices_of(const int *split, int n, int want, int *count) {
    int *out = mallocCheck(sizeof(int) * (size_t)(n ? n : 1));
    int m = 0;
    for (int i = 0; i < n; i++)
        if (want < 0 || split[i] == want) out[m++] = i;
    *count = m;
    return out;
}

int *dataset_images_of_split(const dataset *d, int split, int *n) { return indices_of(d->img_split, d->n_img, split, n); }
int *dataset_sketches_of_split(const dataset *d, int split, int *n) { return indices_of(d->sk_split, d->n_sk, split, n); }

void input_from_rgb(const uint8_t *rgb, int S, float *out) {
    int P = S * S;
    for (int p = 0; p < P; p++)
        for (int ch = 0; ch < 3; ch++) out[ch * P + p] = (rgb[3 * p + ch] * (1.0f / 255) - 0.5f) * 4.0f;
}

void input_from_grey(const uint8_t *grey, int S, float *out) {
    int P = S * S;
    for (int p = 0; p < P; p++) out[p] = (grey[p] * (1.0f / 255) - 0.5f) * 4.0f;
    memcpy(out + P, out, sizeof(float) * (size_t)P);
    memcpy(out + 2 * P, out, sizeof(float) * (size_t)P);
}

/* Nearest-neighbour sampling of a scaled, shifted, optionally mirrored window; outside is white. */
static void crop_scale(const uint8_t *src, int S, int ch, float scale, float dx, float dy, int flip, uint8_t *dst) {
    float c = (S - 1) * 0.5f;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            float u = (x - c) * scale + c + dx, v = (y - c) * scale + c + dy;
            if (flip) u = (S - 1) - u;
            int sx = (int)lrintf(u), sy = (int)lrintf(v);
            uint8_t *o = dst + ((size_t)y * S + x) * ch;
            if (sx < 0 || sy < 0 || sx >= S || sy >= S) memset(o, 255, (size_t)ch);
            else memcpy(o, src + ((size_t)sy * S + sx) * ch, (size_t)ch);
        }
}

static void random_crop(const uint8_t *src, int S, int ch, sbir_rng *rng, uint8_t *dst) {
    float scale = rng_range(rng, 0.85f, 1.0f);
    float slack = (1 - scale) * S * 0.5f;
    float dx = rng_range(rng, -slack, slack), dy = rng_range(rng, -slack, slack);
    crop_scale(src, S, ch, scale, dx, dy, rng_uniform(rng) < 0.5f, dst);
}

void augment_rgb(const uint8_t *src, int S, sbir_rng *rng, uint8_t *dst) { random_crop(src, S, 3, rng, dst); }

/* Dark-on-white edge map of an RGB image (Sobel magnitude of the luminance, contrast-stretched). */
static void edge_map(uint8_t *rgb, int S) {
    int P = S * S;
    float *lum = mallocCheck(sizeof(float) * (size_t)P), *mag = mallocCheck(sizeof(float) * (size_t)P);
    for (int p = 0; p < P; p++) lum[p] = 0.299f * rgb[3 * p] + 0.587f * rgb[3 * p + 1] + 0.114f * rgb[3 * p + 2];
    float peak = 1;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            int xm = x > 0 ? x - 1 : x, xp = x < S - 1 ? x + 1 : x, ym = y > 0 ? y - 1 : y, yp = y < S - 1 ? y + 1 : y;
            float gx = lum[ym * S + xp] + 2 * lum[y * S + xp] + lum[yp * S + xp] - lum[ym * S + xm] - 2 * lum[y * S + xm] -
                       lum[yp * S + xm];
            float gy = lum[yp * S + xm] + 2 * lum[yp * S + x] + lum[yp * S + xp] - lum[ym * S + xm] - 2 * lum[ym * S + x] -
                       lum[ym * S + xp];
            mag[y * S + x] = sqrtf(gx * gx + gy * gy);
            if (mag[y * S + x] > peak) peak = mag[y * S + x];
        }
    for (int p = 0; p < P; p++) {
        float v = 255.0f * (1.0f - fminf(1.0f, 2.0f * mag[p] / peak));
        rgb[3 * p] = rgb[3 * p + 1] = rgb[3 * p + 2] = (uint8_t)v;
    }
    free(lum);
    free(mag);
}

void augment_rgb_content(const uint8_t *src, int S, sbir_rng *rng, uint8_t *dst) {
    random_crop(src, S, 3, rng, dst);
    float u = rng_uniform(rng);
    int P = S * S;
    if (u < 0.2f) {
        edge_map(dst, S);
    } else if (u < 0.5f) { /* grey */
        for (int p = 0; p < P; p++) {
            uint8_t g = (uint8_t)((dst[3 * p] * 77 + dst[3 * p + 1] * 150 + dst[3 * p + 2] * 29) >> 8);
            dst[3 * p] = dst[3 * p + 1] = dst[3 * p + 2] = g;
        }
    } else { /* colour jitter: per-channel gain and a global brightness/contrast change */
        float contrast = rng_range(rng, 0.7f, 1.3f), bright = rng_range(rng, -25, 25), gain[3];
        for (int c = 0; c < 3; c++) gain[c] = rng_range(rng, 0.8f, 1.2f);
        for (int p = 0; p < P; p++)
            for (int c = 0; c < 3; c++) {
                float v = (dst[3 * p + c] * gain[c] - 128) * contrast + 128 + bright;
                dst[3 * p + c] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
            }
    }
}

void dataset_sketch_grey(const dataset *d, int i, int augment, sbir_rng *rng, uint8_t *out) {
    size_t px = (size_t)d->S * d->S;
    const sbir_sketch *s = &d->sk[i];
    if (!augment) {
        memcpy(out, d->sk_grey + px * i, px);
        return;
    }
    if (s->n_points == 0) {
        random_crop(d->sk_grey + px * i, d->S, 1, rng, out);
        return;
    }
    sbir_sketch tmp;
    sketch_init(&tmp);
    sketch_copy(&tmp, s);
    sbir_raster_opts ro;
    raster_opts_default(&ro);
    ro.size = d->S;
    ro.line_width = SBIR_MAX(1.0f, d->S / 48.0f) * rng_range(rng, 0.7f, 1.5f);
    sbir_augment_opts ao;
    augment_opts_default(&ao);
    sketch_augment(&tmp, &ao, rng, &ro);
    if (ro.has_affine && rng_uniform(rng) < 0.5f) { /* mirror: negate the affine's x row */
        for (int k = 0; k < 3; k++) ro.affine[k] = -ro.affine[k];
    }
    raster_sketch(&tmp, &ro, out);
    sketch_free(&tmp);
}
