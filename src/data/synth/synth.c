/* synth.c — the demo collection's public API: names, per-image seeding, rendering one image, and
 * writing the whole collection to disk in parallel. */
#include "data/synth.h"

#include <errno.h>
#include <omp.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "data/synth/synth_internal.h"
#include "util/atomic_file.h"
#include "util/common.h"
#include "util/progress.h"

const char *const synth_styles[SYNTH_N_STYLES] = {"oilpaint", "watercolor", "pen_ink",    "graphite",
                                                  "comic",    "vectorart",  "3d_graphics"};
const char *const synth_classes[SYNTH_N_CLASSES] = {"bicycle", "bird", "car", "cat", "dog"};

static const sx_media_fn k_media[SYNTH_N_STYLES] = {media_oilpaint, media_watercolor, media_pen_ink, media_graphite,
                                                    media_comic,    media_vectorart,  media_3d};

int synth_style_index(const char *name) {
    for (int i = 0; i < SYNTH_N_STYLES; i++)
        if (strcmp(name, synth_styles[i]) == 0) return i;
    return -1;
}

int synth_class_index(const char *name) {
    for (int i = 0; i < SYNTH_N_CLASSES; i++)
        if (strcmp(name, synth_classes[i]) == 0) return i;
    return -1;
}

/* Seed of one random stream: a splitmix-style mix of the values, so nearby indices are unrelated. */
uint64_t sx_key(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b, uint64_t c) {
    uint64_t v[5] = {seed, stream, a, b, c}, h = 0x243f6a8885a308d3ull;
    for (int i = 0; i < 5; i++) {
        h ^= v[i] + 0x9e3779b97f4a7c15ull + (h << 6) + (h >> 2);
        h = (h ^ (h >> 30)) * 0xbf58476d1ce4e5b9ull;
        h = (h ^ (h >> 27)) * 0x94d049bb133111ebull;
        h ^= h >> 31;
    }
    return h;
}

/* Renders into an RGB24 surface; the shape instance and the medium's choices use separate streams. */
static cairo_surface_t *render_surface(int style, int cls, uint64_t seed, uint32_t index, int size) {
    sx_scene *sc = mallocCheck(sizeof *sc);
    sbir_rng r;
    rng_seed(&r, sx_key(seed, 1, (uint64_t)style, (uint64_t)cls, index));
    sx_build_scene(sc, cls, &r);
    rng_seed(&r, sx_key(seed, 2, (uint64_t)style, (uint64_t)cls, index));
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, size, size);
    if (cairo_surface_status(s) == CAIRO_STATUS_SUCCESS) k_media[style](s, sc, &r);
    free(sc);
    cairo_surface_flush(s);
    return s;
}

static int check_args(int style, int cls, int size) {
    if (style < 0 || style >= SYNTH_N_STYLES) return sbir_error("synth: style %d out of range", style);
    if (cls < 0 || cls >= SYNTH_N_CLASSES) return sbir_error("synth: class %d out of range", cls);
    if (size < 16 || size > 1024) return sbir_error("synth: size %d out of range 16..1024", size);
    return SBIR_OK;
}

int synth_render_image(int style, int cls, uint64_t seed, uint32_t index, int size, uint8_t *rgb_out) {
    if (check_args(style, cls, size)) return SBIR_ERR;
    cairo_surface_t *s = render_surface(style, cls, seed, index, size);
    if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(s);
        return sbir_error("synth: cairo: %s", cairo_status_to_string(cairo_surface_status(s)));
    }
    const uint8_t *data = cairo_image_surface_get_data(s);
    int stride = cairo_image_surface_get_stride(s);
    for (int y = 0; y < size; y++) {
        const uint32_t *row = (const uint32_t *)(data + (size_t)y * stride);
        for (int x = 0; x < size; x++) {
            uint32_t v = row[x];
            uint8_t *o = rgb_out + ((size_t)y * size + x) * 3;
            o[0] = (uint8_t)(v >> 16), o[1] = (uint8_t)(v >> 8), o[2] = (uint8_t)v;
        }
    }
    cairo_surface_destroy(s);
    return SBIR_OK;
}

void synth_image_relpath(char *buf, size_t n, int style, int cls, uint32_t index) {
    snprintf(buf, n, "images/%s/%s/%s_%s_%05u.png", synth_styles[style], synth_classes[cls], synth_styles[style],
             synth_classes[cls], index);
}

void synth_opts_default(synth_opts *o) {
    memset(o, 0, sizeof *o);
    o->seed = 1;
    o->per_cell = 120;
    o->sketches_per_class = 200;
    o->size = 128;
    o->jobs = 0;
    o->progress = 1;
}

static int mkdir_p(const char *path) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) return sbir_error("%s: path too long", path);
    for (char *p = buf + 1;; p++) {
        if (*p == '/' || *p == 0) {
            char c = *p;
            *p = 0;
            if (mkdir(buf, 0777) != 0 && errno != EEXIST) return sbir_error("%s: cannot create: %s", buf, strerror(errno));
            struct stat st;
            if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode)) return sbir_error("%s: not a directory", buf);
            *p = c;
            if (!c) break;
        }
    }
    return SBIR_OK;
}

