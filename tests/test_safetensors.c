/* test_safetensors.c — weights files: round trip, interoperability, corruption and hostile headers. */
#include <string.h>
#include <unistd.h>

#include "nn/safetensors.h"
#include "test.h"
#include "util/atomic_file.h"
#include "util/common.h"

static char g_path[4200];

static void write_sample(const char *path) {
    static float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {-1.5f, 0.25f, 1e-8f};
    st_tensor t[2] = {{"conv1.weight", 2, {2, 3}, a}, {"conv1.bias", 1, {3}, b}};
    const char *meta[] = {"spec", "c32,p,g,l128", "input", "3x64x64"};
    CHECK(safetensors_write(path, t, 2, meta, 2) == SBIR_OK, "%s", sbir_last_error());
}

static void test_round_trip(void) {
    snprintf(g_path, sizeof g_path, "%s/w.safetensors", test_tmpdir());
    write_sample(g_path);
    safetensors *st = safetensors_open(g_path);
    CHECK(st != NULL, "%s", sbir_last_error());
    if (!st) return;
    CHECK(safetensors_count(st) == 2, "count %d", safetensors_count(st));
    const st_tensor *w = safetensors_get(st, "conv1.weight"), *b = safetensors_get(st, "conv1.bias");
    CHECK(w && w->ndim == 2 && w->shape[0] == 2 && w->shape[1] == 3, "weight shape");
    CHECK(w && w->data[5] == 6.0f, "weight value");
    CHECK(b && b->data[2] == 1e-8f && b->data[0] == -1.5f, "bias values");
    CHECK(safetensors_get(st, "missing") == NULL, "absent tensor found");
    CHECK(safetensors_meta(st, "spec") && strcmp(safetensors_meta(st, "spec"), "c32,p,g,l128") == 0, "meta");
    safetensors_close(st);
}

/* The same file read by Python's own JSON and struct modules: the format is the standard one. */
static void test_standard_readers_agree(void) {
    if (access("/usr/bin/python3", X_OK) != 0) {
        SKIP("no /usr/bin/python3");
        return;
    }
    char cmd[8800];
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import json,struct,sys; d=open('%s','rb').read(); n=struct.unpack('<Q',d[:8])[0];"
             " h=json.loads(d[8:8+n]); t=h['conv1.bias']; b,e=t['data_offsets'];"
             " v=struct.unpack('<3f', d[8+n+b:8+n+e]); sys.exit(0 if t['dtype']=='F32' and t['shape']==[3] and v[1]==0.25 else 1)\"",
             g_path);
    CHECK(system(cmd) == 0, "python could not read the file the standard way");
}

static void expect_reject(const void *bytes, size_t n, const char *what, const char *needle) {
    char path[4200];
    snprintf(path, sizeof path, "%s/bad.safetensors", test_tmpdir());
    test_write_file(path, bytes, n);
    safetensors *st = safetensors_open(path);
    CHECK(st == NULL, "%s was accepted", what);
    safetensors_close(st);
    CHECK(strstr(sbir_last_error(), "bad.safetensors") != NULL, "%s: error does not name the file: %s", what,
          sbir_last_error());
    if (needle) CHECK(strstr(sbir_last_error(), needle) != NULL, "%s: error '%s' lacks '%s'", what, sbir_last_error(), needle);
}

static void test_corruption_detected(void) {
    unsigned char *buf;
    size_t n;
    CHECK(read_file_all(g_path, 1 << 20, &buf, &n) == SBIR_OK, "read");
    unsigned char *copy = mallocCheck(n);
    memcpy(copy, buf, n);
    copy[n - 5] ^= 0x10; /* one bit in the tensor data */
    expect_reject(copy, n, "a bit flip in the data", "checksum");
    expect_reject(buf, n - 3, "a truncated file", NULL);
    expect_reject(buf, 5, "a 5-byte file", "truncated");
    expect_reject(buf, 0, "an empty file", NULL);
    memcpy(copy, buf, n);
    copy[0] = 0xff; /* header length far beyond the file */
    expect_reject(copy, n, "a huge header length", "header length");
    free(copy);
    free(buf);
}

static void hostile(const char *json, size_t data_bytes, const char *what, const char *needle) {
    size_t jl = strlen(json), n = 8 + jl + data_bytes;
    unsigned char *b = callocCheck(1, n);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)jl >> (8 * i));
    memcpy(b + 8, json, jl);
    expect_reject(b, n, what, needle);
    free(b);
}

static void test_hostile_headers(void) {
    hostile("not json at all", 0, "non-JSON header", "JSON");
    hostile("[1,2,3]", 0, "an array header", "JSON object");
    hostile("{\"a\":{\"dtype\":\"F16\",\"shape\":[2],\"data_offsets\":[0,4]}}", 4, "F16 dtype", "F16");
    hostile("{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8, "shape/offset mismatch", "shape needs");
    hostile("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,800]}}", 8, "offsets past the end", "outside");
    hostile("{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}", 8, "negative dimension", "shape[0]");
    hostile("{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967295,4294967295],\"data_offsets\":[0,8]}}", 8,
            "overflowing shape", "larger than the file");
    hostile("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
            8, "overlapping tensors", "overlaps");
    hostile("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8, "no checksum", "checksum");
    hostile("{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
            "too many dimensions", "dimensions");
    hostile("{\"__metadata__\":{\"x\":1}}", 0, "non-string metadata", "metadata");
}

static void test_atomic_replace_keeps_old_on_failure(void) {
    /* A write into a missing directory fails and leaves nothing; the existing file still loads. */
    static float a[1] = {1};
    st_tensor t = {"x", 1, {1}, a};
    CHECK(safetensors_write("/nonexistent-dir/m.safetensors", &t, 1, NULL, 0) == SBIR_ERR, "should fail");
    st_tensor dup[2] = {t, t};
    CHECK(safetensors_write(g_path, dup, 2, NULL, 0) == SBIR_ERR, "duplicate names accepted");
    safetensors *st = safetensors_open(g_path);
    CHECK(st != NULL, "previous file damaged: %s", sbir_last_error());
    safetensors_close(st);
}

int main(void) {
    RUN(test_round_trip);
    RUN(test_standard_readers_agree);
    RUN(test_corruption_detected);
    RUN(test_hostile_headers);
    RUN(test_atomic_replace_keeps_old_on_failure);
    return test_summary();
}
