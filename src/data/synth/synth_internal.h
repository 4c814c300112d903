/* synth_internal.h — the demo collection's insides: scene descriptions, shape models and media.
 *
 * A shape model (shapes_<class>.c) describes one random instance of its class as a list of parts in
 * "object coordinates" (the object faces +x, stands on y = 0, y grows downward, about one unit long).
 * sx_place() then puts it in the frame (pose: flip, small rotation, squash for an oblique viewpoint,
 * scale, position), sx_background() adds class-independent background parts, and the scene is
 * depth-sorted. Every medium (media_<style>.c) renders the same kind of scene, and sketchify.c turns a
 * scene into Quick, Draw!-like strokes, so content and style are independent by construction.
 *
 * Frame coordinates are [0,1] x [0,1] (y down); renderers scale by the image size. */
#ifndef SBIR_SYNTH_INTERNAL_H
#define SBIR_SYNTH_INTERNAL_H

#include <cairo.h>
#include <stdint.h>

#include "util/rng.h"

#define SX_MAX_SEGS 24                   /* cubic segments per part */
#define SX_MAX_PTS (1 + 3 * SX_MAX_SEGS) /* bezier points: p0, then (c1, c2, p) per segment */
#define SX_MAX_PARTS 96
#define SX_FLAT_PER_SEG 8
#define SX_MAX_FLAT (SX_MAX_SEGS * SX_FLAT_PER_SEG + 1)

/* What a part is, which decides how media draw it. */
enum {
    SP_FILL, /* closed region: filled, outlined by media that outline */
    SP_TUBE, /* a path stroked with a width: legs, frame tubes, tyres, tails */
    SP_LINE  /* a thin detail line: whiskers, spokes, seams; always drawn dark */
};

/* Colour roles. Each medium maps them to its own palette; classes use the same roles with the same
 * colour distribution, so colour says nothing about the class. */
enum {
    SL_BODY,   /* main colour of the object */
    SL_BODY2,  /* secondary: belly, wing, ears, trim */
    SL_ACCENT, /* beak, saddle, collar, lights */
    SL_DARK,   /* eyes, nose, tyres */
    SL_LIGHT,  /* eye whites, windows, hubcaps */
    SL_PROP,   /* a prop the object touches (branch) */
    SL_SKY,    /* background base (not a part: the medium's backdrop) */
    SL_GROUND, /* ground plane */
    SL_BG2,    /* hills, clouds */
    SL_BG3,    /* sun, decorative disc */
    SL_N
};

typedef struct {
    uint8_t kind, slot, closed, bg; /* bg: background part, never sketched */
    int16_t depth;                  /* drawing order, low first */
    float sketch_p;                 /* probability a 20-second sketcher draws this part */
    float shade;                    /* -1..1: darker (far legs) .. lighter */
    float width;                    /* TUBE/LINE width, frame units after placement */
    float cx, cy, rx, ry;           /* bounding-box centre and half extents (after placement) */
    float angle;                    /* main axis direction, radians (brush direction) */
    int n;                          /* number of bezier points */
    float pt[SX_MAX_PTS * 2];
} sx_part;

typedef struct {
    int n_parts;
    sx_part part[SX_MAX_PARTS];
    sx_part scratch;              /* where additions beyond SX_MAX_PARTS go (ignored) */
    float horizon;                /* frame y of the ground/sky boundary; < 0 when there is none */
    float ground_y;               /* frame y where the object stands; < 0 when it does not (flying) */
    int grounded;                 /* object-space y = 0 is a ground contact */
    float bx0, by0, bx1, by1;     /* bounding box of the object parts (frame) */
    float light_x, light_y;       /* unit vector toward the light (frame, y down) */
} sx_scene;

/* ---- scene building (scene.c), object coordinates ---- */
void sx_init(sx_scene *sc);
sx_part *sx_new(sx_scene *sc, int kind, int slot, int depth);
sx_part *sx_ellipse(sx_scene *sc, float cx, float cy, float rx, float ry, float ang, int slot, int depth);
sx_part *sx_rrect(sx_scene *sc, float cx, float cy, float w, float h, float r, float ang, int slot, int depth);
/* Closed smooth outline through n points (Catmull-Rom), n <= SX_MAX_SEGS. */
sx_part *sx_blob(sx_scene *sc, const float *xy, int n, int slot, int depth);
/* Closed polygon with straight edges, n <= SX_MAX_SEGS. */
sx_part *sx_poly(sx_scene *sc, const float *xy, int n, int slot, int depth);
/* Closed polygon with rounded corners (radius rad, clamped to half of each edge), n <= SX_MAX_SEGS/2. */
sx_part *sx_rpoly(sx_scene *sc, const float *xy, int n, float rad, int slot, int depth);
/* Open path through n points (smooth or straight) stroked with width: kind SP_TUBE or SP_LINE. */
sx_part *sx_path(sx_scene *sc, int kind, const float *xy, int n, int smooth, float width, int slot, int depth);
sx_part *sx_segment(sx_scene *sc, int kind, float x0, float y0, float x1, float y1, float width, int slot,
                    int depth);
