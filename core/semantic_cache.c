/*
 * semantic_cache.c -- the semantic cache (semantic_cache.h): entries in
 * slots, one vector index per tenant, eviction by a policy of policies/,
 * time to live, an optional re-check hook, persistence through sem_store.c.
 *
 * Entries.  An entry lives in a slot 0..max_entries-1 (the policy's slot
 * numbering); its id (1, 2, ... never reused, persisted) maps to the slot
 * through a u64 map, and the tenant's vector index is keyed by id.  Key and
 * answer are one allocation per entry (insert follows a model call, which
 * costs orders of magnitude more; queries allocate nothing).
 * Memory per entry: sizeof(sem_entry) = 56 + key + answer bytes, the index's
 * dim * 4 + 44 (vec_index.c), the id map <= 32 and the policy's per-slot
 * state (LRU 8); the byte capacity counts key + answer + dim * 4 +
 * CC_SEM_ENTRY_OVERHEAD.
 *
 * Eviction.  Every occupied slot is evictable (no pins), so the victim
 * context's byte array is 1 for occupied slots.  An insert evicts until
 * the entry count is below max_entries and the bytes leave room.
 *
 * Lifetime.  With ttl_ns > 0 an entry expires at created + ttl (fixed) or
 * last hit + ttl (sliding), unless inserted with CC_SEM_NO_TTL.  A query
 * skips expired entries (they are never served); insert and cc_sem_expire
 * remove them, the scan running at most once per ttl / 4 of time (the
 * earliest expiry seen by the last scan tells when the next is due).
 *
 * Locking.  A pthread rwlock: queries shared, writes exclusive.  Inside a
 * query, the policy's on_hit and the sliding refresh run under a small
 * mutex (policy state is not thread-safe); the refreshed time is an atomic
 * so that concurrent expiry checks read it without a data race.
 * Complexities: query O(n_tenant * dim) (exact search) + O(1); insert O(dim)
 * + policy + one SQLite transaction with persistence; remove O(dim).
 */
#include "semantic_cache.h"

#include "../policies/policy.h"
#include "sem_store.h"

#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define CC_SEM_CANDIDATES 4        /* nearest entries looked at per query */
#define CC_SEM_ENTRY_OVERHEAD 128  /* fixed bytes per entry in the byte capacity */

typedef struct sem_entry {
    uint64_t id; /* 0 = free slot */
    uint32_t tenant, flags;
    int64_t created_ns;
    _Atomic int64_t last_ns;
    uint64_t bytes;
    uint32_t key_len, answer_len;
    char *text; /* key then answer */
} sem_entry;

typedef struct sem_tenant {
    char *name;
    cc_vec_index *idx;
} sem_tenant;

struct cc_sem_cache {
    cc_sem_opts o;
    char policy_spec[160];
    char ann_spec[160];
    char *db_path;
    pthread_rwlock_t lock;
    pthread_mutex_t touch;
    sem_entry *slots;
    uint32_t *free_slots;
    uint32_t n_free;
    uint8_t *evictable;
    cc_policy policy;
    cc_u64map slot_of_id;
    sem_tenant *tenants;
    size_t n_tenants, cap_tenants;
    cc_u64map tenant_of_hash; /* hash of name -> index (collisions checked) */
    uint64_t next_id;
    uint64_t seq;
    int64_t next_expiry_scan_ns;
    cc_sem_store *store;
    /* counters: entries/bytes/inserts/... under the exclusive lock; the
     * query counters are atomics */
    uint64_t entries, bytes, inserts, evictions, expirations, removals;
    _Atomic uint64_t queries, hits, misses, recheck_rejects;
};

void cc_sem_opts_default(cc_sem_opts *o)
{
    memset(o, 0, sizeof *o);
    o->dim = CC_EMBED_HASH_DEFAULT_DIM;
    o->metric = CC_VEC_COSINE;
    o->threshold_short = 0.8;
    o->threshold_long = 0.8;
    o->short_max_words = 8;
    o->max_entries = 100000;
}

