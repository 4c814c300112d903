/* test_index.c — index files: round trips for every element type, append, and hostile files (every
 * error names the file; nothing crashes). */
#include <math.h>
#include <string.h>
#include <sys/stat.h>

#include "index/index_file.h"
#include "index/search.h"
#include "test.h"
#include "util/atomic_file.h"
#include "util/common.h"
#include "util/rng.h"

static const char *k_classes[] = {"cat", "dog", "chair", "tree", "car"};
static const char *k_styles[] = {"watercolor", "oil", "pen", "vector", "photo", "3d", "comic"};

typedef struct {
    int64_t n;
    int dc, ds;
    float *content, *style;
    sbir_index_item *items;
    char **paths;
} dataset;

static void normalize(float *x, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)x[j] * x[j];
    float inv = (float)(1 / sqrt(s > 0 ? s : 1));
    for (int j = 0; j < d; j++) x[j] *= inv;
}

static dataset make_data(int64_t n, int dc, int ds, uint64_t seed, int64_t id0) {
    dataset d = {n, dc, ds, mallocCheck((size_t)n * dc * 4), mallocCheck((size_t)n * (ds ? ds : 1) * 4),
                 mallocCheck((size_t)n * sizeof(sbir_index_item)), mallocCheck((size_t)n * sizeof(char *))};
    sbir_rng r;
    rng_seed(&r, seed);
    for (int64_t i = 0; i < n; i++) {
        for (int j = 0; j < dc; j++) d.content[i * dc + j] = rng_normal(&r);
        normalize(d.content + i * dc, dc);
        for (int j = 0; j < ds; j++) d.style[i * ds + j] = rng_normal(&r);
        if (ds) normalize(d.style + i * ds, ds);
        d.items[i] = (sbir_index_item){id0 + i * 7, (int32_t)(i % 6) - 1, (int32_t)(i % 8) - 1};
        char buf[64];
        snprintf(buf, sizeof buf, "gallery/%s/img_%lld_é.jpg", k_classes[i % 5], (long long)(id0 + i));
        d.paths[i] = strdupCheck(buf);
    }
    return d;
}

static void free_data(dataset *d) {
    for (int64_t i = 0; i < d->n; i++) free(d->paths[i]);
    free(d->paths);
    free(d->content);
    free(d->style);
    free(d->items);
}

static sbir_index_rows rows_of(const dataset *d, int with_paths) {
    return (sbir_index_rows){d->n, d->dc, d->ds, d->content, d->style, d->items,
                             with_paths ? (const char *const *)d->paths : NULL};
}

static sbir_index_meta meta_of(sbir_elem e) {
    return (sbir_index_meta){e, 1, "deadbeef01", 5, k_classes, 7, k_styles};
}

static char *tpath(const char *name) {
    static char buf[8][4096];
    static int i;
    char *b = buf[i++ % 8];
    snprintf(b, sizeof buf[0], "%s/%s", test_tmpdir(), name);
    return b;
}

/* The stored matrix row r equals what the writer should have stored for float row x. */
static int same_hits(const sbir_hit *a, const sbir_hit *b, int n) { /* field by field: hits have padding */
    for (int i = 0; i < n; i++)
        if (a[i].row != b[i].row || a[i].score != b[i].score) return 0;
    return 1;
}

static int row_matches(const sbir_matrix *m, int64_t r, const float *x) {
    const unsigned char *p = (const unsigned char *)m->data + (size_t)r * m->row_bytes;
    if (m->elem == SBIR_ELEM_F32) return memcmp(p, x, (size_t)m->dim * 4) == 0;
    if (m->elem == SBIR_ELEM_F16) {
        for (int j = 0; j < m->dim; j++)
            if (((const uint16_t *)p)[j] != sbir_f32_to_f16(x[j])) return 0;
        return 1;
    }
    int8_t q[256];
    float s;
    sbir_quantize_rows(SBIR_ELEM_I8, x, 1, m->dim, q, &s);
    return memcmp(p, q, (size_t)m->dim) == 0 && s == m->scale[r];
}

