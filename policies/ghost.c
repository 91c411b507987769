/*
 * ghost.c -- the ghost directory of queue-based policies (s3fifo, arc):
 * keys of evicted blocks in FIFO lists, found by key, removable from
 * anywhere.  The layout, memory and costs are in slot_list.h.
 *
 * Invariants.  Ring positions are logical (monotone u64); the entry of
 * position p is p % rcap.  Positions [low, head) hold keys or holes, where
 * low is the smallest tail of a list that has keys; every live key of list
 * l lies at or after tail[l], and between tail[l] and its oldest key there
 * are only holes and other lists' keys.  A list without keys has no say in
 * low (its tail is reset to head when it gets one).  The table holds
 * exactly the live keys.
 */
#include "slot_list.h"

static inline uint32_t home_of(const cc_ghost *g, uint64_t key)
{
    uint32_t h = (uint32_t)(cc_block_index_mix(key) >> 32);
    return (uint32_t)(((uint64_t)h * g->tcap) >> 32);
}

/* A table entry: ring entry + 1 in the low ibits bits, the entry's distance
 * from its home (saturated at dmax) above them. */
static inline uint32_t ent_idx(const cc_ghost *g, uint32_t t) { return t & g->imask; }
static inline uint32_t ent_disp(const cc_ghost *g, uint32_t t) { return t >> g->ibits; }
static inline uint32_t ent_make(const cc_ghost *g, uint32_t idx1, uint32_t d)
{
    return (d < g->dmax ? d : g->dmax) << g->ibits | idx1;
}

/* Home of the entry held at table position j. */
static inline uint32_t ent_home(const cc_ghost *g, uint32_t t, uint32_t j)
{
    uint32_t d = ent_disp(g, t);
    if (d < g->dmax)
        return j >= d ? j - d : j + g->tcap - d;
    return home_of(g, g->key[ent_idx(g, t) - 1]);
}

static inline uint32_t inc(const cc_ghost *g, uint32_t phys)
{
    return ++phys == g->rcap ? 0 : phys;
}

void cc_ghost_free(cc_ghost *g)
{
    free(g->key);
    free(g->list);
    free(g->tab);
    memset(g, 0, sizeof *g);
}

/* Ring and table sizes for cap keys. */
static void sizes(uint32_t cap, int sparse, uint64_t *rcap, uint64_t *tcap)
{
    uint64_t slack = cap / 8 < 16 ? 16 : cap / 8;
    *rcap = cap + slack;
    *tcap = sparse ? 2 * (uint64_t)cap              /* load <= 1/2 */
                   : (3 * (uint64_t)cap + 1) / 2;   /* load <= 2/3 */
    if (*tcap < 16)
        *tcap = 16;
}

double cc_ghost_bytes_per_key(uint32_t cap, int sparse)
{
    if (cap == 0)
        cap = 1;
    uint64_t rcap, tcap;
    sizes(cap, sparse, &rcap, &tcap);
    return ((double)rcap * (sizeof(uint64_t) + 1) + (double)tcap * sizeof(uint32_t)) / cap;
}

uint64_t cc_ghost_memory_bytes(const cc_ghost *g)
{
    return (uint64_t)g->rcap * (sizeof *g->key + sizeof *g->list) +
           (uint64_t)g->tcap * sizeof *g->tab;
}

int cc_ghost_init(cc_ghost *g, uint32_t cap, int sparse)
{
    memset(g, 0, sizeof *g);
    if (cap == 0)
        cap = 1;
    uint64_t rcap, tcap;
    sizes(cap, sparse, &rcap, &tcap);
    if (rcap >= (UINT32_C(1) << 30) || tcap >= UINT32_MAX)
        return CC_ERANGE;
    g->cap = cap;
    g->rcap = (uint32_t)rcap;
    g->tcap = (uint32_t)tcap;
    g->ibits = 1;
    while ((UINT64_C(1) << g->ibits) <= rcap) /* ring entry + 1 <= rcap */
        g->ibits++;
    g->imask = (UINT32_C(1) << g->ibits) - 1;
    g->dmax = (UINT32_C(1) << (32 - g->ibits)) - 1;
    g->key = malloc((size_t)g->rcap * sizeof *g->key);
    g->list = malloc(g->rcap);
    g->tab = calloc(g->tcap, sizeof *g->tab);
    if (!g->key || !g->list || !g->tab) {
        cc_ghost_free(g);
        return CC_ENOMEM;
    }
    return CC_OK;
}

uint32_t cc_ghost_find(const cc_ghost *g, uint64_t key)
{
    uint32_t i = home_of(g, key);
    for (uint32_t d = 0;; d++) {
        uint32_t t = g->tab[i];
        if (!t)
            return CC_SLOT_NONE;
        /* only an entry with the same home (distance d) can hold key: the
         * ring is read for those alone (and for saturated distances) */
        uint32_t ed = ent_disp(g, t);
        if ((ed == d || (ed == g->dmax && d >= g->dmax)) && g->key[ent_idx(g, t) - 1] == key)
            return ent_idx(g, t) - 1;
        if (++i == g->tcap)
            i = 0;
    }
}

