/* test_limits.c — hostile input that is BIG rather than malformed (SPEC section 8: "huge or malicious
 * input gets a clear error ... never unbounded memory"). Each case runs in a forked child, so its peak
 * resident memory (getrusage's ru_maxrss of that child alone) can be measured and asserted below a
 * stated bound, and a crash shows up as a failed check instead of killing the suite:
 *   - an ndjson line of 100 MB (the reader must stop at its 16 MiB line limit, not buffer the line);
 *   - a line just under the limit made of tiny values (cJSON would spend ~64 bytes per value);
 *   - a drawing with 100k strokes, as ndjson, as a .bin drawing (65535 strokes, the format's maximum)
 *     and through qd_drawing_from_json (plus a 64 MB drawing JSON string: a collection row can be
 *     any length);
 *   - PNG and JPEG headers claiming 50000 x 50000 pixels (refused before any pixel buffer exists) and
 *     a 1 KB file claiming a 9000 x 9000 image, under the pixel limit (must not cost its full size);
 *   - a collection row holding 100 MB of strokes: refused by collection_open (its checksum reads every
 *     value) and, unverified, by collection_list_sketches, without holding the value;
 *   - a collection of a million images: collection_count_images and `sbir info` in bounded memory.
 * Bound: 200 MB per case (BOUND_MB); under AddressSanitizer (SAN=1) the allocator's quarantine and
 * shadow memory add a few hundred MB, so the bound is raised there (ASAN_EXTRA_MB) and stated. */
#include <stddef.h>
#include <stdio.h> /* jpeglib.h needs size_t and FILE first */
#include <jpeglib.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/collection.h"
#include "data/image.h"
#include "data/quickdraw.h"
#include "test.h"
#include "util/atomic_file.h"
#include "util/common.h"

#if defined(__SANITIZE_ADDRESS__)
#define ASAN_EXTRA_MB 400
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ASAN_EXTRA_MB 400
#endif
#endif
#ifndef ASAN_EXTRA_MB
#define ASAN_EXTRA_MB 0
#endif
#define BOUND_MB (200 + ASAN_EXTRA_MB)

/* ---------------- running a case in a child ---------------- */

/* What a case returns from the child: 0 = it behaved (clean error, or success where allowed). */
typedef int (*case_fn)(const void *ctx);

/* Runs fn in a child; returns its peak RSS in MB (or -1) and whether it exited 0. */
static double run_case(const char *name, case_fn fn, const void *ctx, int *ok) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        perror("fork");
        *ok = 0;
        return -1;
    }
    if (pid == 0) {
        int rc = fn(ctx);
        fflush(NULL);
        _exit(rc == 0 ? 0 : 1);
    }
    int status = 0;
    struct rusage ru;
    if (wait4(pid, &status, 0, &ru) != pid) {
        *ok = 0;
        return -1;
    }
    *ok = WIFEXITED(status) && WEXITSTATUS(status) == 0;
    double mb = (double)ru.ru_maxrss / 1024.0;
    fprintf(stderr, "    %-44s peak RSS %7.1f MB (bound %d MB)%s\n", name, mb, BOUND_MB,
            WIFSIGNALED(status) ? " KILLED BY SIGNAL" : "");
    return mb;
}

#define CHECK_CASE(name, fn, ctx)                                                      \
    do {                                                                               \
        int ok_;                                                                       \
        double mb_ = run_case(name, fn, ctx, &ok_);                                    \
        CHECK(ok_, "%s: did not end with the expected clean error (see above)", name); \
        CHECK(mb_ >= 0 && mb_ < BOUND_MB, "%s: peak RSS %.1f MB", name, mb_);          \
    } while (0)

/* Child-side check: the call failed and its message contains want. */
static int expect_error(int rc, const char *want) {
    const char *msg = sbir_last_error();
    fprintf(stderr, "      -> %s\n", rc == SBIR_ERR ? msg : "(no error)");
    return rc == SBIR_ERR && strstr(msg, want) ? 0 : 1;
}

