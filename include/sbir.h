/* sbir.h — sketch-based image retrieval with style: the C library (libsbir).
 *
 * ---------------------------------------------------------------------------------------------------
 * TUTORIAL
 * ---------------------------------------------------------------------------------------------------
 *
 * A trained model (`sbir train`) turns sketches and images into embeddings: a CONTENT embedding (what
 * is drawn; sketches and images share this space) and, for images, a STYLE embedding (the medium:
 * watercolour, comic...). An index (`sbir index`, or sbir_index_build below) holds the embeddings of a
 * gallery. A search ranks the gallery by how well each image matches the sketch's content and the
 * requested style.
 *
 *     #include <sbir.h>
 *
 *     sbir_model_ctx *model;
 *     sbir_index_ctx *index;
 *     if (sbir_model_open("pacs.model", &model) != SBIR_E_OK ||
 *         sbir_index_open("pacs.index", &index) != SBIR_E_OK) {
 *         fprintf(stderr, "%s\n", sbir_last_error());   // "pacs.index: no such file" ...
 *         return 1;
 *     }
 *
 *     // 1. embed the sketch: from a file (Quick, Draw! file, "FILE#N", PNG/JPEG), from strokes, or
 *     //    from grey pixels. The embedding has sbir_model_content_dim(model) floats.
 *     float sketch[SBIR_MAX_DIM];
 *     sbir_embed_sketch_file(model, "cat.ndjson#3", sketch);
 *
 *     // 2. search: content only, or with a style by name (one of sbir_model_style_name()) or by
 *     //    example images (their style embeddings from sbir_embed_image / sbir_embed_image_file).
 *     sbir_query q = {.sketch = sketch, .style_name = "watercolor", .k = 20};
 *     sbir_result res[20];
 *     int n;
 *     if (sbir_search(index, model, &q, res, &n) == SBIR_E_OK)
 *         for (int i = 0; i < n; i++)
 *             printf("%2d %8.4f %s %s %s\n", i + 1, res[i].score, res[i].class_name, res[i].style, res[i].path);
 *
 *     sbir_index_close(index);
 *     sbir_model_close(model);
 *
 * Build with: cc app.c $(pkg-config --cflags --libs sbir)   (static: pkg-config --static ...)
 *
 * ---------------------------------------------------------------------------------------------------
 * RANKING
 * ---------------------------------------------------------------------------------------------------
 * Embeddings are L2-normalised. With the squared distances dc = |sketch - content|^2 and
 * ds = |style query - style|^2, a result's score is -(f0 dc + f1 ds + f2 dc ds), the fusion the model
 * fitted on validation data (higher is better). Without a style the score is -dc. A style given by name
 * is the model's prototype for it (the mean of the normalised style embeddings of that style's training
 * images); a style given by examples is the mean of their normalised style embeddings, computed the same
 * way (not renormalised). The search is exact: every image of the index is scored.
 *
 * ---------------------------------------------------------------------------------------------------
 * ERRORS
 * ---------------------------------------------------------------------------------------------------
 * Every function that can fail returns an sbir_status. sbir_errmsg(status) is a fixed description of
 * the code; sbir_last_error() is the full one-line reason of the calling thread's last failure, naming
 * the file and position at fault ("cat.ndjson:12: stroke 3 has 5 x values but 4 y values").
 *
 * ---------------------------------------------------------------------------------------------------
 * THREADS
 * ---------------------------------------------------------------------------------------------------
 * - sbir_search, sbir_index_* accessors and sbir_model_* accessors are thread-safe: the index is a
 *   read-only memory map and the search keeps its state on the caller's stack and heap. Any number of
 *   threads may search one index at once.
 * - sbir_embed_* are thread-safe but SERIALISED per model: a model's networks keep their activations
 *   in buffers of their own, so each model context holds a mutex around them. For embeddings in
 *   parallel, open one model context per thread (sbir_model_open the same file several times).
 * - sbir_model_open/close and sbir_index_open/close must not race with other calls on the same handle.
 * - sbir_last_error() is per thread.
 */
#ifndef SBIR_H
#define SBIR_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SBIR_VERSION "0.1.0"
/* No model has embeddings wider than this (convenient for stack buffers). */
#define SBIR_MAX_DIM 1024

typedef enum {
    SBIR_E_OK = 0,
    SBIR_E_ARG,       /* a bad argument (NULL pointer, k < 1, unknown style name...) */
    SBIR_E_IO,        /* a file could not be opened, read or written */
    SBIR_E_FORMAT,    /* a file is corrupt, truncated or not what it should be */
    SBIR_E_MISMATCH,  /* the index was built with another model (fingerprints differ) */
    SBIR_E_NOT_FOUND, /* a name (style, class) that the model or index does not know */
    SBIR_E_INTERNAL   /* anything else (a network failure) */
} sbir_status;

const char *sbir_errmsg(sbir_status status); /* a fixed text for each code */
const char *sbir_last_error(void);           /* the calling thread's last detailed reason */

/* ---- models ---- */

