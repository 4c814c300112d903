#include "tiny_collection.h"

#include <stdio.h>
#include <stdlib.h>

#include "data/collection.h"
#include "data/import_folders.h"
#include "data/quickdraw.h"
#include "data/synth.h"
#include "util/common.h"

static int add_sketches(const char *coll_path, int per_class, uint64_t seed) {
    sbir_collection *c = collection_edit(coll_path, NULL);
    if (!c) return SBIR_ERR;
    for (int cls = 0; cls < SYNTH_N_CLASSES; cls++)
        for (uint32_t i = 0; i < (uint32_t)per_class; i++) {
            synth_strokes st = {0};
            synth_sketch(cls, seed, i, &st);
            sbir_sketch s;
            sketch_init(&s);
            for (int k = 0; k < st.n_strokes; k++) {
                sketch_begin_stroke(&s);
                for (int p = st.start[k]; p < st.start[k + 1]; p++) sketch_add_point(&s, st.x[p], st.y[p], 0);
            }
            char *json = qd_drawing_to_json(&s), key[32];
            snprintf(key, sizeof key, "%u", i);
            int rc = collection_add_sketch(c, synth_classes[cls], "synth", key, json, NULL, NULL);
            free(json);
            sketch_free(&s);
            synth_strokes_free(&st);
            if (rc != SBIR_OK) {
                collection_close(c);
                return SBIR_ERR;
            }
        }
    return collection_commit(c);
}

int tiny_collection(const char *dir, const char *coll_path, int per_cell, int sketches_per_class, int size,
                    uint64_t seed) {
    char synth_dir[4200], images[4300];
    snprintf(synth_dir, sizeof synth_dir, "%s/synth", dir);
    synth_opts so;
    synth_opts_default(&so);
    so.per_cell = per_cell, so.sketches_per_class = sketches_per_class, so.size = size, so.seed = seed;
    so.progress = 0;
    if (synth_generate(synth_dir, &so) != SBIR_OK) return SBIR_ERR;
    snprintf(images, sizeof images, "%s/images", synth_dir);
    import_folders_opts fo = {images, coll_path, NULL, 0};
    import_folders_report rep;
    if (import_folders(&fo, &rep) != SBIR_OK) return SBIR_ERR;
    return add_sketches(coll_path, sketches_per_class, seed);
}