/* ---- re-check rule: numbers must agree ----------------------------------- */
static size_t next_number(const char *s, size_t len, size_t *pos, const char **start)
{
    size_t i = *pos;
    while (i < len && !(s[i] >= '0' && s[i] <= '9'))
        i++;
    *start = s + i;
    size_t j = i;
    while (j < len && ((s[j] >= '0' && s[j] <= '9') || s[j] == '.' || s[j] == ','))
        j++;
    while (j > i && (s[j - 1] == '.' || s[j - 1] == ','))
        j--;
    *pos = j < len ? j + 1 : len;
    if (j == i)
        *pos = len;
    return j - i;
}

int cc_sem_recheck_numbers(void *ctx, const char *q, size_t ql, const char *c, size_t cl,
                           float similarity)
{
    (void)ctx;
    (void)similarity;
    size_t pq = 0, pc = 0;
    for (;;) {
        const char *sq, *sc;
        size_t nq = next_number(q, ql, &pq, &sq);
        size_t nc = next_number(c, cl, &pc, &sc);
        if (nq != nc || memcmp(sq, sc, nq))
            return 0;
        if (nq == 0)
            return 1;
    }
}

/* ---- tenants ---------------------------------------------------------------- */
static uint64_t tenant_hash(const char *name)
{
    return cc_hash_bytes(name, strlen(name), 0x74656e);
}

/* Index of tenant name, or -1 (probing on hash collisions). */
static long tenant_find(const cc_sem_cache *c, const char *name)
{
    uint64_t h = tenant_hash(name);
    for (uint64_t probe = 0;; probe++) {
        uint64_t *v = cc_u64map_get(&c->tenant_of_hash, h + probe);
        if (!v)
            return -1;
        if (!strcmp(c->tenants[*v].name, name))
            return (long)*v;
    }
}

static int tenant_get(cc_sem_cache *c, const char *name, uint32_t *out, cc_err *err)
{
    long t = tenant_find(c, name);
    if (t >= 0) {
        *out = (uint32_t)t;
        return CC_OK;
    }
    if (!name[0])
        return cc_err_set(err, CC_EARG, NULL, 0, "tenant", "empty tenant name; expected "
                          "model@version");
    if (cc_grow((void **)&c->tenants, &c->cap_tenants, c->n_tenants + 1, sizeof *c->tenants))
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
    sem_tenant *tn = &c->tenants[c->n_tenants];
    tn->name = strdup(name);
    int rc;
    if (!tn->name)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
    if ((rc = cc_vec_index_new(c->o.dim, c->o.metric, &tn->idx, err)) ||
        (c->o.ann && (rc = cc_vec_index_set_ann(tn->idx, c->o.ann, c->o.ann_min_entries, err)))) {
        cc_vec_index_free(tn->idx);
        free(tn->name);
        return rc;
    }
    uint64_t h = tenant_hash(name);
    while (cc_u64map_get(&c->tenant_of_hash, h))
        h++;
    if (cc_u64map_put(&c->tenant_of_hash, h, c->n_tenants, NULL) < 0) {
        cc_vec_index_free(tn->idx);
        free(tn->name);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
    }
    *out = (uint32_t)c->n_tenants++;
    return CC_OK;
}

/* ---- entries --------------------------------------------------------------- */
static int expired(const cc_sem_cache *c, const sem_entry *e, int64_t now_ns)
{
    if (c->o.ttl_ns <= 0 || (e->flags & CC_SEM_NO_TTL))
        return 0;
    int64_t from = c->o.ttl_sliding ? atomic_load_explicit(&e->last_ns, memory_order_relaxed)
                                    : e->created_ns;
    return now_ns >= from + c->o.ttl_ns;
}

static int64_t expiry_of(const cc_sem_cache *c, const sem_entry *e)
{
    if (c->o.ttl_ns <= 0 || (e->flags & CC_SEM_NO_TTL))
        return INT64_MAX;
    int64_t from = c->o.ttl_sliding ? atomic_load_explicit(&e->last_ns, memory_order_relaxed)
                                    : e->created_ns;
    return from + c->o.ttl_ns;
}