typedef struct sbir_model_ctx sbir_model_ctx;

sbir_status sbir_model_open(const char *path, sbir_model_ctx **out);
void sbir_model_close(sbir_model_ctx *m); /* NULL-safe */

int sbir_model_input_size(const sbir_model_ctx *m);  /* S: networks read S x S pixels */
int sbir_model_content_dim(const sbir_model_ctx *m); /* Dc */
int sbir_model_style_dim(const sbir_model_ctx *m);   /* Ds */
int sbir_model_n_styles(const sbir_model_ctx *m);
const char *sbir_model_style_name(const sbir_model_ctx *m, int i); /* NULL out of range */
int sbir_model_n_classes(const sbir_model_ctx *m);
const char *sbir_model_class_name(const sbir_model_ctx *m, int i);
const char *sbir_model_fingerprint(const sbir_model_ctx *m); /* 16 hex digits */

/* ---- embeddings (outputs are L2-normalised; see THREADS) ---- */

/* A sketch as Quick, Draw! strokes: stroke i has stroke_len[i] points, whose coordinates follow one
 * another in x[] and y[] (any scale: the drawing is fitted to the network's input). content: Dc floats. */
sbir_status sbir_embed_sketch_strokes(sbir_model_ctx *m, int n_strokes, const int *stroke_len, const float *x,
                                      const float *y, float *content);
/* A sketch as w x h grey pixels, dark ink on light paper (a scanned or drawn image). */
sbir_status sbir_embed_sketch_raster(sbir_model_ctx *m, const uint8_t *grey, int w, int h, float *content);
/* A sketch from a file: a Quick, Draw! file (ndjson raw/simplified, .bin, .npy; "FILE#N" for drawing N,
 * the first otherwise), a PNG/JPEG drawing, "-" for one ndjson line on stdin, or a literal ndjson line
 * ("{...\"drawing\":[[[x...],[y...]],...]...}") or drawing ("[[[x...],[y...]],...]"). */
sbir_status sbir_embed_sketch_file(sbir_model_ctx *m, const char *spec, float *content);
/* An image as w x h RGB pixels (3 bytes per pixel, rows without padding). content (Dc floats) and
 * style (Ds floats) may each be NULL when not wanted. */
sbir_status sbir_embed_image(sbir_model_ctx *m, const uint8_t *rgb, int w, int h, float *content, float *style);
sbir_status sbir_embed_image_file(sbir_model_ctx *m, const char *path, float *content, float *style);

/* ---- indexes ---- */

typedef struct sbir_index_ctx sbir_index_ctx;

sbir_status sbir_index_open(const char *path, sbir_index_ctx **out); /* maps the file, checks its CRC */
void sbir_index_close(sbir_index_ctx *ix);                             /* NULL-safe */

int64_t sbir_index_count(const sbir_index_ctx *ix);
const char *sbir_index_fingerprint(const sbir_index_ctx *ix); /* of the model that built it */

/* Builds (or with append, extends) an index of a collection's images (`sbir index`). */
typedef struct {
    const char *split; /* "all" (NULL), "train", "val" or "test" */
    const char *elem;  /* "f32" (NULL), "fp16" or "int8" */
    int append;        /* 1: add the collection's images not yet in out, keep the others as they are */
    int jobs;          /* decoding threads; <= 0: one per core */
    int progress;      /* 1: a progress bar on stderr */
    int shards;        /* <= 1: one index file; N > 1: N shard files out.shard-S-of-N and out as their
                          manifest (`sbir query` and mpirun search them; see SCALING.md). Not with append. */
} sbir_build_opts;
/* added (may be NULL) receives the number of images embedded. */
sbir_status sbir_index_build(sbir_model_ctx *m, const char *collection, const char *out, const sbir_build_opts *o,
                             int64_t *added);

/* ---- search ---- */

typedef struct {
    const float *sketch;         /* the sketch's content embedding (Dc floats) */
    const char *style_name;      /* a style of the model, or NULL */
    const float *style_examples; /* or n_examples style embeddings (n_examples x Ds), or NULL */
    int n_examples;
    const char *class_name;      /* only images of this class; NULL: all */
    int k;                       /* results wanted (>= 1) */
} sbir_query;

typedef struct {
    int64_t row;            /* position in the index */
    int64_t id;             /* the image's id in its collection */
    float score;            /* higher is better (see RANKING) */
    float content_dist;     /* dc */
    float style_dist;       /* ds (0 without a style) */
    const char *class_name; /* "" when unknown; strings live as long as the index is open */
    const char *style;
    const char *path;       /* absolute path of the image when indexed, "" if none */
} sbir_result;

/* Writes min(k, eligible images) results, best first, to results (room for q->k) and their number to
 * *n. SBIR_E_MISMATCH when the index was built with another model. Thread-safe. */
sbir_status sbir_search(const sbir_index_ctx *ix, const sbir_model_ctx *m, const sbir_query *q, sbir_result *results,
                        int *n);

#ifdef __cplusplus
}
#endif

#endif
