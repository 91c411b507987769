/* test_policies.c -- the policy registry and parameters, the keyed slot
 * heap, and LRU / FIFO driven through the operations table against
 * brute-force twins (plain arrays searched in O(n)) on random streams, with
 * random eligibility; plus properties every registered policy must have. */
#include "testutil.h"
#include "policies/policy.h"

#include <gsl/gsl_rng.h>
#include <sys/prctl.h>

/* ---- registry and parameters ------------------------------------------------ */
static void test_registry(void **state)
{
    (void)state;
    assert_true(cc_policy_count() >= 2);
    assert_non_null(cc_policy_find("lru"));
    assert_non_null(cc_policy_find("fifo"));
    assert_null(cc_policy_find("nope"));
    for (size_t i = 0; i < cc_policy_count(); i++) {
        const cc_policy_ops *o = cc_policy_at(i);
        assert_ptr_equal(cc_policy_find(o->name), o);
        assert_non_null(o->summary);
        assert_non_null(o->create);
        assert_non_null(o->destroy);
        assert_non_null(o->on_insert);
        assert_non_null(o->on_hit);
        assert_non_null(o->on_remove);
        assert_non_null(o->choose_victim);
        assert_true(o->bytes_per_slot > 0);
    }
    assert_null(cc_policy_at(cc_policy_count()));

    const cc_policy_ops *ops;
    cc_policy_params p;
    cc_err e = {0};
    assert_int_equal(cc_policy_parse("fifo", &ops, &p, &e), CC_OK);
    assert_string_equal(ops->name, "fifo");
    assert_int_equal(p.n, 0);
    assert_int_equal(cc_policy_parse("lru( small = 0.1 ,x=2)", &ops, &p, &e), CC_OK);
    assert_string_equal(ops->name, "lru");
    assert_int_equal(p.n, 2);
    assert_string_equal(p.kv[0].key, "small");
    assert_string_equal(p.kv[0].value, "0.1");
    assert_string_equal(p.kv[1].key, "x");
    double v;
    assert_int_equal(cc_policy_param_double(&p, "small", 0.5, 0, 1, &v, &e), CC_OK);
    assert_float_equal(v, 0.1, 1e-15);
    assert_int_equal(cc_policy_param_double(&p, "absent", 0.5, 0, 1, &v, &e), CC_OK);
    assert_float_equal(v, 0.5, 0);
    assert_int_equal(cc_policy_param_double(&p, "x", 0.5, 0, 1, &v, &e), CC_EARG);
    assert_string_equal(e.field, "x");
    /* LRU has no parameters: creating it with some fails, naming the key */
    cc_policy pol;
    assert_int_equal(cc_policy_create(ops, &p, 10, &pol, &e), CC_EARG);
    assert_string_equal(e.field, "small");
    assert_int_equal(cc_policy_create(ops, NULL, 0, &pol, &e), CC_EARG);

    static const struct {
        const char *spec;
        const char *needle;
    } bad[] = {
        {"", "empty"},
        {"nope", "unknown policy 'nope' (known: lru, fifo"},
        {"lru(x=1", "closing"},
        {"lru(x)", "not key=value"},
        {"lru(=1)", "empty"},
        {"lru(a=1,b=2,c=3,d=4,e=5,f=6,g=7,h=8,i=9)", "more than"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(cc_policy_parse(bad[i].spec, &ops, &p, &e), CC_EARG);
        assert_string_equal(e.field, "policy");
        if (!strstr(e.msg, bad[i].needle))
            fail_msg("spec '%s': message '%s' lacks '%s'", bad[i].spec, e.msg, bad[i].needle);
    }
}

/* ---- slot heap against a linear scan --------------------------------------------- */
static void test_slot_heap(void **state)
{
    (void)state;
    enum { CAP = 300, OPS = 200000 };
    cc_slot_heap h;
    assert_int_equal(cc_slot_heap_init(&h, CAP), CC_OK);
    static int in[CAP];
    static uint64_t key[CAP];
    memset(in, 0, sizeof in);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 7);
    for (int op = 0; op < OPS; op++) {
        uint32_t s = (uint32_t)gsl_rng_uniform_int(r, CAP);
        uint64_t k = gsl_rng_uniform_int(r, 50); /* many ties */
        switch (gsl_rng_uniform_int(r, 3)) {
        case 0:
            if (!in[s]) {
                key[s] = k;
                cc_slot_heap_set_key(&h, s, k);
                cc_slot_heap_push(&h, s);
                in[s] = 1;
            }
            break;
        case 1:
            cc_slot_heap_remove(&h, s);
            in[s] = 0;
            break;
        default:
            key[s] = k;
            cc_slot_heap_set_key(&h, s, k);
        }
        uint32_t best = CC_SLOT_NONE;
        for (uint32_t i = 0; i < CAP; i++)
            if (in[i] && (best == CC_SLOT_NONE || key[i] < key[best]))
                best = i; /* ties: smallest slot, as documented */
        assert_int_equal(cc_slot_heap_min(&h), best);
        assert_int_equal(cc_slot_heap_contains(&h, s), in[s]);
    }
    gsl_rng_free(r);
    cc_slot_heap_free(&h);
}

