/*
 * prefix_cache.c -- the prefix / context KV tier (see prefix_cache.h for
 * the model, the cross-tier rule and the bytes per block).
 *
 * Layout.  One node pool sized to the total capacity of all tiers (a node id
 * is stable while the block is cached, whichever tier it moves to), one
 * hash -> node index, and per tier: slot -> node, one evictable byte per
 * slot, a free-slot list threaded through slot -> node, and the tier's
 * policy.  Per node and per tier, a count of cached children in that tier,
 * one byte each (kc), the rare count of 255 or more kept aside (kbig); a
 * node has children iff one of its bytes is not 0.
 *
 * Eligibility.  A slot is evictable when its node is unpinned and (prefix
 * mode) has no cached child in its own tier.  Every change of pins, child
 * counts or place goes through refresh(), which updates the byte, the
 * tier's count of evictable slots and, for index policies, on_evictable.
 *
 * Making room in tier k (make_room): take a free slot, else ask the policy
 * for a victim and move it to tier k+1 (making room there the same way,
 * recursively) or drop it from the last tier.  A failed attempt changes
 * nothing (by induction over the tiers below), which lets a promotion detach
 * its block first -- so a cascade of demotions can land in the slot the
 * promoted block left -- and put it back if tier 0 turns out to be full of
 * pinned blocks.  Cost: one policy decision and one move per tier visited.
 *
 * Speed.  An eviction reads a chain of cold lines (slot -> node id -> node
 * -> the node's index entry).  After each eviction the cache asks the
 * policy for its likely next victims (peek_victims) and prefetches one step
 * of that chain for each, so the next eviction finds them in cache: on a
 * 10M-access Zipf stream with 100,000 blocks this took LRU from about 8 to
 * 15 M accesses per CPU second.  Lookups of coming blocks are prefetched by
 * drivers (cc_pc_prefetch) when the metadata outgrows the CPU caches; with
 * one tier a node's id is its slot, so the stage that brings the node also
 * brings the policy's state of the slot (prefetch_slot: LRU's links).
 *
 * Independent mode with one tier, no expiry and no next uses takes a flat
 * path (access_flat): the same policy calls in the same order, without the
 * bookkeeping only tiers and the prefix rule need, and the loops
 * cc_pc_access_stream / cc_pc_access_request fill the access record once
 * and prefetch inline.  On the 10M-access Zipf stream over 1M blocks with
 * 100,000 blocks, LRU went from about 17 to 20 M lookups per CPU second
 * (unloaded machine; about 4.5 to 6x libCacheSim's cachesim on the same
 * stream in the same run).
 */
#include "prefix_cache.h"

#include <stdlib.h>
#include <string.h>

#define SLOT_BITS 28
#define SLOT_MASK ((UINT32_C(1) << SLOT_BITS) - 1)
#define FREE_BIT UINT32_C(0x80000000)
#define FREE_END UINT32_C(0x7fffffff)

typedef struct tier {
    uint32_t cap;
    uint32_t used;       /* occupied slots */
    uint32_t hwm;        /* slots [hwm, cap) have never been used */
    uint32_t free_head;  /* first freed slot, FREE_END if none */
    uint32_t n_evictable;
    uint32_t *slot_node; /* occupied: node id; free: FREE_BIT | next free slot.
                            NULL with one tier: slot s holds node s, and the
                            free slots are the free nodes (see slot_alloc) */
    uint8_t *evictable;
    cc_policy pol;
} tier;

struct cc_prefix_cache {
    cc_pc_config cfg;
    uint32_t T;         /* tiers */
    int prefix;         /* mode == CC_PC_PREFIX */
    cc_pc_node *nodes;
    uint32_t n_nodes;   /* pool size = total capacity */
    uint32_t node_hwm;
    uint32_t node_free; /* free list through parent, CC_NODE_NONE = empty */
    uint8_t *kc;        /* kc[node * T + k]: cached children in tier k, or
                           KC_BIG: the count is in kbig */
    cc_u64map kbig;     /* node * 8 + k -> children in tier k, for counts of
                           KC_BIG or more */
    cc_block_index idx;
    tier tiers[CC_PC_MAX_TIERS];
    cc_pc_stats st;
    int prefetch;       /* cc_pc_prefetch does something (large metadata) */
    int expiring;       /* some tier's policy has an expire operation */
    int prefetch_same_slot; /* one tier, policy has prefetch_slot: stage 2
                           prefetches the policy's state of slot = node id.
                           With one tier a node is taken exactly when a slot
                           is and freed when it is (both free lists are LIFO
                           and move in step, both high-water marks too), so
                           node id == slot (cc_pc_check verifies it) */
    int prefetch_key;   /* one tier, policy has prefetch_key: stage 1 and the
                           next victim's prefetch ask it too */
    int flat;           /* cc_pc_access takes access_flat: independent mode,
                           one tier, no expiry, no next uses */
    uint32_t *place;    /* place[node]: tier << 28 | slot, CC_PC_PLACE_NONE while
                           moving or free; NULL with one tier, where a node
                           that is not free is in slot = its id (node_place) */
    uint64_t *nu;       /* nu[node]: next use as of its last access, when some
                           tier's policy needs next uses (else NULL) */
};

/* ---- small helpers ------------------------------------------------------------ */
static inline uint32_t place_tier(uint32_t place) { return place >> SLOT_BITS; }
static inline uint32_t place_slot(uint32_t place) { return place & SLOT_MASK; }

#define NODE_FREE UINT32_MAX /* refs of a node on the free list */

/* Where node x is (tier << SLOT_BITS | slot), CC_PC_PLACE_NONE if nowhere.
 * One tier keeps no place array: a node is taken together with the slot of
 * the same number (slot_alloc) and leaves it only to be freed (node_drop
 * marks it) or reused for the next block in that slot (access_flat), so a
 * node that is not free is in tier 0, slot x. */
static inline uint32_t node_place(const cc_prefix_cache *pc, uint32_t x)
{
    if (pc->place)
        return pc->place[x];
    return pc->nodes[x].refs == NODE_FREE ? CC_PC_PLACE_NONE : x;
}

static inline void set_place(cc_prefix_cache *pc, uint32_t x, uint32_t place)
{
    if (pc->place)
        pc->place[x] = place;
}

static inline uint32_t find_node(const cc_prefix_cache *pc, uint64_t hash)
{
    return cc_block_index_find(&pc->idx, hash, pc->nodes, sizeof(cc_pc_node));
}

/* Child counts.  One byte per node and tier; a count that reaches KC_BIG
 * leaves KC_BIG in its byte and lives in kbig until it falls below KC_BIG
 * again.  kbig never grows: each of its entries stands for KC_BIG or more
 * distinct children (a child has one parent and one tier), so it holds at
 * most total / KC_BIG entries, and it is sized for that at creation. */
#define KC_BIG 255

static inline uint8_t *kc_of(const cc_prefix_cache *pc, uint32_t x, uint32_t k)
{
    return pc->kc + (size_t)x * pc->T + k;
}

/* Whether x has a cached child in any tier. */
static inline int has_kids(const cc_prefix_cache *pc, uint32_t x)
{
    const uint8_t *c = kc_of(pc, x, 0);
    for (uint32_t k = 0; k < pc->T; k++)
        if (c[k])
            return 1;
    return 0;
}

static inline void kid_enter(cc_prefix_cache *pc, uint32_t p, uint32_t k)
{
    uint8_t *c = kc_of(pc, p, k);
    if (*c < KC_BIG - 1) {
        (*c)++;
    } else if (*c == KC_BIG - 1) {
        *c = KC_BIG;
        if (cc_u64map_put(&pc->kbig, (uint64_t)p * 8 + k, KC_BIG, NULL) != 1)
            abort(); /* sized for every count that can be this large */
    } else {
        ++*cc_u64map_get(&pc->kbig, (uint64_t)p * 8 + k);
    }
}

