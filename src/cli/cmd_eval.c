/* cmd_eval.c — `sbir eval`: the evaluation tables of SPEC section 4. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "model/evaluate.h"
#include "model/train.h"
#include "util/rng.h"

static void usage(FILE *out) {
    fprintf(out,
            "usage: sbir eval --model MODEL --collection COLL.sqlite [--split test|val|all] [--sketch-split test|val|all]\n"
            "                 [--format md|csv|json] [--pr OUT.png]\n\n"
            "Sketch mAP per style; sketch + style mAP per class x style with overall row and column; mAP@200,\n"
            "P@100, style-only mAP, style accuracy, and a precision-recall plot (default MODEL.<split>.pr.png).\n"
            "--split all evaluates every image and sketch (for a collection the model never trained on);\n"
            "--sketch-split sets the queries' split apart from the gallery's (e.g. all, for sketches from\n"
            "another source added to the collection the model was trained on).\n"
            "In Markdown (the default) the last line is: sketch_mAP=<overall> sketch_style_mAP=<overall>\n");
}

int cmd_eval(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        usage(stdout);
        return 0;
    }
    const char *model_path = NULL, *coll = NULL, *pr = NULL;
    int split = SBIR_SPLIT_TEST, sketch_split = -2;
    eval_format fmt = EVAL_MD;
    static const struct option opts[] = {{"model", required_argument, 0, 'm'}, {"collection", required_argument, 0, 'c'},
                                         {"split", required_argument, 0, 's'}, {"format", required_argument, 0, 'f'},
                                         {"pr", required_argument, 0, 'p'},    {"sketch-split", required_argument, 0, 'k'},
                                         {0, 0, 0, 0}};
    int c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "m:c:s:f:p:", opts, NULL)) != -1) {
        switch (c) {
        case 'm': model_path = optarg; break;
        case 'c': coll = optarg; break;
        case 's':
            split = strcmp(optarg, "all") == 0 ? -1 : sbir_split_parse(optarg);
            if (split == SBIR_SPLIT_TRAIN || (split < 0 && strcmp(optarg, "all") != 0))
                return cli_usage_error("eval", "--split is test, val or all, not '%s'", optarg);
            break;
        case 'f':
            if (strcmp(optarg, "md") == 0) fmt = EVAL_MD;
            else if (strcmp(optarg, "csv") == 0) fmt = EVAL_CSV;
            else if (strcmp(optarg, "json") == 0) fmt = EVAL_JSON;
            else return cli_usage_error("eval", "--format is md, csv or json, not '%s'", optarg);
            break;
        case 'p': pr = optarg; break;
        case 'k':
            sketch_split = strcmp(optarg, "all") == 0 ? -1 : sbir_split_parse(optarg);
            if (sketch_split == SBIR_SPLIT_TRAIN || (sketch_split < 0 && strcmp(optarg, "all") != 0))
                return cli_usage_error("eval", "--sketch-split is test, val or all, not '%s'", optarg);
            break;
        default: return cli_usage_error("eval", "unknown option");
        }
    }
    if (optind < argc) return cli_usage_error("eval", "unexpected argument '%s'", argv[optind]);
    if (!model_path || !coll) return cli_usage_error("eval", "--model and --collection are required");
    sbir_model *m = model_load(model_path, 64, NET_BACKEND_DNNL, NULL);
    if (!m) return cli_fail_last();
    dataset d;
    int rc = 1;
    if (dataset_load(&d, coll, m->S) != SBIR_OK) {
        model_free(m);
        return cli_fail_last();
    }
    if (m->gallery_mirror)
        fprintf(stderr, "eval: the model embeds gallery images with their mirror image as well (gallery_mirror: the "
                        "training default for collections of up to %d images)\n",
                TRAIN_GALLERY_MIRROR_MAX_IMAGES);
    eval_result r;
    if (evaluate_model(m, &d, split, sketch_split == -2 ? split : sketch_split, &r) != SBIR_OK) {
        cli_fail_last();
        goto done;
    }
    eval_print(&r, fmt, stdout);
    char pr_default[4200];
    if (!pr) {
        snprintf(pr_default, sizeof pr_default, "%s.%s.pr.png", model_path, split < 0 ? "all" : sbir_split_name(split));
        pr = pr_default;
    }
    if (eval_pr_png(&r, pr) != SBIR_OK) {
        cli_fail_last();
        goto done;
    }
    if (fmt == EVAL_MD) printf("sketch_mAP=%.4f sketch_style_mAP=%.4f\n", r.sketch_map_overall, r.ss_overall);
    rc = 0;
done:
    dataset_free(&d);
    model_free(m);
    return rc;
}