static void path_in_tmp(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", test_tmpdir(), name); }

/* ---------------- Quick, Draw! ---------------- */

/* Streams "prefix + body * reps + suffix" to a file without holding it in memory. */
static void write_repeated(const char *path, const char *prefix, const char *body, size_t reps, const char *suffix) {
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(2);
    }
    char block[1 << 16];
    size_t bl = strlen(body), per = sizeof block / bl;
    for (size_t i = 0; i < per; i++) memcpy(block + i * bl, body, bl);
    fputs(prefix, f);
    for (size_t done = 0; done < reps;) {
        size_t k = SBIR_MIN(per, reps - done);
        fwrite(block, bl, k, f);
        done += k;
    }
    fputs(suffix, f);
    fclose(f);
}

static int read_all_expect(const void *ctx) {
    const char *const *a = ctx; /* path, expected message part */
    qd_reader *r = qd_open(a[0], NULL);
    if (!r) return expect_error(SBIR_ERR, a[1]);
    sbir_sketch s;
    sketch_init(&s);
    int rc;
    while ((rc = qd_next(r, &s)) == 1) {}
    sketch_free(&s);
    qd_close(r);
    return expect_error(rc, a[1]);
}

static void test_ndjson_100mb_line(void) {
    char path[4200];
    path_in_tmp(path, sizeof path, "huge_line.ndjson");
    /* 100 MB of "1," inside the first stroke's x array, then a valid second line */
    write_repeated(path, "{\"word\":\"cat\",\"drawing\":[[[", "1,", 50u << 20, "1],[1]]]}\n{\"word\":\"cat\",\"drawing\":[[[1],[1]]]}\n");
    const char *a[2] = {path, "huge_line.ndjson:1: line is longer than the limit"};
    CHECK_CASE("ndjson: 100 MB line", read_all_expect, a);
    unlink(path);
}

static void test_ndjson_many_tiny_values(void) {
    char path[4200];
    path_in_tmp(path, sizeof path, "tiny_values.ndjson");
    /* 15 MB of "0," (7.5M values): under the 16 MiB line limit, far over the point limit */
    write_repeated(path, "{\"word\":\"cat\",\"drawing\":[[[", "0,", 15u << 19, "0],[0]]]}\n");
    const char *a[2] = {path, "tiny_values.ndjson:1:"};
    CHECK_CASE("ndjson: 7.5M values in one line", read_all_expect, a);
    unlink(path);
}

static void test_ndjson_100k_strokes(void) {
    char path[4200];
    path_in_tmp(path, sizeof path, "strokes.ndjson");
    write_repeated(path, "{\"word\":\"cat\",\"drawing\":[", "[[1,2],[3,4]],", 100000, "[[1],[1]]]}\n");
    /* the reader may refuse it by its value count before parsing, or by the stroke limit after */
    const char *a[2] = {path, "strokes.ndjson:1: "};
    CHECK_CASE("ndjson: 100k strokes", read_all_expect, a);
    unlink(path);
}

static void test_bin_max_strokes(void) {
    char path[4200];
    path_in_tmp(path, sizeof path, "strokes.bin");
    FILE *f = fopen(path, "wb");
    unsigned char h[17] = {1, 0, 0, 0, 0, 0, 0, 0, 'U', 'S', 1, 0, 0, 0, 0, 0xff, 0xff}; /* 65535 strokes */
    fwrite(h, 1, sizeof h, f);
    unsigned char stroke[4] = {1, 0, 7, 9}; /* one point (7, 9) */
    for (int i = 0; i < 65535; i++) fwrite(stroke, 1, sizeof stroke, f);
    fclose(f);
    const char *a[2] = {path, "strokes.bin: drawing 1 (at byte 0): 65535 strokes"};
    CHECK_CASE(".bin: 65535 strokes", read_all_expect, a);
    unlink(path);
}

static int drawing_json_100k(const void *ctx) {
    (void)ctx;
    size_t n = 100000, len = 0;
    char *json = mallocCheck(n * 16 + 16);
    json[len++] = '[';
    for (size_t i = 0; i < n; i++) len += (size_t)sprintf(json + len, "%s[[1,2],[3,4]]", i ? "," : "");
    json[len++] = ']';
    json[len] = 0;
    sbir_sketch s;
    sketch_init(&s);
    int rc = qd_drawing_from_json(json, "coll.sqlite: sketch 1", &s);
    sketch_free(&s);
    free(json);
    /* refused by the value budget before parsing, or by the stroke limit after: either names the row */
    return expect_error(rc, "coll.sqlite: sketch 1: ");
}

