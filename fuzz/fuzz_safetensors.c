/* fuzz_safetensors.c — libFuzzer target: safetensors_open (header length, JSON header, dtypes, shapes,
 * offsets, coverage of the data, metadata), then every tensor read in full (so ASan sees any buffer the
 * reader sized wrongly) and the metadata looked up. The CRC is recomputed by the harness
 * (fuzz_st_fixup.h) so mutations reach the structure checks. */
#include "fuzz_st_fixup.h"
#include "nn/safetensors.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_setup_env();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint8_t *b = mallocCheck(size + 1);
    memcpy(b, data, size);
    fuzz_fix_st_crc(b, size);
    const char *path = fuzz_write("input.safetensors", b, size);
    free(b);
    safetensors *st = safetensors_open(path);
    if (!st) {
        if (!strstr(sbir_last_error(), "input.safetensors")) FUZZ_ABORT("error does not name the file: %s", sbir_last_error());
        return 0;
    }
    volatile float sum = 0;
    for (int i = 0; i < safetensors_count(st); i++) {
        const st_tensor *t = safetensors_at(st, i);
        if (t->ndim < 0 || t->ndim > ST_MAX_DIMS) FUZZ_ABORT("tensor %d has %d dims", i, t->ndim);
        uint64_t count = 1;
        for (int d = 0; d < t->ndim; d++) {
            if (t->shape[d] < 0) FUZZ_ABORT("negative shape");
            count *= (uint64_t)t->shape[d];
        }
        if (count * 4 > size) FUZZ_ABORT("tensor '%s' claims more data than the file holds", t->name);
        for (uint64_t k = 0; k < count; k++) sum += t->data[k];
        if (safetensors_get(st, t->name) == NULL) FUZZ_ABORT("tensor '%s' not found by name", t->name);
    }
    (void)sum;
    (void)safetensors_meta(st, "format");
    (void)safetensors_meta(st, "sbir_crc32");
    safetensors_close(st);
    return 0;
}
