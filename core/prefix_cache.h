/*
 * prefix_cache.h -- the prefix / context KV tier: blocks of KV named by
 * prefix-chained hashes, kept in a tree, stored in a chain of storage tiers
 * (HBM, DRAM, SSD, remote ...) with one eviction policy each.
 *
 * Blocks and the tree
 * -------------------
 * A request's input is a chain of block hashes; each hash names the whole
 * prefix up to and including its block (core.h, traces.h).  A cached block is
 * a node with a link to its parent (the block before it in the chain that
 * first stored it), so cached blocks form a radix tree of block nodes whose
 * root-to-node paths are cached prefixes; a hash -> node index
 * (cc_block_index) finds a node in O(1) without walking the tree.
 *
 * Modes
 * -----
 * CC_PC_PREFIX (default): block j of a request is served only if blocks
 *   0..j-1 are served too (the hit is the leading run of cached blocks), and
 *   a block can leave the cache only when no cached block depends on it.
 * CC_PC_INDEPENDENT: no prefix rule; every block is an independent object
 *   that hits wherever it is cached (the model of generic cache simulators
 *   such as libCacheSim; for cross-checks).
 *
 * Tiers and the prefix rule across them
 * -------------------------------------
 * Tier 0 is the top (fastest, e.g. HBM).  Caching is exclusive: a cached
 * block lives in exactly one tier.  In prefix mode the cache keeps the
 * invariant
 *     tier(parent) <= tier(child)        for every cached block,
 * so every cached block's ancestors are all cached, in the same or faster
 * tiers, and a request's served prefix is a run of tier-0 blocks, then a run
 * of tier-1 blocks, and so on.  Precisely:
 *   - Serving: the leading run of blocks cached in ANY tier is served; each
 *     block is attributed to the tier it is found in (hit blocks and tokens
 *     per tier).
 *   - Promotion: every served block below tier 0 moves up to tier 0 (root
 *     first: a block's parent is promoted before it), making room there by
 *     demotion; the bytes are counted as read from its tier (bytes_up).  If
 *     tier 0 has no room (everything there is pinned), that block and the
 *     rest of the served run stay where they are (still served).
 *   - New blocks (misses) enter tier 0, pinned.  A block whose parent could
 *     not be placed in tier 0 is not cached (nor the rest of the chain).
 *   - Eviction from tier k takes a block that is unpinned and has no cached
 *     child in tier k (children in slower tiers may stay: the invariant
 *     holds after the move).  From tier k < last it moves to tier k+1
 *     (demotion, counted in bytes_down of tier k+1), which may cascade; from
 *     the last tier it is dropped, and then it has no cached children at all.
 *     With one tier this is the plain rule: only unpinned leaves are evicted.
 *   - Admission (policy admit): asked before a new block enters tier 0 and
 *     before a demoted block that could be dropped (unpinned, no cached
 *     children) enters tier k+1; a refusal drops it.
 * In independent mode the same moves happen without parent constraints:
 * any unpinned block may be demoted or dropped.
 *
 * Pins.  A request pins the blocks it uses (lookup pins its served blocks,
 * insert pins the new ones, release unpins them); a pinned block is never
 * evicted.  A pinned block in tier 0 never moves, so a backend may read its
 * KV at the slot cc_pc_node_place returns until release.  (A pinned block in
 * a lower tier can still be promoted by another request's lookup; its node
 * id stays valid, its place changes.)
 *
 * Memory per cached block (exact; measured by cc_pc_memory_bytes)
 * ----------------------------------------------------------------
 * Budget (issue 3): at most 64 bytes of metadata per cached block, ghosts
 * and every other policy structure included, with any number of tiers the
 * cache takes (1 .. CC_PC_MAX_TIERS = 4) of 128 blocks or more each;
 * nothing is allocated per block or per request (everything is sized once
 * for the total capacity).  Smaller tiers pay fixed minimums (an index or
 * ghost table of one bucket, 16 spare ghost ring entries, a map of 16
 * slots): a 16-block ARC cache takes 83 bytes a block, 100-block tiers up
 * to 64.4.
 * With one tier of 100,000 blocks:
 *   node (cc_pc_node: hash, parent, pins)             16 bytes
 *   child count, one byte per tier                     1 byte
 *   counts of 255 or more, kept aside (at most n/255)  0.16 bytes
 *   hash index (block_index.h), load <= 2/3            6.09 bytes
 *   evictable byte                                     1 byte
 *   = 24.26 bytes in the cache, and the policy's state:
 *     LRU 8, CLOCK/SIEVE/SLRU 9, FIFO/LFU/TTL 16 (a heap), GDSF 20,
 *     Belady 16 + 8 (next use per node), ARC 9 + a ghost directory of
 *     c + 1 keys at 19.38 bytes (28.4; its table at load 1/2 and its ring
 *     with a quarter of slack, for speed),
 *     TRT 28, S3-FIFO 13 + a ghost of 0.9 c keys at 16.22 (27.6); exact
 *     figures from each policy's memory_bytes
 *   = LRU 32.26, CLOCK/SIEVE/SLRU 33.26, FIFO/LFU/TTL 40.26, GDSF 44.26,
 *     Belady 48.26, ARC 52.63, S3-FIFO 51.85, TRT 52.26 bytes per block.
 * With one tier a slot's node is the node of the same number (slot_alloc),
 * so neither a slot -> node nor a node -> place array is kept.  A second
 * tier adds them (4 + 4 bytes per block of total capacity) and each tier
 * beyond the first one more child-count byte per block: with four tiers
 * (100,000 + 3 x 400,000 blocks) LRU takes 43.30, ARC 63.67, S3-FIFO 62.89,
 * TRT 63.30.  A fifth tier would put TRT at 64.3, hence the limit of four
 * (HBM, DRAM, SSD, remote: no system modelled here has more).  bench_cache
 * prints every policy's figure with 1 to 4 tiers, bench/run.sh checks them
 * against 64, and tests/test_prefix_cache.c too.
 * Why a count per tier and not one per node: a block in tier k may leave it
 * only when none of its children is in tier k, and after it moves to tier
 * k+1 the question is asked about tier k+1, and so on down, so each tier's
 * count is needed in turn.  The looser rule that needs one count (any
 * unpinned block may move down; only dropping needs no children) can jam:
 * a last tier full of parents whose children sit above it has nothing it
 * may drop, and the tiers above then have nowhere to put anything.
 * How the figures came down from 53 (LRU) and 97 (S3-FIFO): the node lost
 * its place (24 -> 20), one tier lost the slot -> node array (4), policies
 * get a block's key in on_remove instead of keeping it per slot (ARC,
 * S3-FIFO: 8), the ghost directory went from 19.25 to 16.22 bytes a key,
 * S3-FIFO keeps parking numbers in the links of parked slots (27 -> 13),
 * TRT packs priority and end and uses 32-bit stamps (33 -> 28), the index
 * went from 8-byte entries with linear probing at load 0.55 (14.55) to the
 * ghosts' bucket table (6.09; LRU about 20 % faster on the Zipf bench), and
 * the child counts from 4 bytes per node (all tiers) plus 4 per tier above
 * the last to one byte per tier (20 -> 16 byte nodes; with two tiers LRU
 * went from 55.55 to 41.22, TRT from 75.55 to 61.22).

 * Order of policy calls (why LRU never skips)
 * -------------------------------------------
 * Within a request the cache touches tier-0 hits from the last block to the
 * first, then promotes and inserts from the first to the last, passing the
 * parent's slot so that LRU puts a new block just behind its parent.  All
 * blocks of a request are used "at the same instant"; this order only breaks
 * the tie so that ancestors count as more recent.  It cannot change which
 * block is evicted (a chain has one leaf at a time, and only leaves are
 * taken), but it keeps LRU's oldest block a leaf: on the Mooncake
 * conversation trace LRU's victim scan skips 0 blocks per eviction, against
 * 32 with first-to-last touching and new blocks at the front.
 *
 * What later layers build on
 * --------------------------
 *   - the simulator: lookup at admission (pins; hits per tier give the
 *     bytes to load and their tiers' bandwidth/latency in cc_tier_config),
 *     insert after prefill, release at finish; cc_pc_match for routers;
 *   - a real backend: cc_pc_node_place gives the tier-0 slot of each pinned
 *     node, stable until release;
 *   - TTL tiers: CC_REMOVE_EXPIRE and per-slot state in a policy or beside
 *     the tier; concurrency modes: the request API is already re-entrant
 *     across interleaved requests (tests drive it so);
 *   - chunk stores (blend tier): cc_block_index maps any 64-bit key to a
 *     record id with the key at offset 0 of the record.
 *
 * Costs: lookup/insert/release are O(blocks of the request) expected, each
 * block one index probe plus O(1) policy work (O(log n) for heap-indexed
 * policies), plus the moves that making room requires (at most one per tier
 * below for each block that enters tier 0).
 */
