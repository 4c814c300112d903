/* index_build.c — sbir_index_build (`sbir index`): a collection's images decoded, embedded and written
 * as an index (index_file.h).
 *
 * The pipeline: decoding and embedding overlap. `jobs` decoder threads take images in order, decode and
 * fit them (image_load_square, thread-safe) and write the network input straight into a ring of batch
 * slots; the calling thread takes slot after slot as it fills and runs both networks on it (oneDNN,
 * parallel with OpenMP inside). A decoder that runs ahead by the whole ring waits for the embedder to
 * free a slot, so memory stays at ring x batch inputs whatever the collection's size. An image that
 * fails to decode is left out, counted, and its first error reported; the rest goes on.
 *
 * Labels: the index's class and style tables start with the model's own (so an index style id is the
 * model's prototype id), or with the old index's when appending, followed by the collection's names
 * they lack. Paths are stored absolute, so results (and contact sheets) open without the collection.
 * Appending identifies images by that absolute path. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "api/api_internal.h"
#include "api/index_sidecar.h"
#include "data/collection.h"
#include "data/image.h"
#include "index/shards.h"
#include "model/dataset.h"
#include "model/train.h"
#include "util/common.h"
#include "util/progress.h"

#define RING 4

typedef struct {
    int S, B;
    size_t in_floats; /* 3 S S */
    char **paths;     /* absolute, one per image to embed */
    int64_t n, n_batches;
    float *x;    /* RING slots of B inputs */
    uint8_t *ok; /* n: decoded */
    int filled[RING];
    int64_t next, consumed;
    int stop;
    int64_t failed;
    char first_err[512];
    pthread_mutex_t mu;
    pthread_cond_t ready, freed;
} pipeline;

static int batch_size(const pipeline *p, int64_t b) { return (int)SBIR_MIN((int64_t)p->B, p->n - b * p->B); }

static void *decoder(void *arg) {
    pipeline *p = arg;
    for (;;) {
        pthread_mutex_lock(&p->mu);
        int64_t i = p->next++;
        int64_t b = i / p->B;
        while (!p->stop && i < p->n && b >= p->consumed + RING) pthread_cond_wait(&p->freed, &p->mu);
        int quit = p->stop || i >= p->n;
        pthread_mutex_unlock(&p->mu);
        if (quit) return NULL;
        float *x = p->x + ((size_t)(b % RING) * p->B + (size_t)(i % p->B)) * p->in_floats;
        sbir_image im;
        int ok = image_load_square(p->paths[i], p->S, IMAGE_FIT_PAD, &im) == SBIR_OK;
        if (ok) {
            input_from_rgb(im.rgb, p->S, x);
            image_free(&im);
        } else {
            memset(x, 0, sizeof(float) * p->in_floats); /* embedded with the batch, then dropped */
        }
        pthread_mutex_lock(&p->mu);
        p->ok[i] = (uint8_t)ok;
        if (!ok && p->failed++ == 0) snprintf(p->first_err, sizeof p->first_err, "%s", sbir_last_error());
        if (++p->filled[b % RING] == batch_size(p, b)) pthread_cond_broadcast(&p->ready);
        pthread_mutex_unlock(&p->mu);
    }
}

/* Embeds p->n images into content / style (n x Dc, n x Ds). */
int api_note_gallery_mirror(const sbir_model *m, int64_t n, FILE *out) {
    if (!m->gallery_mirror || n <= TRAIN_GALLERY_MIRROR_MAX_IMAGES) return 0;
    fprintf(out,
            "index: %lld images, and this model embeds each with its mirror image as well (gallery_mirror, the "
            "training default for collections of up to %d images): about 0.6x the images per second of one view; "
            "`sbir train --resume --no-gallery-mirror` with the model's collection and --out switches it to one "
            "view in seconds\n",
            (long long)n, TRAIN_GALLERY_MIRROR_MAX_IMAGES);
    return 1;
}

