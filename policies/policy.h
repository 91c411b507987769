/*
 * policy.h -- public surface of policies/: eviction and admission policies
 * as a table of operations over block slot indices, the one registry that
 * maps names to tables, policy parameters, and a keyed heap over slots that
 * priority-ordered policies share.
 *
 * The model
 * ---------
 * A storage tier (core/prefix_cache.h) holds up to `capacity` blocks in
 * slots 0..capacity-1 and owns ONE policy instance.  The cache tells the
 * policy what happens to slots (insert, hit, remove) and asks it for a victim
 * when it needs room.  The policy keeps its per-block state in arrays indexed
 * by slot that it allocates once in create() (no malloc per block).  It never
 * sees hashes or tree links unless it asks for them through cc_access.
 *
 * Eligibility.  The cache, not the policy, decides which slots may be
 * evicted right now, and keeps the answer in a byte array (one byte a slot)
 * that choose_victim receives in its context:
 *   - prefix mode: a slot is evictable when its block is unpinned and no
 *     cached block in the same tier depends on it (a leaf of the tier);
 *   - independent mode: when its block is unpinned.
 * A policy must return a slot whose evictable byte is non-zero.  There are
 * two ways to find one, pick per policy:
 *   (a) scan: walk your own order from the eviction end and skip slots whose
 *       byte is 0.  Cheap when non-evictable slots are rare at that end.  LRU
 *       is such a case because the cache keeps ancestors more recent than
 *       their descendants (see "call order" below): the LRU end is a leaf
 *       unless it is pinned, and pinned blocks are recent.
 *   (b) index: set on_evictable; the cache then calls it whenever a slot's
 *       byte changes, and the policy keeps an index of evictable slots only
 *       (FIFO does: an insertion-ordered heap of evictable slots).  Orders in
 *       which ancestors come first (FIFO, LFU by count, ...) need this in
 *       prefix mode: their eviction end is crowded with internal blocks that
 *       may not be taken, and a scan would cross them on every eviction.
 * A slot enters the policy (on_insert) as NOT evictable; the cache calls
 * on_evictable(slot, 1) right after when it is.  on_remove ends the slot's
 * life in the policy whatever its evictable state (no on_evictable(0)
 * first).  choose_victim only chooses: the cache then calls on_remove(slot,
 * CC_REMOVE_EVICT) -- or nothing, in the rare case that the chosen block
 * cannot be moved (then the tier reports no room), so choose_victim must not
 * change state it would need to undo.
 *
 * Call order (prefix mode).  For one request the cache calls on_hit for the
 * hit blocks of a tier from the LAST to the FIRST block of the chain (vLLM
 * frees blocks in reverse for the same reason), then on_insert for promoted
 * and new blocks from first to last with cc_access.parent_slot naming the
 * parent's slot when the parent is in the same tier.  A recency policy that
 * inserts a block just behind (older than) its parent keeps every ancestor
 * more recent than all of its descendants, so its oldest evictable-or-pinned
 * block is always a leaf.  In independent mode calls come in chain order and
 * parent_slot is always CC_SLOT_NONE.
 *
 * Admission.  admit (optional) is asked before a block enters the tier: a
 * new block computed by a request (top tier), or a block demoted from the
 * tier above when dropping it instead is allowed (it is unpinned and nothing
 * cached depends on it).  Returning 0 keeps it out: a rejected new block is
 * not cached (in prefix mode, nor is the rest of that request's chain); a
 * rejected demotion is dropped.  NULL = admit everything.
 *
 * Expiry.  A policy with an expire operation (ttl) decides when blocks
 * time out; the cache asks it at every request's time, before the lookup
 * (cc_pc_lookup, cc_pc_access; cc_pc_expire in prefix_cache.h), and
 * removes each slot it names until it names none.  Only evictable slots
 * expire: a pinned block, or (prefix mode) one with a cached child in the
 * same tier, waits until it becomes evictable and then goes at the next
 * pass, so in a tree a block lives as long as its longest-lived descendant.
 * An expired block leaves the cache; if cached blocks in slower tiers still
 * depend on it (prefix mode, several tiers), it moves down instead, as an
 * eviction would.  A policy keyed by expiry time keeps an index of
 * evictable slots (on_evictable) and answers expire in O(1).
 *
 * Adding a policy (exactly two edits)
 * -----------------------------------
 *   1. Write policies/<name>.c defining
 *          const cc_policy_ops cc_policy_<name> = {.name = "<name>", ...};
 *      with create/destroy/on_insert/on_hit/on_remove/choose_victim (and
 *      on_evictable/admit if it has them); everything else in the file is
 *      static.  Open the file with a comment: the algorithm, its source
 *      (paper), bytes per slot, cost of each operation, and how it finds an
 *      evictable victim (scan or index).
 *   2. Add X(<name>) to CC_POLICY_TABLE in policies/registry.c.
 * Then `ctxcache replay --policy <name>` and the tests' generic checks pick
 * it up.  policies/README.md has a checklist and a skeleton.
 *
 * Costs: every operation should be O(1) or O(log capacity) amortised; state
 * the exact figure and the bytes per slot (bytes_per_slot) in the file.
 */