/* Removes the entry in slot (exclusive lock held); deletes its row when
 * persisting (inside the caller's transaction when there is one). */
static int slot_remove(cc_sem_cache *c, uint32_t slot, cc_remove_reason why, cc_err *err)
{
    sem_entry *e = &c->slots[slot];
    if (c->store) {
        int rc = cc_sem_store_del(c->store, e->id, err);
        if (rc)
            return rc;
    }
    cc_vec_index_remove(c->tenants[e->tenant].idx, e->id);
    cc_u64map_del(&c->slot_of_id, e->id);
    c->policy.ops->on_remove(c->policy.state, slot, e->id, why);
    c->evictable[slot] = 0;
    c->entries--;
    c->bytes -= e->bytes;
    free(e->text);
    memset(e, 0, sizeof *e);
    c->free_slots[c->n_free++] = slot;
    return CC_OK;
}

static int expire_locked(cc_sem_cache *c, int64_t now_ns, uint64_t *removed, cc_err *err)
{
    uint64_t n = 0;
    int64_t earliest = INT64_MAX;
    for (uint32_t s = 0; s < c->o.max_entries; s++) {
        sem_entry *e = &c->slots[s];
        if (!e->id)
            continue;
        if (expired(c, e, now_ns)) {
            int rc = slot_remove(c, s, CC_REMOVE_EXPIRE, err);
            if (rc)
                return rc;
            c->expirations++;
            n++;
        } else {
            int64_t x = expiry_of(c, e);
            if (x < earliest)
                earliest = x;
        }
    }
    c->next_expiry_scan_ns = earliest;
    if (earliest != INT64_MAX && c->o.ttl_ns / 4 > 0 && earliest < now_ns + c->o.ttl_ns / 4)
        c->next_expiry_scan_ns = now_ns + c->o.ttl_ns / 4;
    if (removed)
        *removed = n;
    return CC_OK;
}

static cc_access make_access(cc_sem_cache *c, uint64_t id, int64_t now_ns, uint64_t bytes,
                             cc_access_kind kind)
{
    cc_access a;
    memset(&a, 0, sizeof a);
    a.key = id;
    a.time_ns = now_ns;
    a.request = c->seq;
    a.seq = c->seq++;
    a.next_use = CC_NEXT_USE_NEVER;
    a.size_bytes = bytes;
    a.cost = 1;
    a.tokens = 1;
    a.parent_slot = CC_SLOT_NONE;
    a.kind = kind;
    a.priority = 35;
    return a;
}

/* Inserts an entry (exclusive lock held).  id 0 = next id.  persist: write
 * the row (inside one transaction with the evictions).  When the write
 * fails the transaction is rolled back but the evictions already made in
 * memory stay made (the entries come back at the next open): the file
 * never holds less than memory. */
