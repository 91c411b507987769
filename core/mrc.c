/*
 * mrc.c -- miss-ratio curves from LRU stack distances (exact and SHARDS)
 * and per-capacity replays for other policies (definitions in mrc.h).
 *
 * The recency stack
 * -----------------
 * Every access gets the next integer time; a bitset over times has a 1 at
 * each block's last-use time, and a u64 map gives that time.  A block's
 * stack distance is 1 + (marks after its last time) = live - marks(0..last)
 * + 1; moving it to the top clears its old mark and sets one at the new
 * time.  Counting marks: a Fenwick tree over 512-bit lines of the bitset
 * (one cache line each) gives the marks before the line, popcounts do the
 * rest -- O(log(T/512)) over a tree small enough to stay in the CPU's
 * caches, plus one line of the bitset, instead of a Fenwick walk over T
 * counters (measured 1.5x slower).  When times run out, the live marks are
 * renumbered 0..live-1 in order (one pass over the bitset and the map) and
 * the range becomes 2 * live + 4096, so T stays O(distinct blocks) and the
 * renumbering costs O(1) amortised per access.
 *
 * Why the prefix-mode rule is exact (prefix-consistent traces)
 * ------------------------------------------------------------
 * Call S the stack after the updates of mrc.h (each request's blocks moved
 * to the top, block 0 topmost).  Invariant: every block's parent (the block
 * before it in its chains; unique by consistency) is above it in S.  It
 * holds after a request: the request's blocks are in chain order at the top,
 * and a block outside the request with its parent inside it has that parent
 * above it; nothing else moves.  Hence depths grow along a chain (the hit
 * set at any capacity is a leading run by itself) and a block never seen
 * has no descendant seen.
 * Claim: after each request, the prefix LRU cache of capacity c holds the
 * top c blocks of S.  Before a request it holds top_c(S); the lookup serves
 * exactly the blocks of depth <= c (a leading run, above); those are pinned
 * and the n - h new blocks are inserted, each evicting the least recently
 * used unpinned leaf.  Recency order of the cache = order of S (LRU touches
 * the request's blocks as one batch, and the cache keeps ancestors more
 * recent), so the lowest cached block outside the request is a leaf: its
 * cached children are below it and outside the request too (a child inside
 * the request would make it the request's block).  So evictions take the
 * lowest non-request blocks, leaving the request's blocks plus the top
 * c - n others: top_c of the new S.  If n > c the cache ends with blocks
 * 0..c-1 of the request (the rest finds no unpinned room), again top_c(S).
 * Reading distances after some of the request's blocks moved (e.g. plain LRU
 * on the reversed chain) is what breaks: block j would count blocks
 * j+1..n-1 of its own request, which the cache looked up before inserting.
 *
 * Costs: exact O(N log M) time; SHARDS at rate R, one hash per access plus
 * O(log(RM)) per sampled access; sweep: one O(N) replay per capacity.
 */
#include "mrc.h"
#include "replay.h"

#include <math.h>
#include <omp.h>
#define XXH_INLINE_ALL /* the sampling test runs on every access: inline XXH3 */
#include <xxhash.h>
#include <stdlib.h>
#include <string.h>

/* ---- the recency stack ------------------------------------------------------ */
#define LINE_WORDS 8 /* a block of times = 512 bits = one cache line of the bitset */

typedef struct rstack {
    cc_u64map last;   /* block -> time of its last use, 0.. */
    uint64_t *bits;   /* bit t set: some block was last used at time t */
    uint32_t *fen;    /* Fenwick tree over lines of bits: marks per line (1-based) */
    uint32_t *cum;    /* renumbering scratch: marks before each word */
    size_t words;     /* times 0 .. 64 * words - 1 */
    size_t alloc;     /* words allocated */
    size_t next;      /* next time to hand out */
    size_t live;      /* blocks in the stack */
} rstack;

static int rstack_alloc(rstack *s, size_t words)
{
    words = (words + LINE_WORDS - 1) / LINE_WORDS * LINE_WORDS;
    if (words > s->alloc) {
        uint64_t *bits = realloc(s->bits, words * sizeof *bits);
        if (!bits)
            return CC_ENOMEM;
        s->bits = bits;
        uint32_t *fen = realloc(s->fen, (words / LINE_WORDS + 1) * sizeof *fen);
        if (!fen)
            return CC_ENOMEM;
        s->fen = fen;
        uint32_t *cum = realloc(s->cum, words * sizeof *cum);
        if (!cum)
            return CC_ENOMEM;
        s->cum = cum;
        s->alloc = words;
    }
    s->words = words;
    return CC_OK;
}

