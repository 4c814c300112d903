/* bench_embeddings.c — see bench_embeddings.h. */
#include "cli/bench_embeddings.h"

#include <math.h>
#include <stdlib.h>

#include "util/common.h"
#include "util/rng.h"

#define CHUNK 4096

static void normalise(float *x, int d) {
    double s = 0;
    for (int j = 0; j < d; j++) s += (double)x[j] * x[j];
    float inv = (float)(1 / sqrt(s > 0 ? s : 1));
    for (int j = 0; j < d; j++) x[j] *= inv;
}

bench_genmodel bench_gen_model(int d, uint64_t seed) {
    bench_genmodel g = {d, mallocCheck((size_t)N_CLUSTERS * d * 4), mallocCheck((size_t)N_CLUSTERS * d * RANK * 4)};
    sbir_rng r;
    rng_seed(&r, seed);
    float *u = mallocCheck((size_t)N_CLASSES * d * 4), *v = mallocCheck((size_t)N_STYLES * d * 4);
    for (int i = 0; i < N_CLASSES * d; i++) u[i] = rng_normal(&r);
    for (int i = 0; i < N_STYLES * d; i++) v[i] = rng_normal(&r);
    for (int c = 0; c < N_CLASSES; c++) normalise(u + c * d, d);
    for (int s = 0; s < N_STYLES; s++) normalise(v + s * d, d);
    for (int c = 0; c < N_CLASSES; c++)
        for (int s = 0; s < N_STYLES; s++) {
            float *ce = g.centre + (size_t)(c * N_STYLES + s) * d;
            for (int j = 0; j < d; j++) ce[j] = u[c * d + j] + 0.5f * v[s * d + j];
            normalise(ce, d);
        }
    float sd = 1 / sqrtf((float)d);
    for (size_t i = 0; i < (size_t)N_CLUSTERS * d * RANK; i++) g.basis[i] = sd * rng_normal(&r);
    free(u);
    free(v);
    return g;
}

/* Rows [r0, r0 + n) of a stream; chunks have their own seeds so any thread count gives the same data. */
void bench_gen_rows(const bench_genmodel *g, int64_t n, float noise, uint64_t seed, float *out, int32_t *cluster) {
    int d = g->d;
    int64_t chunks = (n + CHUNK - 1) / CHUNK;
#pragma omp parallel for schedule(dynamic, 4)
    for (int64_t c = 0; c < chunks; c++) {
        sbir_rng r;
        rng_seed(&r, seed * 0x9e3779b97f4a7c15ull + (uint64_t)c);
        float z[RANK];
        for (int64_t i = c * CHUNK; i < n && i < (c + 1) * CHUNK; i++) {
            int k = (int)rng_below(&r, N_CLUSTERS);
            if (cluster) cluster[i] = k;
            for (int t = 0; t < RANK; t++) z[t] = 0.7f * rng_normal(&r) / sqrtf((float)RANK);
            float *x = out + (size_t)i * d;
            const float *ce = g->centre + (size_t)k * d, *b = g->basis + (size_t)k * d * RANK;
            for (int j = 0; j < d; j++) {
                float v = ce[j] + noise * rng_normal(&r) / sqrtf((float)d);
                for (int t = 0; t < RANK; t++) v += b[j * RANK + t] * z[t];
                x[j] = v;
            }
            normalise(x, d);
        }
    }
}
