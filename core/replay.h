/*
 * replay.h -- runs a trace through a prefix cache and counts what it
 * served (the `ctxcache replay` command; the simulator in sim/ drives the
 * same cache API with virtual time and concurrency).
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
 * Later modes (requests overlapping in time, TTL expiry) add values to
 * cc_concurrency and fields to cc_replay_opts; the result layout stays.
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
 * blocks_moved / bytes_moved = promotions + demotions between tiers.
 */
#ifndef CC_REPLAY_H
#define CC_REPLAY_H

#include "../traces/traces.h"
#include "prefix_cache.h"

typedef enum cc_concurrency { CC_CONCURRENCY_NONE = 0 } cc_concurrency;

typedef struct cc_replay_opts {
    cc_concurrency concurrency;
    bool keep_records; /* fill records and record_tier_blocks */
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
} cc_replay_record;

typedef struct cc_replay_result {
    size_t requests;
    uint64_t block_accesses, input_tokens;
    uint64_t hit_blocks, hit_tokens;
    double block_hit_ratio, token_hit_ratio, request_hit_ratio_mean;
    uint64_t evictions;
    uint64_t blocks_moved, bytes_moved;
    uint64_t no_room_blocks;          /* see cc_pc_stats */
    uint32_t n_tiers;
    uint64_t capacity_blocks[CC_PC_MAX_TIERS]; /* as run ("inf" resolved) */
    cc_tier_stats tiers[CC_PC_MAX_TIERS];
    double metadata_bytes_per_block;  /* cc_pc_bytes_per_block */
    double elapsed_s;                 /* wall-clock of the request loop: timing only */
    cc_replay_record *records;        /* requests entries, when keep_records */
    uint32_t *record_tier_blocks;     /* requests * n_tiers: hit blocks per tier */
} cc_replay_result;

/* Replays t through a cache built from cfg.  cfg->block_tokens 0 = the
 * trace's block size (another value is CC_EARG: re-block the trace first);
 * a tier with capacity_blocks 0 is unbounded (sized to the trace's distinct
 * blocks).  CC_EUNSUP for a trace without block hashes. */
int cc_replay(const cc_trace *t, const cc_pc_config *cfg, const cc_replay_opts *opts,
              cc_replay_result *res, cc_err *err);
void cc_replay_result_free(cc_replay_result *res);

#endif
