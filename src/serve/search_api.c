/* search_api.c — POST /api/search, run on a worker thread with that worker's own model context:
 * request JSON (or a raw image body) -> sketch embedding, style query -> sbir_search -> JSON. Every
 * field is checked for type and range; every failure is a 4xx with a reason the page can show. */
#include <cjson/cJSON.h>
#include <string.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "api/query_input.h"
#include "data/image.h"
#include "data/quickdraw_internal.h"
#include "serve/json_in.h"
#include "serve/server_internal.h"
#include "util/common.h"

typedef struct {
    unsigned status; /* 0 while all is well */
    char msg[400];
} fail;

static int set_fail(fail *f, unsigned status, const char *what) {
    if (!f->status) {
        f->status = status;
        snprintf(f->msg, sizeof f->msg, "%s", what);
    }
    return -1;
}

/* Image bytes -> RGB, with the pixel count checked from the header before any pixel is allocated. */
static int decode_image(const srv *s, const char *what, const uint8_t *data, size_t n, int min_side, sbir_image *im,
                        fail *f) {
    int w, h;
    image_format fmt;
    if (image_sniff(data, n) == IMAGE_FORMAT_UNKNOWN) {
        char m[200];
        snprintf(m, sizeof m, "%s: not a PNG or JPEG image", what);
        return set_fail(f, MHD_HTTP_UNSUPPORTED_MEDIA_TYPE, m);
    }
    if (image_probe_mem(data, n, what, &w, &h, &fmt) != SBIR_OK) return set_fail(f, MHD_HTTP_BAD_REQUEST, sbir_last_error());
    if ((uint64_t)w * (uint64_t)h > s->o.max_pixels) {
        char m[200];
        snprintf(m, sizeof m, "%s: %d x %d pixels, more than the %llu allowed", what, w, h,
                 (unsigned long long)s->o.max_pixels);
        return set_fail(f, MHD_HTTP_CONTENT_TOO_LARGE, m);
    }
    if (image_decode_mem(data, n, what, min_side, im) != SBIR_OK) return set_fail(f, MHD_HTTP_BAD_REQUEST, sbir_last_error());
    return 0;
}

/* A PNG/JPEG sketch (dark ink on light paper, transparency as paper) -> content embedding. */
static int embed_sketch_image(const srv *s, sbir_model_ctx *m, const uint8_t *data, size_t n, float *content, fail *f) {
    sbir_image im = {0};
    if (decode_image(s, "sketch image", data, n, 0, &im, f)) return -1;
    size_t np = (size_t)im.w * im.h;
    uint8_t *grey = mallocCheck(np);
    for (size_t i = 0; i < np; i++) /* ITU-R BT.601 luma */
        grey[i] = (uint8_t)((299 * im.rgb[3 * i] + 587 * im.rgb[3 * i + 1] + 114 * im.rgb[3 * i + 2] + 500) / 1000);
    sbir_status st = sbir_embed_sketch_raster(m, grey, im.w, im.h, content);
    free(grey);
    image_free(&im);
    return st == SBIR_E_OK ? 0 : set_fail(f, MHD_HTTP_BAD_REQUEST, sbir_last_error());
}

/* Quick, Draw! strokes, raw ([x],[y],[t]: converted to simplified as Google does) or simplified. */
static int embed_strokes(const srv *s, sbir_model_ctx *m, const cJSON *strokes, float *content, fail *f) {
    qd_options o;
    qd_options_default(&o);
    o.max_strokes = (uint32_t)s->o.max_strokes;
    o.max_points = (uint32_t)s->o.max_points;
    sbir_sketch sk;
    sketch_init(&sk);
    int rc = qd_drawing_from_cjson(strokes, &o, "strokes", &sk);
    if (rc == SBIR_OK && sk.has_time) sketch_simplify(&sk);
    int S = sbir_model_input_size(m);
    uint8_t *grey = mallocCheck((size_t)S * S);
    if (rc == SBIR_OK) rc = qin_render_strokes(&sk, S, grey);
    if (rc != SBIR_OK) set_fail(f, MHD_HTTP_BAD_REQUEST, sbir_last_error());
    else if (api_embed_grey(m, grey, content) != SBIR_E_OK) rc = set_fail(f, MHD_HTTP_INTERNAL_SERVER_ERROR, sbir_last_error());
    free(grey);
    sketch_free(&sk);
    return rc == SBIR_OK ? 0 : -1;
}

