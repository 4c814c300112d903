/* test_collection.c — the SQLite catalog: build, query, reopen, edit, refuse foreign files, and the
 * atomic-build guarantee (a build killed half-way leaves the previous collection intact). */
#include <signal.h>
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/collection.h"
#include "test.h"
#include "util/common.h"
#include "util/rng.h"

static const char *tmp_path(const char *name) {
    static char buf[4][4096];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

static int file_exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

/* No "<path>.tmp.*" left in the test directory. */
static int count_temporaries(void) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls '%s' | grep -c '\\.tmp\\.'", test_tmpdir());
    FILE *p = popen(cmd, "r");
    int n = 0;
    if (p) {
        if (fscanf(p, "%d", &n) != 1) n = 0;
        pclose(p);
    }
    return n;
}

static void build_small(const char *path, const char *root) {
    sbir_collection *c = collection_create(path, root);
    CHECK(c != NULL, "%s", sbir_last_error());
    if (!c) return;
    char p[4200];
    const char *classes[] = {"cat", "dog"}, *styles[] = {"photo", "cartoon", "oilpaint"};
    int k = 0;
    for (int ci = 0; ci < 2; ci++)
        for (int si = 0; si < 3; si++)
            for (int i = 0; i <= ci + si; i++) {
                snprintf(p, sizeof p, "%s/%s/%s/%d.jpg", root, styles[si], classes[ci], i);
                CHECK(collection_add_image(c, p, classes[ci], styles[si], 100 + k, 50, "deadbeef", NULL) == SBIR_OK, "%s",
                      sbir_last_error());
                k++;
            }
    CHECK(collection_add_image(c, "/elsewhere/x.png", "cat", "photo", 0, 0, NULL, NULL) == SBIR_OK, "failed");
    snprintf(p, sizeof p, "%s/photo/cat/0.jpg", root);
    CHECK(collection_add_image(c, p, "cat", "photo", 1, 1, NULL, NULL) == SBIR_ERR, "duplicate path accepted");
    CHECK(strstr(sbir_last_error(), "photo/cat/0.jpg") != NULL, "%s", sbir_last_error());
    int64_t id = 0;
    CHECK(collection_add_sketch(c, "cat", "quickdraw", "4567", "[[[0,10],[0,5]]]", NULL, &id) == SBIR_OK && id == 1, "failed");
    snprintf(p, sizeof p, "%s/sketch/dog/1.png", root);
    CHECK(collection_add_sketch(c, "dog", "pacs", NULL, NULL, p, &id) == SBIR_OK && id == 2, "failed");
    CHECK(collection_add_sketch(c, "dog", "x", NULL, "[]", p, NULL) == SBIR_ERR, "both strokes and image accepted");
    CHECK(collection_add_sketch(c, "dog", "x", NULL, NULL, NULL, NULL) == SBIR_ERR, "neither accepted");
    CHECK(collection_set_meta(c, "note", "hello") == SBIR_OK, "failed");
    CHECK(collection_commit(c) == SBIR_OK, "%s", sbir_last_error());
}

static int count_cb(const coll_image *im, void *ctx) {
    (void)im;
    (*(int *)ctx)++;
    return 0;
}

