/* index_sidecar.h — internal to src/api: "<INDEX>.json", a small file written next to an index that
 * records which model and collection built it, so `sbir query --index INDEX` can find the model by
 * itself. The index file format (index_file.h) has no room for it, and does not need it: the index
 * holds the model's fingerprint, which is what guards correctness; this file is only a convenience
 * (a missing or stale one just means --model must be given). */
#ifndef SBIR_API_INDEX_SIDECAR_H
#define SBIR_API_INDEX_SIDECAR_H

/* Writes the sidecar atomically; model and collection are made absolute. */
int sidecar_write(const char *index_path, const char *model_path, const char *collection_path, const char *split,
                  const char *fingerprint);
/* The recorded model path (malloc'd), or NULL when there is no readable sidecar (not an error). */
char *sidecar_model(const char *index_path);

#endif