static sbir_status run_pipeline(sbir_model_ctx *mc, pipeline *p, int jobs, int progress, float *content, float *style) {
    sbir_model *m = mc->m;
    p->x = mallocCheck(sizeof(float) * (size_t)RING * p->B * p->in_floats);
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->ready, NULL);
    pthread_cond_init(&p->freed, NULL);
    pthread_t *th = mallocCheck(sizeof(pthread_t) * (size_t)jobs);
    int started = 0;
    for (; started < jobs; started++)
        if (pthread_create(&th[started], NULL, decoder, p) != 0) break;
    sbir_status st = started ? SBIR_E_OK : api_fail(SBIR_E_INTERNAL, "index: could not start a decoding thread");
    if (progress) api_note_gallery_mirror(m, p->n, stderr);
    sbir_progress pr;
    if (progress) progress_start(&pr, "index", (uint64_t)p->n);
    for (int64_t b = 0; b < p->n_batches && st == SBIR_E_OK; b++) {
        int nb = batch_size(p, b);
        pthread_mutex_lock(&p->mu);
        while (p->filled[b % RING] < nb) pthread_cond_wait(&p->ready, &p->mu);
        pthread_mutex_unlock(&p->mu);
        size_t r0 = (size_t)b * p->B;
        st = api_embed_inputs(mc, p->x + (size_t)(b % RING) * p->B * p->in_floats, nb, content + r0 * m->Dc,
                              style + r0 * m->Ds);
        pthread_mutex_lock(&p->mu);
        p->filled[b % RING] = 0;
        p->consumed = b + 1;
        pthread_cond_broadcast(&p->freed);
        pthread_mutex_unlock(&p->mu);
        if (progress) progress_update(&pr, (uint64_t)(r0 + nb), "%lld failed", (long long)p->failed);
    }
    pthread_mutex_lock(&p->mu);
    p->stop = 1; /* on an early failure: wake the decoders waiting for a slot */
    pthread_cond_broadcast(&p->freed);
    pthread_mutex_unlock(&p->mu);
    for (int t = 0; t < started; t++) pthread_join(th[t], NULL);
    if (progress) progress_end(&pr);
    free(th);
    free(p->x);
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->ready);
    pthread_cond_destroy(&p->freed);
    return st;
}

/* ---- label tables ---- */

typedef struct {
    char **names;
    int n;
} names;

static int names_find(const names *t, const char *s) {
    for (int i = 0; i < t->n; i++)
        if (strcmp(t->names[i], s) == 0) return i;
    return -1;
}

static void names_add(names *t, const char *s) {
    if (!s || !*s || names_find(t, s) >= 0) return;
    t->names = reallocCheck(t->names, sizeof(char *) * (size_t)(t->n + 1));
    t->names[t->n++] = strdupCheck(s);
}

