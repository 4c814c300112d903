/* cmd_import_quickdraw.c — `sbir import quickdraw FILE... --out COLL.sqlite [--max-per-file N]`:
 * adds Quick, Draw! drawings to a collection as query sketches (source "quickdraw").
 *
 * What is stored: stroke drawings as the simplified "drawing" JSON (raw drawings are simplified on
 * the way in, exactly as Google does, so every stored sketch is in one 0..255 form); .npy bitmap rows
 * as an image reference "<absolute .npy path>#<row>" (sketch_load.h renders it). The class is the
 * drawing's word, or the file name where the format has none. The key is the key_id, or
 * "<word>:<row>" for .npy rows; a key already in the collection is skipped, so importing raw and
 * simplified files of the same drawings, or one file twice, adds each drawing once.
 * The collection is edited on a temporary copy and renamed into place at the end (collection.h), so a
 * failure or a kill leaves the previous collection untouched. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/commands.h"
#include "data/collection.h"
#include "data/quickdraw.h"
#include "util/rng.h"

static const char k_usage[] =
    "usage: sbir import quickdraw FILE... --out COLL.sqlite [--max-per-file N]\n\n"
    "Adds Quick, Draw! drawings (raw or simplified ndjson, .bin, .npy) to the collection COLL.sqlite\n"
    "(created if absent) as query sketches. Raw drawings are simplified as Google does; the class is\n"
    "the drawing's word, or the file name (cat.npy -> cat). Drawings already present (same key_id) are\n"
    "skipped. --max-per-file N: take at most the first N drawings of each file.\n";

/* A set of keys (strings), open addressing on a 64-bit hash: the keys already in the collection. */
typedef struct {
    char **slots;
    size_t cap, n;
} key_set;

static size_t slot_of(const key_set *s, const char *k) {
    size_t i = (size_t)sbir_hash64(k) & (s->cap - 1);
    while (s->slots[i] && strcmp(s->slots[i], k)) i = (i + 1) & (s->cap - 1);
    return i;
}

static int set_add(key_set *s, const char *k) { /* 1 if added, 0 if present */
    if ((s->n + 1) * 2 > s->cap) {
        key_set bigger = {callocCheck(s->cap ? s->cap * 2 : 1024, sizeof(char *)), s->cap ? s->cap * 2 : 1024, 0};
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i]) bigger.slots[slot_of(&bigger, s->slots[i])] = s->slots[i], bigger.n++;
        free(s->slots);
        *s = bigger;
    }
    size_t i = slot_of(s, k);
    if (s->slots[i]) return 0;
    s->slots[i] = strdupCheck(k);
    s->n++;
    return 1;
}

static void set_free(key_set *s) {
    for (size_t i = 0; i < s->cap; i++) free(s->slots[i]);
    free(s->slots);
}

static int collect_key(const coll_sketch *k, void *ctx) {
    if (k->key_id) set_add(ctx, k->key_id);
    return 0;
}

static const char *base_name(const char *p) {
    const char *b = strrchr(p, '/');
    return b ? b + 1 : p;
}

/* Imports one file; *added / *dups count. */
static int import_file(sbir_collection *c, key_set *keys, const char *path, long max, long *added, long *dups) {
    qd_reader *r = qd_open(path, NULL);
    if (!r) return SBIR_ERR;
    char *abs = NULL;
    if (qd_reader_format(r) == QD_NPY && !(abs = realpath(path, NULL))) {
        qd_close(r);
        return sbir_error("%s: cannot resolve the path", path);
    }
    sbir_sketch s;
    sketch_init(&s);
    int rc = SBIR_OK;
    *added = *dups = 0;
    while (max < 0 || (long)qd_count(r) < max) {
        int got = qd_next(r, &s);
        if (got == 0) break;
        if (got < 0) {
            rc = SBIR_ERR;
            break;
        }
        uint64_t row = qd_count(r) - 1;
        char key[SKETCH_WORD_MAX + 300];
        if (s.bitmap_size) snprintf(key, sizeof key, "%s:%llu", s.word, (unsigned long long)row);
        else if (s.key_id) snprintf(key, sizeof key, "%llu", (unsigned long long)s.key_id);
        else snprintf(key, sizeof key, "%s:%s:%llu", s.word, base_name(path), (unsigned long long)row);
        if (!s.word[0]) {
            rc = sbir_error("%s: drawing %llu has no word and the file name gives no class", path, (unsigned long long)row + 1);
            break;
        }
        if (!set_add(keys, key)) {
            (*dups)++;
            continue;
        }
        if (s.bitmap_size) {
            size_t n = strlen(abs) + 32;
            char *ref = mallocCheck(n);
            snprintf(ref, n, "%s#%llu", abs, (unsigned long long)row);
            rc = collection_add_sketch(c, s.word, "quickdraw", key, NULL, ref, NULL);
            free(ref);
        } else {
            if (s.has_time) sketch_simplify(&s);
            char *json = qd_drawing_to_json(&s);
            rc = collection_add_sketch(c, s.word, "quickdraw", key, json, NULL, NULL);
            free(json);
        }
        if (rc) break;
        (*added)++;
    }
    qd_close(r);
    sketch_free(&s);
    free(abs);
    return rc;
}

int cmd_import_quickdraw(int argc, char **argv) {
    static const struct option longopts[] = {{"out", required_argument, 0, 'o'},
                                              {"max-per-file", required_argument, 0, 'm'},
                                              {"help", no_argument, 0, 'h'},
                                              {0, 0, 0, 0}};
    const char *out = NULL;
    long max = -1;
    int ch;
    optind = 0;
    while ((ch = getopt_long(argc, argv, "ho:", longopts, NULL)) != -1) {
        switch (ch) {
        case 'o': out = optarg; break;
        case 'm': if (cli_parse_int("import quickdraw", "--max-per-file", optarg, 1, LONG_MAX, &max)) return 2; break;
        case 'h': fputs(k_usage, stdout); return 0;
        default: return cli_usage_error("import quickdraw", "unknown option");
        }
    }
    if (!out) return cli_usage_error("import quickdraw", "--out COLL.sqlite is required");
    if (optind >= argc) return cli_usage_error("import quickdraw", "expects at least one FILE");

    sbir_collection *c = collection_edit(out, NULL);
    if (!c) return cli_fail_last();
    key_set keys = {0};
    coll_filter f = {.source = "quickdraw"};
    int rc = collection_each_sketch(c, &f, collect_key, &keys);
    long total = 0;
    for (int i = optind; rc == SBIR_OK && i < argc; i++) {
        long added = 0, dups = 0;
        rc = import_file(c, &keys, argv[i], max, &added, &dups);
        if (rc == SBIR_OK && dups)
            fprintf(stderr, "%s: %ld sketches added, %ld already in the collection\n", argv[i], added, dups);
        else if (rc == SBIR_OK)
            fprintf(stderr, "%s: %ld sketches added\n", argv[i], added);
        total += added;
    }
    set_free(&keys);
    if (rc != SBIR_OK) {
        collection_close(c); /* abandons the edit: the previous collection stays as it was */
        return cli_fail_last();
    }
    if (collection_commit(c)) return cli_fail_last();
    fprintf(stderr, "%s: %ld Quick, Draw! sketches added\n", out, total);
    return 0;
}
