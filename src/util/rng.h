/* rng.h — deterministic random numbers (xoshiro256**, seeded through splitmix64).
 * Every random choice in training, augmentation and synthesis draws from an explicit sbir_rng so that
 * a run is reproducible from its --seed. */
#ifndef SBIR_RNG_H
#define SBIR_RNG_H

#include <stdint.h>

typedef struct { uint64_t s[4]; } sbir_rng;

void rng_seed(sbir_rng *r, uint64_t seed);
uint64_t rng_next(sbir_rng *r);
float rng_uniform(sbir_rng *r);                 /* [0, 1) */
float rng_range(sbir_rng *r, float lo, float hi); /* [lo, hi) */
uint32_t rng_below(sbir_rng *r, uint32_t n);    /* [0, n), n > 0 */
float rng_normal(sbir_rng *r);                  /* N(0, 1), Box-Muller */
void rng_shuffle_u32(sbir_rng *r, uint32_t *a, uint32_t n);

/* 64-bit FNV-1a of a string, for stable ids and splits. */
uint64_t sbir_hash64(const char *s);

/* Split of an item by a hash of its key (path or id): 70% train, 10% val, 20% test. */
enum { SBIR_SPLIT_TRAIN = 0, SBIR_SPLIT_VAL = 1, SBIR_SPLIT_TEST = 2 };
int sbir_split_of(const char *key);
const char *sbir_split_name(int split);
int sbir_split_parse(const char *name); /* -1 if unknown */

#endif