static void names_free(names *t) {
    for (int i = 0; i < t->n; i++) free(t->names[i]);
    free(t->names);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* ---- the build ---- */

typedef struct {
    sbir_collection *coll;
    coll_image *im;
    size_t n_im;
    sbir_index *old;
    names classes, styles;
    pipeline p;
    int64_t *src; /* p.paths[i] is image src[i] of im */
    float *content, *style;
} build;

static void build_free(build *b) {
    for (int64_t i = 0; i < b->p.n; i++) free(b->p.paths[i]);
    free(b->p.paths);
    free(b->p.ok);
    free(b->src);
    free(b->content), free(b->style);
    names_free(&b->classes), names_free(&b->styles);
    if (b->im) coll_images_free(b->im, b->n_im);
    if (b->coll) collection_close(b->coll);
    if (b->old) index_close(b->old);
}

/* The images to embed: all of the split, or with append those whose path the old index lacks. */
static void select_images(build *b) {
    const char **have = NULL;
    int64_t n_have = 0;
    if (b->old) {
        n_have = index_count(b->old);
        have = mallocCheck(sizeof(char *) * (size_t)(n_have ? n_have : 1));
        for (int64_t i = 0; i < n_have; i++) have[i] = index_path(b->old, i);
        qsort(have, (size_t)n_have, sizeof *have, cmp_str);
    }
    b->p.paths = mallocCheck(sizeof(char *) * (b->n_im ? b->n_im : 1));
    b->src = mallocCheck(sizeof(int64_t) * (b->n_im ? b->n_im : 1));
    for (size_t i = 0; i < b->n_im; i++) {
        char *abs = collection_abs_path(b->coll, b->im[i].path);
        if (have && bsearch(&abs, have, (size_t)n_have, sizeof *have, cmp_str)) {
            free(abs);
            continue;
        }
        b->src[b->p.n] = (int64_t)i;
        b->p.paths[b->p.n++] = abs;
    }
    free(have);
}

static sbir_status prepare(build *b, sbir_model_ctx *mc, const char *collection, const char *out, const sbir_build_opts *o) {
    sbir_model *m = mc->m;
    const char *split = o->split && strcmp(o->split, "all") != 0 ? o->split : NULL;
    if (split && sbir_split_parse(split) < 0)
        return api_fail(SBIR_E_ARG, "index: split is all, train, val or test, not '%s'", split);
    if (o->append) {
        if (o->shards > 1 || shard_manifest_is(out))
            return api_fail(SBIR_E_ARG, "%s: --append works on a single-file index, not a sharded one: rebuild it with "
                            "--shards (indexing is one pass over the collection)", out);
        b->old = index_open(out, 0);
        if (!b->old) return api_file_status(out);
        if (strcmp(index_fingerprint(b->old), m->fingerprint) != 0)
            return api_fail(SBIR_E_MISMATCH, "%s was built with model %s, not with this model (%s): cannot append", out,
                            index_fingerprint(b->old), m->fingerprint);
        if (!index_has_paths(b->old)) return api_fail(SBIR_E_FORMAT, "%s has no image paths: cannot append to it", out);
        for (int i = 0; i < index_n_classes(b->old); i++) names_add(&b->classes, index_class_name(b->old, i));
        for (int i = 0; i < index_n_styles(b->old); i++) names_add(&b->styles, index_style_name(b->old, i));
    } else {
        for (int i = 0; i < m->C; i++) names_add(&b->classes, m->classes[i]);
        for (int i = 0; i < m->NS; i++) names_add(&b->styles, m->styles[i]);
    }
    b->coll = collection_open(collection);
    if (!b->coll) return api_file_status(collection);
    coll_filter f = {.split = split};
    if (collection_list_images(b->coll, &f, &b->im, &b->n_im) != SBIR_OK) return SBIR_E_FORMAT;
    char **extra;
    size_t n_extra;
    if (collection_classes(b->coll, "images", &extra, &n_extra) != SBIR_OK) return SBIR_E_FORMAT;
    for (size_t i = 0; i < n_extra; i++) names_add(&b->classes, extra[i]);
    coll_strings_free(extra, n_extra);
    if (collection_styles(b->coll, &extra, &n_extra) != SBIR_OK) return SBIR_E_FORMAT;
    for (size_t i = 0; i < n_extra; i++) names_add(&b->styles, extra[i]);
    coll_strings_free(extra, n_extra);
    select_images(b);
    return SBIR_E_OK;
}

static sbir_status write_index(build *b, sbir_model *m, const char *out, sbir_elem elem, int shards) {
    int64_t n = 0; /* compact to the images that decoded */
    sbir_index_item *items = mallocCheck(sizeof *items * (size_t)(b->p.n ? b->p.n : 1));
    const char **paths = mallocCheck(sizeof(char *) * (size_t)(b->p.n ? b->p.n : 1));
    for (int64_t i = 0; i < b->p.n; i++) {
        if (!b->p.ok[i]) continue;
        const coll_image *im = &b->im[b->src[i]];
        items[n] = (sbir_index_item){im->id, im->class_name ? names_find(&b->classes, im->class_name) : -1,
                                     im->style ? names_find(&b->styles, im->style) : -1};
        paths[n] = b->p.paths[i];
        if (n != i) {
            memcpy(b->content + n * m->Dc, b->content + i * m->Dc, sizeof(float) * m->Dc);
            memcpy(b->style + n * m->Ds, b->style + i * m->Ds, sizeof(float) * m->Ds);
        }
        n++;
    }
    sbir_index_meta meta = {elem, elem != SBIR_ELEM_I8, m->fingerprint, b->classes.n, (const char *const *)b->classes.names,
                            b->styles.n, (const char *const *)b->styles.names};
    sbir_index_rows rows = {n, m->Dc, m->Ds, b->content, b->style, items, paths};
    /* a single file replacing a sharded index leaves its shard files unreferenced: remove them after */
    shard_manifest was = {0};
    int was_sharded = shards <= 1 && shard_manifest_is(out) && shard_manifest_read(out, &was) == SBIR_OK;
    sbir_clear_error();
    int rc = b->old ? index_append(out, b->old, &meta, &rows)
             : shards > 1 ? index_write_sharded(out, shards, &meta, &rows)
                          : index_write(out, &meta, &rows);
    if (rc == SBIR_OK && was_sharded) shard_remove_files(&was, NULL);
    shard_manifest_free(&was);
    free(items);
    free(paths);
    return rc == SBIR_OK ? SBIR_E_OK : SBIR_E_IO;
}

sbir_status sbir_index_build(sbir_model_ctx *mc, const char *collection, const char *out, const sbir_build_opts *o,
                             int64_t *added) {
    if (added) *added = 0;
    if (!mc || !collection || !out) return api_fail(SBIR_E_ARG, "sbir_index_build: bad arguments");
    sbir_build_opts def = {0};
    if (!o) o = &def;
    int e = o->elem ? sbir_elem_parse(o->elem) : SBIR_ELEM_F32;
    if (e < 0) return api_fail(SBIR_E_ARG, "index: element type is f32, fp16 or int8, not '%s'", o->elem);
    if (o->shards < 0 || o->shards > SHARD_MAX)
        return api_fail(SBIR_E_ARG, "index: --shards is 1..%d, not %d", SHARD_MAX, o->shards);
    sbir_model *m = mc->m;
    build b = {0};
    sbir_status st = prepare(&b, mc, collection, out, o);
    if (st == SBIR_E_OK && o->shards > 1 && b.p.n < o->shards)
        st = api_fail(SBIR_E_ARG, "%s: %lld images cannot fill %d shards: use at most %lld", out, (long long)b.p.n,
                      o->shards, (long long)SBIR_MAX(b.p.n, 1));
    if (st == SBIR_E_OK && b.p.n == 0 && !b.old && b.n_im == 0)
        st = api_fail(SBIR_E_ARG, "%s has no images%s%s", collection, o->split ? " in split " : "", o->split ? o->split : "");
    if (st == SBIR_E_OK && b.p.n > 0) {
        b.p.S = m->S, b.p.B = API_MAX_BATCH, b.p.in_floats = (size_t)3 * m->S * m->S;
        b.p.n_batches = (b.p.n + b.p.B - 1) / b.p.B;
        b.p.ok = callocCheck((size_t)b.p.n, 1);
        b.content = mallocCheck(sizeof(float) * (size_t)b.p.n * m->Dc);
        b.style = mallocCheck(sizeof(float) * (size_t)b.p.n * (m->Ds ? m->Ds : 1));
        int jobs = o->jobs > 0 ? o->jobs : (int)sysconf(_SC_NPROCESSORS_ONLN);
        if (jobs < 1) jobs = 1;
        if (jobs > 64) jobs = 64;
        st = run_pipeline(mc, &b.p, jobs, o->progress, b.content, b.style);
        if (st == SBIR_E_OK && b.p.failed == b.p.n)
            st = api_fail(SBIR_E_FORMAT, "no image of %s could be decoded (first: %s)", collection, b.p.first_err);
        if (st == SBIR_E_OK) st = write_index(&b, m, out, (sbir_elem)e, o->shards);
        if (st == SBIR_E_OK && b.p.failed)
            fprintf(stderr, "sbir: warning: %lld of %lld images could not be decoded and were left out (first: %s)\n",
                    (long long)b.p.failed, (long long)b.p.n, b.p.first_err);
        if (added && st == SBIR_E_OK) *added = b.p.n - b.p.failed;
    }
    if (st == SBIR_E_OK && (b.p.n > 0 || !b.old) && sidecar_write(out, mc->path, collection, o->split, m->fingerprint) != SBIR_OK)
        st = SBIR_E_IO;
    build_free(&b);
    return st;
}
