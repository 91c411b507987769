/*
 * context_cache.c -- explicit context-cache objects with a time to live over
 * the prefix cache (semantics, figures and costs in context_cache.h).
 *
 * State: the objects ever created (array, id = index), the nodes each one
 * pins (one pool, an object's nodes at node_off), a u64 map from the last
 * block hash of each HELD object to its id, and a cc_slot_heap of held
 * objects keyed by expiry (the int64 ns with its sign bit flipped, so the
 * u64 order is the time order; ties go to the smaller id).  The heap is
 * sized once for max_objects; the arrays grow by doubling (cc_grow).
 *
 * The presets below are data; their sources, read 2025, are cited per
 * entry.  Where a provider's documentation leaves a figure open the entry
 * says what we assumed.
 */
#include "context_cache.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define SIGN UINT64_C(0x8000000000000000)

/* ---- presets --------------------------------------------------------------- */
static const cc_ctx_style cc_ctx_styles[] = {
    /* Google Gemini API explicit caching (ai.google.dev/gemini-api/docs/caching,
     * read 2025): a cache is created with a TTL, "if not set, the TTL defaults
     * to 1 hour"; it is deleted when the TTL runs out or on DELETE, and the
     * TTL changes only by an explicit update (PATCH cachedContents/{name}),
     * not by use: fixed.  Minimum input tokens: 1024 for Gemini 2.5 Flash,
     * 4096 for 2.5 Pro (the page's table); the preset takes Flash's 1024,
     * use min_tokens=4096 for Pro.  Storage is billed per token-hour. */
    {"gemini-explicit", 3600, 0, 1024,
     "ai.google.dev/gemini-api/docs/caching (2025): TTL default 1 h, fixed unless updated; "
     "min 1024 (2.5 Flash) / 4096 (2.5 Pro) tokens"},
    /* Moonshot (Kimi) context caching, public beta July 2024
     * (platform.moonshot.cn/docs/api/caching; blog "enhance-kimi-api-bot-with-
     * context-caching-2", 2024): POST /v1/caching creates a cache with a ttl
     * (seconds); a request that uses it may pass reset_ttl
     * (X-Msh-Context-Cache-Reset-TTL), which restarts the TTL on that use.
     * Assumptions: every request that uses the cache passes reset_ttl = ttl
     * (refresh on each hit); ttl 3600 s as in Moonshot's examples; the docs
     * we read state no minimum size, so min_tokens 0. */
    {"moonshot", 3600, 1, 0,
     "platform.moonshot.cn/docs/api/caching (2024): /v1/caching with ttl, reset_ttl on use; "
     "assumed ttl 3600 s, no minimum"},
    /* Anthropic prompt caching (docs.anthropic.com prompt-caching, read 2025;
     * also quoted by gateway docs, e.g. portkey.ai 2025): cache_control
     * breakpoints; "the cache has a 5-minute lifetime, refreshed each time
     * the cached content is used"; optional ttl "1h"; minimum cacheable
     * prompt 1024 tokens for Sonnet / Opus (2048 for Haiku 3 / 3.5);
     * reads at the longest matching breakpoint; no storage fee (writes
     * cost 1.25x base input for 5 min, 2x for 1 h; reads 0.1x). */
    {"anthropic-5m", 300, 1, 1024,
     "docs.anthropic.com prompt caching (2025): 5 min lifetime refreshed on each use; "
     "min 1024 tokens (Sonnet/Opus)"},
    {"anthropic-1h", 3600, 1, 1024,
     "docs.anthropic.com prompt caching (2025): ttl \"1h\", refreshed on each use; "
     "min 1024 tokens (Sonnet/Opus)"},
};

static const cc_ctx_implicit cc_ctx_implicits[] = {
    /* vLLM automatic prefix caching: blocks stay until evicted (LRU), no TTL. */
    {"vllm", "lru", "docs.vllm.ai automatic prefix caching: LRU over free blocks, no TTL"},
    /* OpenAI prompt caching (platform.openai.com/docs/guides/prompt-caching,
     * read 2025): automatic for prompts >= 1024 tokens; "cached prefixes
     * generally remain active for 5 to 10 minutes of inactivity, up to a
     * maximum of one hour during off-peak periods".  Modelled as an idle
     * TTL of 10 min (the upper end) refreshed by each hit; the 1 h cap and
     * the 1024-token minimum are not modelled. */
    {"openai", "ttl(ttl_s=600,refresh=1)",
     "platform.openai.com/docs/guides/prompt-caching (2025): 5-10 min idle, <= 1 h"},
    /* DeepSeek context caching on disk (api-docs.deepseek.com/guides/kv_cache,
     * 2024/2025): every request builds a disk cache; unused entries are
     * cleared "within a few hours to a few days", best effort.  Modelled as
     * an idle TTL of 6 h (an assumption inside that range). */
    {"deepseek", "ttl(ttl_s=21600,refresh=1)",
     "api-docs.deepseek.com/guides/kv_cache (2024): disk cache, cleared after hours to days"},
};

