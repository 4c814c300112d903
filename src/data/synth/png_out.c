/* png_out.c — writing the collection's PNGs. libpng directly rather than cairo's writer: zlib level 3
 * with the SUB filter is about 2.5x faster to encode for 4% larger files, and PNG encoding is a third
 * of the generator's time. Written to a temporary name and renamed into place. */
#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "data/synth/synth_internal.h"
#include "util/common.h"

static int encode(FILE *f, const uint32_t *px, int w, int h, int stride, uint8_t *row) {
    png_structp p = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    if (!p) return SBIR_ERR;
    png_infop info = png_create_info_struct(p);
    if (!info || setjmp(png_jmpbuf(p))) {
        png_destroy_write_struct(&p, &info);
        return SBIR_ERR;
    }
    png_init_io(p, f);
    png_set_compression_level(p, 3);
    png_set_filter(p, 0, PNG_FILTER_SUB);
    png_set_IHDR(p, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_write_info(p, info);
    for (int y = 0; y < h; y++) {
        const uint32_t *src = px + (size_t)y * stride;
        for (int x = 0; x < w; x++) {
            row[3 * x] = (uint8_t)(src[x] >> 16), row[3 * x + 1] = (uint8_t)(src[x] >> 8), row[3 * x + 2] = (uint8_t)src[x];
        }
        png_write_row(p, row);
    }
    png_write_end(p, NULL);
    png_destroy_write_struct(&p, &info);
    return SBIR_OK;
}

int sx_write_png(cairo_surface_t *s, const char *path) {
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%d", path, (int)getpid());
    cairo_surface_flush(s);
    int w = cairo_image_surface_get_width(s), h = cairo_image_surface_get_height(s);
    FILE *f = fopen(tmp, "wb");
    if (!f) return sbir_error("%s: cannot write: %s", tmp, strerror(errno));
    uint8_t *row = mallocCheck((size_t)w * 3);
    int rc = encode(f, (const uint32_t *)cairo_image_surface_get_data(s), w, h, cairo_image_surface_get_stride(s) / 4, row);
    free(row);
    if (fclose(f) != 0) rc = SBIR_ERR;
    if (rc) {
        unlink(tmp);
        return sbir_error("%s: cannot write PNG", path);
    }
    if (rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return sbir_error("%s: cannot rename into place: %s", path, strerror(e));
    }
    return SBIR_OK;
}