/* ---- a tiny driver: slots of a fixed-size cache keyed by object ids ----------
 * The driver plays the cache's part: it keeps object -> slot and slot ->
 * key, the evictable bytes (a random slot's flips with probability pin_p
 * per access; a new slot becomes evictable with probability enter_p), calls
 * the policy, and checks each victim against a twin's brute-force choice. */
typedef struct twin_ops {
    void (*hit)(void *tw, uint32_t slot);
    uint32_t (*victim)(void *tw, const uint8_t *ev, const int *used, uint32_t cap);
    void (*evict)(void *tw, uint32_t slot, uint64_t key);
    void (*insert)(void *tw, uint32_t slot, uint64_t key);
    void (*evictable)(void *tw, uint32_t slot, int e); /* optional */
} twin_ops;

enum { DRIVE_CAP = 64, DRIVE_OBJECTS = 300 };

static void drive_vs_twin(const char *label, const cc_policy *pol, uint32_t objects,
                          double pin_p, double enter_p, int hashed_keys, uint64_t seed,
                          const twin_ops *t, void *tw)
{
    enum { CAP = DRIVE_CAP, OPS = 60000 };
    const cc_policy_ops *ops = pol->ops;
    assert_true(objects <= DRIVE_OBJECTS);
    uint8_t ev[CAP] = {0};
    int used[CAP] = {0};
    uint64_t key_of[CAP] = {0};
    uint32_t obj_of[CAP] = {0};
    int32_t slot_of[DRIVE_OBJECTS];
    for (uint32_t i = 0; i < objects; i++)
        slot_of[i] = -1;
    uint32_t n_used = 0, n_ev = 0, victims = 0;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    cc_access a;
    memset(&a, 0, sizeof a);
    a.parent_slot = CC_SLOT_NONE;
    for (int op = 0; op < OPS; op++) {
        if (pin_p > 0 && gsl_rng_uniform(r) < pin_p) { /* pin or unpin some slot */
            uint32_t s = (uint32_t)gsl_rng_uniform_int(r, CAP);
            if (used[s]) {
                ev[s] = !ev[s];
                n_ev += ev[s] ? 1 : -1;
                if (ops->on_evictable)
                    ops->on_evictable(pol->state, s, ev[s]);
                if (t->evictable)
                    t->evictable(tw, s, ev[s]);
            }
        }
        /* skewed object choice so that hits happen */
        uint32_t obj = (uint32_t)(gsl_rng_uniform_int(r, objects) * gsl_rng_uniform(r));
        a.key = hashed_keys ? obj * UINT64_C(0x9e3779b97f4a7c15) + 7 : obj;
        a.seq = (uint64_t)op;
        if (slot_of[obj] >= 0) {
            uint32_t s = (uint32_t)slot_of[obj];
            ops->on_hit(pol->state, s, &a);
            t->hit(tw, s);
            continue;
        }
        uint32_t s;
        if (n_used < CAP) {
            for (s = 0; used[s]; s++)
                ;
        } else {
            if (n_ev == 0)
                continue; /* everything pinned: the cache would not insert */
            cc_victim_ctx ctx = {ev, n_ev, 0, 0};
            s = ops->choose_victim(pol->state, &ctx);
            uint32_t want = t->victim(tw, ev, used, CAP);
            if (s != want)
                fail_msg("%s op %d: victim slot %u, twin says %u", label, op, s, want);
            victims++;
            ops->on_remove(pol->state, s, key_of[s], CC_REMOVE_EVICT);
            t->evict(tw, s, key_of[s]);
            slot_of[obj_of[s]] = -1;
            used[s] = 0;
            n_used--;
            if (ev[s]) {
                ev[s] = 0;
                n_ev--;
            }
        }
        ops->on_insert(pol->state, s, &a);
        t->insert(tw, s, a.key);
        used[s] = 1;
        key_of[s] = a.key;
        obj_of[s] = obj;
        n_used++;
        slot_of[obj] = (int32_t)s;
        /* enters not evictable; usually becomes evictable at once */
        if (enter_p >= 1 || gsl_rng_uniform(r) < enter_p) {
            ev[s] = 1;
            n_ev++;
            if (ops->on_evictable)
                ops->on_evictable(pol->state, s, 1);
            if (t->evictable)
                t->evictable(tw, s, 1);
        }
    }
    assert_true(victims > 1000);
    gsl_rng_free(r);
}