static void check_contents(const sbir_index *ix, const dataset *d, int64_t at, int with_paths, const char *what) {
    sbir_matrix c = index_content(ix), s = index_style(ix);
    int ok_c = 1, ok_s = 1, ok_i = 1, ok_p = 1;
    for (int64_t i = 0; i < d->n; i++) {
        ok_c &= row_matches(&c, at + i, d->content + i * d->dc);
        if (d->ds) ok_s &= row_matches(&s, at + i, d->style + i * d->ds);
        const sbir_index_item *it = &index_items(ix)[at + i];
        ok_i &= it->id == d->items[i].id && it->class_id == d->items[i].class_id && it->style_id == d->items[i].style_id;
        if (with_paths) ok_p &= index_path(ix, at + i) && strcmp(index_path(ix, at + i), d->paths[i]) == 0;
    }
    CHECK(ok_c, "%s: content rows differ", what);
    CHECK(ok_s, "%s: style rows differ", what);
    CHECK(ok_i, "%s: items differ", what);
    CHECK(ok_p, "%s: paths differ", what);
}

static void test_round_trip(void) {
    for (int e = 0; e < 3; e++) {
        for (int wp = 0; wp < 2; wp++) {
            dataset d = make_data(300, 48, e == 1 ? 0 : 20, 11 + e, 1000);
            char *p = tpath("rt.idx");
            sbir_index_meta meta = meta_of((sbir_elem)e);
            sbir_index_rows rows = rows_of(&d, wp);
            CHECK(index_write(p, &meta, &rows) == SBIR_OK, "%s", sbir_last_error());
            sbir_index *ix = index_open(p, 0);
            CHECK(ix != NULL, "%s", sbir_last_error());
            if (!ix) {
                free_data(&d);
                continue;
            }
            CHECK(index_count(ix) == 300, "%s", sbir_last_error());
            CHECK(index_dim_content(ix) == 48 && index_dim_style(ix) == d.ds, "%s", sbir_last_error());
            CHECK(index_elem(ix) == (sbir_elem)e, "%s", sbir_last_error());
            CHECK(index_has_prefilter(ix) == (e != SBIR_ELEM_I8), "%s", sbir_last_error());
            CHECK(index_has_paths(ix) == wp, "%s", sbir_last_error());
            CHECK(strcmp(index_fingerprint(ix), "deadbeef01") == 0, "%s", sbir_last_error());
            CHECK(index_n_classes(ix) == 5 && index_n_styles(ix) == 7, "%s", sbir_last_error());
            CHECK(strcmp(index_class_name(ix, 2), "chair") == 0 && strcmp(index_style_name(ix, 6), "comic") == 0, "%s", sbir_last_error());
            CHECK(index_class_name(ix, 5) == NULL && index_style_name(ix, -1) == NULL, "%s", sbir_last_error());
            CHECK(index_class_id(ix, "tree") == 3 && index_style_id(ix, "pen") == 2 && index_style_id(ix, "x") == -1, "%s", sbir_last_error());
            CHECK(index_path(ix, 300) == NULL, "%s", sbir_last_error());
            sbir_matrix c = index_content(ix);
            CHECK(((uintptr_t)c.data & 63) == 0, "content rows are not 64-byte aligned");
            CHECK((c.pre != NULL) == (e != SBIR_ELEM_I8), "%s", sbir_last_error());
            if (c.pre) {
                CHECK(((uintptr_t)c.pre->codes.data & 63) == 0, "%s", sbir_last_error());
                CHECK(c.pre->max_norm >= 1.0f && c.pre->max_norm < 1.001f, "max_norm %g", (double)c.pre->max_norm);
            }
            check_contents(ix, &d, 0, wp, "round trip");
            /* searching the mapping (two-pass where there is a prefilter) equals a full scan */
            sbir_hit a[10], b2[10];
            sbir_search_opts full = {.no_prefilter = 1};
            int na = search_topk(&c, d.content + 7 * 48, 10, NULL, a);
            int nb = search_topk(&c, d.content + 7 * 48, 10, &full, b2);
            CHECK(na == 10 && nb == 10 && same_hits(a, b2, 10), "%s", "mapped search differs from full scan");
            CHECK(a[0].row == 7, "a row is not its own nearest neighbour (%lld)", (long long)a[0].row);
            index_close(ix);
            free_data(&d);
        }
    }
}