static void test_build_and_query(void) {
    const char *path = tmp_path("small.sqlite");
    const char *root = test_tmpdir();
    build_small(path, root);
    CHECK(file_exists(path), "not written");
    CHECK(count_temporaries() == 0, "failed");
    sbir_collection *c = collection_open(path);
    CHECK(c != NULL, "%s", sbir_last_error());
    if (!c) return;
    CHECK(collection_root(c) && strcmp(collection_root(c), root) == 0, "root %s", collection_root(c));
    /* images: cat 1+2+3, dog 2+3+4 = 15, plus one outside the root */
    CHECK(collection_count_images(c, NULL) == 16, "failed");
    coll_filter f = {.class_name = "dog", .style = "oilpaint"};
    CHECK(collection_count_images(c, &f) == 4, "failed");
    coll_image *ims;
    size_t n;
    CHECK(collection_list_images(c, &f, &ims, &n) == SBIR_OK && n == 4, "failed");
    for (size_t i = 0; i < n; i++) {
        CHECK(strncmp(ims[i].path, "oilpaint/dog/", 13) == 0, "stored path %s is not relative", ims[i].path);
        CHECK(strcmp(ims[i].split, sbir_split_name(sbir_split_of(ims[i].path))) == 0, "failed");
        CHECK(ims[i].height == 50 && ims[i].width >= 100 && strcmp(ims[i].checksum, "deadbeef") == 0, "failed");
        char *abs = collection_abs_path(c, ims[i].path);
        CHECK(strncmp(abs, root, strlen(root)) == 0 && strstr(abs, ims[i].path), "%s", abs);
        free(abs);
    }
    coll_images_free(ims, n);
    coll_filter fo = {.class_name = "cat", .style = "photo"};
    CHECK(collection_list_images(c, &fo, &ims, &n) == SBIR_OK && n == 2, "failed");
    if (n == 2) CHECK(strcmp(ims[1].path, "/elsewhere/x.png") == 0 && ims[1].width == 0 && ims[1].checksum == NULL, "failed");
    coll_images_free(ims, n);
    int seen = 0;
    CHECK(collection_each_image(c, NULL, count_cb, &seen) == 0 && seen == 16, "failed");
    /* splits partition the images */
    int64_t total = 0;
    for (int s = 0; s < 3; s++) {
        coll_filter fs = {.split = sbir_split_name(s)};
        total += collection_count_images(c, &fs);
    }
    CHECK(total == 16, "failed");

    coll_sketch *sk;
    CHECK(collection_list_sketches(c, NULL, &sk, &n) == SBIR_OK && n == 2, "failed");
    if (n == 2) {
        CHECK(strcmp(sk[0].strokes, "[[[0,10],[0,5]]]") == 0 && sk[0].image_path == NULL && strcmp(sk[0].key_id, "4567") == 0, "failed");
        CHECK(strcmp(sk[0].split, sbir_split_name(sbir_split_of("quickdraw:4567"))) == 0, "failed");
        CHECK(sk[1].strokes == NULL && strcmp(sk[1].image_path, "sketch/dog/1.png") == 0, "%s", sk[1].image_path);
    }
    coll_sketches_free(sk, n);
    coll_filter fq = {.source = "pacs"};
    CHECK(collection_count_sketches(c, &fq) == 1, "failed");

    char **names;
    CHECK(collection_classes(c, NULL, &names, &n) == SBIR_OK && n == 2 && strcmp(names[0], "cat") == 0, "failed");
    coll_strings_free(names, n);
    CHECK(collection_styles(c, &names, &n) == SBIR_OK && n == 3 && strcmp(names[0], "cartoon") == 0 &&
          strcmp(names[2], "photo") == 0, "failed");
    coll_strings_free(names, n);
    coll_count *counts;
    CHECK(collection_image_counts(c, &counts, &n) == SBIR_OK, "failed");
    int64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += counts[i].count;
    CHECK(sum == 16 && n >= 6, "failed");
    coll_counts_free(counts, n);
    CHECK(collection_sketch_counts(c, &counts, &n) == SBIR_OK && n == 2 && counts[0].style == NULL, "failed");
    coll_counts_free(counts, n);
    char *note = collection_get_meta(c, "note");
    CHECK(note && strcmp(note, "hello") == 0, "failed");
    free(note);
    CHECK(collection_get_meta(c, "absent") == NULL, "failed");
    CHECK(collection_add_image(c, "/a.jpg", "x", "y", 0, 0, NULL, NULL) == SBIR_ERR, "read-only collection written");
    collection_close(c);
}

