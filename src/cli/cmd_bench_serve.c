/* cmd_bench_serve.c — `sbir bench serve`: a load test of the search server on this machine only.
 * The server runs in this process on 127.0.0.1 (an ephemeral port) and client threads send it
 * searches over keep-alive connections, as the page does: raw Quick, Draw!-style strokes (so every
 * search simplifies, rasterises, embeds and ranks), styles cycling over the model's. Bounded in
 * count and in time. Reports searches per second, errors, latency percentiles and the process's
 * resident memory after start, after a warm-up and after each of two measured rounds (memory that
 * grows from round to round would be a leak or an unbounded queue). */
#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "cli/cli.h"
#include "serve/http_client.h"
#include "serve/server.h"
#include "util/rng.h"

#define N_BODIES 64

typedef struct {
    int port, total;
    double deadline;
    char **bodies;
    atomic_int next;
    atomic_int done, ok, busy, failed;
    double *lat_ms; /* per request */
} load;

static long rss_kb(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld", &kb) == 1) break;
    if (f) fclose(f);
    return kb;
}

/* A sketch of 2-5 wobbly strokes in raw form, in canvas pixels with times, and a style. */
static char *make_body(sbir_rng *seed, const char *style, int k) {
    size_t cap = 16384, n = 0;
    char *b = mallocCheck(cap);
    n += (size_t)snprintf(b + n, cap - n, "{\"k\": %d, %s%s%s\"strokes\": [", k, style ? "\"style\": \"" : "",
                          style ? style : "", style ? "\", " : "");
    int ns = 2 + (int)(rng_next(seed) % 4), t = 0;
    for (int s = 0; s < ns; s++) {
        int np = 10 + (int)(rng_next(seed) % 30);
        float x = 40 + (float)(rng_next(seed) % 300), y = 40 + (float)(rng_next(seed) % 300);
        float dx = (float)(rng_next(seed) % 21) - 10, dy = (float)(rng_next(seed) % 21) - 10;
        int xs[64], ys[64];
        for (int i = 0; i < np; i++) {
            xs[i] = (int)x, ys[i] = (int)y;
            dx += (float)(rng_next(seed) % 7) - 3, dy += (float)(rng_next(seed) % 7) - 3;
            x = fminf(fmaxf(x + dx, 0), 380), y = fminf(fmaxf(y + dy, 0), 380);
        }
        for (int axis = 0; axis < 3; axis++) {
            n += (size_t)snprintf(b + n, cap - n, "%s[", axis ? "," : (s ? ",[" : "["));
            for (int i = 0; i < np; i++)
                n += (size_t)snprintf(b + n, cap - n, "%s%d", i ? "," : "", axis == 0 ? xs[i] : axis == 1 ? ys[i] : t + 16 * i);
            n += (size_t)snprintf(b + n, cap - n, "]");
        }
        n += (size_t)snprintf(b + n, cap - n, "]");
        t += 16 * np + 300;
    }
    snprintf(b + n, cap - n, "]}");
    return b;
}

static void *client(void *p) {
    load *L = p;
    int fd = -1;
    for (;;) {
        int i = atomic_fetch_add(&L->next, 1);
        if (i >= L->total || sbir_now() > L->deadline) break;
        if (fd < 0) fd = http_connect(L->port, 30000);
        if (fd < 0) {
            atomic_fetch_add(&L->failed, 1);
            continue;
        }
        const char *body = L->bodies[i % N_BODIES];
        http_resp r;
        double t0 = sbir_now();
        int rc = http_exchange(fd, "POST", "/api/search", "application/json", body, strlen(body), &r);
        L->lat_ms[i] = 1e3 * (sbir_now() - t0);
        if (rc != 0) atomic_fetch_add(&L->failed, 1);
        else if (r.status == 200 && strstr(r.body, "\"results\":[{")) atomic_fetch_add(&L->ok, 1);
        else if (r.status == 503) atomic_fetch_add(&L->busy, 1);
        else atomic_fetch_add(&L->failed, 1);
        atomic_fetch_add(&L->done, 1);
        if (rc != 0 || r.closed) close(fd), fd = -1;
        http_resp_free(&r);
    }
    if (fd >= 0) close(fd);
    return NULL;
}

