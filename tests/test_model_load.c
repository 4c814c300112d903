/* test_model_load.c — model files are untrusted: bugs the fuzzer found in model loading, fixed.
 *
 * 1. model_load builds the networks from the file's spec before checking the file holds their tensors:
 *    a 2.8 KB file can demand 17 GB. It must fail with a clear error in bounded memory (child RSS).
 * 2. The model's JSON header is not covered by the checksum: a flipped byte in a class name or in the
 *    fusion weights loads a different model silently. Every header flip must be refused or harmless. */
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "model/model.h"
#include "nn/safetensors.h"
#include "test.h"
#include "util/atomic_file.h"
#include "util/common.h"

/* An address-space cap keeps a regression from swapping the machine; AddressSanitizer reserves terabytes
 * of shadow address space, so under ASan only the peak-RSS check applies. */
static void cap_address_space(void) {
#ifndef __SANITIZE_ADDRESS__
    struct rlimit rl = {(rlim_t)4 << 30, (rlim_t)4 << 30};
    setrlimit(RLIMIT_AS, &rl);
#endif
}

static void test_huge_spec_bounded(void) {
    const char *path = "fuzz/crashes/fuzz_model/huge_spec.model";
    if (access(path, R_OK) != 0) {
        SKIP("%s not found (run from the repository root)", path);
        return;
    }
    for (int backend = 0; backend < 2; backend++) {
        fflush(NULL);
        pid_t pid = fork();
        if (pid == 0) {
            cap_address_space();
            sbir_model *m = model_load(path, 1, (net_backend)backend, NULL);
            fprintf(stderr, "    -> %s\n", m ? "loaded" : sbir_last_error());
            _exit(!m && strstr(sbir_last_error(), "huge_spec.model") ? 0 : 1);
        }
        int st;
        struct rusage ru;
        wait4(pid, &st, 0, &ru);
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "backend %d: no clean error (status %d)", backend, st);
        CHECK(ru.ru_maxrss < 200 * 1024, "backend %d: peak RSS %ld MB", backend, ru.ru_maxrss / 1024);
    }
}

/* The same attack with a valid checksum: the spec check itself must refuse it, in bounded memory. */
static void test_huge_spec_with_valid_checksum(void) {
    char path[4300];
    snprintf(path, sizeof path, "%s/huge.model", test_tmpdir());
    static float w[16];
    st_tensor t[1] = {{"structure.layers.0.conv.weight", 1, {16}, w}};
    const char *meta[] = {"format", "sbir-model-1", "structure_spec", "c4096,c4096,c4096", "style_spec", "c4096,g,l8",
                          "input_size", "1024", "classes", "[\"a\",\"b\"]", "styles", "[\"x\"]",
                          "fusion", "[1,1,0]"};
    CHECK(safetensors_write(path, t, 1, meta, 7) == SBIR_OK, "%s", sbir_last_error());
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        cap_address_space();
        sbir_model *m = model_load(path, 64, NET_BACKEND_DNNL, NULL);
        fprintf(stderr, "    -> %s\n", m ? "loaded" : sbir_last_error());
        _exit(!m && strstr(sbir_last_error(), "huge.model") ? 0 : 1);
    }
    int st;
    struct rusage ru;
    wait4(pid, &st, 0, &ru);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "no clean error (status %d)", st);
    CHECK(ru.ru_maxrss < 200 * 1024, "peak RSS %ld MB", ru.ru_maxrss / 1024);
}

static void test_header_flips_detected(void) {
    char *classes[] = {"cat", "dog"}, *styles[] = {"comic", "oilpaint"};
    char path[4300], bad[4300];
    snprintf(path, sizeof path, "%s/m.model", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/bad.model", test_tmpdir());
    sbir_model *m = model_create(16, 2, classes, 2, styles, "c4,p,g,l8", "c4,g,l4", 1, NET_BACKEND_REF);
    CHECK(m && model_save(m, path, NULL, 0, NULL, 0) == SBIR_OK, "%s", sbir_last_error());
    model_free(m);
    unsigned char *buf;
    size_t n;
    if (read_file_all(path, 1 << 24, &buf, &n) != SBIR_OK) return;
    uint64_t hlen = 0;
    for (int i = 0; i < 8; i++) hlen |= (uint64_t)buf[i] << (8 * i);
    int silent = 0;
    for (size_t at = 8; at < 8 + hlen; at++) {
        buf[at] ^= 0x10;
        test_write_file(bad, buf, n);
        buf[at] ^= 0x10;
        sbir_model *x = model_load(bad, 1, NET_BACKEND_REF, NULL);
        if (x && (strcmp(x->classes[0], "cat") || strcmp(x->classes[1], "dog") || strcmp(x->styles[0], "comic") ||
                  strcmp(x->styles[1], "oilpaint") || x->fusion[0] != 1 || x->fusion[1] != 1 || x->fusion[2] != 0)) {
            if (silent++ < 3) fprintf(stderr, "    flip at header byte %zu loads a different model\n", at);
        }
        model_free(x);
    }
    CHECK(silent == 0, "%d header flips load a different model without an error", silent);
    free(buf);
}

int main(void) {
    RUN(test_huge_spec_bounded);
    RUN(test_huge_spec_with_valid_checksum);
    RUN(test_header_flips_detected);
    return test_summary();
}