/* Circle stroked as a tube (tyres, rims). */
sx_part *sx_ring(sx_scene *sc, float cx, float cy, float r, float width, int kind, int slot, int depth);

/* Pose and frame placement (see the top of this file). fill_lo..fill_hi: the object's larger extent
 * as a fraction of the frame. */
void sx_place(sx_scene *sc, sbir_rng *r, float fill_lo, float fill_hi);
/* Class-independent background parts; call after sx_place. */
void sx_background(sx_scene *sc, sbir_rng *r);
/* Sorts parts by depth (stable) and computes the derived fields. */
void sx_finish(sx_scene *sc);

/* Flattens a part into a polyline (frame units); returns the number of points (<= SX_MAX_FLAT). */
int sx_flatten(const sx_part *p, float *x, float *y);

/* ---- shape models: one random instance of the class ---- */
void shape_bicycle(sx_scene *sc, sbir_rng *r);
void shape_bird(sx_scene *sc, sbir_rng *r);
void shape_car(sx_scene *sc, sbir_rng *r);
void shape_cat(sx_scene *sc, sbir_rng *r);
void shape_dog(sx_scene *sc, sbir_rng *r);

/* Builds the full scene of class cls (index into synth_classes) from rng r. */
void sx_build_scene(sx_scene *sc, int cls, sbir_rng *r);

/* Seed of one random stream of the collection (synth.c); stream 1 = shape, 2 = medium, 3 = sketch. */
uint64_t sx_key(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b, uint64_t c);
/* Writes an RGB24 surface as an RGB PNG via a temporary name and rename. */
int sx_write_png(cairo_surface_t *s, const char *path);

/* ---- media: render the scene onto an RGB24 image surface of size x size ---- */
typedef void (*sx_media_fn)(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r);
void media_oilpaint(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r);
void media_watercolor(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r);
void media_pen_ink(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r);
void media_graphite(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r);
void media_comic(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r);
void media_vectorart(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r);
void media_3d(cairo_surface_t *s, const sx_scene *sc, sbir_rng *r);

/* ---- shared media helpers (media_common.c) ---- */
typedef struct { float r, g, b; } sx_rgb;
typedef struct { float h, s, v; } sx_hsv;

/* The shared colour intent of an image: one hsv per slot, same distribution for every class.
 * Media transform it into their own character. */
void sx_palette_base(sbir_rng *r, sx_hsv pal[SL_N]);
sx_rgb sx_hsv2rgb(sx_hsv c);
sx_rgb sx_mix(sx_rgb a, sx_rgb b, float t);
sx_rgb sx_scale_rgb(sx_rgb a, float k); /* multiply, clamped */
float sx_luma(sx_rgb c);
/* The palette colour of a part with its shade applied (far legs darker). */
sx_rgb sx_part_rgb(const sx_rgb *pal, const sx_part *p);
float sx_clamp01(float v);
void sx_set(cairo_t *cr, sx_rgb c);
void sx_set_a(cairo_t *cr, sx_rgb c, float alpha);

/* cairo context with the frame scaled to [0,1]; px = one 128-reference pixel in frame units. */
cairo_t *sx_cairo(cairo_surface_t *s);
#define SX_PX (1.0 / 128.0)

void sx_path_part(cairo_t *cr, const sx_part *p);
/* The part's outline displaced by smooth noise of amplitude amp (frame units): hand-made edges. */
void sx_path_wobble(cairo_t *cr, const sx_part *p, sbir_rng *r, float amp);
/* Draws a part flat: fill for FILL, stroke for TUBE/LINE (round caps). */
void sx_draw_flat(cairo_t *cr, const sx_part *p, sx_rgb c, float alpha);
/* Parallel lines at angle ang with spacing sp over the current clip's bounds. */
void sx_hatch(cairo_t *cr, float ang, float sp, float width, sbir_rng *r, float wobble);

/* Smooth value noise in [0,1] (deterministic hash lattice). */
float sx_noise(float x, float y, uint32_t seed);
float sx_fbm(float x, float y, uint32_t seed, int octaves);

/* Pixel access to an RGB24 surface (call cairo_surface_flush first, mark_dirty after). */
void sx_blur(cairo_surface_t *s, int radius);
/* Multiplies every pixel by (1 + amp * (fbm - 0.5) * 2): paper grain / canvas. */
void sx_grain(cairo_surface_t *s, uint32_t seed, float scale, float amp);

#endif