static int dbl_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

typedef struct {
    int done, ok, busy, failed;
    double secs, p50, p90, p99;
    double cpu_s; /* CPU time of the whole process (server and clients) during the round */
} round_result;

static double cpu_seconds(void) {
    struct rusage u;
    getrusage(RUSAGE_SELF, &u);
    return u.ru_utime.tv_sec + u.ru_stime.tv_sec + 1e-6 * (u.ru_utime.tv_usec + u.ru_stime.tv_usec);
}

static round_result run_round(int port, char **bodies, int total, double max_s, int clients) {
    load L = {.port = port, .total = total, .deadline = sbir_now() + max_s, .bodies = bodies};
    L.lat_ms = callocCheck((size_t)total, sizeof(double));
    pthread_t *th = mallocCheck(sizeof(pthread_t) * (size_t)clients);
    double t0 = sbir_now(), c0 = cpu_seconds();
    for (int c = 0; c < clients; c++) pthread_create(&th[c], NULL, client, &L);
    for (int c = 0; c < clients; c++) pthread_join(th[c], NULL);
    round_result r = {atomic_load(&L.done), atomic_load(&L.ok), atomic_load(&L.busy), atomic_load(&L.failed),
                      sbir_now() - t0, 0, 0, 0, cpu_seconds() - c0};
    int n = SBIR_MIN(r.done, total);
    qsort(L.lat_ms, (size_t)n, sizeof(double), dbl_cmp);
    if (n) r.p50 = L.lat_ms[n / 2], r.p90 = L.lat_ms[n * 9 / 10], r.p99 = L.lat_ms[SBIR_MIN(n - 1, n * 99 / 100)];
    free(th);
    free(L.lat_ms);
    return r;
}

static void usage(FILE *out) {
    fprintf(out, "usage: sbir bench serve --index INDEX [--model MODEL] [--requests 4000] [--seconds 60]\n"
                 "                        [--clients 8] [--workers N] [--warmup 200] [-k 20]\n\n"
                 "Load test of `sbir serve` on 127.0.0.1 (in this process): two rounds of --requests searches\n"
                 "(each round stops after --seconds at most) from --clients keep-alive connections.\n"
                 "Prints searches/s, errors, latency percentiles and resident memory per phase.\n");
}

