/* tiny_collection.h — a small built-in collection for end-to-end tests: synth images of 5 classes x
 * 7 media under dir/synth/images, imported into coll_path, plus synth sketches added as strokes
 * (source "synth"). Deterministic in seed. */
#ifndef SBIR_TEST_TINY_COLLECTION_H
#define SBIR_TEST_TINY_COLLECTION_H

#include <stdint.h>

int tiny_collection(const char *dir, const char *coll_path, int per_cell, int sketches_per_class, int size,
                    uint64_t seed);

#endif