/* LRU and FIFO twin: the evictable used slot with the oldest last use (LRU)
 * or insertion (FIFO). */
typedef struct twin {
    int kind;        /* 0 = LRU, 1 = FIFO */
    uint64_t stamp;  /* logical clock */
    uint64_t order[DRIVE_CAP]; /* per slot: last use (LRU) or insertion (FIFO) */
} twin;

static void twin_hit(void *p, uint32_t s)
{
    twin *tw = p;
    tw->stamp++;
    if (tw->kind == 0)
        tw->order[s] = tw->stamp;
}

static uint32_t twin_victim(void *p, const uint8_t *ev, const int *used, uint32_t cap)
{
    const twin *tw = p;
    uint32_t best = CC_SLOT_NONE;
    for (uint32_t s = 0; s < cap; s++)
        if (used[s] && ev[s] && (best == CC_SLOT_NONE || tw->order[s] < tw->order[best]))
            best = s;
    return best;
}

static void twin_evict(void *p, uint32_t s, uint64_t key) { (void)p, (void)s, (void)key; }

static void twin_insert(void *p, uint32_t s, uint64_t key)
{
    (void)key;
    twin *tw = p;
    tw->order[s] = ++tw->stamp;
}

static void run_policy_vs_twin(const char *name, int kind, int flips, uint64_t seed)
{
    static const twin_ops t = {twin_hit, twin_victim, twin_evict, twin_insert, NULL};
    cc_policy pol;
    cc_err e = {0};
    assert_int_equal(cc_policy_create(cc_policy_find(name), NULL, DRIVE_CAP, &pol, &e), CC_OK);
    twin tw = {.kind = kind};
    drive_vs_twin(name, &pol, 200, flips ? 0.3 : 0, flips ? 0.8 : 1, 0, seed, &t, &tw);
    cc_policy_destroy(&pol);
}

/* ---- S3-FIFO with pins against a twin ------------------------------------------
 * The twin keeps S and M as arrays of slots in queue order (oldest first)
 * and G as an array of keys, and applies the rules s3fifo.c states for slots
 * that are not evictable: a walk from the old end takes the first slot that
 * is evictable or that it would move rather than evict (frequency >= 2 in
 * S, >= 1 in M); the non-evictable slots it passes are parked (they keep
 * their place, frequency and queue, and the walk skips them whatever their
 * frequency becomes) until they are evictable again; S's size for the size
 * test is its slots less its parked ones, and M counts as empty when all
 * its slots are parked.  Driven through the operations table with random
 * pins, so slots are parked, returned and parked again; with park_base near
 * 2^32 the policy also renumbers its parked slots several times on the way. */
typedef struct s3twin {
    uint32_t S[DRIVE_CAP], M[DRIVE_CAP];
    int ns, nm, ng, small, ghost;
    uint64_t G[DRIVE_CAP];
    uint8_t freq[DRIVE_CAP], parked[DRIVE_CAP];
} s3twin;

static int s3t_first(s3twin *w, const uint32_t *q, int n, const uint8_t *ev, int moves_at)
{
    for (int i = 0; i < n; i++) {
        uint32_t s = q[i];
        if (ev[s] || (!w->parked[s] && w->freq[s] >= moves_at))
            return i;
        w->parked[s] = 1;
    }
    return -1;
}

static int s3t_parked(const s3twin *w, const uint32_t *q, int n)
{
    int k = 0;
    for (int i = 0; i < n; i++)
        k += w->parked[q[i]];
    return k;
}