int cmd_bench_serve(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    srv_opts o;
    srv_opts_default(&o);
    o.port = 0, o.host = "127.0.0.1";
    long v, requests = 4000, seconds = 60, clients = 8, warmup = 200, k = 20;
    static const struct option opts[] = {{"index", required_argument, 0, 'i'},   {"model", required_argument, 0, 'm'},
                                         {"requests", required_argument, 0, 'n'}, {"seconds", required_argument, 0, 's'},
                                         {"clients", required_argument, 0, 'c'}, {"workers", required_argument, 0, 'w'},
                                         {"warmup", required_argument, 0, 'W'},  {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "i:m:k:", opts, NULL)) != -1) {
        switch (c) {
        case 'i': o.index_path = optarg; break;
        case 'm': o.model_path = optarg; break;
        case 'n': if (cli_parse_int("bench serve", "--requests", optarg, 1, 1000000, &requests)) return 2; break;
        case 's': if (cli_parse_int("bench serve", "--seconds", optarg, 1, 600, &seconds)) return 2; break;
        case 'c': if (cli_parse_int("bench serve", "--clients", optarg, 1, 256, &clients)) return 2; break;
        case 'W': if (cli_parse_int("bench serve", "--warmup", optarg, 0, 100000, &warmup)) return 2; break;
        case 'k': if (cli_parse_int("bench serve", "-k", optarg, 1, 200, &k)) return 2; break;
        case 'w':
            if (cli_parse_int("bench serve", "--workers", optarg, 1, 64, &v)) return 2;
            o.workers = (int)v;
            break;
        default: return cli_usage_error("bench serve", "unknown option");
        }
    }
    if (!o.index_path) return cli_usage_error("bench serve", "--index is required");
    signal(SIGPIPE, SIG_IGN);
    o.queue = (int)clients * 2; /* every client's request fits: 503s here would mean a bug */
    long rss0 = rss_kb();
    srv *s = srv_start(&o);
    if (!s) return cli_fail_last();
    long rss_start = rss_kb();
    /* the styles to cycle through, from the server itself */
    http_resp sr;
    cJSON *styles = NULL;
    if (http_request(srv_port(s), "GET", "/api/styles", NULL, NULL, 0, 10000, &sr) == 0) styles = cJSON_Parse(sr.body);
    http_resp_free(&sr);
    cJSON *arr = cJSON_GetObjectItem(styles, "styles");
    int n_styles = cJSON_GetArraySize(arr);
    char *bodies[N_BODIES];
    sbir_rng seed;
    rng_seed(&seed, 12345);
    for (int i = 0; i < N_BODIES; i++) {
        const char *name = n_styles && i % (n_styles + 1) ? cJSON_GetStringValue(cJSON_GetObjectItem(
                                                                cJSON_GetArrayItem(arr, i % (n_styles + 1) - 1), "name"))
                                                          : NULL; /* every (n+1)-th: content only */
        bodies[i] = make_body(&seed, name, (int)k);
    }
    cJSON_Delete(styles);
    printf("bench serve: %s, %d workers, %ld clients on 127.0.0.1:%d, %d style choices + none, k=%ld\n", o.index_path,
           o.workers, clients, srv_port(s), n_styles, k);
    round_result w = run_round(srv_port(s), bodies, (int)warmup, (double)seconds, (int)clients);
    long rss_warm = rss_kb();
    round_result r[2];
    long rss_round[2];
    for (int i = 0; i < 2; i++) {
        r[i] = run_round(srv_port(s), bodies, (int)requests, (double)seconds, (int)clients);
        rss_round[i] = rss_kb();
    }
    srv_stats st;
    srv_get_stats(s, &st);
    srv_stop(s);
    printf("\n| phase | searches | seconds | searches/s | 200 | 503 | other errors | p50 ms | p90 ms | p99 ms | CPU ms/search | RSS MiB after |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    printf("| process start | | | | | | | | | | | %.1f |\n", rss0 / 1024.0);
    printf("| server started | | | | | | | | | | | %.1f |\n", rss_start / 1024.0);
    const round_result *all[3] = {&w, &r[0], &r[1]};
    const char *names[3] = {"warm-up", "round 1", "round 2"};
    long rss_after[3] = {rss_warm, rss_round[0], rss_round[1]};
    int errors = 0;
    for (int i = 0; i < 3; i++) {
        const round_result *x = all[i];
        printf("| %s | %d | %.2f | %.1f | %d | %d | %d | %.1f | %.1f | %.1f | %.2f | %.1f |\n", names[i], x->done,
               x->secs, x->secs > 0 ? x->done / x->secs : 0, x->ok, x->busy, x->failed, x->p50, x->p90, x->p99,
               x->done ? 1e3 * x->cpu_s / x->done : 0, rss_after[i] / 1024.0);
        errors += x->busy + x->failed;
    }
    /* On a shared machine the wall-clock rate says how much CPU the others left; the CPU time per
     * search says what two idle cores would do. */
    double cpu_per = (r[0].cpu_s + r[1].cpu_s) / SBIR_MAX(1, r[0].done + r[1].done);
    printf("\nCPU per search (server + clients): %.2f ms -> %.0f searches/s on %ld idle cores\n", 1e3 * cpu_per,
           cpu_per > 0 ? sysconf(_SC_NPROCESSORS_ONLN) / cpu_per : 0, sysconf(_SC_NPROCESSORS_ONLN));
    printf("server: %llu requests, %llu searches, %llu 4xx, %llu 5xx, queue peak %d\n",
           (unsigned long long)st.requests, (unsigned long long)st.searches, (unsigned long long)st.errors_4xx,
           (unsigned long long)st.errors_5xx, st.queue_peak);
    for (int i = 0; i < N_BODIES; i++) free(bodies[i]);
    return errors ? 1 : 0;
}
