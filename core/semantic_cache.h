/*
 * semantic_cache.h -- the semantic tier: a query whose meaning matches a
 * cached one is answered with the stored answer and the model is never
 * called (GPTCache, CodeFuse-ModelCache).  The API is separate from the LLM
 * call, as ModelCache's is: the caller embeds, queries, calls its model on a
 * miss and writes the answer back with insert.
 *
 * Pieces (one file each in core/):
 *   embed_hash.c      the built-in hashing embedder (embed.h interface)
 *   vec_index.c       per-tenant vector index: exact search with sgemm,
 *                     approximate search through FAISS (vec_faiss.cpp);
 *                     exact search on a GPU through cc_vec_backend
 *                     (filled by gpu/vec_search.cu)
 *   semantic_cache.c  entries, tenants, thresholds, eviction (policies/),
 *                     TTL, the re-check hook, the reader-writer lock
 *   sem_store.c       persistence in SQLite (WAL): one row per entry
 *   sem_key.c         the key text of a (multi-turn) request
 *   sem_eval.c        GPTCache's evaluation protocol on labelled pairs
 *
 * Tenants.  A tenant is a "model@version" string; every tenant has its own
 * vector index, so a query only ever sees the entries of its own tenant (no
 * hit crosses tenants, by construction).  Capacity and eviction are shared
 * by all tenants (one policy instance over all entry slots).
 *
 * Threads.  Every call on a cc_sem_cache may come from any thread at any
 * time: queries take the lock shared (and a small mutex for the policy's
 * on_hit and the sliding TTL), insert/remove/clear/expire take it exclusive.
 * An embedder is NOT thread-safe (embed.h): one per thread.
 *
 * Time.  Calls take now_ns from the caller (virtual time in a replay, a
 * clock in a service); nothing reads the wall clock, so results are
 * deterministic.
 */
#ifndef CC_SEMANTIC_CACHE_H
#define CC_SEMANTIC_CACHE_H

#include "../traces/traces.h"
#include "core.h"
#include "embed.h"

#include <stddef.h>
#include <stdint.h>

/* ---- the hashing embedder (embed_hash.c) -----------------------------------
 * Word unigrams, word bigrams and character trigrams of each word (padded
 * with a boundary mark), of the ASCII-lowercased text, hashed into dim
 * signed buckets (feature hashing), sublinear per-feature weights, L2
 * normalised.  No download, deterministic, O(text bytes) per text, no
 * allocation per text.  dim in [16, 65536]; 0 gives the default 512. */
#define CC_EMBED_HASH_DEFAULT_DIM 512
int cc_embedder_hash_new(int dim, cc_embedder **out, cc_err *err);

/* ---- vector index (vec_index.c) ---------------------------------------- */
typedef enum cc_vec_metric {
    CC_VEC_COSINE = 0, /* similarity = dot product of the (normalised) vectors */
    CC_VEC_L2 = 1,     /* similarity = 1 - |q - x|^2 / 2 (equals cosine for unit
                          vectors; a monotone map of the distance otherwise) */
} cc_vec_metric;
int cc_vec_metric_parse(const char *s, cc_vec_metric *out, cc_err *err);
const char *cc_vec_metric_name(cc_vec_metric m);

typedef struct cc_vec_index cc_vec_index;
int cc_vec_index_new(int dim, cc_vec_metric metric, cc_vec_index **out, cc_err *err);
void cc_vec_index_free(cc_vec_index *x);
size_t cc_vec_index_size(const cc_vec_index *x);
/* Adds vector v under id (absent).  CC_ENOMEM. */
int cc_vec_index_add(cc_vec_index *x, uint64_t id, const float *v);
/* Removes id; 1 removed, 0 absent. */
int cc_vec_index_remove(cc_vec_index *x, uint64_t id);
/* The k best entries of each of the nq queries q[i*dim ..], best first:
 * ids[i*k + j], sims[i*k + j]; unused places get id UINT64_MAX and sim
 * -INFINITY.  Ties go to the smaller id.  Reads only: several threads may
 * search at once.  k <= 64. */
int cc_vec_index_search(const cc_vec_index *x, const float *q, size_t nq, uint32_t k,
                        uint64_t *ids, float *sims, cc_err *err);
/* The same, always by exact search (recall@1 of the approximate index). */
int cc_vec_index_search_exact(const cc_vec_index *x, const float *q, size_t nq, uint32_t k,
                              uint64_t *ids, float *sims, cc_err *err);
/* Approximate search through FAISS: spec is an index factory string
 * ("HNSW32", "IVF256,Flat"), optionally followed by ";PARAMS" (FAISS
 * ParameterSpace: "efSearch=128", "nprobe=32"; defaults efSearch=64 for
 * HNSW, nprobe=16 for IVF).  Built once the index holds min_n vectors (IVF
 * needs a few per list to train); searches use it from then on.  CC_EARG
 * for a spec FAISS rejects, CC_EUNSUP in a build without FAISS. */
