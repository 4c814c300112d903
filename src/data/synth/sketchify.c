/* sketchify.c — Quick, Draw!-like sketches from the same shape models as the images.
 *
 * A sketch is a different random instance of the class's model, drawn the way a person draws in 20
 * seconds: some parts left out (details more often than outlines), outlines as single wobbly strokes
 * that overshoot or fail to close, limbs as one line or as a narrow loop, the whole figure slightly
 * sheared. It is then normalised exactly as Google's simplified format: aligned to the top-left,
 * scaled so the largest coordinate is 255, resampled at 1-unit spacing, simplified with
 * Ramer-Douglas-Peucker (epsilon 2), rounded to integers. */
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "data/synth.h"
#include "data/synth/synth_internal.h"
#include "util/common.h"

typedef struct {
    float *x, *y;
    int n, cap;
    int *start; /* ns + 1 entries once finished */
    int ns, scap;
} fstrokes;

static void fs_begin(fstrokes *f) {
    if (f->ns + 2 > f->scap) {
        f->scap = f->scap ? f->scap * 2 : 32;
        f->start = reallocCheck(f->start, sizeof(int) * (size_t)f->scap);
    }
    f->start[f->ns++] = f->n;
    f->start[f->ns] = f->n;
}

static void fs_add(fstrokes *f, float x, float y) {
    if (f->n + 1 > f->cap) {
        f->cap = f->cap ? f->cap * 2 : 1024;
        f->x = reallocCheck(f->x, sizeof(float) * (size_t)f->cap);
        f->y = reallocCheck(f->y, sizeof(float) * (size_t)f->cap);
    }
    f->x[f->n] = x;
    f->y[f->n] = y;
    f->n++;
    f->start[f->ns] = f->n;
}

static void fs_free(fstrokes *f) {
    free(f->x);
    free(f->y);
    free(f->start);
    memset(f, 0, sizeof *f);
}

/* One hand-drawn stroke through pts: smooth low-frequency drift plus a little tremor. */
static void hand_stroke(fstrokes *f, const float *x, const float *y, int n, float amp, sbir_rng *r) {
    if (n <= 0) return;
    float k1 = rng_range(r, 0.5f, 2.0f), k2 = rng_range(r, 2.0f, 5.0f);
    float ph[4] = {rng_range(r, 0, 6.28f), rng_range(r, 0, 6.28f), rng_range(r, 0, 6.28f), rng_range(r, 0, 6.28f)};
    fs_begin(f);
    for (int i = 0; i < n; i++) {
        float t = 6.2831853f * i / (n > 1 ? n - 1 : 1);
        float dx = amp * (0.7f * sinf(k1 * t + ph[0]) + 0.3f * sinf(k2 * t + ph[1]));
        float dy = amp * (0.7f * sinf(k1 * t + ph[2]) + 0.3f * sinf(k2 * t + ph[3]));
        fs_add(f, x[i] + dx + rng_normal(r) * amp * 0.08f, y[i] + dy + rng_normal(r) * amp * 0.08f);
    }
}

static void sketch_part(fstrokes *f, const sx_part *p, float slop, sbir_rng *r) {
    float x[SX_MAX_FLAT], y[SX_MAX_FLAT];
    int n = sx_flatten(p, x, y);
    if (n < 2) return;
    float size = SBIR_MAX(p->rx, p->ry);
    float amp = slop * SBIR_MIN(0.014f, 0.003f + 0.06f * size);
    if (p->kind == SP_TUBE && !p->closed && p->width > 0.03f && rng_uniform(r) < 0.55f) {
        /* a thick limb drawn as a narrow loop: down one side, back up the other */
        float lx[2 * SX_MAX_FLAT], ly[2 * SX_MAX_FLAT];
        int m = 0;
        for (int side = 0; side < 2; side++)
            for (int k = 0; k < n; k++) {
                int i = side ? n - 1 - k : k;
                int a = i > 0 ? i - 1 : i, b = i < n - 1 ? i + 1 : i;
                float tx = x[b] - x[a], ty = y[b] - y[a], tl = sqrtf(tx * tx + ty * ty) + 1e-9f;
                float s = (side ? -1.0f : 1.0f) * p->width * 0.5f;
                lx[m] = x[i] - ty / tl * s;
                ly[m] = y[i] + tx / tl * s;
                m++;
            }
        hand_stroke(f, lx, ly, m, amp, r);
        return;
    }
    if (p->closed) {
        /* start anywhere; overshoot past the start or stop a little short of it */
        int ring = n - 1, k0 = (int)rng_below(r, (uint32_t)ring);
        int extra = rng_uniform(r) < 0.5f ? (int)rng_below(r, (uint32_t)(ring / 6 + 1)) + 1
                                          : -(int)rng_below(r, (uint32_t)(ring / 10 + 1));
        int m = ring + 1 + extra;
        if (m < 3) m = 3;
        float lx[SX_MAX_FLAT * 2], ly[SX_MAX_FLAT * 2];
        for (int i = 0; i < m && i < 2 * SX_MAX_FLAT; i++) {
            lx[i] = x[(k0 + i) % ring];
            ly[i] = y[(k0 + i) % ring];
        }
        hand_stroke(f, lx, ly, SBIR_MIN(m, 2 * SX_MAX_FLAT), amp, r);
        return;
    }
    if (rng_uniform(r) < 0.3f) /* drawn from the other end */
        for (int i = 0; i < n / 2; i++) {
            float t = x[i];
            x[i] = x[n - 1 - i], x[n - 1 - i] = t;
            t = y[i];
            y[i] = y[n - 1 - i], y[n - 1 - i] = t;
        }
    hand_stroke(f, x, y, n, amp, r);
}