static int rstack_init(rstack *s)
{
    memset(s, 0, sizeof *s);
    if (cc_u64map_init(&s->last, 1024) != CC_OK || rstack_alloc(s, 64) != CC_OK)
        return CC_ENOMEM;
    memset(s->bits, 0, s->words * sizeof *s->bits);
    memset(s->fen, 0, (s->words / LINE_WORDS + 1) * sizeof *s->fen);
    return CC_OK;
}

static void rstack_free(rstack *s)
{
    cc_u64map_free(&s->last);
    free(s->bits);
    free(s->fen);
    free(s->cum);
    memset(s, 0, sizeof *s);
}

static inline void line_add(rstack *s, size_t line, int32_t delta)
{
    size_t n = s->words / LINE_WORDS;
    for (size_t i = line + 1; i <= n; i += i & (~i + 1))
        s->fen[i] += (uint32_t)delta;
}

static inline void mark(rstack *s, size_t t, int on)
{
    uint64_t bit = UINT64_C(1) << (t % 64);
    if (on)
        s->bits[t / 64] |= bit;
    else
        s->bits[t / 64] &= ~bit;
    line_add(s, t / 64 / LINE_WORDS, on ? 1 : -1);
}

/* Marks at times 0..t. */
static inline size_t marks_upto(const rstack *s, size_t t)
{
    size_t w = t / 64, line = w / LINE_WORDS, sum = 0;
    for (size_t i = line; i > 0; i &= i - 1)
        sum += s->fen[i];
    for (size_t k = line * LINE_WORDS; k < w; k++)
        sum += (size_t)__builtin_popcountll(s->bits[k]);
    uint64_t m = t % 64 == 63 ? UINT64_MAX : (UINT64_C(1) << (t % 64 + 1)) - 1;
    return sum + (size_t)__builtin_popcountll(s->bits[w] & m);
}

/* Distance of the block last used at time t (1 = most recent). */
static inline uint64_t distance_at(const rstack *s, uint64_t t)
{
    return (uint64_t)(s->live - marks_upto(s, (size_t)t)) + 1;
}

/* Live marks -> times 0..live-1 in the same order; room for live + 4096 more. */
static int renumber(rstack *s)
{
    cc_u64map *m = &s->last;
    uint32_t c = 0;
    for (size_t k = 0; k < s->words; k++) {
        s->cum[k] = c;
        c += (uint32_t)__builtin_popcountll(s->bits[k]);
    }
#define RANK(t) (s->cum[(t) / 64] + (uint64_t)__builtin_popcountll(s->bits[(t) / 64] & \
                                                                   ((UINT64_C(1) << ((t) % 64)) - 1)))
    for (size_t k = 0; k < m->cap; k++)
        if (m->keys[k] != CC_U64MAP_EMPTY)
            m->vals[k] = RANK(m->vals[k]);
    if (m->has_empty_key)
        m->empty_key_val = RANK(m->empty_key_val);
#undef RANK
    size_t times = 2 * s->live + 4096;
    if (rstack_alloc(s, (times + 63) / 64) != CC_OK)
        return CC_ENOMEM;
    memset(s->bits, 0, s->words * sizeof *s->bits);
    for (size_t t = 0; t < s->live; t++)
        s->bits[t / 64] |= UINT64_C(1) << (t % 64);
    size_t n = s->words / LINE_WORDS;
    memset(s->fen, 0, (n + 1) * sizeof *s->fen);
    for (size_t i = 1; i <= n; i++) {
        for (size_t k = (i - 1) * LINE_WORDS; k < i * LINE_WORDS; k++)
            s->fen[i] += (uint32_t)__builtin_popcountll(s->bits[k]);
        size_t j = i + (i & (~i + 1));
        if (j <= n)
            s->fen[j] += s->fen[i];
    }
    s->next = s->live;
    return CC_OK;
}

/* Distance of key now (0 = not in the stack), without moving it. */
static inline uint64_t rstack_depth(const rstack *s, uint64_t key)
{
    const uint64_t *t = cc_u64map_get(&s->last, key);
    return t ? distance_at(s, *t) : 0;
}

/* Moves key to the top; *dist gets its distance before (0 = new), *added
 * whether it entered the stack.  CC_ENOMEM on failure. */