static int insert_locked(cc_sem_cache *c, const char *tenant, uint64_t id, const float *vec,
                         const char *key, size_t key_len, const char *answer, size_t answer_len,
                         int64_t created_ns, int64_t last_ns, uint32_t flags, int persist,
                         uint64_t *id_out, cc_err *err)
{
    int rc;
    if (key_len > UINT32_MAX || answer_len > UINT32_MAX)
        return cc_err_set(err, CC_ERANGE, NULL, 0, "answer", "key or answer over 4 GiB");
    uint64_t bytes = key_len + answer_len + (uint64_t)c->o.dim * 4 + CC_SEM_ENTRY_OVERHEAD;
    if (c->o.max_bytes && bytes > c->o.max_bytes)
        return cc_err_set(err, CC_ERANGE, NULL, 0, "answer",
                          "an entry of %llu bytes cannot fit a cache of %llu bytes",
                          (unsigned long long)bytes, (unsigned long long)c->o.max_bytes);
    uint32_t t = 0;
    if ((rc = tenant_get(c, tenant, &t, err)))
        return rc;
    if (c->o.ttl_ns > 0 && created_ns >= c->next_expiry_scan_ns &&
        (rc = expire_locked(c, created_ns, NULL, err)))
        return rc;
    if (!id)
        id = c->next_id;
    char *text = malloc(key_len + answer_len + 1);
    if (!text)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
    if (key_len)
        memcpy(text, key, key_len);
    if (answer_len)
        memcpy(text + key_len, answer, answer_len);
    text[key_len + answer_len] = 0;
    if (persist && c->store && (rc = cc_sem_store_begin(c->store, err))) {
        free(text);
        return rc;
    }
    while (c->entries >= c->o.max_entries || (c->o.max_bytes && c->bytes + bytes > c->o.max_bytes)) {
        cc_victim_ctx vc = {.evictable = c->evictable, .n_evictable = (uint32_t)c->entries,
                            .tier = 0, .time_ns = created_ns};
        uint32_t v = c->policy.ops->choose_victim(c->policy.state, &vc);
        if (v == CC_SLOT_NONE || !c->slots[v].id) {
            rc = cc_err_set(err, CC_ERANGE, NULL, 0, "policy", "the policy chose no victim");
            goto fail;
        }
        if ((rc = slot_remove(c, v, CC_REMOVE_EVICT, err)))
            goto fail;
        c->evictions++;
    }
    const char *tname = c->tenants[t].name;
    if (persist && c->store) {
        cc_sem_row r = {.id = id, .tenant = tname, .created_ns = created_ns, .last_ns = last_ns,
                        .flags = flags, .key = text, .key_len = key_len,
                        .answer = text + key_len, .answer_len = answer_len, .vec = vec};
        if ((rc = cc_sem_store_put(c->store, &r, err)) || (rc = cc_sem_store_commit(c->store, err)))
            goto fail;
    }
    if (cc_vec_index_add(c->tenants[t].idx, id, vec) ||
        cc_u64map_put(&c->slot_of_id, id, 0, NULL) < 0) {
        cc_vec_index_remove(c->tenants[t].idx, id);
        free(text);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
    }
    uint32_t slot = c->free_slots[--c->n_free];
    *cc_u64map_get(&c->slot_of_id, id) = slot;
    sem_entry *e = &c->slots[slot];
    e->id = id;
    e->tenant = t;
    e->flags = flags;
    e->created_ns = created_ns;
    atomic_store_explicit(&e->last_ns, last_ns, memory_order_relaxed);
    e->bytes = bytes;
    e->key_len = (uint32_t)key_len;
    e->answer_len = (uint32_t)answer_len;
    e->text = text;
    cc_access a = make_access(c, id, created_ns, bytes, CC_ACCESS_MISS);
    c->policy.ops->on_insert(c->policy.state, slot, &a);
    c->evictable[slot] = 1;
    if (c->policy.ops->on_evictable)
        c->policy.ops->on_evictable(c->policy.state, slot, 1);
    c->entries++;
    c->bytes += bytes;
    c->inserts++;
    if (id >= c->next_id)
        c->next_id = id + 1;
    int64_t x = expiry_of(c, e);
    if (x < c->next_expiry_scan_ns)
        c->next_expiry_scan_ns = x;
    if (id_out)
        *id_out = id;
    return CC_OK;
fail:
    if (persist && c->store)
        cc_sem_store_rollback(c->store);
    free(text);
    return rc;
}

static int load_row(void *ctx, const cc_sem_row *r, cc_err *err)
{
    cc_sem_cache *c = ctx;
    int rc = insert_locked(c, r->tenant, r->id, r->vec, r->key, r->key_len, r->answer,
                           r->answer_len, r->created_ns, r->last_ns, r->flags, 0, NULL, err);
    return rc;
}