int cc_vec_index_set_ann(cc_vec_index *x, const char *spec, size_t min_n, cc_err *err);
int cc_vec_index_ann_active(const cc_vec_index *x);
/* The index's matrix: n rows of dim floats, row i holding ids[i] (valid
 * until the next add or remove), and a counter that changes with every add
 * and remove (a device copy is stale when it differs). */
void cc_vec_index_matrix(const cc_vec_index *x, const float **vecs, const uint64_t **ids,
                         size_t *n, uint64_t *version);

/* Exact top-1 search on another device (gpu/: cuBLAS), for cosine: the
 * nearest of n rows of X (row-major, n x dim) for each of nq queries Q:
 * row[i] (smallest row on ties; -1 when n = 0) and sim[i].  key/version
 * tell the backend when X changed since its last call. */
typedef struct cc_vec_backend {
    const char *name;
    int (*top1)(void *ctx, const float *X, size_t n, int dim, const void *key, uint64_t version,
                const float *Q, size_t nq, int64_t *row, float *sim, cc_err *err);
    void *ctx;
} cc_vec_backend;

/* Bytes held (vectors, norms, ids, the id map). */
uint64_t cc_vec_index_memory_bytes(const cc_vec_index *x);

/* ---- the cache ------------------------------------------------------------ */
/* Re-check before a hit is served: return 1 to serve the cached answer, 0 to
 * reject the pair (the query then misses).  Called under the shared lock;
 * must not call back into the cache.  cc_sem_recheck_numbers is one rule:
 * it rejects pairs whose sequences of numbers differ. */
typedef int (*cc_sem_recheck_fn)(void *ctx, const char *query, size_t query_len,
                                 const char *cached, size_t cached_len, float similarity);
int cc_sem_recheck_numbers(void *ctx, const char *query, size_t query_len, const char *cached,
                           size_t cached_len, float similarity);

typedef struct cc_sem_opts {
    int dim;                  /* vector length (the embedder's) */
    cc_vec_metric metric;
    double threshold_short;   /* similarity needed for a hit, short queries */
    double threshold_long;    /* ... and long ones */
    uint32_t short_max_words; /* a key of at most this many words is short */
    uint32_t max_entries;     /* capacity in entries (>= 1) */
    uint64_t max_bytes;       /* capacity in bytes (key + answer + vector +
                                 fixed per-entry cost); 0 = no byte limit */
    const char *policy;       /* eviction policy spec (policies/), NULL = "lru" */
    uint64_t seed;            /* for randomised policies */
    int64_t ttl_ns;           /* 0 = entries never expire */
    int ttl_sliding;          /* 1: a hit restarts the entry's time to live */
    const char *db_path;      /* SQLite file for persistence, NULL = memory only */
    const char *ann;          /* NULL: exact search; else a FAISS factory spec
                                 (cc_vec_index_set_ann) for each tenant's index */
    uint32_t ann_min_entries; /* a tenant's approximate index is built at this
                                 many entries (0 = 4096); exact below */
    cc_sem_recheck_fn recheck;/* NULL = serve every hit */
    void *recheck_ctx;
} cc_sem_opts;
/* Defaults: dim 512, cosine, thresholds 0.8 / 0.8, short_max_words 8,
 * max_entries 100000, lru, no TTL, memory only. */
void cc_sem_opts_default(cc_sem_opts *o);

#define CC_SEM_NO_TTL 1u  /* insert flag: this entry never expires */

typedef struct cc_sem_result {
    int hit;                 /* 1: answer served */
    uint64_t id;             /* the hit's entry id (0 on a miss) */
    float similarity;        /* the hit's similarity */
    uint32_t answer_len;     /* bytes of the answer (copied up to answer_cap) */
    /* the nearest live entry of the tenant, hit or not (eval, diagnostics) */
    uint64_t best_id;        /* 0 when the tenant has no live entry */
    float best_similarity;
    int rechecked_out;       /* 1: the best candidate passed the threshold but
                                the re-check rejected it */
} cc_sem_result;

typedef struct cc_sem_stats {
    uint64_t entries, bytes, tenants;
    uint64_t queries, hits, misses, inserts, evictions, expirations, removals,
        recheck_rejects;
} cc_sem_stats;

typedef struct cc_sem_cache cc_sem_cache;
/* Creates the cache; with db_path, opens (or creates) the SQLite file and
 * loads every entry in it (a file of another dimension or metric, a torn row
 * or a file that is not a cache database: CC_EFORMAT naming the file). */
int cc_sem_open(const cc_sem_opts *o, cc_sem_cache **out, cc_err *err);
void cc_sem_close(cc_sem_cache *c);

/* Looks up vec (dim floats) for tenant.  key/key_len: the query's key text
 * (for the short/long threshold and the re-check; may be NULL/0: long).
 * On a hit the answer is copied to answer_buf (up to answer_cap bytes;
 * answer_len says the full length).  A tenant never seen is a miss. */
int cc_sem_query(cc_sem_cache *c, const char *tenant, const float *vec, const char *key,
                 size_t key_len, int64_t now_ns, char *answer_buf, size_t answer_cap,
                 cc_sem_result *out, cc_err *err);