static inline void kid_leave(cc_prefix_cache *pc, uint32_t p, uint32_t k)
{
    uint8_t *c = kc_of(pc, p, k);
    if (*c < KC_BIG) {
        (*c)--;
        return;
    }
    uint64_t *v = cc_u64map_get(&pc->kbig, (uint64_t)p * 8 + k);
    if (--*v == KC_BIG - 1) {
        cc_u64map_del(&pc->kbig, (uint64_t)p * 8 + k);
        *c = KC_BIG - 1;
    }
}

static inline void set_evictable(tier *t, uint32_t s, uint8_t e)
{
    if (t->evictable[s] == e)
        return;
    t->evictable[s] = e;
    if (e)
        t->n_evictable++;
    else
        t->n_evictable--;
    if (t->pol.ops->on_evictable)
        t->pol.ops->on_evictable(t->pol.state, s, e);
}

static inline void refresh(cc_prefix_cache *pc, uint32_t x)
{
    const cc_pc_node *n = &pc->nodes[x];
    uint32_t place = node_place(pc, x);
    if (place == CC_PC_PLACE_NONE)
        return;
    uint32_t k = place_tier(place);
    uint8_t e = n->refs == 0 && (!pc->prefix || *kc_of(pc, x, k) == 0);
    set_evictable(&pc->tiers[k], place_slot(place), e);
}

static inline void pin(cc_prefix_cache *pc, uint32_t x)
{
    if (pc->nodes[x].refs++ == 0)
        refresh(pc, x);
}

/* The node in occupied slot s of t. */
static inline uint32_t slot_to_node(const tier *t, uint32_t s)
{
    return t->slot_node ? t->slot_node[s] : s;
}

static inline int slot_is_free(const cc_prefix_cache *pc, const tier *t, uint32_t s)
{
    if (t->slot_node)
        return (t->slot_node[s] & FREE_BIT) != 0;
    return s >= pc->node_hwm || pc->nodes[s].refs == NODE_FREE;
}

/* A free slot of t (taken), or CC_SLOT_NONE.  One tier (no slot_node): a
 * node is taken exactly when a slot is and freed when it is, so the slot is
 * the node that node_alloc returns next, and it is taken by that call (every
 * caller makes it right after: store_new, access_flat); slot_free is then
 * node_drop's push. */
static inline uint32_t slot_alloc(const cc_prefix_cache *pc, tier *t)
{
    if (!t->slot_node)
        return pc->node_free != CC_NODE_NONE ? pc->node_free
               : pc->node_hwm < t->cap       ? pc->node_hwm
                                             : CC_SLOT_NONE;
    if (t->free_head != FREE_END) {
        uint32_t s = t->free_head;
        t->free_head = t->slot_node[s] & ~FREE_BIT;
        return s;
    }
    return t->hwm < t->cap ? t->hwm++ : CC_SLOT_NONE;
}

static inline void slot_free(tier *t, uint32_t s)
{
    if (!t->slot_node)
        return; /* node_drop freed it */
    t->slot_node[s] = FREE_BIT | t->free_head;
    t->free_head = s;
}

static inline int has_room(const cc_prefix_cache *pc, const tier *t)
{
    if (!t->slot_node)
        return pc->node_free != CC_NODE_NONE || pc->node_hwm < t->cap || t->n_evictable > 0;
    return t->free_head != FREE_END || t->hwm < t->cap || t->n_evictable > 0;
}

/* Puts node x (placeless) into slot s of tier k; a is the access that brings
 * it (parent_slot is filled here). */
static void attach(cc_prefix_cache *pc, uint32_t x, uint32_t k, uint32_t s, cc_access *a)
{
    tier *t = &pc->tiers[k];
    cc_pc_node *n = &pc->nodes[x];
    if (t->slot_node)
        t->slot_node[s] = x;
    t->used++;
    set_place(pc, x, k << SLOT_BITS | s);
    if (pc->nu && a->kind != CC_ACCESS_DEMOTE)
        pc->nu[x] = a->next_use;
    uint32_t p = n->parent;
    a->parent_slot = CC_SLOT_NONE;
    if (p != CC_NODE_NONE) {
        kid_enter(pc, p, k);
        uint32_t pp = node_place(pc, p);
        if (pp != CC_PC_PLACE_NONE && place_tier(pp) == k)
            a->parent_slot = place_slot(pp);
    }
    t->pol.ops->on_insert(t->pol.state, s, a);
    refresh(pc, x);
    if (p != CC_NODE_NONE)
        refresh(pc, p);
}

/* Takes node x out of slot s of tier k (where it is). */
static void detach_at(cc_prefix_cache *pc, uint32_t x, uint32_t k, uint32_t s,
                      cc_remove_reason why)
{
    tier *t = &pc->tiers[k];
    if (t->evictable[s]) { /* on_remove ends the slot; no on_evictable(0) */
        t->evictable[s] = 0;
        t->n_evictable--;
    }
    t->pol.ops->on_remove(t->pol.state, s, pc->nodes[x].hash, why);
    t->used--;
    cc_pc_node *n = &pc->nodes[x];
    set_place(pc, x, CC_PC_PLACE_NONE);
    if (n->parent != CC_NODE_NONE) {
        kid_leave(pc, n->parent, k);
        refresh(pc, n->parent);
    }
}

/* Takes node x out of its tier; returns the slot it left (not yet free). */
static uint32_t detach(cc_prefix_cache *pc, uint32_t x, cc_remove_reason why)
{
    uint32_t place = node_place(pc, x), s = place_slot(place);
    detach_at(pc, x, place_tier(place), s, why);
    return s;
}

static uint32_t node_alloc(cc_prefix_cache *pc)
{
    if (pc->node_free != CC_NODE_NONE) {
        uint32_t x = pc->node_free;
        pc->node_free = pc->nodes[x].parent;
        return x;
    }
    /* cannot run out: a node is taken only after its block got a slot */
    return pc->node_hwm++;
}

/* Removes placeless node x from the cache (no pins, no cached children). */
static void node_drop(cc_prefix_cache *pc, uint32_t x)
{
    cc_pc_node *n = &pc->nodes[x];
    cc_block_index_remove(&pc->idx, n->hash, x);
    n->parent = pc->node_free;
    n->refs = NODE_FREE;
    pc->node_free = x;
}

static void demote_access(const cc_prefix_cache *pc, uint32_t x, const cc_access *why,
                          cc_access *a)
{
    memset(a, 0, sizeof *a);
    a->key = pc->nodes[x].hash;
    a->time_ns = why->time_ns;
    a->request = why->request;
    a->seq = why->seq;
    a->next_use = pc->nu ? pc->nu[x] : CC_NEXT_USE_NEVER;
    a->size_bytes = pc->cfg.kv_bytes_per_block;
    a->tokens = pc->cfg.block_tokens;
    a->cost = pc->cfg.block_tokens;
    a->depth = UINT32_MAX;
    a->parent_slot = CC_SLOT_NONE;
    a->kind = CC_ACCESS_DEMOTE;
    a->priority = 35;
}

/* After an eviction: bring the metadata of the policy's likely next victims
 * towards the CPU, one dependent step further for each: the slot's node id
 * for the third, the node for the second, the node's index entry for the
 * next one (whose node id and node earlier calls brought in).  A wrong guess
 * costs a wasted prefetch. */
