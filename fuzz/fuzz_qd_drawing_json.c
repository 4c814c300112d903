/* fuzz_qd_drawing_json.c — libFuzzer target: qd_drawing_from_json, the parser of the "drawing" JSON that
 * collections store for every stroke sketch. An accepted drawing must survive the round trip through
 * qd_drawing_to_json unchanged (the collection stores what to_json writes, so a drawing that does not
 * parse back, or parses back different, would be silently corrupted on import). */
#include <math.h>

#include "data/quickdraw.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv) {
    (void)argc, (void)argv;
    fuzz_setup_env();
    return 0;
}

static int same_sketch(const sbir_sketch *a, const sbir_sketch *b) {
    if (a->n_strokes != b->n_strokes || a->n_points != b->n_points || a->has_time != b->has_time) return 0;
    for (uint32_t k = 0; k <= a->n_strokes; k++)
        if (a->stroke_start[k] != b->stroke_start[k]) return 0;
    for (uint32_t i = 0; i < a->n_points; i++)
        if (a->x[i] != b->x[i] || a->y[i] != b->y[i] || (a->has_time && a->t[i] != b->t[i])) return 0;
    return 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *json = mallocCheck(size + 1); /* the API takes a C string */
    memcpy(json, data, size);
    json[size] = 0;
    sbir_sketch s, t;
    sketch_init(&s);
    sketch_init(&t);
    if (qd_drawing_from_json(json, "fuzz", &s) == SBIR_OK) {
        if (s.n_points == 0 || s.n_strokes == 0) FUZZ_ABORT("accepted a drawing without points");
        char *out = qd_drawing_to_json(&s);
        if (qd_drawing_from_json(out, "roundtrip", &t) != SBIR_OK)
            FUZZ_ABORT("to_json output does not parse back: %s (%s)", sbir_last_error(), out);
        if (!same_sketch(&s, &t)) FUZZ_ABORT("round trip changed the drawing: %s", out);
        free(out);
    } else if (strncmp(sbir_last_error(), "fuzz: ", 6) != 0) {
        FUZZ_ABORT("error does not name its position: %s", sbir_last_error());
    }
    sketch_free(&s);
    sketch_free(&t);
    free(json);
    return 0;
}
