/* test_fuzz_regressions.c — every crash the fuzzers found stays fixed.
 *
 * fuzz/crashes/<target>/ holds the minimal reproducer of each fixed crash, leak or memory blow-up.
 * This test compiles the fuzz harnesses themselves (fuzz/fuzz_*.c, entry points renamed) into the
 * normal gcc build and replays every reproducer through the same entry point the fuzzer used, each
 * in a forked child: the child must exit cleanly (a crash, an abort from a broken invariant, or under
 * SAN=1 a leak reported by LeakSanitizer, all fail the check). The fixed bugs also get a direct test of
 * the behaviour that replaced the crash (a clean error, or the bad rows skipped and counted).
 *
 * Open bugs (found, not yet fixed by the reader's owner) are in fuzz/pending/ instead, so this test
 * stays green; see RELIABILITY.md. A fix moves the reproducer here. */
#include <dirent.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test.h"

/* The harnesses, each with its libFuzzer entry points renamed. */
#define LLVMFuzzerInitialize fz_collection_init
#define LLVMFuzzerTestOneInput fz_collection_one
#include "../fuzz/fuzz_collection.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fz_import_bam_init
#define LLVMFuzzerTestOneInput fz_import_bam_one
#include "../fuzz/fuzz_import_bam.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fz_model_init
#define LLVMFuzzerTestOneInput fz_model_one
#include "../fuzz/fuzz_model.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fz_safetensors_init
#define LLVMFuzzerTestOneInput fz_safetensors_one
#include "../fuzz/fuzz_safetensors.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fz_index_init
#define LLVMFuzzerTestOneInput fz_index_one
#include "../fuzz/fuzz_index.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fz_image_init
#define LLVMFuzzerTestOneInput fz_image_one
#include "../fuzz/fuzz_image.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fz_qd_ndjson_init
#define LLVMFuzzerTestOneInput fz_qd_ndjson_one
#include "../fuzz/fuzz_qd_ndjson.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fz_qd_bin_init
#define LLVMFuzzerTestOneInput fz_qd_bin_one
#include "../fuzz/fuzz_qd_bin.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fz_qd_npy_init
#define LLVMFuzzerTestOneInput fz_qd_npy_one
#include "../fuzz/fuzz_qd_npy.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput
#define LLVMFuzzerInitialize fz_qd_drawing_json_init
#define LLVMFuzzerTestOneInput fz_qd_drawing_json_one
#include "../fuzz/fuzz_qd_drawing_json.c"
#undef LLVMFuzzerInitialize
#undef LLVMFuzzerTestOneInput

#include "data/collection.h"
#include "model/dataset.h"
#include "util/atomic_file.h"

typedef struct {
    const char *name;
    int (*init)(int *, char ***);
    int (*one)(const uint8_t *, size_t);
} fuzz_target;

static const fuzz_target k_targets[] = {
    {"fuzz_collection", fz_collection_init, fz_collection_one},
    {"fuzz_import_bam", fz_import_bam_init, fz_import_bam_one},
    {"fuzz_model", fz_model_init, fz_model_one},
    {"fuzz_safetensors", fz_safetensors_init, fz_safetensors_one},
    {"fuzz_index", fz_index_init, fz_index_one},
    {"fuzz_image", fz_image_init, fz_image_one},
    {"fuzz_qd_ndjson", fz_qd_ndjson_init, fz_qd_ndjson_one},
    {"fuzz_qd_bin", fz_qd_bin_init, fz_qd_bin_one},
    {"fuzz_qd_npy", fz_qd_npy_init, fz_qd_npy_one},
    {"fuzz_qd_drawing_json", fz_qd_drawing_json_init, fz_qd_drawing_json_one},
};