static inline int rstack_touch(rstack *s, uint64_t key, uint64_t *dist, int *added)
{
    if (s->next == 64 * s->words && renumber(s) != CC_OK)
        return CC_ENOMEM;
    uint64_t t = s->next++, *slot;
    int r = cc_u64map_put(&s->last, key, t, &slot);
    if (r < 0)
        return CC_ENOMEM;
    if (r == 1) {
        s->live++;
        *dist = 0;
    } else {
        *dist = distance_at(s, *slot);
        mark(s, (size_t)*slot, 0);
        *slot = t;
    }
    *added = r == 1;
    mark(s, (size_t)t, 1);
    return CC_OK;
}

static void rstack_remove(rstack *s, uint64_t key)
{
    uint64_t *t = cc_u64map_get(&s->last, key);
    if (!t)
        return;
    mark(s, (size_t)*t, 0);
    cc_u64map_del(&s->last, key);
    s->live--;
}

/* ---- the histogram of (scaled) distances ---------------------------------------- */
typedef struct bin {
    double w, tok; /* together: one cache miss per access, not two */
} bin;

/* Bins are added HIST_LAG accesses late, after a prefetch: the bin of a long
 * distance is a cache miss, and the lag lets the next accesses' work overlap
 * it.  With the map prefetch (PREFETCH_AHEAD) this took the exact pass on a
 * Zipf stream over 1M blocks from 2.3 to ~6 M accesses/s on a 2-core VM. */
#define HIST_LAG 8

typedef struct hist {
    bin *b;            /* bins 0..used-1 (bin = capacity from which the access hits) */
    size_t used, cap;
    uint64_t max_bin;  /* larger bins are clamped here (no capacity needs more) */
    double total, total_tok;
    struct {
        size_t at;
        double w, tok;
    } lag[HIST_LAG];   /* additions not yet applied, oldest at lag_head */
    unsigned lag_n, lag_head;
} hist;

static inline void hist_apply_oldest(hist *h)
{
    unsigned k = h->lag_head;
    h->b[h->lag[k].at].w += h->lag[k].w;
    h->b[h->lag[k].at].tok += h->lag[k].tok;
    h->lag_head = (k + 1) % HIST_LAG;
    h->lag_n--;
}

static void hist_flush(hist *h)
{
    while (h->lag_n)
        hist_apply_oldest(h);
}

static inline int hist_add(hist *h, uint64_t at, double w, double tok)
{
    h->total += w;
    h->total_tok += tok;
    if (at == 0) /* cold: misses at every capacity */
        return CC_OK;
    if (at > h->max_bin)
        at = h->max_bin;
    if (at >= h->used) {
        size_t need = (size_t)at + 1;
        if (cc_grow((void **)&h->b, &h->cap, need, sizeof *h->b))
            return CC_ENOMEM;
        memset(h->b + h->used, 0, (need - h->used) * sizeof *h->b);
        h->used = need;
    }
    __builtin_prefetch(&h->b[at], 1);
    if (h->lag_n == HIST_LAG)
        hist_apply_oldest(h);
    unsigned k = (h->lag_head + h->lag_n++) % HIST_LAG;
    h->lag[k].at = (size_t)at;
    h->lag[k].w = w;
    h->lag[k].tok = tok;
    return CC_OK;
}

/* ---- SHARDS' fixed-size sample set: a max-heap of (hash, block) ------------------ */
typedef struct hentry {
    uint64_t hash, key;
} hentry;

static inline int hgt(const hentry *a, const hentry *b)
{
    return a->hash != b->hash ? a->hash > b->hash : a->key > b->key;
}

static void heap_push(hentry *h, size_t *n, hentry e)
{
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!hgt(&e, &h[p]))
            break;
        h[i] = h[p];
        i = p;
    }
    h[i] = e;
}

static hentry heap_pop(hentry *h, size_t *n)
{
    hentry top = h[0], e = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n)
            break;
        if (c + 1 < *n && hgt(&h[c + 1], &h[c]))
            c++;
        if (!hgt(&h[c], &e))
            break;
        h[i] = h[c];
        i = c;
    }
    if (*n)
        h[i] = e;
    return top;
}

/* ---- one pass ------------------------------------------------------------------ */
#define PREFETCH_AHEAD 16 /* accesses between a map slot's prefetch and its use */

