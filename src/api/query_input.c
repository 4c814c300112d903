/* query_input.c — see query_input.h. */
#include "api/query_input.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "data/image.h"
#include "data/quickdraw.h"
#include "data/raster.h"
#include "data/sketch_load.h"
#include "util/common.h"

#define STDIN_MAX ((size_t)16 << 20) /* the ndjson reader's default longest line */

static void opts_for(int S, sbir_raster_opts *ro) {
    raster_opts_default(ro);
    ro->size = S;
    ro->line_width = SBIR_MAX(1.0f, S / 48.0f); /* what dataset.c's render_plain uses */
}

int qin_render_strokes(const sbir_sketch *s, int S, uint8_t *out) {
    if (s->n_points == 0 && s->bitmap_size == 0) return sbir_error("the sketch has no points");
    sbir_raster_opts ro;
    opts_for(S, &ro);
    return raster_sketch(s, &ro, out);
}

int qin_render_grey(const uint8_t *grey, int w, int h, int S, uint8_t *out) {
    if (!grey || w < 1 || h < 1 || (uint64_t)w * (uint64_t)h > image_max_pixels())
        return sbir_error("sketch raster: bad size %d x %d", w, h);
    sbir_raster_opts ro;
    opts_for(S, &ro);
    int inner = (int)(S * (1.0 - 2.0 * ro.margin) + 0.5);
    if (inner < 1) inner = 1;
    sbir_image src = {w, h, mallocCheck((size_t)w * h * 3)}, fit = {0};
    for (size_t i = 0; i < (size_t)w * h; i++) src.rgb[3 * i] = src.rgb[3 * i + 1] = src.rgb[3 * i + 2] = grey[i];
    int rc = image_fit(&src, inner, IMAGE_FIT_PAD, &fit);
    image_free(&src);
    if (rc != SBIR_OK) return SBIR_ERR;
    memset(out, 255, (size_t)S * S);
    int off = (S - inner) / 2;
    for (int y = 0; y < inner; y++) /* grey replicated, so the luma is the grey value itself */
        for (int x = 0; x < inner; x++) out[(size_t)(y + off) * S + x + off] = fit.rgb[((size_t)y * inner + x) * 3];
    image_free(&fit);
    return SBIR_OK;
}

/* A literal ndjson object or drawing array. */
static int render_json(const char *text, const char *where, int S, uint8_t *out, char *word, size_t word_size) {
    while (*text == ' ' || *text == '\t') text++;
    char *drawing = NULL;
    if (*text == '{') {
        cJSON *o = cJSON_Parse(text);
        if (!o) return sbir_error("%s: not valid JSON", where);
        cJSON *d = cJSON_GetObjectItemCaseSensitive(o, "drawing");
        cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "word");
        if (!cJSON_IsArray(d)) {
            cJSON_Delete(o);
            return sbir_error("%s: the object has no \"drawing\" array", where);
        }
        if (word && cJSON_IsString(w)) snprintf(word, word_size, "%s", w->valuestring);
        drawing = cJSON_PrintUnformatted(d);
        cJSON_Delete(o);
        if (!drawing) return sbir_error("%s: out of memory", where);
    }
    sbir_sketch s;
    sketch_init(&s);
    int rc = qd_drawing_from_json(drawing ? drawing : text, where, &s);
    free(drawing);
    if (rc == SBIR_OK) rc = qin_render_strokes(&s, S, out);
    sketch_free(&s);
    return rc;
}

static int render_stdin(int S, uint8_t *out, char *word, size_t word_size) {
    size_t cap = 4096, n = 0;
    char *buf = mallocCheck(cap);
    int ch;
    while ((ch = getchar()) != EOF && ch != '\n') {
        if (n + 1 >= STDIN_MAX) {
            free(buf);
            return sbir_error("stdin: line longer than %zu bytes", STDIN_MAX);
        }
        if (n + 1 >= cap) buf = reallocCheck(buf, cap *= 2);
        buf[n++] = (char)ch;
    }
    buf[n] = 0;
    int rc = n ? render_json(buf, "stdin", S, out, word, word_size) : sbir_error("stdin: no sketch");
    free(buf);
    return rc;
}

int qin_render_spec(const char *spec, int S, uint8_t *out, char *word, size_t word_size) {
    if (word && word_size) word[0] = 0;
    if (!spec || !*spec) return sbir_error("no sketch given");
    if (strcmp(spec, "-") == 0) return render_stdin(S, out, word, word_size);
    if (spec[0] == '{' || spec[0] == '[') return render_json(spec, "sketch", S, out, word, word_size);
    char *path = NULL;
    uint64_t index = 0;
    int ref = sketch_split_ref(spec, &path, &index);
    if (ref && access(spec, F_OK) == 0) ref = 0, index = 0; /* a file really named "x#3" (as sketch_load.c) */
    if (!ref) {
        free(path);
        path = strdupCheck(spec);
    }
    int rc;
    if (!ref && image_has_image_ext(path)) {
        sbir_raster_opts ro;
        opts_for(S, &ro);
        rc = sketch_render_image(path, &ro, out);
    } else { /* Quick, Draw!: read here rather than by sketch_render_path, to keep the class word */
        sbir_sketch s;
        sketch_init(&s);
        rc = qd_find(path, 0, index, &s);
        if (rc == SBIR_OK && word && word_size) snprintf(word, word_size, "%s", s.word);
        if (rc == SBIR_OK) rc = qin_render_strokes(&s, S, out);
        sketch_free(&s);
    }
    free(path);
    return rc;
}