/* Runs one input through a target in a child; 1 when the child exited 0. */
static int replay(const fuzz_target *t, const unsigned char *data, size_t n) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return 0;
    if (pid == 0) {
        int argc = 1;
        char *args[] = {(char *)"replay", NULL}, **argv = args;
        t->init(&argc, &argv);
        t->one(data, n);
        exit(0); /* runs the harness's scratch cleanup (atexit) and, under SAN=1, the leak check */
    }
    int status = 0;
    if (waitpid(pid, &status, 0) != pid) return 0;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void test_replay_reproducers(void) {
    int total = 0;
    for (size_t k = 0; k < SBIR_ARRAY_LEN(k_targets); k++) {
        char dir[512];
        snprintf(dir, sizeof dir, "fuzz/crashes/%s", k_targets[k].name);
        /* the names first: a forked child must not inherit an open DIR (LeakSanitizer counts it) */
        DIR *d = opendir(dir);
        if (!d) continue;
        char names[256][256];
        int count = 0;
        struct dirent *e;
        while ((e = readdir(d)) && count < 256)
            if (e->d_name[0] != '.') snprintf(names[count++], sizeof names[0], "%s", e->d_name);
        closedir(d);
        for (int i = 0; i < count; i++) {
            char path[1024];
            snprintf(path, sizeof path, "%s/%s", dir, names[i]);
            unsigned char *buf;
            size_t n;
            if (read_file_all(path, (size_t)64 << 20, &buf, &n) != SBIR_OK) {
                CHECK(0, "%s", sbir_last_error());
                continue;
            }
            CHECK(replay(&k_targets[k], buf, n), "%s: the reproducer fails again through %s", path, k_targets[k].name);
            free(buf);
            total++;
        }
    }
    fprintf(stderr, "    replayed %d reproducers\n", total);
    if (total == 0) SKIP("no reproducers found under fuzz/crashes (run from the repository root)");
}

/* A collection from one of the SQL reproducers, built the way the fuzz harness builds it. */
static int collection_from_sql(const char *sql_file, char *path, size_t cap) {
    unsigned char *sql;
    size_t n;
    if (read_file_all(sql_file, 1 << 20, &sql, &n) != SBIR_OK) return SBIR_ERR;
    int rc = fuzz_make_db("regression.sqlite", sql, n, path, cap);
    free(sql);
    return rc ? SBIR_ERR : SBIR_OK;
}

/* dataset_load on NULL class / style / split: used to strcmp(NULL) (dataset.c find_name and
 * sbir_split_parse); now such images and sketches are skipped and counted, NULL splits are -1. */
static void test_dataset_null_fields(void) {
    char path[1200];
    dataset d;
    if (collection_from_sql("fuzz/crashes/fuzz_collection/null_image_class.sql", path, sizeof path) != SBIR_OK) {
        SKIP("fuzz/crashes not found (run from the repository root)");
        return;
    }
    CHECK(dataset_load(&d, path, 16) == SBIR_OK, "%s", sbir_last_error());
    CHECK(d.n_img == 2 && d.skipped_images == 1, "%d images, %d skipped (expected 2, 1)", d.n_img, d.skipped_images);
    CHECK(strstr(d.first_skip_reason, "no class or no style") != NULL, "reason: %s", d.first_skip_reason);
    dataset_free(&d);

    if (collection_from_sql("fuzz/crashes/fuzz_collection/null_split_and_sketch_class.sql", path, sizeof path) != SBIR_OK)
        return;
    CHECK(dataset_load(&d, path, 16) == SBIR_OK, "%s", sbir_last_error());
    CHECK(d.n_img == 2 && d.skipped_images == 1, "%d images, %d skipped (expected 2, 1)", d.n_img, d.skipped_images);
    CHECK(d.n_img == 2 && d.img_split[0] == -1, "a NULL split should read as -1");
    CHECK(d.n_sk == 1 && d.skipped_sketches == 1, "%d sketches, %d skipped (expected 1, 1)", d.n_sk, d.skipped_sketches);
    CHECK(d.n_sk == 1 && d.sk_split[0] == -1, "a NULL sketch split should read as -1");
    dataset_free(&d);
}

/* A failed dataset_load used to leak the class and style names (callers never free a failed load);
 * the replay above catches the leak itself under SAN=1, this checks the error. */
static void test_dataset_failed_load(void) {
    char path[1200];
    dataset d;
    if (collection_from_sql("fuzz/crashes/fuzz_collection/one_class_leak.sql", path, sizeof path) != SBIR_OK) {
        SKIP("fuzz/crashes not found");
        return;
    }
    CHECK(dataset_load(&d, path, 16) == SBIR_ERR, "a one-class collection loaded");
    CHECK(strstr(sbir_last_error(), "at least 2 classes") != NULL, "%s", sbir_last_error());
    CHECK(d.classes == NULL && d.C == 0, "a failed load left its class names behind");
    if (collection_from_sql("fuzz/crashes/fuzz_collection/no_style_column_leak.sql", path, sizeof path) != SBIR_OK)
        return;
    CHECK(dataset_load(&d, path, 16) == SBIR_ERR, "a collection without a style column loaded");
    CHECK(strstr(sbir_last_error(), "regression.sqlite") != NULL, "%s", sbir_last_error());
    CHECK(d.classes == NULL && d.styles == NULL, "a failed load left its names behind");
}

int main(void) {
    RUN(test_replay_reproducers);
    RUN(test_dataset_null_fields);
    RUN(test_dataset_failed_load);
    return test_summary();
}