static void test_empty_index(void) {
    dataset d = make_data(0, 8, 4, 1, 0);
    char *p = tpath("empty.idx");
    sbir_index_meta meta = {SBIR_ELEM_F32, 1, "", 0, NULL, 0, NULL};
    sbir_index_rows rows = rows_of(&d, 1);
    CHECK(index_write(p, &meta, &rows) == SBIR_OK, "%s", sbir_last_error());
    sbir_index *ix = index_open(p, 0);
    CHECK(ix && index_count(ix) == 0, "%s", sbir_last_error());
    if (ix) {
        sbir_matrix m = index_content(ix);
        float q[8] = {1};
        sbir_hit h[3];
        CHECK(search_topk(&m, q, 3, NULL, h) == 0, "%s", sbir_last_error());
        index_close(ix);
    }
    free_data(&d);
}

static void test_append(void) {
    for (int e = 0; e < 3; e++) {
        dataset a = make_data(200, 32, 16, 21, 0), b = make_data(77, 32, 16, 22, 5000);
        char *pa = tpath("a.idx"), *pb = tpath("ab.idx");
        sbir_index_meta meta = meta_of((sbir_elem)e);
        sbir_index_rows ra = rows_of(&a, 1), rb = rows_of(&b, 1);
        CHECK(index_write(pa, &meta, &ra) == SBIR_OK, "%s", sbir_last_error());
        sbir_index *ia = index_open(pa, 0);
        CHECK(ia != NULL, "%s", sbir_last_error());
        if (!ia) continue;
        CHECK(index_append(pb, ia, NULL, &rb) == SBIR_OK, "%s", sbir_last_error());
        sbir_index *ib = index_open(pb, 0);
        CHECK(ib != NULL, "%s", sbir_last_error());
        if (ib) {
            CHECK(index_count(ib) == 277 && index_elem(ib) == (sbir_elem)e, "%s", sbir_last_error());
            check_contents(ib, &a, 0, 1, "append old part");
            check_contents(ib, &b, 200, 1, "append new part");
            /* old rows are copied raw */
            sbir_matrix ca = index_content(ia), cb = index_content(ib);
            CHECK(memcmp(ca.data, cb.data, 200 * ca.row_bytes) == 0, "%s", sbir_last_error());
            sbir_hit h1[5], h2[5];
            sbir_search_opts full = {.no_prefilter = 1};
            int n1 = search_topk(&cb, b.content + 3 * 32, 5, NULL, h1), n2 = search_topk(&cb, b.content + 3 * 32, 5, &full, h2);
            CHECK(n1 == 5 && n2 == 5 && same_hits(h1, h2, 5) && h1[0].row == 203, "%s", "search after append");
            index_close(ib);
        }
        /* a label table that extends the old one, and appending over the open file itself */
        const char *cls6[] = {"cat", "dog", "chair", "tree", "car", "boat"};
        sbir_index_meta ext = meta;
        ext.n_classes = 6, ext.class_names = cls6;
        b.items[3].class_id = 5;
        CHECK(index_append(pa, ia, &ext, &rb) == SBIR_OK, "%s", sbir_last_error());
        check_contents(ia, &a, 0, 1, "old mapping after rename over it"); /* still the old inode */
        sbir_index *ic = index_open(pa, 0);
        CHECK(ic && index_count(ic) == 277 && index_n_classes(ic) == 6, "%s", sbir_last_error());
        if (ic) {
            CHECK(strcmp(index_class_name(ic, 5), "boat") == 0, "%s", sbir_last_error());
            CHECK(index_items(ic)[203].class_id == 5, "%s", sbir_last_error());
            index_close(ic);
        }
        /* refusals */
        sbir_index_meta other = meta;
        other.fingerprint = "cafe";
        CHECK(index_append(pb, ia, &other, &rb) == SBIR_ERR, "%s", sbir_last_error());
        CHECK(strstr(sbir_last_error(), "model") && strstr(sbir_last_error(), pb), "%s", sbir_last_error());
        const char *bad_cls[] = {"dog", "cat", "chair", "tree", "car"};
        other = meta;
        other.class_names = bad_cls;
        CHECK(index_append(pb, ia, &other, &rb) == SBIR_ERR && strstr(sbir_last_error(), "class 0"), "%s", sbir_last_error());
        sbir_index_rows wrong = rb;
        wrong.dim_content = 31;
        CHECK(index_append(pb, ia, NULL, &wrong) == SBIR_ERR && strstr(sbir_last_error(), "dimensions"), "%s", sbir_last_error());
        wrong = rb;
        wrong.paths = NULL;
        CHECK(index_append(pb, ia, NULL, &wrong) == SBIR_ERR && strstr(sbir_last_error(), "paths"), "%s", sbir_last_error());
        index_close(ia);
        free_data(&a);
        free_data(&b);
    }
}

