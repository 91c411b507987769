/*
 * context_cache.h -- explicit context caches as providers sell them: named
 * cache objects with a time to live, held beside (on top of) the implicit
 * prefix cache of core/prefix_cache.h, and the lifetime events a pricing
 * model bills (creation, storage token-seconds, hits, expiry or deletion).
 *
 * Two kinds of caching, one replay
 * --------------------------------
 * Implicit (automatic) caching is the ordinary prefix cache: every block a
 * request computes is kept while the policy lets it (vLLM: LRU, no TTL;
 * OpenAI, DeepSeek: a TTL policy, see cc_ctx_implicit_presets).  Explicit
 * caching adds OBJECTS: an object is a run of leading blocks of a request's
 * chain (its system prompt / documents, the first N blocks, or the whole
 * prompt), created by a request on a rule, held until its expiry time or
 * its deletion.  While held, its blocks are PINNED in the prefix cache (the
 * object owns one pin on each block), so no eviction and no implicit TTL
 * can take them; after expiry or deletion the pins go and the blocks become
 * ordinary implicit blocks again.  A later request whose chain contains the
 * object's last block at the same depth (equal prefix-chained hash = equal
 * prefix) HITS the object: its tokens count as served by the explicit
 * cache, the rest of the request's hit as served implicitly.
 *
 * The rule a request follows (as an SDK with cache_control / cached content
 * would): its CACHEABLE prefix (cc_ctx_cacheable_tokens) is cut down to whole
 * blocks (a partial block's hash names a prefix that ends inside the block,
 * which no longer request shares); if that is at least the style's
 * min_tokens and no live object holds exactly it, the request creates the
 * object at its arrival time (a cache write of size_tokens).  Independently,
 * the LONGEST live object that is a prefix of the request's served blocks
 * gets the hit (Anthropic reads at the longest matching breakpoint); with
 * refresh=1 the hit restarts that object's clock (expiry = hit time + ttl),
 * with refresh=0 it does not.
 *
 * Times.  An object created at c with ttl T expires at c + T (refreshed: at
 * last hit + T); it is live at time t iff t < expiry, so a request arriving
 * exactly at the expiry time misses it (the same rule as policies/ttl.c).
 * Storage is billed from creation to the end: expiry time, deletion time,
 * or -- for objects still held when the trace ends -- the expiry time they
 * have then (they would be held that long without further use).
 * token_seconds_stored = sum of size_tokens * (end - created) / 1e9.
 *
 * Presets are data (cc_ctx_styles in context_cache.c, with sources and
 * dates there): gemini-explicit, moonshot, anthropic-5m, anthropic-1h; each
 * takes overrides "style(ttl_s=..,min_tokens=..,refresh=0|1)".
 *
 * Costs: per request O(served blocks) u64-map probes (finding the longest
 * object) plus O(log objects) heap work per creation, hit and expiry.
 * Memory: one cc_ctx_object (64 bytes) per object ever created, 4 bytes
 * per block of each object (its pinned nodes), a heap of 16 bytes per
 * possible object (max_objects, one per request in a replay), a u64 map of
 * live objects.  Nothing is allocated per request except amortised growth
 * of the object arrays (cc_grow).
 */
#ifndef CC_CONTEXT_CACHE_H
#define CC_CONTEXT_CACHE_H

#include "../traces/traces.h"
#include "prefix_cache.h"

#define CC_CTX_NONE UINT32_MAX

/* An explicit caching style (a preset, or one with overrides). */
typedef struct cc_ctx_style {
    char name[32];
    double ttl_s;        /* time to live, seconds (> 0) */
    int refresh;         /* 1: each hit restarts the clock; 0: fixed */
    uint32_t min_tokens; /* smallest object the provider accepts, tokens */
    const char *source;  /* where the semantics come from (presets only) */
} cc_ctx_style;

/* Which prefix of each request is marked cacheable. */
typedef enum cc_cacheable {
    CC_CACHEABLE_AUTO = 0,   /* SYSTEM where the request has it, else ALL */
    CC_CACHEABLE_SYSTEM = 1, /* leading SYSTEM / PASSAGE chunks (needs chunk
                                token lengths; 0 tokens otherwise) */
    CC_CACHEABLE_BLOCKS = 2, /* the first N blocks */
    CC_CACHEABLE_ALL = 3,    /* the whole prompt (a breakpoint at its end) */
} cc_cacheable;

typedef struct cc_ctx_config {
    cc_ctx_style style;
    cc_cacheable cacheable;
    uint32_t cacheable_blocks; /* N for CC_CACHEABLE_BLOCKS (>= 1) */
} cc_ctx_config;

/* Presets. */
size_t cc_ctx_style_count(void);
const cc_ctx_style *cc_ctx_style_at(size_t i);
/* "name" or "name(ttl_s=S,min_tokens=N,refresh=0|1)" -> *out.  CC_EARG
 * naming the key (field) or listing the known styles. */
int cc_ctx_parse_style(const char *spec, cc_ctx_style *out, cc_err *err);
/* "auto", "system", "all" or "blocks:N" -> cfg->cacheable(_blocks). */
int cc_ctx_parse_cacheable(const char *spec, cc_ctx_config *cfg, cc_err *err);

