/* fuzz_serve_json_in.c — libFuzzer target: the checks sbir serve runs on untrusted request text before
 * parsing it (src/serve/json_in.h): json_depth (nesting measured without recursion) and b64_decode
 * (base64 or a data: URL, output size bounded in advance). The HTTP parsing itself is libmicrohttpd's;
 * the request handlers are not reachable without a running server (tests/test_serve.c drives those).
 * The first input byte splits the rest: depth limit and base64 size limit. */
#include "fuzz_common.h"
#include "serve/json_in.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_setup_env();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    int limit = data[0] % 70;
    size_t max_bytes = (size_t)(data[0] & 0x0f) << 8;
    char *text = mallocCheck(size); /* NUL-terminated copy of data[1..] */
    memcpy(text, data + 1, size - 1);
    text[size - 1] = 0;
    int d = json_depth(text, size - 1, limit);
    if (d < 0 || d > limit + 1) FUZZ_ABORT("json_depth %d with limit %d", d, limit);
    size_t n = 0;
    uint8_t *out = b64_decode("fuzz", text, max_bytes, &n);
    if (out) {
        if (n > max_bytes) FUZZ_ABORT("b64_decode gave %zu bytes, limit %zu", n, max_bytes);
        if (n > (size - 1) / 4 * 3 + 3) FUZZ_ABORT("b64_decode gave %zu bytes from %zu characters", n, size - 1);
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < n; i++) sink ^= out[i];
        (void)sink;
        free(out);
    } else if (!strstr(sbir_last_error(), "fuzz")) {
        FUZZ_ABORT("b64_decode error does not name what: %s", sbir_last_error());
    }
    free(text);
    return 0;
}
