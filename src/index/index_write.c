/* index_write.c — writes index files (format in index_file.h / index_format.h), new or appended.
 *
 * Everything streams through one atomic file in section order; the CRC-32 accumulates on the way.
 * Each embedding space is "old rows" (copied raw from an open index: no re-embedding, no
 * re-quantisation) followed by "new rows" (float32, quantised here). */
#include <math.h>
#include <string.h>

#include "index/index_file.h"
#include "index/index_format.h"
#include "util/atomic_file.h"
#include "util/common.h"

/* One embedding space's stored rows: old then new, as two matrix views in the file's element type. */
typedef struct {
    sbir_matrix old, add; /* add.data is the float input itself for f32, else a quantised copy */
    void *owned;          /* the quantised copy, if any */
    float *owned_scale;
    int8_t *codes;        /* prefilter over old + new rows */
    float *pscale, *perr, max_norm;
} space;

typedef struct {
    const char *path;
    sbir_afile *f;
    uint64_t pos;
} writer;

static int put(writer *w, const void *p, uint64_t n) {
    if (n == 0) return SBIR_OK;
    if (afile_write(w->f, p, (size_t)n) != SBIR_OK) return SBIR_ERR;
    w->pos += n;
    return SBIR_OK;
}

static int pad_to(writer *w, uint64_t off) {
    static const unsigned char zero[IDX_ALIGN];
    return put(w, zero, off - w->pos);
}

static void space_free(space *s) {
    free(s->owned);
    free(s->owned_scale);
    free(s->codes);
    free(s->pscale);
    free(s->perr);
}

/* Builds the views and, when asked, the prefilter of one space. */
static void space_init(space *s, const sbir_index *old, int is_style, const float *x, int64_t n_add, int dim,
                       sbir_elem elem, int prefilter) {
    memset(s, 0, sizeof *s);
    size_t es = sbir_elem_size(elem);
    if (old) s->old = is_style ? index_style(old) : index_content(old);
    else s->old = (sbir_matrix){.elem = elem, .dim = dim, .row_bytes = (size_t)dim * es};
    s->old.pre = NULL;
    s->add = (sbir_matrix){.elem = elem, .n = n_add, .dim = dim, .row_bytes = (size_t)dim * es, .data = x};
    if (elem != SBIR_ELEM_F32 && n_add > 0 && dim > 0) {
        s->owned = mallocCheck((size_t)n_add * dim * es);
        if (elem == SBIR_ELEM_I8) s->owned_scale = mallocCheck((size_t)n_add * sizeof(float));
        sbir_quantize_rows(elem, x, n_add, dim, s->owned, s->owned_scale);
        s->add.data = s->owned;
        s->add.scale = s->owned_scale;
    }
    if (!prefilter || dim == 0) return;
    int64_t n = s->old.n + n_add;
    s->codes = mallocCheck((size_t)n * dim);
    s->pscale = mallocCheck((size_t)n * sizeof(float));
    s->perr = mallocCheck((size_t)n * sizeof(float));
    float m1 = 0, m2 = 0;
    if (s->old.n > 0) sbir_prefilter_compute(&s->old, s->codes, s->pscale, s->perr, &m1);
    if (n_add > 0)
        sbir_prefilter_compute(&s->add, s->codes + (size_t)s->old.n * dim, s->pscale + s->old.n, s->perr + s->old.n,
                               &m2);
    s->max_norm = m1 > m2 ? m1 : m2;
}

static int put_rows(writer *w, const sbir_matrix *m) {
    size_t packed = (size_t)m->dim * sbir_elem_size(m->elem);
    if (m->n == 0 || packed == 0) return SBIR_OK;
    if (m->row_bytes == packed) return put(w, m->data, (uint64_t)m->n * packed);
    for (int64_t r = 0; r < m->n; r++)
        if (put(w, (const unsigned char *)m->data + (size_t)r * m->row_bytes, packed) != SBIR_OK) return SBIR_ERR;
    return SBIR_OK;
}

static void strings_add(unsigned char **buf, size_t *len, const char *s) {
    uint32_t n = (uint32_t)strlen(s);
    *buf = reallocCheck(*buf, *len + 4 + n);
    idx_put_u32(*buf + *len, n);
    memcpy(*buf + *len + 4, s, n);
    *len += 4 + n;
}