size_t cc_ctx_style_count(void) { return sizeof cc_ctx_styles / sizeof cc_ctx_styles[0]; }
const cc_ctx_style *cc_ctx_style_at(size_t i)
{
    return i < cc_ctx_style_count() ? &cc_ctx_styles[i] : NULL;
}
size_t cc_ctx_implicit_count(void) { return sizeof cc_ctx_implicits / sizeof cc_ctx_implicits[0]; }
const cc_ctx_implicit *cc_ctx_implicit_at(size_t i)
{
    return i < cc_ctx_implicit_count() ? &cc_ctx_implicits[i] : NULL;
}
const cc_ctx_implicit *cc_ctx_implicit_find(const char *name)
{
    for (size_t i = 0; i < cc_ctx_implicit_count(); i++)
        if (!strcmp(cc_ctx_implicits[i].name, name))
            return &cc_ctx_implicits[i];
    return NULL;
}

/* ---- parsing ------------------------------------------------------------------ */
static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    char *e = s + strlen(s);
    while (e > s && isspace((unsigned char)e[-1]))
        *--e = '\0';
    return s;
}

static int parse_num(const char *spec, const char *key, const char *v, double lo, double hi,
                     double *out, cc_err *err)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x) || x < lo || x > hi)
        return cc_err_set(err, CC_EARG, NULL, 0, key,
                          "context cache '%s': expected a number in [%g, %g] for %s, got '%s'",
                          spec, lo, hi, key, v);
    *out = x;
    return CC_OK;
}

int cc_ctx_parse_style(const char *spec, cc_ctx_style *out, cc_err *err)
{
    char buf[256];
    if (!spec || !*spec)
        return cc_err_set(err, CC_EARG, NULL, 0, "context_cache", "empty context cache style");
    if (strlen(spec) >= sizeof buf)
        return cc_err_set(err, CC_EARG, NULL, 0, "context_cache", "style '%.40s...' is too long",
                          spec);
    strcpy(buf, spec);
    char *args = strchr(buf, '(');
    if (args) {
        size_t len = strlen(buf);
        if (buf[len - 1] != ')')
            return cc_err_set(err, CC_EARG, NULL, 0, "context_cache",
                              "'%s': expected style(key=value,...) with a closing ')'", spec);
        buf[len - 1] = '\0';
        *args++ = '\0';
    }
    const char *name = trim(buf);
    const cc_ctx_style *preset = NULL;
    for (size_t i = 0; i < cc_ctx_style_count(); i++)
        if (!strcmp(cc_ctx_styles[i].name, name))
            preset = &cc_ctx_styles[i];
    if (!preset) {
        char known[256] = "";
        for (size_t i = 0; i < cc_ctx_style_count(); i++)
            snprintf(known + strlen(known), sizeof known - strlen(known), "%s%s", i ? ", " : "",
                     cc_ctx_styles[i].name);
        return cc_err_set(err, CC_EARG, NULL, 0, "context_cache",
                          "unknown context cache style '%s' (known: %s)", name, known);
    }
    *out = *preset;
    char *save = NULL;
    for (char *kv = args ? strtok_r(args, ",", &save) : NULL; kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            return cc_err_set(err, CC_EARG, NULL, 0, "context_cache",
                              "'%s': parameter '%s' is not key=value", spec, trim(kv));
        *eq = '\0';
        const char *k = trim(kv), *v = trim(eq + 1);
        double x;
        int rc;
        if (!strcmp(k, "ttl_s")) {
            if ((rc = parse_num(spec, k, v, 0, 1e9, &x, err)))
                return rc;
            if (x <= 0)
                return cc_err_set(err, CC_EARG, NULL, 0, k,
                                  "context cache '%s': ttl_s must be > 0, got '%s'", spec, v);
            out->ttl_s = x;
        } else if (!strcmp(k, "min_tokens")) {
            if ((rc = parse_num(spec, k, v, 0, UINT32_MAX, &x, err)))
                return rc;
            if (x != floor(x))
                return cc_err_set(err, CC_EARG, NULL, 0, k,
                                  "context cache '%s': min_tokens must be an integer, got '%s'",
                                  spec, v);
            out->min_tokens = (uint32_t)x;
        } else if (!strcmp(k, "refresh")) {
            if (strcmp(v, "0") && strcmp(v, "1"))
                return cc_err_set(err, CC_EARG, NULL, 0, k,
                                  "context cache '%s': refresh must be 0 or 1, got '%s'", spec, v);
            out->refresh = v[0] == '1';
        } else {
            return cc_err_set(err, CC_EARG, NULL, 0, k,
                              "context cache '%s' has no parameter '%s' (ttl_s, min_tokens, "
                              "refresh)", spec, k);
        }
    }
    return CC_OK;
}