#ifndef CC_POLICY_H
#define CC_POLICY_H

#include "../core/core.h"

#include <stdint.h>

#define CC_SLOT_NONE UINT32_MAX
#define CC_NEXT_USE_NEVER UINT64_MAX /* no further access (or unknown, see cc_access) */

/* Why a block enters or is touched in a tier. */
typedef enum cc_access_kind {
    CC_ACCESS_MISS = 0,    /* computed by the request, stored in the top tier */
    CC_ACCESS_HIT = 1,     /* served from this tier (on_hit) */
    CC_ACCESS_PROMOTE = 2, /* moved up into the top tier because a request hit it below */
    CC_ACCESS_DEMOTE = 3,  /* moved down into this tier: evicted from the tier above */
    CC_ACCESS_RETURN = 4,  /* put back after a promotion found no room above (rare) */
} cc_access_kind;

/* Why a block leaves a tier. */
typedef enum cc_remove_reason {
    CC_REMOVE_EVICT = 0,      /* chosen by choose_victim: demoted below or dropped */
    CC_REMOVE_PROMOTE = 1,    /* moved to the top tier by a hit */
    CC_REMOVE_EXPIRE = 2,     /* its time to live ran out (TTL tiers) */
    CC_REMOVE_INVALIDATE = 3, /* removed by the API (invalidation, reset) */
} cc_remove_reason;

/* What the cache knows about one block access.  Fields a driver cannot
 * supply hold their defaults (documented per field). */
typedef struct cc_access {
    uint64_t key;          /* the block hash */
    int64_t time_ns;       /* arrival time of the request causing the access */
    uint64_t request;      /* request index (trace order) */
    uint64_t seq;          /* position of this access in the driver's block-access
                              stream (monotone; Belady's clock) */
    uint64_t next_use;     /* seq of the block's next access, CC_NEXT_USE_NEVER if
                              none; filled only when the driver computed next
                              uses (the replay does when a tier's policy has
                              CC_POLICY_NEEDS_NEXT_USE).  For DEMOTE: the
                              block's next use as of its last access (the
                              cache keeps it per block in that case) */
    uint64_t size_bytes;   /* KV bytes of the block (the tier's block size) */
    double cost;           /* cost to recompute the block (GDSF-like); default:
                              its tokens */
    uint32_t tokens;       /* tokens it holds: block size, less for a last
                              partial block; block size for DEMOTE */
    uint32_t depth;        /* position in the request's chain, 0 = first;
                              UINT32_MAX for DEMOTE */
    uint32_t parent_slot;  /* slot of the parent block in THIS tier, or
                              CC_SLOT_NONE (no parent, parent in another tier,
                              independent mode) */
    uint32_t kind;         /* cc_access_kind */
    int32_t priority;      /* retention priority (TensorRT-LLM style 0..100;
                              default 35) */
    int64_t priority_duration_ns; /* how long the priority holds; 0 = while cached */
} cc_access;

/* What choose_victim may look at. */
typedef struct cc_victim_ctx {
    const uint8_t *evictable; /* evictable[slot] != 0: the cache may take it now */
    uint32_t n_evictable;     /* number of such slots; > 0 whenever called */
    uint32_t tier;            /* tier index (0 = top) */
    int64_t time_ns;          /* time of the access that needs room */
} cc_victim_ctx;

/* Parameters: "name" or "name(key=value,key=value)" on the command line. */
#define CC_POLICY_MAX_PARAMS 8
typedef struct cc_policy_params {
    char spec[160];  /* the whole spec as written, for messages */
    uint64_t seed;   /* randomised policies seed their own GSL rng with it */
    uint32_t n;
    struct {
        char key[32];
        char value[64];
    } kv[CC_POLICY_MAX_PARAMS];
} cc_policy_params;

/* One parameter of a policy, for `ctxcache policies` and `replay --help`:
 * its key, its default as written on the command line, what it means. */