/* Writes an answer back: a new entry (id > 0 in *id_out), evicting by the
 * policy when the cache is full in entries or bytes.  flags: CC_SEM_NO_TTL. */
int cc_sem_insert(cc_sem_cache *c, const char *tenant, const float *vec, const char *key,
                  size_t key_len, const char *answer, size_t answer_len, int64_t now_ns,
                  uint32_t flags, uint64_t *id_out, cc_err *err);
/* 1 removed, 0 no such id, or a negative status (persistence). */
int cc_sem_remove(cc_sem_cache *c, uint64_t id, cc_err *err);
/* Removes every entry of tenant; *removed (may be NULL) gets how many. */
int cc_sem_clear(cc_sem_cache *c, const char *tenant, uint64_t *removed, cc_err *err);
/* Removes every entry whose time ran out at now_ns (insert does it too). */
int cc_sem_expire(cc_sem_cache *c, int64_t now_ns, uint64_t *removed, cc_err *err);
void cc_sem_get_stats(cc_sem_cache *c, cc_sem_stats *out);
/* Copies entry id's key and answer (up to the caps) and tenant name; 1 found,
 * 0 not.  For tests and tools. */
int cc_sem_get(cc_sem_cache *c, uint64_t id, char *tenant, size_t tenant_cap, char *key,
               size_t key_cap, size_t *key_len, char *answer, size_t answer_cap,
               size_t *answer_len);

/* ---- keys of (multi-turn) requests (sem_key.c) ----------------------------- */
typedef enum cc_sem_key_mode {
    CC_SEM_KEY_LAST_USER = 0, /* the last user turn (or RAG question) only */
    CC_SEM_KEY_ALL = 1,       /* system prompt + every turn, in order */
    CC_SEM_KEY_LAST_K = 2,    /* the last k turns (user and assistant) */
} cc_sem_key_mode;
int cc_sem_key_mode_parse(const char *s, cc_sem_key_mode *mode, uint32_t *k, cc_err *err);

/* The key text of request i of t in *buf (grown with cc_grow; reused across
 * calls, so no allocation once warm), pieces joined by '\n'.  A request with
 * no text (hash-only traces) is CC_EUNSUP naming the request: the semantic
 * tier needs text (or precomputed vectors). */
int cc_sem_request_key(const cc_trace *t, size_t i, cc_sem_key_mode mode, uint32_t k,
                       char **buf, size_t *cap, size_t *len, cc_err *err);
/* Words (runs of letters/digits) in text: the short/long rule's measure. */
uint32_t cc_sem_count_words(const char *text, size_t len);

/* ---- evaluation on labelled pairs (sem_eval.c) ------------------------------
 * GPTCache's protocol: every seed (text_a / origin) is inserted, then every
 * query (text_b / similar) looks up its nearest entry; a hit is a nearest
 * entry at or above the threshold, a correct hit one whose seed has the
 * query's group, the same text as a seed of that group, or the query's own
 * text.  A positive query is one with a right answer in the cache (a seed
 * of its group, label 1, or a seed with its exact text). */
typedef struct cc_sem_eval_query {
    float best_similarity; /* of the nearest seed; -INFINITY when none */
    uint8_t correct;       /* the nearest seed is a right answer */
    uint8_t positive;      /* the query has a right answer in the cache */
} cc_sem_eval_query;

typedef struct cc_sem_eval_point {
    double threshold;
    uint64_t queries, positives, hits, correct_hits;
    double precision;      /* correct hits / hits (1 when no hit) */
    double recall;         /* correct hits / positive queries */
    double f1;
    double hit_rate;       /* hits / queries */
    double false_hit_rate; /* wrong hits / queries */
} cc_sem_eval_point;

/* Runs the protocol on a pairs trace: vectors from e (NULL: the trace's
 * precomputed embeddings), key of each request by mode/k.  Fills *out
 * (malloc'd, one per query request, in trace order) and *n.  Bad input
 * (no pair, empty text, no embeddings for precomputed, a dimension that is
 * not the embedder's) is an error naming the trace file and the field. */
/* ann: NULL = exact search; else a FAISS spec: the seeds' approximate
 * index answers the queries and *recall_at_1 (may be NULL) gets the share
 * of queries whose approximate nearest seed is the exact one (NAN when
 * exact). */
int cc_sem_eval_run(const cc_trace *t, cc_embedder *e, cc_vec_metric metric,
                    cc_sem_key_mode mode, uint32_t k, const char *ann, cc_sem_eval_query **out,
                    size_t *n, double *recall_at_1, cc_err *err);
/* The same with the exact search of the queries on backend (cosine, no
 * ann; NULL = this CPU). */
int cc_sem_eval_run_on(const cc_trace *t, cc_embedder *e, cc_vec_metric metric,
                       cc_sem_key_mode mode, uint32_t k, const char *ann,
                       const cc_vec_backend *backend, cc_sem_eval_query **out, size_t *n,
                       double *recall_at_1, cc_err *err);
void cc_sem_eval_at(const cc_sem_eval_query *q, size_t n, double threshold,
                    cc_sem_eval_point *out);

#endif