static inline void prefetch_next_victims(const cc_prefix_cache *pc, const tier *t,
                                         const cc_victim_ctx *ctx)
{
    uint32_t g[3];
    if (!t->pol.ops->peek_victims || !t->n_evictable)
        return;
    uint32_t n = t->pol.ops->peek_victims(t->pol.state, ctx, g, 3);
    for (uint32_t i = 0; i < n; i++)
        if (g[i] >= t->cap)
            return;
    if (n > 2)
        __builtin_prefetch(t->slot_node ? (const void *)&t->slot_node[g[2]]
                                        : (const void *)&pc->nodes[g[2]]);
    if (n > 1 && !slot_is_free(pc, t, g[1]))
        __builtin_prefetch(&pc->nodes[slot_to_node(t, g[1])]);
    if (n > 0 && !slot_is_free(pc, t, g[0])) {
        uint64_t h = pc->nodes[slot_to_node(t, g[0])].hash, m = cc_mix64(h);
        cc_block_index_prefetch_m(&pc->idx, m);
        if (pc->prefetch_key) /* one tier: t is the policy's */
            t->pol.ops->prefetch_key(t->pol.state, h, m);
    }
}

static int evict_slot(cc_prefix_cache *pc, uint32_t k, uint32_t vs, const cc_access *why,
                      cc_remove_reason reason, cc_victim_ctx *ctx);

/* A policy that names a slot the cache may not take is broken: internal
 * invariant, never input. */
static inline void check_chosen(const cc_prefix_cache *pc, const tier *t, uint32_t vs)
{
    if (vs >= t->cap || !t->evictable[vs] || slot_is_free(pc, t, vs)) {
        fprintf(stderr, "ctxcache: policy %s returned slot %u that is not evictable\n",
                t->pol.ops->name, vs);
        abort();
    }
}

/* A free slot of tier k, made by evicting if needed; CC_SLOT_NONE (and no
 * change at all) when there is none to be had. */
static uint32_t make_room(cc_prefix_cache *pc, uint32_t k, const cc_access *why)
{
    tier *t = &pc->tiers[k];
    uint32_t s = slot_alloc(pc, t);
    if (s != CC_SLOT_NONE)
        return s;
    if (t->n_evictable == 0)
        return CC_SLOT_NONE;
    cc_victim_ctx ctx = {t->evictable, t->n_evictable, k, why->time_ns};
    uint32_t vs = t->pol.ops->choose_victim(t->pol.state, &ctx);
    check_chosen(pc, t, vs);
    return evict_slot(pc, k, vs, why, CC_REMOVE_EVICT, &ctx) ? vs : CC_SLOT_NONE;
}

/* Moves the block in evictable slot vs of tier k out of it: down to tier
 * k+1 (making room there), or out of the cache from the last tier or when
 * the tier below has no room and nothing depends on it.  1 = done (vs is
 * empty, not on the free list); 0 = it cannot move, nothing changed.  ctx
 * (may be NULL) is only for prefetching the next victims. */
static int evict_slot(cc_prefix_cache *pc, uint32_t k, uint32_t vs, const cc_access *why,
                      cc_remove_reason reason, cc_victim_ctx *ctx)
{
    tier *t = &pc->tiers[k];
    uint32_t v = slot_to_node(t, vs);
    cc_pc_node *nv = &pc->nodes[v];
    cc_tier_stats *ts = &pc->st.tier[k];
    if (k + 1 == pc->T) {
        /* Last tier: evictable means unpinned with no cached child at all
         * (children are never in faster tiers), so it can be dropped.  The
         * node is read after the policy's unlink, so both misses overlap. */
        __builtin_prefetch(nv);
        detach_at(pc, v, k, vs, reason);
        node_drop(pc, v);
        ts->evicted_blocks++;
        ts->dropped_blocks++;
        if (ctx) {
            ctx->n_evictable = t->n_evictable;
            prefetch_next_victims(pc, t, ctx);
        }
        return 1;
    }
    tier *lo = &pc->tiers[k + 1];
    cc_access a;
    demote_access(pc, v, why, &a);
    int droppable = nv->refs == 0 && (!pc->prefix || !has_kids(pc, v));
    if (droppable && lo->pol.ops->admit && !lo->pol.ops->admit(lo->pol.state, &a)) {
        pc->st.tier[k + 1].rejected_blocks++;
    } else {
        uint32_t s2 = make_room(pc, k + 1, why);
        if (s2 != CC_SLOT_NONE) {
            detach_at(pc, v, k, vs, reason);
            attach(pc, v, k + 1, s2, &a);
            ts->evicted_blocks++;
            pc->st.tier[k + 1].demoted_in_blocks++;
            pc->st.tier[k + 1].bytes_down += pc->cfg.kv_bytes_per_block;
            if (ctx) {
                ctx->n_evictable = t->n_evictable;
                prefetch_next_victims(pc, t, ctx);
            }
            return 1;
        }
    }
    /* the tier below is full of pinned blocks (or refused it): drop, if
     * nothing cached depends on the block */
    if (nv->refs != 0 || (pc->prefix && has_kids(pc, v)))
        return 0;
    detach_at(pc, v, k, vs, reason);
    node_drop(pc, v);
    ts->evicted_blocks++;
    ts->dropped_blocks++;
    return 1;
}

static void fill_access(const cc_prefix_cache *pc, const cc_pc_request *r, uint32_t j,
                        uint32_t kind, cc_access *a)
{
    a->key = r->blocks[j];
    a->time_ns = r->time_ns;
    a->request = r->index;
    a->seq = r->first_seq + j;
    a->next_use = r->next_use ? r->next_use[j] : CC_NEXT_USE_NEVER;
    a->size_bytes = pc->cfg.kv_bytes_per_block;
    a->tokens = cc_pc_block_tokens(r->input_tokens, pc->cfg.block_tokens, j);
    a->cost = r->cost ? r->cost[j] : a->tokens;
    a->depth = j;
    a->parent_slot = CC_SLOT_NONE;
    a->kind = kind;
    a->priority = r->has_priority ? r->priority : 35;
    a->priority_duration_ns = r->has_priority ? r->priority_duration_ns : 0;
}

/* Moves x from its tier (> 0) to tier 0.  1 on success; 0 when tier 0 has no
 * room or x's parent is not in tier 0 (x then stays where it is). */
static int promote(cc_prefix_cache *pc, uint32_t x, cc_access *a)
{
    cc_pc_node *n = &pc->nodes[x];
    uint32_t k = place_tier(node_place(pc, x));
    if (pc->prefix && n->parent != CC_NODE_NONE) {
        uint32_t pp = node_place(pc, n->parent);
        if (pp == CC_PC_PLACE_NONE || place_tier(pp) != 0)
            return 0;
    }
    if (!has_room(pc, &pc->tiers[0])) {
        pc->st.no_room_blocks++;
        return 0;
    }
    uint32_t ks = detach(pc, x, CC_REMOVE_PROMOTE);
    slot_free(&pc->tiers[k], ks);
    uint32_t s = make_room(pc, 0, a);
    if (s == CC_SLOT_NONE) {
        /* nothing moved, so ks is still the first free slot of tier k */
        cc_access back = *a;
        back.kind = CC_ACCESS_RETURN;
        attach(pc, x, k, slot_alloc(pc, &pc->tiers[k]), &back);
        pc->st.no_room_blocks++;
        return 0;
    }
    a->kind = CC_ACCESS_PROMOTE;
    attach(pc, x, 0, s, a);
    pc->st.tier[k].promoted_blocks++;
    pc->st.tier[k].bytes_up += pc->cfg.kv_bytes_per_block;
    return 1;
}