static void s3t_del(uint32_t *q, int *n, int i)
{
    memmove(q + i, q + i + 1, (size_t)(*n - i - 1) * sizeof *q);
    (*n)--;
}

static uint32_t s3t_small(s3twin *w, const uint8_t *ev)
{
    int i;
    while ((i = s3t_first(w, w->S, w->ns, ev, 2)) >= 0) {
        uint32_t t = w->S[i];
        if (w->freq[t] < 2)
            return t;
        s3t_del(w->S, &w->ns, i);
        w->freq[t] = 0;
        w->M[w->nm++] = t;
    }
    return CC_SLOT_NONE;
}

static uint32_t s3t_main(s3twin *w, const uint8_t *ev)
{
    int i;
    while ((i = s3t_first(w, w->M, w->nm, ev, 1)) >= 0) {
        uint32_t t = w->M[i];
        if (w->freq[t] == 0)
            return t;
        w->freq[t]--;
        s3t_del(w->M, &w->nm, i);
        w->M[w->nm++] = t;
    }
    return CC_SLOT_NONE;
}

static uint32_t s3t_victim(s3twin *w, const uint8_t *ev)
{
    if (w->ns - s3t_parked(w, w->S, w->ns) >= w->small ||
        w->nm == s3t_parked(w, w->M, w->nm)) {
        uint32_t v = s3t_small(w, ev);
        return v != CC_SLOT_NONE ? v : s3t_main(w, ev);
    }
    uint32_t v = s3t_main(w, ev);
    if (v == CC_SLOT_NONE)
        v = s3t_small(w, ev);
    return v != CC_SLOT_NONE ? v : s3t_main(w, ev);
}

static void s3t_insert(s3twin *w, uint32_t s, uint64_t key)
{
    w->freq[s] = 0;
    w->parked[s] = 0;
    for (int i = 0; i < w->ng; i++)
        if (w->G[i] == key) {
            memmove(w->G + i, w->G + i + 1, (size_t)(w->ng - i - 1) * sizeof *w->G);
            w->ng--;
            w->M[w->nm++] = s;
            return;
        }
    w->S[w->ns++] = s;
}

static void s3t_evict(s3twin *w, uint32_t s, uint64_t key)
{
    for (int i = 0; i < w->nm; i++)
        if (w->M[i] == s) {
            s3t_del(w->M, &w->nm, i);
            return;
        }
    for (int i = 0; i < w->ns; i++)
        if (w->S[i] == s) {
            s3t_del(w->S, &w->ns, i);
            if (w->ghost) {
                if (w->ng >= w->ghost) {
                    memmove(w->G, w->G + 1, (size_t)(w->ng - 1) * sizeof *w->G);
                    w->ng--;
                }
                w->G[w->ng++] = key;
            }
            return;
        }
    fail_msg("twin: slot %u in no queue", s);
}

static void s3t_hit(void *p, uint32_t s)
{
    s3twin *w = p;
    if (w->freq[s] < 3)
        w->freq[s]++;
}

static uint32_t s3t_victim_cb(void *p, const uint8_t *ev, const int *used, uint32_t cap)
{
    (void)used, (void)cap;
    return s3t_victim(p, ev);
}

static void s3t_evict_cb(void *p, uint32_t s, uint64_t key) { s3t_evict(p, s, key); }
static void s3t_evictable_cb(void *p, uint32_t s, int e)
{
    if (e)
        ((s3twin *)p)->parked[s] = 0;
}
static void s3t_insert_cb(void *p, uint32_t s, uint64_t key) { s3t_insert(p, s, key); }

static void run_s3fifo_pins(const char *spec, double pin_p, uint64_t seed)
{
    static const twin_ops t = {s3t_hit, s3t_victim_cb, s3t_evict_cb, s3t_insert_cb,
                               s3t_evictable_cb};
    const cc_policy_ops *ops;
    cc_policy_params pp;
    cc_err e = {0};
    assert_int_equal(cc_policy_parse(spec, &ops, &pp, &e), CC_OK);
    cc_policy pol;
    assert_int_equal(cc_policy_create(ops, &pp, DRIVE_CAP, &pol, &e), CC_OK);
    static s3twin w;
    memset(&w, 0, sizeof w);
    w.small = (int)(DRIVE_CAP * 0.1);
    w.ghost = (int)(DRIVE_CAP * 0.9);
    drive_vs_twin(spec, &pol, 300, pin_p, 0.8, 1, seed, &t, &w);
    cc_policy_destroy(&pol);
}

