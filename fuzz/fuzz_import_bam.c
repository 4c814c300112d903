/* fuzz_import_bam.c — libFuzzer target: import_bam on a fuzzed BAM! database (see fuzz_sqlite.h for how
 * an input becomes a database; "$ROOT" is not needed here: images are looked up as <mid>.png in a
 * scratch folder holding 1.png, 2.png and a broken 3.jpg). Each input is imported three times, once per
 * label source (crowd, automatic, scores), into a scratch collection. A successful import must produce
 * a collection that opens and holds as many images as the report says; the report's buckets must add
 * up to the mids. */
#include "data/collection.h"
#include "data/import_bam.h"
#include "fuzz_sqlite.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_setup_env();
    fuzz_image_dir();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char db[1200], out[1200];
    if (fuzz_make_db("bam.sqlite", data, size, db, sizeof db)) return 0;
    snprintf(out, sizeof out, "%s/out.sqlite", fuzz_dir());
    for (int lab = IMPORT_BAM_CROWD; lab <= IMPORT_BAM_SCORES; lab++) {
        unlink(out);
        import_bam_opts o = {0};
        o.db = db, o.images = fuzz_image_dir(), o.out = out, o.labels = (import_bam_labels)lab, o.threshold = 0.5;
        import_bam_report r;
        if (import_bam(&o, &r) != SBIR_OK) {
            if (!sbir_last_error()[0]) FUZZ_ABORT("import failed without a message");
            continue;
        }
        int64_t sum = r.imported + r.no_medium + r.no_content + r.ambiguous + r.no_file + r.not_image;
        if (sum != r.mids) FUZZ_ABORT("report buckets add up to %lld, mids %lld", (long long)sum, (long long)r.mids);
        sbir_collection *c = collection_open(out);
        if (!c) FUZZ_ABORT("imported collection does not open: %s", sbir_last_error());
        int64_t n = collection_count_images(c, NULL);
        if (n != r.imported) FUZZ_ABORT("collection holds %lld images, report says %lld", (long long)n, (long long)r.imported);
        collection_close(c);
    }
    return 0;
}
