/* quickdraw_drawing.c — the "drawing" member of a Quick, Draw! ndjson line ([[[x..],[y..](,[t..])],..])
 * to strokes, with every check hostile input needs: types, finite in-range numbers, equal array
 * lengths, stroke and point limits. Shared by the ndjson reader and sketch_from_json. */
#include <cjson/cJSON.h>
#include <math.h>
#include <stdarg.h>

#include "data/quickdraw_internal.h"
#include "util/common.h"

static int bad(const char *where, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int bad(const char *where, const char *fmt, ...) {
    char msg[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return sbir_error("%s: %s", where, msg);
}

/* One coordinate array of a stroke: every element a finite number within the limit. */
static int check_values(const char *where, const cJSON *arr, uint32_t stroke, const char *axis,
                        double lo, double hi) {
    if (!cJSON_IsArray(arr)) return bad(where, "stroke %u: %s values must be an array", stroke, axis);
    uint32_t i = 0;
    for (const cJSON *e = arr->child; e; e = e->next, i++) {
        if (!cJSON_IsNumber(e)) return bad(where, "stroke %u: %s value %u is not a number", stroke, axis, i + 1);
        double d = e->valuedouble;
        if (!isfinite(d) || d < lo || d > hi)
            return bad(where, "stroke %u: %s value %u (%g) is out of range [%g, %g]", stroke, axis, i + 1, d, lo, hi);
    }
    return SBIR_OK;
}

int qd_drawing_from_cjson(const cJSON *d, const qd_options *o, const char *where, sbir_sketch *s) {
    if (!d) return bad(where, "missing \"drawing\"");
    if (!cJSON_IsArray(d)) return bad(where, "\"drawing\" must be an array of strokes");
    double lim = o->max_abs_coord;
    uint32_t k = 0;
    int timed = -1;
    for (const cJSON *stroke = d->child; stroke; stroke = stroke->next) {
        k++;
        if (k > o->max_strokes) return bad(where, "more than %u strokes in one drawing", o->max_strokes);
        if (!cJSON_IsArray(stroke)) return bad(where, "stroke %u must be an array [[x...],[y...]] or [[x...],[y...],[t...]]", k);
        int parts = cJSON_GetArraySize(stroke);
        if (parts != 2 && parts != 3)
            return bad(where, "stroke %u has %d arrays (expected 2: x, y; or 3: x, y, t)", k, parts);
        if (timed >= 0 && timed != (parts == 3))
            return bad(where, "stroke %u %s timing but earlier strokes %s", k, parts == 3 ? "has" : "lacks",
                       timed ? "have it" : "do not");
        timed = parts == 3;
        const cJSON *ax = stroke->child, *ay = ax->next, *at = timed ? ay->next : NULL;
        if (check_values(where, ax, k, "x", -lim, lim) || check_values(where, ay, k, "y", -lim, lim) ||
            (at && check_values(where, at, k, "t", 0, 1e10)))
            return SBIR_ERR;
        int nx = cJSON_GetArraySize(ax), ny = cJSON_GetArraySize(ay);
        if (nx != ny) return bad(where, "stroke %u has %d x values but %d y values", k, nx, ny);
        if (at && cJSON_GetArraySize(at) != nx)
            return bad(where, "stroke %u has %d x values but %d t values", k, nx, cJSON_GetArraySize(at));
        if ((uint64_t)s->n_points + (uint64_t)nx > o->max_points)
            return bad(where, "more than %u points in one drawing", o->max_points);
        if (nx == 0) continue; /* an empty stroke draws nothing; dropping it changes nothing */
        sketch_begin_stroke(s);
        const cJSON *ex = ax->child, *ey = ay->child, *et = at ? at->child : NULL;
        for (; ex; ex = ex->next, ey = ey->next, et = et ? et->next : NULL)
            sketch_add_point(s, (float)ex->valuedouble, (float)ey->valuedouble, et ? (float)et->valuedouble : 0.0f);
    }
    if (s->n_points == 0) return bad(where, "drawing has no points");
    s->has_time = timed == 1;
    return SBIR_OK;
}


int qd_drawing_from_json(const char *json, const char *where, sbir_sketch *s) {
    qd_options o;
    qd_options_default(&o);
    sketch_clear(s);
    /* The same bound on cJSON's node count as the ndjson reader (quickdraw_ndjson.c): a collection row
     * or a request body can be any size, and cJSON spends ~64 bytes per value (a 64 MB string of "0,"
     * cost 2.6 GB before this check). Values <= separators + 1. */
    size_t seps = 0;
    for (const char *p = json; *p; p++) seps += *p == ',' || *p == '[';
    uint64_t budget = (uint64_t)o.max_points * 3 + (uint64_t)o.max_strokes * 4 + 4096;
    if (seps > budget)
        return bad(where, "too many values (%zu) for one drawing (limits: %u points, %u strokes)", seps, o.max_points,
                   o.max_strokes);
    cJSON *d = cJSON_Parse(json);
    if (!d) return bad(where, "invalid drawing JSON");
    int rc = qd_drawing_from_cjson(d, &o, where, s);
    cJSON_Delete(d);
    return rc;
}

/* Appends printf output to a growable buffer. */
static void put(char **buf, size_t *len, size_t *cap, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void put(char **buf, size_t *len, size_t *cap, const char *fmt, ...) {
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        int n = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if (n >= 0 && (size_t)n < *cap - *len) {
            *len += (size_t)n;
            return;
        }
        *cap *= 2;
        *buf = reallocCheck(*buf, *cap);
    }
}

static void put_num(char **buf, size_t *len, size_t *cap, float v) {
    if (v == roundf(v) && fabsf(v) < 1e7f) put(buf, len, cap, "%d", (int)v);
    else put(buf, len, cap, "%.9g", v); /* round-trips a float exactly */
}

char *qd_drawing_to_json(const sbir_sketch *s) {
    size_t len = 0, cap = 256 + (size_t)s->n_points * 12;
    char *buf = mallocCheck(cap);
    buf[0] = 0;
    put(&buf, &len, &cap, "[");
    for (uint32_t k = 0; k < s->n_strokes; k++) {
        uint32_t a = s->stroke_start[k], n = sketch_stroke_len(s, k);
        put(&buf, &len, &cap, "%s[", k ? "," : "");
        const float *axes[3] = {s->x, s->y, s->t};
        int na = s->has_time ? 3 : 2;
        for (int ax = 0; ax < na; ax++) {
            put(&buf, &len, &cap, "%s[", ax ? "," : "");
            for (uint32_t i = 0; i < n; i++) {
                if (i) put(&buf, &len, &cap, ",");
                put_num(&buf, &len, &cap, axes[ax][a + i]);
            }
            put(&buf, &len, &cap, "]");
        }
        put(&buf, &len, &cap, "]");
    }
    put(&buf, &len, &cap, "]");
    return buf;
}