static void rdp(const float *x, const float *y, int i0, int i1, float eps, uint8_t *keep) {
    if (i1 <= i0 + 1) return;
    float dx = x[i1] - x[i0], dy = y[i1] - y[i0], len = sqrtf(dx * dx + dy * dy);
    float best = -1;
    int bi = -1;
    for (int i = i0 + 1; i < i1; i++) {
        float d = len > 1e-9f ? fabsf(dy * (x[i] - x[i0]) - dx * (y[i] - y[i0])) / len
                              : sqrtf((x[i] - x[i0]) * (x[i] - x[i0]) + (y[i] - y[i0]) * (y[i] - y[i0]));
        if (d > best) best = d, bi = i;
    }
    if (best > eps) {
        keep[bi] = 1;
        rdp(x, y, i0, bi, eps, keep);
        rdp(x, y, bi, i1, eps, keep);
    }
}

/* Google's normalisation of the raw strokes into out (see the top of this file). */
static void simplify_into(const fstrokes *f, synth_strokes *out) {
    float x0 = 1e9f, y0 = 1e9f, x1 = -1e9f, y1 = -1e9f;
    for (int i = 0; i < f->n; i++) {
        x0 = SBIR_MIN(x0, f->x[i]), x1 = SBIR_MAX(x1, f->x[i]);
        y0 = SBIR_MIN(y0, f->y[i]), y1 = SBIR_MAX(y1, f->y[i]);
    }
    float ext = SBIR_MAX(x1 - x0, y1 - y0), k = ext > 1e-9f ? 255.0f / ext : 1;
    int cap = 1024, n = 0;
    out->x = mallocCheck((size_t)cap);
    out->y = mallocCheck((size_t)cap);
    out->start = mallocCheck(sizeof(int) * (size_t)(f->ns + 1));
    out->n_strokes = 0;
    float *rx = NULL, *ry = NULL, *kx = NULL, *ky = NULL;
    uint8_t *keep = NULL;
    int rcap = 0, kcap = 0, nk = 0;
    for (int s = 0; s < f->ns; s++) {
        int a = f->start[s], b = f->start[s + 1];
        if (b <= a) continue;
        /* resample at 1-unit spacing along the stroke */
        int m = 0;
        float carry = 0;
        for (int i = a; i < b; i++) {
            float px = (f->x[i] - x0) * k, py = (f->y[i] - y0) * k;
            if (i == a) {
                if (m + 1 > rcap) rcap = rcap ? rcap * 2 : 1024, rx = reallocCheck(rx, sizeof(float) * (size_t)rcap),
                                  ry = reallocCheck(ry, sizeof(float) * (size_t)rcap);
                rx[m] = px, ry[m] = py, m++;
                continue;
            }
            float qx = (f->x[i - 1] - x0) * k, qy = (f->y[i - 1] - y0) * k;
            float dx = px - qx, dy = py - qy, d = sqrtf(dx * dx + dy * dy);
            float t = 1 - carry;
            while (t <= d) {
                if (m + 1 > rcap) rcap *= 2, rx = reallocCheck(rx, sizeof(float) * (size_t)rcap),
                                  ry = reallocCheck(ry, sizeof(float) * (size_t)rcap);
                rx[m] = qx + dx * t / d, ry[m] = qy + dy * t / d, m++;
                t += 1;
            }
            carry = d - (t - 1);
        }
        float lx = (f->x[b - 1] - x0) * k, ly = (f->y[b - 1] - y0) * k;
        if (m + 1 > rcap) rcap *= 2, rx = reallocCheck(rx, sizeof(float) * (size_t)rcap),
                          ry = reallocCheck(ry, sizeof(float) * (size_t)rcap);
        if (m == 0 || fabsf(rx[m - 1] - lx) > 1e-3f || fabsf(ry[m - 1] - ly) > 1e-3f) rx[m] = lx, ry[m] = ly, m++;
        keep = reallocCheck(keep, (size_t)m);
        memset(keep, 0, (size_t)m);
        keep[0] = keep[m - 1] = 1;
        rdp(rx, ry, 0, m - 1, 2.0f, keep);
        out->start[out->n_strokes++] = nk;
        for (int i = 0; i < m; i++) {
            if (!keep[i]) continue;
            if (nk + 1 > kcap) kcap = kcap ? kcap * 2 : 1024, kx = reallocCheck(kx, sizeof(float) * (size_t)kcap),
                               ky = reallocCheck(ky, sizeof(float) * (size_t)kcap);
            kx[nk] = rx[i], ky[nk] = ry[i], nk++;
        }
    }
    out->start[out->n_strokes] = nk;
    /* RDP can drop a stroke's extreme point: align and scale once more over the kept points so the
     * result touches 0 on both axes and 255 on the longer one, as Google's files do. */
    float ax0 = 1e9f, ay0 = 1e9f, ax1 = -1e9f, ay1 = -1e9f;
    for (int i = 0; i < nk; i++) {
        ax0 = SBIR_MIN(ax0, kx[i]), ax1 = SBIR_MAX(ax1, kx[i]);
        ay0 = SBIR_MIN(ay0, ky[i]), ay1 = SBIR_MAX(ay1, ky[i]);
    }
    float ext2 = SBIR_MAX(ax1 - ax0, ay1 - ay0), k2 = ext2 > 1e-9f ? 255.0f / ext2 : 1;
    for (int s = 0; s < out->n_strokes; s++) {
        int a = out->start[s], b = out->start[s + 1];
        out->start[s] = n;
        int prev_x = -1, prev_y = -1;
        for (int i = a; i < b; i++) {
            int ix = (int)lroundf((kx[i] - ax0) * k2), iy = (int)lroundf((ky[i] - ay0) * k2);
            ix = SBIR_MIN(SBIR_MAX(ix, 0), 255), iy = SBIR_MIN(SBIR_MAX(iy, 0), 255);
            if (ix == prev_x && iy == prev_y) continue;
            if (n + 1 > cap) cap *= 2, out->x = reallocCheck(out->x, (size_t)cap), out->y = reallocCheck(out->y, (size_t)cap);
            out->x[n] = (uint8_t)ix, out->y[n] = (uint8_t)iy, n++;
            prev_x = ix, prev_y = iy;
        }
    }
    free(kx);
    free(ky);
    out->start[out->n_strokes] = n;
    out->n_points = n;
    free(rx);
    free(ry);
    free(keep);
}