#ifndef CC_PREFIX_CACHE_H
#define CC_PREFIX_CACHE_H

#include "../policies/policy.h"
#include "block_index.h"
#include "core.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#define CC_PC_MAX_TIERS 4 /* the memory budget (above) holds up to here */
#define CC_NODE_NONE UINT32_MAX
#define CC_PC_MAX_TIER_BLOCKS ((UINT32_C(1) << 28) - 1) /* slots per tier */

/* KV cache bytes per token of a model: keys and values for every layer,
 * 2 * layers * kv_heads * head_dim * dtype_bytes (e.g. Llama-3-8B in fp16:
 * 2 * 32 * 8 * 128 * 2 = 131072). */
static inline uint64_t cc_kv_bytes_per_token(uint32_t layers, uint32_t kv_heads,
                                             uint32_t head_dim, uint32_t dtype_bytes)
{
    return 2ull * layers * kv_heads * head_dim * dtype_bytes;
}

/* ---- configuration ----------------------------------------------------------- */
typedef enum cc_pc_mode { CC_PC_PREFIX = 0, CC_PC_INDEPENDENT = 1 } cc_pc_mode;

typedef struct cc_tier_config {
    char name[32];                 /* "hbm", "dram", "ssd", ... */
    uint64_t capacity_blocks;      /* 1 .. CC_PC_MAX_TIER_BLOCKS */
    double bandwidth_bytes_per_s;  /* to the tier above (0 = not modelled); for the sim */
    double latency_s;              /* per transfer to the tier above; for the sim */
    const cc_policy_ops *policy;   /* NULL = lru */
    cc_policy_params policy_params;
} cc_tier_config;

