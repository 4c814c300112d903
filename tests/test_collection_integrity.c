/* test_collection_integrity.c — a collection's content checksum (meta 'content_crc32', see
 * collection.h) catches bit flips that SQLite itself would read without complaint.
 *
 *   - Bytes of a small collection (36 KB) are flipped in turn, one bit per byte, the bit rotating with
 *     the offset: every byte that is not zero or lies within 4 bytes of one that is not (records, cell
 *     pointers, page headers: about 4500), and every 16th byte of the zero runs between (the free space
 *     of mostly empty pages), about 6500 flips. Each flipped file must either be refused with a clear
 *     error naming the file, or
 *     read back through every reading function (lists, filtered lists and counts that go through the
 *     indexes, classes, styles, count tables, metadata, absolute paths) exactly like the original.
 *     Never silently different content. Flips inside any stored value (found in the file by its bytes)
 *     must all be refused; the counts of refused and harmless flips are printed and checked plausible.
 *   - Every writer keeps the checksum current: create + commit, edit + commit (sketches added), and
 *     collection_reseal after an edit made with raw SQL.
 *   - A value changed behind sbir's back (raw SQL) is refused with "checksum mismatch", and read anyway
 *     with SBIR_COLLECTION_NO_VERIFY=1; a version-2 collection without its checksum is refused; a
 *     version-1 collection (before checksums) is read with a warning and becomes version 2, checksummed,
 *     when edited; collection_create may replace a damaged collection; `sbir info` on a damaged
 *     collection exits non-zero with one line naming the file.
 * SBIR_UNDER_VALGRIND=1 flips every 7th of those bytes (each flip reopens the file and reads it all). */
#include <sqlite3.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/collection.h"
#include "test.h"
#include "util/atomic_file.h"
#include "util/common.h"

static const char *tmp_path(const char *name) {
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

static void exec_sql(const char *path, const char *sql) {
    sqlite3 *db;
    char *err = NULL;
    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s: %s\n", sql, err ? err : sqlite3_errmsg(db));
        exit(2);
    }
    sqlite3_close(db);
}

/* ---------------- the small collection ---------------- */

static const char *k_classes[] = {"bicycle", "bird", "cat"};
static const char *k_styles[] = {"watercolor", "comic"};

/* 3 classes x 2 styles x 3 images, 9 stroke sketches, 3 image sketches, one image outside the root. */
static int build(const char *path, const char *root) {
    sbir_collection *c = collection_create(path, root);
    if (!c) return SBIR_ERR;
    char p[4200], key[32], strokes[256], sum[16];
    int rc = SBIR_OK, k = 0;
    for (int ci = 0; ci < 3 && !rc; ci++)
        for (int si = 0; si < 2 && !rc; si++)
            for (int i = 0; i < 3 && !rc; i++, k++) {
                snprintf(p, sizeof p, "%s/%s/%s/img_%02d.jpg", root, k_styles[si], k_classes[ci], k);
                snprintf(sum, sizeof sum, "%08x", 0x1000u * (unsigned)k + 0xabcu);
                rc = collection_add_image(c, p, k_classes[ci], k_styles[si], 60 + k, 40 + 2 * k, sum, NULL);
            }
    for (int i = 0; i < 12 && !rc; i++) {
        snprintf(key, sizeof key, "%d", 5000 + 37 * i);
        if (i % 4 == 3) {
            snprintf(p, sizeof p, "%s/sketch/%s/sk_%02d.png", root, k_classes[i % 3], i);
            rc = collection_add_sketch(c, k_classes[i % 3], "pacs", NULL, NULL, p, NULL);
        } else {
            snprintf(strokes, sizeof strokes, "[[[%d,%d,%d],[%d,%d,%d]],[[%d,%d],[%d,%d]]]", i, 40 + i, 200 - i, 3 * i,
                     90, 17 + i, 100 + i, 150, 60, 61 + i);
            rc = collection_add_sketch(c, k_classes[i % 3], "quickdraw", key, strokes, NULL, NULL);
        }
    }
    if (!rc) rc = collection_add_image(c, "/elsewhere/outside.png", "bird", "comic", 0, 0, NULL, NULL);
    if (!rc) rc = collection_set_meta(c, "note", "integrity test collection");
    if (rc) {
        collection_close(c);
        return SBIR_ERR;
    }
    return collection_commit(c);
}