int cc_ctx_parse_cacheable(const char *spec, cc_ctx_config *cfg, cc_err *err)
{
    cfg->cacheable_blocks = 0;
    if (!strcmp(spec, "auto"))
        cfg->cacheable = CC_CACHEABLE_AUTO;
    else if (!strcmp(spec, "system"))
        cfg->cacheable = CC_CACHEABLE_SYSTEM;
    else if (!strcmp(spec, "all"))
        cfg->cacheable = CC_CACHEABLE_ALL;
    else if (!strncmp(spec, "blocks:", 7)) {
        char *end;
        errno = 0;
        unsigned long long n = strtoull(spec + 7, &end, 10);
        if (errno || end == spec + 7 || *end || spec[7] == '-' || n < 1 || n > UINT32_MAX)
            return cc_err_set(err, CC_EARG, NULL, 0, "cacheable",
                              "expected blocks:N with N >= 1, got '%s'", spec);
        cfg->cacheable = CC_CACHEABLE_BLOCKS;
        cfg->cacheable_blocks = (uint32_t)n;
    } else
        return cc_err_set(err, CC_EARG, NULL, 0, "cacheable",
                          "expected auto, system, all or blocks:N, got '%s'", spec);
    return CC_OK;
}

/* Leading SYSTEM / PASSAGE chunks that start at token 0 and follow each
 * other without a gap; 0 when the request has none or no token lengths. */
static uint32_t system_tokens(const cc_trace *t, size_t i)
{
    if (!t->chunk_off)
        return 0;
    uint64_t a = t->chunk_off[i], b = t->chunk_off[i + 1];
    uint32_t end = 0;
    for (uint64_t c = a; c < b; c++) {
        const cc_chunk *ch = &t->chunks[c];
        if ((ch->kind != CC_CHUNK_SYSTEM && ch->kind != CC_CHUNK_PASSAGE) || !ch->token_len ||
            ch->token_start != end)
            break;
        end += ch->token_len;
    }
    return end;
}

uint32_t cc_ctx_cacheable_tokens(const cc_ctx_config *cfg, const cc_trace *t, size_t i)
{
    uint32_t in = t->input_tokens[i], n = 0;
    switch (cfg->cacheable) {
    case CC_CACHEABLE_SYSTEM: n = system_tokens(t, i); break;
    case CC_CACHEABLE_ALL: n = in; break;
    case CC_CACHEABLE_BLOCKS: {
        uint64_t x = (uint64_t)cfg->cacheable_blocks * t->block_size;
        n = x < in ? (uint32_t)x : in;
        break;
    }
    case CC_CACHEABLE_AUTO:
    default:
        n = system_tokens(t, i);
        if (!n)
            n = in;
        break;
    }
    return n < in ? n : in;
}

/* ---- the object store --------------------------------------------------------- */
struct cc_context_cache {
    cc_ctx_config cfg;
    cc_prefix_cache *pc;
    int64_t ttl_ns;
    uint32_t block_tokens;
    cc_ctx_object *obj;
    size_t n_obj, cap_obj, max_objects;
    uint32_t *pool;
    size_t n_pool, cap_pool;
    cc_u64map held; /* last block hash -> id */
    cc_slot_heap by_expiry;
    cc_ctx_stats st;
};

static inline uint64_t time_key(int64_t t) { return (uint64_t)t ^ SIGN; }

