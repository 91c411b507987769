/*
 * replay.h -- runs a trace through a prefix cache, one request at a time,
 * and counts what it served (concurrency none; the miss-ratio curves, the
 * pricing pass and sweeps build on it).  Replays whose requests overlap in
 * time (the other modes below) run in the simulator's one event loop,
 * sim/driver.h: cc_sim_replay gives this file's figures for every mode
 * under the fixed-rate service-time model, cc_sim_run under any executor.
 * core/ includes nothing above it.
 *
 * Concurrency modes
 * -----------------
 * CC_CONCURRENCY_NONE: requests one at a time in arrival order, each
 *   finished before the next starts.
 *   prefix mode: lookup (pin + touch + promote the served prefix), insert
 *     the rest of the chain (pinned), release -- one request = one
 *     transaction, so nothing but the current request is ever pinned;
 *   independent mode: each block of each request is a separate unpinned
 *     access in chain order (cc_pc_access), which is what a generic cache
 *     simulator does with the same stream (libCacheSim's get()).
 *   Times under the service-time model below: one request at a time, so
 *   start = max(arrival, previous finish).
 * The other modes overlap requests in time (sim/driver.c, scheduler lanes
 * under the service-time model; cc_replay answers CC_EUNSUP for them);
 * they need prefix mode:
 * CC_CONCURRENCY_IMMEDIATE (vLLM, SGLang): a block is reusable as soon as
 *   it is computed: a request that starts while another is still prefilling
 *   hits the blocks that one has computed so far.  Lookup once at start;
 *   every block after the served run is computed by the request itself,
 *   inserted (pinned) at the instant it is computed; all pins are released
 *   at finish.
 * CC_CONCURRENCY_AFTER_COMPLETE (older TensorRT-LLM): a request's new blocks
 *   become reusable only when it completes: lookup (pins) at start, insert
 *   and release at finish.
 * CC_CONCURRENCY_DEDUP (in-flight deduplication): as immediate, but before
 *   computing a block a request checks whether another running request is
 *   computing it right now; if so it waits for that block (dedup_wait_ns)
 *   and then uses it from the cache (dedup_blocks/tokens, counted as hits)
 *   instead of computing it again.  A block whose computation failed to be
 *   cached (no room) is computed by the first waiter that resumes.  No block
 *   is ever computed by two requests at once.
 *
 * Service-time model (`--backend rates`: the fixed-rate executor of sim/,
 * run by the driver's lanes; cc_replay applies it itself in mode none)
 * ------------------------------------------------------------------------
 * servers (0 = unlimited): a request holds one server from start to finish;
 *   arrivals wait in FIFO order for a free server (queue_wait = start -
 *   arrival).  In mode none there is one server by definition.
 * prefill: a request computes its non-hit blocks one after another at
 *   prefill_tokens_per_s; within a stretch of computation starting at s, the
 *   block that brings the stretch's computed tokens to c is done at
 *   s + round(c * 1e9 / prefill_tokens_per_s) ns (a stretch ends when a dedup
 *   request waits); first_token_ns = when the last block is obtained (start
 *   itself when everything hit).
 * decode: finish_ns = first_token_ns + round(output_tokens * 1e9 /
 *   decode_tokens_per_s) ns (INFINITY: decode takes no time).
 * Events at the same instant fire in this order: blocks computed, requests
 *   finishing (releasing pins and servers), waiting requests resuming,
 *   arrivals; among equals, in the order they were scheduled.  The time a
 *   cache call sees (TTL policies) is the event's time (arrival in mode none).
 *
 * Definitions of the figures
 * --------------------------
 * tokens of block j = min(block_size, input_tokens - j * block_size), so a
 *   run of h hit blocks from the start counts min(h * block_size, input)
 *   tokens, as the ideal ratio in traces/stats.c does;
 * block_hit_ratio   = hit blocks / block accesses;
 * token_hit_ratio   = hit tokens / input tokens;
 * request_hit_ratio_mean = mean over requests with input_tokens > 0 of
 *   hit tokens / input tokens;
 * miss ratio (libCacheSim's) = 1 - block_hit_ratio (no warm-up);
 * evictions = blocks that left the cache (dropped from the last tier);
 * expirations = blocks that left the cache because their time to live ran
 *   out (ttl policies; not in evictions);
 * blocks_moved / bytes_moved = promotions + demotions between tiers.
 */