typedef struct cc_policy_param_doc {
    const char *key, *def, *meaning;
} cc_policy_param_doc;

/* flags */
#define CC_POLICY_NEEDS_NEXT_USE 1u /* wants cc_access.next_use (offline policies) */

typedef struct cc_policy_ops {
    const char *name;         /* registry name, [a-z0-9_-] */
    const char *summary;      /* one line for --help */
    const cc_policy_param_doc *params; /* ends with a {NULL} row; NULL = no parameters */
    const char *notes;        /* what the policy needs or assumes, or NULL */
    uint32_t flags;           /* CC_POLICY_* */
    uint32_t bytes_per_slot;  /* policy state per slot, for the memory figure */
    /* Allocate state for slots 0..capacity-1 (capacity >= 1).  Reject unknown
     * or bad parameters with CC_EARG naming the key (cc_policy_param_*). */
    int (*create)(const cc_policy_params *params, uint32_t capacity, void **state,
                  cc_err *err);
    void (*destroy)(void *state);
    /* slot is free in the policy; it becomes occupied (not yet evictable). */
    void (*on_insert)(void *state, uint32_t slot, const cc_access *a);
    /* slot is occupied and was served. */
    void (*on_hit)(void *state, uint32_t slot, const cc_access *a);
    /* slot becomes free; key is the block's hash (cc_access.key of its
     * on_insert), so that a policy that remembers evicted keys (ghosts) need
     * not keep a key per slot. */
    void (*on_remove)(void *state, uint32_t slot, uint64_t key, cc_remove_reason why);
    /* An occupied slot with ctx->evictable[slot] != 0, or CC_SLOT_NONE only
     * if there is none (cannot happen when ctx->n_evictable > 0 and the
     * policy tracks every occupied slot). */
    uint32_t (*choose_victim)(void *state, const cc_victim_ctx *ctx);
    /* Optional: the evictable byte of an occupied slot changed to e. */
    void (*on_evictable)(void *state, uint32_t slot, int e);
    /* Optional: 1 = let the block in, 0 = keep it out. */
    int (*admit)(void *state, const cc_access *a);
    /* Optional, for speed only: up to max slots that choose_victim would most
     * likely return next, in that order, written to out (returns how many),
     * without changing any state.  The cache calls it after each eviction
     * and prefetches the metadata of those blocks a stage deeper for each
     * (3 is asked: slot -> node -> index entry), so the policy should return
     * what the last call's out[1], out[2] have become and may prefetch its
     * own state for out[max-1].  Results never depend on it. */
    uint32_t (*peek_victims)(const void *state, const cc_victim_ctx *ctx, uint32_t *out,
                             uint32_t max);
    /* Optional, time-to-live policies (see "Expiry" above): an occupied slot
     * with ctx->evictable[slot] != 0 whose time ran out at ctx->time_ns, or
     * CC_SLOT_NONE.  Only chooses, like choose_victim; the cache then calls
     * on_remove(slot, CC_REMOVE_EXPIRE), or nothing when the block cannot
     * move (it then stops asking until its next expiry pass). */
    uint32_t (*expire)(void *state, const cc_victim_ctx *ctx);
    /* Optional: the earliest expiry time of an evictable slot, INT64_MAX if
     * none (for drivers that schedule expiry events). */
    int64_t (*next_expiry)(const void *state);
    /* Optional, for speed only: start bringing the state that an on_hit of
     * occupied slot `slot` will touch towards the CPU, without changing
     * anything.  depth 0: the slot's own state; depth 1 (issued later, once
     * that arrived): what it points to (LRU: its two list neighbours).  The
     * cache calls it from cc_pc_prefetch stages 3 and 4.  Results never
     * depend on it. */
    void (*prefetch_slot)(const void *state, uint32_t slot, int depth);
    /* Optional, for speed only: start bringing the state that the policy
     * keeps by key (a ghost directory) for `key` towards the CPU, without
     * changing anything (ARC: the key's ghost bucket).  The cache calls it
     * from cc_pc_prefetch stage 1 for coming blocks (whose admit looks them
     * up) and for the likely next victim (whose key on_remove adds); mixed
     * is cc_mix64(key), which the cache has computed for its own index (a
     * directory built on cc_block_index takes it as is).  Results never
     * depend on it. */
    void (*prefetch_key)(const void *state, uint64_t key, uint64_t mixed);
    /* Optional: bytes of state this instance allocated (per-slot arrays,
     * ghost directories), for the memory figure; when absent the cache
     * counts capacity x bytes_per_slot. */
    uint64_t (*memory_bytes)(const void *state);
} cc_policy_ops;

