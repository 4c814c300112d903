/* test_fetch.c — `sbir fetch` against a tiny HTTP/1.1 server that runs in a thread of this process,
 * on 127.0.0.1 and an ephemeral port only, and misbehaves on purpose: 404, 500 then 200, slow answers
 * (shorter and longer than the client's timeout), a connection cut mid-file (resumed with Range, or
 * restarted when the server ignores Range), HTML instead of an image, a huge Content-Length with a short
 * body. Nothing is fetched from outside. Fixtures (ndjson, .npy, .bin, PNGs) are built here; the two
 * real BAM! images of ../shared/data/bam are served too where present. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "data/image.h"
#include "data/quickdraw.h"
#include "fetch/fetch_bam.h"
#include "fetch/fetch_http.h"
#include "fetch/fetch_quickdraw.h"
#include "fetch/fetch_state.h"
#include "fetch/qd_trim.h"
#include "test.h"
#include "util/atomic_file.h"
#include "util/common.h"

/* ---------------- the misbehaving server ---------------- */

enum { SRV_OK, SRV_STATUS, SRV_FAIL_FIRST, SRV_SLOW, SRV_CUT, SRV_HUGE, SRV_HTML };

typedef struct {
    char path[256];
    unsigned char *body;
    size_t len;
    int mode, param;
    int hits;
    char last_range[64]; /* the Range header of the latest request ("" when none) */
} route;

#define MAX_ROUTES 64
#define MAX_CONNS 512

static struct {
    int fd, port;
    pthread_t th;
    volatile int stop;
    route routes[MAX_ROUTES];
    int n_routes;
    volatile int ignore_range;
    pthread_mutex_t mu;
    pthread_t conns[MAX_CONNS];
    int n_conns;
    int requests;
} S = {.mu = PTHREAD_MUTEX_INITIALIZER};

static route *add_route(const char *path, const void *body, size_t len, int mode, int param) {
    if (S.n_routes == MAX_ROUTES) exit(2);
    route *r = &S.routes[S.n_routes++];
    memset(r, 0, sizeof *r);
    snprintf(r->path, sizeof r->path, "%s", path);
    r->body = mallocCheck(len ? len : 1);
    if (len) memcpy(r->body, body, len);
    r->len = len;
    r->mode = mode;
    r->param = param;
    return r;
}

static route *find_route(const char *path) {
    for (int i = 0; i < S.n_routes; i++)
        if (strcmp(S.routes[i].path, path) == 0) return &S.routes[i];
    return NULL;
}

static int send_all(int fd, const void *p, size_t n) {
    const char *c = p;
    while (n > 0) {
        ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) return -1;
        c += w;
        n -= (size_t)w;
    }
    return 0;
}

static void send_head(int fd, int code, const char *reason, const char *type, unsigned long long len, const char *extra) {
    char h[512];
    int n = snprintf(h, sizeof h,
                     "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %llu\r\nConnection: close\r\n%s\r\n", code,
                     reason, type, len, extra ? extra : "");
    send_all(fd, h, (size_t)n);
}

/* Sleeps in small steps so that stopping the server never waits for a slow handler. */
static void nap_ms(int ms) {
    for (int t = 0; t < ms && !S.stop; t += 10) {
        struct timespec ts = {0, 10 * 1000000L};
        nanosleep(&ts, NULL);
    }
}

static void serve_body(int fd, const route *r, long long range_start) {
    if (range_start >= 0 && !S.ignore_range) {
        char extra[128];
        if ((unsigned long long)range_start >= r->len) {
            snprintf(extra, sizeof extra, "Content-Range: bytes */%zu\r\n", r->len);
            send_head(fd, 416, "Range Not Satisfiable", "text/plain", 0, extra);
            return;
        }
        snprintf(extra, sizeof extra, "Content-Range: bytes %lld-%zu/%zu\r\n", range_start, r->len - 1, r->len);
        send_head(fd, 206, "Partial Content", "application/octet-stream", r->len - (size_t)range_start, extra);
        send_all(fd, r->body + range_start, r->len - (size_t)range_start);
        return;
    }
    send_head(fd, 200, "OK", "application/octet-stream", r->len, NULL);
    send_all(fd, r->body, r->len);
}

