/* sketch_load.c — query sketches from files, images and collection rows (see sketch_load.h). */
#include "data/sketch_load.h"

#include <ctype.h>
#include <string.h>
#include <unistd.h>

#include "data/image.h"
#include "data/quickdraw.h"
#include "util/common.h"

int sketch_split_ref(const char *spec, char **path, uint64_t *index) {
    const char *hash = strrchr(spec, '#');
    if (!hash || !hash[1] || hash == spec) return 0;
    uint64_t v = 0;
    for (const char *p = hash + 1; *p; p++) {
        if (!isdigit((unsigned char)*p) || v > UINT64_MAX / 10 - 10) return 0;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    size_t n = (size_t)(hash - spec);
    *path = mallocCheck(n + 1);
    memcpy(*path, spec, n);
    (*path)[n] = 0;
    *index = v;
    return 1;
}

int sketch_render_image(const char *path, const sbir_raster_opts *o, uint8_t *out) {
    int S = o->size;
    if (S < 1 || S > 8192 || !(o->margin >= 0 && o->margin < 0.5f)) return sbir_error("%s: bad raster options", path);
    int inner = (int)(S * (1.0 - 2.0 * o->margin) + 0.5);
    if (inner < 1) inner = 1;
    sbir_image im = {0};
    if (image_load_square(path, inner, IMAGE_FIT_PAD, &im)) return SBIR_ERR;
    memset(out, 255, (size_t)S * S);
    int off = (S - inner) / 2;
    for (int y = 0; y < inner; y++)
        for (int x = 0; x < inner; x++) {
            const uint8_t *p = im.rgb + ((size_t)y * inner + x) * 3;
            /* Rec. 601 luma, rounded */
            out[(size_t)(y + off) * S + x + off] = (uint8_t)((299 * p[0] + 587 * p[1] + 114 * p[2] + 500) / 1000);
        }
    image_free(&im);
    if (o->invert)
        for (size_t i = 0; i < (size_t)S * S; i++) out[i] = (uint8_t)(255 - out[i]);
    return SBIR_OK;
}

int sketch_render_path(const char *spec, const sbir_raster_opts *o, uint8_t *out) {
    char *path = NULL;
    uint64_t index = 0;
    int has_ref = sketch_split_ref(spec, &path, &index);
    if (has_ref && access(spec, F_OK) == 0) { /* a file really named "x#3" wins over the reference */
        free(path);
        has_ref = 0, index = 0;
    }
    if (!has_ref) path = strdupCheck(spec);
    int rc;
    if (!has_ref && image_has_image_ext(path)) {
        rc = sketch_render_image(path, o, out);
    } else {
        sbir_sketch s;
        sketch_init(&s);
        rc = qd_find(path, 0, index, &s);
        if (rc == SBIR_OK) rc = raster_sketch(&s, o, out);
        sketch_free(&s);
    }
    free(path);
    return rc;
}

int sketch_render_stored(sbir_collection *c, const coll_sketch *k, const sbir_raster_opts *o, uint8_t *out) {
    if (k->strokes) {
        char where[512];
        snprintf(where, sizeof where, "%s: sketch %lld", collection_path(c), (long long)k->id);
        sbir_sketch s;
        sketch_init(&s);
        int rc = qd_drawing_from_json(k->strokes, where, &s);
        if (rc == SBIR_OK) rc = raster_sketch(&s, o, out);
        sketch_free(&s);
        return rc;
    }
    if (!k->image_path)
        return sbir_error("%s: sketch %lld has neither strokes nor an image", collection_path(c), (long long)k->id);
    char *abs = collection_abs_path(c, k->image_path);
    int rc = sketch_render_path(abs, o, out);
    free(abs);
    return rc;
}