/* ---- the registry (registry.c) -------------------------------------------- */
size_t cc_policy_count(void);
const cc_policy_ops *cc_policy_at(size_t i);
const cc_policy_ops *cc_policy_find(const char *name);
/* "name" or "name(k=v,...)" -> the table and the parameters (seed 0).
 * CC_EARG with a list of known names when the name is unknown. */
int cc_policy_parse(const char *spec, const cc_policy_ops **ops, cc_policy_params *params,
                    cc_err *err);

/* An instance: the table and its state. */
typedef struct cc_policy {
    const cc_policy_ops *ops;
    void *state;
} cc_policy;
int cc_policy_create(const cc_policy_ops *ops, const cc_policy_params *params,
                     uint32_t capacity, cc_policy *out, cc_err *err);
void cc_policy_destroy(cc_policy *p);

/* Parameter helpers for create(): fail with CC_EARG naming the key. */
/* Every key must be in known (NULL-terminated; NULL = no keys allowed). */
int cc_policy_param_check(const cc_policy_params *p, const char *const *known, cc_err *err);
/* The value of key as a number in [lo, hi], or def when absent. */
int cc_policy_param_double(const cc_policy_params *p, const char *key, double def, double lo,
                           double hi, double *out, cc_err *err);
/* The index in choices (NULL-terminated) of key's value, or def when
 * absent; CC_EARG listing the choices otherwise. */
int cc_policy_param_choice(const cc_policy_params *p, const char *key,
                           const char *const *choices, int def, int *out, cc_err *err);
/* 1 when key was given. */
int cc_policy_param_has(const cc_policy_params *p, const char *key);
/* A one-line warning when this policy and these parameters degenerate into
 * another policy (trt with no priorities is LRU), else NULL. */
const char *cc_policy_warning(const cc_policy_ops *ops, const cc_policy_params *params);

/* ---- keyed heap over slots (slot_heap.c) ------------------------------------
 * A binary min-heap of slots ordered by a u64 key per slot, with a position
 * index so any slot can be removed or re-keyed in O(log n).  The natural
 * index of evictable slots for priority-ordered policies (FIFO: insertion
 * number; LFU: count then time; GDSF: priority; Belady: -next use).  Ties go
 * to the smaller slot, so results do not depend on heap history.
 * Memory: 16 bytes per slot (key 8, position 4, heap entry 4). */
typedef struct cc_slot_heap {
    uint64_t *key;  /* key[slot]; set it (cc_slot_heap_set_key) before push */
    uint32_t *pos;  /* pos[slot] = index in heap + 1, 0 when absent */
    uint32_t *heap; /* slots in heap order */
    uint32_t n;     /* slots in the heap */
    uint32_t cap;
} cc_slot_heap;

int cc_slot_heap_init(cc_slot_heap *h, uint32_t capacity);
void cc_slot_heap_free(cc_slot_heap *h);
static inline int cc_slot_heap_contains(const cc_slot_heap *h, uint32_t slot)
{
    return h->pos[slot] != 0;
}
static inline uint32_t cc_slot_heap_min(const cc_slot_heap *h)
{
    return h->n ? h->heap[0] : CC_SLOT_NONE;
}
/* Adds slot (absent) with key key[slot]. */
void cc_slot_heap_push(cc_slot_heap *h, uint32_t slot);
/* Removes slot if present. */
void cc_slot_heap_remove(cc_slot_heap *h, uint32_t slot);
/* Sets key[slot], restoring heap order if the slot is present. */
void cc_slot_heap_set_key(cc_slot_heap *h, uint32_t slot, uint64_t key);

/* ---- renumbering a 32-bit counter (renumber.c) -----------------------------
 * Policies that order slots by 32-bit numbers drawn from a counter (TRT's
 * stamps, S3-FIFO's parking numbers) renumber when the counter runs out:
 * the slots holding a number get 0, 1, ... in their present order, which
 * keeps every order built on the numbers (heaps stay valid).  O(cap + n log
 * n), once per 2^32 numbers; returns n, the counter's next value.  Out of
 * memory it stops the process with a message naming `who`: no result may
 * depend on the memory left. */
typedef struct cc_renumber_ops {
    int (*has)(const void *state, uint32_t slot);       /* slot holds a number */
    uint32_t (*get)(const void *state, uint32_t slot);  /* its number */
    void (*set)(void *state, uint32_t slot, uint32_t number);
} cc_renumber_ops;
uint32_t cc_renumber(void *state, uint32_t cap, const cc_renumber_ops *ops, const char *who);

#endif