static void test_edit(void) {
    const char *path = tmp_path("edit.sqlite");
    build_small(path, test_tmpdir());
    /* Edit without commit: nothing changes, no temporary left. */
    sbir_collection *c = collection_edit(path, NULL);
    CHECK(c != NULL, "%s", sbir_last_error());
    if (c) {
        CHECK(collection_add_sketch(c, "cat", "quickdraw", "1", "[]", NULL, NULL) == SBIR_OK, "failed");
        collection_close(c);
    }
    c = collection_open(path);
    CHECK(c && collection_count_sketches(c, NULL) == 2, "failed");
    collection_close(c);
    CHECK(count_temporaries() == 0, "failed");
    /* Edit with commit. */
    c = collection_edit(path, NULL);
    if (c) {
        for (int i = 0; i < 10; i++) {
            char key[16];
            snprintf(key, sizeof key, "%d", 100 + i);
            CHECK(collection_add_sketch(c, "bird", "quickdraw", key, "[[[1],[2]]]", NULL, NULL) == SBIR_OK, "failed");
        }
        CHECK(collection_commit(c) == SBIR_OK, "%s", sbir_last_error());
    }
    c = collection_open(path);
    CHECK(c && collection_count_sketches(c, NULL) == 12 && collection_count_images(c, NULL) == 16, "failed");
    CHECK(c && collection_root(c) != NULL, "root survives an edit");
    collection_close(c);
    /* edit of a missing file starts an empty collection */
    const char *fresh = tmp_path("fresh.sqlite");
    c = collection_edit(fresh, NULL);
    CHECK(c != NULL && collection_root(c) == NULL, "failed");
    if (c) {
        CHECK(collection_add_sketch(c, "cat", "quickdraw", "9", "[]", NULL, NULL) == SBIR_OK, "failed");
        CHECK(collection_commit(c) == SBIR_OK, "failed");
    }
    c = collection_open(fresh);
    CHECK(c && collection_count_sketches(c, NULL) == 1, "failed");
    collection_close(c);
}

static void exec_sql(const char *path, const char *sql) {
    sqlite3 *db;
    if (sqlite3_open(path, &db) != SQLITE_OK || sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s\n", sqlite3_errmsg(db));
        exit(2);
    }
    sqlite3_close(db);
}

static void expect_refused(const char *path, const char *needle, const char *what, int edit_too) {
    sbir_clear_error();
    sbir_collection *c = collection_open(path);
    CHECK(c == NULL, "%s: opened", what);
    collection_close(c);
    CHECK(strstr(sbir_last_error(), path) && strstr(sbir_last_error(), needle), "%s: message '%s' lacks '%s'", what,
          sbir_last_error(), needle);
    if (!edit_too) return; /* editing a missing file starts a new collection */
    c = collection_edit(path, NULL);
    CHECK(c == NULL, "%s: edit accepted it", what);
    collection_close(c);
}

static void test_foreign_files(void) {
    const char *p = tmp_path("future.sqlite");
    build_small(p, test_tmpdir());
    exec_sql(p, "PRAGMA user_version=99");
    expect_refused(p, "version 99", "newer schema", 1);
    p = tmp_path("other.sqlite");
    exec_sql(p, "CREATE TABLE foo(x); INSERT INTO foo VALUES(1);");
    expect_refused(p, "not an sbir collection", "unrelated SQLite file", 1);
    p = tmp_path("bam.sqlite");
    exec_sql(p, "CREATE TABLE modules(mid int primary key, project_id int, src text, mature_content boolean, license text);"
                "CREATE TABLE crowd_labels(mid int, attribute text, label text, primary key(mid, attribute));");
    expect_refused(p, "BAM", "BAM database", 1);
    p = tmp_path("random.sqlite");
    char junk[4096];
    for (size_t i = 0; i < sizeof junk; i++) junk[i] = (char)(i * 131 + 7);
    test_write_file(p, junk, sizeof junk);
    expect_refused(p, "not an SQLite database", "random bytes", 1);
    p = tmp_path("empty.sqlite");
    test_write_file(p, "", 0);
    expect_refused(p, "not an sbir collection", "empty file", 1);
    expect_refused(tmp_path("missing.sqlite"), "cannot open", "missing file", 0);
    /* create refuses to overwrite what is not a collection */
    p = tmp_path("bam.sqlite");
    sbir_collection *c = collection_create(p, NULL);
    CHECK(c == NULL && strstr(sbir_last_error(), "refusing to overwrite") && strstr(sbir_last_error(), "BAM"), "%s",
          sbir_last_error());
    collection_close(c);
    c = collection_open(p);
    CHECK(c == NULL && strstr(sbir_last_error(), "BAM"), "the BAM file was touched");
    /* a damaged collection: right ids, missing table */
    p = tmp_path("damaged.sqlite");
    build_small(p, test_tmpdir());
    exec_sql(p, "DROP TABLE sketches");
    expect_refused(p, "sketches", "missing table", 1);
}