/* ---------------- everything a reader can see, as text ---------------- */

typedef struct {
    char *s;
    size_t n, cap;
} sbuf;

static void put(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(sbuf *b, const char *fmt, ...) {
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(b->s ? b->s + b->n : NULL, b->s ? b->cap - b->n : 0, fmt, ap);
        va_end(ap);
        if (k < 0) return;
        if (b->s && b->n + (size_t)k < b->cap) {
            b->n += (size_t)k;
            return;
        }
        b->cap = (b->cap + (size_t)k + 1) * 2;
        b->s = reallocCheck(b->s, b->cap);
    }
}

#define S(x) ((x) ? (x) : "(null)")

static int dump_images(sbir_collection *c, const coll_filter *f, sbuf *b) {
    coll_image *im;
    size_t n;
    if (collection_list_images(c, f, &im, &n) != SBIR_OK) return SBIR_ERR;
    put(b, "images %zu:", n);
    for (size_t i = 0; i < n; i++) {
        char *abs = collection_abs_path(c, im[i].path);
        put(b, " [%lld %s %s %s %s %d %d %s %s]", (long long)im[i].id, S(im[i].path), S(im[i].class_name),
            S(im[i].style), S(im[i].split), im[i].width, im[i].height, S(im[i].checksum), S(abs));
        free(abs);
    }
    put(b, "\n");
    coll_images_free(im, n);
    return SBIR_OK;
}

static int dump_sketches(sbir_collection *c, const coll_filter *f, sbuf *b) {
    coll_sketch *sk;
    size_t n;
    if (collection_list_sketches(c, f, &sk, &n) != SBIR_OK) return SBIR_ERR;
    put(b, "sketches %zu:", n);
    for (size_t i = 0; i < n; i++)
        put(b, " [%lld %s %s %s %s %s %s]", (long long)sk[i].id, S(sk[i].class_name), S(sk[i].source),
            S(sk[i].key_id), S(sk[i].split), S(sk[i].strokes), S(sk[i].image_path));
    put(b, "\n");
    coll_sketches_free(sk, n);
    return SBIR_OK;
}

static int dump_strings(int rc, char **a, size_t n, const char *what, sbuf *b) {
    if (rc != SBIR_OK) return SBIR_ERR;
    put(b, "%s:", what);
    for (size_t i = 0; i < n; i++) put(b, " %s", S(a[i]));
    put(b, "\n");
    coll_strings_free(a, n);
    return SBIR_OK;
}

static int dump_counts(int rc, coll_count *a, size_t n, const char *what, sbuf *b) {
    if (rc != SBIR_OK) return SBIR_ERR;
    put(b, "%s:", what);
    for (size_t i = 0; i < n; i++)
        put(b, " [%s %s %s %lld]", S(a[i].class_name), S(a[i].style), S(a[i].split), (long long)a[i].count);
    put(b, "\n");
    coll_counts_free(a, n);
    return SBIR_OK;
}