/* A collection row's strokes can be any length: 64 MB of "0," must not become 2.6 GB of cJSON nodes. */
static int drawing_json_64mb(const void *ctx) {
    (void)ctx;
    size_t n = (size_t)64 << 20, len = 0;
    char *json = mallocCheck(n + 64);
    len += (size_t)sprintf(json, "[[[");
    while (len < n) json[len++] = '0', json[len++] = ',';
    sprintf(json + len, "0],[0]]]");
    sbir_sketch s;
    sketch_init(&s);
    int rc = qd_drawing_from_json(json, "coll.sqlite: sketch 2", &s);
    sketch_free(&s);
    free(json);
    return expect_error(rc, "coll.sqlite: sketch 2: ");
}

static void test_drawing_json_100k_strokes(void) {
    CHECK_CASE("drawing JSON: 100k strokes", drawing_json_100k, NULL);
    CHECK_CASE("drawing JSON: 64 MB of values", drawing_json_64mb, NULL);
}

/* ---------------- images ---------------- */

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16), p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* A PNG whose IHDR claims w x h RGB, followed by one small (valid) IDAT and IEND. */
static size_t fake_png(unsigned char *out, uint32_t w, uint32_t h) {
    static const unsigned char sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    size_t n = 0;
    memcpy(out, sig, 8);
    n = 8;
    unsigned char ihdr[13];
    put_be32(ihdr, w), put_be32(ihdr + 4, h);
    ihdr[8] = 8, ihdr[9] = 2, ihdr[10] = 0, ihdr[11] = 0, ihdr[12] = 0;
    /* zlib stream of 600 zero bytes (a few rows' worth of "filter 0, black"), stored uncompressed */
    unsigned char idat[2 + 5 + 600 + 4] = {0x78, 0x01, 0x01, 0x58, 0x02, 0xa7, 0xfd};
    uint32_t adler = (1 + 0) | ((uint32_t)600 << 16); /* adler32 of 600 zeros: a = 1, b = 600 */
    put_be32(idat + 7 + 600, adler);
    const struct {
        const char *type;
        const unsigned char *data;
        uint32_t len;
    } chunks[3] = {{"IHDR", ihdr, 13}, {"IDAT", idat, sizeof idat}, {"IEND", NULL, 0}};
    for (int c = 0; c < 3; c++) {
        put_be32(out + n, chunks[c].len);
        memcpy(out + n + 4, chunks[c].type, 4);
        if (chunks[c].len) memcpy(out + n + 8, chunks[c].data, chunks[c].len);
        put_be32(out + n + 8 + chunks[c].len, sbir_crc32(0, out + n + 4, 4 + chunks[c].len));
        n += 12 + chunks[c].len;
    }
    return n;
}

