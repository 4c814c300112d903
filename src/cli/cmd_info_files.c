/* cmd_info_files.c — `sbir info MODEL` and `sbir info INDEX`: what a trained model is (networks,
 * classes, styles, embedding sizes, how gallery images are embedded, the calibrated ranking, where and
 * how long it trained) and what an index holds (rows, sizes, storage, the model that built it). Both
 * open the file the way every other command does, so a damaged file is refused here too. */
#include <stdio.h>
#include <string.h>

#include "api/index_sidecar.h"
#include "cli/cli.h"
#include "cli/commands.h"
#include "index/index_file.h"
#include "index/shards.h"
#include "model/model.h"
#include "model/train.h"
#include "nn/safetensors.h"

static void print_names(const char *what, char **names, int n) {
    printf("%s (%d):", what, n);
    for (int i = 0; i < n; i++) printf("%s %s", i ? "," : "", names[i]);
    printf("\n");
}

static void print_meta(safetensors *st, const char *key, const char *label) {
    const char *v = st ? safetensors_meta(st, key) : NULL;
    if (v) printf("%s: %s\n", label, v);
}

int info_model(const char *path) {
    safetensors *st = NULL;
    sbir_model *m = model_load(path, 1, NET_BACKEND_REF, &st);
    if (!m) return cli_fail_last();
    printf("model %s\nfingerprint: %s\ninput: %dx%d pixels\n", path, m->fingerprint, m->S, m->S);
    print_names("classes", m->classes, m->C);
    print_names("styles", m->styles, m->NS);
    printf("structure network: %s, %zu parameters; %s\n", m->structure->spec, net_param_count(m->structure),
           m->structure_sketch ? "sketches have batch norms of their own" : "one batch norm for sketches and images");
    printf("style network: %s, %zu parameters\n", m->style->spec, net_param_count(m->style));
    if (m->class_weight > 0)
        printf("content embedding: %d floats (%d features, then %d class posteriors at weight %g)\n", m->Dc, m->Df, m->C,
               (double)m->class_weight);
    else
        printf("content embedding: %d floats\n", m->Dc);
    printf("style embedding: %d floats\n", m->Ds);
    printf("gallery images: %s\n", m->gallery_mirror ? "embedded with their mirror image as well (gallery_mirror; "
                                                       "about 0.6x the indexing speed of one view)"
                                                     : "one view each");
    printf("ranking: score = -(%g dc + %g ds + %g dc ds)\n", (double)m->fusion[0], (double)m->fusion[1],
           (double)m->fusion[2]);
    print_meta(st, "fusion_fit", "calibration on validation");
    print_meta(st, "train_collection", "trained on");
    print_meta(st, "train_seconds", "training seconds");
    const char *step = st ? safetensors_meta(st, "train_step") : NULL, *total = st ? safetensors_meta(st, "train_total_steps") : NULL;
    if (step && total)
        printf("checkpoint: step %s of %s (%s)\n", step, total,
               strcmp(step, total) == 0 ? "training finished" : "sbir train --resume continues it");
    safetensors_close(st);
    model_free(m);
    return 0;
}

static int info_shards(const char *path) {
    shard_manifest sm;
    if (shard_manifest_read(path, &sm) != SBIR_OK) return cli_fail_last();
    printf("sharded index %s\nrows: %lld in %d shards\nmodel fingerprint: %s\ncontent %d floats, style %d floats, "
           "stored as %s\n",
           path, (long long)sm.count, sm.n, sm.fingerprint, sm.dim_content, sm.dim_style, sbir_elem_name(sm.elem));
    for (int s = 0; s < sm.n; s++)
        printf("  %s: %lld rows, %llu bytes\n", sm.shards[s].file, (long long)sm.shards[s].count,
               (unsigned long long)sm.shards[s].bytes);
    shard_manifest_free(&sm);
    return 0;
}

int info_index(const char *path) {
    if (shard_manifest_is(path)) return info_shards(path);
    sbir_index *ix = index_open(path, 0);
    if (!ix) return cli_fail_last();
    printf("index %s\nrows: %lld\nmodel fingerprint: %s\n", path, (long long)index_count(ix), index_fingerprint(ix));
    printf("content %d floats, style %d floats, stored as %s%s; %s\n", index_dim_content(ix), index_dim_style(ix),
           sbir_elem_name(index_elem(ix)), index_has_prefilter(ix) ? " with int8 prefilter codes" : "",
           index_has_paths(ix) ? "image paths kept" : "no image paths");
    printf("classes (%d):", index_n_classes(ix));
    for (int c = 0; c < index_n_classes(ix); c++) printf("%s %s", c ? "," : "", index_class_name(ix, c));
    printf("\nstyles (%d):", index_n_styles(ix));
    for (int s = 0; s < index_n_styles(ix); s++) printf("%s %s", s ? "," : "", index_style_name(ix, s));
    printf("\n");
    char *model = sidecar_model(path);
    if (model) printf("built with model: %s (%s.json)\n", model, path);
    free(model);
    index_close(ix);
    return 0;
}
