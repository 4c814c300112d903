/* raster.h — sketches to grey images, anti-aliased, with cairo.
 *
 * Output is size x size bytes, row-major, by default BLACK ink (0) on WHITE background (255), like a
 * pencil drawing on paper and like the gallery images; set invert for white ink on black (the
 * convention of Google's .npy bitmaps, and handy when a network wants ink = 1). Grey levels between
 * come from anti-aliasing. The float variant writes value / 255 (so 1.0 = white unless inverted).
 *
 * Geometry: with fit (the default) the sketch's bounding box is scaled uniformly (aspect ratio kept)
 * and centred so that the whole line, including its width, lies inside the margin; without fit the
 * coordinates are taken as Google's 0..255 canvas and mapped onto the area inside the margin.
 * An optional affine (augmentation) is then applied in normalised output coordinates, where the
 * image spans [-1, 1] x [-1, 1] with (0, 0) at the centre: x' = a0 x + a1 y + a2, y' = a3 x + a4 y + a5.
 * The line width is always in output pixels (not scaled by the affine).
 *
 * Bitmap sketches (.npy rows) are resized to the area inside the margin with bilinear filtering. */
#ifndef SBIR_RASTER_H
#define SBIR_RASTER_H

#include <stdint.h>

#include "data/sketch.h"

typedef struct {
    int size;          /* output side S in pixels (default 256) */
    float line_width;  /* in output pixels; <= 0 means automatic: S / 64, at least 1 (default) */
    float margin;      /* fraction of S left blank on each side, 0 <= margin < 0.5 (default 0.05) */
    int fit;           /* 1: fit the bounding box (default); 0: coordinates are on a 0..255 canvas */
    int invert;        /* 0: black ink on white (default); 1: white ink on black */
    int has_affine;    /* apply affine[] (see above) */
    float affine[6];
} sbir_raster_opts;

void raster_opts_default(sbir_raster_opts *o);
float raster_line_width(const sbir_raster_opts *o); /* the effective width in pixels */

/* Renders s (strokes or bitmap) into out[size * size]. A sketch without points renders blank. */
int raster_sketch(const sbir_sketch *s, const sbir_raster_opts *o, uint8_t *out);
int raster_sketch_f32(const sbir_sketch *s, const sbir_raster_opts *o, float *out);

/* Resizes a w x h 8-bit bitmap into out[size * size] (inside the margin, aspect kept, centred).
 * ink_high: 1 if 255 means ink in the input (Google's .npy), 0 if 0 means ink (a scanned drawing). */
int raster_bitmap(const uint8_t *bm, int w, int h, int ink_high, const sbir_raster_opts *o, uint8_t *out);

/* Writes a grey image as an 8-bit greyscale PNG, atomically (temporary file + fsync + rename). */
int raster_write_png(const char *path, const uint8_t *grey, int w, int h);

#endif