static void test_write_refuses_bad_input(void) {
    dataset d = make_data(10, 8, 4, 3, 0);
    char *p = tpath("bad.idx");
    sbir_index_meta meta = meta_of(SBIR_ELEM_F32);
    sbir_index_rows rows = rows_of(&d, 1);
    d.items[4].class_id = 5;
    CHECK(index_write(p, &meta, &rows) == SBIR_ERR && strstr(sbir_last_error(), "class id"), "%s", sbir_last_error());
    d.items[4].class_id = 0;
    d.content[9] = NAN;
    CHECK(index_write(p, &meta, &rows) == SBIR_ERR && strstr(sbir_last_error(), "non-finite"), "%s", sbir_last_error());
    d.content[9] = 0;
    const char *bad_names[] = {"cat", "d\xffog", "chair", "tree", "car"};
    meta.class_names = bad_names;
    CHECK(index_write(p, &meta, &rows) == SBIR_ERR && strstr(sbir_last_error(), "UTF-8"), "%s", sbir_last_error());
    meta = meta_of(SBIR_ELEM_F32);
    rows.dim_content = 0;
    CHECK(index_write(p, &meta, &rows) == SBIR_ERR, "%s", sbir_last_error());
    struct stat st;
    CHECK(stat(p, &st) != 0, "a refused write left a file");
    free_data(&d);
}

/* ---------------------------------------------------------------- hostile files */

static unsigned char *g_good;
static size_t g_good_len;

static void fix_crcs(unsigned char *b, size_t n) {
    uint32_t h = sbir_crc32(0, b, 508);
    memcpy(b + 508, &h, 4);
    if (n >= 16) {
        uint32_t t = sbir_crc32(0, b, n - 16);
        memcpy(b + n - 8, &t, 4);
    }
}

/* Writes a mutated copy and expects index_open to fail with a message naming the file (and
 * containing `want` when given). */
static void expect_bad(const unsigned char *b, size_t n, const char *want, const char *what) {
    char *p = tpath("hostile.idx");
    test_write_file(p, b, n);
    sbir_clear_error();
    sbir_index *ix = index_open(p, 0);
    CHECK(ix == NULL, "%s: opened a bad file", what);
    CHECK(strstr(sbir_last_error(), p) != NULL, "%s: error does not name the file: %s", what, sbir_last_error());
    if (want) CHECK(strstr(sbir_last_error(), want) != NULL, "%s: '%s' not in: %s", what, want, sbir_last_error());
    index_close(ix);
}

static unsigned char *copy_good(void) {
    unsigned char *b = mallocCheck(g_good_len);
    memcpy(b, g_good, g_good_len);
    return b;
}