/* ---- creation ------------------------------------------------------------------ */
int cc_pc_create(const cc_pc_config *cfg, cc_prefix_cache **out, cc_err *err)
{
    *out = NULL;
    if (cfg->mode != CC_PC_PREFIX && cfg->mode != CC_PC_INDEPENDENT)
        return cc_err_set(err, CC_EARG, NULL, 0, "mode", "expected prefix or independent");
    if (cfg->n_tiers < 1 || cfg->n_tiers > CC_PC_MAX_TIERS)
        return cc_err_set(err, CC_EARG, NULL, 0, "tiers", "expected 1..%d tiers, got %u",
                          CC_PC_MAX_TIERS, cfg->n_tiers);
    if (cfg->block_tokens == 0)
        return cc_err_set(err, CC_EARG, NULL, 0, "block_size",
                          "expected at least 1 token per block");
    uint64_t total = 0;
    for (uint32_t k = 0; k < cfg->n_tiers; k++) {
        const cc_tier_config *tc = &cfg->tiers[k];
        if (tc->capacity_blocks < 1 || tc->capacity_blocks > CC_PC_MAX_TIER_BLOCKS)
            return cc_err_set(err, CC_EARG, NULL, 0, "capacity",
                              "tier %u (%s): capacity %llu blocks; expected 1..%u", k, tc->name,
                              (unsigned long long)tc->capacity_blocks, CC_PC_MAX_TIER_BLOCKS);
        total += tc->capacity_blocks;
    }
    if (total >= CC_NODE_NONE / 2)
        return cc_err_set(err, CC_EARG, NULL, 0, "capacity",
                          "total capacity %llu blocks is too large", (unsigned long long)total);

    cc_prefix_cache *pc = calloc(1, sizeof *pc);
    if (!pc)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the cache");
    pc->cfg = *cfg;
    pc->T = cfg->n_tiers;
    pc->prefix = cfg->mode == CC_PC_PREFIX;
    pc->n_nodes = (uint32_t)total;
    pc->node_free = CC_NODE_NONE;
    int rc = CC_ENOMEM;
    pc->nodes = malloc(total * sizeof *pc->nodes);
    if (!pc->nodes)
        goto fail;
    if (!(pc->kc = calloc(total * pc->T, sizeof *pc->kc)) ||
        cc_u64map_init(&pc->kbig, total / KC_BIG + 1) != CC_OK)
        goto fail;
    if (pc->T > 1 && !(pc->place = malloc(total * sizeof *pc->place)))
        goto fail;
    if (cc_block_index_init(&pc->idx, (uint32_t)total, (uint32_t)total, 0) != CC_OK)
        goto fail;
    for (uint32_t k = 0; k < pc->T; k++) {
        tier *t = &pc->tiers[k];
        const cc_tier_config *tc = &cfg->tiers[k];
        t->cap = (uint32_t)tc->capacity_blocks;
        t->free_head = FREE_END;
        if (pc->T > 1 && !(t->slot_node = malloc((size_t)t->cap * sizeof *t->slot_node)))
            goto fail;
        t->evictable = calloc(t->cap, 1);
        if (!t->evictable)
            goto fail;
        const cc_policy_ops *ops = tc->policy ? tc->policy : cc_policy_find("lru");
        cc_policy_params params = tc->policy_params;
        if (!params.spec[0])
            snprintf(params.spec, sizeof params.spec, "%s", ops->name);
        params.seed = cfg->seed * UINT64_C(0x9e3779b97f4a7c15) + k;
        rc = cc_policy_create(ops, &params, t->cap, &t->pol, err);
        if (rc != CC_OK) {
            t->pol.ops = NULL;
            if (err && !err->msg[0])
                cc_err_set(err, rc, NULL, 0, "policy", "tier %s: cannot create policy %s",
                           tc->name, ops->name);
            goto fail_quiet;
        }
        if (!t->pol.ops->on_insert || !t->pol.ops->on_hit || !t->pol.ops->on_remove ||
            !t->pol.ops->choose_victim) {
            rc = cc_err_set(err, CC_EARG, NULL, 0, "policy",
                            "policy %s lacks a required operation", ops->name);
            goto fail_quiet;
        }
    }
    int need_next = 0;
    for (uint32_t k = 0; k < pc->T; k++) {
        need_next |= (pc->tiers[k].pol.ops->flags & CC_POLICY_NEEDS_NEXT_USE) != 0;
        pc->expiring |= pc->tiers[k].pol.ops->expire != NULL;
    }
    if (need_next && !(pc->nu = malloc(total * sizeof *pc->nu)))
        goto fail;
    pc->prefetch = cc_pc_memory_bytes(pc) >= CC_PC_PREFETCH_MIN_BYTES;
    pc->prefetch_same_slot = pc->T == 1 && pc->tiers[0].pol.ops->prefetch_slot;
    pc->prefetch_key = pc->T == 1 && pc->tiers[0].pol.ops->prefetch_key;
    pc->flat = !pc->prefix && pc->T == 1 && !pc->expiring && !pc->nu;
    *out = pc;
    return CC_OK;
fail:
    rc = cc_err_set(err, CC_ENOMEM, NULL, 0, NULL,
                    "out of memory for a cache of %llu blocks", (unsigned long long)total);
fail_quiet:
    cc_pc_destroy(pc);
    return rc;
}

void cc_pc_destroy(cc_prefix_cache *pc)
{
    if (!pc)
        return;
    for (uint32_t k = 0; k < CC_PC_MAX_TIERS; k++) {
        tier *t = &pc->tiers[k];
        if (t->pol.ops)
            cc_policy_destroy(&t->pol);
        free(t->slot_node);
        free(t->evictable);
    }
    cc_block_index_free(&pc->idx);
    free(pc->kc);
    cc_u64map_free(&pc->kbig);
    free(pc->place);
    free(pc->nu);
    free(pc->nodes);
    free(pc);
}

const cc_pc_config *cc_pc_config_of(const cc_prefix_cache *pc) { return &pc->cfg; }

/* ---- the request API ------------------------------------------------------------ */
/* Remembers a block's next use at an access, so that a demotion can pass it
 * on to the tier below (policies that need next uses only). */
static inline void note_use(cc_prefix_cache *pc, uint32_t x, const cc_access *a)
{
    if (pc->nu)
        pc->nu[x] = a->next_use;
}

/* Removes what tier k's policy says has expired at now: a block nothing
 * cached depends on leaves the cache (expired_blocks); one that blocks in
 * slower tiers still depend on (prefix mode) moves down like an eviction
 * and gets the tier below's treatment.  Stops at the first block that
 * cannot move (retried at the next call). */
static uint32_t expire_tier(cc_prefix_cache *pc, uint32_t k, int64_t now)
{
    tier *t = &pc->tiers[k];
    uint32_t n = 0;
    while (t->n_evictable) {
        cc_victim_ctx ctx = {t->evictable, t->n_evictable, k, now};
        uint32_t vs = t->pol.ops->expire(t->pol.state, &ctx);
        if (vs == CC_SLOT_NONE)
            break;
        check_chosen(pc, t, vs);
        uint32_t v = slot_to_node(t, vs);
        const cc_pc_node *nv = &pc->nodes[v];
        if (nv->refs == 0 && (!pc->prefix || !has_kids(pc, v))) {
            detach_at(pc, v, k, vs, CC_REMOVE_EXPIRE);
            node_drop(pc, v);
            pc->st.tier[k].expired_blocks++;
        } else {
            cc_access why;
            memset(&why, 0, sizeof why);
            why.time_ns = now;
            why.seq = UINT64_MAX;
            if (!evict_slot(pc, k, vs, &why, CC_REMOVE_EXPIRE, NULL))
                break;
        }
        slot_free(t, vs);
        n++;
    }
    return n;
}

uint64_t cc_pc_expire(cc_prefix_cache *pc, int64_t now_ns)
{
    uint64_t n = 0;
    for (uint32_t k = 0; pc->expiring && k < pc->T; k++)
        if (pc->tiers[k].pol.ops->expire)
            n += expire_tier(pc, k, now_ns);
    return n;
}

int64_t cc_pc_next_expiry(const cc_prefix_cache *pc)
{
    int64_t best = INT64_MAX;
    for (uint32_t k = 0; k < pc->T; k++) {
        const tier *t = &pc->tiers[k];
        if (t->pol.ops->next_expiry && t->n_evictable) {
            int64_t e = t->pol.ops->next_expiry(t->pol.state);
            if (e < best)
                best = e;
        }
    }
    return best;
}

