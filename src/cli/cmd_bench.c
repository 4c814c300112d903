/* cmd_bench.c — `sbir bench train-step`: times one training step (forward, softmax cross-entropy of
 * the features against random labels, backward, SGD with momentum) of a network on the oneDNN
 * backend, per layer and whole, against the FP32 peak; with --torch, alternately with the identical
 * network in PyTorch (bench/torch_train_step.py as a persistent child over a pipe), so both see the
 * same machine state, and reports medians and the speedup. */
#include <errno.h>
#include <math.h>
#include <omp.h>
#include <oneapi/dnnl/dnnl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "nn/net.h"
#include "nn/ops.h"
#include "util/rng.h"

static const char k_usage[] =
    "usage: sbir bench train-step [--torch] [--batch 64] [--threads 2] [--rounds 5] [--runs 3]\n"
    "                             [--spec S] [--size 64] [--peak-gflops 436] [--python /usr/bin/python3]\n\n"
    "Times a training step (forward, softmax cross-entropy on the features, backward, SGD momentum 0.9)\n"
    "of the network S (default " SBIR_NET_DEFAULT ") on 3 x size x size inputs with oneDNN, after\n"
    "3 warm-up steps: --rounds blocks of --runs steps, medians. Prints per-layer times and GFLOP/s\n"
    "(forward, backward-data, backward-weights) with the ratio to --peak-gflops (the FP32 peak of the\n"
    "threads used: 436 for 2 AVX-512 cores), and the whole step's.\n"
    "--torch also times the identical PyTorch network (bench/torch_train_step.py under --python), its\n"
    "blocks alternating with ours; the last line is\n"
    "  train-step sbir_ms=<median> torch_ms=<median> speedup=<torch_ms/sbir_ms>\n";

typedef struct {
    const char *spec, *python;
    int batch, threads, rounds, runs, size, torch;
    double peak;
} bench_opts;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}
static double median(double *v, int n) {
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

static const char *isa_name(void) {
    switch (dnnl_get_effective_cpu_isa()) {
    case dnnl_cpu_isa_avx512_core_amx: return "avx512_core_amx";
    case dnnl_cpu_isa_avx512_core_bf16: return "avx512_core_bf16";
    case dnnl_cpu_isa_avx512_core_vnni: return "avx512_core_vnni";
    case dnnl_cpu_isa_avx512_core: return "avx512_core";
    case dnnl_cpu_isa_avx2_vnni: return "avx2_vnni";
    case dnnl_cpu_isa_avx2: return "avx2";
    default: return "pre-avx2";
    }
}

/* ---- the PyTorch child ---- */
typedef struct {
    pid_t pid;
    FILE *to, *from;
} torch_child;

static const char *script_path(void) {
    static char buf[4096];
    const char *env = getenv("SBIR_BENCH_DIR");
    if (env) {
        snprintf(buf, sizeof buf, "%s/torch_train_step.py", env);
        if (access(buf, R_OK) == 0) return buf;
    }
    if (access("bench/torch_train_step.py", R_OK) == 0) return "bench/torch_train_step.py";
    /* Next to the program: build/sbir -> bench/ of that checkout. */
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n > 0) {
        exe[n] = '\0';
        char *slash = strrchr(exe, '/');
        if (slash) *slash = '\0';
        snprintf(buf, sizeof buf, "%s/../bench/torch_train_step.py", exe);
        if (access(buf, R_OK) == 0) return buf;
    }
    return NULL;
}

static void torch_stop(torch_child *t) {
    if (t->to) fputs("quit\n", t->to), fclose(t->to);
    if (t->from) fclose(t->from);
    if (t->pid > 0) waitpid(t->pid, NULL, 0);
    memset(t, 0, sizeof *t);
}

/* Reads one line; "error ..." lines and EOF become sbir errors. */
static int torch_line(torch_child *t, char *line, size_t size, const char *want) {
    if (!fgets(line, (int)size, t->from)) return sbir_error("the PyTorch benchmark child exited unexpectedly");
    line[strcspn(line, "\n")] = '\0';
    if (!strncmp(line, "error ", 6)) return sbir_error("%s", line + 6);
    if (strncmp(line, want, strlen(want))) return sbir_error("PyTorch child: unexpected reply \"%.80s\"", line);
    return SBIR_OK;
}