static void put64(unsigned char *b, size_t off, uint64_t v) { memcpy(b + off, &v, 8); }
static void put32(unsigned char *b, size_t off, uint32_t v) { memcpy(b + off, &v, 4); }
static uint64_t get64(const unsigned char *b, size_t off) {
    uint64_t v;
    memcpy(&v, b + off, 8);
    return v;
}

static void test_hostile(void) {
    dataset d = make_data(50, 16, 8, 5, 0);
    char *p = tpath("good.idx");
    sbir_index_meta meta = meta_of(SBIR_ELEM_F32);
    sbir_index_rows rows = rows_of(&d, 1);
    CHECK(index_write(p, &meta, &rows) == SBIR_OK, "%s", sbir_last_error());
    CHECK(read_file_all(p, 1 << 24, &g_good, &g_good_len) == SBIR_OK, "%s", sbir_last_error());
    free_data(&d);
    size_t n = g_good_len;
    unsigned char *b;

    expect_bad(g_good, 0, "too short", "empty file");
    expect_bad(g_good, 100, "too short", "truncated header");
    expect_bad(g_good, 600, "header says", "truncated to 600");
    expect_bad(g_good, n / 2, "header says", "truncated to half");
    expect_bad(g_good, n - 1, "header says", "one byte short");

    b = copy_good();
    memcpy(b, "SBIRIDX0", 8);
    expect_bad(b, n, "magic", "wrong magic");
    memcpy(b, "PK\x03\x04", 4);
    expect_bad(b, n, "magic", "a zip file");
    free(b);

    b = copy_good();
    put32(b, 8, 2);
    fix_crcs(b, n);
    expect_bad(b, n, "version 2", "future version");
    free(b);

    b = copy_good();
    b[20] ^= 1; /* count, without fixing the header CRC */
    expect_bad(b, n, "header checksum", "flipped count bit");
    free(b);

    const struct {
        size_t off;
        uint64_t v;
        int width;
        const char *want, *what;
    } fields[] = {
        {16, (uint64_t)1 << 62, 8, "absurd", "absurd count"},
        {16, ((uint64_t)1 << 40) - 1, 8, "expected", "count beyond the data"},
        {16, 51, 8, "expected", "count one too many"},
        {24, 0, 4, "dimensions", "zero content dimension"},
        {24, 1u << 20, 4, "dimensions", "huge content dimension"},
        {28, 9, 4, "expected", "style dimension changed"},
        {32, 7, 4, "element type", "unknown element type"},
        {36, 0x80, 4, "flags", "unknown flag"},
        {40, 1u << 30, 4, "label counts", "absurd class count"},
        {40, 4, 4, "strings section", "fewer classes than stored"},
        {44, 9, 4, "strings", "more styles than stored"},
        {56, 12345, 8, "header says", "file size field"},
        {64 + 16 * 2, 1ull << 50, 8, "outside", "content offset outside the file"},
        {64 + 16 * 2, 0, 8, "outside", "content offset inside the header"},
        {64 + 16 * 2 + 8, 3, 8, "expected", "content length"},
        {64 + 16 * 15, 64, 8, "unknown section", "unknown section"},
        {64 + 16 * 13 + 8, 1ull << 60, 8, "outside", "path blob length"},
    };
    for (size_t i = 0; i < SBIR_ARRAY_LEN(fields); i++) {
        b = copy_good();
        if (fields[i].width == 8) put64(b, fields[i].off, fields[i].v);
        else put32(b, fields[i].off, (uint32_t)fields[i].v);
        fix_crcs(b, n);
        expect_bad(b, n, fields[i].want, fields[i].what);
        free(b);
    }

    /* misaligned section: shift the content offset by 8 */
    b = copy_good();
    put64(b, 64 + 16 * 2, get64(b, 64 + 16 * 2) + 8);
    fix_crcs(b, n);
    expect_bad(b, n, "outside", "misaligned content");
    free(b);

    /* overlapping sections: style starts where content starts */
    b = copy_good();
    put64(b, 64 + 16 * 3, get64(b, 64 + 16 * 2));
    fix_crcs(b, n);
    expect_bad(b, n, "overlaps", "overlapping sections");
    free(b);

    /* payload corruption: CRC catches it; NO_VERIFY opens it (structure is still fine) */
    b = copy_good();
    size_t content = (size_t)get64(b, 64 + 16 * 2);
    b[content + 5] ^= 0x40;
    expect_bad(b, n, "CRC-32", "flipped embedding bit");
    {
        char *p2 = tpath("noverify.idx");
        test_write_file(p2, b, n);
        sbir_index *ix = index_open(p2, SBIR_INDEX_NO_VERIFY);
        CHECK(ix != NULL, "NO_VERIFY refused a structurally fine file: %s", sbir_last_error());
        index_close(ix);
    }
    free(b);

    b = copy_good();
    memcpy(b + n - 16, "SBIRXEND", 8);
    expect_bad(b, n, "trailer", "bad trailer magic");
    free(b);

    /* items with a class id out of range, CRCs fixed */
    b = copy_good();
    size_t items = (size_t)get64(b, 64 + 16 * 1);
    put32(b, items + 16 * 3 + 8, 77);
    fix_crcs(b, n);
    expect_bad(b, n, "class id", "item class out of range");
    free(b);

    /* strings: a name length running past the section */
    b = copy_good();
    size_t strings = (size_t)get64(b, 64);
    put32(b, strings, 1u << 30);
    fix_crcs(b, n);
    expect_bad(b, n, "fingerprint", "fingerprint length");
    free(b);

    /* paths: an offset going backwards; a path losing its NUL */
    b = copy_good();
    size_t poffs = (size_t)get64(b, 64 + 16 * 12), blob = (size_t)get64(b, 64 + 16 * 13);
    put64(b, poffs + 8 * 10, 3);
    fix_crcs(b, n);
    expect_bad(b, n, "path", "path offset backwards");
    free(b);
    b = copy_good();
    uint64_t end0 = get64(b, poffs + 8);
    b[blob + end0 - 1] = 'x';
    fix_crcs(b, n);
    expect_bad(b, n, "path 0", "path without NUL");
    free(b);

    /* random header mutations with valid CRCs: an error or a valid open, never a crash */
    sbir_rng r;
    rng_seed(&r, 99);
    int opened = 0;
    for (int it = 0; it < 300; it++) {
        b = copy_good();
        int flips = 1 + (int)rng_below(&r, 3);
        for (int f = 0; f < flips; f++) b[8 + rng_below(&r, 500)] ^= (unsigned char)(1u << rng_below(&r, 8));
        fix_crcs(b, n);
        char *p3 = tpath("fuzz.idx");
        test_write_file(p3, b, n);
        sbir_index *ix = index_open(p3, 0);
        if (ix) {
            opened++;
            sbir_matrix m = index_content(ix);
            float q[16] = {1};
            sbir_hit h[5];
            search_topk(&m, q, 5, NULL, h); /* whatever passed validation must be safe to search */
            index_close(ix);
        } else {
            CHECK(strstr(sbir_last_error(), p3) != NULL, "fuzz error does not name the file: %s", sbir_last_error());
        }
        free(b);
    }
    fprintf(stderr, "    fuzz: %d of 300 mutated headers still valid\n", opened);
    CHECK(opened < 300, "%s", "fuzz never failed");

    /* not a file at all */
    sbir_index *ix = index_open(tpath("missing.idx"), 0);
    CHECK(ix == NULL && strstr(sbir_last_error(), "missing.idx") && strstr(sbir_last_error(), "cannot open"), "%s", sbir_last_error());
    ix = index_open(test_tmpdir(), 0);
    CHECK(ix == NULL && strstr(sbir_last_error(), "regular file"), "%s", sbir_last_error());
    free(g_good);
}

int main(void) {
    RUN(test_round_trip);
    RUN(test_empty_index);
    RUN(test_append);
    RUN(test_write_refuses_bad_input);
    RUN(test_hostile);
    return test_summary();
}
