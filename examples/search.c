/* search.c — the smallest libsbir program: open a model and an index, embed a sketch from a file,
 * print the top results.
 *
 *   usage: search MODEL INDEX SKETCH [STYLE] [K]
 *   build: make -C examples            (uses pkg-config sbir; see examples/Makefile) */
#include <sbir.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: %s MODEL INDEX SKETCH [STYLE] [K]\n", argv[0]);
        return 2;
    }
    const char *style = argc > 4 && argv[4][0] ? argv[4] : NULL;
    int k = argc > 5 ? atoi(argv[5]) : 10;
    if (k < 1 || k > 1000) k = 10;

    sbir_model_ctx *model = NULL;
    sbir_index_ctx *index = NULL;
    sbir_result res[1000];
    float sketch[SBIR_MAX_DIM];
    int n = 0, rc = 1;
    if (sbir_model_open(argv[1], &model) != SBIR_E_OK || sbir_index_open(argv[2], &index) != SBIR_E_OK ||
        sbir_embed_sketch_file(model, argv[3], sketch) != SBIR_E_OK)
        goto out;
    sbir_query q = {.sketch = sketch, .style_name = style, .k = k};
    if (sbir_search(index, model, &q, res, &n) != SBIR_E_OK) goto out;
    for (int i = 0; i < n; i++)
        printf("%d\t%.5f\t%s\t%s\t%s\n", i + 1, res[i].score, res[i].class_name, res[i].style, res[i].path);
    rc = 0;
out:
    if (rc) fprintf(stderr, "search: %s\n", sbir_last_error());
    sbir_index_close(index);
    sbir_model_close(model);
    return rc;
}