/* "style_images": data URLs or base64 -> n style embeddings (n x Ds, malloc'd). */
static float *embed_style_images(const srv *s, sbir_model_ctx *m, const cJSON *arr, int *n_out, fail *f) {
    int n = cJSON_GetArraySize(arr), Ds = sbir_model_style_dim(m), S = sbir_model_input_size(m);
    if (n < 1 || n > s->o.max_style_images) {
        char msg[128];
        snprintf(msg, sizeof msg, "\"style_images\" must hold 1 to %d images", s->o.max_style_images);
        set_fail(f, MHD_HTTP_BAD_REQUEST, msg);
        return NULL;
    }
    float *out = mallocCheck(sizeof(float) * (size_t)n * Ds);
    int i = 0;
    const cJSON *it;
    cJSON_ArrayForEach(it, arr) {
        char what[64];
        snprintf(what, sizeof what, "style_images[%d]", i);
        if (!cJSON_IsString(it)) {
            char msg[128];
            snprintf(msg, sizeof msg, "%s: not a string (a data URL or base64 PNG/JPEG)", what);
            set_fail(f, MHD_HTTP_BAD_REQUEST, msg);
            break;
        }
        size_t len;
        uint8_t *bytes = b64_decode(what, it->valuestring, s->o.max_body, &len);
        if (!bytes) {
            set_fail(f, MHD_HTTP_BAD_REQUEST, sbir_last_error());
            break;
        }
        sbir_image im = {0};
        int bad = decode_image(s, what, bytes, len, S, &im, f);
        free(bytes);
        if (bad) break;
        sbir_status st = sbir_embed_image(m, im.rgb, im.w, im.h, NULL, out + (size_t)i * Ds);
        image_free(&im);
        if (st != SBIR_E_OK) {
            set_fail(f, MHD_HTTP_BAD_REQUEST, sbir_last_error());
            break;
        }
        i++;
    }
    if (f->status) {
        free(out);
        return NULL;
    }
    *n_out = n;
    return out;
}

typedef struct {
    int k, n_strokes, n_points, n_examples, raw_strokes, from_image;
    const char *style, *class_name;
} query_info;