/* ---- open / close ---------------------------------------------------------- */
void cc_sem_close(cc_sem_cache *c)
{
    if (!c)
        return;
    if (c->slots)
        for (uint32_t s = 0; s < c->o.max_entries; s++)
            free(c->slots[s].text);
    for (size_t t = 0; t < c->n_tenants; t++) {
        free(c->tenants[t].name);
        cc_vec_index_free(c->tenants[t].idx);
    }
    free(c->tenants);
    cc_u64map_free(&c->tenant_of_hash);
    cc_u64map_free(&c->slot_of_id);
    if (c->policy.ops)
        cc_policy_destroy(&c->policy);
    cc_sem_store_close(c->store);
    free(c->slots);
    free(c->free_slots);
    free(c->evictable);
    free(c->db_path);
    pthread_rwlock_destroy(&c->lock);
    pthread_mutex_destroy(&c->touch);
    free(c);
}

int cc_sem_open(const cc_sem_opts *o, cc_sem_cache **out, cc_err *err)
{
    *out = NULL;
    if (o->dim < 1)
        return cc_err_set(err, CC_EARG, NULL, 0, "dim", "dimension %d; expected >= 1", o->dim);
    if (o->max_entries < 1)
        return cc_err_set(err, CC_EARG, NULL, 0, "max_entries", "0; expected >= 1");
    if (!(o->threshold_short >= -1 && o->threshold_short <= 1) ||
        !(o->threshold_long >= -1 && o->threshold_long <= 1))
        return cc_err_set(err, CC_EARG, NULL, 0, "threshold",
                          "%g / %g; expected similarities in [-1, 1]", o->threshold_short,
                          o->threshold_long);
    if (o->ttl_ns < 0)
        return cc_err_set(err, CC_EARG, NULL, 0, "ttl", "negative time to live");
    cc_sem_cache *c = calloc(1, sizeof *c);
    if (!c)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory");
    c->o = *o;
    pthread_rwlock_init(&c->lock, NULL);
    pthread_mutex_init(&c->touch, NULL);
    int rc;
    snprintf(c->policy_spec, sizeof c->policy_spec, "%s", o->policy ? o->policy : "lru");
    c->o.policy = c->policy_spec;
    c->o.db_path = NULL;
    c->o.ann = NULL;
    if (o->ann && o->ann[0] && strcmp(o->ann, "exact")) {
        snprintf(c->ann_spec, sizeof c->ann_spec, "%s", o->ann);
        c->o.ann = c->ann_spec;
        if (!c->o.ann_min_entries)
            c->o.ann_min_entries = 4096;
        cc_vec_index *probe;
        if ((rc = cc_vec_index_new(o->dim, o->metric, &probe, err)))
            goto fail;
        rc = cc_vec_index_set_ann(probe, c->o.ann, c->o.ann_min_entries, err);
        cc_vec_index_free(probe);
        if (rc)
            goto fail;
    }
    c->next_id = 1;
    c->next_expiry_scan_ns = INT64_MAX;
    const cc_policy_ops *ops;
    cc_policy_params pp;
    if ((rc = cc_policy_parse(c->policy_spec, &ops, &pp, err)))
        goto fail;
    if (ops->flags & CC_POLICY_NEEDS_NEXT_USE) {
        rc = cc_err_set(err, CC_EARG, NULL, 0, "policy",
                        "'%s' needs future accesses; the semantic cache has none", ops->name);
        goto fail;
    }
    pp.seed = o->seed;
    if ((rc = cc_policy_create(ops, &pp, o->max_entries, &c->policy, err)))
        goto fail;
    c->slots = calloc(o->max_entries, sizeof *c->slots);
    c->free_slots = malloc(sizeof *c->free_slots * o->max_entries);
    c->evictable = calloc(o->max_entries, 1);
    if (!c->slots || !c->free_slots || !c->evictable || cc_u64map_init(&c->slot_of_id, 64) ||
        cc_u64map_init(&c->tenant_of_hash, 8)) {
        rc = cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory (%u entries)",
                        o->max_entries);
        goto fail;
    }
    /* slot 0 comes out first */
    for (uint32_t s = 0; s < o->max_entries; s++)
        c->free_slots[s] = o->max_entries - 1 - s;
    c->n_free = o->max_entries;
    if (o->db_path) {
        c->db_path = strdup(o->db_path);
        if ((rc = cc_sem_store_open(o->db_path, o->dim, o->metric, &c->store, err)))
            goto fail;
        /* loading writes nothing back but the rows it evicts (a file with
         * more entries than max_entries keeps the newest) or finds expired */
        rc = cc_sem_store_load(c->store, load_row, c, err);
        if (rc)
            goto fail;
        c->inserts = c->evictions = 0; /* counters are of this session */
    }
    *out = c;
    return CC_OK;