/* A child builds a new collection over `path` and dies (SIGKILL) before committing; the old one must
 * still be there, complete. */
static void test_atomic_build(void) {
    const char *path = tmp_path("atomic.sqlite");
    build_small(path, test_tmpdir());
    for (int mode = 0; mode < 2; mode++) {
        pid_t pid = fork();
        if (pid == 0) {
            sbir_collection *c = collection_create(path, NULL);
            if (!c) _exit(3);
            char p[64];
            for (int i = 0; i < 20000; i++) {
                snprintf(p, sizeof p, "/img/%d.jpg", i);
                collection_add_image(c, p, "cat", "photo", 1, 1, NULL, NULL);
                if (mode == 0 && i == 10000) raise(SIGKILL); /* dies by itself mid-build */
            }
            if (mode == 1) pause(); /* waits to be killed by the parent before commit */
            _exit(0);
        }
        if (mode == 1) {
            usleep(300 * 1000);
            kill(pid, SIGKILL);
        }
        int status;
        waitpid(pid, &status, 0);
        CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "child status %d", status);
        sbir_collection *c = collection_open(path);
        CHECK(c != NULL, "%s", sbir_last_error());
        CHECK(c && collection_count_images(c, NULL) == 16 && collection_count_sketches(c, NULL) == 2,
              "old collection damaged");
        collection_close(c);
    }
    /* And an abandoned build in-process. */
    sbir_collection *c = collection_create(path, NULL);
    CHECK(c && collection_add_image(c, "/x.jpg", "a", "b", 0, 0, NULL, NULL) == SBIR_OK, "failed");
    collection_close(c);
    c = collection_open(path);
    CHECK(c && collection_count_images(c, NULL) == 16, "failed");
    collection_close(c);
}

static void test_bulk_speed(void) {
    /* Under valgrind (about 30x slower) the time bound means nothing: 10k rows, no bound. */
    const int N = test_under_valgrind() ? 10000 : 100000;
    const char *path = tmp_path("bulk.sqlite");
    double t0 = sbir_now();
    sbir_collection *c = collection_create(path, test_tmpdir());
    CHECK(c != NULL, "failed");
    if (!c) return;
    char p[4200], key[32];
    int ok = 1;
    for (int i = 0; i < N && ok; i++) {
        snprintf(p, sizeof p, "%s/s%d/c%d/%d.jpg", test_tmpdir(), i % 7, i % 5, i);
        ok = collection_add_image(c, p, "c", "s", 227, 227, "01234567", NULL) == SBIR_OK;
        snprintf(key, sizeof key, "%d", i);
        ok = ok && collection_add_sketch(c, "c", "quickdraw", key, "[[[0,1,2],[3,4,5]]]", NULL, NULL) == SBIR_OK;
    }
    CHECK(ok, "%s", sbir_last_error());
    CHECK(collection_commit(c) == SBIR_OK, "failed");
    double dt = sbir_now() - t0;
    fprintf(stderr, "    %dk images + %dk sketches: %.2f s\n", N / 1000, N / 1000, dt);
    if (N == 100000)
        CHECK(dt < 30.0, "bulk insert took %.1f s", dt);
    else
        SKIP("under valgrind: 10k rows, no time bound");
    c = collection_open(path);
    CHECK(c && collection_count_images(c, NULL) == N && collection_count_sketches(c, NULL) == N, "failed");
    coll_filter f = {.split = "test"};
    int64_t nt = c ? collection_count_images(c, &f) : 0;
    CHECK(nt > N * 17 / 100 && nt < N * 23 / 100, "test split has %lld of %d", (long long)nt, N);
    collection_close(c);
}

int main(void) {
    RUN(test_build_and_query);
    RUN(test_edit);
    RUN(test_foreign_files);
    RUN(test_atomic_build);
    RUN(test_bulk_speed);
    return test_summary();
}
