/* test_quickdraw_bad.c — hostile input for every Quick, Draw! reader (SPEC section 8): truncated
 * files, wrong JSON types, out-of-range and non-finite numbers, unequal stroke arrays, a 50 MB line,
 * .npy with the wrong dtype / absurd shape / truncated data, .bin cut anywhere, empty files. Each must
 * give SBIR_ERR with a message naming the file and the position, never a crash; the CLI must exit
 * non-zero with one line. */
#include <string.h>
#include <sys/wait.h>

#include "data/quickdraw.h"
#include "test.h"
#include "util/common.h"

static char g_path[1024];

static const char *tmp_file(const char *name, const void *data, size_t n) {
    snprintf(g_path, sizeof g_path, "%s/%s", test_tmpdir(), name);
    test_write_file(g_path, data, n);
    return g_path;
}

/* Reads the whole file; returns the number of drawings read before the error, or -1 if there was
 * no error. *msg receives the error. */
static int read_until_error(const char *path, const qd_options *o, const char **msg) {
    sbir_clear_error();
    qd_reader *r = qd_open(path, o);
    if (!r) {
        *msg = sbir_last_error();
        return 0;
    }
    sbir_sketch s;
    sketch_init(&s);
    int rc, n = 0;
    while ((rc = qd_next(r, &s)) == 1) n++;
    /* a failed reader stays failed */
    int again = qd_next(r, &s);
    sketch_free(&s);
    qd_close(r);
    *msg = sbir_last_error();
    if (rc == 0) return -1;
    CHECK(again == SBIR_ERR, "reader recovered after an error");
    return n;
}

/* Expects an error mentioning the file name and every given fragment. */
#define EXPECT_BAD(path, opts, ...)                                                              \
    do {                                                                                        \
        const char *msg_;                                                                       \
        int n_ = read_until_error((path), (opts), &msg_);                                       \
        CHECK(n_ >= 0, "%s: no error", (path));                                                 \
        CHECK(strstr(msg_, (path)) != NULL, "message does not name the file: %s", msg_);        \
        const char *frags_[] = {__VA_ARGS__};                                                   \
        for (size_t i_ = 0; i_ < sizeof frags_ / sizeof *frags_; i_++)                          \
            CHECK(strstr(msg_, frags_[i_]) != NULL, "'%s' not in: %s", frags_[i_], msg_);       \
    } while (0)

static const char *k_good = "{\"word\":\"cat\",\"key_id\":\"123\",\"recognized\":true,\"countrycode\":\"US\","
                            "\"timestamp\":\"2017-03-02 23:25:10.07453 UTC\",\"drawing\":[[[1,2,3],[4,5,6]]]}\n";

static void ndjson_line(const char *name, const char *drawing_or_line, int whole_line, const char *frag) {
    char buf[4096];
    if (whole_line) snprintf(buf, sizeof buf, "%s%s\n", k_good, drawing_or_line);
    else snprintf(buf, sizeof buf, "%s{\"word\":\"cat\",\"key_id\":\"7\",\"drawing\":%s}\n", k_good, drawing_or_line);
    const char *p = tmp_file(name, buf, strlen(buf));
    EXPECT_BAD(p, NULL, ":2: ", frag);
    const char *msg;
    CHECK(read_until_error(p, NULL, &msg) == 1, "the good first line was not returned");
}