static inline void count_hit(cc_prefix_cache *pc, cc_pc_hits *h, uint32_t k, uint32_t tok)
{
    h->blocks++;
    h->tokens += tok;
    h->tier_blocks[k]++;
    h->tier_tokens[k] += tok;
    pc->st.tier[k].hit_blocks++;
    pc->st.tier[k].hit_tokens += tok;
}

int cc_pc_lookup(cc_prefix_cache *pc, const cc_pc_request *r, uint32_t *nodes,
                 cc_pc_hits *hits)
{
    memset(hits, 0, sizeof *hits);
    if (pc->expiring)
        cc_pc_expire(pc, r->time_ns);
    uint32_t n = r->n_blocks, bt = pc->cfg.block_tokens, served = 0;
    int below = 0;
    for (uint32_t j = 0; j < n; j++) {
        pc->st.lookups++;
        uint32_t x = find_node(pc, r->blocks[j]);
        nodes[j] = x;
        if (x == CC_NODE_NONE) {
            if (pc->prefix) {
                for (uint32_t i = j + 1; i < n; i++)
                    nodes[i] = CC_NODE_NONE;
                break;
            }
            continue;
        }
        served = j + 1;
        pin(pc, x);
        uint32_t k = place_tier(node_place(pc, x));
        below |= k > 0;
        count_hit(pc, hits, k, cc_pc_block_tokens(r->input_tokens, bt, j));
    }
    cc_access a;
    tier *top = &pc->tiers[0];
    if (pc->prefix) {
        /* tier-0 hits last to first: ancestors end up more recent */
        for (uint32_t j = served; j-- > 0;) {
            uint32_t place = node_place(pc, nodes[j]);
            if (place_tier(place) == 0) {
                fill_access(pc, r, j, CC_ACCESS_HIT, &a);
                note_use(pc, nodes[j], &a);
                top->pol.ops->on_hit(top->pol.state, place_slot(place), &a);
            }
        }
        /* then promotions first to last (a parent before its child) */
        for (uint32_t j = 0; below && j < served; j++) {
            if (place_tier(node_place(pc, nodes[j])) == 0)
                continue;
            fill_access(pc, r, j, CC_ACCESS_PROMOTE, &a);
            if (!promote(pc, nodes[j], &a))
                break;
        }
    } else {
        for (uint32_t j = 0; j < served; j++) {
            if (nodes[j] == CC_NODE_NONE)
                continue;
            uint32_t place = node_place(pc, nodes[j]);
            if (place_tier(place) == 0) {
                fill_access(pc, r, j, CC_ACCESS_HIT, &a);
                note_use(pc, nodes[j], &a);
                top->pol.ops->on_hit(top->pol.state, place_slot(place), &a);
            } else {
                fill_access(pc, r, j, CC_ACCESS_PROMOTE, &a);
                promote(pc, nodes[j], &a);
            }
        }
    }
    return CC_OK;
}

/* Stores block j of r as a new node with the given parent, pinned (refs) or
 * not; returns the node or CC_NODE_NONE when it is refused or finds no room. */
static uint32_t store_new(cc_prefix_cache *pc, const cc_pc_request *r, uint32_t j,
                          uint32_t parent, uint32_t refs)
{
    cc_access a;
    fill_access(pc, r, j, CC_ACCESS_MISS, &a);
    tier *top = &pc->tiers[0];
    if (top->pol.ops->admit && !top->pol.ops->admit(top->pol.state, &a)) {
        pc->st.tier[0].rejected_blocks++;
        return CC_NODE_NONE;
    }
    uint32_t s = make_room(pc, 0, &a);
    if (s == CC_SLOT_NONE) {
        pc->st.no_room_blocks++;
        return CC_NODE_NONE;
    }
    uint32_t x = node_alloc(pc);
    cc_pc_node *n = &pc->nodes[x];
    n->hash = r->blocks[j];
    n->parent = parent;
    set_place(pc, x, CC_PC_PLACE_NONE);
    n->refs = refs;
    memset(kc_of(pc, x, 0), 0, pc->T);
    if (cc_block_index_insert(&pc->idx, n->hash, x) != CC_OK)
        abort(); /* sized for every node: cannot happen */
    attach(pc, x, 0, s, &a);
    pc->st.tier[0].inserted_blocks++;
    return x;
}

int cc_pc_insert(cc_prefix_cache *pc, const cc_pc_request *r, uint32_t *nodes,
                 uint32_t *inserted)
{
    uint32_t added = 0;
    for (uint32_t j = 0; j < r->n_blocks; j++) {
        if (nodes[j] != CC_NODE_NONE)
            continue;
        uint32_t parent = CC_NODE_NONE;
        if (pc->prefix && j > 0) {
            parent = nodes[j - 1];
            /* the chain is broken, or the parent is stuck below tier 0 */
            if (parent == CC_NODE_NONE || place_tier(node_place(pc, parent)) != 0)
                break;
        }
        uint32_t x = find_node(pc, r->blocks[j]);
        if (x != CC_NODE_NONE) { /* stored meanwhile by another request */
            pin(pc, x);
            nodes[j] = x;
            if (place_tier(node_place(pc, x)) > 0) {
                cc_access a;
                fill_access(pc, r, j, CC_ACCESS_PROMOTE, &a);
                promote(pc, x, &a);
            }
            continue;
        }
        x = store_new(pc, r, j, parent, 1);
        if (x == CC_NODE_NONE) {
            if (pc->prefix)
                break;
            continue;
        }
        nodes[j] = x;
        added++;
    }
    if (inserted)
        *inserted = added;
    return CC_OK;
}

void cc_pc_release(cc_prefix_cache *pc, const uint32_t *nodes, uint32_t n)
{
    for (uint32_t j = n; j-- > 0;) {
        uint32_t x = nodes[j];
        if (x == CC_NODE_NONE)
            continue;
        if (--pc->nodes[x].refs == 0)
            refresh(pc, x);
    }
}

void cc_pc_match(const cc_prefix_cache *pc, const cc_pc_request *r, cc_pc_hits *hits)
{
    memset(hits, 0, sizeof *hits);
    for (uint32_t j = 0; j < r->n_blocks; j++) {
        uint32_t x = find_node(pc, r->blocks[j]);
        if (x == CC_NODE_NONE) {
            if (pc->prefix)
                break;
            continue;
        }
        uint32_t k = place_tier(node_place(pc, x));
        uint32_t tok = cc_pc_block_tokens(r->input_tokens, pc->cfg.block_tokens, j);
        hits->blocks++;
        hits->tokens += tok;
        hits->tier_blocks[k]++;
        hits->tier_tokens[k] += tok;
    }
}

/* cc_pc_access with one tier, no expiry and no next uses (pc->flat): the
 * general path's steps for that case, in the same order of policy calls
 * (so the same results), without what only several tiers or the prefix
 * rule need (refresh through child counts, promotion, demotion,
 * attach/detach bookkeeping): a hit is an index probe and on_hit; a miss
 * reuses the victim's node for the new block.  a holds the block's access
 * (key, tokens ... filled by the caller; kind is set here).  Returns 0 on
 * a hit, -1 on a miss. */
/* access_flat given the block's node x (find_node's answer) and its key's
 * mixed hash m (cc_mix64, for the insert). */