typedef struct pass {
    const cc_mrc_opts *o;
    rstack st;
    hist h;
    bool shards, all;      /* sample everything (exact, or R = 1) */
    uint64_t thresh;       /* sampled iff hash < thresh */
    double rate;           /* thresh / 2^64 (1 when all) */
    hentry *heap;          /* fixed size */
    size_t heap_n;
    uint64_t *hashes;      /* per block of the current request (prefix mode, SHARDS) */
    size_t cap_hashes;
    cc_u64map pred;        /* exact prefix mode: block -> its first predecessor (check_pred) */
    cc_u64map pred_hash_first;
    bool check_pred;
    uint64_t sampled, sampled_tokens, inconsistent;
} pass;

static inline uint64_t block_hash(const pass *p, uint64_t key)
{
    return XXH3_64bits_withSeed(&key, sizeof key, p->o->seed); /* = cc_hash_bytes */
}

static inline bool is_sampled(const pass *p, uint64_t hash)
{
    return p->all || hash < p->thresh;
}

/* Bin of an effective distance d (0 = cold) measured at rate R: the d - 1
 * sampled blocks used since stand for (d - 1) / R blocks. */
static inline uint64_t bin_of(const pass *p, uint64_t d, double rate)
{
    if (d == 0 || rate == 1.0)
        return d;
    double b = ceil(1.0 + (double)(d - 1) / rate);
    return b >= (double)p->h.max_bin ? p->h.max_bin : (uint64_t)b;
}

/* Moves a sampled block to the top; with a fixed-size sample, a block that
 * enters may push the largest hash out and lower the rate. */
static int touch(pass *p, uint64_t key, uint64_t hash, uint64_t *dist)
{
    int added;
    if (rstack_touch(&p->st, key, dist, &added) != CC_OK)
        return CC_ENOMEM;
    if (added && p->heap) {
        heap_push(p->heap, &p->heap_n, (hentry){hash, key});
        while (p->st.live > p->o->max_samples ||
               (p->heap_n && !p->all && p->heap[0].hash >= p->thresh)) {
            hentry out = heap_pop(p->heap, &p->heap_n);
            rstack_remove(&p->st, out.key);
            p->all = false;
            p->thresh = out.hash;
            p->rate = ldexp((double)out.hash, -64);
        }
    }
    return CC_OK;
}

static int request_independent(pass *p, const uint64_t *b, uint32_t n, uint32_t input,
                               uint32_t bs)
{
    for (uint32_t j = 0; j < n; j++) {
        uint32_t tok = bs ? cc_pc_block_tokens(input, bs, j) : 1;
        uint64_t hash = p->shards ? block_hash(p, b[j]) : 0;
        if (!is_sampled(p, hash))
            continue;
        double rate = p->rate, w = 1.0 / rate; /* touch may lower p->rate */
        uint64_t d;
        p->sampled++;
        p->sampled_tokens += tok;
        if (touch(p, b[j], hash, &d) != CC_OK ||
            hist_add(&p->h, bin_of(p, d, rate), w, w * tok) != CC_OK)
            return CC_ENOMEM;
    }
    return CC_OK;
}

/* The predecessor check (exact prefix mode) keeps, per block, the block
 * before it where it was first seen: its hash, or PRED_FIRST when it came
 * first in its request.  A block whose predecessor's hash is PRED_FIRST
 * itself is also put in pred_first_is_hash, so the value stays exact. */
#define PRED_FIRST UINT64_C(0x9e3779b97f4a7c15)

static int check_pred(pass *p, const uint64_t *b, uint32_t j)
{
    uint64_t *first, want = j ? b[j - 1] : PRED_FIRST;
    int r = cc_u64map_put(&p->pred, b[j], want, &first);
    if (r < 0)
        return CC_ENOMEM;
    if (r == 1) {
        if (j && want == PRED_FIRST &&
            cc_u64map_put(&p->pred_hash_first, b[j], 0, NULL) < 0)
            return CC_ENOMEM;
        return CC_OK;
    }
    uint64_t had = *first;
    int had_first = had == PRED_FIRST && !cc_u64map_get(&p->pred_hash_first, b[j]);
    if (j ? had_first || had != b[j - 1] : !had_first)
        p->inconsistent++;
    return CC_OK;
}

