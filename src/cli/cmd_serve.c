/* cmd_serve.c — `sbir serve`: the web page and JSON API over an index (src/serve/server.h). Runs
 * until SIGINT/SIGTERM, then stops cleanly (queued searches answered, connections closed). */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "serve/server.h"

static volatile sig_atomic_t g_stop;
static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void usage(FILE *out) {
    srv_opts d;
    srv_opts_default(&d);
    fprintf(out,
            "usage: sbir serve --index INDEX [--model MODEL] [--port 8080] [--host 127.0.0.1]\n"
            "                  [--workers N] [--threads N] [--queue N] [--timeout S] [--request-timeout S]\n"
            "                  [--max-body B] [--log]\n\n"
            "Serves a web page to draw a sketch, pick a style (or drop example images) and see the results\n"
            "while drawing, and its JSON API:\n"
            "  POST /api/search   {\"strokes\": [[[x..],[y..],[t..]], ...] or \"sketch_png\": DATA_URL,\n"
            "                      \"style\": NAME or \"style_images\": [DATA_URL, ...], \"k\": N}\n"
            "  GET  /api/styles   GET /api/image/ID[?size=N]   GET /healthz\n"
            "  --model MODEL   default: the model recorded next to the index (INDEX.json)\n"
            "  --host ADDR     numeric address to listen on (default 127.0.0.1: this machine only)\n"
            "  --workers N     searches run at once, one model copy each (default %d: the cores)\n"
            "  --threads N     HTTP I/O threads (default %d)\n"
            "  --queue N       searches that may wait for a worker; more get 503 (default %d)\n"
            "  --timeout S     idle connection timeout in seconds (default %d)\n"
            "  --request-timeout S  a request's headers must all arrive within S seconds of the\n"
            "                  connection opening or of its previous answer, however steadily they\n"
            "                  trickle in (default %g; 0: no bound); its body within %g s more.\n"
            "                  A slower client is disconnected (the idle --timeout restarts per byte)\n"
            "  --max-body B    largest request body in bytes (default %zu)\n"
            "  --log           one line per request on stderr\n",
            d.workers, d.http_threads, d.queue, d.conn_timeout_s, d.request_timeout_ms / 1e3, d.body_timeout_ms / 1e3,
            d.max_body);
}

int cmd_serve(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    srv_opts o;
    srv_opts_default(&o);
    static const struct option opts[] = {{"index", required_argument, 0, 'i'},   {"model", required_argument, 0, 'm'},
                                         {"port", required_argument, 0, 'p'},    {"host", required_argument, 0, 'H'},
                                         {"workers", required_argument, 0, 'w'}, {"threads", required_argument, 0, 't'},
                                         {"queue", required_argument, 0, 'q'},   {"timeout", required_argument, 0, 'T'},
                                         {"max-body", required_argument, 0, 'b'}, {"log", no_argument, 0, 'l'},
                                         {"request-timeout", required_argument, 0, 'R'},
                                         {0, 0, 0, 0}};
    int c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:m:p:", opts, NULL)) != -1) {
        switch (c) {
        case 'i': o.index_path = optarg; break;
        case 'm': o.model_path = optarg; break;
        case 'H': o.host = optarg; break;
        case 'l': o.log = 1; break;
        case 'p':
            if (cli_parse_int("serve", "--port", optarg, 0, 65535, &v)) return 2;
            o.port = (int)v;
            break;
        case 'w':
            if (cli_parse_int("serve", "--workers", optarg, 1, 256, &v)) return 2;
            o.workers = (int)v;
            break;
        case 't':
            if (cli_parse_int("serve", "--threads", optarg, 1, 64, &v)) return 2;
            o.http_threads = (int)v;
            break;
        case 'q':
            if (cli_parse_int("serve", "--queue", optarg, 0, 100000, &v)) return 2;
            o.queue = (int)v;
            break;
        case 'T':
            if (cli_parse_int("serve", "--timeout", optarg, 1, 3600, &v)) return 2;
            o.conn_timeout_s = (int)v;
            break;
        case 'R': {
            double sec;
            if (cli_parse_float("serve", "--request-timeout", optarg, 0, 3600, &sec)) return 2;
            o.request_timeout_ms = (int)(sec * 1e3 + 0.5);
            break;
        }
        case 'b':
            if (cli_parse_int("serve", "--max-body", optarg, 1024, 1L << 30, &v)) return 2;
            o.max_body = (size_t)v;
            break;
        default: return cli_usage_error("serve", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    if (!o.index_path) return cli_usage_error("serve", "--index is required");
    signal(SIGPIPE, SIG_IGN); /* a client that goes away must not kill the server */
    srv *s = srv_start(&o);
    if (!s) return cli_fail_last();
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    const char *host = o.host ? o.host : "127.0.0.1";
    int v6 = strchr(host, ':') != NULL;
    printf("sbir serve: http://%s%s%s:%d/  (%d workers; Ctrl+C stops)\n", v6 ? "[" : "", host, v6 ? "]" : "", srv_port(s),
           o.workers);
    fflush(stdout);
    while (!g_stop) sleep(1); /* a signal cuts the sleep short; checking each second closes the race with pause() */
    fprintf(stderr, "sbir serve: stopping\n");
    srv_stop(s);
    return 0;
}