typedef struct cc_pc_config {
    cc_pc_mode mode;
    uint32_t block_tokens;         /* tokens per block (the trace's block size) */
    uint64_t kv_bytes_per_block;   /* KV bytes per block (bytes per token * block_tokens) */
    uint64_t seed;                 /* passed to every policy (params.seed) */
    uint32_t n_tiers;              /* 1 .. CC_PC_MAX_TIERS */
    cc_tier_config tiers[CC_PC_MAX_TIERS];
} cc_pc_config;

/* Parses a tier list into cfg->tiers / cfg->n_tiers (the rest of cfg is
 * left alone):
 *     TIER[,TIER...]       TIER = NAME:CAPACITY[:KEY=VALUE...]
 *     CAPACITY  an integer number of blocks ("10000"), bytes with a unit
 *               ("80GiB", "1.5TB"; B KB MB GB TB KiB MiB GiB TiB; needs
 *               kv_bytes_per_block > 0: blocks = floor(bytes / that)), or
 *               "inf" (capacity_blocks = 0: unbounded, cc_replay sizes it
 *               to the trace)
 *     policy=SPEC  this tier's policy ("lru", "fifo", "name(k=v,...)");
 *               default: default_policy (NULL = lru) with default_params
 *     bw=RATE   bandwidth to the tier above, bytes/s with an optional unit
 *               ("25GB/s", "3.2GiB/s", "1e9")
 *     lat=TIME  latency to the tier above ("5us", "0.1ms", "2e-6")
 * e.g. "hbm:10000,dram:100000" or "hbm:40GiB,dram:512GiB:bw=25GB/s:lat=5us".
 * Commas and colons inside a policy's parentheses do not split.  Errors:
 * CC_EARG with field "tiers" and the offending part in the message. */
