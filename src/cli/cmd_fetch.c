/* cmd_fetch.c — `sbir fetch quickdraw ...` and `sbir fetch bam ...`: the real data, downloaded
 * (fetch/fetch_quickdraw.h, fetch/fetch_bam.h). Ctrl-C stops cleanly: partial files and the state
 * table stay, and the same command resumes. */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "fetch/fetch_bam.h"
#include "fetch/fetch_quickdraw.h"

static volatile sig_atomic_t g_stop;

static void on_signal(int sig) {
    (void)sig;
    g_stop = 1;
}

static void catch_signals(void) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

static int usage(FILE *out) {
    fprintf(out,
            "usage: sbir fetch quickdraw --classes cat,dog,... --out DIR [options]\n"
            "       sbir fetch bam --db bam.sqlite --out DIR [options]\n\n"
            "quickdraw: Google's per-class Quick, Draw! files into DIR/<class>.<ext>\n"
            "  --classes A,B,...      class names as the dataset spells them ('The Eiffel Tower')\n"
            "  --format F             simplified (default) | raw | bitmap | binary\n"
            "  --base-url URL         a mirror (default " FETCH_QD_DEFAULT_BASE ")\n"
            "  --max-per-class N      keep only the first N drawings of each class\n"
            "  --jobs N               files at once (default 4)\n"
            "  --retries N            retries per file (default 5)\n"
            "  --timeout S            give up on a connection silent for S seconds (default 60)\n\n"
            "bam: the images of the BAM! mids that `sbir import bam` would import, into DIR/<mid>.<ext>\n"
            "  --labels L             crowd (default) | automatic | scores:T, as in `sbir import bam`\n"
            "  --media A,B  --content A,B   the media and contents to select (default: the seed's 7 x 5)\n"
            "  --per-cell N           at most N mids per medium x content cell (in mid order)\n"
            "  --limit N              at most N mids in all\n"
            "  --jobs N               downloads at once (default 16)\n"
            "  --rate R               requests per second per host (default 10; 0 = no limit)\n"
            "  --timeout S            per request (default 60)\n"
            "  --retries N            retries with exponential backoff (default 3)\n"
            "  --max-mb M             largest image accepted (default 64)\n"
            "  --retry-dead           also retry links that were dead (HTTP 4xx) in an earlier run\n"
            "Progress is kept in DIR/fetch-state.sqlite: re-running the command skips what is done and\n"
            "retries what failed. Then: sbir import bam --db bam.sqlite --images DIR --out COLL.sqlite\n");
    return out == stdout ? 0 : 2;
}

