/* faiss_shim.h — a small C interface over FAISS 1.7.3 (a static C++ library whose own C API is not built
 * in Debian's package), for approximate search.
 *
 * Every index ranks by inner product (METRIC_INNER_PRODUCT): our embeddings are L2-normalised, so the
 * inner product orders results exactly as the squared L2 distance does (|a-b|^2 = 2 - 2 a.b) and the
 * scores are comparable with search.h's. Rows are numbered 0, 1, 2... in the order they were added.
 *
 * No C++ exception ever leaves the shim: every function catches them (FAISS reports bad parameters and
 * corrupt files by throwing) and turns them into sbir_error("faiss: ...") and an SBIR_ERR / NULL return.
 *
 * Saved files wrap FAISS's own serialisation: "SBIRFAI1" header, FAISS payload, trailer with the payload
 * length and the CRC-32 of everything before it. They are written atomically, and on load the CRC is
 * checked before FAISS's parser sees a byte, so truncated or corrupt files are refused with a clear
 * message instead of reaching a parser that trusts its input. A FAISS file is a cache that can always be
 * rebuilt from the sbir index file (index_file.h), which is the source of truth.
 *
 * Thread safety: searching one index from several threads at once is safe (FAISS's search is const);
 * train/add/set_* and describe (it keeps its string in the object) are not. FAISS parallelises with OpenMP; sbir_faiss_set_threads() sets the OpenMP
 * thread count of the calling thread. */
#ifndef SBIR_FAISS_SHIM_H
#define SBIR_FAISS_SHIM_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sbir_faiss sbir_faiss;

/* Constructors; NULL + sbir_error on bad parameters. */
sbir_faiss *sbir_faiss_flat_ip(int d);                                           /* exact, "Flat" */
sbir_faiss *sbir_faiss_ivf_flat(int d, int nlist, int nprobe);                   /* "IVF<nlist>,Flat" */
sbir_faiss *sbir_faiss_ivf_pq(int d, int nlist, int m, int nbits, int nprobe);   /* "IVF<nlist>,PQ<m>x<nbits>" */
sbir_faiss *sbir_faiss_hnsw_flat(int d, int M, int ef_search);                   /* "HNSW<M>,Flat" */
void sbir_faiss_free(sbir_faiss *f);

int sbir_faiss_dim(const sbir_faiss *f);
int64_t sbir_faiss_count(const sbir_faiss *f);
int sbir_faiss_is_trained(const sbir_faiss *f);
/* e.g. "IVF1024,Flat nprobe=16"; valid until the next call on f. */
const char *sbir_faiss_describe(sbir_faiss *f);

/* n vectors of dimension d, row-major. IVF kinds need train() before add(); flat and HNSW do not. */
int sbir_faiss_train(sbir_faiss *f, int64_t n, const float *x);
int sbir_faiss_add(sbir_faiss *f, int64_t n, const float *x);

/* Top-k of nq queries (row-major nq x d): scores[nq*k] (inner products, best first) and rows[nq*k]
 * (-1 where fewer than k rows exist). Returns, for nq == 1, the number of valid results; for nq > 1,
 * SBIR_OK. SBIR_ERR on failure. */
int sbir_faiss_search(const sbir_faiss *f, int64_t nq, const float *q, int k, float *scores, int64_t *rows);

/* Search-time knobs. set_nprobe: IVF kinds only; set_ef_search: HNSW only; parallel_mode: IVF (FAISS's
 * IndexIVF::parallel_mode, 0 = over queries, 1 = over inverted lists, useful for one query at a time). */
int sbir_faiss_set_nprobe(sbir_faiss *f, int nprobe);
int sbir_faiss_set_ef_search(sbir_faiss *f, int ef_search);
int sbir_faiss_set_parallel_mode(sbir_faiss *f, int mode);
void sbir_faiss_set_threads(int n);

/* Atomic save; load verifies the wrapper and its CRC-32 first. Errors name the file. */
int sbir_faiss_save(const sbir_faiss *f, const char *path);
sbir_faiss *sbir_faiss_load(const char *path);

#ifdef __cplusplus
}
#endif

#endif
