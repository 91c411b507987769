/*
 * vec_faiss.cpp -- the C surface of vec_faiss.h over FAISS's C++ API: an
 * index from the factory (wrapped in IDMap2 so that vec_index.c's ids are
 * FAISS's labels), train, add, search.  Every FAISS exception becomes a
 * status and a message.
 *
 * Determinism: FAISS adds to HNSW graphs and trains k-means with OpenMP
 * threads, and a multi-threaded HNSW build depends on thread timing.  Train
 * and add run inside a one-thread OpenMP region that sets its own thread
 * count to 1 (an ICV of that region's data environment only, so other
 * threads and later regions keep theirs): FAISS's loops then run serially
 * and a given sequence of adds always builds the same index.  Searches of 16 queries
 * or more run as FAISS likes; fewer run on the calling thread.  Searches
 * only read: several threads may search at once.
 */
#include "vec_faiss.h"

#include <faiss/AutoTune.h>
#include <faiss/Index.h>
#include <faiss/index_factory.h>

#include <omp.h>

#include <cstdio>
#include <exception>
#include <string>

struct cc_faiss {
    faiss::Index *index;
};

static int fail(char *msg, size_t cap, const char *what, const char *detail)
{
    if (msg && cap)
        std::snprintf(msg, cap, "%s: %s", what, detail);
    return -1;
}

extern "C" int cc_faiss_new(int dim, int ip, const char *spec, const char *params,
                            cc_faiss **out, char *msg, size_t cap)
{
    *out = nullptr;
    try {
        std::string s = std::string("IDMap2,") + spec;
        faiss::Index *ix =
            faiss::index_factory(dim, s.c_str(), ip ? faiss::METRIC_INNER_PRODUCT : faiss::METRIC_L2);
        if (params && *params) {
            faiss::ParameterSpace ps;
            ps.set_index_parameters(ix, params);
        }
        *out = new cc_faiss{ix};
        return 0;
    } catch (const std::exception &e) {
        return fail(msg, cap, "faiss index factory", e.what());
    }
}

extern "C" void cc_faiss_free(cc_faiss *f)
{
    if (!f)
        return;
    delete f->index;
    delete f;
}

extern "C" int cc_faiss_is_trained(const cc_faiss *f)
{
    return f->index->is_trained;
}

extern "C" int cc_faiss_train(cc_faiss *f, size_t n, const float *x, char *msg, size_t cap)
{
    int rc = 0;
#pragma omp parallel num_threads(1)
    try {
        omp_set_num_threads(1); /* FAISS's own loops: one thread (this region only) */
        f->index->train((faiss::Index::idx_t)n, x);
    } catch (const std::exception &e) {
        rc = fail(msg, cap, "faiss train", e.what());
    }
    return rc;
}

extern "C" int cc_faiss_add(cc_faiss *f, size_t n, const float *x, const int64_t *ids, char *msg,
                            size_t cap)
{
    int rc = 0;
#pragma omp parallel num_threads(1)
    try {
        omp_set_num_threads(1);
        f->index->add_with_ids((faiss::Index::idx_t)n, x,
                               reinterpret_cast<const faiss::Index::idx_t *>(ids));
    } catch (const std::exception &e) {
        rc = fail(msg, cap, "faiss add", e.what());
    }
    return rc;
}

extern "C" int cc_faiss_search(const cc_faiss *f, size_t nq, const float *q, size_t k,
                               float *dist, int64_t *labels, char *msg, size_t cap)
{
    int rc = 0;
    /* A few queries run on the calling thread: waking an OpenMP team for
     * one HNSW walk costs more than the walk (tens of ms on a loaded
     * machine whose cores OpenBLAS's threads also spin on). */
    int serial = nq < 16;
#pragma omp parallel num_threads(1)
    try {
        if (serial)
            omp_set_num_threads(1);
        f->index->search((faiss::Index::idx_t)nq, q, (faiss::Index::idx_t)k, dist,
                         reinterpret_cast<faiss::Index::idx_t *>(labels));
    } catch (const std::exception &e) {
        rc = fail(msg, cap, "faiss search", e.what());
    }
    return rc;
}

extern "C" size_t cc_faiss_size(const cc_faiss *f)
{
    return (size_t)f->index->ntotal;
}
