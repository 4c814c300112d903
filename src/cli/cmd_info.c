/* cmd_info.c — `sbir info FILE`: what a collection holds — images per class x style (a table),
 * images per split, and sketches per class and split; a model or an index file goes to
 * cmd_info_files.c, told apart by the file's first bytes. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "data/collection.h"
#include "index/index_format.h"
#include "index/shards.h"
#include "util/rng.h"

static const char k_usage[] =
    "usage: sbir info COLL.sqlite | MODEL | INDEX\n\n"
    "A collection: its root and counts: gallery images per class x style with totals, images per split\n"
    "(train/val/test), and query sketches per class and split.\n"
    "A model (or its .ckpt): fingerprint, input size, classes, styles, both networks, embedding sizes,\n"
    "whether gallery images are embedded with their mirror image, the calibrated ranking, where and how\n"
    "long it trained.\n"
    "An index (or a sharded index's manifest): rows, embedding sizes and storage, classes, styles, the\n"
    "fingerprint of the model that built it.\n";

typedef enum { KIND_UNKNOWN, KIND_COLLECTION, KIND_MODEL, KIND_INDEX } file_kind;

/* SQLite's header, the index's magic, or safetensors' 8-byte header length followed by its JSON. A
 * sharded index's manifest is recognised by shard_manifest_is. Unreadable files are left to the
 * collection open, whose error names the problem. */
static file_kind kind_of(const char *path) {
    unsigned char b[16] = {0};
    FILE *f = fopen(path, "rb");
    if (!f) return KIND_COLLECTION;
    size_t n = fread(b, 1, sizeof b, f);
    fclose(f);
    if (n >= 16 && memcmp(b, "SQLite format 3", 16) == 0) return KIND_COLLECTION;
    if (n >= 8 && memcmp(b, IDX_MAGIC, 8) == 0) return KIND_INDEX;
    if (shard_manifest_is(path)) return KIND_INDEX;
    if (n >= 9 && b[8] == '{') return KIND_MODEL;
    return KIND_UNKNOWN;
}

static int find(char **names, size_t n, const char *s) {
    for (size_t i = 0; i < n; i++)
        if (s && names[i] && strcmp(names[i], s) == 0) return (int)i;
    return -1;
}

static void print_images(sbir_collection *c) {
    char **cls = NULL, **sty = NULL;
    size_t nc = 0, ns = 0, nk = 0;
    coll_count *k = NULL;
    if (collection_classes(c, "images", &cls, &nc) || collection_styles(c, &sty, &ns) ||
        collection_image_counts(c, &k, &nk))
        goto done;
    int64_t *cell = callocCheck((nc + 1) * (ns + 1), sizeof *cell), split[3] = {0, 0, 0}, other = 0;
    for (size_t i = 0; i < nk; i++) {
        int ci = find(cls, nc, k[i].class_name), si = find(sty, ns, k[i].style);
        cell[(ci < 0 ? nc : (size_t)ci) * (ns + 1) + (si < 0 ? ns : (size_t)si)] += k[i].count;
        int sp = k[i].split ? sbir_split_parse(k[i].split) : -1;
        if (sp >= 0)
            split[sp] += k[i].count;
        else
            other += k[i].count;
    }
    printf("images per class x style:\n%-14s", "class");
    for (size_t s = 0; s < ns; s++) printf(" %12.12s", sty[s]);
    printf(" %12s\n", "total");
    int64_t grand = 0;
    int64_t *coltot = callocCheck(ns + 1, sizeof *coltot);
    for (size_t ci = 0; ci <= nc; ci++) {
        int64_t row = 0;
        for (size_t s = 0; s <= ns; s++) row += cell[ci * (ns + 1) + s];
        if (ci == nc && row == 0) continue; /* no unlabelled rows */
        printf("%-14.14s", ci < nc ? cls[ci] : "(none)");
        for (size_t s = 0; s < ns; s++) printf(" %12lld", (long long)cell[ci * (ns + 1) + s]);
        printf(" %12lld\n", (long long)row);
        for (size_t s = 0; s <= ns; s++) coltot[s] += cell[ci * (ns + 1) + s];
        grand += row;
    }
    printf("%-14s", "total");
    for (size_t s = 0; s < ns; s++) printf(" %12lld", (long long)coltot[s]);
    printf(" %12lld\n", (long long)grand);
    printf("images per split: train %lld, val %lld, test %lld", (long long)split[0], (long long)split[1],
           (long long)split[2]);
    if (other) printf(", other %lld", (long long)other);
    printf("\n");
    free(coltot);
    free(cell);
done:
    coll_strings_free(cls, nc);
    coll_strings_free(sty, ns);
    coll_counts_free(k, nk);
}

static void print_sketches(sbir_collection *c) {
    coll_count *k = NULL;
    size_t nk = 0;
    if (collection_sketch_counts(c, &k, &nk)) return;
    int64_t total = collection_count_sketches(c, NULL);
    printf("\nsketches: %lld\n", (long long)total);
    if (nk) printf("%-14s %8s %8s %8s %8s\n", "class", "train", "val", "test", "total");
    for (size_t i = 0; i < nk;) {
        const char *cls = k[i].class_name ? k[i].class_name : "(none)";
        int64_t s[3] = {0, 0, 0};
        size_t j = i;
        for (; j < nk && strcmp(k[j].class_name ? k[j].class_name : "(none)", cls) == 0; j++) {
            int sp = k[j].split ? sbir_split_parse(k[j].split) : -1;
            if (sp >= 0) s[sp] += k[j].count;
        }
        printf("%-14.14s %8lld %8lld %8lld %8lld\n", cls, (long long)s[0], (long long)s[1], (long long)s[2],
               (long long)(s[0] + s[1] + s[2]));
        i = j;
    }
    coll_counts_free(k, nk);
}

int cmd_info(int argc, char **argv) {
    if (cli_wants_help(argc, argv)) {
        fputs(k_usage, stdout);
        return 0;
    }
    if (argc != 2 || argv[1][0] == '-') return cli_usage_error("info", "expects one COLL.sqlite, MODEL or INDEX");
    switch (kind_of(argv[1])) {
    case KIND_MODEL: return info_model(argv[1]);
    case KIND_INDEX: return info_index(argv[1]);
    case KIND_UNKNOWN: return cli_fail("%s: neither a collection, a model nor an index (sbir info --help)", argv[1]);
    case KIND_COLLECTION: break;
    }
    sbir_collection *c = collection_open(argv[1]);
    if (!c) return cli_fail_last();
    int64_t ni = collection_count_images(c, NULL);
    if (ni < 0) {
        collection_close(c);
        return cli_fail_last();
    }
    printf("collection %s\nroot: %s\nimages: %lld\n\n", argv[1], collection_root(c) ? collection_root(c) : "(none)",
           (long long)ni);
    if (ni > 0) print_images(c);
    print_sketches(c);
    collection_close(c);
    return 0;
}
