/* fuzz_index.c — libFuzzer target: index_open on a fuzzed index file, then everything a query touches
 * (labels, items, paths, both matrices through search_topk / search_fused, with and without the
 * prefilter).
 *
 * The header carries a CRC-32 and the file a whole-file CRC: left alone they would reject nearly every
 * mutation before the structure checks run. So the harness recomputes both checksums over the mutated
 * bytes (as a malicious writer would) and opens the file twice: with full verification and with
 * SBIR_INDEX_NO_VERIFY, the flag for huge files, which must still be safe. */
#include "fuzz_common.h"
#include "index/index_file.h"
#include "index/index_format.h"
#include "index/search.h"
#include "util/atomic_file.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_setup_env();
    return 0;
}

static void fix_checksums(uint8_t *b, size_t n) {
    if (n >= IDX_HEADER) idx_put_u32(b + H_CRC, sbir_crc32(0, b, H_CRC));
    if (n >= IDX_HEADER + IDX_TRAILER && memcmp(b + n - IDX_TRAILER, IDX_END, 8) == 0)
        idx_put_u32(b + n - IDX_TRAILER + 8, sbir_crc32(0, b, n - IDX_TRAILER));
}

static void search_all(const sbir_index *ix) {
    sbir_matrix c = index_content(ix), s = index_style(ix);
    int dc = index_dim_content(ix), ds = index_dim_style(ix);
    if (c.n != index_count(ix) || c.dim != dc) FUZZ_ABORT("content view disagrees with the header");
    float *qc = callocCheck((size_t)dc + 1, sizeof(float)), *qs = callocCheck((size_t)ds + 1, sizeof(float));
    for (int i = 0; i < dc; i++) qc[i] = (i & 1) ? 0.5f : -0.25f;
    for (int i = 0; i < ds; i++) qs[i] = (i & 1) ? -0.5f : 0.25f;
    sbir_hit hits[8];
    for (int pre = 0; pre < 2; pre++) {
        sbir_search_opts o = {0};
        o.threads = 1, o.no_prefilter = pre;
        int k = search_topk(&c, qc, 8, &o, hits);
        if (k > 8) FUZZ_ABORT("search_topk returned %d hits for k = 8", k);
        for (int i = 0; i < k; i++)
            if (hits[i].row < 0 || hits[i].row >= c.n) FUZZ_ABORT("hit row %lld out of range", (long long)hits[i].row);
        if (ds > 0) {
            k = search_fused(&c, qc, &s, qs, 0.5f, 8, &o, hits);
            for (int i = 0; i < k; i++)
                if (hits[i].row < 0 || hits[i].row >= c.n) FUZZ_ABORT("fused hit row out of range");
        }
    }
    free(qc);
    free(qs);
}

static void walk(const sbir_index *ix) {
    int64_t n = index_count(ix);
    const sbir_index_item *it = index_items(ix);
    volatile size_t sink = strlen(index_fingerprint(ix));
    for (int c = 0; c < index_n_classes(ix); c++) sink += strlen(index_class_name(ix, c));
    for (int s = 0; s < index_n_styles(ix); s++) sink += strlen(index_style_name(ix, s));
    for (int64_t i = 0; i < n; i++) {
        if (it[i].class_id < -1 || it[i].class_id >= index_n_classes(ix)) FUZZ_ABORT("class id out of range");
        if (it[i].style_id < -1 || it[i].style_id >= index_n_styles(ix)) FUZZ_ABORT("style id out of range");
        if (index_has_paths(ix)) {
            const char *p = index_path(ix, i);
            if (!p) FUZZ_ABORT("path %lld missing", (long long)i);
            sink += strlen(p);
        }
    }
    (void)sink;
    search_all(ix);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *b = mallocCheck(size + 1);
    memcpy(b, data, size);
    fix_checksums(b, size);
    const char *path = fuzz_write("input.sbidx", b, size);
    free(b);
    for (int flags = 0; flags <= SBIR_INDEX_NO_VERIFY; flags += SBIR_INDEX_NO_VERIFY) {
        sbir_index *ix = index_open(path, flags);
        if (!ix) {
            if (!strstr(sbir_last_error(), "input.sbidx")) FUZZ_ABORT("error does not name the file: %s", sbir_last_error());
            continue;
        }
        walk(ix);
        index_close(ix);
    }
    return 0;
}