static int request_prefix(pass *p, const uint64_t *b, uint32_t n, uint32_t input, uint32_t bs)
{
    if (p->shards && cc_grow((void **)&p->hashes, &p->cap_hashes, n, sizeof *p->hashes))
        return CC_ENOMEM;
    /* every lookup sees the stack as it was before the request */
    uint64_t eff = 1; /* max distance so far; 0 once a block was cold */
    for (uint32_t j = 0; j < n; j++) {
        uint32_t tok = bs ? cc_pc_block_tokens(input, bs, j) : 1;
        if (p->check_pred && check_pred(p, b, j) != CC_OK)
            return CC_ENOMEM;
    uint64_t hash = 0;
        if (p->shards) {
            hash = p->hashes[j] = block_hash(p, b[j]);
            if (!is_sampled(p, hash))
                continue;
        }
        uint64_t d = rstack_depth(&p->st, b[j]);
        if (d == 0 || eff == 0)
            eff = 0;
        else if (d > eff)
            eff = d;
        double w = 1.0 / p->rate;
        p->sampled++;
        p->sampled_tokens += tok;
        if (hist_add(&p->h, bin_of(p, eff, p->rate), w, w * tok) != CC_OK)
            return CC_ENOMEM;
    }
    /* then the request's blocks go to the top, block 0 topmost */
    for (uint32_t j = n; j-- > 0;) {
        uint64_t d, hash = p->shards ? p->hashes[j] : 0;
        if (is_sampled(p, hash) && touch(p, b[j], hash, &d) != CC_OK)
            return CC_ENOMEM;
    }
    return CC_OK;
}

static int check_opts(const cc_mrc_opts *o, cc_err *err)
{
    if (o->mode != CC_PC_PREFIX && o->mode != CC_PC_INDEPENDENT)
        return cc_err_set(err, CC_EARG, NULL, 0, "mode", "expected prefix or independent");
    if (o->method == CC_MRC_EXACT)
        return CC_OK;
    if (o->method != CC_MRC_SHARDS)
        return cc_err_set(err, CC_EARG, NULL, 0, "method", "expected exact or shards");
    double r = o->sample_rate;
    if (o->max_samples && r == 0)
        return CC_OK;
    if (!(r > 0 && r <= 1))
        return cc_err_set(err, CC_EARG, NULL, 0, "sample_rate",
                          "expected a sampling rate in (0, 1], got %g", r);
    return CC_OK;
}

/* ---- a pass fed in pieces ---------------------------------------------------------- */
struct cc_mrc_stream {
    pass p;
    cc_mrc_opts opts;   /* as run (p.o points here) */
    uint64_t declared;  /* accesses announced at the start (UINT64_MAX: unknown) */
    uint64_t accesses, tokens;
};

static void pass_free(pass *p)
{
    rstack_free(&p->st);
    free(p->h.b);
    free(p->heap);
    free(p->hashes);
    if (p->check_pred) {
        cc_u64map_free(&p->pred);
        cc_u64map_free(&p->pred_hash_first);
    }
}

void cc_mrc_stream_free(cc_mrc_stream *s)
{
    if (!s)
        return;
    pass_free(&s->p);
    free(s);
}

/* prefix_check: whether requests of several blocks come (prefix mode checks
 * each block's predecessor); keys streams have none. */
static int stream_begin(const cc_mrc_opts *o, uint64_t accesses, int prefix_check,
                        cc_mrc_stream **out, cc_err *err)
{
    *out = NULL;
    int rc = check_opts(o, err);
    if (rc != CC_OK)
        return rc;
    if (o->method == CC_MRC_SHARDS && accesses == UINT64_MAX)
        return cc_err_set(err, CC_EARG, NULL, 0, "accesses",
                          "SHARDS needs the number of block accesses before the pass "
                          "(its largest distance bin)");
    cc_mrc_stream *s = calloc(1, sizeof *s);
    if (!s)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the miss-ratio curve");
    s->opts = *o;
    if (o->method == CC_MRC_EXACT) {
        s->opts.sample_rate = 1;
        s->opts.max_samples = 0;
        s->opts.seed = 0;
        s->opts.no_adjust = false;
    } else if (o->max_samples && o->sample_rate == 0) {
        s->opts.sample_rate = 1;
    }
    s->declared = accesses;
    pass *p = &s->p;
    p->o = &s->opts;
    p->shards = o->method == CC_MRC_SHARDS;
    p->rate = p->shards ? s->opts.sample_rate : 1.0;
    p->all = p->rate >= 1.0;
    p->rate = p->all ? 1.0 : p->rate;
    p->thresh = p->all ? UINT64_MAX : (uint64_t)ldexp(p->rate, 64);
    /* exact: a distance is at most the distinct blocks, never past N */
    p->h.max_bin = accesses == UINT64_MAX ? UINT64_MAX : accesses ? accesses : 1;
    p->check_pred = !p->shards && o->mode == CC_PC_PREFIX && prefix_check;
    rc = rstack_init(&p->st);
    if (rc == CC_OK && p->check_pred) {
        rc = cc_u64map_init(&p->pred, 1024);
        if (rc == CC_OK && (rc = cc_u64map_init(&p->pred_hash_first, 16)) != CC_OK)
            cc_u64map_free(&p->pred);
        if (rc != CC_OK)
            p->check_pred = false;
    }
    if (rc == CC_OK && p->shards && o->max_samples) {
        size_t hn = (size_t)(o->max_samples < accesses ? o->max_samples : accesses) + 2;
        p->heap = malloc(hn * sizeof *p->heap);
        if (!p->heap)
            rc = CC_ENOMEM;
    }
    if (rc != CC_OK) {
        cc_mrc_stream_free(s);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the miss-ratio curve");
    }
    *out = s;
    return CC_OK;
}