static void test_ndjson_types_and_values(void) {
    ndjson_line("t1.ndjson", "\"abc\"", 0, "\"drawing\" must be an array");
    ndjson_line("t2.ndjson", "[5]", 0, "stroke 1 must be an array");
    ndjson_line("t3.ndjson", "[[[1,2]]]", 0, "stroke 1 has 1 arrays");
    ndjson_line("t4.ndjson", "[[[1,\"2\"],[3,4]]]", 0, "stroke 1: x value 2 is not a number");
    ndjson_line("t5.ndjson", "[[[1,2],[3,1e999]]]", 0, "out of range");
    ndjson_line("t6.ndjson", "[[[1,2],[3,4e7]]]", 0, "stroke 1: y value 2 (4e+07) is out of range");
    ndjson_line("t7.ndjson", "[[[1,2],[3,NaN]]]", 0, "invalid JSON");
    ndjson_line("t8.ndjson", "[[[1,2],[3,4],[0,-5]]]", 0, "t value 2");
    ndjson_line("t9.ndjson", "[[[1],[2]],[[1],[2],[3]]]", 0, "stroke 2 has timing");
    ndjson_line("t10.ndjson", "[]", 0, "no points");
    ndjson_line("t11.ndjson", "[[[],[]]]", 0, "no points");
    ndjson_line("t12.ndjson", "[[[1,2],{\"a\":1}]]", 0, "y values must be an array");
    ndjson_line("t13.ndjson", "{\"word\":5,\"drawing\":[[[1],[2]]]}", 1, "\"word\" must be a string");
    ndjson_line("t14.ndjson", "{\"key_id\":{},\"drawing\":[[[1],[2]]]}", 1, "\"key_id\"");
    ndjson_line("t15.ndjson", "{\"key_id\":\"99999999999999999999999\",\"drawing\":[[[1],[2]]]}", 1, "64 bits");
    ndjson_line("t16.ndjson", "{\"recognized\":\"yes\",\"drawing\":[[[1],[2]]]}", 1, "\"recognized\"");
    ndjson_line("t17.ndjson", "{\"timestamp\":\"yesterday\",\"drawing\":[[[1],[2]]]}", 1, "\"timestamp\"");
    ndjson_line("t18.ndjson", "{\"word\":\"cat\"}", 1, "missing \"drawing\"");
    ndjson_line("t19.ndjson", "[1,2,3]", 1, "expected a JSON object");
    ndjson_line("t20.ndjson", "{\"drawing\":[[[1],[2]]]} trailing", 1, "unexpected text");
    ndjson_line("t21.ndjson", "{\"drawing\":[[[1,2],[3,4]]", 1, "invalid JSON");
    ndjson_line("t22.ndjson", "{\"countrycode\":\"ABCDEFGHIJ\",\"drawing\":[[[1],[2]]]}", 1, "\"countrycode\" is longer");
    ndjson_line("t23.ndjson", "\x01\x02\xff\xfe garbage", 1, "invalid JSON");
}

/* The exact message of SPEC section 1. */
static void test_unequal_strokes(void) {
    char buf[8192] = "";
    for (int i = 0; i < 11; i++) strcat(buf, k_good);
    strcat(buf, "{\"word\":\"cat\",\"drawing\":[[[1],[2]],[[1],[2]],[[1,2,3,4,5],[1,2,3,4]]]}\n");
    snprintf(g_path, sizeof g_path, "%s/cat.ndjson", test_tmpdir());
    test_write_file(g_path, buf, strlen(buf));
    const char *msg;
    int n = read_until_error(g_path, NULL, &msg);
    char want[1200];
    snprintf(want, sizeof want, "%s:12: stroke 3 has 5 x values but 4 y values", g_path);
    CHECK(n == 11 && !strcmp(msg, want), "got %d drawings and '%s'", n, msg);
}

