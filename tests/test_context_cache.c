/* test_context_cache.c -- explicit context-cache objects (core/context_cache.h)
 * on hand-computed traces: expiry exactly at the TTL (1 ns before / at it),
 * refresh on hit against a fixed TTL, the minimum size, deletion, explicit
 * and implicit caching in one replay with exact per-request attribution,
 * token-seconds by hand, style / cacheable parsing, and the command's
 * options and output.  Every expected figure is worked out in the comment
 * above its test. */
#include "testutil.h"
#include "core/replay.h"

#include <jansson.h>

#define S ((int64_t)1000000000)

static void add(cc_trace *t, int64_t at_ns, uint32_t in, const uint64_t *b, uint32_t nb)
{
    cc_request r = {0};
    r.arrival_ns = at_ns;
    r.input_tokens = in;
    r.output_tokens = 1;
    r.group_id = CC_NO_GROUP;
    r.blocks = b;
    r.n_blocks = nb;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static void trace4(cc_trace *t)
{
    cc_trace_init(t);
    t->block_size = 4;
    t->timed = true;
}

static cc_pc_config one_tier(const char *policy, const char *params, uint64_t cap)
{
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    c.mode = CC_PC_PREFIX;
    c.kv_bytes_per_block = 100;
    c.n_tiers = 1;
    strcpy(c.tiers[0].name, "hbm");
    c.tiers[0].capacity_blocks = cap;
    if (params) {
        cc_err e = {0};
        assert_int_equal(cc_policy_parse(params, &c.tiers[0].policy, &c.tiers[0].policy_params, &e),
                         CC_OK);
    } else {
        c.tiers[0].policy = cc_policy_find(policy);
    }
    return c;
}

static cc_ctx_config style(double ttl_s, int refresh, uint32_t min_tokens, cc_cacheable what,
                           uint32_t n)
{
    cc_ctx_config x;
    memset(&x, 0, sizeof x);
    strcpy(x.style.name, "test");
    x.style.ttl_s = ttl_s;
    x.style.refresh = refresh;
    x.style.min_tokens = min_tokens;
    x.cacheable = what;
    x.cacheable_blocks = n;
    return x;
}

static void run(const cc_trace *t, const cc_pc_config *c, const cc_ctx_config *x,
                cc_replay_result *r)
{
    cc_err e = {0};
    cc_replay_opts o = {.keep_records = true, .context_cache = x};
    assert_int_equal(cc_replay(t, c, &o, r, &e), CC_OK);
    assert_true(r->has_context_cache);
}

/* ttl 10 s, fixed, min 0, cacheable all, unbounded LRU, blocks of 4 tokens:
 *  r0 t=0        [1 2]   8 tok: creates O0 (8 tok), expiry 10 s
 *  r1 t=10s-1ns  [1 2 3] 12 tok: O0 live (t < 10 s): explicit 8; creates O1
 *                (12 tok) expiring 20 s - 1 ns
 *  r2 t=10s      [1 2]   8 tok: O0 expired exactly now (ended at 10 s);
 *                blocks 1 2 still cached (pinned by O1): implicit 8; no held
 *                object ends at block 2 -> creates O2 (8 tok), expiry 20 s
 * token-seconds: O0 8*10 + O1 12*10 + O2 8*10 (held at end, billed to its
 * expiry) = 280; created 3 (28 tokens), hits 1, expired 1, held at end 2. */
static void test_expiry_exactly_at_ttl(void **state)
{
    (void)state;
    cc_trace t;
    trace4(&t);
    uint64_t a[] = {1, 2}, b[] = {1, 2, 3};
    add(&t, 0, 8, a, 2);
    add(&t, 10 * S - 1, 12, b, 3);
    add(&t, 10 * S, 8, a, 2);
    cc_pc_config c = one_tier("lru", NULL, 0);
    cc_ctx_config x = style(10, 0, 0, CC_CACHEABLE_ALL, 0);
    cc_replay_result r;
    run(&t, &c, &x, &r);
    assert_int_equal(r.explicit_cache.created, 3);
    assert_int_equal(r.explicit_cache.created_tokens, 28);
    assert_int_equal(r.explicit_cache.hits, 1);
    assert_int_equal(r.explicit_cache.hit_tokens, 8);
    assert_int_equal(r.explicit_cache.expired, 1);
    assert_int_equal(r.explicit_cache.held_at_end, 2);
    assert_true(fabs(r.explicit_cache.token_seconds_stored - 280) < 1e-9);
    assert_int_equal(r.hit_tokens, 16);
    assert_int_equal(r.implicit_hit_tokens, 8);
    assert_int_equal(r.records[0].created_object, 0);
    assert_int_equal(r.records[0].explicit_object, CC_CTX_NONE);
    assert_int_equal(r.records[1].explicit_object, 0);
    assert_int_equal(r.records[1].explicit_tokens, 8);
    assert_int_equal(r.records[1].implicit_tokens, 0);
    assert_int_equal(r.records[1].created_object, 1);
    assert_int_equal(r.records[1].created_tokens, 12);
    assert_int_equal(r.records[2].explicit_tokens, 0);
    assert_int_equal(r.records[2].implicit_tokens, 8);
    assert_int_equal(r.records[2].created_object, 2);
    assert_int_equal(r.n_ctx_objects, 3);
    const cc_ctx_object *o = r.ctx_objects;
    assert_int_equal(o[0].end, CC_CTX_EXPIRED);
    assert_int_equal(o[0].ended_ns, 10 * S);
    assert_int_equal(o[0].hits, 1);
    assert_int_equal(o[1].created_ns, 10 * S - 1);
    assert_int_equal(o[1].ended_ns, 20 * S - 1);
    assert_int_equal(o[1].end, CC_CTX_HELD);
    assert_int_equal(o[1].size_tokens, 12);
    assert_int_equal(o[2].ended_ns, 20 * S);
    cc_replay_result_free(&r);
    cc_trace_free(&t);
}

/* ttl 10 s, cacheable blocks:2 (object = blocks 1 2, 8 tokens), min 0:
 *  r0 t=0 [1 2 3]; r1 t=8 [1 2 4]; r2 t=17 [1 2 5]; r3 t=27 [1 2] (8 tok)
 * refresh=1: O0 created 0 (exp 10); r1 hits (exp 18); r2 at 17 < 18 hits
 *   (exp 27); r3 at 27: expired exactly now, ends 27; r3 creates O1 (exp 37).
 *   token-s 8*27 + 8*10 = 296; hits 2 (16 tok), expired 1, created 2.
 * refresh=0: O0 exp 10; r1 hits (no refresh); r2 at 17: O0 ended at 10;
 *   r2 creates O1 at 17 (exp 27), implicit 8; r3 at 27: O1 ended at 27, r3
 *   creates O2 (exp 37).  token-s 3 * 8*10 = 240; hits 1, expired 2,
 *   created 3. */
static void test_refresh_vs_fixed(void **state)
{
    (void)state;
    cc_trace t;
    trace4(&t);
    uint64_t a[] = {1, 2, 3}, b[] = {1, 2, 4}, c5[] = {1, 2, 5}, d[] = {1, 2};
    add(&t, 0, 12, a, 3);
    add(&t, 8 * S, 12, b, 3);
    add(&t, 17 * S, 12, c5, 3);
    add(&t, 27 * S, 8, d, 2);
    cc_pc_config c = one_tier("lru", NULL, 0);
    cc_replay_result r;

    cc_ctx_config x = style(10, 1, 0, CC_CACHEABLE_BLOCKS, 2);
    run(&t, &c, &x, &r);
    assert_int_equal(r.explicit_cache.created, 2);
    assert_int_equal(r.explicit_cache.hits, 2);
    assert_int_equal(r.explicit_cache.hit_tokens, 16);
    assert_int_equal(r.explicit_cache.expired, 1);
    assert_true(fabs(r.explicit_cache.token_seconds_stored - 296) < 1e-9);
    assert_int_equal(r.ctx_objects[0].ended_ns, 27 * S);
    assert_int_equal(r.records[2].explicit_tokens, 8);
    assert_int_equal(r.records[3].explicit_tokens, 0);
    assert_int_equal(r.records[3].implicit_tokens, 8);
    cc_replay_result_free(&r);

    x = style(10, 0, 0, CC_CACHEABLE_BLOCKS, 2);
    run(&t, &c, &x, &r);
    assert_int_equal(r.explicit_cache.created, 3);
    assert_int_equal(r.explicit_cache.hits, 1);
    assert_int_equal(r.explicit_cache.expired, 2);
    assert_true(fabs(r.explicit_cache.token_seconds_stored - 240) < 1e-9);
    assert_int_equal(r.ctx_objects[0].ended_ns, 10 * S);
    assert_int_equal(r.records[2].explicit_tokens, 0);
    assert_int_equal(r.records[2].implicit_tokens, 8);
    assert_int_equal(r.records[2].created_object, 1);
    cc_replay_result_free(&r);
    cc_trace_free(&t);
}

/* cacheable all; r0 [1 2] 8 tok, r1 [1 2 3] 11 tok (whole blocks: 8 tok),
 * r2 [1 2 3] 12 tok.  min 9: r0 and r1 are too small, r2 creates (12).
 * min 8 (equal is enough): r0 creates O0 (8); r1's whole-block prefix is
 * O0's, already held (and hit): nothing new; r2 creates [1 2 3] (12). */
static void test_minimum_size(void **state)
{
    (void)state;
    cc_trace t;
    trace4(&t);
    uint64_t a[] = {1, 2}, b[] = {1, 2, 3}, b2[] = {1, 2, 7};
    add(&t, 0, 8, a, 2);
    add(&t, 1 * S, 11, b2, 3);
    add(&t, 2 * S, 12, b, 3);
    cc_pc_config c = one_tier("lru", NULL, 0);
    cc_replay_result r;
    cc_ctx_config x = style(100, 1, 9, CC_CACHEABLE_ALL, 0);
    run(&t, &c, &x, &r);
    assert_int_equal(r.explicit_cache.too_small, 2);
    assert_int_equal(r.explicit_cache.created, 1);
    assert_int_equal(r.ctx_objects[0].creator, 2);
    assert_int_equal(r.ctx_objects[0].size_tokens, 12);
    cc_replay_result_free(&r);

    x = style(100, 1, 8, CC_CACHEABLE_ALL, 0);
    run(&t, &c, &x, &r);
    assert_int_equal(r.explicit_cache.too_small, 0);
    assert_int_equal(r.explicit_cache.created, 2);
    assert_int_equal(r.explicit_cache.hits, 2); /* r1 and r2 hit O0 */
    assert_int_equal(r.records[1].explicit_tokens, 8);
    assert_int_equal(r.ctx_objects[1].creator, 2);
    cc_replay_result_free(&r);
    cc_trace_free(&t);
}

/* The API directly: a request at t=0 creates an object over [1 2] (pins
 * taken over from the request); deleting it at 5 s bills 8*5 = 40
 * token-seconds and unpins its blocks; deleting it again, or an object
 * that expired, is CC_EARG. */
static void test_deletion(void **state)
{
    (void)state;
    cc_pc_config c = one_tier("lru", NULL, 8);
    c.block_tokens = 4;
    cc_prefix_cache *pc;
    cc_err e = {0};
    assert_int_equal(cc_pc_create(&c, &pc, &e), CC_OK);
    cc_ctx_config x = style(10, 0, 0, CC_CACHEABLE_ALL, 0);
    cc_context_cache *cc;
    assert_int_equal(cc_ctx_create(&x, pc, 4, &cc, &e), CC_OK);

    uint64_t blocks[] = {1, 2};
    uint32_t nodes[2];
    cc_pc_request rq = {.blocks = blocks, .n_blocks = 2, .input_tokens = 8, .time_ns = 0};
    cc_pc_hits h;
    uint32_t ins;
    cc_ctx_outcome out;
    cc_ctx_expire(cc, 0);
    cc_pc_lookup(pc, &rq, nodes, &h);
    cc_pc_insert(pc, &rq, nodes, &ins);
    assert_int_equal(cc_ctx_on_request(cc, &rq, 8, h.blocks, nodes, &out), CC_OK);
    assert_int_equal(out.pinned_blocks, 2);
    assert_int_equal(out.created_object, 0);
    cc_pc_release(pc, nodes + out.pinned_blocks, 2 - out.pinned_blocks);
    assert_int_equal(cc_pc_node_get(pc, nodes[0])->refs, 1);
    assert_int_equal(cc_pc_node_get(pc, nodes[1])->refs, 1);
    assert_int_equal(cc_ctx_find(cc, 2), 0);

    assert_int_equal(cc_ctx_delete(cc, 0, 5 * S, &e), CC_OK);
    assert_int_equal(cc_pc_node_get(pc, nodes[0])->refs, 0);
    assert_int_equal(cc_pc_node_get(pc, nodes[1])->refs, 0);
    assert_int_equal(cc_ctx_find(cc, 2), CC_CTX_NONE);
    const cc_ctx_stats *st = cc_ctx_get_stats(cc);
    assert_int_equal(st->deleted, 1);
    assert_int_equal(st->live, 0);
    assert_true(fabs(st->token_seconds_stored - 40) < 1e-9);
    size_t n;
    const cc_ctx_object *o = cc_ctx_objects(cc, &n);
    assert_int_equal(n, 1);
    assert_int_equal(o[0].end, CC_CTX_DELETED);
    assert_int_equal(o[0].ended_ns, 5 * S);
    assert_int_equal(cc_ctx_delete(cc, 0, 6 * S, &e), CC_EARG);
    assert_int_equal(cc_ctx_delete(cc, 7, 6 * S, &e), CC_EARG);

    /* a second object, created at 6 s (expiry 16 s), cannot be deleted at
     * 16 s: it expired then (billed 8*10 = 80) */
    rq.time_ns = 6 * S;
    cc_ctx_expire(cc, rq.time_ns);
    cc_pc_lookup(pc, &rq, nodes, &h);
    cc_pc_insert(pc, &rq, nodes, &ins);
    assert_int_equal(cc_ctx_on_request(cc, &rq, 8, h.blocks, nodes, &out), CC_OK);
    assert_int_equal(out.created_object, 1);
    cc_pc_release(pc, nodes + out.pinned_blocks, 2 - out.pinned_blocks);
    assert_int_equal(cc_ctx_delete(cc, 1, 16 * S, &e), CC_EARG);
    assert_int_equal(st->expired, 1);
    assert_true(fabs(st->token_seconds_stored - 120) < 1e-9);
    assert_int_equal(cc_pc_node_get(pc, nodes[0])->refs, 0);
    assert_int_equal(cc_pc_check(pc, &e), CC_OK);
    cc_ctx_finish(cc);
    cc_ctx_destroy(cc);
    cc_pc_destroy(pc);
}

/* Explicit (ttl 100 s, refreshed, cacheable blocks:1 = a 4-token "system
 * prompt") beside an implicit cache of 3 blocks with ttl(ttl_s=5):
 *  r0 t=0  [1 2]   8: all miss; O0 = block 1 (pinned); cache {1 2}
 *  r1 t=1  [1 2 3] 12: served 1 2: explicit 4 (O0), implicit 4; insert 3
 *  r2 t=2  [1 4]   8: served 1: explicit 4, implicit 0; 4 needs room: the
 *          only evictable block is 3 (1 pinned, 2 has a child) -> evicted
 *  r3 t=10 [1 2]   8: implicit expiry: 2 (hit at 1 -> 6) and 4 (2 -> 7)
 *          leave; served 1: explicit 4, implicit 0; 2 stored again
 * hits 0+8+4+4 = 16 tokens = 12 explicit + 4 implicit; implicit
 * expirations 2, evictions 1; O0: 3 hits, refreshed at 10 -> expiry 110,
 * held at end: 4 * 110 = 440 token-seconds. */
static void test_explicit_and_implicit(void **state)
{
    (void)state;
    cc_trace t;
    trace4(&t);
    uint64_t a[] = {1, 2}, b[] = {1, 2, 3}, d[] = {1, 4};
    add(&t, 0, 8, a, 2);
    add(&t, 1 * S, 12, b, 3);
    add(&t, 2 * S, 8, d, 2);
    add(&t, 10 * S, 8, a, 2);
    cc_pc_config c = one_tier(NULL, "ttl(ttl_s=5,refresh=1)", 3);
    cc_ctx_config x = style(100, 1, 0, CC_CACHEABLE_BLOCKS, 1);
    cc_replay_result r;
    run(&t, &c, &x, &r);
    uint32_t ex[] = {0, 4, 4, 4}, im[] = {0, 4, 0, 0};
    for (int i = 0; i < 4; i++) {
        assert_int_equal(r.records[i].explicit_tokens, ex[i]);
        assert_int_equal(r.records[i].implicit_tokens, im[i]);
        assert_int_equal(r.records[i].hit_tokens, ex[i] + im[i]);
        assert_int_equal(r.records[i].explicit_object, i ? 0 : CC_CTX_NONE);
    }
    assert_int_equal(r.hit_tokens, 16);
    assert_int_equal(r.explicit_cache.hit_tokens, 12);
    assert_int_equal(r.implicit_hit_tokens, 4);
    assert_int_equal(r.expirations, 2);
    assert_int_equal(r.evictions, 1);
    assert_int_equal(r.explicit_cache.created, 1);
    assert_int_equal(r.explicit_cache.hits, 3);
    assert_int_equal(r.explicit_cache.held_at_end, 1);
    assert_true(fabs(r.explicit_cache.token_seconds_stored - 440) < 1e-9);
    assert_int_equal(r.ctx_objects[0].hits, 3);
    assert_int_equal(r.ctx_objects[0].hit_tokens, 12);
    cc_replay_result_free(&r);

    /* without the explicit cache the same implicit cache serves less: r2's
     * insert may evict 3 (2 has a child; 1 is pinned by r2) -> same; r3 at
     * 10 s: 1 (hit at 2 -> 7) expired too -> 0 served.  8 + 4 = 12 tokens */
    cc_err e = {0};
    cc_replay_opts o = {.keep_records = true};
    assert_int_equal(cc_replay(&t, &c, &o, &r, &e), CC_OK);
    assert_false(r.has_context_cache);
    assert_int_equal(r.hit_tokens, 12);
    assert_int_equal(r.implicit_hit_tokens, 12);
    assert_int_equal(r.records[3].hit_tokens, 0);
    cc_replay_result_free(&r);
    cc_trace_free(&t);
}

static void test_parse(void **state)
{
    (void)state;
    cc_ctx_style s;
    cc_err e = {0};
    assert_int_equal(cc_ctx_parse_style("anthropic-5m", &s, &e), CC_OK);
    assert_true(s.ttl_s == 300 && s.refresh == 1 && s.min_tokens == 1024);
    assert_int_equal(cc_ctx_parse_style("gemini-explicit", &s, &e), CC_OK);
    assert_true(s.ttl_s == 3600 && s.refresh == 0);
    assert_int_equal(cc_ctx_parse_style("moonshot(ttl_s=60, refresh=0,min_tokens=512)", &s, &e),
                     CC_OK);
    assert_true(s.ttl_s == 60 && s.refresh == 0 && s.min_tokens == 512);
    assert_int_equal(cc_ctx_parse_style("anthropic-1h", &s, &e), CC_OK);
    assert_true(s.ttl_s == 3600 && s.refresh == 1);
    static const struct {
        const char *spec, *field;
    } bad[] = {
        {"nope", "context_cache"},           {"moonshot(ttl_s=0)", "ttl_s"},
        {"moonshot(ttl_s=-1)", "ttl_s"},     {"moonshot(ttl_s=abc)", "ttl_s"},
        {"moonshot(refresh=2)", "refresh"},  {"moonshot(min_tokens=1.5)", "min_tokens"},
        {"moonshot(size=3)", "size"},        {"moonshot(ttl_s=1", "context_cache"},
        {"moonshot(ttl_s)", "context_cache"}, {"", "context_cache"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(cc_ctx_parse_style(bad[i].spec, &s, &e), CC_EARG);
        assert_string_equal(e.field, bad[i].field);
    }
    cc_ctx_config x;
    assert_int_equal(cc_ctx_parse_cacheable("blocks:3", &x, &e), CC_OK);
    assert_true(x.cacheable == CC_CACHEABLE_BLOCKS && x.cacheable_blocks == 3);
    assert_int_equal(cc_ctx_parse_cacheable("system", &x, &e), CC_OK);
    assert_int_equal(x.cacheable, CC_CACHEABLE_SYSTEM);
    const char *badc[] = {"blocks:0", "blocks:", "blocks:-1", "blocks:2x", "sys", ""};
    for (size_t i = 0; i < sizeof badc / sizeof badc[0]; i++) {
        memset(&e, 0, sizeof e);
        assert_int_equal(cc_ctx_parse_cacheable(badc[i], &x, &e), CC_EARG);
        assert_string_equal(e.field, "cacheable");
    }
    assert_non_null(cc_ctx_implicit_find("openai"));
    assert_null(cc_ctx_implicit_find("nope"));
}

/* Cacheable prefix from chunks: system 5 tokens + passage 7 + user 3 (15):
 * system -> 12, auto -> 12, all -> 15, blocks:2 (bs 4) -> 8; a request
 * whose first chunk is a user turn: system -> 0, auto -> all. */
static void test_cacheable_tokens(void **state)
{
    (void)state;
    cc_trace t;
    trace4(&t);
    uint64_t off;
    assert_int_equal(cc_trace_add_text(&t, "abc", 3, &off), CC_OK);
    cc_chunk ch[3] = {
        {.text_off = off, .text_len = 1, .kind = CC_CHUNK_SYSTEM, .token_start = 0, .token_len = 5},
        {.text_off = off + 1, .text_len = 1, .kind = CC_CHUNK_PASSAGE, .token_start = 5,
         .token_len = 7},
        {.text_off = off + 2, .text_len = 1, .kind = CC_CHUNK_USER, .token_start = 12,
         .token_len = 3},
    };
    uint64_t b[] = {1, 2, 3, 4};
    cc_request r = {.input_tokens = 15, .output_tokens = 1, .group_id = CC_NO_GROUP,
                    .blocks = b, .n_blocks = 4, .n_chunks = 3, .chunks = ch};
    assert_int_equal(cc_trace_append(&t, &r), CC_OK);
    r.chunks = ch + 2;
    r.n_chunks = 1;
    assert_int_equal(cc_trace_append(&t, &r), CC_OK);
    cc_ctx_config x = style(1, 1, 0, CC_CACHEABLE_SYSTEM, 0);
    assert_int_equal(cc_ctx_cacheable_tokens(&x, &t, 0), 12);
    assert_int_equal(cc_ctx_cacheable_tokens(&x, &t, 1), 0);
    x.cacheable = CC_CACHEABLE_AUTO;
    assert_int_equal(cc_ctx_cacheable_tokens(&x, &t, 0), 12);
    assert_int_equal(cc_ctx_cacheable_tokens(&x, &t, 1), 15);
    x.cacheable = CC_CACHEABLE_ALL;
    assert_int_equal(cc_ctx_cacheable_tokens(&x, &t, 0), 15);
    x.cacheable = CC_CACHEABLE_BLOCKS;
    x.cacheable_blocks = 2;
    assert_int_equal(cc_ctx_cacheable_tokens(&x, &t, 0), 8);
    x.cacheable_blocks = 9;
    assert_int_equal(cc_ctx_cacheable_tokens(&x, &t, 0), 15);
    cc_trace_free(&t);
}

/* The command: a Mooncake-format trace (512-token blocks, ms timestamps):
 * r0 t=0 1024 tok [1 2], r1 t=1 s 1536 tok [1 2 3]; anthropic-5m with
 * min_tokens=0, cacheable blocks:2: r0 creates a 1024-token object; r1
 * hits it (1024 explicit, 0 implicit) and refreshes it to 301 s:
 * 1024 * 301 = 308224 token-seconds. */
static void test_cli(void **state)
{
    (void)state;
    char p[512], cmd[2048];
    const char *tr = "{\"timestamp\": 0, \"input_length\": 1024, \"output_length\": 1, "
                     "\"hash_ids\": [1, 2]}\n"
                     "{\"timestamp\": 1000, \"input_length\": 1536, \"output_length\": 1, "
                     "\"hash_ids\": [1, 2, 3]}\n";
    tu_write_tmp(p, sizeof p, "ctx.jsonl", tr, strlen(tr));
    char *out;
    snprintf(cmd, sizeof cmd,
             "%s replay %s --capacity-blocks inf --context-cache 'anthropic-5m(min_tokens=0)' "
             "--cacheable blocks:2 --json 2>/dev/null", tu_bin(), p);
    assert_int_equal(tu_run(cmd, &out), 0);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    assert_non_null(j);
    json_t *x = json_object_get(j, "explicit_cache");
    assert_non_null(x);
    assert_int_equal(json_integer_value(json_object_get(x, "objects_created")), 1);
    assert_int_equal(json_integer_value(json_object_get(x, "hits")), 1);
    assert_int_equal(json_integer_value(json_object_get(x, "tokens_served")), 1024);
    assert_int_equal(json_integer_value(json_object_get(x, "held_at_end")), 1);
    assert_true(fabs(json_real_value(json_object_get(x, "token_seconds_stored")) - 308224) < 1e-6);
    assert_int_equal(json_integer_value(json_object_get(j, "implicit_hit_tokens")), 0);
    json_decref(j);
    free(out);

    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks inf --context-cache moonshot",
             tu_bin(), p);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "explicit cache   moonshot"));
    free(out);

    static const struct {
        const char *args, *names;
    } bad[] = {
        {"--context-cache 'moonshot(refresh=2)'", "--context-cache"},
        {"--context-cache 'moonshot(ttl_s=0)'", "--context-cache"},
        {"--context-cache 'anthropic-5m(min_tokens=-3)'", "--context-cache"},
        {"--context-cache nope", "--context-cache"},
        {"--context-cache moonshot --cacheable blocks:0", "--cacheable"},
        {"--cacheable everything", "--cacheable"},
        {"--context-cache moonshot --mode independent", "--context-cache"},
        {"--implicit-cache nope", "--implicit-cache"},
        {"--implicit-cache openai --policy lru", "--implicit-cache"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks inf %s", tu_bin(), p,
                 bad[i].args);
        assert_int_equal(tu_run(cmd, &out), 2);
        if (!strstr(out, bad[i].names))
            fail_msg("'%s': output does not name %s: %s", bad[i].args, bad[i].names, out);
        free(out);
    }
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks inf --implicit-cache openai --json",
             tu_bin(), p);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "ttl(ttl_s=600,refresh=1)"));
    free(out);
    remove(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_expiry_exactly_at_ttl),
        cmocka_unit_test(test_refresh_vs_fixed),
        cmocka_unit_test(test_minimum_size),
        cmocka_unit_test(test_deletion),
        cmocka_unit_test(test_explicit_and_implicit),
        cmocka_unit_test(test_parse),
        cmocka_unit_test(test_cacheable_tokens),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
