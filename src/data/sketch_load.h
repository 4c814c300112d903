/* sketch_load.h — a query sketch from whatever the user gives, rendered to grey S x S:
 *   - a Quick, Draw! file (any format): its first drawing, or "FILE#N" for drawing N (0-based);
 *   - a PNG or JPEG image of a drawing (PACS sketches): decoded with data/image.h, converted to grey
 *     (luminance), fitted inside the margin keeping the aspect ratio, padded with white;
 *   - a sketch stored in a collection (strokes JSON, or an image path / "FILE.npy#N" reference).
 * Output follows raster.h: black ink on white unless o->invert. */
#ifndef SBIR_SKETCH_LOAD_H
#define SBIR_SKETCH_LOAD_H

#include <stdint.h>

#include "data/collection.h"
#include "data/raster.h"
#include "data/sketch.h"

/* "path#N" -> path and N (returns 1), or 0 when spec has no "#<digits>" suffix. path gets a malloc'd copy. */
int sketch_split_ref(const char *spec, char **path, uint64_t *index);

/* A PNG/JPEG file rendered as described above. */
int sketch_render_image(const char *path, const sbir_raster_opts *o, uint8_t *out);

/* Any of the above by path (images recognised by extension, otherwise Quick, Draw!). */
int sketch_render_path(const char *spec, const sbir_raster_opts *o, uint8_t *out);

/* A sketch row of a collection: strokes JSON, or image_path resolved against the collection's root. */
int sketch_render_stored(sbir_collection *c, const coll_sketch *k, const sbir_raster_opts *o, uint8_t *out);

#endif