/* Parses the request and computes the sketch embedding and the style examples. */
static int prepare(srv *s, sbir_model_ctx *m, const req *r, cJSON **doc, float *content, float **examples, query_info *qi,
                   fail *f) {
    memset(qi, 0, sizeof *qi);
    qi->k = 20;
    if (strncmp(r->content_type, "image/", 6) == 0) { /* a raw PNG/JPEG sketch, options in the URL */
        if (r->k_arg) qi->k = r->k_arg;
        if (r->style_arg[0]) qi->style = r->style_arg;
        qi->from_image = 1;
        if (qi->k < 1 || qi->k > s->o.max_k) return set_fail(f, MHD_HTTP_BAD_REQUEST, "k out of range");
        return embed_sketch_image(s, m, (const uint8_t *)r->body, r->len, content, f);
    }
    if (r->len == 0) return set_fail(f, MHD_HTTP_BAD_REQUEST, "empty body: send a JSON object");
    if (json_depth(r->body, r->len, s->o.max_depth) > s->o.max_depth) {
        char msg[96];
        snprintf(msg, sizeof msg, "JSON nested deeper than %d levels", s->o.max_depth);
        return set_fail(f, MHD_HTTP_BAD_REQUEST, msg);
    }
    *doc = cJSON_ParseWithLength(r->body, r->len);
    if (!*doc || !cJSON_IsObject(*doc)) {
        char msg[96];
        const char *at = cJSON_GetErrorPtr();
        if (!*doc && at && at >= r->body && at <= r->body + r->len)
            snprintf(msg, sizeof msg, "invalid JSON at byte %zu", (size_t)(at - r->body));
        else snprintf(msg, sizeof msg, "the body must be a JSON object");
        return set_fail(f, MHD_HTTP_BAD_REQUEST, msg);
    }
    const cJSON *k = cJSON_GetObjectItemCaseSensitive(*doc, "k"), *st = cJSON_GetObjectItemCaseSensitive(*doc, "style"),
                *si = cJSON_GetObjectItemCaseSensitive(*doc, "style_images"),
                *strokes = cJSON_GetObjectItemCaseSensitive(*doc, "strokes"),
                *png = cJSON_GetObjectItemCaseSensitive(*doc, "sketch_png"),
                *cls = cJSON_GetObjectItemCaseSensitive(*doc, "class");
    if (k && !cJSON_IsNull(k)) {
        double v = cJSON_IsNumber(k) ? k->valuedouble : -1;
        if (!(v >= 1 && v <= s->o.max_k && v == (int)v)) {
            char msg[96];
            snprintf(msg, sizeof msg, "\"k\" must be an integer from 1 to %d", s->o.max_k);
            return set_fail(f, MHD_HTTP_BAD_REQUEST, msg);
        }
        qi->k = (int)v;
    }
    if (st && !cJSON_IsNull(st)) {
        if (!cJSON_IsString(st)) return set_fail(f, MHD_HTTP_BAD_REQUEST, "\"style\" must be a string (a style name)");
        if (st->valuestring[0]) qi->style = st->valuestring; /* "": any style */
    }
    if (cls && !cJSON_IsNull(cls)) {
        if (!cJSON_IsString(cls)) return set_fail(f, MHD_HTTP_BAD_REQUEST, "\"class\" must be a string");
        if (cls->valuestring[0]) qi->class_name = cls->valuestring;
    }
    if (si && !cJSON_IsNull(si) && !cJSON_IsArray(si))
        return set_fail(f, MHD_HTTP_BAD_REQUEST, "\"style_images\" must be an array of images");
    int has_si = si && cJSON_IsArray(si);
    if (has_si && qi->style) return set_fail(f, MHD_HTTP_BAD_REQUEST, "give \"style\" or \"style_images\", not both");
    int has_strokes = strokes && !cJSON_IsNull(strokes), has_png = png && !cJSON_IsNull(png);
    if (has_strokes == has_png)
        return set_fail(f, MHD_HTTP_BAD_REQUEST, "give the sketch as \"strokes\" or as \"sketch_png\" (one of them)");
    if (has_strokes) {
        if (!cJSON_IsArray(strokes)) return set_fail(f, MHD_HTTP_BAD_REQUEST, "\"strokes\" must be an array of strokes");
        if (embed_strokes(s, m, strokes, content, f)) return -1;
        qi->n_strokes = cJSON_GetArraySize(strokes);
        const cJSON *first = cJSON_GetArrayItem(strokes, 0);
        qi->raw_strokes = cJSON_GetArraySize(first) == 3;
        const cJSON *sk;
        cJSON_ArrayForEach(sk, strokes) qi->n_points += cJSON_GetArraySize(cJSON_GetArrayItem(sk, 0));
    } else {
        if (!cJSON_IsString(png)) return set_fail(f, MHD_HTTP_BAD_REQUEST, "\"sketch_png\" must be a data URL or base64");
        size_t len;
        uint8_t *bytes = b64_decode("sketch_png", png->valuestring, s->o.max_body, &len);
        if (!bytes) return set_fail(f, MHD_HTTP_BAD_REQUEST, sbir_last_error());
        int rc = embed_sketch_image(s, m, bytes, len, content, f);
        free(bytes);
        if (rc) return -1;
        qi->from_image = 1;
    }
    if (has_si) {
        *examples = embed_style_images(s, m, si, &qi->n_examples, f);
        if (!*examples) return -1;
    }
    return 0;
}