int cc_pc_parse_tiers(const char *spec, const cc_policy_ops *default_policy,
                      const cc_policy_params *default_params, uint64_t kv_bytes_per_block,
                      cc_pc_config *cfg, cc_err *err);

/* ---- the node (public so that tests and benches can count its bytes) --------
 * 16 bytes, four to a cache line.  Where a node is (tier and slot) is kept
 * beside it, in an array that only caches with several tiers need
 * (cc_pc_node_place), and so are its children's counts (one byte per tier,
 * see prefix_cache.c).  Free nodes are chained through parent, with
 * refs = UINT32_MAX. */
typedef struct cc_pc_node {
    uint64_t hash;    /* the block hash (first: cc_block_index reads it here) */
    uint32_t parent;  /* parent node, CC_NODE_NONE for a first block / independent mode */
    uint32_t refs;    /* pins */
} cc_pc_node;
#define CC_PC_PLACE_NONE UINT32_MAX

/* ---- counters ------------------------------------------------------------------ */
typedef struct cc_tier_stats {
    uint64_t hit_blocks, hit_tokens; /* served from this tier */
    uint64_t inserted_blocks;        /* new blocks stored here (top tier) */
    uint64_t promoted_blocks;        /* left this tier for the top tier on a hit */
    uint64_t demoted_in_blocks;      /* arrived from the tier above */
    uint64_t evicted_blocks;         /* left this tier to make room (demoted or dropped) */
    uint64_t dropped_blocks;         /* of those, left the cache */
    uint64_t expired_blocks;         /* left the cache from here: time to live
                                        ran out (policy expire; not in evicted) */
    uint64_t rejected_blocks;        /* refused by admission */
    uint64_t bytes_up;               /* bytes read from this tier into the top tier */
    uint64_t bytes_down;             /* bytes written into this tier from the tier above */
} cc_tier_stats;

typedef struct cc_pc_stats {
    uint64_t lookups;          /* block lookups (index probes on behalf of requests) */
    uint64_t no_room_blocks;   /* blocks not cached or not promoted: no evictable block */
    cc_tier_stats tier[CC_PC_MAX_TIERS];
} cc_pc_stats;

/* ---- one request as the cache sees it --------------------------------------------- */
typedef struct cc_pc_request {
    const uint64_t *blocks;    /* the chain */
    uint32_t n_blocks;
    uint32_t input_tokens;     /* block j holds min(block_tokens, input - j*block_tokens) */
    uint64_t index;            /* request index (trace order) */
    int64_t time_ns;           /* arrival */
    uint64_t first_seq;        /* access number of block 0 (block j: first_seq + j) */
    const uint64_t *next_use;  /* per block (seq of its next access), or NULL */
    const double *cost;        /* per block recompute cost, or NULL (= its tokens) */
    bool has_priority;         /* false: every block gets the default priority 35 */
    int32_t priority;          /* retention priority 0..100 (TensorRT-LLM style) */
    int64_t priority_duration_ns; /* how long it holds; 0 = while cached */
} cc_pc_request;

typedef struct cc_pc_hits {
    uint32_t blocks, tokens;                 /* served */
    uint32_t tier_blocks[CC_PC_MAX_TIERS];   /* where served blocks were found */
    uint32_t tier_tokens[CC_PC_MAX_TIERS];
} cc_pc_hits;

typedef struct cc_prefix_cache cc_prefix_cache;

/* Validates cfg (CC_EARG naming the field) and allocates everything. */
int cc_pc_create(const cc_pc_config *cfg, cc_prefix_cache **out, cc_err *err);
void cc_pc_destroy(cc_prefix_cache *pc);
const cc_pc_config *cc_pc_config_of(const cc_prefix_cache *pc);

