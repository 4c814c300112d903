/* fuzz_serve_http.c — libFuzzer target: sbir serve's whole request path on arbitrary bytes.
 *
 * At start-up the harness builds the server tests' fixture (tests/browser/fixture.h: a 36-image
 * gallery, a small untrained model and its index, in a second) and starts the real server in-process
 * on an ephemeral loopback port (one I/O thread, one search worker, a small body limit). Each input is
 * the raw bytes a client sends on one TCP connection: the harness writes them and reads until the
 * server closes the connection, or until every request the server has counted has its answer and
 * 20 ms pass without a byte (half-closing the connection when the rest cannot be a whole request).
 * So libmicrohttpd's parser (request line, headers,
 * chunked bodies, pipelined and keep-alive requests) and all of our handling behind it run on the
 * input: routing, methods, Content-Length and Content-Type checks, query arguments (?style=, ?k=,
 * ?size=), JSON search bodies (strokes, sketch_png, style, style_images, k, class), raw PNG/JPEG
 * bodies, /api/image/ID thumbnails, /api/styles, /healthz and the static page.
 *
 * Invariants (a violation aborts, and libFuzzer keeps the input):
 *   - whatever comes back is HTTP: it starts with "HTTP/1.";
 *   - no answer is a 5xx other than 503 (busy): hostile input gets a 4xx, never an internal error;
 *   - every request gets its answer, or the connection is closed, within 10 s (no hang);
 * and ASan/UBSan/LSan watch the server's threads as well as this one. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>

#include "browser/fixture.h"
#include "fuzz_common.h"
#include "serve/server.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static srv *g_srv;
static int g_port;

static void stop_server(void) {
    srv_stop(g_srv);
    g_srv = NULL;
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_setup_env();
    signal(SIGPIPE, SIG_IGN);
    char dir[1100];
    snprintf(dir, sizeof dir, "%s/fx", fuzz_dir());
    mkdir(dir, 0700);
    static fx_paths fx;
    if (fx_make(dir, &fx) != 0) {
        fprintf(stderr, "fuzz_serve_http: fixture: %s\n", sbir_last_error());
        abort();
    }
    srv_opts o;
    srv_opts_default(&o);
    o.index_path = fx.index, o.model_path = fx.model, o.port = 0;
    o.http_threads = 1, o.workers = 1, o.queue = 4;
    o.conn_timeout_s = 2, o.max_body = 64 << 10, o.max_k = 50;
    g_srv = srv_start(&o);
    if (!g_srv) {
        fprintf(stderr, "fuzz_serve_http: start: %s\n", sbir_last_error());
        abort();
    }
    g_port = srv_port(g_srv);
    atexit(stop_server); /* runs before fuzz_cleanup (registered earlier) removes the fixture */
    return 0;
}

static int connect_loopback(void) {
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) FUZZ_ABORT("socket: %s", strerror(errno));
    struct sockaddr_in a = {0};
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)g_port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&a, sizeof a) != 0) FUZZ_ABORT("connect: %s", strerror(errno));
    return fd;
}

/* Checks every status line in what came back (pipelined requests get several answers) and returns
 * how many final (non-1xx) answers there are. Protocol-level 5xx answers of libmicrohttpd (501 not
 * implemented, 505 version not supported) and 503 (busy) are allowed; 500, 502, 504 are not. */
static int check_answers(const char *out, size_t n) {
    if (n == 0) return 0; /* the server may close without answering bytes that are not HTTP */
    if (memcmp(out, "HTTP/1.", SBIR_MIN(n, 7)) != 0) FUZZ_ABORT("the answer is not HTTP: %.40s", out);
    int finals = 0;
    for (size_t i = 0; i + 12 <= n; i++) {
        int line_start = i == 0 || (i >= 2 && out[i - 2] == '\r' && out[i - 1] == '\n');
        if (!line_start || memcmp(out + i, "HTTP/1.", 7) != 0) continue;
        int status = atoi(out + i + 9);
        if (status == 500 || status == 502 || status == 504 || status > 505)
            FUZZ_ABORT("status %d: %.200s", status, out + i);
        finals += status >= 200;
    }
    return finals;
}

static uint64_t requests_seen(void) {
    srv_stats st;
    srv_get_stats(g_srv, &st);
    return st.requests;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    uint64_t req0 = requests_seen();
    int fd = connect_loopback();
    double t0 = sbir_now();
    size_t sent = 0;
    /* write what the server will take; it may answer and close before the end (a 413, a 400) */
    while (sent < size) {
        struct pollfd p = {fd, POLLOUT, 0};
        if (poll(&p, 1, 1000) <= 0) {
            if (sbir_now() - t0 > 10) FUZZ_ABORT("the server took nothing for 10 s");
            continue;
        }
        ssize_t k = send(fd, data + sent, size - sent, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (k < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (k <= 0) break; /* closed by the server */
        sent += (size_t)k;
    }
    enum { KEEP = 1 << 20 };
    static char out[KEEP + 1];
    size_t got = 0;
    int half_closed = 0;
    double last = sbir_now();
    for (;;) {
        struct pollfd p = {fd, POLLIN, 0};
        int pr = poll(&p, 1, 20);
        double now = sbir_now();
        if (now - t0 > 10)
            FUZZ_ABORT("the connection was still open 10 s after the request was sent (%zu bytes back)", got);
        if (pr == 0) {
            /* Quiet for 20 ms. libmicrohttpd keeps a keep-alive connection open after its last answer
             * until the idle timeout, so stop once every request the server has seen has its answer.
             * Otherwise the rest is incomplete (no request seen yet: headers cut short), or a search
             * is still running, or a body is short of its Content-Length: half-close at once in the
             * first case, after 150 ms of quiet in the others (a half-close while a search runs would
             * make libmicrohttpd drop the connection before its answer), and read on until the server
             * closes. */
            out[got] = 0;
            int finals = check_answers(out, got);
            uint64_t seen = requests_seen() - req0;
            if (finals > 0 && (uint64_t)finals >= seen) break;
            if (!half_closed && (seen == 0 || now - last > 0.15)) {
                shutdown(fd, SHUT_WR);
                half_closed = 1;
            }
            continue;
        }
        if (pr < 0) continue;
        char buf[65536];
        ssize_t k = recv(fd, buf, sizeof buf, 0);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break; /* closed (or reset) */
        last = now;
        size_t take = SBIR_MIN((size_t)k, KEEP - got);
        memcpy(out + got, buf, take);
        got += take;
    }
    close(fd);
    out[got] = 0;
    check_answers(out, got);
    return 0;
}