static void test_s3fifo_pins_vs_twin(void **state)
{
    (void)state;
    run_s3fifo_pins("s3fifo", 0.3, 51);
    run_s3fifo_pins("s3fifo", 0.6, 52);
    /* parking numbers wrap every few thousand parkings */
    run_s3fifo_pins("s3fifo(park_base=4294960000)", 0.3, 53);
    run_s3fifo_pins("s3fifo(park_base=4294967295)", 0.6, 54);
}

static uint32_t nev(const uint8_t *ev)
{
    return (uint32_t)ev[0] + ev[1] + ev[2] + ev[3];
}

/* S3-FIFO under the prefix rule (policies/README.md): parents of cached
 * chains are not evictable.  Four slots, small = 0.5 (S's size 2, ghost 2).
 * Expected victims by hand from the algorithm with the two rules s3fifo.c
 * states for such slots: a parent at S's tail with frequency >= 2 still
 * moves to M (a move is no eviction), and parked parents do not count in
 * S's size.  With the former rules (parents parked in S whatever their
 * frequency, and counted) the last eviction took F, the block just
 * inserted, and M's block A, unused since, stayed: what cost prefix mode
 * 11 points of hit ratio on the generated workload. */
static void test_s3fifo_prefix_parents(void **state)
{
    (void)state;
    const cc_policy_ops *ops;
    cc_policy_params pp;
    cc_err e = {0};
    assert_int_equal(cc_policy_parse("s3fifo(small=0.5)", &ops, &pp, &e), CC_OK);
    cc_policy pol;
    assert_int_equal(cc_policy_create(ops, &pp, 4, &pol, &e), CC_OK);
    uint8_t ev[4] = {0};
    cc_access a;
    memset(&a, 0, sizeof a);
    a.parent_slot = CC_SLOT_NONE;
#define INS(slot, k)                                                                     \
    do {                                                                                 \
        a.key = (k), a.seq++;                                                            \
        ops->on_insert(pol.state, slot, &a);                                             \
        ev[slot] = 1;                                                                    \
        ops->on_evictable(pol.state, slot, 1);                                           \
    } while (0)
#define HIT(slot) (a.seq++, ops->on_hit(pol.state, slot, &a))
#define VICTIM() (ops->choose_victim(pol.state, &(cc_victim_ctx){ev, nev(ev), 0, 0}))
#define EVICT(slot, k) (ops->on_remove(pol.state, slot, k, CC_REMOVE_EVICT), ev[slot] = 0)
    INS(0, 'A');
    HIT(0), HIT(0);
    INS(1, 'B');
    INS(2, 'C');
    INS(3, 'D');
    assert_int_equal(VICTIM(), 1); /* A (freq 2) moves to M; B goes */
    EVICT(1, 'B');
    INS(1, 'E');                   /* S = C D E, M = A */
    HIT(2), HIT(2), HIT(3);        /* C freq 2, D freq 1 */
    ev[2] = ev[3] = 0;             /* C and D become parents of cached blocks */
    ops->on_evictable(pol.state, 2, 0);
    ops->on_evictable(pol.state, 3, 0);
    assert_int_equal(VICTIM(), 1); /* C moves to M, D is parked, E goes */
    EVICT(1, 'E');
    INS(1, 'F');                   /* S = D(parked) F, M = A C */
    assert_int_equal(VICTIM(), 0); /* S holds 1 < 2 takeable: M's oldest, A */
#undef INS
#undef HIT
#undef VICTIM
#undef EVICT
    cc_policy_destroy(&pol);
}

static void test_lru_vs_twin(void **state)
{
    (void)state;
    run_policy_vs_twin("lru", 0, 0, 1);
    run_policy_vs_twin("lru", 0, 1, 2);
}

static void test_fifo_vs_twin(void **state)
{
    (void)state;
    run_policy_vs_twin("fifo", 1, 0, 3);
    run_policy_vs_twin("fifo", 1, 1, 4);
}

/* LRU with parent hints: a slot inserted with parent_slot p goes just behind
 * p (older than p, newer than everything older than p).  The twin keeps the
 * list explicitly. */