static int torch_start(torch_child *t, const bench_opts *o, char *info, size_t info_size) {
    memset(t, 0, sizeof *t);
    if (access(o->python, X_OK) != 0)
        return sbir_error("--torch needs %s (Debian's python3 with python3-torch); it is not there", o->python);
    const char *script = script_path();
    if (!script) return sbir_error("--torch: cannot find bench/torch_train_step.py (run from the repository or set SBIR_BENCH_DIR)");
    int in[2], out[2];
    if (pipe(in) || pipe(out)) return sbir_error("pipe: %s", strerror(errno));
    char batch[16], size[16], threads[16];
    snprintf(batch, sizeof batch, "%d", o->batch);
    snprintf(size, sizeof size, "%d", o->size);
    snprintf(threads, sizeof threads, "%d", o->threads);
    /* Set here, not in the child: only async-signal-safe calls between fork and exec (our OpenMP
     * runtime read its own setting at start-up, so this does not change our thread count). */
    setenv("OMP_NUM_THREADS", threads, 1);
    static const char exec_failed[] = "error cannot run the Python interpreter\n";
    fflush(NULL);
    t->pid = fork();
    if (t->pid < 0) return sbir_error("fork: %s", strerror(errno));
    if (t->pid == 0) {
        dup2(in[0], 0), dup2(out[1], 1);
        close(in[0]), close(in[1]), close(out[0]), close(out[1]);
        execl(o->python, o->python, script, "--spec", o->spec, "--batch", batch, "--size", size, "--threads", threads,
              (char *)NULL);
        if (write(1, exec_failed, sizeof exec_failed - 1) < 0) _exit(126);
        _exit(127);
    }
    close(in[0]), close(out[1]);
    t->to = fdopen(in[1], "w");
    t->from = fdopen(out[0], "r");
    char line[512];
    if (torch_line(t, line, sizeof line, "ready") != SBIR_OK) {
        torch_stop(t);
        return SBIR_ERR;
    }
    snprintf(info, info_size, "%s", line + 6);
    return SBIR_OK;
}

static int torch_run(torch_child *t, int k, double *ms) {
    fprintf(t->to, "run %d\n", k);
    fflush(t->to);
    static char line[1 << 16];
    if (torch_line(t, line, sizeof line, "times") != SBIR_OK) return SBIR_ERR;
    char *p = line + 5;
    for (int i = 0; i < k; i++) {
        char *end;
        ms[i] = strtod(p, &end);
        if (end == p) return sbir_error("PyTorch child: short reply");
        p = end;
    }
    return SBIR_OK;
}

/* ---- our side ---- */
typedef struct {
    net *n;
    float *x, *probs, *dfeat;
    int *labels;
} our_step;

static int step(our_step *s, int B) {
    net *n = s->n;
    net_zero_grad(n);
    const float *f = net_forward(n, s->x, B, 1);
    if (!f) return SBIR_ERR;
    softmax_xent_forward(s->probs, f, s->labels, B, n->out_dim);
    softmax_xent_backward(s->dfeat, s->probs, s->labels, 1.0f, B, n->out_dim);
    if (net_backward(n, s->dfeat) != SBIR_OK) return SBIR_ERR;
    return net_sgd_step(n, 0.01f, 0.9f, 5e-4f);
}

static void print_layers(const net *n, int B, int steps, double peak) {
    printf("%-34s %9s %7s %5s | %9s %7s %5s | %9s %7s %5s | %8s %8s\n", "layer (mean per step)", "fwd ms", "GF/s", "%pk",
           "bwd-d ms", "GF/s", "%pk", "bwd-w ms", "GF/s", "%pk", "bn ms", "wreo ms");
    double tot[NET_T_COUNT] = {0}, conv_t = 0, conv_f = 0, big_t = 0, big_f = 0;
    for (int l = 0; l < n->n_layers; l++) {
        char desc[64];
        double f[3], t[NET_T_COUNT];
        net_layer_describe(n, l, desc, sizeof desc);
        net_layer_flops(n, l, B, f);
        for (int k = 0; k < NET_T_COUNT; k++) t[k] = n->times[l][k] / steps, tot[k] += t[k];
        printf("%2d %-31s", l, desc);
        for (int k = 0; k < 3; k++) {
            if (f[k] > 0 && t[k] > 0)
                printf(" %9.2f %7.1f %4.0f%%", t[k] * 1e3, f[k] / t[k] * 1e-9, 100 * f[k] / t[k] * 1e-9 / peak);
            else
                printf(" %9.2f %7s %5s", t[k] * 1e3, "", "");
            printf(" |");
        }
        printf(" %8.2f %8.2f\n", t[NET_T_OTHER] * 1e3, t[NET_T_WEIGHTS] * 1e3);
        if (n->layers[l].kind == NET_CONV) {
            conv_t += t[0] + t[1] + t[2], conv_f += f[0] + f[1] + f[2];
            if (n->layers[l].C >= 32) big_t += t[0] + t[1] + t[2], big_f += f[0] + f[1] + f[2];
        }
    }
    printf("convolutions: %.1f ms, %.1f GFLOP/s = %.0f%% of peak (those with >= 32 input channels: %.0f%%)\n",
           conv_t * 1e3, conv_f / conv_t * 1e-9, 100 * conv_f / conv_t * 1e-9 / peak,
           big_t > 0 ? 100 * big_f / big_t * 1e-9 / peak : 0.0);
    printf("per-layer sum: fwd %.1f ms, bwd-data %.1f ms, bwd-weights %.1f ms, batch norm + ReLU %.1f ms, weight "
           "reorders %.1f ms\n",
           tot[0] * 1e3, tot[1] * 1e3, tot[2] * 1e3, tot[NET_T_OTHER] * 1e3, tot[NET_T_WEIGHTS] * 1e3);
}