static void test_ndjson_sizes(void) {
    /* a 50 MB line (no newline at all) stops at the line limit, with bounded memory */
    size_t big = 50u << 20;
    char *b = mallocCheck(big);
    memset(b, ' ', big);
    memcpy(b, "{\"drawing\":[[[", 14);
    const char *p = tmp_file("huge.ndjson", b, big);
    EXPECT_BAD(p, NULL, ":1: ", "longer than the limit");
    /* the limit is configurable */
    qd_options o;
    qd_options_default(&o);
    o.max_line = 100;
    p = tmp_file("long.ndjson", k_good, strlen(k_good));
    EXPECT_BAD(p, &o, ":1: ", "longer than the limit of 100 bytes");
    /* many points within the line limit: caught before cJSON builds them */
    size_t pos = 0;
    pos += (size_t)sprintf(b + pos, "{\"drawing\":[[[");
    for (int i = 0; i < 400000; i++) pos += (size_t)sprintf(b + pos, "%s1", i ? "," : "");
    pos += (size_t)sprintf(b + pos, "],[");
    for (int i = 0; i < 400000; i++) pos += (size_t)sprintf(b + pos, "%s1", i ? "," : "");
    pos += (size_t)sprintf(b + pos, "]]]}\n");
    p = tmp_file("many.ndjson", b, pos);
    EXPECT_BAD(p, NULL, ":1: ", "too many values");
    qd_options_default(&o);
    o.max_points = 1000;
    pos = (size_t)sprintf(b, "{\"drawing\":[[[");
    for (int i = 0; i < 2000; i++) pos += (size_t)sprintf(b + pos, "%s1", i ? "," : "");
    pos += (size_t)sprintf(b + pos, "],[");
    for (int i = 0; i < 2000; i++) pos += (size_t)sprintf(b + pos, "%s1", i ? "," : "");
    pos += (size_t)sprintf(b + pos, "]]]}\n");
    p = tmp_file("limit.ndjson", b, pos);
    EXPECT_BAD(p, &o, ":1: ", "points");
    /* deep nesting must not overflow the stack */
    pos = (size_t)sprintf(b, "{\"drawing\":");
    for (int i = 0; i < 200000; i++) b[pos++] = '[';
    b[pos++] = '\n';
    p = tmp_file("deep.ndjson", b, pos);
    EXPECT_BAD(p, NULL, ":1: ");
    /* NUL bytes inside a line */
    memcpy(b, k_good, strlen(k_good));
    b[5] = 0;
    p = tmp_file("nul.ndjson", b, strlen(k_good));
    EXPECT_BAD(p, NULL, ":1: ", "NUL");
    free(b);
    /* empty and blank files */
    p = tmp_file("empty.ndjson", "", 0);
    EXPECT_BAD(p, NULL, "no drawings");
    p = tmp_file("blank.ndjson", "\n\n  \r\n", 5);
    EXPECT_BAD(p, NULL, "no drawings");
    /* CRLF line ends and a last line without a newline are fine */
    const char *crlf = "{\"drawing\":[[[1],[2]]]}\r\n{\"drawing\":[[[1],[2]]]}";
    p = tmp_file("crlf.ndjson", crlf, strlen(crlf));
    const char *msg;
    CHECK(read_until_error(p, NULL, &msg) == -1, "%s", msg);
    /* a file that does not exist */
    EXPECT_BAD("/nonexistent/x.ndjson", NULL, "No such file");
}

/* One valid .bin drawing: 2 strokes of 3 and 2 points. */
static size_t bin_drawing(uint8_t *b, uint64_t key) {
    size_t n = 0;
    for (int i = 0; i < 8; i++) b[n++] = (uint8_t)(key >> (8 * i));
    b[n++] = 'U', b[n++] = 'S', b[n++] = 1;
    b[n++] = 1, b[n++] = 2, b[n++] = 3, b[n++] = 4;
    b[n++] = 2, b[n++] = 0;
    b[n++] = 3, b[n++] = 0;
    uint8_t pts1[] = {1, 2, 3, 10, 20, 30};
    memcpy(b + n, pts1, 6), n += 6;
    b[n++] = 2, b[n++] = 0;
    uint8_t pts2[] = {5, 6, 50, 60};
    memcpy(b + n, pts2, 4), n += 4;
    return n;
}

