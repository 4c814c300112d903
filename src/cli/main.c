/* main.c — `sbir COMMAND [options]`: dispatch to the command table. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "dist/comm.h"

typedef struct {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
} command;

static const command k_commands[] = {
    {"demo", cmd_demo, "the whole path on the built-in collection: generate, train, evaluate, show"},
    {"synth", cmd_synth, "generate the built-in demo collection (5 classes x 7 media) and sketches"},
    {"sketch", cmd_sketch, "draw one Quick, Draw! sketch to a PNG (sketch render)"},
    {"fetch", cmd_fetch, "download the real data: fetch quickdraw | bam"},
    {"import", cmd_import, "build a collection: import folders | bam | quickdraw"},
    {"info", cmd_info, "what a collection (counts per class x style, split), a model or an index holds"},
    {"train", cmd_train, "train the structure and style networks on a collection"},
    {"eval", cmd_eval, "evaluation tables: sketch mAP per style, sketch + style mAP"},
    {"index", cmd_index, "embed a collection's images into a search index"},
    {"query", cmd_query, "search an index with a sketch and a style"},
    {"serve", cmd_serve, "web page and JSON API to draw, pick a style and search"},
    {"bench", cmd_bench, "benchmarks: train-step, search, query, index, serve"},
};

static void usage(FILE *out) {
    fprintf(out,
            "sbir — sketch-based image retrieval with style\n\n"
            "usage: sbir COMMAND [options]     (sbir COMMAND --help for each)\n\ncommands:\n");
    for (size_t i = 0; i < SBIR_ARRAY_LEN(k_commands); i++)
        fprintf(out, "  %-8s %s\n", k_commands[i].name, k_commands[i].summary);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("sbir 0.1.0\n");
        return 0;
    }
    for (size_t i = 0; i < SBIR_ARRAY_LEN(k_commands); i++) {
        if (strcmp(argv[1], k_commands[i].name) != 0) continue;
        /* Under mpirun every rank runs the same command; commands that are not distributed simply
         * run on rank 0's data like a single process would (train and query know about ranks). */
        if (comm_init(&argc, &argv) != 0) {
            fprintf(stderr, "sbir: %s\n", sbir_last_error());
            return 1;
        }
        int rc = k_commands[i].fn(argc - 1, argv + 1);
        comm_finalize();
        return rc;
    }
    fprintf(stderr, "sbir: unknown command '%s' (sbir --help lists them)\n", argv[1]);
    return 2;
}
