/* fuzz_collection.c — libFuzzer target: collection_open on a fuzzed SQLite file (see fuzz_sqlite.h for
 * how an input becomes a database), then every read the program makes of a collection: counts, lists,
 * classes, styles, the count tables, metadata, stored paths made absolute, and finally dataset_load
 * (what train and eval do: decode the images it names, parse and rasterise the stroke sketches).
 *
 * Collections carry a content checksum (meta 'content_crc32') that collection_open verifies, so a
 * mutated file is almost always refused there. The harness first opens the input as it is (fuzzing the
 * checksum code itself on hostile schemas and values), then, when the input was an SQL script or the
 * open failed on the checksum, stores the right checksum (collection_reseal) and opens it again, so
 * the mutations reach the readers behind the check. */
#include "data/collection.h"
#include "fuzz_sqlite.h"
#include "model/dataset.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_setup_env();
    fuzz_image_dir();
    return 0;
}

static void read_everything(sbir_collection *c) {
    coll_image *im = NULL;
    coll_sketch *sk = NULL;
    coll_count *cnt = NULL;
    char **names = NULL;
    size_t n = 0;
    int64_t ni = collection_count_images(c, NULL), ns = collection_count_sketches(c, NULL);
    if (collection_list_images(c, NULL, &im, &n) == SBIR_OK) {
        if (ni >= 0 && (int64_t)n != ni) FUZZ_ABORT("count_images %lld, list_images %zu", (long long)ni, n);
        for (size_t i = 0; i < n; i++)
            if (im[i].path) free(collection_abs_path(c, im[i].path));
        coll_images_free(im, n);
    }
    if (collection_list_sketches(c, NULL, &sk, &n) == SBIR_OK) {
        if (ns >= 0 && (int64_t)n != ns) FUZZ_ABORT("count_sketches %lld, list_sketches %zu", (long long)ns, n);
        coll_sketches_free(sk, n);
    }
    coll_filter f = {"train", "cat", "watercolor", "quickdraw"};
    (void)collection_count_images(c, &f);
    (void)collection_count_sketches(c, &f);
    if (collection_classes(c, NULL, &names, &n) == SBIR_OK) coll_strings_free(names, n);
    if (collection_classes(c, "images", &names, &n) == SBIR_OK) coll_strings_free(names, n);
    if (collection_classes(c, "sketches", &names, &n) == SBIR_OK) coll_strings_free(names, n);
    if (collection_styles(c, &names, &n) == SBIR_OK) coll_strings_free(names, n);
    if (collection_image_counts(c, &cnt, &n) == SBIR_OK) coll_counts_free(cnt, n);
    if (collection_sketch_counts(c, &cnt, &n) == SBIR_OK) coll_counts_free(cnt, n);
    free(collection_get_meta(c, "format"));
    free(collection_get_meta(c, "root"));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char path[1200];
    if (fuzz_make_db("input.sqlite", data, size, path, sizeof path)) return 0;
    int is_file = size >= 16 && memcmp(data, "SQLite format 3", 16) == 0;
    sbir_collection *c = collection_open(path);
    if (!c && !strstr(sbir_last_error(), "input.sqlite")) FUZZ_ABORT("error does not name the file: %s", sbir_last_error());
    if (!is_file || (!c && strstr(sbir_last_error(), "checksum"))) {
        collection_close(c);
        c = NULL;
        if (collection_reseal(path) == SBIR_OK) c = collection_open(path);
        if (!c && !strstr(sbir_last_error(), "input.sqlite"))
            FUZZ_ABORT("error does not name the file: %s", sbir_last_error());
    }
    if (!c) return 0;
    read_everything(c);
    collection_close(c);
    dataset d;
    if (dataset_load(&d, path, 16) == SBIR_OK) {
        for (int i = 0; i < d.n_img; i++)
            if (d.img_class[i] < 0 || d.img_class[i] >= d.C || d.img_style[i] < 0 || d.img_style[i] >= d.NS)
                FUZZ_ABORT("image %d has class %d / style %d of %d / %d", i, d.img_class[i], d.img_style[i], d.C, d.NS);
        for (int i = 0; i < d.n_sk; i++)
            if (d.sk_class[i] < 0 || d.sk_class[i] >= d.C) FUZZ_ABORT("sketch %d has class %d", i, d.sk_class[i]);
        dataset_free(&d);
    }
    return 0;
}
