/* cmd_train.c — `sbir train`: train the structure and style networks on a collection. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "model/model.h"
#include "model/train.h"

static void usage(FILE *out) {
    train_opts d;
    train_opts_default(&d);
    fprintf(out,
            "usage: sbir train --collection COLL.sqlite --out MODEL [options]\n\n"
            "Trains the hierarchical triplet ConvNet (SPEC section 3): the structure network (sketches and\n"
            "images into one content space), then the style network (content x style classification, then\n"
            "style triplets decorrelated from content); computes the style prototypes and calibrates the\n"
            "fusion on the validation split. Writes MODEL (safetensors), MODEL.ckpt (checkpoint, every\n"
            "validation) and MODEL.curve.png (training curve).\n\n"
            "options:\n"
            "  --epochs N          passes over the training images (default: chosen from the collection's size)\n"
            "  --structure-steps N, --style-steps N   step counts instead of --epochs\n"
            "  --batch N           batch size (default 64)\n"
            "  --size N            input side in pixels (default 48)\n"
            "  --lr X              AdamW learning rate, cosine schedule (default 0.004)\n"
            "  --margin X          triplet margin (default 0.2)\n"
            "  --label-smoothing X label smoothing of the structure network's class loss (default %g)\n"
            "  --ema X             average the structure network's weights with this decay, keep the average\n"
            "                      if it validates better (default %g; 0: off)\n"
            "  --shared-bn         one batch norm for sketches and images in the structure network (default:\n"
            "                      each their own, with the same convolution weights)\n"
            "  --gallery-mirror, --no-gallery-mirror\n"
            "                      embed gallery images with their mirror image, as sketches are: better\n"
            "                      retrieval (PACS sketch mAP +0.018), indexing about 1.6x slower (default:\n"
            "                      on for collections of up to %d images, off above; --resume without\n"
            "                      either keeps the checkpoint's); with --resume on a finished model:\n"
            "                      re-calibrated in seconds, not retrained\n"
            "  --seed S            seed; the same seed gives the same model (default 1)\n"
            "  --resume            continue from MODEL.ckpt if it exists\n"
            "  --structure-spec S  structure network layers (default %s)\n"
            "  --style-spec S      style network layers (default %s)\n"
            "  --backend onednn|ref  the fast path (default) or the plain C reference\n"
            "  --eval-every N      steps between validations (default: 8 per phase)\n"
            "  --stop-after N      stop after N steps (with a checkpoint); --resume continues\n"
            "  --quiet             no progress output\n\n"
            "Data-parallel on several processes or machines (OpenMPI builds):\n"
            "  OMP_NUM_THREADS=T mpirun -np P sbir train --collection C --out M --batch B ...\n"
            "Every process prepares and runs B/P samples of each step's batch of B (B must be a multiple of\n"
            "2P: each share is half sketches, half images), batch norm uses the statistics of the whole\n"
            "batch and the gradients are summed, so the model is that of one process with batch B (up to\n"
            "float rounding). Process 0 prints, reads\n"
            "MODEL.ckpt for --resume and writes the files; every process needs the collection at the same\n"
            "path. Give each process its own cores: P x T <= cores per machine.\n",
            (double)d.label_smoothing, (double)d.ema, TRAIN_GALLERY_MIRROR_MAX_IMAGES, MODEL_STRUCTURE_SPEC, MODEL_STYLE_SPEC);
}

int cmd_train(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    train_opts o;
    train_opts_default(&o);
    static const struct option opts[] = {
        {"collection", required_argument, 0, 'c'}, {"out", required_argument, 0, 'o'},
        {"epochs", required_argument, 0, 'e'},     {"structure-steps", required_argument, 0, 1},
        {"style-steps", required_argument, 0, 2},  {"batch", required_argument, 0, 'b'},
        {"size", required_argument, 0, 3},         {"lr", required_argument, 0, 4},
        {"margin", required_argument, 0, 5},       {"seed", required_argument, 0, 's'},
        {"resume", no_argument, 0, 'r'},           {"structure-spec", required_argument, 0, 6},
        {"style-spec", required_argument, 0, 7},   {"backend", required_argument, 0, 8},
        {"eval-every", required_argument, 0, 9},   {"stop-after", required_argument, 0, 10},
        {"quiet", no_argument, 0, 'q'},            {"label-smoothing", required_argument, 0, 11},
        {"ema", required_argument, 0, 12},         {"shared-bn", no_argument, 0, 13},
        {"gallery-mirror", no_argument, 0, 14},    {"no-gallery-mirror", no_argument, 0, 15},
        {0, 0, 0, 0}};
    int c;
    long v;
    double f;
    optind = 1;
    while ((c = getopt_long(argc, argv, "c:o:e:b:s:rq", opts, NULL)) != -1) {
        switch (c) {
        case 'c': o.collection = optarg; break;
        case 'o': o.out = optarg; break;
        case 'e':
            if (cli_parse_float("train", "--epochs", optarg, 0.001, 10000, &f)) return 2;
            o.epochs = f;
            break;
        case 1:
            if (cli_parse_int("train", "--structure-steps", optarg, 1, 10000000, &v)) return 2;
            o.structure_steps = (int)v;
            break;
        case 2:
            if (cli_parse_int("train", "--style-steps", optarg, 2, 10000000, &v)) return 2;
            o.style_steps = (int)v;
            break;
        case 'b':
            if (cli_parse_int("train", "--batch", optarg, 4, 1024, &v)) return 2;
            o.batch = (int)v;
            break;
        case 3:
            if (cli_parse_int("train", "--size", optarg, 16, 512, &v)) return 2;
            o.S = (int)v;
            break;
        case 4:
            if (cli_parse_float("train", "--lr", optarg, 1e-7, 10, &f)) return 2;
            o.lr = (float)f;
            break;
        case 5:
            if (cli_parse_float("train", "--margin", optarg, 0, 4, &f)) return 2;
            o.margin = (float)f;
            break;
        case 's':
            if (cli_parse_int("train", "--seed", optarg, 0, 2147483647L, &v)) return 2;
            o.seed = (uint64_t)v;
            break;
        case 'r': o.resume = 1; break;
        case 6: o.structure_spec = optarg; break;
        case 7: o.style_spec = optarg; break;
        case 8:
            if (strcmp(optarg, "onednn") == 0) o.backend = NET_BACKEND_DNNL;
            else if (strcmp(optarg, "ref") == 0) o.backend = NET_BACKEND_REF;
            else return cli_usage_error("train", "--backend is onednn or ref, not '%s'", optarg);
            break;
        case 9:
            if (cli_parse_int("train", "--eval-every", optarg, 1, 10000000, &v)) return 2;
            o.eval_every = (int)v;
            break;
        case 10:
            if (cli_parse_int("train", "--stop-after", optarg, 1, 100000000, &v)) return 2;
            o.stop_after = (int)v;
            break;
        case 11:
            if (cli_parse_float("train", "--label-smoothing", optarg, 0, 0.5, &f)) return 2;
            o.label_smoothing = (float)f;
            break;
        case 12:
            if (cli_parse_float("train", "--ema", optarg, 0, 0.99999, &f)) return 2;
            o.ema = (float)f;
            break;
        case 13: o.shared_bn = 1; break;
        case 14: o.gallery_mirror = 1; break;
        case 15: o.gallery_mirror = 0; break;
        case 'q': o.quiet = 1; break;
        default: return cli_usage_error("train", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("train", "unexpected argument '%s'", argv[optind]);
    if (!o.collection || !o.out) return cli_usage_error("train", "--collection and --out are required");
    if (o.batch % 2) return cli_usage_error("train", "--batch must be even (half sketches, half images)");
    return train_run(&o) == SBIR_OK ? 0 : cli_fail_last();
}
