/* cmd_synth.c — `sbir synth`: generate the built-in demo collection (and optionally a contact sheet). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "data/synth.h"
#include "util/common.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: sbir synth --out DIR [options]\n\n"
            "Generates the built-in demo collection: 5 classes (bicycle bird car cat dog) drawn from\n"
            "parametric shape models, rendered in 7 media (oilpaint watercolor pen_ink graphite comic\n"
            "vectorart 3d_graphics), plus Quick, Draw!-like sketches of the same classes. The output is a\n"
            "pure function of the seed (identical for any --jobs).\n\n"
            "  --out DIR                 output directory (created)\n"
            "  --seed S                  random seed (default 1)\n"
            "  --per-cell N              images per (medium, class) (default 120: 4200 images)\n"
            "  --sketches-per-class M    sketches per class (default 200)\n"
            "  --size PX                 image side in pixels, 16..1024 (default 128)\n"
            "  --jobs N                  threads (default: all cores)\n"
            "  --sheet OUT.png           also write a contact sheet (rows = media + sketches,\n"
            "                            columns = classes); with --sheet alone, --out is optional\n"
            "  --sheet-examples K        images per sheet cell (default 3)\n"
            "  -h, --help                this help\n\n"
            "Layout: DIR/images/<style>/<class>/<style>_<class>_<nnnnn>.png, DIR/sketches/<class>.ndjson,\n"
            "DIR/README.txt (written last; a directory without it is an unfinished run).\n");
}

int cmd_synth(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    static const struct option opts[] = {{"out", required_argument, 0, 'o'},
                                         {"seed", required_argument, 0, 's'},
                                         {"per-cell", required_argument, 0, 'n'},
                                         {"sketches-per-class", required_argument, 0, 'm'},
                                         {"size", required_argument, 0, 'z'},
                                         {"jobs", required_argument, 0, 'j'},
                                         {"sheet", required_argument, 0, 'S'},
                                         {"sheet-examples", required_argument, 0, 'e'},
                                         {"help", no_argument, 0, 'h'},
                                         {0, 0, 0, 0}};
    synth_opts o;
    synth_opts_default(&o);
    const char *out = NULL, *sheet = NULL;
    long v, examples = 3;
    optind = 1;
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case 'S': sheet = optarg; break;
        case 's':
            if (cli_parse_int("synth", "--seed", optarg, 0, 2147483647L, &v)) return 2;
            o.seed = (uint64_t)v;
            break;
        case 'n':
            if (cli_parse_int("synth", "--per-cell", optarg, 0, 100000, &v)) return 2;
            o.per_cell = (int)v;
            break;
        case 'm':
            if (cli_parse_int("synth", "--sketches-per-class", optarg, 0, 1000000, &v)) return 2;
            o.sketches_per_class = (int)v;
            break;
        case 'z':
            if (cli_parse_int("synth", "--size", optarg, 16, 1024, &v)) return 2;
            o.size = (int)v;
            break;
        case 'j':
            if (cli_parse_int("synth", "--jobs", optarg, 1, 1024, &v)) return 2;
            o.jobs = (int)v;
            break;
        case 'e':
            if (cli_parse_int("synth", "--sheet-examples", optarg, 1, 20, &v)) return 2;
            examples = v;
            break;
        case ':': return cli_usage_error("synth", "%s needs a value", argv[optind - 1]);
        default: return cli_usage_error("synth", "unknown option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc) return cli_usage_error("synth", "unexpected argument '%s'", argv[optind]);
    if (!out && !sheet) return cli_usage_error("synth", "--out DIR is required");
    if (out) {
        double t0 = sbir_now();
        if (synth_generate(out, &o)) return cli_fail_last();
        fprintf(stderr, "synth: %d images and %d sketches in %s (%.1f s)\n",
                SYNTH_N_STYLES * SYNTH_N_CLASSES * o.per_cell, SYNTH_N_CLASSES * o.sketches_per_class, out,
                sbir_now() - t0);
    }
    if (sheet) {
        if (synth_write_sheet(sheet, o.seed, o.size > 256 ? 256 : o.size, (int)examples)) return cli_fail_last();
        fprintf(stderr, "synth: contact sheet %s\n", sheet);
    }
    return 0;
}