static void test_bin(void) {
    uint8_t b[256];
    size_t n1 = bin_drawing(b, 11), n = n1 + bin_drawing(b + n1, 22);
    const char *p = tmp_file("ok.bin", b, n);
    const char *msg;
    CHECK(read_until_error(p, NULL, &msg) == -1, "%s", msg);
    /* cut at every byte: only the drawing boundary is a valid (shorter) file */
    int bad = 0;
    for (size_t cut = 0; cut < n; cut++) {
        p = tmp_file("cut.bin", b, cut);
        int got = read_until_error(p, NULL, &msg);
        if (cut == n1) {
            bad += got != -1;
            continue;
        }
        int ok = got >= 0 && strstr(msg, p) &&
                 (cut == 0 ? strstr(msg, "no drawings") != NULL : strstr(msg, "truncated") && strstr(msg, "byte"));
        if (!ok) fprintf(stderr, "    cut at %zu: %s\n", cut, msg);
        bad += !ok;
    }
    CHECK(bad == 0, "%d truncations not reported properly", bad);
    /* cut mid-stroke names the drawing, the stroke and the offsets */
    p = tmp_file("mid.bin", b, n1 + 24);
    EXPECT_BAD(p, NULL, "drawing 2 (at byte 31)", "in stroke 1", "at byte 55");
    uint8_t c[256];
    memcpy(c, b, n);
    c[10] = 9; /* recognized flag */
    p = tmp_file("flag.bin", c, n);
    EXPECT_BAD(p, NULL, "drawing 1 (at byte 0)", "recognized flag is 9");
    memcpy(c, b, n);
    c[15] = c[16] = 0; /* no strokes */
    p = tmp_file("nostrokes.bin", c, n);
    EXPECT_BAD(p, NULL, "0 strokes");
    memcpy(c, b, n);
    c[8] = 0x07; /* country code control character */
    p = tmp_file("cc.bin", c, n);
    EXPECT_BAD(p, NULL, "country code");
    memcpy(c, b, n);
    c[17] = 0xff, c[18] = 0xff; /* a stroke claiming 65535 points, the file ends */
    p = tmp_file("big.bin", c, n);
    EXPECT_BAD(p, NULL, "truncated");
    qd_options o;
    qd_options_default(&o);
    o.max_points = 4;
    p = tmp_file("limit.bin", b, n);
    EXPECT_BAD(p, &o, "more than 4 points");
    p = tmp_file("empty.bin", "", 0);
    EXPECT_BAD(p, NULL, "no drawings");
}

/* A .npy file with the given header dict and data size. */
static const char *npy(const char *name, int version, const char *dict, size_t data_len) {
    size_t hl = strlen(dict), pre = version == 1 ? 10 : 12;
    size_t total_h = (pre + hl + 1 + 63) / 64 * 64;
    size_t len = total_h + data_len;
    uint8_t *b = callocCheck(1, len);
    memcpy(b, "\x93NUMPY", 6);
    b[6] = (uint8_t)version;
    size_t hlen = total_h - pre;
    b[8] = (uint8_t)hlen, b[9] = (uint8_t)(hlen >> 8);
    if (version != 1) b[10] = b[11] = 0;
    memset(b + pre, ' ', hlen);
    memcpy(b + pre, dict, hl);
    b[total_h - 1] = '\n';
    for (size_t i = total_h; i < len; i++) b[i] = (uint8_t)(i * 7);
    const char *p = tmp_file(name, b, len);
    free(b);
    return p;
}

static void test_npy(void) {
    const char *msg, *p;
    p = npy("ok1.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 784), }", 3 * 784);
    CHECK(read_until_error(p, NULL, &msg) == -1, "%s", msg);
    p = npy("ok2.npy", 2, "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 28, 28)}", 2 * 784);
    CHECK(read_until_error(p, NULL, &msg) == -1, "v2: %s", msg);
    p = npy("f4.npy", 1, "{'descr': '<f4', 'fortran_order': False, 'shape': (3, 784), }", 3 * 784 * 4);
    EXPECT_BAD(p, NULL, "dtype '<f4'");
    p = npy("absurd.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1000000000000000, 784), }", 784);
    EXPECT_BAD(p, NULL, "promises 1000000000000000 rows", "truncated");
    p = npy("overflow.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (99999999999999999999999, 784), }", 784);
    EXPECT_BAD(p, NULL, "'shape'");
    p = npy("trunc.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 784), }", 2 * 784 + 100);
    EXPECT_BAD(p, NULL, "promises 3 rows", "from byte 128");
    p = npy("extra.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 784), }", 3 * 784 + 5);
    EXPECT_BAD(p, NULL, "5 bytes after");
    p = npy("square.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (3, 785), }", 3 * 785);
    EXPECT_BAD(p, NULL, "785 values, not a square");
    p = npy("onedim.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (784,), }", 784);
    EXPECT_BAD(p, NULL, "1 dimensions");
    p = npy("fortran.npy", 1, "{'descr': '|u1', 'fortran_order': True, 'shape': (3, 784), }", 3 * 784);
    EXPECT_BAD(p, NULL, "Fortran order");
    p = npy("nokey.npy", 1, "{'descr': '|u1', 'shape': (3, 784), }", 3 * 784);
    EXPECT_BAD(p, NULL, "lacks");
    p = npy("strshape.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': '(3, 784)', }", 3 * 784);
    EXPECT_BAD(p, NULL, "'shape'");
    p = npy("notdict.npy", 1, "[1, 2, 3]", 10);
    EXPECT_BAD(p, NULL, "not a dict");
    p = npy("zero.npy", 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 784), }", 0);
    EXPECT_BAD(p, NULL, "no drawings");
    uint8_t hdr[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 9, 0, 10, 0};
    p = tmp_file("version.npy", hdr, 10);
    EXPECT_BAD(p, NULL, "version 9");
    uint8_t hl[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0xff};
    p = tmp_file("hlen.npy", hl, 10);
    EXPECT_BAD(p, NULL, "header truncated");
    p = tmp_file("magic.npy", "NUMPY and more bytes", 20);
    EXPECT_BAD(p, NULL, "bad magic");
    p = tmp_file("short.npy", "\x93NU", 3);
    EXPECT_BAD(p, NULL, "bad magic");
    p = tmp_file("empty.npy", "", 0);
    EXPECT_BAD(p, NULL, "empty");
    /* detection by content when the extension says nothing */
    p = tmp_file("mystery.dat", "GIF89a......", 12);
    EXPECT_BAD(p, NULL, "not a Quick, Draw! file");
}