static int write_sketches(const char *dir, const synth_opts *o) {
    for (int c = 0; c < SYNTH_N_CLASSES; c++) {
        char path[4200];
        snprintf(path, sizeof path, "%s/sketches/%s.ndjson", dir, synth_classes[c]);
        size_t len = 0, cap = 1 << 16;
        char *buf = mallocCheck(cap);
        synth_strokes sk = {0};
        for (int i = 0; i < o->sketches_per_class; i++) {
            if (synth_sketch(c, o->seed, (uint32_t)i, &sk)) {
                free(buf);
                synth_strokes_free(&sk);
                return SBIR_ERR;
            }
            char *line = synth_sketch_ndjson(&sk, c, o->seed, (uint32_t)i);
            size_t n = strlen(line);
            while (len + n + 2 > cap) buf = reallocCheck(buf, cap *= 2);
            memcpy(buf + len, line, n);
            len += n;
            buf[len++] = '\n';
            free(line);
        }
        synth_strokes_free(&sk);
        int rc = write_file_atomic(path, buf, len);
        free(buf);
        if (rc) return SBIR_ERR;
    }
    return SBIR_OK;
}

int synth_generate(const char *dir, const synth_opts *o) {
    if (o->per_cell < 0 || o->per_cell > 100000) return sbir_error("synth: per-cell %d out of range", o->per_cell);
    if (o->sketches_per_class < 0 || o->sketches_per_class > 1000000)
        return sbir_error("synth: sketches per class %d out of range", o->sketches_per_class);
    if (o->size < 16 || o->size > 1024) return sbir_error("synth: size %d out of range 16..1024", o->size);
    char path[4200];
    if (mkdir_p(dir)) return SBIR_ERR;
    /* An old README would make a half-finished rerun look complete. */
    snprintf(path, sizeof path, "%s/README.txt", dir);
    if (unlink(path) != 0 && errno != ENOENT) return sbir_error("%s: cannot remove: %s", path, strerror(errno));
    for (int s = 0; s < SYNTH_N_STYLES; s++)
        for (int c = 0; c < SYNTH_N_CLASSES; c++) {
            snprintf(path, sizeof path, "%s/images/%s/%s", dir, synth_styles[s], synth_classes[c]);
            if (mkdir_p(path)) return SBIR_ERR;
        }
    snprintf(path, sizeof path, "%s/sketches", dir);
    if (mkdir_p(path)) return SBIR_ERR;

    long total = (long)SYNTH_N_STYLES * SYNTH_N_CLASSES * o->per_cell;
    sbir_progress prog;
    if (o->progress) progress_start(&prog, "synth", (uint64_t)total);
    long done = 0;
    int failed = 0;
    char first_error[1024] = "";
    int threads = o->jobs > 0 ? o->jobs : omp_get_max_threads();
#pragma omp parallel for schedule(dynamic, 4) num_threads(threads)
    for (long k = 0; k < total; k++) {
        int bad;
#pragma omp atomic read
        bad = failed;
        if (bad) continue;
        int cell = (int)(k / o->per_cell), s = cell / SYNTH_N_CLASSES, c = cell % SYNTH_N_CLASSES;
        uint32_t idx = (uint32_t)(k % o->per_cell);
        char rel[512], p[4200];
        synth_image_relpath(rel, sizeof rel, s, c, idx);
        snprintf(p, sizeof p, "%s/%s", dir, rel);
        cairo_surface_t *surf = render_surface(s, c, o->seed, idx, o->size);
        int rc = cairo_surface_status(surf) == CAIRO_STATUS_SUCCESS
                     ? sx_write_png(surf, p)
                     : sbir_error("%s: cairo: %s", p, cairo_status_to_string(cairo_surface_status(surf)));
        cairo_surface_destroy(surf);
        if (rc) {
#pragma omp critical(synth_err)
            {
                if (!failed) snprintf(first_error, sizeof first_error, "%s", sbir_last_error());
                failed = 1;
            }
        }
        long d;
#pragma omp atomic capture
        d = ++done;
        if (o->progress && omp_get_thread_num() == 0) progress_update(&prog, (uint64_t)d, NULL);
    }
    if (o->progress) {
        progress_update(&prog, (uint64_t)done, NULL);
        progress_end(&prog);
    }
    if (failed) return sbir_error("%s", first_error);
    if (write_sketches(dir, o)) return SBIR_ERR;

    char readme[4096];
    int n = snprintf(readme, sizeof readme,
                     "sbir built-in demo collection (generated by `sbir synth`)\n\n"
                     "seed: %llu\n"
                     "image size: %dx%d RGB PNG\n"
                     "images: %ld = %d media x %d classes x %d per cell\n"
                     "sketches: %d per class, Quick, Draw! simplified ndjson (coordinates 0..255,\n"
                     "  countrycode ZZ, key_id unique within the collection)\n\n"
                     "media: oilpaint watercolor pen_ink graphite comic vectorart 3d_graphics\n"
                     "classes: bicycle bird car cat dog\n\n"
                     "layout:\n"
                     "  images/<style>/<class>/<style>_<class>_<nnnnn>.png\n"
                     "  sketches/<class>.ndjson\n\n"
                     "(No timings here, so the whole directory is reproducible byte for byte.)\n"
                     "Every file is a pure function of (seed, style, class, index): the same seed gives the\n"
                     "same collection whatever the thread count. Shapes come from parametric models of each\n"
                     "class (pose, proportions, viewpoint, parts) and every medium renders the same\n"
                     "distribution of shapes and colours, so content and style are independent.\n"
                     "This file is written last: a directory without it is an unfinished run.\n",
                     (unsigned long long)o->seed, o->size, o->size, total, SYNTH_N_STYLES, SYNTH_N_CLASSES,
                     o->per_cell, o->sketches_per_class);
    snprintf(path, sizeof path, "%s/README.txt", dir);
    return write_file_atomic(path, readme, (size_t)n);
}