static void test_lru_parent_hint(void **state)
{
    (void)state;
    enum { CAP = 8 };
    const cc_policy_ops *ops = cc_policy_find("lru");
    cc_policy pol;
    cc_err e = {0};
    assert_int_equal(cc_policy_create(ops, NULL, CAP, &pol, &e), CC_OK);
    uint8_t ev[CAP] = {0};
    cc_access a;
    memset(&a, 0, sizeof a);
    /* insert 0 (MRU), 1 behind 0, 2 behind 1; then 3 at MRU, 4 behind 3,
     * then 5 behind 0: order MRU -> LRU = 3 4 0 5 1 2 */
    uint32_t parents[] = {CC_SLOT_NONE, 0, 1, CC_SLOT_NONE, 3, 0};
    for (uint32_t s = 0; s < 6; s++) {
        a.parent_slot = parents[s];
        ops->on_insert(pol.state, s, &a);
        ev[s] = 1;
    }
    uint32_t expect_lru_first[] = {2, 1, 5, 0, 4, 3};
    uint32_t nev = 6;
    for (int i = 0; i < 6; i++) {
        cc_victim_ctx ctx = {ev, nev, 0, 0};
        uint32_t v = ops->choose_victim(pol.state, &ctx);
        assert_int_equal(v, expect_lru_first[i]);
        ops->on_remove(pol.state, v, 0, CC_REMOVE_EVICT); /* every key was 0 */
        ev[v] = 0;
        nev--;
    }
    cc_policy_destroy(&pol);
}

/* Properties every registered policy must have (so new policies are tested
 * without new code): on random streams with random eligibility the victim is
 * always an occupied evictable slot, and with one slot the only slot. */
static void test_all_policies_properties(void **state)
{
    (void)state;
    for (size_t pi = 0; pi < cc_policy_count(); pi++) {
        const cc_policy_ops *ops = cc_policy_at(pi);
        enum { CAP = 32, OPS = 20000 };
        cc_policy pol;
        cc_err e = {0};
        cc_policy_params p;
        memset(&p, 0, sizeof p);
        snprintf(p.spec, sizeof p.spec, "%s", ops->name);
        p.seed = 5;
        assert_int_equal(cc_policy_create(ops, &p, CAP, &pol, &e), CC_OK);
        uint8_t ev[CAP] = {0};
        int used[CAP] = {0};
        uint64_t key_of[CAP] = {0};
        uint32_t n_ev = 0, n_used = 0;
        gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
        gsl_rng_set(r, 11 + pi);
        cc_access a;
        memset(&a, 0, sizeof a);
        a.parent_slot = CC_SLOT_NONE;
        a.next_use = CC_NEXT_USE_NEVER;
        for (int op = 0; op < OPS; op++) {
            uint32_t s = (uint32_t)gsl_rng_uniform_int(r, CAP);
            a.key = gsl_rng_get(r);
            a.seq = (uint64_t)op;
            a.time_ns = op;
            double u = gsl_rng_uniform(r);
            if (used[s] && u < 0.3) {
                ops->on_hit(pol.state, s, &a);
            } else if (used[s] && u < 0.5) {
                ev[s] = !ev[s];
                n_ev += ev[s] ? 1 : -1;
                if (ops->on_evictable)
                    ops->on_evictable(pol.state, s, ev[s]);
            } else if (!used[s] && (!ops->admit || ops->admit(pol.state, &a))) {
                ops->on_insert(pol.state, s, &a);
                used[s] = 1;
                key_of[s] = a.key;
                n_used++;
            } else if (n_ev && u < 0.8) {
                cc_victim_ctx ctx = {ev, n_ev, 0, op};
                uint32_t v = ops->choose_victim(pol.state, &ctx);
                if (v >= CAP || !used[v] || !ev[v])
                    fail_msg("policy %s returned slot %u, not an occupied evictable one",
                             ops->name, v);
                ops->on_remove(pol.state, v, key_of[v], CC_REMOVE_EVICT);
                used[v] = 0;
                ev[v] = 0;
                n_ev--;
                n_used--;
            }
        }
        gsl_rng_free(r);
        cc_policy_destroy(&pol);

        assert_int_equal(cc_policy_create(ops, &p, 1, &pol, &e), CC_OK);
        ops->on_insert(pol.state, 0, &a);
        ev[0] = 1;
        if (ops->on_evictable)
            ops->on_evictable(pol.state, 0, 1);
        cc_victim_ctx ctx = {ev, 1, 0, 0};
        assert_int_equal(ops->choose_victim(pol.state, &ctx), 0);
        cc_policy_destroy(&pol);
    }
}