static int check_name(const char *path, const char *what, int i, const char *s, int allow_empty) {
    size_t n = s ? strlen(s) : 0;
    if (!s || (!allow_empty && n == 0)) return sbir_error("%s: %s %d is empty", path, what, i);
    if (n > IDX_MAX_NAME) return sbir_error("%s: %s %d is longer than %d bytes", path, what, i, IDX_MAX_NAME);
    if (!idx_utf8_ok((const unsigned char *)s, n)) return sbir_error("%s: %s %d is not valid UTF-8", path, what, i);
    return SBIR_OK;
}

static int check_input(const char *path, const sbir_index_meta *meta, const sbir_index_rows *rows, int want_paths) {
    if (sbir_elem_size(meta->elem) == 0) return sbir_error("%s: unknown element type %d", path, (int)meta->elem);
    if (rows->n < 0 || (uint64_t)rows->n > IDX_MAX_COUNT) return sbir_error("%s: bad row count %lld", path, (long long)rows->n);
    if (rows->dim_content < 1 || rows->dim_content > IDX_MAX_DIM || rows->dim_style < 0 || rows->dim_style > IDX_MAX_DIM)
        return sbir_error("%s: dimensions %d/%d outside 1..%d / 0..%d", path, rows->dim_content, rows->dim_style,
                          IDX_MAX_DIM, IDX_MAX_DIM);
    if (rows->n > 0 && (!rows->content || !rows->items || (rows->dim_style > 0 && !rows->style)))
        return sbir_error("%s: missing embeddings or items", path);
    if (meta->n_classes < 0 || meta->n_classes > IDX_MAX_LABELS || meta->n_styles < 0 || meta->n_styles > IDX_MAX_LABELS)
        return sbir_error("%s: label counts %d/%d outside 0..%d", path, meta->n_classes, meta->n_styles, IDX_MAX_LABELS);
    if (check_name(path, "fingerprint", 0, meta->fingerprint ? meta->fingerprint : "", 1) != SBIR_OK) return SBIR_ERR;
    for (int i = 0; i < meta->n_classes; i++)
        if (check_name(path, "class name", i, meta->class_names[i], 0) != SBIR_OK) return SBIR_ERR;
    for (int i = 0; i < meta->n_styles; i++)
        if (check_name(path, "style name", i, meta->style_names[i], 0) != SBIR_OK) return SBIR_ERR;
    if (want_paths >= 0 && (rows->paths != NULL) != want_paths)
        return sbir_error("%s: the old index %s paths, the new rows %s", path, want_paths ? "has" : "has no",
                          rows->paths ? "have" : "have none");
    for (int64_t i = 0; i < rows->n; i++) {
        const sbir_index_item *it = &rows->items[i];
        if (it->class_id < -1 || it->class_id >= meta->n_classes)
            return sbir_error("%s: row %lld: class id %d outside -1..%d", path, (long long)i, it->class_id, meta->n_classes - 1);
        if (it->style_id < -1 || it->style_id >= meta->n_styles)
            return sbir_error("%s: row %lld: style id %d outside -1..%d", path, (long long)i, it->style_id, meta->n_styles - 1);
        if (rows->paths && check_name(path, "path of row", (int)i, rows->paths[i], 1) != SBIR_OK) return SBIR_ERR;
    }
    size_t nc = (size_t)rows->n * rows->dim_content, ns = (size_t)rows->n * rows->dim_style;
    for (size_t i = 0; i < nc; i++)
        if (!isfinite(rows->content[i])) return sbir_error("%s: row %zu: non-finite content embedding", path, i / rows->dim_content);
    for (size_t i = 0; i < ns; i++)
        if (!isfinite(rows->style[i])) return sbir_error("%s: row %zu: non-finite style embedding", path, i / rows->dim_style);
    return SBIR_OK;
}

