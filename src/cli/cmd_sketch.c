/* cmd_sketch.c — `sbir sketch render` draws one sketch to a PNG; `sbir sketch info` summarises
 * Quick, Draw! files (drawings, words, strokes and points per drawing). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "data/augment.h"
#include "data/image.h"
#include "data/quickdraw.h"
#include "data/raster.h"
#include "data/sketch_load.h"

static const char k_usage[] =
    "usage: sbir sketch render FILE [--index N | --key-id ID] [--size 256] [--line-width W] [--margin M]\n"
    "                          [--simplify] [--invert] [--augment --seed S] --out OUT.png\n"
    "       sbir sketch info FILE...\n\n"
    "render: draws one sketch of a Quick, Draw! file (raw or simplified ndjson, .bin, .npy; FILE#N also\n"
    "        selects drawing N) or a PNG/JPEG sketch, anti-aliased, black ink on white, into a greyscale PNG\n"
    "        (written atomically). --index N: the N-th drawing, from 0 (default 0); --key-id: by key_id;\n"
    "        --line-width in output pixels (default size/64); --margin: fraction of the size kept blank on\n"
    "        each side (default 0.05); --simplify: Google's raw-to-simplified conversion first;\n"
    "        --augment: a random training augmentation, reproducible with --seed (default 1).\n"
    "info:   counts drawings, words, strokes and points per drawing of each file.\n";

static int render_usage(FILE *f) {
    fputs(k_usage, f);
    return f == stdout ? 0 : 2;
}

static int cmd_render(int argc, char **argv) {
    static const struct option longopts[] = {
        {"index", required_argument, 0, 'i'}, {"key-id", required_argument, 0, 'k'},
        {"size", required_argument, 0, 's'}, {"line-width", required_argument, 0, 'w'},
        {"margin", required_argument, 0, 'm'}, {"simplify", no_argument, 0, 'S'},
        {"augment", no_argument, 0, 'a'}, {"seed", required_argument, 0, 'e'},
        {"invert", no_argument, 0, 'I'}, {"out", required_argument, 0, 'o'},
        {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    sbir_raster_opts ro;
    raster_opts_default(&ro);
    long index = -1, size = 256, seed = 1;
    unsigned long long key = 0;
    int by_key = 0, simplify = 0, augment = 0, seed_given = 0;
    double lw = 0, margin = ro.margin;
    const char *out = NULL;
    int c;
    optind = 0;
    while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        switch (c) {
        case 'i': if (cli_parse_int("sketch render", "--index", optarg, 0, 2147483647L, &index)) return 2; break;
        case 'k': {
            char *end;
            errno = 0;
            key = strtoull(optarg, &end, 10);
            if (errno || end == optarg || *end || optarg[0] == '-')
                return cli_usage_error("sketch render", "--key-id expects a decimal key_id, got '%s'", optarg);
            by_key = 1;
            break;
        }
        case 's': if (cli_parse_int("sketch render", "--size", optarg, 8, 8192, &size)) return 2; break;
        case 'w': if (cli_parse_float("sketch render", "--line-width", optarg, 0.1, 1000, &lw)) return 2; break;
        case 'm': if (cli_parse_float("sketch render", "--margin", optarg, 0, 0.45, &margin)) return 2; break;
        case 'S': simplify = 1; break;
        case 'a': augment = 1; break;
        case 'e': if (cli_parse_int("sketch render", "--seed", optarg, 0, 2147483647L, &seed)) return 2; seed_given = 1; break;
        case 'I': ro.invert = 1; break;
        case 'o': out = optarg; break;
        case 'h': return render_usage(stdout);
        default: return cli_usage_error("sketch render", "unknown option");
        }
    }
    if (optind != argc - 1) return cli_usage_error("sketch render", "expects exactly one FILE");
    if (!out) return cli_usage_error("sketch render", "--out OUT.png is required");
    if (by_key && index >= 0) return cli_usage_error("sketch render", "give --index or --key-id, not both");
    if (seed_given && !augment) return cli_usage_error("sketch render", "--seed only makes sense with --augment");
    const char *file = argv[optind];
    ro.size = (int)size, ro.line_width = (float)lw, ro.margin = (float)margin;
    if (!(raster_line_width(&ro) < ro.size * (1 - 2 * ro.margin)))
        return cli_usage_error("sketch render", "--line-width %g does not fit inside the margin of a %ld image", lw, size);

    uint8_t *img = mallocCheck((size_t)size * size);
    int rc;
    if (image_has_image_ext(file)) {
        if (simplify || augment || by_key || index >= 0) {
            free(img);
            return cli_usage_error("sketch render", "--index, --key-id, --simplify and --augment apply to Quick, Draw! files, not images");
        }
        rc = sketch_render_image(file, &ro, img);
    } else {
        char *path = NULL;
        uint64_t ref = 0;
        if (sketch_split_ref(file, &path, &ref) && index < 0 && !by_key) index = (long)ref;
        else free(path), path = strdupCheck(file);
        sbir_sketch s;
        sketch_init(&s);
        rc = qd_find(path, by_key, by_key ? key : (uint64_t)(index < 0 ? 0 : index), &s);
        if (rc == SBIR_OK && simplify) {
            if (s.bitmap_size) rc = sbir_error("%s: --simplify needs strokes; .npy files hold bitmaps", path);
            else sketch_simplify(&s);
        }
        if (rc == SBIR_OK && augment) {
            sbir_rng rng;
            sbir_augment_opts ao;
            rng_seed(&rng, (uint64_t)seed);
            augment_opts_default(&ao);
            sketch_augment(&s, &ao, &rng, &ro);
        }
        if (rc == SBIR_OK) rc = raster_sketch(&s, &ro, img);
        sketch_free(&s);
        free(path);
    }
    if (rc == SBIR_OK) rc = raster_write_png(out, img, (int)size, (int)size);
    free(img);
    return rc == SBIR_OK ? 0 : cli_fail_last();
}

typedef struct {
    char word[SKETCH_WORD_MAX];
    uint64_t n;
} word_count;

#define INFO_MAX_WORDS 4096

static int info_one(const char *path) {
    qd_reader *r = qd_open(path, NULL);
    if (!r) return SBIR_ERR;
    sbir_sketch s;
    sketch_init(&s);
    word_count *words = NULL;
    size_t nw = 0, capw = 0;
    uint64_t other = 0, n = 0, timed = 0, recog = 0, bitmaps = 0;
    uint64_t smin = UINT64_MAX, smax = 0, ssum = 0, pmin = UINT64_MAX, pmax = 0, psum = 0;
    int bsize = 0, rc;
    while ((rc = qd_next(r, &s)) == 1) {
        n++;
        timed += s.has_time;
        recog += s.recognized == 1;
        if (s.bitmap_size) {
            bitmaps++, bsize = s.bitmap_size;
        } else {
            smin = SBIR_MIN(smin, s.n_strokes), smax = SBIR_MAX(smax, s.n_strokes), ssum += s.n_strokes;
            pmin = SBIR_MIN(pmin, s.n_points), pmax = SBIR_MAX(pmax, s.n_points), psum += s.n_points;
        }
        size_t i = 0;
        while (i < nw && strcmp(words[i].word, s.word)) i++;
        if (i < nw) {
            words[i].n++;
        } else if (nw < INFO_MAX_WORDS) { /* a hostile file with a million words must not grow this */
            if (nw == capw) words = reallocCheck(words, (capw = capw ? capw * 2 : 16) * sizeof *words);
            memcpy(words[nw].word, s.word, sizeof s.word);
            words[nw++].n = 1;
        } else {
            other++;
        }
    }
    qd_format fmt = qd_reader_format(r);
    qd_close(r);
    sketch_free(&s);
    if (rc == SBIR_ERR) {
        free(words);
        return SBIR_ERR;
    }
    printf("%s: %s, %llu drawings\n", path, qd_format_name(fmt), (unsigned long long)n);
    printf("  words:");
    for (size_t i = 0; i < nw; i++) printf(" %s (%llu)", words[i].word[0] ? words[i].word : "(none)", (unsigned long long)words[i].n);
    if (other) printf(" and %llu drawings of other words", (unsigned long long)other);
    printf("\n");
    if (bitmaps) printf("  bitmaps: %llu of %dx%d\n", (unsigned long long)bitmaps, bsize, bsize);
    if (n > bitmaps) {
        uint64_t k = n - bitmaps;
        printf("  strokes per drawing: min %llu, mean %.1f, max %llu\n", (unsigned long long)smin, (double)ssum / k,
               (unsigned long long)smax);
        printf("  points per drawing: min %llu, mean %.1f, max %llu\n", (unsigned long long)pmin, (double)psum / k,
               (unsigned long long)pmax);
        printf("  with timing (raw): %llu, recognized: %llu\n", (unsigned long long)timed, (unsigned long long)recog);
    }
    free(words);
    return SBIR_OK;
}

static int cmd_info_files(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) return render_usage(stdout);
    if (argc < 2) return cli_usage_error("sketch info", "expects at least one FILE");
    for (int i = 1; i < argc; i++)
        if (info_one(argv[i])) return cli_fail_last();
    return 0;
}

int cmd_sketch(int argc, char **argv) {
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) return render_usage(argc < 2 ? stderr : stdout);
    if (!strcmp(argv[1], "render")) return cmd_render(argc - 1, argv + 1);
    if (!strcmp(argv[1], "info")) return cmd_info_files(argc - 1, argv + 1);
    return cli_usage_error("sketch", "unknown subcommand '%s' (render or info)", argv[1]);
}
