/* fuzz_model.c — libFuzzer target: model_load on a fuzzed model file (a safetensors file whose metadata
 * holds the network specs, input size, class and style names and fusion; see model.h). Built with the
 * reference backend and batch 1: what is fuzzed is the validation of the file against the networks it
 * describes, not the convolution engines. A loaded model must have the shapes its metadata claims, and
 * one embedding of a blank input must run. The CRC is recomputed by the harness (fuzz_st_fixup.h). */
#include "fuzz_st_fixup.h"
#include "model/model.h"
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
    const char *path = fuzz_write("input.model", b, size);
    free(b);
    safetensors *extra = NULL;
    sbir_model *m = model_load(path, 1, NET_BACKEND_REF, &extra);
    if (!m) {
        if (extra) FUZZ_ABORT("failed load handed out its checkpoint data");
        if (!strstr(sbir_last_error(), "input.model")) FUZZ_ABORT("error does not name the file: %s", sbir_last_error());
        return 0;
    }
    if (!extra) FUZZ_ABORT("loaded model without its safetensors handle");
    if (m->S < 8 || m->C < 1 || m->NS < 1 || m->Dc < 1 || m->Ds < 1) FUZZ_ABORT("loaded model with absurd sizes");
    for (int i = 0; i < m->C; i++) (void)strlen(m->classes[i]);
    for (int i = 0; i < m->NS; i++) (void)strlen(m->styles[i]);
    /* Only embed small networks: a big valid one is legitimate and just slow under ASan. */
    if (m->S <= 64) {
        size_t in = (size_t)3 * m->S * m->S;
        float *x = callocCheck(in, sizeof(float)), *oc = callocCheck((size_t)m->Dc, sizeof(float)),
              *os = callocCheck((size_t)m->Ds, sizeof(float));
        model_embed_content(m, x, 1, oc);
        model_embed_style(m, x, 1, os);
        free(x);
        free(oc);
        free(os);
    }
    safetensors_close(extra);
    model_free(m);
    return 0;
}
