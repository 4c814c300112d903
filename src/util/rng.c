#include "util/rng.h"

#include <math.h>
#include <string.h>

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void rng_seed(sbir_rng *r, uint64_t seed) {
    for (int i = 0; i < 4; i++) r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

uint64_t rng_next(sbir_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

float rng_uniform(sbir_rng *r) { return (float)(rng_next(r) >> 40) * (1.0f / 16777216.0f); }
float rng_range(sbir_rng *r, float lo, float hi) { return lo + (hi - lo) * rng_uniform(r); }
uint32_t rng_below(sbir_rng *r, uint32_t n) { return (uint32_t)(((rng_next(r) >> 32) * (uint64_t)n) >> 32); }

float rng_normal(sbir_rng *r) {
    float u1 = rng_uniform(r), u2 = rng_uniform(r);
    if (u1 < 1e-12f) u1 = 1e-12f;
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530718f * u2);
}

void rng_shuffle_u32(sbir_rng *r, uint32_t *a, uint32_t n) {
    for (uint32_t i = n; i > 1; i--) {
        uint32_t j = rng_below(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

uint64_t sbir_hash64(const char *s) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 0x100000001b3ull;
    }
    /* FNV's low bits mix poorly for short keys: finish with a splitmix round. */
    return splitmix64(&h);
}

int sbir_split_of(const char *key) {
    uint64_t b = sbir_hash64(key) % 100;
    return b < 70 ? SBIR_SPLIT_TRAIN : b < 80 ? SBIR_SPLIT_VAL : SBIR_SPLIT_TEST;
}

static const char *const k_split_names[] = {"train", "val", "test"};
const char *sbir_split_name(int split) { return split >= 0 && split < 3 ? k_split_names[split] : "?"; }
int sbir_split_parse(const char *name) {
    for (int i = 0; i < 3; i++)
        if (strcmp(name, k_split_names[i]) == 0) return i;
    return -1;
}