static int train_step_bench(const bench_opts *o) {
    /* Fail before the (slow) set-up when the peer cannot run. */
    if (o->torch && access(o->python, X_OK) != 0)
        return cli_fail("--torch needs %s (Debian's python3 with python3-torch); it is not there", o->python);
    if (o->torch && !script_path())
        return cli_fail("--torch: cannot find bench/torch_train_step.py (run from the repository or set SBIR_BENCH_DIR)");
    omp_set_num_threads(o->threads);
    net *n = net_create(o->spec, 3, o->size, o->size, o->batch, NET_BACKEND_DNNL);
    if (!n) return cli_fail_last();
    net_init(n, 1);
    our_step s = {n, NULL, NULL, NULL, NULL};
    size_t nin = (size_t)o->batch * 3 * o->size * o->size;
    s.x = mallocCheck(sizeof(float) * nin);
    s.probs = mallocCheck(sizeof(float) * o->batch * n->out_dim);
    s.dfeat = mallocCheck(sizeof(float) * o->batch * n->out_dim);
    s.labels = mallocCheck(sizeof(int) * o->batch);
    sbir_rng rng;
    rng_seed(&rng, 1);
    for (size_t i = 0; i < nin; i++) s.x[i] = rng_normal(&rng);
    for (int b = 0; b < o->batch; b++) s.labels[b] = (int)rng_below(&rng, (uint32_t)n->out_dim);

    double step_flops = 0;
    for (int l = 0; l < n->n_layers; l++) {
        double f[3];
        net_layer_flops(n, l, o->batch, f);
        step_flops += f[0] + f[1] + f[2];
    }
    const dnnl_version_t *v = dnnl_version();
    printf("train-step: net %s, input 3x%dx%d, batch %d, %d threads, %zu parameters\n", o->spec, o->size, o->size,
           o->batch, o->threads, net_param_count(n));
    printf("oneDNN %d.%d.%d, ISA %s; peak %.0f GFLOP/s (--peak-gflops); step %.2f GFLOP (conv + linear, fwd + bwd)\n",
           v->major, v->minor, v->patch, isa_name(), o->peak, step_flops * 1e-9);

    torch_child tc = {0};
    char info[256] = "";
    int rc = SBIR_OK;
    if (o->torch) {
        printf("starting PyTorch (warm-up)...\n");
        fflush(stdout);
        rc = torch_start(&tc, o, info, sizeof info);
        if (rc == SBIR_OK) printf("%s\n", info);
    }
    for (int i = 0; i < 3 && rc == SBIR_OK; i++) rc = step(&s, o->batch);
    int total = o->rounds * o->runs;
    double *ours = mallocCheck(sizeof(double) * total), *theirs = mallocCheck(sizeof(double) * total);
    net_reset_times(n);
    for (int r = 0; r < o->rounds && rc == SBIR_OK; r++) {
        for (int k = 0; k < o->runs && rc == SBIR_OK; k++) {
            double t0 = sbir_now();
            rc = step(&s, o->batch);
            ours[r * o->runs + k] = (sbir_now() - t0) * 1e3;
        }
        if (rc == SBIR_OK && o->torch) rc = torch_run(&tc, o->runs, theirs + r * o->runs);
        printf("round %d: sbir %.1f ms", r + 1, ours[r * o->runs]);
        if (o->torch && rc == SBIR_OK) printf(", torch %.1f ms", theirs[r * o->runs]);
        printf(" (first step of the block)\n");
        fflush(stdout);
    }
    if (o->torch) torch_stop(&tc);
    if (rc == SBIR_OK) {
        print_layers(n, o->batch, total, o->peak);
        double lo = ours[0], hi = ours[0];
        for (int i = 0; i < total; i++) lo = fmin(lo, ours[i]), hi = fmax(hi, ours[i]);
        double med = median(ours, total);
        printf("sbir step: median %.1f ms (min %.1f, max %.1f over %d), %.1f GFLOP/s = %.0f%% of peak\n", med, lo, hi,
               total, step_flops / med * 1e-6, 100 * step_flops / med * 1e-6 / o->peak);
        if (o->torch) {
            double tmed = median(theirs, total);
            printf("torch step: median %.1f ms, %.1f GFLOP/s = %.0f%% of peak\n", tmed, step_flops / tmed * 1e-6,
                   100 * step_flops / tmed * 1e-6 / o->peak);
            printf("train-step sbir_ms=%.2f torch_ms=%.2f speedup=%.2f\n", med, tmed, tmed / med);
        } else {
            printf("train-step sbir_ms=%.2f\n", med);
        }
    }
    free(ours), free(theirs), free(s.x), free(s.probs), free(s.dfeat), free(s.labels);
    net_free(n);
    return rc == SBIR_OK ? 0 : cli_fail_last();
}