/* Implicit caching presets: a policy spec for the prefix cache's tiers. */
typedef struct cc_ctx_implicit {
    const char *name;        /* "vllm", "openai", "deepseek" */
    const char *policy_spec; /* e.g. "ttl(ttl_s=600,refresh=1)" */
    const char *source;
} cc_ctx_implicit;
size_t cc_ctx_implicit_count(void);
const cc_ctx_implicit *cc_ctx_implicit_at(size_t i);
const cc_ctx_implicit *cc_ctx_implicit_find(const char *name);

/* Tokens request i of t marks cacheable under cfg (before block rounding). */
uint32_t cc_ctx_cacheable_tokens(const cc_ctx_config *cfg, const cc_trace *t, size_t i);

/* ---- objects and their lifetime events --------------------------------- */
typedef enum cc_ctx_end {
    CC_CTX_HELD = 0,    /* still held (live, or held at the end of the trace) */
    CC_CTX_EXPIRED = 1, /* its time to live ran out */
    CC_CTX_DELETED = 2, /* deleted through the API */
} cc_ctx_end;

typedef struct cc_ctx_object {
    uint64_t key;          /* hash of its last block */
    uint64_t creator;      /* request that created it */
    int64_t created_ns;
    int64_t expiry_ns;     /* current expiry (refreshed by hits when refresh=1) */
    int64_t ended_ns;      /* expiry / deletion time; for objects held at the
                              end of the trace: their expiry then */
    uint64_t hits;         /* requests it served */
    uint64_t hit_tokens;   /* tokens it served */
    uint64_t node_off;     /* its pinned nodes in the node pool */
    uint32_t n_blocks, size_tokens;
    uint32_t end;          /* cc_ctx_end */
    uint32_t pad_;
} cc_ctx_object;

typedef struct cc_ctx_stats {
    uint64_t created;          /* objects created */
    uint64_t created_tokens;   /* tokens written into objects (cache writes) */
    uint64_t too_small;        /* requests whose cacheable prefix (>0 tokens) was
                                  below min_tokens: no object */
    uint64_t no_room;          /* objects not created: blocks not cached */
    uint64_t hits;             /* requests served by an object */
    uint64_t hit_tokens;       /* tokens served by objects */
    uint64_t expired, deleted; /* objects that ended so */
    uint64_t held_at_end;      /* objects still held when finished */
    uint64_t live;             /* objects held now */
    uint64_t max_live;         /* most objects held at once */
    double token_seconds_stored; /* see "Times"; complete after cc_ctx_finish */
} cc_ctx_stats;

/* One request's outcome. */
typedef struct cc_ctx_outcome {
    uint32_t hit_object;      /* object that served it, or CC_CTX_NONE */
    uint32_t explicit_tokens; /* tokens served by that object */
    uint32_t created_object;  /* object it created, or CC_CTX_NONE */
    uint32_t created_tokens;
    uint32_t pinned_blocks;   /* k: leading nodes whose pins the new object took */
} cc_ctx_outcome;

typedef struct cc_context_cache cc_context_cache;

/* pc must be in prefix mode and outlive the context cache; max_objects
 * bounds the objects ever created (a replay: its number of requests). */
int cc_ctx_create(const cc_ctx_config *cfg, cc_prefix_cache *pc, size_t max_objects,
                  cc_context_cache **out, cc_err *err);
/* Frees the context cache; does not touch pc (call cc_ctx_finish first to
 * release the pins while pc lives). */
void cc_ctx_destroy(cc_context_cache *cc);

/* Ends (releases the pins of) every object whose expiry is <= now_ns, in
 * expiry order.  Call it at each request's time BEFORE cc_pc_lookup, so
 * that the implicit cache may then expire or evict those blocks.  Returns
 * the number of objects that expired. */
uint64_t cc_ctx_expire(cc_context_cache *cc, int64_t now_ns);

/* After cc_pc_lookup + cc_pc_insert of r (nodes filled, served_blocks =
 * the lookup's hits.blocks) and before the release: attributes the hit,
 * refreshes, and creates an object for r's cacheable prefix when the rule
 * says so.  The new object takes over the request's pins on nodes[0..k),
 * k = out->pinned_blocks (0 when nothing was created): release only
 * nodes[k..n).  CC_OK, or CC_ENOMEM (nothing created, k = 0). */
int cc_ctx_on_request(cc_context_cache *cc, const cc_pc_request *r, uint32_t cacheable_tokens,
                      uint32_t served_blocks, const uint32_t *nodes, cc_ctx_outcome *out);

/* Deletes a held object at now_ns (its pins go).  CC_EARG if id is not a
 * held object. */
int cc_ctx_delete(cc_context_cache *cc, uint32_t id, int64_t now_ns, cc_err *err);
/* Held object whose last block hash is key, or CC_CTX_NONE. */
uint32_t cc_ctx_find(const cc_context_cache *cc, uint64_t key);

/* Closes the books: releases the pins of every held object and bills it to
 * its current expiry (end stays CC_CTX_HELD, counted in held_at_end). */
void cc_ctx_finish(cc_context_cache *cc);

const cc_ctx_stats *cc_ctx_get_stats(const cc_context_cache *cc);
/* Every object created so far (ids 0..*n-1); valid until the next call
 * that creates one. */
const cc_ctx_object *cc_ctx_objects(const cc_context_cache *cc, size_t *n);

#endif
