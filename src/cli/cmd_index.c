/* cmd_index.c — `sbir index`: embed a collection's images and write a search index (sbir_index_build). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "dist/comm.h"
#include "index/shards.h"
#include "sbir.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: sbir index --model MODEL --collection COLL.sqlite --out INDEX [--split all|train|val|test]\n"
            "                  [--elem f32|fp16|int8] [--append] [--jobs N] [--shards N]\n\n"
            "Decodes the collection's images (--jobs threads, default one per core) while the model embeds\n"
            "them, and writes INDEX: content and style embeddings, ids, class and style labels, absolute image\n"
            "paths and the model's fingerprint; INDEX.json records the model and collection used.\n"
            "--append adds the collection's images that INDEX does not hold yet (by path), keeping the others\n"
            "as they are; the model must be the one INDEX was built with.\n"
            "--elem stores embeddings as float32 (default), fp16 or int8 (smaller, slightly approximate).\n"
            "--shards N (default 1) splits the index over N files INDEX.shard-0-of-N ... (image i goes to shard\n"
            "i %% N), each a complete index, and writes INDEX as their manifest (names, sizes, checksums).\n"
            "`sbir query --index INDEX` searches every shard and merges (the same results as one file);\n"
            "`mpirun -np N sbir query ...` searches them in N processes. Not with --append. See SCALING.md.\n"
            "Under mpirun only rank 0 indexes.\n");
}

int cmd_index(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *model_path = NULL, *coll = NULL, *out = NULL;
    sbir_build_opts o = {.progress = 1};
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"collection", required_argument, 0, 'c'},
                                         {"out", required_argument, 0, 'o'},   {"split", required_argument, 0, 's'},
                                         {"elem", required_argument, 0, 'e'},  {"append", no_argument, 0, 'a'},
                                         {"jobs", required_argument, 0, 'j'},  {"shards", required_argument, 0, 'S'},
                                         {0, 0, 0, 0}};
    int c;
    long v;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:c:o:s:e:aj:S:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'c': coll = optarg; break;
        case 'o': out = optarg; break;
        case 's':
            if (strcmp(optarg, "all") && strcmp(optarg, "train") && strcmp(optarg, "val") && strcmp(optarg, "test"))
                return cli_usage_error("index", "--split is all, train, val or test, not '%s'", optarg);
            o.split = optarg;
            break;
        case 'e':
            if (strcmp(optarg, "f32") && strcmp(optarg, "fp16") && strcmp(optarg, "int8") && strcmp(optarg, "f16") &&
                strcmp(optarg, "i8") && strcmp(optarg, "float32"))
                return cli_usage_error("index", "--elem is f32, fp16 or int8, not '%s'", optarg);
            o.elem = optarg;
            break;
        case 'a': o.append = 1; break;
        case 'j':
            if (cli_parse_int("index", "--jobs", optarg, 1, 64, &v)) return 2;
            o.jobs = (int)v;
            break;
        case 'S':
            if (cli_parse_int("index", "--shards", optarg, 1, SHARD_MAX, &v)) return 2;
            o.shards = (int)v;
            break;
        default: return cli_usage_error("index", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("index", "unexpected argument '%s'", argv[optind]);
    if (!model_path || !coll || !out) return cli_usage_error("index", "--model, --collection and --out are required");
    if (o.append && o.shards > 1) return cli_usage_error("index", "--append works on a single-file index, not with --shards");
    if (comm_rank() != 0) return 0; /* under mpirun: one writer; the others would race it for the same files */
    sbir_model_ctx *m;
    if (sbir_model_open(model_path, &m) != SBIR_E_OK) return cli_fail_last();
    int64_t added = 0;
    double t0 = sbir_now();
    sbir_status st = sbir_index_build(m, coll, out, &o, &added);
    double secs = sbir_now() - t0;
    sbir_model_close(m);
    if (st != SBIR_E_OK) return cli_fail_last();
    if (o.append && added == 0)
        printf("%s: nothing to add (every image of %s is indexed)\n", out, coll);
    else
        printf("%s: %s %lld images in %.1f s (%.0f images/s)%s", out, o.append ? "added" : "indexed", (long long)added, secs,
               secs > 0 ? (double)added / secs : 0.0, o.shards > 1 ? "" : "\n");
    if (o.shards > 1) printf(", %d shards: %s.shard-0-of-%d ... %s.shard-%d-of-%d\n", o.shards, out, o.shards, out, o.shards - 1, o.shards);
    return 0;
}