/* The table slot holding ring entry e (whose key is key). */
static uint32_t tab_slot(const cc_ghost *g, uint64_t key, uint32_t e)
{
    uint32_t i = home_of(g, key);
    while (ent_idx(g, g->tab[i]) != e + 1)
        if (++i == g->tcap)
            i = 0;
    return i;
}

static void tab_delete(cc_ghost *g, uint32_t hole)
{
    /* backward shift: an entry after the hole moves into it unless its home
     * lies cyclically in (hole, j] */
    uint32_t j = hole;
    for (;;) {
        if (++j == g->tcap)
            j = 0;
        uint32_t t = g->tab[j];
        if (!t)
            break;
        uint32_t home = ent_home(g, t, j);
        int stays = hole <= j ? (hole < home && home <= j) : (hole < home || home <= j);
        if (stays)
            continue;
        g->tab[hole] = ent_make(g, ent_idx(g, t), hole >= home ? hole - home
                                                               : hole + g->tcap - home);
        hole = j;
    }
    g->tab[hole] = 0;
}

/* Moves list l's tail forward to its oldest key (the list has keys). */
static void settle_tail(cc_ghost *g, uint32_t l)
{
    while (g->list[g->tphys[l]] != l) {
        g->tail[l]++;
        g->tphys[l] = inc(g, g->tphys[l]);
    }
}

void cc_ghost_remove(cc_ghost *g, uint32_t e)
{
    uint32_t l = g->list[e];
    tab_delete(g, tab_slot(g, g->key[e], e));
    g->list[e] = CC_GHOST_HOLE;
    g->count[l]--;
    g->n--;
}

uint32_t cc_ghost_oldest(cc_ghost *g, uint32_t l)
{
    if (!g->count[l])
        return CC_SLOT_NONE;
    settle_tail(g, l);
    return g->tphys[l];
}

/* Smallest tail of a list with keys, and its entry; head if none. */
static uint64_t low_of(const cc_ghost *g, uint32_t *phys)
{
    uint64_t low = g->head;
    *phys = g->hphys;
    for (uint32_t l = 0; l < CC_GHOST_LISTS; l++)
        if (g->count[l] && g->tail[l] < low) {
            low = g->tail[l];
            *phys = g->tphys[l];
        }
    return low;
}

/* Moves the live keys of [low, head) together at low, in order. */
static void compact(cc_ghost *g)
{
    uint32_t rp, wp;
    uint64_t low = low_of(g, &rp), w = low;
    wp = rp;
    int seen[CC_GHOST_LISTS] = {0};
    for (uint64_t p = low; p < g->head; p++, rp = inc(g, rp)) {
        uint32_t l = g->list[rp];
        if (l == CC_GHOST_HOLE)
            continue;
        if (rp != wp) {
            uint64_t k = g->key[rp];
            uint32_t ts = tab_slot(g, k, rp);
            g->tab[ts] = (g->tab[ts] & ~g->imask) | (wp + 1);
            g->key[wp] = k;
            g->list[wp] = (uint8_t)l;
        }
        if (!seen[l]) {
            seen[l] = 1;
            g->tail[l] = w;
            g->tphys[l] = wp;
        }
        w++;
        wp = inc(g, wp);
    }
    g->head = w;
    g->hphys = wp;
    g->compactions++;
}

void cc_ghost_add(cc_ghost *g, uint32_t l, uint64_t key)
{
    uint32_t old = cc_ghost_find(g, key);
    if (old != CC_SLOT_NONE)
        cc_ghost_remove(g, old);
    cc_ghost_push(g, l, key);
}

void cc_ghost_push(cc_ghost *g, uint32_t l, uint64_t key)
{
    uint32_t lp;
    if (g->head - low_of(g, &lp) == g->rcap) {
        for (uint32_t i = 0; i < CC_GHOST_LISTS; i++)
            if (g->count[i])
                settle_tail(g, i);
        if (g->head - low_of(g, &lp) == g->rcap)
            compact(g); /* n < cap: frees rcap - cap >= 16 entries at least */
    }
    if (!g->count[l]) {
        g->tail[l] = g->head;
        g->tphys[l] = g->hphys;
    }
    uint32_t e = g->hphys;
    g->key[e] = key;
    g->list[e] = (uint8_t)l;
    uint32_t i = home_of(g, key), d = 0;
    while (g->tab[i]) {
        if (++i == g->tcap)
            i = 0;
        d++;
    }
    g->tab[i] = ent_make(g, e + 1, d);
    g->head++;
    g->hphys = inc(g, e);
    g->count[l]++;
    g->n++;
}