#ifndef CC_REPLAY_H
#define CC_REPLAY_H

#include "../traces/traces.h"
#include "context_cache.h"
#include "prefix_cache.h"

typedef enum cc_concurrency {
    CC_CONCURRENCY_NONE = 0,
    CC_CONCURRENCY_IMMEDIATE = 1,
    CC_CONCURRENCY_AFTER_COMPLETE = 2,
    CC_CONCURRENCY_DEDUP = 3,
} cc_concurrency;

/* "none", "immediate", "after-complete", "dedup" (NULL for other values). */
const char *cc_concurrency_name(cc_concurrency c);
/* CC_OK, or CC_EARG (field "concurrency") for an unknown name. */
int cc_concurrency_parse(const char *name, cc_concurrency *out, cc_err *err);

/* An exact sum of int64 nanoseconds over requests (waits): a 128-bit two's
 * complement number in two words.  Each term is below 2^63 and a trace has
 * fewer than 2^64 requests, so no sum the tool can form overflows it (an
 * int64 sum could: 2^62 ns is the latest arrival a trace may hold,
 * traces.h, and each wait may be as long again).  Zero-initialised = 0. */
typedef struct cc_ns_sum {
    uint64_t lo, hi;
} cc_ns_sum;

/* (inline: the streamed simulator adds one term a request) */
static inline void cc_ns_sum_add(cc_ns_sum *s, int64_t ns)
{
    uint64_t x = (uint64_t)ns; /* two's complement: a negative term borrows */
    s->lo += x;
    s->hi += (s->lo < x) + (ns < 0 ? UINT64_MAX : 0);
}
/* The sum in nanoseconds as a double (correctly rounded to about 1 ulp). */
double cc_ns_sum_double(cc_ns_sum s);
/* true and *out = the sum when it fits in int64 (every realistic run). */
bool cc_ns_sum_i64(cc_ns_sum s, int64_t *out);

#define CC_REPLAY_DEFAULT_PREFILL_TPS 10000.0 /* tokens/s of one request's prefill */
#define CC_REPLAY_DEFAULT_DECODE_TPS 50.0     /* tokens/s of one request's decode */

typedef struct cc_replay_opts {
    cc_concurrency concurrency;
    bool keep_records; /* fill records and record_tier_blocks (and ctx_objects) */
    const cc_ctx_config *context_cache; /* explicit context cache objects beside
                                           the implicit cache (core/context_cache.h);
                                           NULL = none; prefix mode only */
    /* service-time model (see above); 0 = the defaults */
    double prefill_tokens_per_s;
    double decode_tokens_per_s;       /* INFINITY: no decode time */
    uint32_t servers;                 /* 0 = unlimited (mode none: always 1) */
    bool progress;                    /* report requests done to core/progress.h
                                         (the caller begins and ends the line) */
    uint64_t max_bytes;               /* the memory bound (traces/traces.h): the trace
                                         and the replay's per-request state together
                                         (cc_replay_state_bytes; the simulator's own
                                         beside it) may take this much, else CC_ENOMEM
                                         before anything is allocated; 0 = half the
                                         physical memory */
} cc_replay_opts;

