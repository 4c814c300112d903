/* safetensors.h — model weights in the safetensors format (https://huggingface.co/docs/safetensors):
 * an 8-byte little-endian header length, a JSON header {"name": {"dtype": "F32", "shape": [...],
 * "data_offsets": [begin, end]}, ..., "__metadata__": {"key": "value", ...}}, then the raw
 * little-endian tensor bytes. Standard tools (Python's safetensors, numpy) read our files.
 *
 * Our files also carry "__metadata__": {"sbir_crc32": "<8 hex digits>"} — the CRC-32 of the tensor
 * bytes — verified on load, and are written atomically (see util/atomic_file.h). Loading treats the
 * file as hostile: header size, JSON, dtypes, shapes and offsets are all checked before use. */
#ifndef SBIR_NN_SAFETENSORS_H
#define SBIR_NN_SAFETENSORS_H

#include <stdint.h>

#define ST_MAX_DIMS 8

typedef struct {
    const char *name;
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    const float *data; /* F32, ndim-dimensional, row-major */
} st_tensor;

/* Writes tensors (F32) and string metadata (meta[2i] = key, meta[2i+1] = value, n_meta pairs). */
int safetensors_write(const char *path, const st_tensor *tensors, int n, const char *const *meta, int n_meta);

typedef struct safetensors safetensors;
safetensors *safetensors_open(const char *path); /* NULL + sbir_error on any problem */
int safetensors_count(const safetensors *st);
const st_tensor *safetensors_at(const safetensors *st, int i);
const st_tensor *safetensors_get(const safetensors *st, const char *name); /* NULL if absent */
const char *safetensors_meta(const safetensors *st, const char *key);       /* NULL if absent */
void safetensors_close(safetensors *st);

#endif