int cc_mrc_stream_begin(const cc_mrc_opts *o, uint64_t accesses, cc_mrc_stream **out,
                        cc_err *err)
{
    return stream_begin(o, accesses, 1, out, err);
}

/* blocks/off/input: requests i = blocks[off[i] - off[0] .. off[i+1] - off[0]) with
 * input[i] tokens of bs per block; off == NULL: one block (one token) per request. */
static int feed(cc_mrc_stream *s, const uint64_t *blocks, const uint64_t *off,
                const uint32_t *input, uint32_t bs, size_t n_req)
{
    pass *p = &s->p;
    const cc_mrc_opts *o = &s->opts;
    uint64_t base = off && n_req ? off[0] : 0;
    size_t N = off ? (n_req ? (size_t)(off[n_req] - base) : 0) : n_req;
    if (s->declared != UINT64_MAX && N > s->declared - s->accesses)
        return CC_EFORMAT;
    uint64_t tokens = s->tokens;
    size_t pf = 0; /* blocks whose map slots were prefetched (exact pass) */
    int rc = CC_OK;
    for (size_t i = 0; i < n_req && rc == CC_OK; i++) {
        if (!p->shards) {
            size_t end = (off ? (size_t)(off[i + 1] - base) : i + 1) + PREFETCH_AHEAD;
            for (; pf < N && pf < end; pf++) {
                cc_u64map_prefetch(&p->st.last, blocks[pf]);
                if (p->check_pred)
                    cc_u64map_prefetch(&p->pred, blocks[pf]);
            }
        }
        const uint64_t *b = off ? blocks + (off[i] - base) : blocks + i;
        uint32_t n = off ? (uint32_t)(off[i + 1] - off[i]) : 1;
        uint32_t in = input ? input[i] : 1;
        for (uint32_t j = 0; j < n; j++)
            tokens += bs ? cc_pc_block_tokens(in, bs, j) : 1;
        if (o->mode == CC_PC_INDEPENDENT || !off)
            rc = request_independent(p, b, n, in, bs);
        else
            rc = request_prefix(p, b, n, in, bs);
    }
    s->tokens = tokens;
    s->accesses += N;
    return rc;
}

int cc_mrc_stream_feed(cc_mrc_stream *s, const cc_trace *w, cc_err *err)
{
    if (w->n && (!w->blocks || w->block_size == 0))
        return cc_err_set(err, CC_EUNSUP, w->source, 0, "blocks",
                          "the trace has no block hashes for a miss-ratio curve");
    int rc = feed(s, w->blocks, w->block_off, w->input_tokens, w->block_size, w->n);
    if (rc == CC_EFORMAT)
        return cc_err_set(err, CC_EFORMAT, w->source, 0, "blocks",
                          "more block accesses than the %llu the trace announced",
                          (unsigned long long)s->declared);
    if (rc != CC_OK)
        return cc_err_set(err, CC_ENOMEM, w->source, 0, NULL,
                          "out of memory for the miss-ratio curve");
    return CC_OK;
}