/* VmRSS of this process in KB, from /proc/self/status (-1 if unreadable). */
static long rss_kb(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    while (f && fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %ld kB", &kb) == 1)
            break;
    if (f)
        fclose(f);
    return kb;
}

/* A capacity is a bound, not an allocation (issue 19 item 7): every policy
 * created for 2^26 slots and used on 1,000 of them (inserts, hits, pins and
 * unpins, 500 evictions) takes a few hundred KB, not the 64 MB to 1.8 GB that
 * writing its per-slot arrays for the whole capacity costs (S3-FIFO wrote
 * 1 byte a slot, TRT 16).  The figure is the growth of this process's
 * resident memory, read from /proc/self/status; under ASan the allocator
 * and its shadow make it meaningless, so the test says skipped there.
 * Transparent huge pages are turned off for this process: with THP set to
 * "always" a first touch in a large mapping may bring in 2 MB instead of
 * 4 KB, and the ghost's hash table (S3-FIFO, ARC) is touched at random
 * places -- one page per ghost key at this fill. */
static void test_all_policies_capacity_not_preallocated(void **state)
{
    (void)state;
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
    printf("skipped: resident memory is not the program's own under a sanitizer\n");
    skip();
#endif
    (void)prctl(PR_SET_THP_DISABLE, 1, 0, 0, 0);
    enum { USED = 1000 };
    const uint32_t cap = UINT32_C(1) << 26;
    const long bound_kb = 8 * 1024;
    static uint8_t ev[USED];
    static uint64_t key_of[USED];
    for (size_t pi = 0; pi < cc_policy_count(); pi++) {
        const cc_policy_ops *ops = cc_policy_at(pi);
        cc_policy pol;
        cc_err e = {0};
        cc_policy_params p;
        memset(&p, 0, sizeof p);
        snprintf(p.spec, sizeof p.spec, "%s", ops->name);
        p.seed = 5;
        long before = rss_kb();
        assert_true(before > 0);
        assert_int_equal(cc_policy_create(ops, &p, cap, &pol, &e), CC_OK);
        cc_access a;
        memset(&a, 0, sizeof a);
        a.parent_slot = CC_SLOT_NONE;
        a.next_use = CC_NEXT_USE_NEVER;
        uint32_t n_ev = 0;
        memset(ev, 0, sizeof ev);
        for (uint32_t s = 0; s < USED; s++) {
            a.key = UINT64_C(0x9e3779b97f4a7c15) * (s + 1);
            a.seq = s;
            a.time_ns = s;
            if (ops->admit)
                ops->admit(pol.state, &a);
            ops->on_insert(pol.state, s, &a);
            key_of[s] = a.key;
            if (s % 3 == 0)
                ops->on_hit(pol.state, s, &a);
            ev[s] = 1;
            n_ev++;
            if (ops->on_evictable)
                ops->on_evictable(pol.state, s, 1);
        }
        for (int i = 0; i < USED / 2; i++) {
            cc_victim_ctx ctx = {ev, n_ev, 0, USED + i};
            uint32_t v = ops->choose_victim(pol.state, &ctx);
            if (v >= USED || !ev[v])
                fail_msg("policy %s returned slot %u, not an occupied evictable one", ops->name,
                         v);
            ops->on_remove(pol.state, v, key_of[v], CC_REMOVE_EVICT);
            ev[v] = 0;
            n_ev--;
        }
        long grown = rss_kb() - before;
        printf("%s: %ld KB resident for a capacity of %u slots, %d used\n", ops->name, grown, cap,
               USED);
        if (grown > bound_kb)
            fail_msg("policy %s: %ld KB resident after using %d of %u slots (bound %ld KB)",
                     ops->name, grown, USED, cap, bound_kb);
        cc_policy_destroy(&pol);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_registry),
        cmocka_unit_test(test_slot_heap),
        cmocka_unit_test(test_lru_vs_twin),
        cmocka_unit_test(test_fifo_vs_twin),
        cmocka_unit_test(test_s3fifo_pins_vs_twin),
        cmocka_unit_test(test_s3fifo_prefix_parents),
        cmocka_unit_test(test_lru_parent_hint),
        cmocka_unit_test(test_all_policies_properties),
        cmocka_unit_test(test_all_policies_capacity_not_preallocated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