static int run_quickdraw(int argc, char **argv) {
    static const struct option longopts[] = {
        {"classes", required_argument, 0, 'c'}, {"format", required_argument, 0, 'f'},
        {"out", required_argument, 0, 'o'},     {"base-url", required_argument, 0, 'b'},
        {"max-per-class", required_argument, 0, 'n'}, {"jobs", required_argument, 0, 'j'},
        {"retries", required_argument, 0, 'r'}, {"timeout", required_argument, 0, 't'},
        {"backoff", required_argument, 0, 'B'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    const char *cmd = "fetch quickdraw";
    fetch_qd_opts o;
    fetch_qd_opts_default(&o);
    o.progress = 1;
    const char *classes[4096];
    char *class_arg = NULL;
    long v;
    double d;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'c': class_arg = optarg; break;
        case 'f':
            if (fetch_qd_format_parse(optarg, &o.format)) return cli_usage_error(cmd, "%s", sbir_last_error());
            break;
        case 'o': o.out = optarg; break;
        case 'b': o.base_url = optarg; break;
        case 'n':
            if (cli_parse_int(cmd, "--max-per-class", optarg, 1, 1000000000L, &v)) return 2;
            o.max_per_class = v;
            break;
        case 'j':
            if (cli_parse_int(cmd, "--jobs", optarg, 1, 64, &v)) return 2;
            o.jobs = (int)v;
            break;
        case 'r':
            if (cli_parse_int(cmd, "--retries", optarg, 0, 100, &v)) return 2;
            o.retries = (int)v;
            break;
        case 't':
            if (cli_parse_float(cmd, "--timeout", optarg, 0.1, 86400, &o.stall_s)) return 2;
            break;
        case 'B':
            if (cli_parse_float(cmd, "--backoff", optarg, 0, 3600, &d)) return 2;
            o.backoff_s = d;
            break;
        case 'h': return usage(stdout);
        default: return cli_usage_error(cmd, "unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind != argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!class_arg || !o.out) return cli_usage_error(cmd, "--classes and --out are required");
    if ((o.n_classes = cli_split_list(class_arg, classes, (int)SBIR_ARRAY_LEN(classes))) <= 0)
        return cli_usage_error(cmd, "--classes expects a comma-separated list of class names");
    o.classes = classes;
    o.stop = &g_stop;
    catch_signals();
    fetch_qd_report r;
    int rc = fetch_quickdraw(&o, &r);
    if (r.classes > 0)
        printf("%d classes: %d downloaded (%.1f MB), %d already in %s, %d failed, in %.1f s\n", r.classes,
               r.downloaded, (double)r.bytes / 1e6, r.present, o.out, r.failed, r.seconds);
    for (int i = 0; i < r.n_examples; i++) printf("  %s\n", r.examples[i]);
    if (g_stop) return cli_fail("interrupted; run the same command again to resume");
    return rc ? cli_fail_last() : 0;
}

static void print_codes(const char *what, int64_t total, const fetch_bam_report *r, int dead) {
    printf("%s: %lld", what, (long long)total);
    int n = dead ? r->n_dead_codes : r->n_failed_codes;
    for (int i = 0; i < n; i++) {
        long code = dead ? r->dead_codes[i].code : r->failed_codes[i].code;
        long long k = (long long)(dead ? r->dead_codes[i].n : r->failed_codes[i].n);
        if (code) printf("%s HTTP %ld x%lld", i ? "," : " (", code, k);
        else printf("%s network x%lld", i ? "," : " (", k);
    }
    printf("%s\n", n ? ")" : "");
}

static int run_bam(int argc, char **argv) {
    static const struct option longopts[] = {
        {"db", required_argument, 0, 'd'},       {"out", required_argument, 0, 'o'},
        {"labels", required_argument, 0, 'l'},   {"media", required_argument, 0, 'm'},
        {"content", required_argument, 0, 'c'},  {"per-cell", required_argument, 0, 'p'},
        {"limit", required_argument, 0, 'L'},    {"jobs", required_argument, 0, 'j'},
        {"rate", required_argument, 0, 'R'},     {"timeout", required_argument, 0, 't'},
        {"retries", required_argument, 0, 'r'},  {"backoff", required_argument, 0, 'B'},
        {"max-mb", required_argument, 0, 'M'},   {"retry-dead", no_argument, 0, 'D'},
        {"help", no_argument, 0, 'h'},           {0, 0, 0, 0}};
    const char *cmd = "fetch bam";
    fetch_bam_opts o;
    fetch_bam_opts_default(&o);
    o.progress = 1;
    const char *media[IMPORT_BAM_MAX_ATTRS], *contents[IMPORT_BAM_MAX_ATTRS];
    long v;
    double d;
    int c;
    optind = 0;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'd': o.db = optarg; break;
        case 'o': o.out = optarg; break;
        case 'l':
            if (cli_parse_bam_labels(cmd, optarg, &o.labels, &o.threshold)) return 2;
            break;
        case 'm':
            if ((o.n_media = cli_split_list(optarg, media, IMPORT_BAM_MAX_ATTRS)) <= 0)
                return cli_usage_error(cmd, "--media expects a comma-separated list of media");
            o.media = media;
            break;
        case 'c':
            if ((o.n_contents = cli_split_list(optarg, contents, IMPORT_BAM_MAX_ATTRS)) <= 0)
                return cli_usage_error(cmd, "--content expects a comma-separated list of contents");
            o.contents = contents;
            break;
        case 'p':
            if (cli_parse_int(cmd, "--per-cell", optarg, 1, 1000000000L, &v)) return 2;
            o.per_cell = v;
            break;
        case 'L':
            if (cli_parse_int(cmd, "--limit", optarg, 1, 1000000000L, &v)) return 2;
            o.limit = v;
            break;
        case 'j':
            if (cli_parse_int(cmd, "--jobs", optarg, 1, 256, &v)) return 2;
            o.jobs = (int)v;
            break;
        case 'R':
            if (cli_parse_float(cmd, "--rate", optarg, 0, 10000, &o.rate)) return 2;
            break;
        case 't':
            if (cli_parse_float(cmd, "--timeout", optarg, 0.1, 86400, &o.timeout_s)) return 2;
            break;
        case 'r':
            if (cli_parse_int(cmd, "--retries", optarg, 0, 100, &v)) return 2;
            o.retries = (int)v;
            break;
        case 'B':
            if (cli_parse_float(cmd, "--backoff", optarg, 0, 3600, &d)) return 2;
            o.backoff_s = d;
            break;
        case 'M':
            if (cli_parse_int(cmd, "--max-mb", optarg, 1, 4096, &v)) return 2;
            o.max_bytes = (uint64_t)v << 20;
            break;
        case 'D': o.retry_dead = 1; break;
        case 'h': return usage(stdout);
        default: return cli_usage_error(cmd, "unknown option or missing value: %s", argv[optind - 1]);
        }
    }
    if (optind != argc) return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!o.db || !o.out) return cli_usage_error(cmd, "--db and --out are required");
    o.stop = &g_stop;
    catch_signals();
    fetch_bam_report r;
    int rc = fetch_bam(&o, &r);
    if (r.mids > 0) {
        printf("%lld mids in %s: %lld found by their labels (%lld not selected, %lld over --per-cell/--limit)\n",
               (long long)r.mids, o.db, (long long)r.found, (long long)r.not_selected, (long long)r.over_cell);
        printf("downloaded: %lld (%.1f MB) into %s in %.1f s\n", (long long)r.downloaded, (double)r.bytes / 1e6, o.out,
               r.seconds);
        printf("skipped: %lld done before, %lld already in the folder, %lld dead before (--retry-dead retries them)\n",
               (long long)r.done_before, (long long)r.present, (long long)r.dead_before);
        print_codes("dead links", r.dead, &r, 1);
        print_codes("failed (retried next run)", r.failed, &r, 0);
        printf("not images: %lld, too big: %lld, bad URLs: %lld", (long long)r.not_image, (long long)r.too_big,
               (long long)r.bad_url);
        if (r.interrupted) printf(", interrupted: %lld", (long long)r.interrupted);
        printf("\n");
        for (int i = 0; i < r.n_examples; i++) printf("  %s\n", r.examples[i]);
    }
    if (rc) return cli_fail_last();
    if (g_stop) return cli_fail("interrupted; run the same command again to resume");
    return 0;
}

int cmd_fetch(int argc, char **argv) {
    if (argc < 2) return usage(stderr);
    const char *what = argv[1];
    if (strcmp(what, "-h") == 0 || strcmp(what, "--help") == 0) return usage(stdout);
    if (strcmp(what, "quickdraw") == 0) return run_quickdraw(argc - 1, argv + 1);
    if (strcmp(what, "bam") == 0) return run_bam(argc - 1, argv + 1);
    return cli_usage_error("fetch", "unknown source '%s' (quickdraw or bam)", what);
}