/* Everything the API returns for this collection; SBIR_ERR when a read fails. */
static int dump(sbir_collection *c, sbuf *b) {
    b->n = 0;
    if (b->s) b->s[0] = 0;
    put(b, "root %s\n", S(collection_root(c)));
    const char *keys[] = {"format", "root", "created_by", "note", "missing"};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(keys); i++) {
        char *v = collection_get_meta(c, keys[i]);
        put(b, "meta %s=%s\n", keys[i], S(v));
        free(v);
    }
    if (dump_images(c, NULL, b) || dump_sketches(c, NULL, b)) return SBIR_ERR;
    /* filtered reads go through the indexes (class, style) and (class) */
    for (int ci = 0; ci < 3; ci++) {
        coll_filter f = {NULL, k_classes[ci], NULL, NULL};
        if (dump_images(c, &f, b) || dump_sketches(c, &f, b)) return SBIR_ERR;
        put(b, "count %s: %lld %lld\n", k_classes[ci], (long long)collection_count_images(c, &f),
            (long long)collection_count_sketches(c, &f));
        for (int si = 0; si < 2; si++) {
            coll_filter g = {NULL, k_classes[ci], k_styles[si], NULL};
            if (dump_images(c, &g, b)) return SBIR_ERR;
            put(b, "count %s/%s: %lld\n", k_classes[ci], k_styles[si], (long long)collection_count_images(c, &g));
        }
    }
    coll_filter t = {"train", NULL, NULL, "quickdraw"};
    if (dump_images(c, &t, b) || dump_sketches(c, &t, b)) return SBIR_ERR;
    put(b, "counts: %lld %lld\n", (long long)collection_count_images(c, NULL),
        (long long)collection_count_sketches(c, NULL));
    char **a;
    size_t n;
    int rc;
    coll_count *k;
    rc = collection_classes(c, NULL, &a, &n);
    if (dump_strings(rc, a, n, "classes", b)) return SBIR_ERR;
    rc = collection_classes(c, "images", &a, &n);
    if (dump_strings(rc, a, n, "image classes", b)) return SBIR_ERR;
    rc = collection_classes(c, "sketches", &a, &n);
    if (dump_strings(rc, a, n, "sketch classes", b)) return SBIR_ERR;
    rc = collection_styles(c, &a, &n);
    if (dump_strings(rc, a, n, "styles", b)) return SBIR_ERR;
    rc = collection_image_counts(c, &k, &n);
    if (dump_counts(rc, k, n, "image counts", b)) return SBIR_ERR;
    rc = collection_sketch_counts(c, &k, &n);
    if (dump_counts(rc, k, n, "sketch counts", b)) return SBIR_ERR;
    /* a count below 0 is a failed read */
    return strstr(b->s, ": -1") ? SBIR_ERR : SBIR_OK;
}

/* ---------------- flipping every byte ---------------- */

/* Marks in `live` every byte of buf that belongs to a stored value (found by its bytes). */
static void mark(unsigned char *live, const unsigned char *buf, size_t n, const char *value) {
    size_t len = strlen(value);
    for (const unsigned char *p = buf; len && (p = memmem(p, (size_t)(buf + n - p), value, len)); p++)
        memset(live + (p - buf), 1, len);
}