/* One request's outcome. */
typedef struct cc_replay_record {
    uint64_t request;         /* index in the trace */
    uint32_t input_tokens;
    uint32_t n_blocks;
    uint32_t hit_blocks;      /* all tiers */
    uint32_t hit_tokens;
    uint32_t computed_tokens; /* input_tokens - hit_tokens */
    uint32_t inserted_blocks; /* new blocks stored for it */
    /* timing under the service-time model, and in-flight deduplication */
    uint32_t output_tokens;
    uint32_t dedup_blocks;    /* of hit_blocks: waited for (mode dedup) */
    uint32_t dedup_tokens;    /* of hit_tokens: their tokens */
    int64_t arrival_ns, start_ns, first_token_ns, finish_ns;
    int64_t dedup_wait_ns;    /* time spent waiting for other requests' blocks */
    /* explicit context cache (0 / CC_CTX_NONE without one):
     * hit_tokens = explicit_tokens + implicit_tokens */
    uint32_t explicit_tokens; /* served by an explicit object */
    uint32_t implicit_tokens; /* served by the implicit (automatic) cache */
    uint32_t explicit_object; /* the object that served it */
    uint32_t created_object;  /* the object it created */
    uint32_t created_tokens;  /* tokens written into that object */
} cc_replay_record;

typedef struct cc_replay_result {
    size_t requests;
    uint64_t block_accesses, input_tokens;
    uint64_t hit_blocks, hit_tokens;
    double block_hit_ratio, token_hit_ratio, request_hit_ratio_mean;
    uint64_t evictions;
    uint64_t expirations;             /* sum of the tiers' expired_blocks */
    uint64_t blocks_moved, bytes_moved;
    uint64_t no_room_blocks;          /* see cc_pc_stats */
    uint32_t n_tiers;
    uint64_t capacity_blocks[CC_PC_MAX_TIERS]; /* as run ("inf" resolved) */
    cc_tier_stats tiers[CC_PC_MAX_TIERS];
    double metadata_bytes_per_block;  /* cc_pc_bytes_per_block */
    double elapsed_s;                 /* wall-clock of the request loop: timing only */
    cc_replay_record *records;        /* requests entries, when keep_records */
    uint32_t *record_tier_blocks;     /* requests * n_tiers: hit blocks per tier */
    /* concurrency and the service-time model (all modes) */
    cc_concurrency concurrency;
    double prefill_tokens_per_s, decode_tokens_per_s; /* as run (defaults resolved) */
    uint32_t servers;                 /* as run (0 = unlimited) */
    uint64_t computed_tokens;         /* input_tokens - hit_tokens */
    uint64_t dedup_blocks, dedup_tokens; /* of the hits: waited for (dedup) */
    cc_ns_sum dedup_wait_ns;          /* sum over requests (exact, 128 bits) */
    cc_ns_sum queue_wait_ns;          /* sum over requests of start - arrival */
    int64_t last_finish_ns;           /* the last request's finish (0 if none) */
    uint32_t max_in_flight;           /* most requests started and not finished */
    /* explicit context cache, when opts->context_cache was given */
    bool has_context_cache;
    cc_ctx_config context_cache;
    cc_ctx_stats explicit_cache;      /* after cc_ctx_finish */
    uint64_t implicit_hit_tokens;     /* hit_tokens - explicit_cache.hit_tokens */
    cc_ctx_object *ctx_objects;       /* every object (lifetime events), when keep_records */
    size_t n_ctx_objects;
    /* tier occupancy over time, when keep_records (mode none): after request
     * occupancy_request[s] (its arrival occupancy_time_ns[s]) tier k held
     * occupancy_used_blocks[s * n_tiers + k] blocks; sampled after every
     * ceil(requests / CC_REPLAY_OCCUPANCY_SAMPLES)-th request and the last
     * (the simulator's overlapping modes fill them too: at those arrivals
     * and at the end, summed over instances; docs/results-format.md) */
    size_t n_occupancy;
    uint64_t *occupancy_request;
    int64_t *occupancy_time_ns;
    uint64_t *occupancy_used_blocks;
} cc_replay_result;
#define CC_REPLAY_OCCUPANCY_SAMPLES 256

/* Replays t through a cache built from cfg, requests one at a time
 * (opts->concurrency must be none: CC_EUNSUP for the others, which
 * sim/driver.h runs).  cfg->block_tokens 0 = the
 * trace's block size (another value is CC_EARG: re-block the trace first);
 * a tier with capacity_blocks 0 is unbounded (sized to the trace's distinct
 * blocks).  CC_EUNSUP for a trace without block hashes. */