static int64_t expiry_at(const cc_context_cache *cc, int64_t now)
{
    return now > INT64_MAX - cc->ttl_ns ? INT64_MAX : now + cc->ttl_ns;
}

int cc_ctx_create(const cc_ctx_config *cfg, cc_prefix_cache *pc, size_t max_objects,
                  cc_context_cache **out, cc_err *err)
{
    *out = NULL;
    const cc_pc_config *pcfg = cc_pc_config_of(pc);
    if (pcfg->mode != CC_PC_PREFIX)
        return cc_err_set(err, CC_EUNSUP, NULL, 0, "context_cache",
                          "explicit context caches need the prefix mode");
    if (!(cfg->style.ttl_s > 0) || cfg->style.ttl_s > 1e9)
        return cc_err_set(err, CC_EARG, NULL, 0, "ttl_s", "expected 0 < ttl_s <= 1e9, got %g",
                          cfg->style.ttl_s);
    if (cfg->cacheable == CC_CACHEABLE_BLOCKS && cfg->cacheable_blocks == 0)
        return cc_err_set(err, CC_EARG, NULL, 0, "cacheable", "blocks:N needs N >= 1");
    if (max_objects == 0)
        max_objects = 1;
    if (max_objects > UINT32_MAX - 1)
        return cc_err_set(err, CC_EARG, NULL, 0, "max_objects", "at most %u objects",
                          UINT32_MAX - 1);
    cc_context_cache *cc = calloc(1, sizeof *cc);
    if (!cc)
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the context cache");
    cc->cfg = *cfg;
    cc->pc = pc;
    cc->ttl_ns = (int64_t)llround(cfg->style.ttl_s * 1e9);
    cc->block_tokens = pcfg->block_tokens;
    cc->max_objects = max_objects;
    if (cc_u64map_init(&cc->held, 64) != CC_OK ||
        cc_slot_heap_init(&cc->by_expiry, (uint32_t)max_objects) != CC_OK) {
        cc_ctx_destroy(cc);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory for the context cache");
    }
    *out = cc;
    return CC_OK;
}

void cc_ctx_destroy(cc_context_cache *cc)
{
    if (!cc)
        return;
    free(cc->obj);
    free(cc->pool);
    cc_u64map_free(&cc->held);
    if (cc->by_expiry.key)
        cc_slot_heap_free(&cc->by_expiry);
    free(cc);
}

/* Releases object id's pins and takes it out of the held set. */
static void end_object(cc_context_cache *cc, uint32_t id, int64_t end_ns, cc_ctx_end why)
{
    cc_ctx_object *o = &cc->obj[id];
    cc_pc_release(cc->pc, cc->pool + o->node_off, o->n_blocks);
    cc_u64map_del(&cc->held, o->key);
    cc_slot_heap_remove(&cc->by_expiry, id);
    o->ended_ns = end_ns;
    o->end = why;
    cc->st.live--;
    cc->st.token_seconds_stored += (double)o->size_tokens * (double)(end_ns - o->created_ns) / 1e9;
    if (why == CC_CTX_EXPIRED)
        cc->st.expired++;
    else if (why == CC_CTX_DELETED)
        cc->st.deleted++;
    else
        cc->st.held_at_end++;
}

uint64_t cc_ctx_expire(cc_context_cache *cc, int64_t now_ns)
{
    uint64_t n = 0;
    for (;;) {
        uint32_t id = cc_slot_heap_min(&cc->by_expiry);
        if (id == CC_SLOT_NONE || cc->obj[id].expiry_ns > now_ns)
            return n;
        end_object(cc, id, cc->obj[id].expiry_ns, CC_CTX_EXPIRED);
        n++;
    }
}

uint32_t cc_ctx_find(const cc_context_cache *cc, uint64_t key)
{
    uint64_t *v = cc_u64map_get(&cc->held, key);
    return v ? (uint32_t)*v : CC_CTX_NONE;
}