static void test_every_byte(void) {
    const char *path = tmp_path("small.sqlite"), *bad = tmp_path("flipped.sqlite");
    if (build(path, test_tmpdir()) != SBIR_OK) {
        CHECK(0, "building: %s", sbir_last_error());
        return;
    }
    sbuf want = {0}, got = {0};
    sbir_collection *c = collection_open(path);
    CHECK(c != NULL, "%s", sbir_last_error());
    if (!c) return;
    CHECK(dump(c, &want) == SBIR_OK, "reading the original: %s", sbir_last_error());
    collection_close(c);
    unsigned char *buf;
    size_t n;
    if (read_file_all(path, 1 << 24, &buf, &n) != SBIR_OK) {
        CHECK(0, "%s", sbir_last_error());
        return;
    }
    /* Values whose bytes must be protected: paths, class and style names, strokes, checksums, meta. */
    unsigned char *live = callocCheck(n, 1);
    const char *values[] = {"integrity test collection", "sbir-collection", "outside.png", "watercolor",
                            "bicycle", "quickdraw", "[[[", "img_0", "img_1", "sk_0", "sk_1"};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(values); i++) mark(live, buf, n, values[i]);
    size_t n_live = 0;
    for (size_t i = 0; i < n; i++) n_live += live[i];
    int thin = test_under_valgrind() ? 7 : 1, candidates = 0;
    int flips = 0, refused = 0, mismatch = 0, read_failed = 0, same = 0, different = 0, live_flips = 0,
        live_caught = 0, unclear = 0;
    test_write_file(bad, buf, n);
    FILE *fb = fopen(bad, "r+b");
    if (!fb) {
        CHECK(0, "%s", bad);
        return;
    }
    setvbuf(fb, NULL, _IONBF, 0);
    for (size_t at = 0; at < n; at++) {
        int near = 0;
        for (size_t j = at >= 4 ? at - 4 : 0; j < n && j <= at + 4; j++) near |= buf[j] != 0;
        if (!near && at % 16) continue;
        if (candidates++ % thin) continue;
        unsigned char flipped = buf[at] ^ (unsigned char)(1u << (at % 8));
        if (fseek(fb, (long)at, SEEK_SET) || fwrite(&flipped, 1, 1, fb) != 1) {
            CHECK(0, "writing %s", bad);
            break;
        }
        flips++;
        int caught = 1;
        sbir_clear_error();
        c = collection_open(bad);
        if (!c) {
            refused++;
            if (strstr(sbir_last_error(), "checksum mismatch")) mismatch++;
            if (!strstr(sbir_last_error(), bad)) {
                if (unclear++ < 5) fprintf(stderr, "    flip at %zu: error does not name the file: %s\n", at, sbir_last_error());
            }
        } else if (dump(c, &got) != SBIR_OK) {
            read_failed++; /* an error, not silence: acceptable, but counted */
            if (read_failed <= 5) fprintf(stderr, "    flip at %zu: opened, then a read failed: %s\n", at, sbir_last_error());
        } else if (strcmp(got.s, want.s) == 0) {
            same++;
            caught = 0;
        } else {
            different++;
            caught = 0;
            if (different <= 5) {
                size_t d = 0;
                while (got.s[d] && got.s[d] == want.s[d]) d++;
                while (d > 0 && want.s[d - 1] != '\n') d--;
                fprintf(stderr, "    flip at %zu (page %zu): opened with DIFFERENT content; first difference:\n"
                        "      was: %.300s\n      now: %.300s\n", at, at / 4096 + 1, want.s + d, got.s + d);
            }
        }
        collection_close(c);
        if (fseek(fb, (long)at, SEEK_SET) || fwrite(&buf[at], 1, 1, fb) != 1) {
            CHECK(0, "writing %s", bad);
            break;
        }
        if (live[at]) {
            live_flips++;
            live_caught += caught;
            if (!caught && live_flips - live_caught <= 5)
                fprintf(stderr, "    flip at %zu inside a stored value was not detected\n", at);
        }
    }
    fprintf(stderr,
            "    %zu-byte collection, %d flips (%d candidate bytes%s): %d refused at open (%d 'checksum mismatch', %d by "
            "SQLite or the schema checks), %d opened but a read failed, %d harmless (identical content), %d silently "
            "different; %d of %d flips inside stored values caught\n",
            n, flips, candidates, thin > 1 ? ", every 7th flipped under valgrind" : "", refused, mismatch, refused - mismatch, read_failed, same, different,
            live_caught, live_flips);
    CHECK(different == 0, "%d flips gave silently different content", different);
    CHECK(unclear == 0, "%d refusals did not name the file", unclear);
    CHECK(live_flips > 50 && live_caught == live_flips, "%d of %d flips inside stored values caught", live_caught,
          live_flips);
    /* Plausible: most flips land in the free space of mostly empty pages (harmless), and a few hundred
     * bytes of records, cell pointers and page headers are live; the checksum (not SQLite) catches most. */
    CHECK(mismatch > flips / 10 && same > flips / 10 && refused + read_failed + same == flips,
          "implausible counts: %d mismatch, %d harmless of %d", mismatch, same, flips);
    fclose(fb);
    free(live);
    free(buf);
    free(want.s);
    free(got.s);
}

/* ---------------- writers keep it current; old and damaged files ---------------- */

static int opens(const char *path) {
    sbir_collection *c = collection_open(path);
    collection_close(c);
    return c != NULL;
}

