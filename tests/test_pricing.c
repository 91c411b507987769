/* test_pricing.c -- the pricing model (policies/pricing.h) and operator
 * economics on hand-computed traces: a bill for every preset on one small
 * trace, TTL fixed against refreshed (explicit and implicit), the minimum,
 * granularity rounding, the input-price override, fees per object and per
 * hit, the storage unit, the break-even formulas on hand values, a TTL
 * sweep whose optimum is worked out by hand, the pricing-file loader with a
 * table of bad inputs, the --pricing list, and bills with blend counted.  Every expected figure is
 * worked out in the comment above its test, never taken from the code. */
#include "testutil.h"
#include "policies/pricing.h"

#define S_NS ((int64_t)1000000000)
#define TOL 1e-12

static void add(cc_trace *t, int64_t at_ns, uint32_t in, uint32_t out, const uint64_t *b,
                uint32_t nb)
{
    cc_request r = {0};
    r.arrival_ns = at_ns;
    r.input_tokens = in;
    r.output_tokens = out;
    r.group_id = CC_NO_GROUP;
    r.blocks = b;
    r.n_blocks = nb;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static void init(cc_trace *t, uint32_t bs)
{
    cc_trace_init(t);
    t->block_size = bs;
    t->timed = true;
}

/* T1, blocks of 512 tokens, no chunks (so the cacheable prefix is the whole
 * prompt), 100 output tokens each:
 *   r0 t=0     [A B C D]    2048 tokens
 *   r1 t=60 s  [A B C D E]  2560 tokens
 *   r2 t=400 s [A B C D]    2048 tokens          output 300 in all */
static const uint64_t A5[] = {11, 12, 13, 14, 15};
static void t1(cc_trace *t)
{
    init(t, 512);
    add(t, 0, 2048, 100, A5, 4);
    add(t, 60 * S_NS, 2560, 100, A5, 5);
    add(t, 400 * S_NS, 2048, 100, A5, 4);
}

static cc_bill bill_preset(const cc_trace *t, const char *name, const cc_pricing_run *run)
{
    const cc_pricing *p = cc_pricing_preset_find(name);
    assert_non_null(p);
    cc_bill b;
    cc_err e = {0};
    cc_pricing_run r0 = {0};
    assert_int_equal(cc_pricing_replay(t, p, run ? run : &r0, &b, NULL, &e), CC_OK);
    /* the breakdown adds up and every input token is billed once */
    double sum = b.input_uncached_usd + b.cache_write_usd + b.cache_read_usd + b.storage_usd +
                 b.creation_fee_usd + b.hit_fee_usd + b.output_usd;
    assert_true(fabs(sum - b.total_usd) <= 1e-12 * (1 + fabs(sum)));
    assert_int_equal(b.read_tokens + b.written_tokens + b.uncached_tokens, b.input_tokens);
    return b;
}

#define NEAR(a, b) assert_true(fabs((double)(a) - (double)(b)) <= TOL + 1e-9 * fabs((double)(b)))

/* gemini-explicit: $0.30/M in, $2.50/M out, write 1x, read 0.1x, storage
 * $1.00 per M token-hours, TTL 3600 s fixed, min 1024.
 *  r0 creates O0 (2048 tokens, 0 -> 3600 s): writes 2048
 *  r1 reads O0 (2048), creates O1 (2560, 60 -> 3660 s): writes 2560-2048 = 512
 *  r2 (400 s) reads O0 (O1 is not a prefix of it); 2048 held: no object
 *  read 4096, written 2560, uncached 0; storage (2048 + 2560) tokens * 1 h
 *  write 2560*0.30e-6 = 0.000768; read 4096*0.03e-6 = 0.00012288;
 *  storage 4608e-6 = 0.004608; output 300*2.5e-6 = 0.00075;
 *  total 0.00624888 */
static void test_gemini_explicit(void **s)
{
    cc_trace t;
    t1(&t);
    cc_bill b = bill_preset(&t, "gemini-explicit", NULL);
    assert_int_equal(b.read_tokens, 4096);
    assert_int_equal(b.written_tokens, 2560);
    assert_int_equal(b.objects, 2);
    assert_int_equal(b.hits, 2);
    NEAR(b.token_hours_stored, 4608);
    NEAR(b.cache_write_usd, 0.000768);
    NEAR(b.cache_read_usd, 0.00012288);
    NEAR(b.storage_usd, 0.004608);
    NEAR(b.output_usd, 0.00075);
    NEAR(b.total_usd, 0.00624888);
    cc_trace_free(&t);
}

/* gemini-implicit: $0.30/M, read 0.1x, TTL 300 s idle (refreshed), min 1024,
 * no storage.  r1 (60 s) hits A-D = 2048 >= 1024 and refreshes them to
 * 360 s; r2 (400 s) finds them expired: miss.
 *  read 2048; uncached 2048 + 512 + 2048 = 4608
 *  4608*0.30e-6 = 0.0013824; 2048*0.03e-6 = 0.00006144; output 0.00075;
 *  total 0.00219384 */
static void test_gemini_implicit(void **s)
{
    cc_trace t;
    t1(&t);
    cc_bill b = bill_preset(&t, "gemini-implicit", NULL);
    assert_int_equal(b.read_tokens, 2048);
    assert_int_equal(b.uncached_tokens, 4608);
    assert_int_equal(b.written_tokens, 0);
    NEAR(b.input_uncached_usd, 0.0013824);
    NEAR(b.cache_read_usd, 0.00006144);
    NEAR(b.storage_usd, 0);
    NEAR(b.total_usd, 0.00219384);
    cc_trace_free(&t);
}

/* moonshot-2024 (7.2 CNY/USD): creation 24 CNY/M, storage 5 CNY/M/min
 * billed per started minute, 0.02 CNY per call hitting a cache, cached
 * tokens not billed per token, TTL 3600 s reset on use, no minimum;
 * moonshot-v1-32k 24 CNY/M in and out.
 *  O0 (2048): created 0, hit at 60 and 400 s -> expiry 4000 s: 66.67 min
 *    -> 67 minutes billed;  O1 (2560): created 60 s, no hit, 3600 s = 60 min
 *  written 2048 + 512 = 2560: 2560 * 24/7.2e6 = 0.0085333...
 *  storage (2048*67 + 2560*60) token-min * 5 CNY/M = 1.45408 CNY
 *    = 0.2019555... USD
 *  hits 2 * 0.02/7.2 = 0.0055555...;  output 300 * 24/7.2e6 = 0.001
 *  total 0.2170444... */
static void test_moonshot(void **s)
{
    cc_trace t;
    t1(&t);
    cc_bill b = bill_preset(&t, "moonshot-2024", NULL);
    assert_int_equal(b.read_tokens, 4096);
    assert_int_equal(b.written_tokens, 2560);
    assert_int_equal(b.hits, 2);
    NEAR(b.cache_read_usd, 0);
    NEAR(b.cache_write_usd, 2560 * 24 / 7.2e6);
    NEAR(b.storage_usd, 1.45408 / 7.2);
    NEAR(b.hit_fee_usd, 0.04 / 7.2);
    NEAR(b.output_usd, 0.001);
    NEAR(b.total_usd, 2560 * 24 / 7.2e6 + 1.45408 / 7.2 + 0.04 / 7.2 + 0.001);
    cc_trace_free(&t);
}

/* anthropic-5m: $3/M in, $15/M out, write 1.25x, read 0.1x, 300 s refreshed.
 *  r0 creates O0 (2048, expiry 300); r1 (60) reads O0 (expiry -> 360) and
 *  creates O1 (2560, expiry 360): writes 512; r2 (400): both gone, creates
 *  O2: writes 2048.  written 4608, read 2048.
 *  4608*3.75e-6 = 0.01728; 2048*0.3e-6 = 0.0006144; 300*15e-6 = 0.0045;
 *  total 0.0223944 */
static void test_anthropic_5m(void **s)
{
    cc_trace t;
    t1(&t);
    cc_bill b = bill_preset(&t, "anthropic-5m", NULL);
    assert_int_equal(b.written_tokens, 4608);
    assert_int_equal(b.read_tokens, 2048);
    assert_int_equal(b.objects, 3);
    NEAR(b.cache_write_usd, 0.01728);
    NEAR(b.cache_read_usd, 0.0006144);
    NEAR(b.total_usd, 0.0223944);
    cc_trace_free(&t);
}

/* anthropic-1h: write 2x, 3600 s refreshed.  O0 refreshed at 60 s lives to
 * 3660 s: r2 reads it.  written 2560, read 4096.
 *  2560*6e-6 = 0.01536; 4096*0.3e-6 = 0.0012288; 0.0045; total 0.0210888 */
static void test_anthropic_1h(void **s)
{
    cc_trace t;
    t1(&t);
    cc_bill b = bill_preset(&t, "anthropic-1h", NULL);
    assert_int_equal(b.written_tokens, 2560);
    assert_int_equal(b.read_tokens, 4096);
    NEAR(b.total_usd, 0.0210888);
    cc_trace_free(&t);
}

/* openai: $2/M in, read 0.25x, $8/M out, 600 s idle, min 1024, 128-token
 * increments.  r1 hits 2048 (refreshed to 660 s), r2 (400 s) hits 2048.
 *  read 4096, uncached 2048 + 512 = 2560
 *  2560*2e-6 = 0.00512; 4096*0.5e-6 = 0.002048; 300*8e-6 = 0.0024;
 *  total 0.009568 */
static void test_openai(void **s)
{
    cc_trace t;
    t1(&t);
    cc_bill b = bill_preset(&t, "openai", NULL);
    assert_int_equal(b.read_tokens, 4096);
    assert_int_equal(b.uncached_tokens, 2560);
    NEAR(b.total_usd, 0.009568);
    cc_trace_free(&t);
}

/* deepseek: miss $0.27/M, hit $0.07/M, out $1.10/M, 6 h idle, 64-token
 * units.  read 4096, uncached 2560.
 *  2560*0.27e-6 = 0.0006912; 4096*0.07e-6 = 0.00028672; 300*1.1e-6 =
 *  0.00033; total 0.00130792 */
static void test_deepseek(void **s)
{
    cc_trace t;
    t1(&t);
    cc_bill b = bill_preset(&t, "deepseek", NULL);
    assert_int_equal(b.read_tokens, 4096);
    NEAR(b.cache_read_usd, 0.00028672);
    NEAR(b.total_usd, 0.00130792);
    cc_trace_free(&t);
}

/* qwen-explicit: $0.40/M in, $1.20/M out, write 1.25x, read 0.1x, 300 s
 * reset on hit, min 1024: the pattern of anthropic-5m.
 *  written 4608 * 0.5e-6 = 0.002304; read 2048 * 0.04e-6 = 0.00008192;
 *  output 300 * 1.2e-6 = 0.00036; total 0.00274592 */
static void test_qwen(void **s)
{
    cc_trace t;
    t1(&t);
    cc_bill b = bill_preset(&t, "qwen-explicit", NULL);
    assert_int_equal(b.written_tokens, 4608);
    assert_int_equal(b.read_tokens, 2048);
    NEAR(b.total_usd, 0.00274592);
    cc_trace_free(&t);
}

/* --input-price 1 on anthropic-5m: the multipliers apply to the new price.
 *  4608*1.25e-6 = 0.00576; 2048*0.1e-6 = 0.0002048; output unchanged
 *  0.0045; total 0.0104648.  --output-price 2 as well: output 0.0006,
 *  total 0.0065648. */
static void test_input_price_override(void **s)
{
    cc_trace t;
    t1(&t);
    cc_pricing_run run = {.input_usd_per_mtok = 1.0};
    cc_bill b = bill_preset(&t, "anthropic-5m", &run);
    NEAR(b.cache_write_usd, 0.00576);
    NEAR(b.cache_read_usd, 0.0002048);
    NEAR(b.total_usd, 0.0104648);
    run.output_usd_per_mtok = 2.0;
    b = bill_preset(&t, "anthropic-5m", &run);
    NEAR(b.total_usd, 0.0065648);
    cc_trace_free(&t);
}

/* A test model: $1 per input token (1e6 $/M), write 2x, read 0.5x, output
 * free, storage $1 per token-hour (1e6 $/M-h). */
static cc_pricing model(int explicit_cache, double ttl_s, int refresh, uint32_t min, uint32_t g)
{
    cc_pricing p;
    memset(&p, 0, sizeof p);
    strcpy(p.name, "test");
    p.explicit_cache = explicit_cache;
    p.input_usd_per_mtok = 1e6;
    p.write_mult = 2;
    p.read_mult = 0.5;
    p.storage_usd_per_mtok_hour = 1e6;
    p.ttl_s = ttl_s;
    p.refresh = refresh;
    p.min_tokens = min;
    p.granularity_tokens = g;
    return p;
}

static cc_bill bill(const cc_trace *t, const cc_pricing *p)
{
    cc_bill b;
    cc_err e = {0};
    cc_pricing_run run = {0};
    assert_int_equal(cc_pricing_replay(t, p, &run, &b, NULL, &e), CC_OK);
    assert_int_equal(b.read_tokens + b.written_tokens + b.uncached_tokens, b.input_tokens);
    return b;
}

/* Blocks of 4, [1 2] (8 tokens) at 0, 80 s, 150 s; ttl 100 s.
 * explicit fixed: O0 0->100; r1 reads 8; r2: O0 expired at 100 -> creates
 *   O1 150->250.  written 16, read 8; storage 8*100 + 8*100 = 1600 token-s
 *   bill 16*2 + 8*0.5 + 1600/3600 = 36.4444...
 * explicit refreshed: r1 refreshes O0 to 180, r2 reads it, refreshes to
 *   250.  written 8, read 16; storage 8*250 = 2000 token-s
 *   bill 8*2 + 16*0.5 + 2000/3600 = 24.5555...
 * implicit fixed: blocks in at 0 expire at 100: r1 hits 8, r2 misses
 *   (read 8, uncached 16); storage by episodes: each of the 2 blocks (4
 *   tokens) 0->100 then 150->250: 2*4*200 = 1600 token-s.
 *   bill 16 + 4 + 1600/3600
 * implicit refreshed: r1 refreshes to 180, r2 hits (read 16, uncached 8);
 *   storage 2*4*250 = 2000 token-s.  bill 8 + 8 + 2000/3600 */
static void test_ttl_fixed_vs_refreshed(void **s)
{
    cc_trace t;
    const uint64_t b[] = {1, 2};
    init(&t, 4);
    add(&t, 0, 8, 0, b, 2);
    add(&t, 80 * S_NS, 8, 0, b, 2);
    add(&t, 150 * S_NS, 8, 0, b, 2);
    cc_pricing p = model(1, 100, 0, 0, 1);
    cc_bill x = bill(&t, &p);
    assert_int_equal(x.written_tokens, 16);
    assert_int_equal(x.read_tokens, 8);
    NEAR(x.token_hours_stored * 3600, 1600);
    NEAR(x.total_usd, 36 + 1600.0 / 3600);
    p.refresh = 1;
    x = bill(&t, &p);
    assert_int_equal(x.written_tokens, 8);
    assert_int_equal(x.read_tokens, 16);
    NEAR(x.token_hours_stored * 3600, 2000);
    NEAR(x.total_usd, 24 + 2000.0 / 3600);
    p = model(0, 100, 0, 0, 1);
    x = bill(&t, &p);
    assert_int_equal(x.read_tokens, 8);
    assert_int_equal(x.uncached_tokens, 16);
    NEAR(x.token_hours_stored * 3600, 1600);
    NEAR(x.total_usd, 20 + 1600.0 / 3600);
    p.refresh = 1;
    x = bill(&t, &p);
    assert_int_equal(x.read_tokens, 16);
    NEAR(x.token_hours_stored * 3600, 2000);
    NEAR(x.total_usd, 16 + 2000.0 / 3600);
    cc_trace_free(&t);
}

/* Minimum 12 tokens, blocks of 4, ttl 1000 s.
 * explicit: r0 [1 2] (8 tokens) is too small: no object, 8 uncached;
 *   r1 [1 2 3] (12) creates O0: writes 12; r2 [1 2 3] reads 12.
 * implicit: r0 [1 2 3] 12 tokens miss; r1 [1 2 9] hits 8 < 12: read 0;
 *   r2 [1 2 3] hits 12: read 12. */
static void test_min_tokens(void **s)
{
    cc_trace t;
    const uint64_t b[] = {1, 2, 3}, c[] = {1, 2, 9};
    init(&t, 4);
    add(&t, 0, 8, 0, b, 2);
    add(&t, 1 * S_NS, 12, 0, b, 3);
    add(&t, 2 * S_NS, 12, 0, b, 3);
    cc_pricing p = model(1, 1000, 0, 12, 1);
    cc_bill x = bill(&t, &p);
    assert_int_equal(x.objects, 1);
    assert_int_equal(x.written_tokens, 12);
    assert_int_equal(x.read_tokens, 12);
    assert_int_equal(x.uncached_tokens, 8);
    cc_trace_free(&t);

    init(&t, 4);
    add(&t, 0, 12, 0, b, 3);
    add(&t, 1 * S_NS, 12, 0, c, 3);
    add(&t, 2 * S_NS, 12, 0, b, 3);
    p = model(0, 1000, 1, 12, 1);
    x = bill(&t, &p);
    assert_int_equal(x.read_tokens, 12);
    assert_int_equal(x.hits, 1);
    assert_int_equal(x.uncached_tokens, 24);
    cc_trace_free(&t);
}

/* Granularity 5, blocks of 4: r0 [1 2 3] 12 tokens, r1 [1 2 3 4] 16.
 * implicit: r1 hits 12 -> 10 read, 6 uncached (r0: 12 uncached).
 * explicit (cacheable all, ttl 1000 fixed): r0 creates O0 of 12 tokens,
 *   billed 10 written (2 uncached); r1 reads O0: 10 read, and creates O1
 *   of 16 tokens -> 15, of which 10 read: 5 written; 1 uncached.
 *   Storage: O0 10 tokens and O1 15 tokens, 1000 s each: 25000 token-s. */
static void test_granularity(void **s)
{
    cc_trace t;
    const uint64_t b[] = {1, 2, 3, 4};
    init(&t, 4);
    add(&t, 0, 12, 0, b, 3);
    add(&t, 1 * S_NS, 16, 0, b, 4);
    cc_pricing p = model(0, 1000, 1, 0, 5);
    cc_bill x = bill(&t, &p);
    assert_int_equal(x.read_tokens, 10);
    assert_int_equal(x.uncached_tokens, 18);
    p = model(1, 1000, 0, 0, 5);
    x = bill(&t, &p);
    assert_int_equal(x.read_tokens, 10);
    assert_int_equal(x.written_tokens, 15);
    assert_int_equal(x.uncached_tokens, 3);
    NEAR(x.token_hours_stored * 3600, 25000);
    cc_trace_free(&t);
}

/* Fees and the storage unit on the fixed-TTL trace of
 * test_ttl_fixed_vs_refreshed (2 objects, 1 hit; objects held 100 s each):
 * creation_fee 0.5/object -> 1.0; hit_fee 0.25 -> 0.25;
 * creation_usd_per_mtok 1e6 ($1/token written, 16 written) -> +16 on the
 * write; storage unit 60 s: 100 s -> 120 s, 8*120*2 = 1920 token-s. */
static void test_fees_and_units(void **s)
{
    cc_trace t;
    const uint64_t b[] = {1, 2};
    init(&t, 4);
    add(&t, 0, 8, 0, b, 2);
    add(&t, 80 * S_NS, 8, 0, b, 2);
    add(&t, 150 * S_NS, 8, 0, b, 2);
    cc_pricing p = model(1, 100, 0, 0, 1);
    p.creation_fee_usd = 0.5;
    p.hit_fee_usd = 0.25;
    p.creation_usd_per_mtok = 1e6;
    p.storage_unit_s = 60;
    cc_bill x = bill(&t, &p);
    NEAR(x.creation_fee_usd, 1.0);
    NEAR(x.hit_fee_usd, 0.25);
    NEAR(x.cache_write_usd, 16 * 2 + 16);
    NEAR(x.token_hours_stored * 3600, 1920);
    cc_trace_free(&t);
}

/* Operator: GPU $3.6/h at 1000 prefill tokens/s -> c = 3.6/3600/1000 =
 * 1e-6 $/token; KV 1e6 bytes/token = 0.001 GB; tier $0.0036/GB-h ->
 * h = 0.001*0.0036/3600 = 1e-9 $/token-s; transfer $0.0002/GB -> x =
 * 2e-7 $/token.  T* = (1e-6 - 2e-7)/1e-9 = 800 s; at TTL 400 s the hit
 * rate needed is 400/800 = 0.5.
 * Customer: anthropic-5m n* = (1.25-1)/(1-0.1) = 0.27777..., hit rate
 * n* / (1 + n*) = 0.21739...; gemini-explicit held 3600 s: cost 1e-6 (one
 * token-hour at $1/M), save 0.27e-6 -> n* = 3.7037...; its break-even TTL
 * 0.27e-6 / (1e-6/3600) = 972 s.  moonshot-2024 with S = 2000 tokens:
 * save = 24/7.2e6 - (0.02/7.2)/2000 = 1.94444e-6; storage 300/7.2e6 per
 * token-hour -> T* = 1.94444e-6 / (300/7.2e6/3600) = 168 s; held 60 s:
 * cost = 24/7.2e6 (creation) - 24/7.2e6 (no input price on the written
 * tokens) + 300/7.2e6/60 = 6.9444e-7 -> n* = 0.357142857... */
static void test_break_even(void **s)
{
    cc_econ e;
    cc_err err = {0};
    assert_int_equal(cc_econ_init(&e, "dram", &err), CC_OK);
    e.gpu_usd_per_hour = 3.6;
    e.prefill_tokens_per_s = 1000;
    e.kv_bytes_per_token = 1e6;
    e.tier.usd_per_gb_hour = 0.0036;
    e.tier.transfer_usd_per_gb = 0.0002;
    cc_econ_figures f;
    cc_econ_figures_of(&e, &f);
    NEAR(f.recompute_usd_per_token, 1e-6);
    NEAR(f.hold_usd_per_token_s, 1e-9);
    NEAR(f.load_usd_per_token, 2e-7);
    assert_true(fabs(f.break_even_ttl_s - 800) < 1e-6);
    assert_true(fabs(cc_econ_break_even_hit_rate(&f, 400) - 0.5) < 1e-12);
    assert_int_equal(cc_econ_init(&e, "nvme", &err), CC_EARG);

    const cc_pricing *a = cc_pricing_preset_find("anthropic-5m");
    double n = cc_pricing_break_even_reads(a, 5000, 300);
    assert_true(fabs(n - 0.25 / 0.9) < 1e-12);
    assert_true(fabs(n / (1 + n) - 0.25 / 1.15) < 1e-12);
    assert_true(isinf(cc_pricing_break_even_ttl_s(a, 5000)));
    const cc_pricing *g = cc_pricing_preset_find("gemini-explicit");
    assert_true(fabs(cc_pricing_break_even_reads(g, 5000, 3600) - 1.0 / 0.27) < 1e-9);
    assert_true(fabs(cc_pricing_break_even_ttl_s(g, 5000) - 972) < 1e-6);
    const cc_pricing *m = cc_pricing_preset_find("moonshot-2024");
    assert_true(fabs(cc_pricing_break_even_ttl_s(m, 2000) - 168) < 1e-6);
    assert_true(fabs(cc_pricing_break_even_reads(m, 2000, 60) - 0.3571428571428571) < 1e-9);
}

/* Sweep, explicit fixed TTL, $1000/M input (P = $0.001/token), write 1x,
 * read 0x, storage $9000/M-h (s = 2.5e-6 $/token-s), output free; blocks
 * of 4, [1 2] (8 tokens) at 0, 50 s and 500 s:
 *   TTL 10:   3 objects (each expires before the next request): written 24,
 *             storage 3*8*10 = 240 token-s: 0.024 + 0.0006 = 0.0246
 *   TTL 100:  O0 serves r1; r2 creates O1: written 16, 2*8*100 = 1600:
 *             0.016 + 0.004 = 0.020
 *   TTL 1000: O0 serves both: written 8, 8000 token-s: 0.008 + 0.02 = 0.028
 * Optimum: 100 s.  Operator (tier price 0: no holding cost; recompute
 * $1e-6/token): cost = computed tokens * 1e-6 = (24 - read) * 1e-6:
 * 24e-6, 16e-6, 8e-6: optimum 1000 s.  The CSV has a header and 3 rows. */
static void test_sweep_optimum(void **s)
{
    cc_trace t;
    const uint64_t b[] = {1, 2};
    init(&t, 4);
    add(&t, 0, 8, 0, b, 2);
    add(&t, 50 * S_NS, 8, 0, b, 2);
    add(&t, 500 * S_NS, 8, 0, b, 2);
    cc_pricing p;
    memset(&p, 0, sizeof p);
    strcpy(p.name, "sweep");
    p.explicit_cache = 1;
    p.input_usd_per_mtok = 1000;
    p.write_mult = 1;
    p.storage_usd_per_mtok_hour = 9000;
    p.ttl_s = 60;
    p.granularity_tokens = 1;
    cc_econ e;
    cc_err err = {0};
    assert_int_equal(cc_econ_init(&e, "hbm", &err), CC_OK);
    e.tier.usd_per_gb_hour = 0;
    e.gpu_usd_per_hour = 3.6;
    e.prefill_tokens_per_s = 1000;
    const double ttls[] = {10, 100, 1000};
    cc_sweep_row *rows = NULL;
    cc_pricing_run run = {0};
    assert_int_equal(cc_econ_sweep(&t, &p, 1, ttls, 3, &run, &e, &rows, &err), CC_OK);
    NEAR(rows[0].bill.total_usd, 0.0246);
    NEAR(rows[1].bill.total_usd, 0.020);
    NEAR(rows[2].bill.total_usd, 0.028);
    assert_int_equal(cc_econ_sweep_best(rows, 3, 0, 0), 1);
    NEAR(rows[0].operator_usd, 24e-6);
    NEAR(rows[2].operator_usd, 8e-6);
    assert_int_equal(cc_econ_sweep_best(rows, 3, 0, 1), 2);
    char path[512];
    tu_tmp_path(path, sizeof path, "sweep.csv");
    assert_int_equal(cc_econ_sweep_write_csv(path, rows, 3, &err), CC_OK);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    int lines = 0;
    while (fgets(line, sizeof line, f))
        lines++;
    fclose(f);
    assert_int_equal(lines, 4);
    remove(path);
    free(rows);
    cc_trace_free(&t);
}

/* ---- the pricing file ----------------------------------------------------------- */
static void test_load_file(void **s)
{
    const char *txt = "# a user model\n"
                      "name = my-model\n"
                      "explicit = 1\n"
                      "input_usd_per_mtok = 2.5   # list price\n"
                      "output_usd_per_mtok = 10\n"
                      "write_mult = 1.5\n"
                      "read_mult = 0.2\n"
                      "creation_usd_per_mtok = 0.1\n"
                      "creation_fee_usd = 0.01\n"
                      "hit_fee_usd = 0.001\n"
                      "storage_usd_per_mtok_hour = 4\n"
                      "storage_unit_s = 60\n"
                      "ttl_s = 900\n"
                      "refresh = 1\n"
                      "min_tokens = 2048\n"
                      "granularity_tokens = 256\n"
                      "source = our contract, 2026-11 # not a comment here\n";
    char path[512];
    tu_write_tmp(path, sizeof path, "m.pricing", txt, strlen(txt));
    cc_pricing p;
    cc_err e = {0};
    assert_int_equal(cc_pricing_load(path, &p, &e), CC_OK);
    assert_string_equal(p.name, "my-model");
    assert_int_equal(p.explicit_cache, 1);
    assert_true(p.input_usd_per_mtok == 2.5 && p.output_usd_per_mtok == 10);
    assert_true(p.write_mult == 1.5 && p.read_mult == 0.2);
    assert_true(p.creation_usd_per_mtok == 0.1 && p.creation_fee_usd == 0.01);
    assert_true(p.hit_fee_usd == 0.001 && p.storage_usd_per_mtok_hour == 4);
    assert_true(p.storage_unit_s == 60 && p.ttl_s == 900 && p.refresh == 1);
    assert_int_equal(p.min_tokens, 2048);
    assert_int_equal(p.granularity_tokens, 256);
    assert_string_equal(p.source, "our contract, 2026-11 # not a comment here");
    /* the list takes a path beside presets */
    char list[700];
    snprintf(list, sizeof list, "openai,%s", path);
    cc_pricing ms[4];
    size_t n;
    assert_int_equal(cc_pricing_parse_list(list, ms, 4, &n, &e), CC_OK);
    assert_int_equal(n, 2);
    assert_string_equal(ms[1].name, "my-model");
    remove(path);

    /* base: a preset with one change */
    const char *b = "base = anthropic-5m\nname = a5-cheap\ninput_usd_per_mtok = 1\n";
    assert_int_equal(cc_pricing_parse("b.pricing", b, strlen(b), &p, &e), CC_OK);
    assert_int_equal(p.explicit_cache, 1);
    assert_true(p.write_mult == 1.25 && p.input_usd_per_mtok == 1 && p.ttl_s == 300);
}

typedef struct bad_case {
    const char *what, *text;
    size_t len; /* 0: strlen */
    int code;
    long line;
    const char *field;
} bad_case;

/* Every bad input: the status, the line and the key named.  (The format
 * has no timestamps, so there is no "time going backwards" case.) */
static void test_bad_inputs(void **s)
{
    static const char bin[] = "name = x\n\x7f" "ELF\x02\x01\x00\x00\x00";
    static const bad_case cases[] = {
        {"empty file", "", 0, CC_EFORMAT, 1, "name"},
        {"truncated last line", "name = x\nexplicit = 1\nttl_s", 0, CC_EFORMAT, 3, "ttl_s"},
        {"truncated value", "name = x\nexplicit = 1\nttl_s =", 0, CC_EFORMAT, 3, "ttl_s"},
        {"missing name", "explicit = 1\nttl_s = 5\n", 0, CC_EFORMAT, 2, "name"},
        {"missing explicit", "name = x\nttl_s = 5\n", 0, CC_EFORMAT, 2, "explicit"},
        {"wrong type", "name = x\nexplicit = 1\nread_mult = cheap\n", 0, CC_EFORMAT, 3,
         "read_mult"},
        {"not an integer", "name = x\nexplicit = 1\nmin_tokens = 10.5\n", 0, CC_EFORMAT, 3,
         "min_tokens"},
        {"hex number", "name = x\nexplicit = 0\ninput_usd_per_mtok = 0x10\n", 0, CC_EFORMAT, 3,
         "input_usd_per_mtok"},
        {"hex float", "name = x\nexplicit = 0\nttl_s = 0x1p3\n", 0, CC_EFORMAT, 3, "ttl_s"},
        {"infinity", "name = x\nexplicit = 0\ninput_usd_per_mtok = inf\n", 0, CC_EFORMAT, 3,
         "input_usd_per_mtok"},
        {"negative price", "name = x\nexplicit = 0\ninput_usd_per_mtok = -1\n", 0, CC_ERANGE, 3,
         "input_usd_per_mtok"},
        {"absurd length", "name = x\nexplicit = 0\nmin_tokens = 1e12\n", 0, CC_ERANGE, 3,
         "min_tokens"},
        {"zero ttl", "name = x\nexplicit = 0\nttl_s = 0\n", 0, CC_ERANGE, 3, "ttl_s"},
        {"explicit not 0/1", "name = x\nexplicit = 2\n", 0, CC_ERANGE, 2, "explicit"},
        {"bad name", "name = a b\nexplicit = 1\n", 0, CC_EFORMAT, 1, "name"},
        {"no key", "name = x\n= 3\n", 0, CC_EFORMAT, 2, "key"},
        {"unknown key", "name = x\nexplicit = 1\nttl = 5\n", 0, CC_EFORMAT, 3, "ttl"},
        {"repeated key", "name = x\nexplicit = 1\nname = y\n", 0, CC_EFORMAT, 3, "name"},
        {"base after keys", "name = x\nbase = openai\n", 0, CC_EFORMAT, 2, "base"},
        {"unknown base", "base = gpt9\nname = x\n", 0, CC_EFORMAT, 1, "base"},
        {"invalid UTF-8", "name = x\nexplicit = 1\nsource = caf\xc3\x28\n", 0, CC_EFORMAT, 3,
         "source"},
        {"line too long", NULL, 0, CC_EFORMAT, 2, "source"},
        {"binary file", bin, sizeof bin - 1, CC_EFORMAT, 2, "text"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const bad_case *c = &cases[i];
        cc_pricing p;
        cc_err e = {0};
        char longline[2100];
        const char *text = c->text;
        if (!text) { /* a 2000-byte value */
            snprintf(longline, sizeof longline, "name = x\nsource = %2000d\n", 7);
            text = longline;
        }
        size_t len = c->len ? c->len : strlen(text);
        int rc = cc_pricing_parse("bad.pricing", text, len, &p, &e);
        if (rc != c->code || e.line != c->line || strcmp(e.field, c->field) ||
            strcmp(e.file, "bad.pricing"))
            fail_msg("case '%s': got %d line %ld field '%s' (%s), expected %d line %ld field '%s'",
                     c->what, rc, e.line, e.field, e.msg, c->code, c->line, c->field);
    }
    cc_pricing p;
    cc_err e = {0};
    assert_int_equal(cc_pricing_load("build/tmp/no/such.pricing", &p, &e), CC_EIO);
    assert_string_equal(e.file, "build/tmp/no/such.pricing");
}

static void test_list(void **s)
{
    cc_pricing ms[CC_PRICING_MAX];
    size_t n;
    cc_err e = {0};
    assert_int_equal(cc_pricing_parse_list("gemini-explicit,gemini-implicit,moonshot-2024,"
                                           "anthropic-5m,anthropic-1h,openai,deepseek,"
                                           "qwen-explicit",
                                           ms, CC_PRICING_MAX, &n, &e),
                     CC_OK);
    assert_int_equal(n, 8);
    assert_int_equal(cc_pricing_preset_count(), 8);
    for (size_t i = 0; i < cc_pricing_preset_count(); i++) {
        cc_err e2 = {0};
        assert_int_equal(cc_pricing_check(cc_pricing_preset_at(i), &e2), CC_OK);
        assert_true(strlen(cc_pricing_preset_at(i)->source) > 20);
    }
    assert_int_equal(cc_pricing_parse_list("openai,gpt9", ms, CC_PRICING_MAX, &n, &e), CC_EARG);
    assert_non_null(strstr(e.msg, "gpt9"));
    assert_non_null(strstr(e.msg, "moonshot-2024"));
    assert_int_equal(cc_pricing_parse_list("openai,openai", ms, CC_PRICING_MAX, &n, &e), CC_EARG);
    assert_int_equal(cc_pricing_parse_list("", ms, CC_PRICING_MAX, &n, &e), CC_EARG);
    assert_int_equal(cc_pricing_parse_list("openai,deepseek", ms, 1, &n, &e), CC_EARG);
}

/* ---- bills with blend (cc_pricing_bill_blend) ---------------------------------
 * Blocks of 4 tokens, chunks S (system), P1, P2 (user turns: passages that
 * move), Q*, X, Y (user), token ids as written, no output:
 *   r0 t=0    S[1..4] P1[10..17] P2[20..27] Q0[90..93]             24 tokens
 *   r1 t=50   S P2 P1 Q1[95..98]                                    24
 *   r2 t=60   X[40..43] P1'[30 31 32 33 14 15 16 17] Q2[80..83]     16
 *   r3 t=140  Y[50..53] P2 Q3[84..87]                               16
 * The prefix-only implicit bill (ttl 100 s): r1 hits S (4 tokens), nothing
 * else is shared from the start: read 4, uncached 76; at $1 an input token
 * and read 0.5x (storage unpriced): 76 + 2 = 78.
 * Blend, whole chunks, fixed TTL, R = 0.25: r1 after its 4 hit tokens
 * finds P2 and P1 (held by r0 at 0, live at 50): B = 16, 4 recomputed, 12
 * read; r2's P1' is new text; r3's P2 was held from 0 (fixed TTL: r1's use
 * does not extend it) and expired at 100.  read 16, uncached 64: 64 + 8 = 72.
 * Refreshed TTL: r1 refreshes P2 to 50, so r3 (140 - 50 = 90 <= 100) blends
 * it: B = 8, 2 recomputed, 6 read; read 22, uncached 58: 58 + 11 = 69; with
 * a $100 hit fee: prefix 78 + 100 (r1), blend 69 + 200 (r1, and r3 now).
 * Windows of 4 tokens (fixed): r1 as before (16, its windows are r0's);
 * r2's P1' window [14..17] is r0's P1 second window (60 <= 100): B = 4, 1
 * recomputed, 3 read.  read 4 + 15, uncached 61: 61 + 9.5 = 70.5.
 * Minimum 10 (fixed, whole): r1's 4-token hit is below it (prefix bill:
 * 80 uncached = 80); its blend starts after the 4 served tokens: 12 read
 * >= 10: uncached 68, read 12: 74, and r1 is now a hit.  Minimum 13:
 * 12 < 13, nothing read: 80.
 * Granularity 5: r1's hit 4 -> 0 read (80); blend 12 -> 10 read: 70 + 5 = 75.
 * R = 0: r1 reads 16 blended: uncached 60, read 20: 70.  R = 1: 78.
 * Explicit, cacheable = leading system chunks, fixed: r0 writes S (4
 * tokens, 2x: 8), r1 reads it (4, 0.5x: 2) and blends P2, P1 after it (12
 * read, 4 recomputed); r2 and r3 have no system chunk (no object) and
 * blend nothing.  Prefix: uncached 20 + 20 + 16 + 16 = 72: 72 + 8 + 2 = 82;
 * blend: uncached 60, read 16: 60 + 8 + 8 = 76. */
static void blend_req(cc_trace *t, int64_t at_s, const uint32_t *tok, uint32_t n,
                      const cc_chunk *ch, uint32_t nch)
{
    uint64_t blocks[8];
    cc_request r = {0};
    r.arrival_ns = at_s * S_NS;
    r.input_tokens = n;
    r.group_id = CC_NO_GROUP;
    r.n_blocks = (uint32_t)cc_block_chain(0, tok, n, t->block_size, blocks);
    r.blocks = blocks;
    r.n_token_ids = n;
    r.token_ids = tok;
    r.n_chunks = nch;
    r.chunks = ch;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static void blend_trace(cc_trace *t)
{
    static const uint32_t t0[] = {1,  2,  3,  4,  10, 11, 12, 13, 14, 15, 16, 17,
                                  20, 21, 22, 23, 24, 25, 26, 27, 90, 91, 92, 93};
    static const uint32_t t1[] = {1,  2,  3,  4,  20, 21, 22, 23, 24, 25, 26, 27,
                                  10, 11, 12, 13, 14, 15, 16, 17, 95, 96, 97, 98};
    static const uint32_t t2[] = {40, 41, 42, 43, 30, 31, 32, 33, 14, 15, 16, 17, 80, 81, 82, 83};
    static const uint32_t t3[] = {50, 51, 52, 53, 20, 21, 22, 23, 24, 25, 26, 27, 84, 85, 86, 87};
    enum { SY = CC_CHUNK_SYSTEM, US = CC_CHUNK_USER };
    /* {text_off, text_len, kind, token_start, token_len, chunk_hash} */
    static const cc_chunk c0[] = {{0, 0, SY, 0, 4, 0x51}, {0, 0, US, 4, 8, 0x71},
                                  {0, 0, US, 12, 8, 0x72}, {0, 0, US, 20, 4, 0x90}};
    static const cc_chunk c1[] = {{0, 0, SY, 0, 4, 0x51}, {0, 0, US, 4, 8, 0x72},
                                  {0, 0, US, 12, 8, 0x71}, {0, 0, US, 20, 4, 0x95}};
    static const cc_chunk c2[] = {{0, 0, US, 0, 4, 0x40}, {0, 0, US, 4, 8, 0x73},
                                  {0, 0, US, 12, 4, 0x80}};
    static const cc_chunk c3[] = {{0, 0, US, 0, 4, 0x50}, {0, 0, US, 4, 8, 0x72},
                                  {0, 0, US, 12, 4, 0x84}};
    init(t, 4);
    blend_req(t, 0, t0, 24, c0, 4);
    blend_req(t, 50, t1, 24, c1, 4);
    blend_req(t, 60, t2, 16, c2, 3);
    blend_req(t, 140, t3, 16, c3, 3);
}

/* The prefix bill and the blend bill of p on t; the blend bill's classes
 * add up and its storage, writes and objects are the prefix bill's. */
static void blend_bills(const cc_trace *t, const cc_pricing *p, cc_cacheable cacheable,
                        double ratio, uint32_t window, cc_bill *prefix, cc_bill *blend)
{
    cc_err e = {0};
    cc_pricing_run run = {.cacheable = cacheable};
    cc_replay_result r;
    assert_int_equal(cc_pricing_replay(t, p, &run, prefix, &r, &e), CC_OK);
    int rc = cc_pricing_bill_blend(p, t, &r, prefix, ratio, window, blend, &e);
    cc_replay_result_free(&r);
    if (rc != CC_OK)
        fail_msg("cc_pricing_bill_blend: %s: %s", e.field, e.msg);
    assert_int_equal(blend->read_tokens + blend->written_tokens + blend->uncached_tokens,
                     blend->input_tokens);
    assert_int_equal(blend->written_tokens, prefix->written_tokens);
    assert_int_equal(blend->objects, prefix->objects);
    NEAR(blend->storage_usd, prefix->storage_usd);
}

static void test_blend_bill(void **s)
{
    cc_trace t;
    blend_trace(&t);
    cc_bill a, b;
    cc_pricing p = model(0, 100, 0, 0, 1);
    p.storage_usd_per_mtok_hour = 0;
    blend_bills(&t, &p, CC_CACHEABLE_AUTO, 0.25, 0, &a, &b);
    assert_int_equal(a.read_tokens, 4);
    NEAR(a.total_usd, 78);
    assert_int_equal(b.blend_read_tokens, 12);
    assert_int_equal(b.blend_recompute_tokens, 4);
    assert_int_equal(b.read_tokens, 16);
    assert_int_equal(b.uncached_tokens, 64);
    NEAR(b.total_usd, 72);
    assert_int_equal(a.blend_read_tokens, 0); /* the prefix bill has none */

    p.refresh = 1;
    p.hit_fee_usd = 100;
    blend_bills(&t, &p, CC_CACHEABLE_AUTO, 0.25, 0, &a, &b);
    NEAR(a.total_usd, 178);
    assert_int_equal(b.blend_read_tokens, 18);
    assert_int_equal(b.blend_recompute_tokens, 6);
    assert_int_equal(b.hits, 2);
    NEAR(b.total_usd, 269);

    p = model(0, 100, 0, 0, 1);
    p.storage_usd_per_mtok_hour = 0;
    blend_bills(&t, &p, CC_CACHEABLE_AUTO, 0.25, 4, &a, &b);
    assert_int_equal(b.blend_read_tokens, 15);
    assert_int_equal(b.blend_recompute_tokens, 5);
    NEAR(b.total_usd, 70.5);

    blend_bills(&t, &p, CC_CACHEABLE_AUTO, 0, 0, &a, &b);
    NEAR(b.total_usd, 70);
    blend_bills(&t, &p, CC_CACHEABLE_AUTO, 1, 0, &a, &b);
    assert_int_equal(b.blend_read_tokens, 0);
    assert_int_equal(b.blend_recompute_tokens, 16);
    NEAR(b.total_usd, 78);

    p.min_tokens = 10;
    blend_bills(&t, &p, CC_CACHEABLE_AUTO, 0.25, 0, &a, &b);
    NEAR(a.total_usd, 80);
    assert_int_equal(b.read_tokens, 12);
    assert_int_equal(b.hits, 1);
    NEAR(b.total_usd, 74);
    p.min_tokens = 13;
    blend_bills(&t, &p, CC_CACHEABLE_AUTO, 0.25, 0, &a, &b);
    assert_int_equal(b.read_tokens, 0);
    NEAR(b.total_usd, 80);

    p.min_tokens = 0;
    p.granularity_tokens = 5;
    blend_bills(&t, &p, CC_CACHEABLE_AUTO, 0.25, 0, &a, &b);
    NEAR(a.total_usd, 80);
    assert_int_equal(b.blend_read_tokens, 10);
    NEAR(b.total_usd, 75);

    p = model(1, 100, 0, 0, 1);
    p.storage_usd_per_mtok_hour = 0;
    blend_bills(&t, &p, CC_CACHEABLE_SYSTEM, 0.25, 0, &a, &b);
    assert_int_equal(a.written_tokens, 4);
    assert_int_equal(a.read_tokens, 4);
    NEAR(a.total_usd, 82);
    assert_int_equal(b.blend_read_tokens, 12);
    NEAR(b.total_usd, 76);

    /* bad input: a ratio outside 0..1; windows without token ids */
    cc_err e = {0};
    cc_replay_result r;
    cc_pricing_run run = {0};
    p = model(0, 100, 0, 0, 1);
    assert_int_equal(cc_pricing_replay(&t, &p, &run, &a, &r, &e), CC_OK);
    assert_int_equal(cc_pricing_bill_blend(&p, &t, &r, &a, 1.5, 0, &b, &e), CC_EARG);
    assert_string_equal(e.field, "recompute_ratio");
    assert_int_equal(cc_pricing_bill_blend(&p, &t, &r, &a, -0.01, 0, &b, &e), CC_EARG);
    uint32_t *ids = t.token_ids;
    t.token_ids = NULL;
    assert_int_equal(cc_pricing_bill_blend(&p, &t, &r, &a, 0.25, 4, &b, &e), CC_EUNSUP);
    assert_string_equal(e.field, "blend_chunk_tokens");
    t.token_ids = ids;
    cc_replay_result_free(&r);
    cc_trace_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemini_explicit),
        cmocka_unit_test(test_gemini_implicit),
        cmocka_unit_test(test_moonshot),
        cmocka_unit_test(test_anthropic_5m),
        cmocka_unit_test(test_anthropic_1h),
        cmocka_unit_test(test_openai),
        cmocka_unit_test(test_deepseek),
        cmocka_unit_test(test_qwen),
        cmocka_unit_test(test_input_price_override),
        cmocka_unit_test(test_ttl_fixed_vs_refreshed),
        cmocka_unit_test(test_min_tokens),
        cmocka_unit_test(test_granularity),
        cmocka_unit_test(test_fees_and_units),
        cmocka_unit_test(test_break_even),
        cmocka_unit_test(test_sweep_optimum),
        cmocka_unit_test(test_load_file),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_blend_bill),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