static void *conn_main(void *arg) {
    int fd = (int)(intptr_t)arg;
    struct timeval tv = {2, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char req[8192];
    size_t n = 0;
    while (n < sizeof req - 1 && !S.stop) {
        ssize_t got = recv(fd, req + n, sizeof req - 1 - n, 0);
        if (got <= 0) break;
        n += (size_t)got;
        req[n] = 0;
        if (strstr(req, "\r\n\r\n")) break;
    }
    req[n] = 0;
    char method[16] = "", path[512] = "";
    if (sscanf(req, "%15s %511s", method, path) == 2) {
        long long range_start = -1;
        char range[64] = "";
        for (char *p = strstr(req, "\r\n"); p; p = strstr(p + 2, "\r\n"))
            if (strncasecmp(p + 2, "Range:", 6) == 0) {
                sscanf(p + 8, " %63[^\r]", range);
                sscanf(range, "bytes=%lld-", &range_start);
            }
        pthread_mutex_lock(&S.mu);
        route *r = find_route(path);
        int hit = 0;
        if (r) {
            hit = ++r->hits;
            snprintf(r->last_range, sizeof r->last_range, "%s", range);
        }
        S.requests++;
        pthread_mutex_unlock(&S.mu);
        if (!r) {
            send_head(fd, 404, "Not Found", "text/plain", 9, NULL);
            send_all(fd, "not found", 9);
        } else if (r->mode == SRV_STATUS) {
            send_head(fd, r->param, "Nope", "text/html", 13, NULL);
            send_all(fd, "<html></html>", 13);
        } else if (r->mode == SRV_FAIL_FIRST && hit <= r->param) {
            send_head(fd, 500, "Internal Server Error", "text/html", 13, NULL);
            send_all(fd, "<html></html>", 13);
        } else if (r->mode == SRV_SLOW) {
            nap_ms(r->param);
            if (!S.stop) serve_body(fd, r, range_start);
        } else if (r->mode == SRV_CUT && hit == 1) {
            /* the whole length announced, param bytes sent, then the connection drops */
            send_head(fd, 200, "OK", "application/octet-stream", r->len, NULL);
            send_all(fd, r->body, (size_t)r->param);
        } else if (r->mode == SRV_HUGE) {
            send_head(fd, 200, "OK", "image/jpeg", 100000000000ULL, NULL);
            send_all(fd, r->body, r->len);
        } else if (r->mode == SRV_HTML) {
            const char *html = "<!DOCTYPE html><html><body>Sorry, this image was removed.</body></html>";
            send_head(fd, 200, "OK", "text/html", strlen(html), NULL);
            send_all(fd, html, strlen(html));
        } else {
            serve_body(fd, r, range_start);
        }
    }
    shutdown(fd, SHUT_RDWR);
    close(fd);
    return NULL;
}

static void *accept_main(void *arg) {
    (void)arg;
    while (!S.stop) {
        struct pollfd p = {S.fd, POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        int c = accept(S.fd, NULL, NULL);
        if (c < 0) continue;
        pthread_mutex_lock(&S.mu);
        int slot = S.n_conns < MAX_CONNS ? S.n_conns++ : -1;
        pthread_mutex_unlock(&S.mu);
        if (slot < 0 || pthread_create(&S.conns[slot], NULL, conn_main, (void *)(intptr_t)c) != 0) {
            close(c); /* bounded: a test never needs this many connections */
            if (slot >= 0) S.conns[slot] = 0;
        }
    }
    return NULL;
}

static void server_start(void) {
    S.fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(S.fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t al = sizeof a;
    if (S.fd < 0 || bind(S.fd, (struct sockaddr *)&a, sizeof a) || listen(S.fd, 64) ||
        getsockname(S.fd, (struct sockaddr *)&a, &al)) {
        perror("test server");
        exit(2);
    }
    S.port = ntohs(a.sin_port);
    S.stop = 0;
    if (pthread_create(&S.th, NULL, accept_main, NULL)) exit(2);
}

static void server_stop(void) {
    S.stop = 1;
    pthread_join(S.th, NULL);
    for (int i = 0; i < S.n_conns; i++)
        if (S.conns[i]) pthread_join(S.conns[i], NULL);
    close(S.fd);
    for (int i = 0; i < S.n_routes; i++) free(S.routes[i].body);
}

static const char *url_of(const char *path) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "http://127.0.0.1:%d%s", S.port, path);
    return buf[k];
}

/* ---------------- fixtures ---------------- */

static const char *tmp_path(const char *name) {
    static char buf[8][4096];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

typedef struct {
    unsigned char *p;
    size_t n;
} blob;

static blob make_ndjson(const char *word, int lines) {
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    for (int i = 0; i < lines; i++)
        fprintf(f,
                "{\"word\":\"%s\",\"countrycode\":\"US\",\"timestamp\":\"2017-03-0%d 12:00:00.0 UTC\","
                "\"recognized\":true,\"key_id\":\"%d\",\"drawing\":[[[%d,40,80,120],[0,%d,60,90]],[[5,200],[9,%d]]]}\n",
                word, 1 + i % 9, 5000000 + i, i, 30 + i, 100 + i);
    fclose(f);
    return (blob){(unsigned char *)s, n};
}

static blob make_npy(int rows) {
    char h[128];
    int len = snprintf(h, sizeof h, "{'descr': '|u1', 'fortran_order': False, 'shape': (%d, 784), }", rows);
    while ((10 + len + 1) % 64) h[len++] = ' ';
    h[len++] = '\n';
    blob b;
    b.n = 10 + (size_t)len + (size_t)rows * 784;
    b.p = mallocCheck(b.n);
    unsigned char mh[10] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, (unsigned char)len, 0};
    memcpy(b.p, mh, 10);
    memcpy(b.p + 10, h, (size_t)len);
    for (int r = 0; r < rows; r++)
        for (int i = 0; i < 784; i++) b.p[10 + len + r * 784 + i] = (unsigned char)((i * 7 + r * 31) % 256);
    return b;
}

static blob make_bin(int drawings) {
    char *s = NULL;
    size_t n = 0;
    FILE *f = open_memstream(&s, &n);
    sbir_sketch k;
    sketch_init(&k);
    for (int d = 0; d < drawings; d++) {
        sketch_clear(&k);
        k.key_id = 7000000 + (uint64_t)d;
        snprintf(k.countrycode, sizeof k.countrycode, "DE");
        k.recognized = 1;
        k.timestamp = 1490000000 + d;
        for (int st = 0; st <= d % 3; st++) {
            sketch_begin_stroke(&k);
            for (int p = 0; p < 3 + d; p++) sketch_add_point(&k, (float)((p * 20 + st) % 256), (float)((p * 9 + d) % 256), 0);
        }
        if (qd_bin_write(f, &k)) exit(2);
    }
    sketch_free(&k);
    fclose(f);
    return (blob){(unsigned char *)s, n};
}

static blob make_png(int w, int h, int seed) {
    uint8_t *px = mallocCheck((size_t)w * h * 3);
    for (int i = 0; i < w * h * 3; i++) px[i] = (uint8_t)((i * 13 + seed * 57) % 251);
    blob b = {0};
    if (image_encode_png(px, w, h, 3, &b.p, &b.n)) exit(2);
    free(px);
    return b;
}

static int file_equals(const char *path, const blob *b) {
    unsigned char *d;
    size_t n;
    if (read_file_all(path, 1 << 26, &d, &n)) return 0;
    int eq = n == b->n && memcmp(d, b->p, n) == 0;
    free(d);
    return eq;
}

static int exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

static int count_drawings(const char *path, qd_format fmt) {
    qd_options o;
    qd_options_default(&o);
    o.format = fmt;
    qd_reader *r = qd_open(path, &o);
    if (!r) return -1;
    sbir_sketch s;
    sketch_init(&s);
    int n = 0, rc;
    while ((rc = qd_next(r, &s)) == 1) n++;
    sketch_free(&s);
    qd_close(r);
    return rc < 0 ? -1 : n;
}

static void mkdirs(const char *p) { mkdir(p, 0755); }

/* ---------------- Quick, Draw! ---------------- */

static blob g_cat, g_eiffel, g_dog, g_cow, g_owl, g_npy, g_bin, g_nd10;

static void test_urls(void) {
    char u[1024], name[256];
    CHECK(fetch_qd_url("http://m/full/", "The Eiffel Tower", QD_FETCH_SIMPLIFIED, u, sizeof u) == SBIR_OK, "url");
    CHECK(strcmp(u, "http://m/full/simplified/The%20Eiffel%20Tower.ndjson") == 0, "%s", u);
    CHECK(fetch_qd_url(FETCH_QD_DEFAULT_BASE, "cat", QD_FETCH_BITMAP, u, sizeof u) == SBIR_OK, "url");
    CHECK(strcmp(u, "https://storage.googleapis.com/quickdraw_dataset/full/numpy_bitmap/cat.npy") == 0, "%s", u);
    fetch_qd_url(FETCH_QD_DEFAULT_BASE, "cat", QD_FETCH_BINARY, u, sizeof u);
    CHECK(strcmp(u, "https://storage.googleapis.com/quickdraw_dataset/full/binary/cat.bin") == 0, "%s", u);
    fetch_qd_url(FETCH_QD_DEFAULT_BASE, "cat", QD_FETCH_RAW, u, sizeof u);
    CHECK(strcmp(u, "https://storage.googleapis.com/quickdraw_dataset/full/raw/cat.ndjson") == 0, "%s", u);
    CHECK(fetch_qd_file_name("The Eiffel Tower", QD_FETCH_SIMPLIFIED, name, sizeof name) == SBIR_OK &&
              strcmp(name, "The Eiffel Tower.ndjson") == 0, "%s", name);
    CHECK(fetch_qd_file_name("../etc/passwd", QD_FETCH_RAW, name, sizeof name) == SBIR_ERR, "path accepted");
    CHECK(fetch_qd_file_name(".hidden", QD_FETCH_RAW, name, sizeof name) == SBIR_ERR, "dot accepted");
    CHECK(fetch_qd_file_name("", QD_FETCH_RAW, name, sizeof name) == SBIR_ERR, "empty accepted");
    qd_fetch_format f;
    CHECK(fetch_qd_format_parse("bitmap", &f) == SBIR_OK && f == QD_FETCH_BITMAP, "bitmap");
    CHECK(fetch_qd_format_parse("jpeg", &f) == SBIR_ERR, "jpeg accepted");
}

static void qd_opts(fetch_qd_opts *o, const char *out, const char *const *classes, int n, qd_fetch_format f) {
    fetch_qd_opts_default(o);
    o->classes = classes;
    o->n_classes = n;
    o->format = f;
    o->out = out;
    o->base_url = url_of("/full/");
    o->backoff_s = 0.05;
    o->retries = 2;
    o->stall_s = 5;
}

static void test_qd_basic(void) {
    const char *out = tmp_path("qd1");
    const char *classes[] = {"cat", "The Eiffel Tower"};
    fetch_qd_opts o;
    qd_opts(&o, out, classes, 2, QD_FETCH_SIMPLIFIED);
    fetch_qd_report r;
    CHECK(fetch_quickdraw(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    CHECK(r.downloaded == 2 && r.failed == 0 && r.present == 0, "%d %d %d", r.downloaded, r.failed, r.present);
    char p[4200];
    snprintf(p, sizeof p, "%s/cat.ndjson", out);
    CHECK(file_equals(p, &g_cat), "cat.ndjson differs");
    snprintf(p, sizeof p, "%s/The Eiffel Tower.ndjson", out);
    CHECK(file_equals(p, &g_eiffel), "Eiffel differs");
    snprintf(p, sizeof p, "%s/cat.ndjson.part", out);
    CHECK(!exists(p), "part left behind");
    /* again: nothing to download */
    int hits = find_route("/full/simplified/cat.ndjson")->hits;
    CHECK(fetch_quickdraw(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    CHECK(r.present == 2 && r.downloaded == 0, "%d %d", r.present, r.downloaded);
    CHECK(find_route("/full/simplified/cat.ndjson")->hits == hits, "downloaded again");
}

static void test_qd_max_per_class(void) {
    const char *out = tmp_path("qd2");
    const char *nd[] = {"ten"}, *npy[] = {"cat"}, *bin[] = {"cat"};
    fetch_qd_opts o;
    fetch_qd_report r;
    qd_opts(&o, out, nd, 1, QD_FETCH_RAW);
    o.max_per_class = 3;
    CHECK(fetch_quickdraw(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    char p[4200];
    snprintf(p, sizeof p, "%s/ten.ndjson", out);
    CHECK(count_drawings(p, QD_NDJSON) == 3, "%d", count_drawings(p, QD_NDJSON));
    size_t first3 = 0;
    for (int k = 0; k < 3; k++) first3 = (size_t)((unsigned char *)memchr(g_nd10.p + first3, '\n', g_nd10.n - first3) - g_nd10.p) + 1;
    blob pre = {g_nd10.p, first3};
    CHECK(file_equals(p, &pre), "ndjson is not the first 3 lines");

    qd_opts(&o, out, npy, 1, QD_FETCH_BITMAP);
    o.max_per_class = 4;
    CHECK(fetch_quickdraw(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    snprintf(p, sizeof p, "%s/cat.npy", out);
    CHECK(count_drawings(p, QD_NPY) == 4, "%d", count_drawings(p, QD_NPY));
    sbir_sketch s;
    sketch_init(&s);
    CHECK(qd_find(p, 0, 3, &s) == SBIR_OK && s.bitmap_size == 28, "row 3: %s", sbir_last_error());
    CHECK(s.bitmap && memcmp(s.bitmap, g_npy.p + g_npy.n - 4 * 784, 784) == 0, "row 3 differs from the source");
    sketch_free(&s);

    qd_opts(&o, out, bin, 1, QD_FETCH_BINARY);
    o.max_per_class = 2;
    CHECK(fetch_quickdraw(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    snprintf(p, sizeof p, "%s/cat.bin", out);
    CHECK(count_drawings(p, QD_BIN) == 2, "%d", count_drawings(p, QD_BIN));
    /* drawings 0 and 1: 1 and 2 strokes of 3 and 4 points */
    size_t two = (17 + 2 + 6) + (17 + 2 * (2 + 8));
    blob pb = {g_bin.p, two};
    CHECK(file_equals(p, &pb), "bin is not the first 2 records");

    /* more than the file has: everything kept */
    uint64_t kept = 0;
    char src[4200], dst[4200];
    snprintf(src, sizeof src, "%s/full.bin", out);
    snprintf(dst, sizeof dst, "%s/trim.bin", out);
    test_write_file(src, g_bin.p, g_bin.n);
    CHECK(qd_trim(src, dst, QD_BIN, 100, &kept) == SBIR_OK && kept == 6 && file_equals(dst, &g_bin), "kept %llu",
          (unsigned long long)kept);
    test_write_file(src, g_bin.p, g_bin.n - 3); /* truncated record */
    CHECK(qd_trim(src, dst, QD_BIN, 100, &kept) == SBIR_ERR && strstr(sbir_last_error(), "full.bin"), "%s",
          sbir_last_error());
}

static void test_qd_resume(void) {
    const char *out = tmp_path("qd3");
    mkdirs(out);
    /* a connection cut mid-file, then a Range request answered with 206 */
    const char *dog[] = {"dog"};
    fetch_qd_opts o;
    fetch_qd_report r;
    qd_opts(&o, out, dog, 1, QD_FETCH_SIMPLIFIED);
    CHECK(fetch_quickdraw(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    char p[4200], want[64];
    snprintf(p, sizeof p, "%s/dog.ndjson", out);
    CHECK(file_equals(p, &g_dog), "dog differs after a cut");
    route *rd = find_route("/full/simplified/dog.ndjson");
    snprintf(want, sizeof want, "bytes=%d-", rd->param);
    CHECK(rd->hits == 2 && strcmp(rd->last_range, want) == 0, "hits %d range '%s'", rd->hits, rd->last_range);

    /* the same cut, but the server ignores Range: the 200 restarts the file */
    const char *cow[] = {"cow"};
    S.ignore_range = 1;
    qd_opts(&o, out, cow, 1, QD_FETCH_SIMPLIFIED);
    CHECK(fetch_quickdraw(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    S.ignore_range = 0;
    snprintf(p, sizeof p, "%s/cow.ndjson", out);
    CHECK(file_equals(p, &g_cow), "cow differs after a cut and an ignored Range");
    CHECK(find_route("/full/simplified/cow.ndjson")->hits == 2, "hits");

    /* a partial file left by an earlier, interrupted run */
    const char *owl[] = {"owl"};
    snprintf(p, sizeof p, "%s/owl.ndjson.part", out);
    test_write_file(p, g_owl.p, 100);
    qd_opts(&o, out, owl, 1, QD_FETCH_SIMPLIFIED);
    CHECK(fetch_quickdraw(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    snprintf(p, sizeof p, "%s/owl.ndjson", out);
    CHECK(file_equals(p, &g_owl), "owl differs after resume");
    route *ro = find_route("/full/simplified/owl.ndjson");
    CHECK(ro->hits == 1 && strcmp(ro->last_range, "bytes=100-") == 0, "hits %d range '%s'", ro->hits, ro->last_range);
}

static void test_qd_errors(void) {
    const char *out = tmp_path("qd4");
    const char *missing[] = {"unicorn", "cat"};
    fetch_qd_opts o;
    fetch_qd_report r;
    qd_opts(&o, out, missing, 2, QD_FETCH_SIMPLIFIED);
    CHECK(fetch_quickdraw(&o, &r) == SBIR_ERR, "404 accepted");
    CHECK(strstr(sbir_last_error(), "unicorn.ndjson: HTTP 404") != NULL, "%s", sbir_last_error());
    CHECK(r.downloaded == 1 && r.failed == 1, "the other class must still come: %d %d", r.downloaded, r.failed);
    CHECK(find_route("/full/simplified/unicorn.ndjson")->hits == 1, "a 404 is not retried");

    const char *html[] = {"html"};
    qd_opts(&o, out, html, 1, QD_FETCH_BITMAP);
    CHECK(fetch_quickdraw(&o, &r) == SBIR_ERR && strstr(sbir_last_error(), "html.npy: not a Quick, Draw! npy file"), "%s",
          sbir_last_error());
    char p[4200];
    snprintf(p, sizeof p, "%s/html.npy", out);
    CHECK(!exists(p), "HTML kept as .npy");

    const char *huge[] = {"huge"};
    qd_opts(&o, out, huge, 1, QD_FETCH_BINARY);
    o.max_bytes = 1 << 20;
    double t0 = sbir_now();
    CHECK(fetch_quickdraw(&o, &r) == SBIR_ERR && strstr(sbir_last_error(), "huge.bin: ") && strstr(sbir_last_error(), "larger than the limit"), "%s",
          sbir_last_error());
    CHECK(sbir_now() - t0 < 3, "too slow: %.1f s", sbir_now() - t0);

    const char *flaky[] = {"flaky"};
    qd_opts(&o, out, flaky, 1, QD_FETCH_SIMPLIFIED);
    CHECK(fetch_quickdraw(&o, &r) == SBIR_OK, "500 then 200: %s", sbir_last_error());
    CHECK(find_route("/full/simplified/flaky.ndjson")->hits == 2, "hits");

    const char *bad[] = {"a/b"};
    qd_opts(&o, out, bad, 1, QD_FETCH_SIMPLIFIED);
    CHECK(fetch_quickdraw(&o, &r) == SBIR_ERR && strstr(sbir_last_error(), "a/b"), "%s", sbir_last_error());
}

/* ---------------- the engine: timeouts and the per-host rate ---------------- */

typedef struct {
    int done, ok;
    fetch_job jobs[8];
    char parts[8][4200];
    int n, next;
} eng_ctx;

static fetch_job *eng_next(void *ud) {
    eng_ctx *c = ud;
    return c->next < c->n ? &c->jobs[c->next++] : NULL;
}
static int eng_complete(void *ud, fetch_job *j) {
    (void)ud;
    unlink(j->part);
    return FETCH_DONE;
}
static void eng_done(void *ud, fetch_job *j) {
    eng_ctx *c = ud;
    c->done++;
    c->ok += j->result == FETCH_OK;
}

static double run_engine(const char *path, int n, double rate, double timeout, int *ok) {
    static eng_ctx c;
    memset(&c, 0, sizeof c);
    c.n = n;
    for (int i = 0; i < n; i++) {
        snprintf(c.parts[i], sizeof c.parts[i], "%s", tmp_path("eng.part"));
        c.parts[i][strlen(c.parts[i]) - 5] = (char)('a' + i);
        c.jobs[i].url = url_of(path);
        c.jobs[i].part = c.parts[i];
    }
    fetch_opts o;
    fetch_opts_default(&o);
    o.jobs = 8;
    o.rate = rate;
    o.timeout_s = timeout;
    o.retries = 0;
    o.next = eng_next;
    o.complete = eng_complete;
    o.done = eng_done;
    o.ctx = &c;
    double t0 = sbir_now();
    CHECK(fetch_run(&o, NULL) == SBIR_OK, "%s", sbir_last_error());
    CHECK(c.done == n, "%d of %d came back", c.done, n);
    *ok = c.ok;
    return sbir_now() - t0;
}

static void test_engine(void) {
    int ok;
    double t = run_engine("/img/a.png", 6, 0, 5, &ok);
    CHECK(ok == 6 && t < 2, "unlimited: %d ok in %.2f s", ok, t);
    t = run_engine("/img/a.png", 6, 5, 5, &ok); /* 5 per second: the 6th starts 1 s after the 1st */
    CHECK(ok == 6 && t >= 0.95 && t < 4, "rate 5/s: %d ok in %.2f s", ok, t);
    t = run_engine("/slow/300", 2, 0, 2, &ok); /* slower than nothing, faster than the timeout */
    CHECK(ok == 2 && t >= 0.29, "slow: %d ok in %.2f s", ok, t);
    t = run_engine("/slow/3000", 1, 0, 0.5, &ok); /* slower than the timeout */
    CHECK(ok == 0 && t < 2, "timeout: %d ok in %.2f s", ok, t);
}

/* ---------------- BAM! ---------------- */

static const char *k_cols[20] = {
    "content_bicycle", "content_bird",    "content_building", "content_cars",     "content_cat",
    "content_dog",     "content_flower",  "content_people",   "content_tree",     "emotion_gloomy",
    "emotion_happy",   "emotion_peaceful", "emotion_scary",   "media_3d_graphics", "media_comic",
    "media_graphite",  "media_oilpaint",  "media_pen_ink",    "media_vectorart",  "media_watercolor"};

static void sql(sqlite3 *db, const char *s) {
    char *err = NULL;
    if (sqlite3_exec(db, s, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "sqlite: %s: %s\n", s, err);
        exit(2);
    }
}

typedef struct {
    long long mid;
    const char *medium, *content; /* NULL: no positive label */
    const char *src;              /* a path on the test server, or a whole URL when it has "://" */
} bam_item;

static void make_bam_db(const char *path, const bam_item *it, int n) {
    sqlite3 *db;
    unlink(path);
    if (sqlite3_open(path, &db) != SQLITE_OK) exit(2);
    sql(db, "CREATE TABLE modules(mid int primary key, project_id int, src text, mature_content boolean, license text)");
    char s[4096] = "CREATE TABLE scores(mid int";
    for (int i = 0; i < 20; i++) snprintf(s + strlen(s), sizeof s - strlen(s), ", %s real", k_cols[i]);
    strcat(s, ")");
    sql(db, s);
    sql(db, "CREATE TABLE crowd_labels(mid int, attribute text, label text, primary key(mid, attribute))");
    for (int i = 0; i < n; i++) {
        char q[2048];
        const char *src = strstr(it[i].src, "://") ? it[i].src : url_of(it[i].src);
        snprintf(q, sizeof q, "INSERT INTO modules VALUES(%lld, %d, '%s', 0, 'CC')", it[i].mid, i, src);
        sql(db, q);
        snprintf(q, sizeof q, "INSERT INTO scores VALUES(%lld", it[i].mid);
        for (int c = 0; c < 20; c++) {
            int pos = (it[i].medium && !strcmp(k_cols[c] + 6, it[i].medium)) ||
                      (it[i].content && !strncmp(k_cols[c], "content_", 8) && !strcmp(k_cols[c] + 8, it[i].content));
            snprintf(q + strlen(q), sizeof q - strlen(q), ", %g", pos ? 0.9 : 0.1);
            snprintf(s, sizeof s, "INSERT INTO crowd_labels VALUES(%lld, '%s', '%s')", it[i].mid, k_cols[c],
                     pos ? "positive" : "negative");
            sql(db, s);
        }
        strcat(q, ")");
        sql(db, q);
    }
    sqlite3_close(db);
}

static void state_of(const char *dir, long long mid, char *status, size_t cap) {
    fetch_state *fs = fetch_state_open(dir);
    char file[64];
    status[0] = 0;
    if (fs) {
        if (fetch_state_get(fs, mid, status, cap, file, sizeof file) != 1) snprintf(status, cap, "(none)");
        fetch_state_close(fs);
    }
}

/* Under valgrind (SBIR_UNDER_VALGRIND=1, about 30x slower) a download that should fit in the client's
 * 1 s timeout may not: the BAM! tests scale that timeout, and the route meant to exceed it, by 4. */
static double slow_factor(void) {
    return test_under_valgrind() ? 4.0 : 1.0;
}

static void bam_opts(fetch_bam_opts *o, const char *db, const char *out) {
    fetch_bam_opts_default(o);
    o->db = db;
    o->out = out;
    o->jobs = 4;
    o->rate = 0;
    o->timeout_s = 1.0 * slow_factor();
    o->retries = 1;
    o->backoff_s = 0.05;
}

static int run_cmd(const char *cmd, char *out, size_t cap) {
    char full[8192];
    snprintf(full, sizeof full, "SBIR_QUIET=1 %s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p) return -1;
    size_t n = fread(out, 1, cap - 1, p);
    out[n] = 0;
    int st = pclose(p);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static const char *sbir_bin(void) {
    static char buf[512];
    const char *b = getenv("BUILD");
    snprintf(buf, sizeof buf, "%s/sbir", b && *b ? b : "build");
    return buf;
}

static void test_bam(void) {
    /* real BAM! images where ../shared/data has them */
    const char *d = test_data_dir();
    long long real_mid = 0;
    blob real = {0};
    if (d) {
        char p[4200];
        snprintf(p, sizeof p, "%s/bam/watercolor_142090457.jpg", d);
        if (read_file_all(p, 1 << 26, &real.p, &real.n) == SBIR_OK) {
            real_mid = 142090457;
            add_route("/real/142090457.jpg", real.p, real.n, SRV_OK, 0);
            free(real.p);
            real.p = find_route("/real/142090457.jpg")->body;
        }
    }
    if (!real_mid) SKIP("../shared/data/bam absent: generated images only");
    blob png1 = make_png(40, 30, 1), png2 = make_png(33, 21, 2), png3 = make_png(64, 48, 3), png4 = make_png(50, 50, 4);
    add_route("/img/2001.png", png1.p, png1.n, SRV_OK, 0);
    add_route("/img/2003.png", png2.p, png2.n, SRV_FAIL_FIRST, 1);
    add_route("/img/2004.png", png3.p, png3.n, SRV_SLOW, 200);
    route *slow = add_route("/img/2005.png", png1.p, png1.n, SRV_SLOW, (int)(2500 * slow_factor()));
    add_route("/img/2006.jpg", NULL, 0, SRV_HTML, 0);
    add_route("/img/2007.jpg", png1.p, 100, SRV_HUGE, 0);
    add_route("/img/2008.png", png4.p, png4.n, SRV_CUT, (int)png4.n / 2);
    add_route("/img/2010.png", png2.p, png2.n, SRV_OK, 0);
    route *dead = add_route("/img/2002.jpg", NULL, 0, SRV_STATUS, 404);
    add_route("/img/2012.jpg", NULL, 0, SRV_STATUS, 403);
    bam_item items[] = {
        {2001, "oilpaint", "cat", "/img/2001.png"},        /* fine */
        {2002, "watercolor", "dog", "/img/2002.jpg"},      /* 404 */
        {2003, "comic", "bird", "/img/2003.png"},          /* 500, then 200 */
        {2004, "graphite", "cars", "/img/2004.png"},       /* slow, within the timeout */
        {2005, "pen_ink", "bicycle", "/img/2005.png"},     /* slower than the timeout */
        {2006, "vectorart", "cat", "/img/2006.jpg"},       /* HTML with status 200 */
        {2007, "3d_graphics", "dog", "/img/2007.jpg"},     /* 100 GB announced, 100 bytes sent */
        {2008, "oilpaint", "bird", "/img/2008.png"},       /* cut mid-file, then resumed */
        {2009, NULL, NULL, "/img/2001.png"},               /* no labels: not selected */
        {2010, "oilpaint", "cat", "/img/2010.png"},        /* fine, second in its cell */
        {2011, "comic", "dog", "file:///etc/passwd"},      /* not http */
        {2012, "comic", "cat", "/img/2012.jpg"},           /* 403 */
        {2013, "comic", "flower", "/img/2001.png"},        /* a content outside the five */
        {real_mid ? real_mid : 2014, "watercolor", "cars", real_mid ? "/real/142090457.jpg" : "/img/2001.png"},
    };
    int n = (int)SBIR_ARRAY_LEN(items);
    const char *db = tmp_path("bam.sqlite"), *out = tmp_path("bam-images");
    make_bam_db(db, items, n);
    fetch_bam_opts o;
    fetch_bam_report r;
    bam_opts(&o, db, out);
    CHECK(fetch_bam(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    CHECK(r.mids == n, "%lld", (long long)r.mids);
    CHECK(r.found == 12 && r.not_selected == 2, "found %lld not selected %lld", (long long)r.found, (long long)r.not_selected);
    CHECK(r.downloaded == 6, "downloaded %lld", (long long)r.downloaded);
    CHECK(r.dead == 2 && r.n_dead_codes == 2, "dead %lld", (long long)r.dead);
    CHECK(r.failed == 1 && r.not_image == 1 && r.too_big == 1 && r.bad_url == 1, "failed %lld not image %lld too big %lld bad url %lld",
          (long long)r.failed, (long long)r.not_image, (long long)r.too_big, (long long)r.bad_url);
    char p[4200], st[32];
    const char *want_files[] = {"2001.png", "2003.png", "2004.png", "2008.png", "2010.png"};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(want_files); i++) {
        snprintf(p, sizeof p, "%s/%s", out, want_files[i]);
        CHECK(exists(p), "%s missing", p);
    }
    snprintf(p, sizeof p, "%s/2008.png", out);
    CHECK(file_equals(p, &png4), "2008 differs after the cut");
    snprintf(p, sizeof p, "%s/%lld.%s", out, real_mid ? real_mid : 2014, real_mid ? "jpg" : "png");
    CHECK(exists(p), "%s missing", p);
    if (real_mid) CHECK(file_equals(p, &real), "the real image differs");
    snprintf(p, sizeof p, "%s/2006.jpg", out);
    CHECK(!exists(p), "HTML saved as an image");
    snprintf(p, sizeof p, "%s/2006.part", out);
    CHECK(!exists(p), "HTML part kept");
    snprintf(p, sizeof p, "%s/2007.part", out);
    CHECK(!exists(p), "huge part kept");
    struct {
        long long mid;
        const char *status;
    } want_state[] = {{2001, "done"},     {2002, "dead"},    {2003, "done"},      {2004, "done"}, {2005, "failed"},
                      {2006, "not_image"}, {2007, "too_big"}, {2008, "done"},     {2009, "(none)"}, {2010, "done"},
                      {2011, "bad_url"},  {2012, "dead"},    {2013, "(none)"}};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(want_state); i++) {
        state_of(out, want_state[i].mid, st, sizeof st);
        CHECK(strcmp(st, want_state[i].status) == 0, "mid %lld: '%s', expected '%s'", want_state[i].mid, st,
              want_state[i].status);
    }

    /* Re-run: nothing done is fetched again, dead links are skipped, the failures are retried. */
    slow->param = 10;
    int hits2001 = find_route("/img/2001.png")->hits, hits_dead = dead->hits;
    CHECK(fetch_bam(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    CHECK(r.done_before == 6 && r.dead_before == 2, "done before %lld dead before %lld", (long long)r.done_before,
          (long long)r.dead_before);
    CHECK(r.downloaded == 1 && r.failed == 0, "downloaded %lld failed %lld", (long long)r.downloaded, (long long)r.failed);
    CHECK(r.not_image == 1 && r.too_big == 1 && r.bad_url == 1, "retried ones");
    CHECK(find_route("/img/2001.png")->hits == hits2001 && dead->hits == hits_dead, "fetched again");
    state_of(out, 2005, st, sizeof st);
    CHECK(strcmp(st, "done") == 0, "2005: %s", st);

    /* --retry-dead asks again; a file deleted by hand is fetched again; a file put there by hand counts */
    o.retry_dead = 1;
    snprintf(p, sizeof p, "%s/2001.png", out);
    unlink(p);
    CHECK(fetch_bam(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    CHECK(dead->hits == hits_dead + 1 && r.dead == 2, "dead retried: hits %d, dead %lld", dead->hits, (long long)r.dead);
    CHECK(r.downloaded == 1 && exists(p), "deleted file: downloaded %lld", (long long)r.downloaded);

    /* --per-cell 1: 2010 shares its cell (oilpaint x cat) with 2001 */
    const char *out2 = tmp_path("bam-cell");
    bam_opts(&o, db, out2);
    o.per_cell = 1;
    mkdirs(out2);
    snprintf(p, sizeof p, "%s/2003.png", out2);
    test_write_file(p, png2.p, png2.n); /* already there, from elsewhere */
    CHECK(fetch_bam(&o, &r) == SBIR_OK, "%s", sbir_last_error());
    CHECK(r.found == 11 && r.over_cell == 1 && r.present == 1, "found %lld over %lld present %lld", (long long)r.found,
          (long long)r.over_cell, (long long)r.present);
    snprintf(p, sizeof p, "%s/2010.png", out2);
    CHECK(!exists(p), "over the cell");

    /* the command line prints the report */
    char cmd[8192], txt[8192];
    snprintf(cmd, sizeof cmd, "%s fetch bam --db '%s' --out '%s' --labels scores:0.5 --timeout %g --retries 0 --rate 0",
             sbir_bin(), db, tmp_path("bam-cli"), 1.0 * slow_factor());
    int rc = run_cmd(cmd, txt, sizeof txt);
    CHECK(rc == 0, "exit %d: %s", rc, txt);
    CHECK(strstr(txt, "found by their labels") && strstr(txt, "dead links: 2 (") && strstr(txt, "HTTP 404 x1") &&
              strstr(txt, "not images: 1"), "%s", txt);
    snprintf(cmd, sizeof cmd, "%s fetch bam --db '%s' --out '%s' --labels maybe", sbir_bin(), db, tmp_path("x"));
    CHECK(run_cmd(cmd, txt, sizeof txt) == 2 && strstr(txt, "--labels"), "%s", txt);
    snprintf(cmd, sizeof cmd, "%s fetch bam --db '%s' --out '%s'", sbir_bin(), tmp_path("nosuch.sqlite"), tmp_path("x"));
    rc = run_cmd(cmd, txt, sizeof txt);
    int lines = 0;
    for (const char *c = txt; *c; c++) lines += *c == '\n';
    CHECK(rc == 1 && strstr(txt, "nosuch.sqlite") && lines == 1, "%s", txt);
    free(png1.p);
    free(png2.p);
    free(png3.p);
    free(png4.p);
}

static void test_cli_quickdraw(void) {
    char cmd[8192], txt[8192];
    snprintf(cmd, sizeof cmd, "%s fetch quickdraw --classes 'cat,The Eiffel Tower' --format simplified --out '%s' "
             "--base-url '%s' --max-per-class 2",
             sbir_bin(), tmp_path("qd-cli"), url_of("/full"));
    int rc = run_cmd(cmd, txt, sizeof txt);
    CHECK(rc == 0 && strstr(txt, "2 downloaded"), "exit %d: %s", rc, txt);
    char p[4200];
    snprintf(p, sizeof p, "%s/The Eiffel Tower.ndjson", tmp_path("qd-cli"));
    CHECK(count_drawings(p, QD_NDJSON) == 2, "%d", count_drawings(p, QD_NDJSON));
    snprintf(cmd, sizeof cmd, "%s fetch quickdraw --classes unicorn --out '%s' --base-url '%s' --retries 0", sbir_bin(),
             tmp_path("qd-cli"), url_of("/full"));
    rc = run_cmd(cmd, txt, sizeof txt);
    CHECK(rc == 1 && strstr(txt, "sbir: ") && strstr(txt, "unicorn.ndjson: HTTP 404"), "exit %d: %s", rc, txt);
    snprintf(cmd, sizeof cmd, "%s fetch --help", sbir_bin());
    CHECK(run_cmd(cmd, txt, sizeof txt) == 0 && strstr(txt, "--max-per-class"), "%s", txt);
    snprintf(cmd, sizeof cmd, "%s fetch quickdraw --classes cat --out x --format svg", sbir_bin());
    CHECK(run_cmd(cmd, txt, sizeof txt) == 2, "%s", txt);
}

int main(void) {
    server_start();
    g_cat = make_ndjson("cat", 5);
    g_eiffel = make_ndjson("The Eiffel Tower", 4);
    g_dog = make_ndjson("dog", 40);
    g_cow = make_ndjson("cow", 40);
    g_owl = make_ndjson("owl", 8);
    g_nd10 = make_ndjson("ten", 10);
    g_npy = make_npy(7);
    g_bin = make_bin(6);
    blob png = make_png(20, 20, 9);
    add_route("/full/simplified/cat.ndjson", g_cat.p, g_cat.n, SRV_OK, 0);
    add_route("/full/simplified/The%20Eiffel%20Tower.ndjson", g_eiffel.p, g_eiffel.n, SRV_OK, 0);
    add_route("/full/simplified/dog.ndjson", g_dog.p, g_dog.n, SRV_CUT, (int)g_dog.n / 2);
    add_route("/full/simplified/cow.ndjson", g_cow.p, g_cow.n, SRV_CUT, (int)g_cow.n / 3);
    add_route("/full/simplified/owl.ndjson", g_owl.p, g_owl.n, SRV_OK, 0);
    add_route("/full/simplified/flaky.ndjson", g_owl.p, g_owl.n, SRV_FAIL_FIRST, 1);
    add_route("/full/simplified/unicorn.ndjson", NULL, 0, SRV_STATUS, 404);
    add_route("/full/raw/ten.ndjson", g_nd10.p, g_nd10.n, SRV_OK, 0);
    add_route("/full/numpy_bitmap/cat.npy", g_npy.p, g_npy.n, SRV_OK, 0);
    add_route("/full/numpy_bitmap/html.npy", NULL, 0, SRV_HTML, 0);
    add_route("/full/binary/cat.bin", g_bin.p, g_bin.n, SRV_OK, 0);
    add_route("/full/binary/huge.bin", g_bin.p, g_bin.n, SRV_HUGE, 0);
    add_route("/img/a.png", png.p, png.n, SRV_OK, 0);
    add_route("/slow/300", png.p, png.n, SRV_SLOW, 300);
    add_route("/slow/3000", png.p, png.n, SRV_SLOW, 3000);
    free(png.p);
    RUN(test_urls);
    RUN(test_qd_basic);
    RUN(test_qd_max_per_class);
    RUN(test_qd_resume);
    RUN(test_qd_errors);
    RUN(test_engine);
    RUN(test_bam);
    RUN(test_cli_quickdraw);
    server_stop();
    blob all[] = {g_cat, g_eiffel, g_dog, g_cow, g_owl, g_nd10, g_npy, g_bin};
    for (size_t i = 0; i < SBIR_ARRAY_LEN(all); i++) free(all[i].p);
    return test_summary();
}