/* A real 16 x 16 JPEG (libjpeg), then its SOF header patched to claim w x h. */
static size_t fake_jpeg(unsigned char **out, uint16_t w, uint16_t h) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    unsigned char *mem = NULL;
    unsigned long len = 0;
    jpeg_mem_dest(&c, &mem, &len);
    c.image_width = 16, c.image_height = 16, c.input_components = 3, c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_start_compress(&c, TRUE);
    unsigned char row[16 * 3];
    for (int i = 0; i < 48; i++) row[i] = (unsigned char)(i * 5);
    while (c.next_scanline < 16) {
        JSAMPROW rp = row;
        jpeg_write_scanlines(&c, &rp, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    for (unsigned long i = 2; i + 9 < len; i++)
        if (mem[i] == 0xff && (mem[i + 1] == 0xc0 || mem[i + 1] == 0xc2)) { /* SOF0 / SOF2 */
            mem[i + 5] = (unsigned char)(h >> 8), mem[i + 6] = (unsigned char)h;
            mem[i + 7] = (unsigned char)(w >> 8), mem[i + 8] = (unsigned char)w;
            break;
        }
    *out = mem;
    return len;
}

typedef struct {
    const unsigned char *data;
    size_t n;
    const char *want; /* expected error part */
} decode_case;

static int decode_expect(const void *ctx) {
    const decode_case *d = ctx;
    sbir_image im;
    int rc = image_decode_mem(d->data, d->n, "huge.img", 0, &im);
    image_free(&im);
    int w = 0, h = 0;
    /* the probe reads the header only: it reports the size, and must not allocate for it either */
    image_probe_mem(d->data, d->n, "huge.img", &w, &h, NULL);
    return expect_error(rc, d->want);
}

static void test_image_claims(void) {
    unsigned char png[1024];
    decode_case d = {png, fake_png(png, 50000, 50000), "huge.img"};
    CHECK_CASE("PNG header: 50000 x 50000", decode_expect, &d);
    d.n = fake_png(png, 9000, 9000);
    CHECK_CASE("PNG header: 9000 x 9000, 1 KB of data", decode_expect, &d);
    unsigned char *jpg;
    d.n = fake_jpeg(&jpg, 50000, 50000);
    d.data = jpg;
    CHECK_CASE("JPEG header: 50000 x 50000", decode_expect, &d);
    free(jpg);
    d.n = fake_jpeg(&jpg, 9000, 9000);
    d.data = jpg;
    CHECK_CASE("JPEG header: 9000 x 9000, 1 KB of data", decode_expect, &d);
    free(jpg);
}

/* ---------------- a million-row collection ---------------- */

static char g_million[4200];

/* Builds it with one INSERT ... SELECT from a recursive CTE: seconds, not the minute that a million
 * collection_add_image calls would take. */
static int make_million(void) {
    path_in_tmp(g_million, sizeof g_million, "million.sqlite");
    sbir_collection *c = collection_create(g_million, NULL);
    if (!c) return SBIR_ERR;
    const char *sql =
        "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000000) "
        "INSERT INTO images(path, class, style, split, width, height, checksum) "
        "SELECT printf('%07d.jpg', i), 'class' || (i % 5), " /* paths in id order: index appends are cheap */
        "'style' || (i % 7), CASE i % 10 WHEN 0 THEN 'test' WHEN 1 THEN 'val' ELSE 'train' END, 128, 96, "
        "printf('%08x', i) FROM n";
    char *err = NULL;
    if (sqlite3_exec(collection_db(c), sql, NULL, NULL, &err) != SQLITE_OK) {
        sbir_error("%s", err);
        sqlite3_free(err);
        collection_close(c);
        return SBIR_ERR;
    }
    return collection_commit(c);
}

/* Opening verifies the content checksum (a scan of every table and index): timed here, against an
 * open that skips it (SBIR_COLLECTION_NO_VERIFY=1). */
static int count_million(const void *ctx) {
    (void)ctx;
    double t0 = sbir_now();
    sbir_collection *c = collection_open(g_million);
    double t_verified = sbir_now() - t0;
    if (!c) {
        fprintf(stderr, "      %s\n", sbir_last_error());
        return 1;
    }
    setenv("SBIR_COLLECTION_NO_VERIFY", "1", 1);
    t0 = sbir_now();
    sbir_collection *c2 = collection_open(g_million);
    double t_plain = sbir_now() - t0;
    unsetenv("SBIR_COLLECTION_NO_VERIFY");
    if (!c2) return 1;
    collection_close(c2);
    fprintf(stderr, "      -> open with the checksum verified: %.3f s; without (SBIR_COLLECTION_NO_VERIFY=1): %.3f s\n",
            t_verified, t_plain);
    int64_t n = collection_count_images(c, NULL);
    coll_filter f = {"test", "class0", NULL, NULL}; /* i % 10 == 0 is test, and then i % 5 == 0 */
    int64_t m = collection_count_images(c, &f);
    coll_count *cnt;
    size_t nc;
    int rc = collection_image_counts(c, &cnt, &nc);
    collection_close(c);
    fprintf(stderr, "      -> %lld images, %lld test images of class0, %zu count groups\n", (long long)n, (long long)m,
            rc == SBIR_OK ? nc : 0);
    if (rc == SBIR_OK) coll_counts_free(cnt, nc);
    /* groups: test and val rows each have one class (7 styles), train rows all 5 classes */
    return n == 1000000 && m == 100000 && rc == SBIR_OK && nc == 7 + 7 + 35 ? 0 : 1;
}

static const char *sbir_binary(void) {
    static char p[4096];
    const char *b = getenv("BUILD");
    snprintf(p, sizeof p, "%s/sbir", b && *b ? b : "build");
    return p;
}

static int info_million(const void *ctx) {
    (void)ctx;
    if (!freopen("/dev/null", "w", stdout)) return 1;
    execl(sbir_binary(), "sbir", "info", g_million, (char *)NULL);
    return 1; /* exec failed */
}

static void test_million_rows(void) {
    double t0 = sbir_now();
    if (make_million() != SBIR_OK) {
        CHECK(0, "cannot build the million-row collection: %s", sbir_last_error());
        return;
    }
    fprintf(stderr, "    built a 1M-image collection in %.1f s\n", sbir_now() - t0);
    CHECK_CASE("collection: count 1M images", count_million, NULL);
    if (access(sbir_binary(), X_OK) != 0) {
        SKIP("%s not built: sbir info not measured", sbir_binary());
        return;
    }
    t0 = sbir_now();
    CHECK_CASE("sbir info on 1M images", info_million, NULL);
    fprintf(stderr, "    sbir info took %.1f s\n", sbir_now() - t0);
    unlink(g_million);
}

/* ---------------- a 100 MB value in a collection row ---------------- */

static char g_bigrow[4200];

/* A valid collection whose one sketch has 100 MB of strokes, written behind sbir's back (raw SQL:
 * collections refuse to hold such a value). */
static int make_big_row(void) {
    path_in_tmp(g_bigrow, sizeof g_bigrow, "bigrow.sqlite");
    sbir_collection *c = collection_create(g_bigrow, NULL);
    if (!c || collection_add_image(c, "/x/a.png", "cat", "ink", 8, 8, NULL, NULL) ||
        collection_add_sketch(c, "cat", "quickdraw", "1", "[[[0,1],[0,1]]]", NULL, NULL) || collection_commit(c)) {
        collection_close(c);
        return SBIR_ERR;
    }
    /* In a child: SQLite needs a few hundred MB to build the value, and memory this process keeps
     * (valgrind's allocator never gives it back) would count in the measured children's RSS. */
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        sqlite3 *db;
        int ok = sqlite3_open(g_bigrow, &db) == SQLITE_OK &&
                 sqlite3_exec(db, "UPDATE sketches SET strokes = '[[[' || hex(zeroblob(50000000)) || ']]]'", NULL, NULL,
                              NULL) == SQLITE_OK;
        if (!ok) fprintf(stderr, "%s: %s\n", g_bigrow, sqlite3_errmsg(db));
        sqlite3_close(db);
        _exit(ok ? 0 : 1);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
        return sbir_error("%s: could not write the 100 MB row", g_bigrow);
    return SBIR_OK;
}

/* ctx NULL: collection_open (the checksum reads every row); else with SBIR_COLLECTION_NO_VERIFY=1,
 * the sketch list that train and eval read. */
static int big_row_expect(const void *ctx) {
    if (ctx) setenv("SBIR_COLLECTION_NO_VERIFY", "1", 1);
    sbir_collection *c = collection_open(g_bigrow);
    if (!ctx) {
        collection_close(c);
        return expect_error(c ? SBIR_OK : SBIR_ERR, "over the limit");
    }
    if (!c) return 1;
    coll_sketch *sk = NULL;
    size_t n = 0;
    int rc = collection_list_sketches(c, NULL, &sk, &n);
    coll_sketches_free(sk, n);
    collection_close(c);
    return expect_error(rc, "over the limit");
}

static void test_collection_big_row(void) {
    if (make_big_row() != SBIR_OK) {
        CHECK(0, "cannot build the collection: %s", sbir_last_error());
        return;
    }
    CHECK_CASE("collection: 100 MB strokes value, open", big_row_expect, NULL);
    CHECK_CASE("collection: same, unverified, list sketches", big_row_expect, "");
    unlink(g_bigrow);
}

int main(void) {
    fprintf(stderr, "  peak RSS bound per case: %d MB%s\n", BOUND_MB,
            ASAN_EXTRA_MB ? " (raised for AddressSanitizer)" : "");
    RUN(test_ndjson_100mb_line);
    RUN(test_ndjson_many_tiny_values);
    RUN(test_ndjson_100k_strokes);
    RUN(test_bin_max_strokes);
    RUN(test_drawing_json_100k_strokes);
    RUN(test_image_claims);
    RUN(test_collection_big_row);
    RUN(test_million_rows);
    return test_summary();
}