int cc_mrc_stream_end(cc_mrc_stream *s, const char *source, cc_mrc *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    pass *p = &s->p;
    const cc_mrc_opts *o = &s->opts;
    if (s->declared != UINT64_MAX && s->accesses != s->declared) {
        uint64_t d = s->declared, a = s->accesses;
        cc_mrc_stream_free(s);
        return cc_err_set(err, CC_EFORMAT, source, 0, "blocks",
                          "%llu block accesses, not the %llu the trace announced",
                          (unsigned long long)a, (unsigned long long)d);
    }
    uint64_t N = s->accesses;
    out->opts = *o;
    out->accesses = N;
    out->tokens = s->tokens;
    out->sampled_accesses = p->sampled;
    out->sampled_blocks = p->st.live;
    out->final_rate = p->rate;
    out->distinct_estimate = (double)p->st.live / p->rate;
    out->inconsistent_accesses = p->inconsistent;
    if (p->shards && !o->no_adjust) {
        /* SHARDS_adj: the sampled accesses, each weighing 1/R at its time,
         * should add up to N; the difference goes to the first bin (at a
         * fixed rate this is the paper's N * R - Ns, in units of 1/R) */
        double dw = (double)N - p->h.total, dt = (double)s->tokens - p->h.total_tok;
        if (hist_add(&p->h, 1, dw, dt) != CC_OK)
            goto fail;
    }
    hist_flush(&p->h);
    /* cumulative: hits at capacity c = weight of bins 1..c */
    size_t nb = p->h.used ? p->h.used : 1;
    out->hits = malloc(nb * sizeof *out->hits);
    out->hit_tokens = malloc(nb * sizeof *out->hit_tokens);
    if (!out->hits || !out->hit_tokens)
        goto fail;
    out->hits[0] = out->hit_tokens[0] = 0;
    for (size_t c = 1; c < p->h.used; c++) {
        out->hits[c] = out->hits[c - 1] + p->h.b[c].w;
        out->hit_tokens[c] = out->hit_tokens[c - 1] + p->h.b[c].tok;
    }
    out->n_bins = nb;
    out->total = p->h.total;
    out->total_tokens = p->h.total_tok;
    cc_mrc_stream_free(s);
    return CC_OK;
fail:
    cc_mrc_stream_free(s);
    cc_mrc_free(out);
    return cc_err_set(err, CC_ENOMEM, source, 0, NULL, "out of memory for the miss-ratio curve");
}

/* The whole trace (or key stream) as one piece. */
static int run(const uint64_t *blocks, const uint64_t *off, const uint32_t *input, uint32_t bs,
               size_t n_req, const cc_mrc_opts *o, const char *source, cc_mrc *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    size_t N = off ? (n_req ? off[n_req] : 0) : n_req;
    cc_mrc_stream *s;
    int rc = stream_begin(o, N, off != NULL, &s, err);
    if (rc != CC_OK) {
        if (rc == CC_ENOMEM && err)
            snprintf(err->file, sizeof err->file, "%s", source ? source : "");
        return rc;
    }
    if (feed(s, blocks, off, input, bs, n_req) != CC_OK) {
        cc_mrc_stream_free(s);
        return cc_err_set(err, CC_ENOMEM, source, 0, NULL, "out of memory for the miss-ratio curve");
    }
    return cc_mrc_stream_end(s, source, out, err);
}

int cc_mrc_trace(const cc_trace *t, const cc_mrc_opts *o, cc_mrc *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    if (t->block_size == 0 || (t->n && !t->blocks))
        return cc_err_set(err, CC_EUNSUP, t->source, 0, "blocks",
                          "the trace has no block hashes for a miss-ratio curve");
    return run(t->blocks, t->block_off, t->input_tokens, t->block_size, t->n, o, t->source, out,
               err);
}

int cc_mrc_keys(const uint64_t *keys, size_t n, const cc_mrc_opts *o, cc_mrc *out, cc_err *err)
{
    return run(keys, NULL, NULL, 0, n, o, NULL, out, err);
}

void cc_mrc_free(cc_mrc *m)
{
    free(m->hits);
    free(m->hit_tokens);
    m->hits = m->hit_tokens = NULL;
    m->n_bins = 0;
}

static double ratio(const double *cum, size_t n_bins, double total, uint64_t capacity)
{
    if (!(total > 0) || !cum)
        return 0;
    double h = cum[capacity < n_bins ? capacity : n_bins - 1] / total;
    return h < 0 ? 0 : h > 1 ? 1 : h;
}