void synth_strokes_free(synth_strokes *s) {
    free(s->start);
    free(s->x);
    free(s->y);
    memset(s, 0, sizeof *s);
}

int synth_sketch(int cls, uint64_t seed, uint32_t index, synth_strokes *out) {
    synth_strokes_free(out);
    if (cls < 0 || cls >= SYNTH_N_CLASSES) return sbir_error("synth: class %d out of range", cls);
    sbir_rng r;
    rng_seed(&r, sx_key(seed, 3, 0, (uint64_t)cls, index));
    sx_scene *sc = mallocCheck(sizeof *sc);
    sx_build_scene(sc, cls, &r);
    float slop = rng_range(&r, 0.3f, 1.0f), detail = rng_range(&r, 0.55f, 1.25f);
    fstrokes f = {0};
    for (int attempt = 0; attempt < 2 && f.ns == 0; attempt++) {
        if (attempt) detail = 10; /* nothing drawn: a sketcher draws at least the outline */
        for (int i = 0; i < sc->n_parts; i++) {
            const sx_part *p = &sc->part[i];
            if (p->bg) continue;
            /* the outline parts are nearly always drawn; the hand's patience only decides the details */
            float pk = p->sketch_p >= 0.9f ? p->sketch_p : SBIR_MIN(0.99f, p->sketch_p * detail);
            if (rng_uniform(&r) >= pk) continue;
            sketch_part(&f, p, slop, &r);
        }
    }
    /* a person's proportions are never exact: stretch and shear the whole figure a little */
    float ax = rng_range(&r, 0.85f, 1.15f), sh = rng_range(&r, -0.12f, 0.12f);
    for (int i = 0; i < f.n; i++) {
        f.x[i] = f.x[i] * ax + f.y[i] * sh;
    }
    free(sc);
    simplify_into(&f, out);
    fs_free(&f);
    return SBIR_OK;
}