/* The CLI: non-zero exit and exactly one line "sbir: <file>...". */
static void cli_expect_fail(const char *args, const char *frag) {
    const char *build = getenv("BUILD");
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "%s/sbir %s 2>&1", build ? build : "build", args);
    FILE *f = popen(cmd, "r");
    char out[4096] = "";
    size_t n = f ? fread(out, 1, sizeof out - 1, f) : 0;
    out[n] = 0;
    int st = f ? pclose(f) : -1;
    int lines = 0;
    for (size_t i = 0; i < n; i++) lines += out[i] == '\n';
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) < 126, "%s: status %d", args, st);
    CHECK(lines == 1 && !strncmp(out, "sbir: ", 6) && strstr(out, frag), "%s: output '%s'", args, out);
}

static void test_cli(void) {
    const char *build = getenv("BUILD");
    char bin[1024];
    snprintf(bin, sizeof bin, "%s/sbir", build ? build : "build");
    FILE *f = fopen(bin, "rb");
    if (!f) {
        SKIP("%s not built", bin);
        return;
    }
    fclose(f);
    char args[2048];
    const char *bad = "{\"drawing\":[[[1,2,3,4,5],[1,2,3,4]]]}\n";
    const char *p = tmp_file("cli.ndjson", bad, strlen(bad));
    snprintf(args, sizeof args, "sketch info %s", p);
    cli_expect_fail(args, "cli.ndjson:1: stroke 1 has 5 x values but 4 y values");
    snprintf(args, sizeof args, "sketch render %s --out %s/x.png", p, test_tmpdir());
    cli_expect_fail(args, "cli.ndjson:1:");
    p = npy("cli.npy", 1, "{'descr': '<f8', 'fortran_order': False, 'shape': (1, 784), }", 784 * 8);
    snprintf(args, sizeof args, "sketch info %s", p);
    cli_expect_fail(args, "dtype");
    p = tmp_file("cli.bin", "\x01\x02\x03", 3);
    snprintf(args, sizeof args, "sketch render %s --out %s/x.png", p, test_tmpdir());
    cli_expect_fail(args, "truncated");
    p = tmp_file("cli_ok.ndjson", k_good, strlen(k_good));
    snprintf(args, sizeof args, "sketch render %s --index 5 --out %s/x.png", p, test_tmpdir());
    cli_expect_fail(args, "no drawing 5");
}

int main(void) {
    RUN(test_ndjson_types_and_values);
    RUN(test_unequal_strokes);
    RUN(test_ndjson_sizes);
    RUN(test_bin);
    RUN(test_npy);
    RUN(test_cli);
    return test_summary();
}
