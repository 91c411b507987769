/*
 * vec_faiss.h -- internal to core/: a small C surface over FAISS's C++
 * index factory (vec_faiss.cpp), for the approximate search of
 * vec_index.c.  Debian's libfaiss-dev ships the headers of FAISS's C API
 * but not its library (libfaiss_c), so this file is that C API, cut to what
 * the index needs.  Built when FAISS is found (CC_HAVE_FAISS); errors come
 * back as messages (FAISS throws).
 */
#ifndef CC_VEC_FAISS_H
#define CC_VEC_FAISS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cc_faiss cc_faiss;
/* spec: an index factory string ("HNSW32", "IVF256,Flat", ...), wrapped in
 * an IDMap; params: FAISS ParameterSpace settings ("efSearch=64",
 * "nprobe=16") or "" ; ip: inner product (1) or L2 (0). */
int cc_faiss_new(int dim, int ip, const char *spec, const char *params, cc_faiss **out,
                 char *msg, size_t msg_cap);
void cc_faiss_free(cc_faiss *f);
int cc_faiss_is_trained(const cc_faiss *f);
int cc_faiss_train(cc_faiss *f, size_t n, const float *x, char *msg, size_t msg_cap);
int cc_faiss_add(cc_faiss *f, size_t n, const float *x, const int64_t *ids, char *msg,
                 size_t msg_cap);
/* k results per query: labels -1 where none; distances are inner products
 * (ip) or squared L2 distances. */
int cc_faiss_search(const cc_faiss *f, size_t nq, const float *q, size_t k, float *dist,
                    int64_t *labels, char *msg, size_t msg_cap);
size_t cc_faiss_size(const cc_faiss *f);

#ifdef __cplusplus
}
#endif

#endif