uint64_t synth_sketch_key_id(int cls, uint64_t seed, uint32_t index) {
    return (uint64_t)(cls + 1) * 1000000000000000ull + (seed % 100000ull) * 1000000000ull + index % 1000000000u;
}

/* A plausible 2017 timestamp, derived from the key so it is reproducible. */
static int64_t sketch_time(int cls, uint64_t seed, uint32_t index, unsigned *frac) {
    uint64_t h = sx_key(seed, 4, 0, (uint64_t)cls, index);
    if (frac) *frac = (unsigned)((h >> 32) % 100000u);
    return (int64_t)(1485907200ull + h % (90ull * 86400));
}

int synth_sketch_load(int cls, uint64_t seed, uint32_t index, sbir_sketch *out) {
    synth_strokes sk = {0};
    if (synth_sketch(cls, seed, index, &sk)) return SBIR_ERR;
    sketch_clear(out);
    for (int s = 0; s < sk.n_strokes; s++) {
        sketch_begin_stroke(out);
        for (int i = sk.start[s]; i < sk.start[s + 1]; i++) sketch_add_point(out, sk.x[i], sk.y[i], 0);
    }
    sketch_drop_empty_strokes(out);
    synth_strokes_free(&sk);
    snprintf(out->word, sizeof out->word, "%s", synth_classes[cls]);
    snprintf(out->countrycode, sizeof out->countrycode, "ZZ");
    out->key_id = synth_sketch_key_id(cls, seed, index);
    out->recognized = 1;
    out->timestamp = sketch_time(cls, seed, index, NULL);
    out->has_time = 0;
    return SBIR_OK;
}

static void buf_put(char **b, size_t *len, size_t *cap, const char *s, size_t n) {
    while (*len + n + 1 > *cap) *b = reallocCheck(*b, *cap *= 2);
    memcpy(*b + *len, s, n);
    *len += n;
    (*b)[*len] = 0;
}

char *synth_sketch_ndjson(const synth_strokes *s, int cls, uint64_t seed, uint32_t index) {
    size_t cap = 256 + (size_t)s->n_points * 8, len = 0;
    char *b = mallocCheck(cap), tmp[256];
    b[0] = 0;
    unsigned frac;
    time_t t = (time_t)sketch_time(cls, seed, index, &frac);
    struct tm tm;
    gmtime_r(&t, &tm);
    char ts[64];
    strftime(ts, sizeof ts, "%Y-%m-%d %H:%M:%S", &tm);
    int n = snprintf(tmp, sizeof tmp,
                     "{\"word\":\"%s\",\"countrycode\":\"ZZ\",\"timestamp\":\"%s.%05u UTC\",\"recognized\":true,"
                     "\"key_id\":\"%llu\",\"drawing\":[",
                     synth_classes[cls], ts, frac,
                     (unsigned long long)synth_sketch_key_id(cls, seed, index));
    buf_put(&b, &len, &cap, tmp, (size_t)n);
    for (int k = 0; k < s->n_strokes; k++) {
        buf_put(&b, &len, &cap, k ? ",[[" : "[[", k ? 3 : 2);
        for (int c = 0; c < 2; c++) {
            const uint8_t *v = c ? s->y : s->x;
            for (int i = s->start[k]; i < s->start[k + 1]; i++) {
                n = snprintf(tmp, sizeof tmp, i > s->start[k] ? ",%u" : "%u", v[i]);
                buf_put(&b, &len, &cap, tmp, (size_t)n);
            }
            buf_put(&b, &len, &cap, c ? "]]" : "],[", c ? 2 : 3);
        }
    }
    buf_put(&b, &len, &cap, "]}", 2);
    return b;
}
