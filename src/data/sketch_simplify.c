/* sketch_simplify.c — Google's raw-to-simplified conversion: align, scale to 0..255, resample at
 * 1-unit spacing, Ramer-Douglas-Peucker with epsilon 2.0, round.
 *
 * Resampling before RDP matters: RDP then chooses among evenly spaced points along the pen path,
 * which is what Google's published simplified files show (their vertices are not the raw vertices). */
#include <math.h>
#include <string.h>

#include "data/sketch.h"
#include "util/common.h"

#define RDP_EPSILON 2.0f

/* Perpendicular distance of (px, py) to the segment a-b (to the point a where a == b). */
static float seg_dist(float px, float py, float ax, float ay, float bx, float by) {
    float dx = bx - ax, dy = by - ay;
    float len2 = dx * dx + dy * dy;
    if (len2 <= 0.0f) return hypotf(px - ax, py - ay);
    /* distance to the infinite line, as the classic RDP */
    return fabsf(dy * px - dx * py + bx * ay - by * ax) / sqrtf(len2);
}

void sketch_rdp(const float *x, const float *y, uint32_t n, float epsilon, uint8_t *keep) {
    if (n == 0) return;
    memset(keep, 0, n);
    keep[0] = keep[n - 1] = 1;
    if (n < 3) return;
    /* An explicit stack instead of recursion: a raw stroke can have tens of thousands of points
     * and recursion depth could reach n on a spiral. Each pushed range splits a parent, so at most
     * n ranges are ever on the stack. */
    uint32_t *stack = mallocCheck((size_t)2 * n * sizeof *stack);
    uint32_t sp = 0;
    stack[sp++] = 0;
    stack[sp++] = n - 1;
    while (sp) {
        uint32_t hi = stack[--sp], lo = stack[--sp];
        float best = -1.0f;
        uint32_t bi = lo;
        for (uint32_t i = lo + 1; i < hi; i++) {
            float d = seg_dist(x[i], y[i], x[lo], y[lo], x[hi], y[hi]);
            if (d > best) best = d, bi = i;
        }
        if (best > epsilon) {
            keep[bi] = 1;
            if (bi - lo > 1) stack[sp++] = lo, stack[sp++] = bi;
            if (hi - bi > 1) stack[sp++] = bi, stack[sp++] = hi;
        }
    }
    free(stack);
}

/* Points along the polyline every `step` units of arc length, plus the last point. */
static void resample(const float *x, const float *y, uint32_t n, float step, float **ox, float **oy,
                     uint32_t *on, uint32_t *cap) {
    uint32_t m = 0;
#define PUSH(px, py)                                                  \
    do {                                                              \
        if (m == *cap) {                                              \
            *cap = *cap ? *cap * 2 : 256;                             \
            *ox = reallocCheck(*ox, (size_t)*cap * sizeof(float));    \
            *oy = reallocCheck(*oy, (size_t)*cap * sizeof(float));    \
        }                                                             \
        (*ox)[m] = (px), (*oy)[m] = (py), m++;                        \
    } while (0)
    PUSH(x[0], y[0]);
    float carry = 0.0f; /* arc length travelled since the last emitted point */
    for (uint32_t i = 1; i < n; i++) {
        float dx = x[i] - x[i - 1], dy = y[i] - y[i - 1];
        float len = sqrtf(dx * dx + dy * dy);
        float pos = step - carry; /* position along this segment of the next sample */
        while (pos <= len) {
            float f = pos / len;
            PUSH(x[i - 1] + f * dx, y[i - 1] + f * dy);
            pos += step;
        }
        carry = len - (pos - step);
    }
    if (n > 1 && ((*ox)[m - 1] != x[n - 1] || (*oy)[m - 1] != y[n - 1])) PUSH(x[n - 1], y[n - 1]);
#undef PUSH
    *on = m;
}

void sketch_simplify(sbir_sketch *s) {
    float x0, y0, x1, y1;
    if (!sketch_bounds(s, &x0, &y0, &x1, &y1)) return;
    float range = SBIR_MAX(x1 - x0, y1 - y0);
    float scale = range > 0 ? 255.0f / range : 1.0f;

    /* Work on a copy of the (aligned, scaled) input and rebuild s stroke by stroke. */
    uint32_t ns = s->n_strokes, np = s->n_points;
    uint32_t *start = mallocCheck((size_t)(ns + 1) * sizeof *start);
    float *ix = mallocCheck((size_t)np * sizeof(float)), *iy = mallocCheck((size_t)np * sizeof(float));
    memcpy(start, s->stroke_start, (size_t)(ns + 1) * sizeof *start);
    for (uint32_t i = 0; i < np; i++) {
        ix[i] = (s->x[i] - x0) * scale;
        iy[i] = (s->y[i] - y0) * scale;
    }
    float *rx = NULL, *ry = NULL;
    uint32_t rn = 0, rcap = 0, kcap = 0;
    uint8_t *keep = NULL;

    s->n_strokes = s->n_points = 0;
    s->stroke_start[0] = 0;
    s->has_time = 0;
    for (uint32_t k = 0; k < ns; k++) {
        uint32_t a = start[k], n = start[k + 1] - a;
        if (n == 0) continue;
        resample(ix + a, iy + a, n, 1.0f, &rx, &ry, &rn, &rcap);
        if (rn > kcap) {
            kcap = rcap;
            keep = reallocCheck(keep, kcap);
        }
        sketch_rdp(rx, ry, rn, RDP_EPSILON, keep);
        sketch_begin_stroke(s);
        for (uint32_t i = 0; i < rn; i++) {
            if (!keep[i]) continue;
            float px = SBIR_MIN(SBIR_MAX(roundf(rx[i]), 0.0f), 255.0f);
            float py = SBIR_MIN(SBIR_MAX(roundf(ry[i]), 0.0f), 255.0f);
            sketch_add_point(s, px, py, 0.0f);
        }
    }
    free(start), free(ix), free(iy), free(rx), free(ry), free(keep);
}