static int write_file(const char *path, const sbir_index *old, const sbir_index_meta *meta, const sbir_index_rows *add) {
    int64_t n_old = old ? index_count(old) : 0, n = n_old + add->n;
    int dc = add->dim_content, ds = add->dim_style;
    sbir_elem elem = meta->elem;
    int pre = meta->prefilter && elem != SBIR_ELEM_I8;
    int with_paths = old ? index_has_paths(old) : add->paths != NULL;
    uint32_t flags = (pre ? IDX_FLAG_PREFILTER : 0) | (with_paths ? IDX_FLAG_PATHS : 0);

    uint64_t len[SEC_COUNT], off[SEC_COUNT];
    if ((uint64_t)n > IDX_MAX_COUNT || idx_expected_lengths((uint64_t)n, (uint32_t)dc, (uint32_t)ds, elem, flags, len) != 0)
        return sbir_error("%s: %lld rows of %d+%d dimensions are too many", path, (long long)n, dc, ds);

    unsigned char *strings = NULL;
    size_t slen = 0;
    strings_add(&strings, &slen, meta->fingerprint ? meta->fingerprint : "");
    for (int i = 0; i < meta->n_classes; i++) strings_add(&strings, &slen, meta->class_names[i]);
    for (int i = 0; i < meta->n_styles; i++) strings_add(&strings, &slen, meta->style_names[i]);
    len[SEC_STRINGS] = slen;
    uint64_t *poffs = NULL, blob = 0;
    if (with_paths) {
        poffs = mallocCheck(((size_t)n + 1) * sizeof(uint64_t));
        poffs[0] = 0;
        for (int64_t i = 0; i < n; i++) {
            const char *p = i < n_old ? index_path(old, i) : add->paths[i - n_old];
            poffs[i + 1] = poffs[i] + strlen(p) + 1;
        }
        blob = poffs[n];
        len[SEC_PATH_BLOB] = blob;
    }
    uint64_t pos = IDX_HEADER;
    for (int s = 0; s < SEC_COUNT; s++) {
        off[s] = len[s] ? idx_align(pos) : 0;
        if (len[s]) pos = off[s] + len[s];
    }
    uint64_t file_size = pos + IDX_TRAILER;

    space sp[2];
    space_init(&sp[0], old, 0, add->content, add->n, dc, elem, pre);
    space_init(&sp[1], old, 1, add->style, add->n, ds, elem, pre);

    unsigned char h[IDX_HEADER] = {0};
    memcpy(h, IDX_MAGIC, 8);
    idx_put_u32(h + H_VERSION, IDX_VERSION);
    idx_put_u32(h + H_HSIZE, IDX_HEADER);
    idx_put_u64(h + H_COUNT, (uint64_t)n);
    idx_put_u32(h + H_DC, (uint32_t)dc);
    idx_put_u32(h + H_DS, (uint32_t)ds);
    idx_put_u32(h + H_ELEM, (uint32_t)elem);
    idx_put_u32(h + H_FLAGS, flags);
    idx_put_u32(h + H_NCLS, (uint32_t)meta->n_classes);
    idx_put_u32(h + H_NSTY, (uint32_t)meta->n_styles);
    memcpy(h + H_PRE_C_NORM, &sp[0].max_norm, 4);
    memcpy(h + H_PRE_S_NORM, &sp[1].max_norm, 4);
    idx_put_u64(h + H_FSIZE, file_size);
    for (int s = 0; s < SEC_COUNT; s++) {
        idx_put_u64(h + H_SECTIONS + 16 * s, off[s]);
        idx_put_u64(h + H_SECTIONS + 16 * s + 8, len[s]);
    }
    idx_put_u32(h + H_CRC, sbir_crc32(0, h, H_CRC));

    int rc = SBIR_ERR;
    writer w = {path, afile_open(path), 0};
    if (!w.f) goto done;
#define SECTION(s, body)                                                      \
    do {                                                                      \
        if (len[s]) {                                                         \
            if (pad_to(&w, off[s]) != SBIR_OK) goto fail;                     \
            body;                                                             \
            if (w.pos != off[s] + len[s]) {                                   \
                sbir_error("%s: internal error: section %d size", path, (s)); \
                goto fail;                                                    \
            }                                                                 \
        }                                                                     \
    } while (0)
#define TRY(x) \
    if ((x) != SBIR_OK) goto fail
    TRY(put(&w, h, IDX_HEADER));
    SECTION(SEC_STRINGS, TRY(put(&w, strings, slen)));
    SECTION(SEC_ITEMS, {
        if (n_old) TRY(put(&w, index_items(old), (uint64_t)n_old * sizeof(sbir_index_item)));
        TRY(put(&w, add->items, (uint64_t)add->n * sizeof(sbir_index_item)));
    });
    for (int i = 0; i < 2; i++) {
        SECTION(SEC_CONTENT + i, TRY(put_rows(&w, &sp[i].old)); TRY(put_rows(&w, &sp[i].add)));
    }
    for (int i = 0; i < 2; i++) {
        SECTION(SEC_CONTENT_SCALE + i, {
            TRY(put(&w, sp[i].old.scale, (uint64_t)sp[i].old.n * 4));
            TRY(put(&w, sp[i].add.scale, (uint64_t)sp[i].add.n * 4));
        });
    }
    for (int i = 0; i < 2; i++) {
        int b = i == 0 ? SEC_PRE_C_CODES : SEC_PRE_S_CODES;
        SECTION(b, TRY(put(&w, sp[i].codes, (uint64_t)n * (i == 0 ? dc : ds))));
        SECTION(b + 1, TRY(put(&w, sp[i].pscale, (uint64_t)n * 4)));
        SECTION(b + 2, TRY(put(&w, sp[i].perr, (uint64_t)n * 4)));
    }
    SECTION(SEC_PATH_OFFS, TRY(put(&w, poffs, ((uint64_t)n + 1) * 8)));
    SECTION(SEC_PATH_BLOB, {
        for (int64_t i = 0; i < n; i++) {
            const char *p = i < n_old ? index_path(old, i) : add->paths[i - n_old];
            TRY(put(&w, p, strlen(p) + 1));
        }
    });
#undef SECTION
#undef TRY
    {
        unsigned char t[IDX_TRAILER] = {0};
        memcpy(t, IDX_END, 8);
        idx_put_u32(t + 8, afile_crc(w.f));
        if (put(&w, t, IDX_TRAILER) != SBIR_OK) goto fail;
    }
    rc = afile_commit(w.f);
    goto done;
fail:
    afile_abort(w.f);
done:
    free(strings);
    free(poffs);
    space_free(&sp[0]);
    space_free(&sp[1]);
    return rc;
}