static inline __attribute__((always_inline)) int access_flat_at(cc_prefix_cache *pc, cc_access *a,
                                                                 uint64_t m, uint32_t x)
{
    tier *t = &pc->tiers[0];
    const cc_policy_ops *ops = t->pol.ops;
    cc_tier_stats *ts = &pc->st.tier[0];
    uint64_t key = a->key;
    pc->st.lookups++;
    if (x != CC_NODE_NONE) {
        a->kind = CC_ACCESS_HIT;
        ts->hit_blocks++;
        ts->hit_tokens += a->tokens;
        ops->on_hit(t->pol.state, place_slot(node_place(pc, x)), a);
        return 0;
    }
    a->kind = CC_ACCESS_MISS;
    if (ops->admit && !ops->admit(t->pol.state, a)) {
        ts->rejected_blocks++;
        return -1;
    }
    uint32_t s = slot_alloc(pc, t);
    if (s != CC_SLOT_NONE) {
        x = node_alloc(pc);
        t->used++;
    } else {
        if (t->n_evictable == 0) {
            pc->st.no_room_blocks++;
            return -1;
        }
        cc_victim_ctx ctx = {t->evictable, t->n_evictable, 0, a->time_ns};
        s = ops->choose_victim(t->pol.state, &ctx);
        check_chosen(pc, t, s);
        x = s; /* one tier */
        cc_pc_node *nv = &pc->nodes[x];
        __builtin_prefetch(nv); /* overlaps the policy's unlink */
        t->evictable[s] = 0; /* on_remove ends the slot; no on_evictable(0) */
        t->n_evictable--;
        ops->on_remove(t->pol.state, s, nv->hash, CC_REMOVE_EVICT);
        cc_block_index_remove(&pc->idx, nv->hash, x);
        ts->evicted_blocks++;
        ts->dropped_blocks++;
        ctx.n_evictable = t->n_evictable;
        prefetch_next_victims(pc, t, &ctx);
    }
    cc_pc_node *n = &pc->nodes[x];
    n->hash = key;
    n->parent = CC_NODE_NONE;
    n->refs = 0; /* no children: independent mode */
    if (cc_block_index_insert_m(&pc->idx, m, x) != CC_OK)
        abort(); /* sized for every node: cannot happen */
    ops->on_insert(t->pol.state, s, a);
    t->evictable[s] = 1;
    t->n_evictable++;
    if (ops->on_evictable)
        ops->on_evictable(t->pol.state, s, 1);
    ts->inserted_blocks++;
    return -1;
}

static inline int access_flat(cc_prefix_cache *pc, cc_access *a)
{
    uint64_t m = cc_mix64(a->key);
    return access_flat_at(pc, a,
                          m, cc_block_index_find_m(&pc->idx, a->key, m, pc->nodes,
                                                   sizeof(cc_pc_node)));
}

/* Prefetch stages 1 and 2 (cc_pc_prefetch), inlined for the loops below. */
static inline void prefetch_entry(const cc_prefix_cache *pc, uint64_t hash)
{
    uint64_t m = cc_mix64(hash);
    cc_block_index_prefetch_m(&pc->idx, m);
    if (pc->prefetch_key)
        pc->tiers[0].pol.ops->prefetch_key(pc->tiers[0].pol.state, hash, m);
}

static inline void prefetch_node(const cc_prefix_cache *pc, uint64_t hash)
{
    uint32_t n = cc_block_index_guess(&pc->idx, hash);
    if (n == CC_NODE_NONE)
        return;
    __builtin_prefetch(&pc->nodes[n]);
    /* one tier: node id == slot (see prefetch_same_slot) */
    if (pc->prefetch_same_slot)
        pc->tiers[0].pol.ops->prefetch_slot(pc->tiers[0].pol.state, n, 0);
}

/* Request i of flat_loop, whose key's node is x (CC_NODE_NONE: absent). */
static inline __attribute__((always_inline)) int flat_one(
    cc_prefix_cache *pc, cc_access *a, uint64_t key, uint64_t m, uint32_t x, size_t i,
    const uint32_t *input_tokens, const int64_t *time_ns, uint64_t first_index,
    uint64_t first_seq)
{
    a->key = key;
    if (time_ns)
        a->time_ns = time_ns[i];
    a->request = first_index + i;
    a->seq = first_seq + i;
    if (input_tokens)
        a->tokens = a->cost = cc_pc_block_tokens(input_tokens[i], pc->cfg.block_tokens, 0);
    a->parent_slot = CC_SLOT_NONE;
    return access_flat_at(pc, a, m, x);
}

/* The flat path's loop over one-block requests (independent mode, pc->flat):
 * request i is keys[i], of input_tokens[i] tokens (NULL: a whole block)
 * at time_ns[i] (NULL: time0), numbered first_index + i and first_seq + i;
 * tiers[i] = its tier or -1, *hits = the hits (either may be NULL). */
static inline __attribute__((always_inline)) void flat_loop(
    cc_prefix_cache *pc, const uint64_t *keys, size_t n, const uint32_t *input_tokens,
    const int64_t *time_ns, int64_t time0, uint64_t first_index, uint64_t first_seq,
    int8_t *tiers, uint64_t *hits)
{
    uint32_t bt = pc->cfg.block_tokens;
    cc_access a;
    cc_pc_request rq = {.blocks = keys, .n_blocks = 1, .index = first_index,
                        .input_tokens = bt, .time_ns = time_ns && n ? time_ns[0] : time0,
                        .first_seq = first_seq};
    fill_access(pc, &rq, 0, CC_ACCESS_MISS, &a); /* the fields common to all */
    uint64_t h = 0;
    /* Each key is hashed once, 16 requests ahead (its home bucket
     * prefetched); 8 ahead its bucket names a guess of its node (prefetched
     * with its policy state).  At its turn a guess whose node is occupied
     * and holds the key is the node the index would find (in independent
     * mode one node at most holds a key: a node leaves the index only to be
     * freed or to take the next block), so a hit costs no probe; otherwise
     * the index is probed.  Rings of 32 hold the hashes and guesses. */
    enum { D1 = 16, D2 = 8, RING = 32 };
    uint64_t mk[RING];
    uint32_t guess[RING];
    const cc_pc_node *nodes = pc->nodes;
    const int same_slot = pc->prefetch_same_slot;
    /* A cache whose metadata stays in the CPU's caches (pc->prefetch off)
     * gains nothing from the stages: each key is hashed and probed at its
     * turn (the staged loop measured 6 % slower at 1,000 and 10,000 blocks). */
    const size_t lead = pc->prefetch ? n : 0;
    for (size_t i = 0; i < n - lead; i++) {
        uint64_t key = keys[i], m = cc_mix64(key);
        uint32_t x = cc_block_index_find_m(&pc->idx, key, m, nodes, sizeof(cc_pc_node));
        int k = flat_one(pc, &a, key, m, x, i, input_tokens, time_ns, first_index, first_seq);
        if (tiers)
            tiers[i] = (int8_t)k;
        h += k == 0;
    }
    if (!lead) {
        if (hits)
            *hits = h;
        return;
    }
    for (size_t j = 0; j < n && j < D1; j++) {
        mk[j] = cc_mix64(keys[j]);
        cc_block_index_prefetch_m(&pc->idx, mk[j]);
        if (pc->prefetch_key)
            pc->tiers[0].pol.ops->prefetch_key(pc->tiers[0].pol.state, keys[j], mk[j]);
    }
    for (size_t j = 0; j < n && j < D2; j++)
        guess[j] = CC_NODE_NONE;
    for (size_t i = 0; i < n; i++) {
        if (i + D1 < n) {
            uint64_t m = mk[(i + D1) % RING] = cc_mix64(keys[i + D1]);
            cc_block_index_prefetch_m(&pc->idx, m);
            if (pc->prefetch_key)
                pc->tiers[0].pol.ops->prefetch_key(pc->tiers[0].pol.state, keys[i + D1], m);
        }
        if (i + D2 < n) {
            uint32_t g = guess[(i + D2) % RING] = cc_block_index_guess_m(&pc->idx,
                                                                        mk[(i + D2) % RING]);
            if (g != CC_NODE_NONE) {
                __builtin_prefetch(&nodes[g]);
                if (same_slot) /* one tier: node id == slot */
                    pc->tiers[0].pol.ops->prefetch_slot(pc->tiers[0].pol.state, g, 0);
            }
        }
        uint64_t key = keys[i], m = mk[i % RING];
        uint32_t g = guess[i % RING], x;
        if (g != CC_NODE_NONE && nodes[g].hash == key && nodes[g].refs != NODE_FREE)
            x = g;
        else
            x = cc_block_index_find_m(&pc->idx, key, m, nodes, sizeof(cc_pc_node));
        int k = flat_one(pc, &a, key, m, x, i, input_tokens, time_ns, first_index, first_seq);
        if (tiers)
            tiers[i] = (int8_t)k;
        h += k == 0;
    }
    if (hits)
        *hits = h;
}