int cc_replay(const cc_trace *t, const cc_pc_config *cfg, const cc_replay_opts *opts,
              cc_replay_result *res, cc_err *err);
void cc_replay_result_free(cc_replay_result *res);

/* Streamed replay, concurrency none (what `ctxcache replay` runs when the
 * trace need not be held whole): the requests of a trace fed in windows, in
 * order, through one cache, with exactly cc_replay's cache calls and
 * figures.  Memory: the cache, plus nothing per request.  Not for policies
 * that need next uses, explicit context caches or unbounded tiers (CC_EUNSUP:
 * they need the whole trace), nor records (keep_records is ignored).
 * block_tokens: the trace's block size (cfg->block_tokens 0 = this); a trace
 * of one-block requests whose block size is known only at its end (libCacheSim
 * files: the largest object size) may pass CC_STREAM_BLOCK_TOKENS_ANY, which
 * counts every one-block request's whole input, as any block size >= it
 * would (traces.h; one tier only: a demotion counts a block's tokens).
 * feed: hits[i] = request i of w's hits (blocks, tokens, per tier).  hits
 * may be NULL where cc_replay_stream_singles(s, w): each request's hit is
 * then cc_replay_stream_tiers(s)[i], its tier (-1: a miss), whose tokens are
 * cc_pc_block_tokens(input, block_tokens, 0) (the hits struct costs 40
 * bytes a request written and read again; a window of one-block requests
 * says all of it in one byte). */
typedef struct cc_replay_stream cc_replay_stream;
int cc_replay_stream_begin(const cc_pc_config *cfg, const cc_replay_opts *opts,
                           uint32_t block_tokens, cc_replay_stream **out, cc_err *err);
int cc_replay_stream_feed(cc_replay_stream *s, const cc_trace *w, cc_pc_hits *hits,
                          cc_err *err);
/* true when w is fed one-block requests in independent mode (the case of
 * libCacheSim traces), where feed takes hits = NULL. */
bool cc_replay_stream_singles(const cc_replay_stream *s, const cc_trace *w);
/* After such a feed: the window's hit tiers (-1: miss), valid until the
 * next feed. */
const int8_t *cc_replay_stream_tiers(const cc_replay_stream *s);
/* Fills res as cc_replay does (records none; the service-time model's
 * times from its rates, the overflow check on them included) and frees s;
 * source names the trace in errors. */
int cc_replay_stream_end(cc_replay_stream *s, const char *source, cc_replay_result *res,
                         cc_err *err);
void cc_replay_stream_free(cc_replay_stream *s);

/* *out = next[p] for every block access p of t: the position of the next
 * access to the same hash after p (CC_NEXT_USE_NEVER: none); one backward
 * pass, 8 bytes per block access (the caller frees *out).  CC_ENOMEM. */
int cc_replay_next_uses(const cc_trace *t, uint64_t **out, cc_err *err);
/* Bytes of the per-request state cc_replay keeps for t: with records, a
 * cc_replay_record and a u32 per tier a request; with next uses, 8 bytes a
 * block access. */
uint64_t cc_replay_state_bytes(const cc_trace *t, uint32_t n_tiers, bool keep_records,
                               bool next_uses);
/* CC_OK when the trace (cc_trace_memory_bytes) and state_bytes more fit in
 * max_bytes (0: half the physical memory), else CC_ENOMEM with a message
 * naming both and the bound. */
int cc_replay_check_bound(const cc_trace *t, uint64_t state_bytes, uint64_t max_bytes,
                          cc_err *err);
/* Request i of t as the cache sees it when its first n_blocks blocks are
 * looked up at time now (input_tokens cut to those blocks); next: next-use
 * positions of the whole trace, or NULL. */
cc_pc_request cc_replay_request_view(const cc_trace *t, size_t i, uint32_t n_blocks,
                                     int64_t now, const uint64_t *next);

/* round(tokens * 1e9 / tokens_per_s) ns; 0 for an infinite rate. */
int64_t cc_replay_duration_ns(uint64_t tokens, double tokens_per_s);

#endif