int cc_ctx_on_request(cc_context_cache *cc, const cc_pc_request *r, uint32_t cacheable_tokens,
                      uint32_t served_blocks, const uint32_t *nodes, cc_ctx_outcome *out)
{
    out->hit_object = out->created_object = CC_CTX_NONE;
    out->explicit_tokens = out->created_tokens = out->pinned_blocks = 0;
    if (served_blocks > r->n_blocks)
        served_blocks = r->n_blocks;

    /* the longest held object that is a prefix of the served blocks */
    for (uint32_t j = served_blocks; j-- > 0;) {
        uint32_t id = cc_ctx_find(cc, r->blocks[j]);
        if (id == CC_CTX_NONE || cc->obj[id].n_blocks != j + 1)
            continue;
        cc_ctx_object *o = &cc->obj[id];
        o->hits++;
        o->hit_tokens += o->size_tokens;
        cc->st.hits++;
        cc->st.hit_tokens += o->size_tokens;
        out->hit_object = id;
        out->explicit_tokens = o->size_tokens;
        if (cc->cfg.style.refresh) {
            o->expiry_ns = expiry_at(cc, r->time_ns);
            cc_slot_heap_set_key(&cc->by_expiry, id, time_key(o->expiry_ns));
        }
        break;
    }

    /* the request's cacheable prefix, in whole blocks */
    uint32_t c = cacheable_tokens < r->input_tokens ? cacheable_tokens : r->input_tokens;
    uint32_t k = c / cc->block_tokens;
    if (k > r->n_blocks)
        k = r->n_blocks;
    uint32_t size = k * cc->block_tokens;
    if (c == 0)
        return CC_OK;
    if (k == 0 || size < cc->cfg.style.min_tokens) {
        cc->st.too_small++;
        return CC_OK;
    }
    if (cc_ctx_find(cc, r->blocks[k - 1]) != CC_CTX_NONE)
        return CC_OK; /* held already (its hit, if served, is counted above) */
    for (uint32_t j = 0; j < k; j++)
        if (nodes[j] == CC_NODE_NONE) {
            cc->st.no_room++;
            return CC_OK;
        }
    if (cc->n_obj >= cc->max_objects) /* more objects than the caller planned for */
        return CC_ENOMEM;
    if (cc_grow((void **)&cc->obj, &cc->cap_obj, cc->n_obj + 1, sizeof *cc->obj) != CC_OK ||
        cc_grow((void **)&cc->pool, &cc->cap_pool, cc->n_pool + k, sizeof *cc->pool) != CC_OK)
        return CC_ENOMEM;
    uint32_t id = (uint32_t)cc->n_obj;
    uint64_t *slot;
    if (cc_u64map_put(&cc->held, r->blocks[k - 1], id, &slot) < 0)
        return CC_ENOMEM;
    cc_ctx_object *o = &cc->obj[cc->n_obj++];
    memset(o, 0, sizeof *o);
    o->key = r->blocks[k - 1];
    o->creator = r->index;
    o->created_ns = r->time_ns;
    o->expiry_ns = expiry_at(cc, r->time_ns);
    o->ended_ns = o->expiry_ns;
    o->node_off = cc->n_pool;
    o->n_blocks = k;
    o->size_tokens = size;
    o->end = CC_CTX_HELD;
    memcpy(cc->pool + cc->n_pool, nodes, (size_t)k * sizeof *nodes);
    cc->n_pool += k;
    cc_slot_heap_set_key(&cc->by_expiry, id, time_key(o->expiry_ns));
    cc_slot_heap_push(&cc->by_expiry, id);
    cc->st.created++;
    cc->st.created_tokens += size;
    if (++cc->st.live > cc->st.max_live)
        cc->st.max_live = cc->st.live;
    out->created_object = id;
    out->created_tokens = size;
    out->pinned_blocks = k;
    return CC_OK;
}

int cc_ctx_delete(cc_context_cache *cc, uint32_t id, int64_t now_ns, cc_err *err)
{
    cc_ctx_expire(cc, now_ns); /* an object past its expiry is gone, not deleted */
    if (id >= cc->n_obj || cc->obj[id].end != CC_CTX_HELD ||
        !cc_slot_heap_contains(&cc->by_expiry, id))
        return cc_err_set(err, CC_EARG, NULL, 0, "object", "no held context cache object %u", id);
    end_object(cc, id, now_ns, CC_CTX_DELETED);
    return CC_OK;
}

void cc_ctx_finish(cc_context_cache *cc)
{
    for (uint32_t id; (id = cc_slot_heap_min(&cc->by_expiry)) != CC_SLOT_NONE;)
        end_object(cc, id, cc->obj[id].expiry_ns, CC_CTX_HELD);
}

const cc_ctx_stats *cc_ctx_get_stats(const cc_context_cache *cc) { return &cc->st; }

const cc_ctx_object *cc_ctx_objects(const cc_context_cache *cc, size_t *n)
{
    *n = cc->n_obj;
    return cc->obj;
}