int cc_pc_access_stream(cc_prefix_cache *pc, const uint64_t *keys, size_t n,
                        uint64_t first_index, int64_t time_ns, uint64_t *hits)
{
    if (pc->prefix)
        return CC_EARG;
    uint32_t bt = pc->cfg.block_tokens;
    cc_pc_request rq = {.n_blocks = 1, .input_tokens = bt, .time_ns = time_ns};
    uint64_t h = 0;
    if (!pc->flat) {
        for (size_t i = 0; i < n; i++) {
            if (i + 16 < n)
                cc_pc_prefetch(pc, keys[i + 16], 1);
            if (i + 8 < n)
                cc_pc_prefetch(pc, keys[i + 8], 2);
            int k;
            rq.blocks = keys + i;
            rq.index = rq.first_seq = first_index + i;
            cc_pc_access(pc, &rq, 0, &k);
            h += k >= 0;
        }
    } else {
        flat_loop(pc, keys, n, NULL, NULL, time_ns, first_index, first_index, NULL, &h);
    }
    if (hits)
        *hits = h;
    return CC_OK;
}

int cc_pc_access_singles(cc_prefix_cache *pc, const uint64_t *keys, const uint32_t *input_tokens,
                         const int64_t *time_ns, size_t n, uint64_t first_index,
                         uint64_t first_seq, int8_t *tiers)
{
    if (pc->prefix)
        return CC_EARG;
    if (!pc->flat) {
        for (size_t i = 0; i < n; i++) {
            if (i + 16 < n)
                cc_pc_prefetch(pc, keys[i + 16], 1);
            if (i + 8 < n)
                cc_pc_prefetch(pc, keys[i + 8], 2);
            cc_pc_request rq = {.blocks = keys + i, .n_blocks = 1,
                                .input_tokens = input_tokens[i], .index = first_index + i,
                                .time_ns = time_ns[i], .first_seq = first_seq + i};
            int k;
            cc_pc_access(pc, &rq, 0, &k);
            tiers[i] = (int8_t)k;
        }
        return CC_OK;
    }
    flat_loop(pc, keys, n, input_tokens, time_ns, 0, first_index, first_seq, tiers, NULL);
    return CC_OK;
}

int cc_pc_access_request(cc_prefix_cache *pc, const cc_pc_request *r, const uint64_t *next,
                         size_t n_next, int8_t *tiers, cc_pc_hits *hits)
{
    if (pc->prefix)
        return CC_EARG;
    if (hits)
        memset(hits, 0, sizeof *hits);
    const uint32_t n = r->n_blocks, d1 = 16, d2 = 8;
    const int pf = pc->prefetch;
    /* block j + d of the driver's stream: this request's, then next[] */
#define AHEAD(j, d)                                                                   \
    ((j) + (d) < n ? &r->blocks[(j) + (d)]                                            \
                   : (j) + (d) - n < n_next ? &next[(j) + (d) - n] : NULL)
    if (!pc->flat) {
        for (uint32_t j = 0; j < n; j++) {
            const uint64_t *h;
            if (pf && (h = AHEAD(j, d1)))
                cc_pc_prefetch(pc, *h, 1);
            if (pf && (h = AHEAD(j, d2)))
                cc_pc_prefetch(pc, *h, 2);
            int k;
            cc_pc_access(pc, r, j, &k);
            if (tiers)
                tiers[j] = (int8_t)k;
            if (hits && k >= 0) {
                uint32_t tok = cc_pc_block_tokens(r->input_tokens, pc->cfg.block_tokens, j);
                hits->blocks++;
                hits->tokens += tok;
                hits->tier_blocks[k]++;
                hits->tier_tokens[k] += tok;
            }
        }
        return CC_OK;
    }
    cc_access a;
    fill_access(pc, r, 0, CC_ACCESS_MISS, &a); /* the fields common to all blocks */
    uint32_t hit_blocks = 0, hit_tokens = 0;
    for (uint32_t j = 0; j < n; j++) {
        const uint64_t *h;
        if (pf && (h = AHEAD(j, d1)))
            prefetch_entry(pc, *h);
        if (pf && (h = AHEAD(j, d2)))
            prefetch_node(pc, *h);
        a.key = r->blocks[j];
        a.seq = r->first_seq + j;
        a.next_use = r->next_use ? r->next_use[j] : CC_NEXT_USE_NEVER;
        a.tokens = cc_pc_block_tokens(r->input_tokens, pc->cfg.block_tokens, j);
        a.cost = r->cost ? r->cost[j] : a.tokens;
        a.depth = j;
        a.parent_slot = CC_SLOT_NONE;
        int k = access_flat(pc, &a);
        if (tiers)
            tiers[j] = (int8_t)k;
        if (k == 0) {
            hit_blocks++;
            hit_tokens += a.tokens;
        }
    }
#undef AHEAD
    if (hits) {
        hits->blocks = hits->tier_blocks[0] = hit_blocks;
        hits->tokens = hits->tier_tokens[0] = hit_tokens;
    }
    return CC_OK;
}

int cc_pc_access(cc_prefix_cache *pc, const cc_pc_request *r, uint32_t j, int *tier_out)
{
    if (pc->flat) {
        cc_access a;
        fill_access(pc, r, j, CC_ACCESS_MISS, &a);
        *tier_out = access_flat(pc, &a);
        return CC_OK;
    }
    if (pc->prefix)
        return CC_EARG;
    if (pc->expiring)
        cc_pc_expire(pc, r->time_ns);
    pc->st.lookups++;
    uint32_t x = find_node(pc, r->blocks[j]);
    cc_access a;
    if (x != CC_NODE_NONE) {
        uint32_t place = node_place(pc, x);
        uint32_t k = place_tier(place);
        pc->st.tier[k].hit_blocks++;
        pc->st.tier[k].hit_tokens += cc_pc_block_tokens(r->input_tokens, pc->cfg.block_tokens, j);
        if (k == 0) {
            tier *top = &pc->tiers[0];
            fill_access(pc, r, j, CC_ACCESS_HIT, &a);
            note_use(pc, x, &a);
            top->pol.ops->on_hit(top->pol.state, place_slot(place), &a);
        } else {
            fill_access(pc, r, j, CC_ACCESS_PROMOTE, &a);
            promote(pc, x, &a);
        }
        *tier_out = (int)k;
        return CC_OK;
    }
    *tier_out = -1;
    store_new(pc, r, j, CC_NODE_NONE, 0);
    return CC_OK;
}

void cc_pc_prefetch(const cc_prefix_cache *pc, uint64_t hash, int stage)
{
    if (!pc->prefetch)
        return;
    if (stage < 2)
        prefetch_entry(pc, hash);
    else
        prefetch_node(pc, hash);
}

/* ---- inspection ----------------------------------------------------------------- */
uint32_t cc_pc_node_place(const cc_prefix_cache *pc, uint32_t node, uint32_t *tier_out)
{
    if (node >= pc->node_hwm || node_place(pc, node) == CC_PC_PLACE_NONE ||
        find_node(pc, pc->nodes[node].hash) != node)
        return CC_SLOT_NONE;
    uint32_t place = node_place(pc, node);
    if (tier_out)
        *tier_out = place_tier(place);
    return place_slot(place);
}

uint32_t cc_pc_find(const cc_prefix_cache *pc, uint64_t hash) { return find_node(pc, hash); }