static cJSON *results_json(const sbir_result *res, int n) {
    cJSON *arr = cJSON_CreateArray();
    for (int i = 0; i < n; i++) {
        cJSON *e = cJSON_CreateObject();
        char url[48];
        snprintf(url, sizeof url, "/api/image/%lld", (long long)res[i].id);
        cJSON_AddNumberToObject(e, "rank", i + 1);
        cJSON_AddNumberToObject(e, "id", (double)res[i].id);
        cJSON_AddNumberToObject(e, "score", res[i].score);
        cJSON_AddStringToObject(e, "class", res[i].class_name);
        cJSON_AddStringToObject(e, "style", res[i].style);
        cJSON_AddNumberToObject(e, "content_dist", res[i].content_dist);
        cJSON_AddNumberToObject(e, "style_dist", res[i].style_dist);
        cJSON_AddStringToObject(e, "image", url);
        cJSON_AddItemToArray(arr, e);
    }
    return arr;
}

static unsigned status_of(sbir_status st) {
    return st == SBIR_E_ARG || st == SBIR_E_NOT_FOUND ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR;
}

struct MHD_Response *search_run(srv *s, sbir_model_ctx *m, const req *r, unsigned *status) {
    double t0 = sbir_now();
    *status = MHD_HTTP_INTERNAL_SERVER_ERROR;
    fail f = {0};
    cJSON *doc = NULL;
    float content[SBIR_MAX_DIM], *examples = NULL;
    query_info qi;
    sbir_result *res = NULL;
    int n = 0;
    struct MHD_Response *out = NULL;
    if (prepare(s, m, r, &doc, content, &examples, &qi, &f)) goto done;
    double t1 = sbir_now();
    sbir_query q = {content, qi.style, examples, qi.n_examples, qi.class_name, qi.k};
    res = mallocCheck(sizeof(sbir_result) * (size_t)qi.k);
    sbir_status st = sbir_search(s->ix, m, &q, res, &n);
    if (st != SBIR_E_OK) {
        set_fail(&f, status_of(st), sbir_last_error());
        goto done;
    }
    double t2 = sbir_now();
    if (s->o.test_delay_ms > 0) usleep((useconds_t)s->o.test_delay_ms * 1000);
    cJSON *o = cJSON_CreateObject(), *qj = cJSON_AddObjectToObject(o, "query"), *ms;
    cJSON_AddItemToObject(o, "results", results_json(res, n));
    cJSON_AddNumberToObject(qj, "k", qi.k);
    if (qi.style) cJSON_AddStringToObject(qj, "style", qi.style);
    if (qi.n_examples) cJSON_AddNumberToObject(qj, "style_images", qi.n_examples);
    if (qi.class_name) cJSON_AddStringToObject(qj, "class", qi.class_name);
    cJSON_AddStringToObject(qj, "sketch", qi.from_image ? "image" : qi.raw_strokes ? "raw strokes" : "simplified strokes");
    if (!qi.from_image) {
        cJSON_AddNumberToObject(qj, "strokes", qi.n_strokes);
        cJSON_AddNumberToObject(qj, "points", qi.n_points);
    }
    ms = cJSON_AddObjectToObject(o, "ms");
    cJSON_AddNumberToObject(ms, "queue", 1e3 * (t0 - r->t_queued));
    cJSON_AddNumberToObject(ms, "embed", 1e3 * (t1 - t0));
    cJSON_AddNumberToObject(ms, "search", 1e3 * (t2 - t1));
    char *text = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (text) {
        out = reply_json_text(text, strlen(text));
        *status = MHD_HTTP_OK;
    }
done:
    if (f.status) {
        *status = f.status;
        out = reply_error(f.status, "%s", f.msg);
    }
    cJSON_Delete(doc);
    free(examples);
    free(res);
    return out;
}