/* `sbir bench train-step`; the other benchmarks live beside their subsystems. */
static int bench_train_step(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(k_usage, stdout);
        return 0;
    }
    bench_opts o = {SBIR_NET_DEFAULT, "/usr/bin/python3", 64, 2, 5, 3, 64, 0, 436.0};
    static const struct option opts[] = {{"torch", no_argument, 0, 't'},       {"batch", required_argument, 0, 'b'},
                                         {"threads", required_argument, 0, 'j'}, {"runs", required_argument, 0, 'n'},
                                         {"rounds", required_argument, 0, 'r'},  {"spec", required_argument, 0, 's'},
                                         {"size", required_argument, 0, 'z'},    {"peak-gflops", required_argument, 0, 'p'},
                                         {"python", required_argument, 0, 'y'},  {0, 0, 0, 0}};
    optind = 1;
    int c;
    long v;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 't': o.torch = 1; break;
        case 'b': if (cli_parse_int("bench", "--batch", optarg, 1, 4096, &v)) return 2; o.batch = (int)v; break;
        case 'j': if (cli_parse_int("bench", "--threads", optarg, 1, 1024, &v)) return 2; o.threads = (int)v; break;
        case 'n': if (cli_parse_int("bench", "--runs", optarg, 1, 1000, &v)) return 2; o.runs = (int)v; break;
        case 'r': if (cli_parse_int("bench", "--rounds", optarg, 1, 1000, &v)) return 2; o.rounds = (int)v; break;
        case 'z': if (cli_parse_int("bench", "--size", optarg, 4, 4096, &v)) return 2; o.size = (int)v; break;
        case 's': o.spec = optarg; break;
        case 'y': o.python = optarg; break;
        case 'p': if (cli_parse_float("bench", "--peak-gflops", optarg, 1e-3, 1e9, &o.peak)) return 2; break;
        default: return cli_usage_error("bench", "bad option");
        }
    }
    if (optind != argc) return cli_usage_error("bench", "unexpected argument '%s'", argv[optind]);
    signal(SIGPIPE, SIG_IGN); /* a dead child shows up as an error reply, not a killed benchmark */
    return train_step_bench(&o);
}

int cmd_bench(int argc, char **argv) {
    static const struct {
        const char *name;
        int (*fn)(int, char **);
        const char *what;
    } k_benches[] = {
        {"train-step", bench_train_step, "a training step of the image network, against PyTorch (--torch)"},
        {"search", cmd_bench_search, "exact and approximate search over 1M embeddings, against FAISS"},
        {"shards", cmd_bench_shards, "a sharded index: fan-out latency under mpirun, merge cost, bytes per image"},
        {"query", cmd_bench_query, "one query end to end: strokes to top 20 over 100k images"},
        {"index", cmd_bench_query, "indexing throughput: decode, resize, embed"},
        {"serve", cmd_bench_serve, "load test of sbir serve on loopback: searches per second, errors, memory"},
    };
    if (argc >= 2)
        for (size_t i = 0; i < SBIR_ARRAY_LEN(k_benches); i++)
            if (strcmp(argv[1], k_benches[i].name) == 0) return k_benches[i].fn(argc - 1, argv + 1);
    FILE *out = argc >= 2 && cli_wants_help(argc, argv) ? stdout : stderr;
    fputs("usage: sbir bench BENCHMARK [options]   (sbir bench BENCHMARK --help)\n\n", out);
    for (size_t i = 0; i < SBIR_ARRAY_LEN(k_benches); i++) fprintf(out, "  %-11s %s\n", k_benches[i].name, k_benches[i].what);
    return out == stdout ? 0 : 2;
}