const cc_pc_node *cc_pc_node_get(const cc_prefix_cache *pc, uint32_t node)
{
    return node < pc->node_hwm ? &pc->nodes[node] : NULL;
}

uint64_t cc_pc_tier_used(const cc_prefix_cache *pc, uint32_t tier_index)
{
    return tier_index < pc->T ? pc->tiers[tier_index].used : 0;
}

const cc_pc_stats *cc_pc_get_stats(const cc_prefix_cache *pc) { return &pc->st; }

uint64_t cc_pc_memory_bytes(const cc_prefix_cache *pc)
{
    uint64_t b = (uint64_t)pc->n_nodes * sizeof(cc_pc_node);
    b += cc_block_index_memory_bytes(&pc->idx);
    b += (uint64_t)pc->n_nodes * pc->T * sizeof *pc->kc;
    b += (uint64_t)pc->kbig.cap * (sizeof *pc->kbig.keys + sizeof *pc->kbig.vals);
    if (pc->T > 1)
        b += (uint64_t)pc->n_nodes * sizeof *pc->place;
    if (pc->nu)
        b += (uint64_t)pc->n_nodes * sizeof *pc->nu;
    for (uint32_t k = 0; k < pc->T; k++) {
        const tier *t = &pc->tiers[k];
        b += (uint64_t)t->cap * ((t->slot_node ? sizeof *t->slot_node : 0) + sizeof *t->evictable);
        b += t->pol.ops->memory_bytes ? t->pol.ops->memory_bytes(t->pol.state)
                                      : (uint64_t)t->cap * t->pol.ops->bytes_per_slot;
    }
    return b;
}

double cc_pc_bytes_per_block(const cc_prefix_cache *pc)
{
    return (double)cc_pc_memory_bytes(pc) / pc->n_nodes;
}

int cc_pc_check(const cc_prefix_cache *pc, cc_err *err)
{
    uint32_t cached = 0;
    uint32_t T = pc->T;
    uint32_t *cnt = calloc((size_t)pc->n_nodes * T + 1, sizeof *cnt);
    if (!cnt)
        return CC_ENOMEM;
    int rc = CC_OK;
    for (uint32_t k = 0; k < T && rc == CC_OK; k++) {
        const tier *t = &pc->tiers[k];
        uint32_t used = 0, nev = 0, nfree = 0;
        /* one tier: the free slots are the free nodes, slot s holds node s */
        uint32_t hwm = t->slot_node ? t->hwm : pc->node_hwm;
        if (t->slot_node) {
            for (uint32_t s = t->free_head; s != FREE_END; s = t->slot_node[s] & ~FREE_BIT) {
                if (s >= t->hwm || !(t->slot_node[s] & FREE_BIT) || ++nfree > t->cap) {
                    rc = cc_err_set(err, CC_EFORMAT, NULL, 0, "cache", "tier %u: bad free list",
                                    k);
                    break;
                }
            }
        } else {
            for (uint32_t x = pc->node_free; x != CC_NODE_NONE; x = pc->nodes[x].parent) {
                if (x >= pc->node_hwm || node_place(pc, x) != CC_PC_PLACE_NONE ||
                    ++nfree > t->cap) {
                    rc = cc_err_set(err, CC_EFORMAT, NULL, 0, "cache", "bad free node list");
                    break;
                }
            }
        }
        for (uint32_t s = 0; s < hwm && rc == CC_OK; s++) {
            uint32_t x = slot_to_node(t, s);
            if (slot_is_free(pc, t, s)) {
                if (t->evictable[s])
                    rc = cc_err_set(err, CC_EFORMAT, NULL, 0, "cache",
                                    "tier %u slot %u: free but evictable", k, s);
                continue;
            }
            used++;
            if (x >= pc->node_hwm || node_place(pc, x) != (k << SLOT_BITS | s)) {
                rc = cc_err_set(err, CC_EFORMAT, NULL, 0, "cache",
                                "tier %u slot %u: node %u does not point back", k, s, x);
                break;
            }
            if (find_node(pc, pc->nodes[x].hash) != x) {
                rc = cc_err_set(err, CC_EFORMAT, NULL, 0, "cache",
                                "node %u: not found by its hash", x);
                break;
            }
            nev += t->evictable[s] != 0;
            cached++;
            uint32_t p = pc->nodes[x].parent;
            if (p != CC_NODE_NONE) {
                if (p >= pc->node_hwm || node_place(pc, p) == CC_PC_PLACE_NONE ||
                    find_node(pc, pc->nodes[p].hash) != p) {
                    rc = cc_err_set(err, CC_EFORMAT, NULL, 0, "cache",
                                    "node %u: parent %u is not cached", x, p);
                    break;
                }
                if (pc->prefix && place_tier(node_place(pc, p)) > k) {
                    rc = cc_err_set(err, CC_EFORMAT, NULL, 0, "cache",
                                    "node %u in tier %u: parent in slower tier %u", x, k,
                                    place_tier(node_place(pc, p)));
                    break;
                }
                cnt[(size_t)p * T + k]++;
            }
        }
        if (rc == CC_OK && (used != t->used || nev != t->n_evictable ||
                            used + nfree + (t->cap - hwm) != t->cap))
            rc = cc_err_set(err, CC_EFORMAT, NULL, 0, "cache",
                            "tier %u: %u used (recorded %u), %u evictable (recorded %u), "
                            "%u free + %u unused of %u",
                            k, used, t->used, nev, t->n_evictable, nfree, t->cap - hwm,
                            t->cap);
    }
    if (rc == CC_OK && cached != pc->idx.count)
        rc = cc_err_set(err, CC_EFORMAT, NULL, 0, "cache", "%u cached nodes, index holds %u",
                        cached, pc->idx.count);
    size_t nbig = 0;
    for (uint32_t k = 0; k < T && rc == CC_OK; k++) {
        const tier *t = &pc->tiers[k];
        uint32_t hwm = t->slot_node ? t->hwm : pc->node_hwm;
        for (uint32_t s = 0; s < hwm; s++) {
            if (slot_is_free(pc, t, s))
                continue;
            uint32_t x = slot_to_node(t, s);
            const cc_pc_node *n = &pc->nodes[x];
            const uint32_t *c = cnt + (size_t)x * T;
            for (uint32_t j = 0; j < T && rc == CC_OK; j++) {
                uint8_t b = *kc_of(pc, x, j);
                nbig += b == KC_BIG;
                const uint64_t *big = cc_u64map_get(&pc->kbig, (uint64_t)x * 8 + j);
                /* a byte below KC_BIG is the count; KC_BIG means an entry
                 * aside holds it, and that entry is KC_BIG or more */
                uint64_t rec = b < KC_BIG ? b : big ? *big : UINT64_MAX;
                if ((b == KC_BIG) != (big != NULL) || rec != c[j] || (big && *big < KC_BIG))
                    rc = cc_err_set(err, CC_EFORMAT, NULL, 0, "cache",
                                    "node %u, tier %u: child count byte %u, %s%llu, but %u "
                                    "children cached there",
                                    x, j, b, big ? "counted aside as " : "nothing aside ",
                                    big ? (unsigned long long)*big : 0ull, c[j]);
            }
            if (rc != CC_OK)
                break;
            uint8_t e = n->refs == 0 && (!pc->prefix || c[k] == 0);
            if (e != t->evictable[s]) {
                rc = cc_err_set(err, CC_EFORMAT, NULL, 0, "cache",
                                "node %u (tier %u slot %u): evictable byte %u, expected %u", x,
                                k, s, t->evictable[s], e);
                break;
            }
        }
    }
    if (rc == CC_OK && nbig != pc->kbig.count)
        rc = cc_err_set(err, CC_EFORMAT, NULL, 0, "cache",
                        "%zu child counts set aside, %zu recorded", nbig, pc->kbig.count);
    free(cnt);
    return rc;
}