int index_write(const char *path, const sbir_index_meta *meta, const sbir_index_rows *rows) {
    if (!meta || !rows) return sbir_error("%s: nothing to write", path);
    if (check_input(path, meta, rows, -1) != SBIR_OK) return SBIR_ERR;
    return write_file(path, NULL, meta, rows);
}

int index_append(const char *path, const sbir_index *old, const sbir_index_meta *meta, const sbir_index_rows *add) {
    if (!old || !add) return sbir_error("%s: nothing to append", path);
    const char *oldp = index_file_path(old);
    if (add->dim_content != index_dim_content(old) || add->dim_style != index_dim_style(old))
        return sbir_error("%s: new rows have dimensions %d/%d but %s has %d/%d", path, add->dim_content, add->dim_style,
                          oldp, index_dim_content(old), index_dim_style(old));
    int nc = index_n_classes(old), ns = index_n_styles(old);
    const char **cls = mallocCheck(((size_t)nc + 1) * sizeof(char *));
    const char **sty = mallocCheck(((size_t)ns + 1) * sizeof(char *));
    for (int i = 0; i < nc; i++) cls[i] = index_class_name(old, i);
    for (int i = 0; i < ns; i++) sty[i] = index_style_name(old, i);
    sbir_index_meta m = {index_elem(old), index_has_prefilter(old), index_fingerprint(old), nc, cls, ns, sty};
    int rc = SBIR_ERR;
    if (meta) {
        if (strcmp(meta->fingerprint ? meta->fingerprint : "", m.fingerprint) != 0) {
            sbir_error("%s: the new rows come from model %s but %s was made by model %s; re-index instead", path,
                       meta->fingerprint ? meta->fingerprint : "\"\"", oldp, m.fingerprint);
            goto out;
        }
        if (meta->n_classes < nc || meta->n_styles < ns) {
            sbir_error("%s: the label tables must extend those of %s (%d classes, %d styles)", path, oldp, nc, ns);
            goto out;
        }
        for (int i = 0; i < nc; i++)
            if (strcmp(meta->class_names[i], cls[i]) != 0) {
                sbir_error("%s: class %d is '%s' here but '%s' in %s", path, i, meta->class_names[i], cls[i], oldp);
                goto out;
            }
        for (int i = 0; i < ns; i++)
            if (strcmp(meta->style_names[i], sty[i]) != 0) {
                sbir_error("%s: style %d is '%s' here but '%s' in %s", path, i, meta->style_names[i], sty[i], oldp);
                goto out;
            }
        m.n_classes = meta->n_classes, m.class_names = meta->class_names;
        m.n_styles = meta->n_styles, m.style_names = meta->style_names;
    }
    if (check_input(path, &m, add, index_has_paths(old)) == SBIR_OK) rc = write_file(path, old, &m, add);
out:
    free(cls);
    free(sty);
    return rc;
}
