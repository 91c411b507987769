/*
 * mrc.h -- miss-ratio curves: the hit ratio of a cache at MANY capacities
 * from one pass over a trace (the `ctxcache mrc` command).
 *
 * Three ways to get a curve
 * -------------------------
 * 1. Exact LRU stack distances (Mattson et al. 1970), O(N log M) for N block
 *    accesses over M distinct blocks.  LRU has the inclusion property: the
 *    cache of c blocks holds the c most recent blocks of one recency stack,
 *    so an access hits at capacity c iff its stack distance (1 + distinct
 *    blocks used since its previous use) is <= c.  One pass gives the
 *    histogram of distances and hence the miss ratio at EVERY capacity.
 *    Distances come from a Fenwick tree over access times holding a 1 at
 *    the time of each block's last use (distance = marks after that time,
 *    + 1) and a u64 map block -> last time; times are renumbered when they
 *    run out, so memory is O(M), not O(N).
 *      independent mode: every block access is one LRU access in chain
 *        order (libCacheSim's model; the cache's CC_PC_INDEPENDENT).
 *      prefix mode: the cache's CC_PC_PREFIX with LRU (requests one at a
 *        time; a block is served only after all blocks before it in its
 *        request; only unpinned leaves are evicted).  It is an LRU stack
 *        too, with two rules:
 *          - a request's distances are all read from the stack as it stood
 *            BEFORE the request (the cache looks the whole chain up before
 *            it inserts anything, and the request's own blocks are pinned
 *            while it inserts), and the hit is the leading run:
 *            effective distance of block j = max(d_0 .. d_j);
 *          - then the request's blocks move to the top, block 0 topmost
 *            (updates from the last block to the first).
 *        This is exact when the trace is prefix-consistent (every block
 *        always follows the same block, or is always first, as
 *        prefix-chained hashes guarantee): then every block's parent is
 *        above it in the stack, so LRU's victim is always a leaf, a missing
 *        block implies its descendants are missing, and the top c blocks of
 *        the stack are exactly what the prefix cache of c blocks holds after
 *        every request (proof in mrc.c; checked against a brute-force twin
 *        and cc_replay in tests/test_mrc.c).  NOTE: plain LRU on the
 *        sequence with each request's blocks reversed is NOT the same: its
 *        distance for block j counts the request's own deeper blocks
 *        j+1..n-1 too (it equals this distance + n-1-j), so it misses hits
 *        the prefix cache has.  `inconsistent_accesses` counts accesses that
 *        break prefix consistency; when it is non-zero the curve is the
 *        stack model's, which can differ from the cache's (a block whose
 *        stored parent is older than itself is not LRU's victim there).
 * 2. SHARDS (Waldspurger et al., "Efficient MRC Construction with SHARDS",
 *    FAST'15): the same stack over a spatially hashed sample of blocks --
 *    block b is in the sample iff XXH3(b, seed) < T, rate R = T / 2^64 --
 *    with each sampled distance scaled by 1/R.  Fixed rate: R constant.
 *    Fixed size: at most max_samples distinct blocks are tracked; when one
 *    more enters, the one with the largest hash leaves and T drops to its
 *    hash (R falls); each sampled access then counts 1/R_now (equivalent to
 *    the paper's rescaling of earlier counts by R_new/R_old).  SHARDS_adj
 *    (both, unless no_adjust): the sampled accesses weigh 1/R each and
 *    should add up to the N accesses; the difference goes to the first bin
 *    (a few hot blocks in or out of the sample otherwise skew the whole
 *    curve).  Both modes as above; the leading-run rule applies among
 *    sampled blocks.
 * 3. Any policy (cc_mrc_sweep): one cache per capacity, each a full
 *    cc_replay over the shared read-only trace, capacities spread over
 *    threads (each thread owns its caches).
 *
 * Figures
 * -------
 * tokens of block j of a request = min(block_size, input - j * block_size),
 * as in replay.h; block hit ratio = hit accesses / accesses; miss ratio =
 * 1 - block hit ratio (no warm-up); token hit ratio = hit tokens / tokens.
 *
 * Memory: exact, 48 to 80 bytes per distinct block: the block -> time map
 * (32-64, load 1/4..1/2), a histogram bin (16: hits and tokens), the bitset
 * of times (< 1); prefix mode adds the consistency map (32-64).  SHARDS: the
 * map and bitset per SAMPLED block, the histogram up to the largest scaled
 * distance, and with a fixed size a 16-byte heap entry per sampled block.
 * Determinism: results depend only on the trace and the options (seed).
 */
#ifndef CC_MRC_H
#define CC_MRC_H

#include "../traces/traces.h"
#include "prefix_cache.h"

typedef enum cc_mrc_method { CC_MRC_EXACT = 0, CC_MRC_SHARDS = 1 } cc_mrc_method;