/* Tokens held by block j of a request of input_tokens tokens. */
static inline uint32_t cc_pc_block_tokens(uint32_t input_tokens, uint32_t block_tokens,
                                          uint32_t j)
{
    uint64_t start = (uint64_t)j * block_tokens;
    if (start >= input_tokens)
        return 0;
    uint64_t left = input_tokens - start;
    return left < block_tokens ? (uint32_t)left : block_tokens;
}

/* Request API (both modes; what the simulator drives):
 *
 * cc_pc_lookup: finds the served blocks of r (prefix: the leading run;
 *   independent: every cached block), pins them, touches them (policy
 *   on_hit) and promotes those below tier 0.  nodes[0..n_blocks) receives
 *   each block's node or CC_NODE_NONE.  hits gets the served counts per
 *   tier (where found, before promotion).  Returns CC_OK.
 * cc_pc_insert: stores the blocks of r whose nodes[j] is CC_NODE_NONE
 *   (prefix: from the first one on, stopping where one cannot be placed),
 *   pinned, and sets their nodes[j].  A block another request stored since
 *   the lookup is pinned and reused, not stored twice.  *inserted gets the
 *   number of new blocks.  Returns CC_OK.
 * cc_pc_release: unpins nodes[0..n) (CC_NODE_NONE entries are skipped),
 *   last to first.
 * cc_pc_match: read-only: what lookup would serve now, without pinning,
 *   touching or moving anything (for routers). */
int cc_pc_lookup(cc_prefix_cache *pc, const cc_pc_request *r, uint32_t *nodes,
                 cc_pc_hits *hits);
int cc_pc_insert(cc_prefix_cache *pc, const cc_pc_request *r, uint32_t *nodes,
                 uint32_t *inserted);
void cc_pc_release(cc_prefix_cache *pc, const uint32_t *nodes, uint32_t n);
void cc_pc_match(const cc_prefix_cache *pc, const cc_pc_request *r, cc_pc_hits *hits);

/* One block access without pins, independent mode only: block j of r is
 * looked up; a hit is touched (and promoted if below tier 0), a miss is
 * stored in tier 0 (unpinned) when admitted and there is room.  *tier gets
 * the tier it was found in, or -1 on a miss.  This is exactly a generic
 * cache simulator's get().  CC_EARG in prefix mode. */
int cc_pc_access(cc_prefix_cache *pc, const cc_pc_request *r, uint32_t j, int *tier);

/* Every block of r through cc_pc_access, in order (independent mode; CC_EARG
 * in prefix mode), with the metadata of coming blocks prefetched (as
 * cc_pc_prefetch, 16 and 8 blocks ahead): next[0..n_next) are the blocks
 * the driver accesses after r's (NULL, 0 if unknown).  tiers[j] (may be
 * NULL) gets block j's *tier; hits (may be NULL) the hit counts.  Results
 * are those of the cc_pc_access calls; with one tier, no expiry and no next
 * uses it runs a leaner loop (one call per request, the access record
 * filled once) -- what replays and benchmarks of independent mode use. */
int cc_pc_access_request(cc_prefix_cache *pc, const cc_pc_request *r, const uint64_t *next,
                         size_t n_next, int8_t *tiers, cc_pc_hits *hits);

/* Requests of one block each, independent mode (CC_EARG in prefix mode):
 * request first_index + i has the block keys[i] (access number first_seq +
 * i), input_tokens[i] tokens, arrives at time_ns[i]; exactly the calls and
 * access records of cc_pc_access_request on each in turn, the record filled
 * once for all and the coming keys prefetched.  tiers[i]: the tier of the
 * hit, or -1.  Streamed replays of libCacheSim traces use it. */
int cc_pc_access_singles(cc_prefix_cache *pc, const uint64_t *keys, const uint32_t *input_tokens,
                         const int64_t *time_ns, size_t n, uint64_t first_index,
                         uint64_t first_seq, int8_t *tiers);