double cc_mrc_miss_ratio(const cc_mrc *m, uint64_t capacity_blocks)
{
    return 1.0 - ratio(m->hits, m->n_bins, m->total, capacity_blocks);
}

double cc_mrc_token_hit_ratio(const cc_mrc *m, uint64_t capacity_blocks)
{
    return ratio(m->hit_tokens, m->n_bins, m->total_tokens, capacity_blocks);
}

size_t cc_mrc_auto_sizes(uint64_t distinct, unsigned octaves, uint64_t *out, size_t max)
{
    size_t n = 0;
    uint64_t prev = 0;
    if (distinct == 0)
        distinct = 1;
    for (unsigned k = 2 * octaves + 1; k-- > 0;) {
        double c = floor((double)distinct * pow(2.0, -0.5 * k) + 0.5);
        uint64_t v = c < 1 ? 1 : (uint64_t)c;
        if (v > distinct)
            v = distinct;
        if (n && v == prev)
            continue;
        if (n == max)
            break;
        out[n++] = prev = v;
    }
    return n;
}

/* ---- any policy: one replay per capacity ----------------------------------------- */
static int count_distinct(const cc_trace *t, uint64_t *out)
{
    cc_u64map m;
    size_t n = cc_trace_n_blocks_total(t);
    if (cc_u64map_init(&m, n) != CC_OK)
        return CC_ENOMEM;
    for (size_t i = 0; i < n; i++)
        if (cc_u64map_put(&m, t->blocks[i], 0, NULL) < 0) {
            cc_u64map_free(&m);
            return CC_ENOMEM;
        }
    *out = m.count;
    cc_u64map_free(&m);
    return CC_OK;
}

int cc_mrc_sweep(const cc_trace *t, const cc_pc_config *cfg, const uint64_t *capacities,
                 size_t n, int threads, cc_mrc_progress_fn progress, void *ctx,
                 double *miss_ratio, double *token_hit_ratio, cc_err *err)
{
    if (cfg->n_tiers < 1)
        return cc_err_set(err, CC_EARG, NULL, 0, "tiers",
                          "a miss-ratio sweep takes a cache of one tier or more, got none");
    if (t->block_size == 0 || (t->n && !t->blocks))
        return cc_err_set(err, CC_EUNSUP, t->source, 0, "blocks",
                          "the trace has no block hashes for a miss-ratio curve");
    uint64_t distinct;
    if (count_distinct(t, &distinct) != CC_OK)
        return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory");
    /* largest caches first: they tend to take longest, so the tail is short */
    size_t *order = malloc((n ? n : 1) * sizeof *order);
    if (!order)
        return cc_err_set(err, CC_ENOMEM, t->source, 0, NULL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        size_t k = i;
        while (k > 0 && capacities[order[k - 1]] < capacities[i]) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
    if (threads <= 0)
        threads = omp_get_num_procs();
    int failed = 0;
    size_t done = 0;
    cc_err first = {0};

#pragma omp parallel for schedule(dynamic, 1) num_threads(threads)
    for (long k = 0; k < (long)n; k++) {
        size_t i = order[k];
        int stop;
#pragma omp atomic read
        stop = failed;
        if (stop)
            continue;
        uint64_t cap = capacities[i];
        if (cap == 0 && cfg->n_tiers == 1) { /* nothing fits: everything misses */
            miss_ratio[i] = 1;
            token_hit_ratio[i] = 0;
        } else {
            cc_pc_config c = *cfg;
            /* a cache that holds every block is the unbounded one (0) */
            c.tiers[0].capacity_blocks = cap >= distinct ? 0 : cap;
            cc_replay_result r;
            cc_err e = {0};
            cc_replay_opts ro = {.concurrency = CC_CONCURRENCY_NONE};
            int rc = cc_replay(t, &c, &ro, &r, &e);
            if (rc != CC_OK) {
#pragma omp critical(cc_mrc_sweep_error)
                if (!failed) {
                    first = e;
                    first.code = rc;
#pragma omp atomic write
                    failed = rc;
                }
                continue;
            }
            miss_ratio[i] = 1.0 - r.block_hit_ratio;
            token_hit_ratio[i] = r.token_hit_ratio;
            cc_replay_result_free(&r);
        }
#pragma omp critical(cc_mrc_sweep_progress)
        {
            done++;
            if (progress)
                progress(ctx, done, n);
        }
    }
    free(order);
    if (failed) {
        if (err)
            *err = first;
        return failed;
    }
    return CC_OK;
}