static void test_writers(void) {
    const char *path = tmp_path("w.sqlite");
    CHECK(build(path, test_tmpdir()) == SBIR_OK && opens(path), "create: %s", sbir_last_error());
    sbir_collection *c = collection_edit(path, NULL);
    CHECK(c != NULL, "%s", sbir_last_error());
    if (c) {
        CHECK(collection_add_sketch(c, "cat", "quickdraw", "77", "[[[1,2],[3,4]]]", NULL, NULL) == SBIR_OK, "%s",
              sbir_last_error());
        CHECK(collection_commit(c) == SBIR_OK, "%s", sbir_last_error());
    }
    CHECK(opens(path), "after edit: %s", sbir_last_error());
    /* a change behind sbir's back */
    exec_sql(path, "UPDATE images SET class='dog' WHERE id=3");
    CHECK(!opens(path) && strstr(sbir_last_error(), "checksum mismatch") && strstr(sbir_last_error(), path),
          "raw UPDATE: %s", sbir_last_error());
    CHECK(collection_edit(path, NULL) == NULL, "edit accepted a damaged collection");
    setenv("SBIR_COLLECTION_NO_VERIFY", "1", 1);
    c = collection_open(path);
    CHECK(c && collection_count_images(c, &(coll_filter){NULL, "dog", NULL, NULL}) == 1, "NO_VERIFY: %s",
          sbir_last_error());
    collection_close(c);
    unsetenv("SBIR_COLLECTION_NO_VERIFY");
    CHECK(collection_reseal(path) == SBIR_OK && opens(path), "reseal: %s", sbir_last_error());
    /* the checksum row itself: removed, or not hex */
    exec_sql(path, "DELETE FROM meta WHERE key='content_crc32'");
    CHECK(!opens(path) && strstr(sbir_last_error(), "checksum") && strstr(sbir_last_error(), "missing"), "%s",
          sbir_last_error());
    exec_sql(path, "INSERT INTO meta VALUES('content_crc32','xyz')");
    CHECK(!opens(path) && strstr(sbir_last_error(), "not 8 hex digits"), "%s", sbir_last_error());
    /* collection_create replaces a damaged collection (it is still a collection) */
    CHECK(build(path, test_tmpdir()) == SBIR_OK && opens(path), "rebuilding over a damaged one: %s", sbir_last_error());
}

static void test_version_1(void) {
    const char *path = tmp_path("v1.sqlite");
    CHECK(build(path, test_tmpdir()) == SBIR_OK, "%s", sbir_last_error());
    exec_sql(path, "DELETE FROM meta WHERE key='content_crc32'; PRAGMA user_version=1;");
    sbir_collection *c = collection_open(path);
    CHECK(c && collection_count_images(c, NULL) == 19, "a version-1 collection: %s", sbir_last_error());
    collection_close(c);
    c = collection_edit(path, NULL);
    CHECK(c != NULL, "%s", sbir_last_error());
    if (c) CHECK(collection_commit(c) == SBIR_OK, "%s", sbir_last_error());
    sqlite3 *db;
    sqlite3_stmt *st;
    int ver = -1, has_crc = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
            ver = sqlite3_column_int(st, 0);
        sqlite3_finalize(st);
        if (sqlite3_prepare_v2(db, "SELECT 1 FROM meta WHERE key='content_crc32'", -1, &st, NULL) == SQLITE_OK)
            has_crc = sqlite3_step(st) == SQLITE_ROW;
        sqlite3_finalize(st);
    }
    sqlite3_close(db);
    CHECK(ver == SBIR_COLLECTION_VERSION && has_crc, "after an edit: version %d, checksum %s", ver, has_crc ? "yes" : "no");
    exec_sql(path, "UPDATE sketches SET class='dog' WHERE id=1");
    CHECK(!opens(path) && strstr(sbir_last_error(), "checksum mismatch"), "the upgraded file is verified: %s",
          sbir_last_error());
}

static void test_cli_message(void) {
    const char *b = getenv("BUILD");
    char bin[4096], cmd[9000], out[4096] = "";
    snprintf(bin, sizeof bin, "%s/sbir", b && *b ? b : "build");
    if (access(bin, X_OK) != 0) {
        SKIP("%s not built: sbir info on a damaged collection not checked", bin);
        return;
    }
    const char *path = tmp_path("cli.sqlite");
    CHECK(build(path, test_tmpdir()) == SBIR_OK, "%s", sbir_last_error());
    exec_sql(path, "UPDATE sketches SET strokes='[[[0],[0]]]' WHERE id=2");
    snprintf(cmd, sizeof cmd, "'%s' info '%s' 2>&1 >/dev/null", bin, path);
    FILE *p = popen(cmd, "r");
    size_t k = p ? fread(out, 1, sizeof out - 1, p) : 0;
    out[k] = 0;
    int st = p ? pclose(p) : -1;
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) != 0, "sbir info exited %d", st);
    CHECK(strstr(out, "checksum mismatch") && strstr(out, path) && strchr(out, '\n') == out + strlen(out) - 1,
          "message: %s", out);
}

int main(void) {
    RUN(test_every_byte);
    RUN(test_writers);
    RUN(test_version_1);
    RUN(test_cli_message);
    return test_summary();
}
