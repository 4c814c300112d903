/* dump_pacs.c: a collection's decoded arrays at side S, raw: img.u8 (N,S,S,3), img.i32 (N,3 class style split), sk.u8 (M,S,S), sk.i32 (M,2 class split) */
#include <stdio.h>
#include <stdlib.h>
#include "model/dataset.h"
#include "util/common.h"
static void wr(const char *dir, const char *name, const void *p, size_t bytes) {
    char path[1024]; snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb"); fwrite(p, 1, bytes, f); fclose(f);
}
int main(int argc, char **argv) {
    if (argc < 4) return 2;
    int S = atoi(argv[2]);
    dataset d;
    if (dataset_load(&d, argv[1], S) != SBIR_OK) { fprintf(stderr, "%s\n", sbir_last_error()); return 1; }
    const char *dir = argv[3];
    wr(dir, "img.u8", d.img, (size_t)d.n_img * S * S * 3);
    int *l = malloc(sizeof(int) * 3 * (d.n_img + d.n_sk));
    for (int i = 0; i < d.n_img; i++) l[3*i] = d.img_class[i], l[3*i+1] = d.img_style[i], l[3*i+2] = d.img_split[i];
    wr(dir, "img.i32", l, sizeof(int) * 3 * d.n_img);
    wr(dir, "sk.u8", d.sk_grey, (size_t)d.n_sk * S * S);
    for (int i = 0; i < d.n_sk; i++) l[2*i] = d.sk_class[i], l[2*i+1] = d.sk_split[i];
    wr(dir, "sk.i32", l, sizeof(int) * 2 * d.n_sk);
    printf("N %d M %d C %d NS %d S %d\n", d.n_img, d.n_sk, d.C, d.NS, S);
    for (int i = 0; i < d.NS; i++) printf("style %d %s\n", i, d.styles[i]);
    free(l); dataset_free(&d);
    return 0;
}