typedef struct cc_mrc_opts {
    cc_pc_mode mode;       /* CC_PC_PREFIX (default) or CC_PC_INDEPENDENT */
    cc_mrc_method method;
    double sample_rate;    /* SHARDS: R in (0, 1]; fixed size: the starting rate (0 = 1) */
    uint64_t max_samples;  /* SHARDS: 0 = fixed rate, else fixed size with at most this
                              many distinct sampled blocks */
    uint64_t seed;         /* SHARDS: seed of the spatial hash */
    bool no_adjust;        /* SHARDS: leave out the SHARDS_adj correction */
} cc_mrc_opts;

typedef struct cc_mrc {
    cc_mrc_opts opts;               /* as run */
    uint64_t accesses;              /* block accesses in the stream */
    uint64_t tokens;                /* their tokens */
    uint64_t sampled_accesses;      /* accesses that went through the stack (exact: all) */
    uint64_t sampled_blocks;        /* distinct blocks in the stack at the end */
    double final_rate;              /* sampling rate at the end (exact: 1) */
    double distinct_estimate;       /* distinct blocks (SHARDS: sampled_blocks / final_rate) */
    uint64_t inconsistent_accesses; /* exact prefix mode: accesses whose predecessor in the
                                       request differs from the one the block was first seen
                                       with (0 = the curve is the prefix cache's exactly) */
    /* The curve: hits[c] = accesses (SHARDS: estimated) that hit in a cache of
     * c blocks, for c < n_bins (beyond: hits[n_bins - 1]); non-decreasing. */
    size_t n_bins;
    double *hits, *hit_tokens;
    double total, total_tokens;     /* denominators (SHARDS_adj: expected totals) */
} cc_mrc;

/* The curve of a trace with block hashes (CC_EUNSUP without; CC_EARG for a
 * bad option, naming it).  out is initialised here; free with cc_mrc_free. */
int cc_mrc_trace(const cc_trace *t, const cc_mrc_opts *o, cc_mrc *out, cc_err *err);
/* The curve of a plain key stream: every key is one access (one token), as a
 * one-block request, so both modes agree. */
int cc_mrc_keys(const uint64_t *keys, size_t n, const cc_mrc_opts *o, cc_mrc *out,
                cc_err *err);
void cc_mrc_free(cc_mrc *m);
/* The same pass fed in windows (a streamed trace, traces.h): begin, feed
 * every window in order, end (which fills out as cc_mrc_trace does on the
 * whole trace, bit for bit, and frees s; free s instead only when stopping
 * early).  accesses: the block accesses the windows will hold in all, known
 * ahead (SHARDS clamps scaled distances there: CC_EARG for SHARDS without
 * it); UINT64_MAX = unknown (exact only).  A window with more, or an end
 * with fewer, than announced is CC_EFORMAT.  Memory: the pass's own (above),
 * nothing per request: the prefix-mode predecessor check keeps each block's
 * first predecessor by hash. */
typedef struct cc_mrc_stream cc_mrc_stream;
int cc_mrc_stream_begin(const cc_mrc_opts *o, uint64_t accesses, cc_mrc_stream **out,
                        cc_err *err);
int cc_mrc_stream_feed(cc_mrc_stream *s, const cc_trace *w, cc_err *err);
int cc_mrc_stream_end(cc_mrc_stream *s, const char *source, cc_mrc *out, cc_err *err);
void cc_mrc_stream_free(cc_mrc_stream *s);

/* Miss ratio (1 - block hit ratio) and token hit ratio at a capacity in
 * blocks, clipped to [0, 1]. */
double cc_mrc_miss_ratio(const cc_mrc *m, uint64_t capacity_blocks);
double cc_mrc_token_hit_ratio(const cc_mrc *m, uint64_t capacity_blocks);

/* Log-spaced capacities for a curve over `distinct` blocks: distinct *
 * 2^(-k/2) for k = 0..2*octaves, rounded, at least 1, without repeats, in
 * increasing order.  Writes at most max and returns how many. */
size_t cc_mrc_auto_sizes(uint64_t distinct, unsigned octaves, uint64_t *out, size_t max);

/* One cache per capacity for any policy: cfg is a template (mode, policy and
 * its parameters, seed; the top tier's capacity is replaced, tiers below it
 * keep theirs) and each of the n capacities gets a cc_replay of t (miss
 * ratio: blocks missed in every tier).  threads <= 0: one per CPU.  Results
 * (miss ratio = 1 - block hit ratio, token hit ratio) do not depend on the
 * number of threads.  progress (may be NULL) is called after each capacity,
 * from one thread at a time.  The first failing replay's error is
 * returned. */
typedef void (*cc_mrc_progress_fn)(void *ctx, size_t done, size_t total);
int cc_mrc_sweep(const cc_trace *t, const cc_pc_config *cfg, const uint64_t *capacities,
                 size_t n, int threads, cc_mrc_progress_fn progress, void *ctx,
                 double *miss_ratio, double *token_hit_ratio, cc_err *err);

#endif