fail:
    cc_sem_close(c);
    return rc;
}

/* ---- operations -------------------------------------------------------------- */
int cc_sem_query(cc_sem_cache *c, const char *tenant, const float *vec, const char *key,
                 size_t key_len, int64_t now_ns, char *answer_buf, size_t answer_cap,
                 cc_sem_result *out, cc_err *err)
{
    memset(out, 0, sizeof *out);
    out->best_similarity = -INFINITY;
    atomic_fetch_add(&c->queries, 1);
    pthread_rwlock_rdlock(&c->lock);
    long t = tenant_find(c, tenant);
    int rc = CC_OK;
    if (t >= 0) {
        uint64_t ids[CC_SEM_CANDIDATES];
        float sims[CC_SEM_CANDIDATES];
        rc = cc_vec_index_search(c->tenants[t].idx, vec, 1, CC_SEM_CANDIDATES, ids, sims, err);
        for (int j = 0; !rc && j < CC_SEM_CANDIDATES && ids[j] != UINT64_MAX; j++) {
            uint64_t *sp = cc_u64map_get(&c->slot_of_id, ids[j]);
            sem_entry *e = &c->slots[*sp];
            if (expired(c, e, now_ns))
                continue;
            out->best_id = ids[j];
            out->best_similarity = sims[j];
            uint32_t words = key ? cc_sem_count_words(key, key_len) : UINT32_MAX;
            double thr = words <= c->o.short_max_words ? c->o.threshold_short
                                                       : c->o.threshold_long;
            if (sims[j] < thr)
                break;
            if (c->o.recheck && !c->o.recheck(c->o.recheck_ctx, key ? key : "", key ? key_len : 0,
                                              e->text, e->key_len, sims[j])) {
                out->rechecked_out = 1;
                atomic_fetch_add(&c->recheck_rejects, 1);
                break;
            }
            out->hit = 1;
            out->id = ids[j];
            out->similarity = sims[j];
            out->answer_len = e->answer_len;
            if (answer_buf && answer_cap) {
                size_t n = e->answer_len < answer_cap ? e->answer_len : answer_cap;
                memcpy(answer_buf, e->text + e->key_len, n);
                if (n < answer_cap)
                    answer_buf[n] = 0;
            }
            pthread_mutex_lock(&c->touch);
            cc_access a = make_access(c, e->id, now_ns, e->bytes, CC_ACCESS_HIT);
            c->policy.ops->on_hit(c->policy.state, *sp, &a);
            if (c->o.ttl_sliding && now_ns > atomic_load_explicit(&e->last_ns, memory_order_relaxed))
                atomic_store_explicit(&e->last_ns, now_ns, memory_order_relaxed);
            pthread_mutex_unlock(&c->touch);
            break;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    atomic_fetch_add(out->hit ? &c->hits : &c->misses, 1);
    return rc;
}

int cc_sem_insert(cc_sem_cache *c, const char *tenant, const float *vec, const char *key,
                  size_t key_len, const char *answer, size_t answer_len, int64_t now_ns,
                  uint32_t flags, uint64_t *id_out, cc_err *err)
{
    pthread_rwlock_wrlock(&c->lock);
    int rc = insert_locked(c, tenant, 0, vec, key, key_len, answer, answer_len, now_ns, now_ns,
                           flags, 1, id_out, err);
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

static int remove_locked(cc_sem_cache *c, uint32_t slot, cc_err *err)
{
    if (!c->store)
        return slot_remove(c, slot, CC_REMOVE_INVALIDATE, err);
    int rc = cc_sem_store_begin(c->store, err);
    if (!rc)
        rc = slot_remove(c, slot, CC_REMOVE_INVALIDATE, err);
    if (!rc)
        rc = cc_sem_store_commit(c->store, err);
    else
        cc_sem_store_rollback(c->store);
    return rc;
}

int cc_sem_remove(cc_sem_cache *c, uint64_t id, cc_err *err)
{
    pthread_rwlock_wrlock(&c->lock);
    uint64_t *sp = cc_u64map_get(&c->slot_of_id, id);
    int rc = 0;
    if (sp) {
        rc = remove_locked(c, (uint32_t)*sp, err);
        if (!rc) {
            c->removals++;
            rc = 1;
        }
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

int cc_sem_clear(cc_sem_cache *c, const char *tenant, uint64_t *removed, cc_err *err)
{
    uint64_t n = 0;
    int rc = CC_OK;
    pthread_rwlock_wrlock(&c->lock);
    long t = tenant_find(c, tenant);
    if (t >= 0) {
        if (c->store)
            rc = cc_sem_store_begin(c->store, err);
        for (uint32_t s = 0; !rc && s < c->o.max_entries; s++)
            if (c->slots[s].id && c->slots[s].tenant == (uint32_t)t) {
                rc = slot_remove(c, s, CC_REMOVE_INVALIDATE, err);
                n += rc == 0;
            }
        if (c->store) {
            if (!rc)
                rc = cc_sem_store_commit(c->store, err);
            else
                cc_sem_store_rollback(c->store);
        }
        c->removals += n;
    }
    pthread_rwlock_unlock(&c->lock);
    if (removed)
        *removed = n;
    return rc;
}

int cc_sem_expire(cc_sem_cache *c, int64_t now_ns, uint64_t *removed, cc_err *err)
{
    pthread_rwlock_wrlock(&c->lock);
    int rc = CC_OK;
    if (c->store)
        rc = cc_sem_store_begin(c->store, err);
    if (!rc)
        rc = expire_locked(c, now_ns, removed, err);
    if (c->store) {
        if (!rc)
            rc = cc_sem_store_commit(c->store, err);
        else
            cc_sem_store_rollback(c->store);
    }
    pthread_rwlock_unlock(&c->lock);
    return rc;
}

void cc_sem_get_stats(cc_sem_cache *c, cc_sem_stats *s)
{
    pthread_rwlock_rdlock(&c->lock);
    s->entries = c->entries;
    s->bytes = c->bytes;
    s->tenants = c->n_tenants;
    s->inserts = c->inserts;
    s->evictions = c->evictions;
    s->expirations = c->expirations;
    s->removals = c->removals;
    pthread_rwlock_unlock(&c->lock);
    s->queries = atomic_load(&c->queries);
    s->hits = atomic_load(&c->hits);
    s->misses = atomic_load(&c->misses);
    s->recheck_rejects = atomic_load(&c->recheck_rejects);
}

int cc_sem_get(cc_sem_cache *c, uint64_t id, char *tenant, size_t tenant_cap, char *key,
               size_t key_cap, size_t *key_len, char *answer, size_t answer_cap,
               size_t *answer_len)
{
    pthread_rwlock_rdlock(&c->lock);
    uint64_t *sp = cc_u64map_get(&c->slot_of_id, id);
    if (sp) {
        const sem_entry *e = &c->slots[*sp];
        if (tenant && tenant_cap)
            snprintf(tenant, tenant_cap, "%s", c->tenants[e->tenant].name);
        if (key && key_cap)
            snprintf(key, key_cap, "%.*s", (int)e->key_len, e->text);
        if (key_len)
            *key_len = e->key_len;
        if (answer && answer_cap)
            snprintf(answer, answer_cap, "%.*s", (int)e->answer_len, e->text + e->key_len);
        if (answer_len)
            *answer_len = e->answer_len;
    }
    pthread_rwlock_unlock(&c->lock);
    return sp != NULL;
}
