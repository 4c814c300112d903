/* test_import.c — `import folders` on the real PACS tree (library and CLI), a small hostile tree, and
 * `import bam` on a database built here in BAM!'s exact schema whose mids point at the two real BAM!
 * images plus generated ones with missing, ambiguous and broken labels/files. */
#include <sqlite3.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "data/collection.h"
#include "data/image.h"
#include "data/import_bam.h"
#include "data/import_folders.h"
#include "test.h"
#include "util/atomic_file.h"
#include "util/common.h"

static const char *tmp_path(const char *name) {
    static char buf[8][4096];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

/* Runs a shell command; returns its exit status and up to cap bytes of stdout+stderr. */
static int run_cmd(const char *cmd, char *out, size_t cap) {
    char full[8192];
    snprintf(full, sizeof full, "SBIR_QUIET=1 %s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *sbir_bin(void) {
    static char buf[512];
    const char *b = getenv("BUILD");
    snprintf(buf, sizeof buf, "%s/sbir", b && *b ? b : "build");
    return buf;
}

static long count_files(const char *dir) {
    char cmd[4200], out[64];
    snprintf(cmd, sizeof cmd, "find '%s' -type f | wc -l", dir);
    return run_cmd(cmd, out, sizeof out) == 0 ? atol(out) : -1;
}

static void test_pacs(void) {
    const char *d = test_data_dir();
    if (!d) {
        SKIP("../shared/data absent");
        return;
    }
    char root[4096], dir[4200];
    snprintf(root, sizeof root, "%s/pacs", d);
    long n_sketch, n_gallery = 0;
    snprintf(dir, sizeof dir, "%s/sketch", root);
    n_sketch = count_files(dir);
    const char *gallery[] = {"art_painting", "cartoon", "photo"};
    for (int i = 0; i < 3; i++) {
        snprintf(dir, sizeof dir, "%s/%s", root, gallery[i]);
        n_gallery += count_files(dir);
    }
    const char *out = tmp_path("pacs.sqlite");
    import_folders_opts o = {.root = root, .out = out, .sketch_style = "sketch"};
    import_folders_report r;
    CHECK(import_folders(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    fprintf(stderr, "    PACS: %lld images, %lld sketches in %.2f s\n", (long long)r.images, (long long)r.sketches,
            r.seconds);
    CHECK(r.images == n_gallery && r.sketches == n_sketch, "%lld/%ld images, %lld/%ld sketches", (long long)r.images,
          n_gallery, (long long)r.sketches, n_sketch);
    CHECK(r.styles == 4 && r.classes == 7 && r.skipped_bad == 0 && r.skipped_not_image == 0, "failed");
    sbir_collection *c = collection_open(out);
    CHECK(c != NULL, "%s", sbir_last_error());
    if (!c) return;
    CHECK(collection_count_images(c, NULL) == n_gallery && collection_count_sketches(c, NULL) == n_sketch, "failed");
    char **names;
    size_t n;
    CHECK(collection_styles(c, &names, &n) == SBIR_OK && n == 3, "sketch must not be a gallery style");
    coll_strings_free(names, n);
    CHECK(collection_classes(c, "sketches", &names, &n) == SBIR_OK && n == 7, "failed");
    coll_strings_free(names, n);
    coll_filter f = {.class_name = "dog", .style = "photo"};
    coll_image *ims;
    CHECK(collection_list_images(c, &f, &ims, &n) == SBIR_OK && n > 0, "failed");
    if (n > 0) {
        CHECK(strncmp(ims[0].path, "photo/dog/", 10) == 0 && ims[0].width == 227 && ims[0].height == 227, "failed");
        char *abs = collection_abs_path(c, ims[0].path);
        unsigned char *buf;
        size_t len;
        CHECK(read_file_all(abs, 1 << 24, &buf, &len) == SBIR_OK, "failed");
        char crc[9];
        snprintf(crc, sizeof crc, "%08x", sbir_crc32(0, buf, len));
        CHECK(strcmp(crc, ims[0].checksum) == 0, "checksum %s vs %s", ims[0].checksum, crc);
        free(buf);
        free(abs);
    }
    coll_images_free(ims, n);
    coll_sketch *sk;
    coll_filter fs = {.class_name = "horse"};
    CHECK(collection_list_sketches(c, &fs, &sk, &n) == SBIR_OK && n > 0, "failed");
    if (n > 0) CHECK(sk[0].image_path && strncmp(sk[0].image_path, "sketch/horse/", 13) == 0 && !sk[0].strokes &&
                     strcmp(sk[0].source, "pacs") == 0, "failed");
    coll_sketches_free(sk, n);
    collection_close(c);

    /* The CLI: exit codes and output. */
    char cmd[8192], txt[16384];
    snprintf(cmd, sizeof cmd, "%s import folders --root '%s' --out '%s' --sketch-style sketch", sbir_bin(), root,
             tmp_path("pacs-cli.sqlite"));
    int rc = run_cmd(cmd, txt, sizeof txt);
    char want[128];
    snprintf(want, sizeof want, "imported %ld images and %ld sketches (4 styles, 7 classes)", n_gallery, n_sketch);
    CHECK(rc == 0 && strstr(txt, want), "rc %d: %s", rc, txt);
    snprintf(cmd, sizeof cmd, "%s info '%s'", sbir_bin(), tmp_path("pacs-cli.sqlite"));
    rc = run_cmd(cmd, txt, sizeof txt);
    CHECK(rc == 0 && strstr(txt, "art_painting") && strstr(txt, "giraffe") && strstr(txt, "sketches: "), "rc %d: %s", rc, txt);
    snprintf(cmd, sizeof cmd, "%s import folders --root '%s' --out '%s' --sketch-style nosuch", sbir_bin(), root,
             tmp_path("x.sqlite"));
    rc = run_cmd(cmd, txt, sizeof txt);
    CHECK(rc == 1 && strstr(txt, "sbir: ") && strstr(txt, "nosuch"), "rc %d: %s", rc, txt);
    snprintf(cmd, sizeof cmd, "%s import folders --out x.sqlite", sbir_bin());
    CHECK(run_cmd(cmd, txt, sizeof txt) == 2, "%s", txt);
    snprintf(cmd, sizeof cmd, "%s import folders --help", sbir_bin());
    CHECK(run_cmd(cmd, txt, sizeof txt) == 0 && strstr(txt, "usage:"), "%s", txt);
    snprintf(cmd, sizeof cmd, "%s info '%s/pacs/photo/dog/056_0001.jpg'", sbir_bin(), d);
    CHECK(run_cmd(cmd, txt, sizeof txt) == 1 && strstr(txt, "neither a collection, a model nor an index"), "%s", txt);
    snprintf(cmd, sizeof cmd, "%s info --help", sbir_bin());
    CHECK(run_cmd(cmd, txt, sizeof txt) == 0 && strstr(txt, "usage:"), "%s", txt);
}

static void mkdirs(const char *p) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", p);
    if (system(cmd) != 0) exit(2);
}

static void write_png(const char *path, int w, int h, uint8_t v) {
    uint8_t *px = malloc((size_t)w * h * 3);
    memset(px, v, (size_t)w * h * 3);
    if (image_write_png(path, px, w, h, 3)) {
        fprintf(stderr, "%s\n", sbir_last_error());
        exit(2);
    }
    free(px);
}

/* A small tree with everything that should be skipped. */
static void test_folders_hostile(void) {
    const char *root = tmp_path("tree");
    char p[4200];
    snprintf(p, sizeof p, "%s/oil/cat", root), mkdirs(p);
    snprintf(p, sizeof p, "%s/oil/dog/deeper", root), mkdirs(p);
    snprintf(p, sizeof p, "%s/ink/cat", root), mkdirs(p);
    snprintf(p, sizeof p, "%s/oil/cat/a.png", root), write_png(p, 30, 20, 10);
    snprintf(p, sizeof p, "%s/oil/cat/b.PNG", root), write_png(p, 8, 9, 200);
    snprintf(p, sizeof p, "%s/oil/dog/c.png", root), write_png(p, 5, 5, 0);
    snprintf(p, sizeof p, "%s/ink/cat/s.png", root), write_png(p, 5, 5, 255);
    snprintf(p, sizeof p, "%s/oil/cat/notes.txt", root), test_write_file(p, "hello", 5);
    snprintf(p, sizeof p, "%s/oil/cat/fake.jpg", root), test_write_file(p, "not a jpeg", 10);
    snprintf(p, sizeof p, "%s/oil/cat/.hidden.png", root), test_write_file(p, "x", 1);
    snprintf(p, sizeof p, "%s/oil/stray.png", root), write_png(p, 5, 5, 0);
    snprintf(p, sizeof p, "%s/README", root), test_write_file(p, "r", 1);
    const char *out = tmp_path("tree.sqlite");
    import_folders_opts o = {.root = root, .out = out, .sketch_style = "ink"};
    import_folders_report r;
    CHECK(import_folders(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    CHECK(r.images == 3 && r.sketches == 1, "%lld images %lld sketches", (long long)r.images, (long long)r.sketches);
    CHECK(r.skipped_not_image == 1 && r.skipped_bad == 1, "%lld not images, %lld bad", (long long)r.skipped_not_image,
          (long long)r.skipped_bad);
    /* oil/stray.png, README, oil/dog/deeper */
    CHECK(r.skipped_misplaced == 3, "%lld misplaced", (long long)r.skipped_misplaced);
    CHECK(r.n_examples == 1 && strstr(r.examples[0], "fake.jpg"), "%s", r.examples[0]);
    sbir_collection *c = collection_open(out);
    coll_filter f = {.class_name = "cat"};
    coll_image *ims;
    size_t n;
    CHECK(c && collection_list_images(c, &f, &ims, &n) == SBIR_OK && n == 2, "failed");
    if (c && n == 2) CHECK(strcmp(ims[0].path, "oil/cat/a.png") == 0 && ims[0].width == 30 && ims[0].height == 20, "failed");
    if (c) coll_images_free(ims, n);
    collection_close(c);
    /* A failed import leaves the previous collection alone. */
    o.sketch_style = "nosuch";
    CHECK(import_folders(&o, &r) == SBIR_ERR, "failed");
    c = collection_open(out);
    CHECK(c && collection_count_images(c, NULL) == 3, "failed");
    collection_close(c);
    o.root = tmp_path("no-such-dir");
    CHECK(import_folders(&o, &r) == SBIR_ERR && strstr(sbir_last_error(), "no-such-dir"), "failed");
}

/* ---- BAM ---- */

static const char *k_score_cols[20] = {
    "content_bicycle", "content_bird",    "content_building", "content_cars",     "content_cat",
    "content_dog",     "content_flower",  "content_people",   "content_tree",     "emotion_gloomy",
    "emotion_happy",   "emotion_peaceful", "emotion_scary",   "media_3d_graphics", "media_comic",
    "media_graphite",  "media_oilpaint",  "media_pen_ink",    "media_vectorart",  "media_watercolor"};

static void sql(sqlite3 *db, const char *s) {
    char *err = NULL;
    if (sqlite3_exec(db, s, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s: %s\n", s, err);
        exit(2);
    }
}

typedef struct {
    long long mid;
    const char *pos[4];   /* positive crowd/automatic attributes (with prefixes) */
    const char *unsure;   /* one 'unsure' crowd label */
    const char *file;     /* NULL: no file; "png": generated; "text": junk; else a shared-data path */
} bam_item;

static void make_bam_db(const char *path, const bam_item *items, int n) {
    sqlite3 *db;
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK) exit(2);
    sql(db, "CREATE TABLE modules(mid int primary key, project_id int, src text, mature_content boolean, license text)");
    char s[4096] = "CREATE TABLE scores(mid int", a[4096] = "CREATE TABLE automatic_labels(mid int";
    for (int i = 0; i < 20; i++) {
        snprintf(s + strlen(s), sizeof s - strlen(s), ", %s real", k_score_cols[i]);
        snprintf(a + strlen(a), sizeof a - strlen(a), ", %s text", k_score_cols[i]);
    }
    strcat(s, ")");
    strcat(a, ")");
    sql(db, s);
    sql(db, a);
    sql(db, "CREATE TABLE crowd_labels(mid int, attribute text, label text, primary key(mid, attribute))");
    for (int i = 0; i < n; i++) {
        const bam_item *it = &items[i];
        char q[8192];
        snprintf(q, sizeof q, "INSERT INTO modules VALUES(%lld, %d, 'https://example.org/%lld.jpg', 0, 'CC')", it->mid,
                 i, it->mid);
        sql(db, q);
        /* scores: positives 0.9, 0.8, ... (first is the best); everything else 0.1 */
        snprintf(q, sizeof q, "INSERT INTO scores VALUES(%lld", it->mid);
        char aq[8192];
        snprintf(aq, sizeof aq, "INSERT INTO automatic_labels VALUES(%lld", it->mid);
        for (int c = 0; c < 20; c++) {
            double v = 0.1;
            const char *lab = "negative";
            for (int k = 0; k < 4 && it->pos[k]; k++)
                if (strcmp(it->pos[k], k_score_cols[c]) == 0) v = 0.9 - 0.1 * k, lab = "positive";
            snprintf(q + strlen(q), sizeof q - strlen(q), ", %g", v);
            snprintf(aq + strlen(aq), sizeof aq - strlen(aq), ", '%s'", lab);
        }
        strcat(q, ")");
        strcat(aq, ")");
        sql(db, q);
        sql(db, aq);
        for (int c = 0; c < 20; c++) {
            const char *lab = "negative";
            for (int k = 0; k < 4 && it->pos[k]; k++)
                if (strcmp(it->pos[k], k_score_cols[c]) == 0) lab = "positive";
            if (it->unsure && strcmp(it->unsure, k_score_cols[c]) == 0) lab = "unsure";
            snprintf(q, sizeof q, "INSERT INTO crowd_labels VALUES(%lld, '%s', '%s')", it->mid, k_score_cols[c], lab);
            sql(db, q);
        }
    }
    sqlite3_close(db);
}

/* labels.tsv: file, mid, media, content ("(none ...)" when none of the five). */
static int read_bam_labels(const char *dir, char files[2][256], long long mids[2], char media[2][64], char content[2][64]) {
    char p[4200];
    snprintf(p, sizeof p, "%s/labels.tsv", dir);
    FILE *f = fopen(p, "r");
    if (!f) return 0;
    char line[1024];
    int n = 0;
    while (n < 2 && fgets(line, sizeof line, f)) {
        char *save, *file = strtok_r(line, "\t\n", &save), *mid = strtok_r(NULL, "\t\n", &save),
                    *med = strtok_r(NULL, "\t\n", &save), *con = strtok_r(NULL, "\t\n", &save);
        if (!file || !mid || !med || !con || strcmp(file, "file") == 0) continue;
        snprintf(files[n], 256, "%s", file);
        mids[n] = atoll(mid);
        snprintf(media[n], 64, "%s", med);
        snprintf(content[n], 64, "%s", con[0] == '(' ? "" : con);
        n++;
    }
    fclose(f);
    return n;
}

static void test_bam(void) {
    const char *d = test_data_dir();
    if (!d) {
        SKIP("../shared/data absent");
        return;
    }
    char bamdir[4096];
    snprintf(bamdir, sizeof bamdir, "%s/bam", d);
    char files[2][256], media[2][64], content[2][64];
    long long mids[2];
    CHECK(read_bam_labels(bamdir, files, mids, media, content) == 2, "labels.tsv unreadable");
    /* The real pair: watercolor + cars, comic + none of the five. Keep their true labels. */
    char rm[2][2][80];
    bam_item items[9];
    memset(items, 0, sizeof items);
    int real_idx[2];
    for (int i = 0; i < 2; i++) {
        snprintf(rm[i][0], 80, "media_%s", media[i]);
        snprintf(rm[i][1], 80, "content_%s", content[i]);
        items[i].mid = mids[i];
        items[i].pos[0] = rm[i][0];
        items[i].pos[1] = content[i][0] ? rm[i][1] : "content_people";
        items[i].file = files[i];
        real_idx[i] = content[i][0] ? 1 : 0;
    }
    bam_item gen[7] = {
        {1001, {"media_oilpaint", "content_cat"}, NULL, "png"},                       /* imported */
        {1002, {"media_oilpaint", "media_watercolor", "content_dog"}, NULL, "png"},   /* ambiguous medium */
        {1003, {"media_pen_ink", "content_bird"}, NULL, NULL},                        /* no file */
        {1004, {NULL}, NULL, "png"},                                                  /* no labels at all */
        {1005, {"media_graphite", "content_cars", "content_dog"}, NULL, "png"},       /* ambiguous content */
        {1006, {"media_vectorart", "content_bicycle"}, NULL, "text"},                 /* not an image */
        {1007, {"content_bird"}, "media_comic", "png"},                               /* unsure medium only */
    };
    memcpy(items + 2, gen, sizeof gen);
    const char *imgdir = tmp_path("bam-images");
    mkdirs(imgdir);
    char p[4200];
    for (int i = 0; i < 9; i++) {
        const bam_item *it = &items[i];
        if (!it->file) continue;
        if (strcmp(it->file, "png") == 0) {
            snprintf(p, sizeof p, "%s/%lld.png", imgdir, it->mid);
            write_png(p, 40, 30, (uint8_t)(it->mid % 200));
        } else if (strcmp(it->file, "text") == 0) {
            snprintf(p, sizeof p, "%s/%lld.jpg", imgdir, it->mid);
            test_write_file(p, "<html>404</html>", 16);
        } else {
            char src[4200], absdir[4096];
            if (!realpath(bamdir, absdir)) exit(2); /* a relative link target would resolve from imgdir */
            snprintf(src, sizeof src, "%s/%s", absdir, it->file);
            snprintf(p, sizeof p, "%s/%lld.jpg", imgdir, it->mid);
            if (symlink(src, p) != 0) exit(2);
        }
    }
    const char *db = tmp_path("bam.sqlite"), *out = tmp_path("bam-coll.sqlite");
    make_bam_db(db, items, 9);

    import_bam_opts o = {.db = db, .images = imgdir, .out = out, .labels = IMPORT_BAM_CROWD};
    import_bam_report r;
    CHECK(import_bam(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    int n_real = real_idx[0] + real_idx[1];
    CHECK(r.mids == 9 && r.imported == 1 + n_real, "mids %lld imported %lld", (long long)r.mids, (long long)r.imported);
    CHECK(r.ambiguous == 2 && r.no_file == 1 && r.not_image == 1, "ambiguous %lld no_file %lld not_image %lld",
          (long long)r.ambiguous, (long long)r.no_file, (long long)r.not_image);
    CHECK(r.no_medium == 2 && r.no_content == 2 - n_real, "no_medium %lld no_content %lld", (long long)r.no_medium,
          (long long)r.no_content);
    CHECK(r.n_examples == 1 && strstr(r.examples[0], "1006.jpg"), "%s", r.examples[0]);
    sbir_collection *c = collection_open(out);
    CHECK(c != NULL, "%s", sbir_last_error());
    if (c) {
        coll_image *ims;
        size_t n;
        CHECK(collection_list_images(c, NULL, &ims, &n) == SBIR_OK && (int)n == 1 + n_real, "failed");
        for (size_t i = 0; i < n; i++) {
            if (strcmp(ims[i].path, "1001.png") == 0) {
                CHECK(strcmp(ims[i].class_name, "cat") == 0 && strcmp(ims[i].style, "oilpaint") == 0 && ims[i].width == 40, "failed");
            } else {
                /* the real watercolor image of cars -> class "car" */
                int k = ims[i].path && atoll(ims[i].path) == mids[0] ? 0 : 1;
                char want[64];
                snprintf(want, sizeof want, "%lld.jpg", mids[k]);
                CHECK(strcmp(ims[i].path, want) == 0 && strcmp(ims[i].style, media[k]) == 0 &&
                      strcmp(ims[i].class_name, import_bam_class_name(content[k])) == 0 && ims[i].width == 600,
                      "%s %s %s %d", ims[i].path, ims[i].class_name, ims[i].style, ims[i].width);
                CHECK(strcmp(ims[i].class_name, "car") == 0, "cars must become car: %s", ims[i].class_name);
            }
        }
        coll_images_free(ims, n);
        collection_close(c);
    }

    /* scores:0.5 — ambiguity resolves to the best score: 1002 -> oilpaint, 1005 -> cars. */
    o.labels = IMPORT_BAM_SCORES;
    o.threshold = 0.5;
    CHECK(import_bam(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    CHECK(r.imported == 3 + n_real && r.ambiguous == 0 && r.no_medium == 2, "imported %lld", (long long)r.imported);
    c = collection_open(out);
    coll_filter f = {.class_name = "car", .style = "graphite"};
    CHECK(c && collection_count_images(c, &f) == 1, "failed");
    collection_close(c);
    /* automatic labels behave like crowd here, and --media narrows the set. */
    o.labels = IMPORT_BAM_AUTOMATIC;
    const char *only[] = {"media_watercolor"};
    o.media = only;
    o.n_media = 1;
    CHECK(import_bam(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    /* the watercolor image, and 1002 (oilpaint + watercolor: only watercolor counts now) */
    CHECK(r.imported == n_real + 1 && r.ambiguous == 0, "imported %lld ambiguous %lld", (long long)r.imported,
          (long long)r.ambiguous);
    const char *bad[] = {"crayon"};
    o.media = bad;
    CHECK(import_bam(&o, &r) == SBIR_ERR && strstr(sbir_last_error(), "crayon"), "failed");
    o.media = NULL;
    o.n_media = 0;

    /* The CLI. */
    char cmd[8192], txt[16384];
    snprintf(cmd, sizeof cmd, "%s import bam --db '%s' --images '%s' --out '%s' --labels crowd", sbir_bin(), db, imgdir,
             tmp_path("bam-cli.sqlite"));
    int rc = run_cmd(cmd, txt, sizeof txt);
    CHECK(rc == 0 && strstr(txt, "9 mids") && strstr(txt, "2 ambiguous labels") && strstr(txt, "1 no image file"),
          "rc %d: %s", rc, txt);
    snprintf(cmd, sizeof cmd, "%s import bam --db '%s' --images '%s' --out x.sqlite --labels maybe", sbir_bin(), db, imgdir);
    CHECK(run_cmd(cmd, txt, sizeof txt) == 2, "%s", txt);

    /* Not BAM: a collection, a database missing a column, a junk file. */
    o.labels = IMPORT_BAM_CROWD;
    o.db = out;
    CHECK(import_bam(&o, &r) == SBIR_ERR && strstr(sbir_last_error(), "not a BAM! database"), "%s", sbir_last_error());
    const char *partial = tmp_path("partial.sqlite");
    sqlite3 *h;
    sqlite3_open(partial, &h);
    sql(h, "CREATE TABLE modules(mid int primary key, src text); CREATE TABLE scores(mid int, media_oilpaint real)");
    sqlite3_close(h);
    o.db = partial;
    o.labels = IMPORT_BAM_SCORES;
    CHECK(import_bam(&o, &r) == SBIR_ERR && strstr(sbir_last_error(), "media_3d_graphics"), "%s", sbir_last_error());
    o.labels = IMPORT_BAM_CROWD;
    CHECK(import_bam(&o, &r) == SBIR_ERR && strstr(sbir_last_error(), "crowd_labels"), "%s", sbir_last_error());
    o.db = tmp_path("junk.sqlite");
    test_write_file(o.db, "junk junk junk junk junk junk junk junk junk junk junk junk", 60);
    CHECK(import_bam(&o, &r) == SBIR_ERR && strstr(sbir_last_error(), "junk.sqlite"), "%s", sbir_last_error());
    /* The failed imports left the last good collection in place. */
    c = collection_open(out);
    CHECK(c && collection_count_images(c, NULL) == n_real + 1, "failed");
    collection_close(c);
}

int main(void) {
    RUN(test_pacs);
    RUN(test_folders_hostile);
    RUN(test_bam);
    return test_summary();
}