/* A stream of one-block requests through cc_pc_access, independent mode
 * (CC_EARG in prefix mode): keys[i] is the only block of request
 * first_index + i (access number first_index + i, block_tokens tokens, at
 * time time_ns), the coming keys prefetched as cc_pc_access_request does.
 * *hits (may be NULL) gets the number of hits.  The shape of a generic
 * cache simulator's request stream (libCacheSim's cachesim); benchmarks
 * use it. */
int cc_pc_access_stream(cc_prefix_cache *pc, const uint64_t *keys, size_t n,
                        uint64_t first_index, int64_t time_ns, uint64_t *hits);

/* A hint for drivers that know the coming blocks (replays).  A lookup is a
 * chain of dependent memory reads (index entry, node, the policy's state of
 * the slot); stage 1 starts the first for hash, stage 2 -- issued some
 * blocks later, once that arrived -- the second and (one tier, a policy
 * with prefetch_slot) the third.  Replays issue them 16 and 8 blocks
 * ahead.  It is a no-op when
 * the metadata is small enough to stay in the CPU's caches (under
 * CC_PC_PREFETCH_MIN_BYTES), where measured it only costs time.  No effect
 * on any result. */
#define CC_PC_PREFETCH_MIN_BYTES (2u << 20)
void cc_pc_prefetch(const cc_prefix_cache *pc, uint64_t hash, int stage);

/* Expiry (TTL policies; see policy.h "Expiry").  cc_pc_expire removes, in
 * every tier whose policy has an expire operation, the evictable blocks
 * that have expired at now_ns: a block that nothing cached depends on
 * leaves the cache (CC_REMOVE_EXPIRE, counted in expired_blocks); one that
 * cached blocks in slower tiers still depend on (prefix mode, several
 * tiers) moves down as an eviction would.  Pinned blocks and (prefix mode)
 * blocks with cached children in their own tier wait until they are
 * evictable, so a prefix lives as long as its longest-lived extension.
 * cc_pc_lookup and cc_pc_access call it at the request's time first, so a
 * replay needs nothing else; a simulator may call it between requests.
 * Returns the number of blocks that left their tier.  O(1) per tier when
 * nothing expires, plus O(log n) per expired block.  cc_pc_match does not
 * expire (read-only): it may count blocks the next lookup expires.
 * cc_pc_next_expiry: earliest time at which an evictable block expires
 * (INT64_MAX if none, or no tier expires). */
uint64_t cc_pc_expire(cc_prefix_cache *pc, int64_t now_ns);
int64_t cc_pc_next_expiry(const cc_prefix_cache *pc);

/* Where a node is: its tier (*tier) and slot in that tier (returned), or
 * CC_SLOT_NONE for a node that is not cached. */
uint32_t cc_pc_node_place(const cc_prefix_cache *pc, uint32_t node, uint32_t *tier);
/* Node of a hash, or CC_NODE_NONE (no side effects). */
uint32_t cc_pc_find(const cc_prefix_cache *pc, uint64_t hash);
const cc_pc_node *cc_pc_node_get(const cc_prefix_cache *pc, uint32_t node);
/* Blocks now in a tier. */
uint64_t cc_pc_tier_used(const cc_prefix_cache *pc, uint32_t tier);
const cc_pc_stats *cc_pc_get_stats(const cc_prefix_cache *pc);

/* Bytes of metadata the cache allocated (nodes, index, tier arrays, policy
 * state as the policies declare it), and that figure per block of capacity. */
uint64_t cc_pc_memory_bytes(const cc_prefix_cache *pc);
double cc_pc_bytes_per_block(const cc_prefix_cache *pc);

/* Checks every structural invariant (index <-> nodes, parent counts, the
 * tier order of parents and children, evictable bytes, free lists); for
 * tests.  Returns CC_OK or CC_EFORMAT with the first violation in err->msg.
 * O(capacity). */
int cc_pc_check(const cc_prefix_cache *pc, cc_err *err);

#endif
