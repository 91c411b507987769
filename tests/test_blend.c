/* test_blend.c -- CacheBlend on the engine (gpu/blend.c, cpu_blend) and the
 * GGUF loader (gpu/gguf.c).
 *
 * Expected values come from independent sources:
 *  - a full prefill of the whole prompt (cc_engine_prefill), for 100 %
 *    recompute (KV of every layer and logits within 1e-4) and for the
 *    layer-0 K of reused tokens at their new positions (a different path to
 *    the same rotation);
 *  - each chunk prefilled alone plus a rotation written here in double, for
 *    0 % (plain concatenation: V byte-identical, K rotated);
 *  - the deviations computed here from the full prefill's and the chunks'
 *    layer-1 V, for which tokens the selection keeps (and that narrowing
 *    keeps a subset of the first check's choice);
 *  - for the loader, a GGUF file written here from the format's
 *    definition (block layouts, the Q/K row order of llama.cpp's converter),
 *    with values decoded by hand; a table of bad files;
 *  - the CUDA twin against the CPU reference (where a device exists);
 *  - with the pretrained model installed (`make model`), its greedy answer to
 *    "The capital of France is" (" Paris", id 7042 in its vocabulary). */
#include "testutil.h"
#include "gpu/gpu.h"
#include "traces/traces.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

/* ---- helpers ---------------------------------------------------------------- */
enum { BS = 4, N_CH = 3, Q_LEN = 5 };
static const int ch_len[N_CH] = {7, 9, 6};
#define N_REUSED (7 + 9 + 6)
#define N_PROMPT (N_REUSED + Q_LEN)

static void model_weights(cc_weights *w, int n_layers, unsigned long seed)
{
    cc_model_config c;
    cc_err err = {0};
    assert_int_equal(cc_model_preset("tiny", &c, &err), CC_OK);
    c.block_size = BS;
    c.n_layers = n_layers;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    assert_int_equal(cc_weights_random(w, &c, r, &err), CC_OK);
    gsl_rng_free(r);
}

static cc_engine *make_engine(const cc_weights *w)
{
    cc_engine_opts o;
    cc_engine_opts_default(&o);
    o.n_slots = 128;
    o.max_batch_tokens = 64;
    o.max_context = 64;
    cc_engine *e = NULL;
    cc_err err = {0};
    int rc = cc_engine_create(w, &o, &e, &err);
    if (rc)
        cc_err_print(&err, stderr);
    assert_int_equal(rc, CC_OK);
    return e;
}

/* The scene: three passages whose KV was computed alone (slots 100 + 8c ..),
 * a fresh question, the prompt's slots 0 .. and a full prefill's 40 ... */
typedef struct scene {
    cc_weights w;
    cc_engine *e;
    int32_t tokens[N_PROMPT];
    int32_t ch_table[N_CH][8], prompt_table[16], full_table[16];
    cc_blend_chunk chunks[N_CH + 1];
    float full_logits[N_PROMPT * 256];
    size_t kvd;
} scene;

static void scene_init(scene *s, int n_layers)
{
    memset(s, 0, sizeof *s);
    model_weights(&s->w, n_layers, 11);
    s->e = make_engine(&s->w);
    s->kvd = (size_t)s->w.cfg.n_kv_heads * s->w.cfg.head_dim;
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 5);
    for (int i = 0; i < N_PROMPT; i++)
        s->tokens[i] = (int32_t)gsl_rng_uniform_int(r, s->w.cfg.vocab);
    gsl_rng_free(r);
    for (int b = 0; b < 16; b++) {
        s->prompt_table[b] = b;
        s->full_table[b] = 40 + b;
    }
    cc_err err = {0};
    int pos = 0;
    for (int c = 0; c < N_CH; c++) {
        for (int b = 0; b < 8; b++)
            s->ch_table[c][b] = 100 + 8 * c + b;
        assert_int_equal(cc_engine_prefill(s->e, s->tokens + pos, ch_len[c], 0, s->ch_table[c],
                                           8, CC_LOGITS_NONE, NULL, &err),
                         CC_OK);
        s->chunks[c] = (cc_blend_chunk){s->tokens + pos, ch_len[c], s->ch_table[c], 8, 0};
        pos += ch_len[c];
    }
    s->chunks[N_CH] = (cc_blend_chunk){s->tokens + pos, Q_LEN, NULL, 0, 0};
    assert_int_equal(cc_engine_prefill(s->e, s->tokens, N_PROMPT, 0, s->full_table, 16,
                                       CC_LOGITS_ALL, s->full_logits, &err),
                     CC_OK);
}

static void scene_free(scene *s)
{
    cc_engine_free(s->e);
    cc_weights_free(&s->w);
}

/* K (is_v 0) or V of one position and layer, through a block table. */
static void kv_at(cc_engine *e, const int32_t *table, int pos, int layer, int is_v, float *out)
{
    const cc_model_config *c = cc_engine_config(e);
    size_t kvd = (size_t)c->n_kv_heads * c->head_dim;
    float *img = cc_engine_host_alloc(e, cc_engine_block_bytes(e));
    cc_err err = {0};
    assert_int_equal(cc_engine_kv_to_host(e, table[pos / BS], img, &err), CC_OK);
    assert_int_equal(cc_engine_sync(e, &err), CC_OK);
    memcpy(out, img + (((size_t)layer * 2 + is_v) * BS + pos % BS) * kvd, kvd * sizeof(float));
    cc_engine_host_free(e, img);
}

static double max_diff(const float *a, const float *b, size_t n)
{
    double m = 0;
    for (size_t i = 0; i < n; i++)
        m = fmax(m, fabs((double)a[i] - b[i]));
    return m;
}

/* Rotate-half RoPE by delta positions, in double (written from the formula). */
static void rotate(float *out, const float *k, int n_heads, int hd, int delta, double theta)
{
    for (int h = 0; h < n_heads; h++)
        for (int d = 0; d < hd / 2; d++) {
            double ang = delta * pow(theta, -2.0 * d / hd);
            double a = k[h * hd + d], b = k[h * hd + d + hd / 2];
            out[h * hd + d] = (float)(a * cos(ang) - b * sin(ang));
            out[h * hd + d + hd / 2] = (float)(b * cos(ang) + a * sin(ang));
        }
}

/* Chunk and offset of a reused position. */
static void chunk_of(int pos, int *c, int *off)
{
    int o = 0;
    for (int i = 0; i < N_CH; i++) {
        if (pos < o + ch_len[i]) {
            *c = i;
            *off = o;
            return;
        }
        o += ch_len[i];
    }
    fail_msg("position %d is not in a chunk", pos);
}

/* Deviation of each reused token at layer 1: full prefill's V against the
 * chunk's own V (what the blend measures after its full layer 0). */
static void layer1_dev(scene *s, double *dev)
{
    float a[64], b[64];
    for (int p = 0; p < N_REUSED; p++) {
        int c, off;
        chunk_of(p, &c, &off);
        kv_at(s->e, s->full_table, p, 1, 1, a);
        kv_at(s->e, s->ch_table[c], p - off, 1, 1, b);
        double d = 0;
        for (size_t i = 0; i < s->kvd; i++)
            d += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
        dev[p] = d;
    }
}

/* Marks the k largest of dev[0..n) in top[]. */
static void top_k(const double *dev, int n, int k, uint8_t *top)
{
    memset(top, 0, n);
    for (int i = 0; i < k; i++) {
        int best = -1;
        for (int p = 0; p < n; p++)
            if (!top[p] && (best < 0 || dev[p] > dev[best]))
                best = p;
        top[best] = 1;
    }
}

/* ---- 100 %: a full prefill ---------------------------------------------------- */
static void test_full_recompute(void **state)
{
    (void)state;
    scene s;
    scene_init(&s, 2);
    cc_err err = {0};
    float logits[Q_LEN * 256];
    uint8_t rec[N_PROMPT];
    cc_blend_stats st = {.recomputed = rec};
    cc_blend_opts o = {1.0, 0};
    assert_int_equal(cc_engine_blend_prefill(s.e, s.chunks, N_CH + 1, s.prompt_table, 16, &o,
                                             CC_LOGITS_ALL, logits, &st, &err),
                     CC_OK);
    assert_int_equal(st.n_tokens, N_PROMPT);
    assert_int_equal(st.n_reused, N_REUSED);
    assert_int_equal(st.n_forced, Q_LEN);
    assert_int_equal(st.n_recomputed, N_REUSED);
    for (int p = 0; p < N_PROMPT; p++)
        assert_int_equal(rec[p], 1);
    float a[64], b[64];
    double worst = 0;
    for (int l = 0; l < s.w.cfg.n_layers; l++)
        for (int p = 0; p < N_PROMPT; p++)
            for (int v = 0; v < 2; v++) {
                kv_at(s.e, s.prompt_table, p, l, v, a);
                kv_at(s.e, s.full_table, p, l, v, b);
                worst = fmax(worst, max_diff(a, b, s.kvd));
            }
    assert_true(worst <= 1e-4);
    double lw = max_diff(logits, s.full_logits + (size_t)N_REUSED * 256, Q_LEN * 256);
    assert_true(lw <= 1e-4);
    /* LAST gives the last row of the same */
    float last[256];
    assert_int_equal(cc_engine_blend_prefill(s.e, s.chunks, N_CH + 1, s.prompt_table, 16, &o,
                                             CC_LOGITS_LAST, last, NULL, &err),
                     CC_OK);
    assert_true(max_diff(last, s.full_logits + (size_t)(N_PROMPT - 1) * 256, 256) <= 1e-4);
    scene_free(&s);
}

/* ---- 0 %: the chunks' KV concatenated ----------------------------------------- */
static void test_zero_recompute(void **state)
{
    (void)state;
    scene s;
    scene_init(&s, 2);
    cc_err err = {0};
    float logits[256];
    uint8_t rec[N_PROMPT];
    cc_blend_stats st = {.recomputed = rec};
    cc_blend_opts o = {0.0, 0};
    assert_int_equal(cc_engine_blend_prefill(s.e, s.chunks, N_CH + 1, s.prompt_table, 16, &o,
                                             CC_LOGITS_LAST, logits, &st, &err),
                     CC_OK);
    assert_int_equal(st.n_recomputed, 0);
    for (int p = 0; p < N_PROMPT; p++)
        assert_int_equal(rec[p], p >= N_REUSED);
    float a[64], b[64], rot[64];
    double worst_k = 0, worst_k0 = 0;
    for (int p = 0; p < N_REUSED; p++) {
        int c, off;
        chunk_of(p, &c, &off);
        for (int l = 0; l < s.w.cfg.n_layers; l++) {
            kv_at(s.e, s.prompt_table, p, l, 1, a);
            kv_at(s.e, s.ch_table[c], p - off, l, 1, b);
            assert_memory_equal(a, b, s.kvd * sizeof(float));
            kv_at(s.e, s.prompt_table, p, l, 0, a);
            kv_at(s.e, s.ch_table[c], p - off, l, 0, b);
            rotate(rot, b, s.w.cfg.n_kv_heads, s.w.cfg.head_dim, off, s.w.cfg.rope_theta);
            worst_k = fmax(worst_k, max_diff(a, rot, s.kvd));
        }
        kv_at(s.e, s.prompt_table, p, 0, 0, a);
        kv_at(s.e, s.full_table, p, 0, 0, b);
        worst_k0 = fmax(worst_k0, max_diff(a, b, s.kvd));
    }
    assert_true(worst_k <= 1e-5);
    assert_true(worst_k0 <= 1e-4);
    /* The question: a prefill over the concatenated KV (copied to other slots). */
    int32_t t2[16];
    for (int b2 = 0; b2 < 8; b2++) {
        t2[b2] = 60 + b2;
        assert_int_equal(cc_engine_kv_copy_block(s.e, t2[b2], s.prompt_table[b2], &err), CC_OK);
    }
    float want[256];
    assert_int_equal(cc_engine_prefill(s.e, s.tokens + N_REUSED, Q_LEN, N_REUSED, t2, 8,
                                       CC_LOGITS_LAST, want, &err),
                     CC_OK);
    assert_true(max_diff(logits, want, 256) <= 1e-4);
    for (int l = 0; l < s.w.cfg.n_layers; l++)
        for (int p = N_REUSED; p < N_PROMPT; p++)
            for (int v = 0; v < 2; v++) {
                kv_at(s.e, s.prompt_table, p, l, v, a);
                kv_at(s.e, t2, p, l, v, b);
                assert_true(max_diff(a, b, s.kvd) <= 1e-4);
            }
    scene_free(&s);
}

/* ---- the selection: the tokens of largest layer-1 V deviation ----------------- */
static void test_selection(void **state)
{
    (void)state;
    scene s;
    scene_init(&s, 4);
    double dev[N_REUSED];
    layer1_dev(&s, dev);
    cc_err err = {0};
    uint8_t rec[N_PROMPT], want[N_REUSED];
    cc_blend_stats st = {.recomputed = rec};
    cc_blend_opts o = {0.3, 1}; /* one check layer: keep lround(0.3 x 22) = 7 */
    assert_int_equal(cc_engine_blend_prefill(s.e, s.chunks, N_CH + 1, s.prompt_table, 16, &o,
                                             CC_LOGITS_NONE, NULL, &st, &err),
                     CC_OK);
    assert_int_equal(st.n_recomputed, 7);
    top_k(dev, N_REUSED, 7, want);
    for (int p = 0; p < N_REUSED; p++)
        assert_int_equal(rec[p], want[p]);
    /* Selected tokens carry the full prefill's layer-1 KV; the others keep
     * the chunk's own V at every layer >= 1. */
    float a[64], b[64];
    for (int p = 0; p < N_REUSED; p++) {
        int c, off;
        chunk_of(p, &c, &off);
        kv_at(s.e, s.prompt_table, p, 1, 1, a);
        if (want[p]) {
            kv_at(s.e, s.full_table, p, 1, 1, b);
            assert_true(max_diff(a, b, s.kvd) <= 1e-4);
        } else {
            for (int l = 1; l < 4; l++) {
                kv_at(s.e, s.prompt_table, p, l, 1, a);
                kv_at(s.e, s.ch_table[c], p - off, l, 1, b);
                assert_memory_equal(a, b, s.kvd * sizeof(float));
            }
        }
    }
    /* Narrowing over 3 check layers, r = 0.2: lround(0.4 x 22) = 9 after
     * layer 1, then 7, then lround(0.2 x 22) = 4, a subset of the first 9. */
    cc_blend_opts o3 = {0.2, 3};
    memset(rec, 0, sizeof rec);
    assert_int_equal(cc_engine_blend_prefill(s.e, s.chunks, N_CH + 1, s.prompt_table, 16, &o3,
                                             CC_LOGITS_NONE, NULL, &st, &err),
                     CC_OK);
    assert_int_equal(st.n_recomputed, 4);
    top_k(dev, N_REUSED, 9, want);
    int n_rec = 0;
    for (int p = 0; p < N_REUSED; p++) {
        n_rec += rec[p];
        if (rec[p])
            assert_int_equal(want[p], 1);
    }
    assert_int_equal(n_rec, 4);
    for (int p = N_REUSED; p < N_PROMPT; p++)
        assert_int_equal(rec[p], 1);
    scene_free(&s);
}

/* A chunk reused from another prompt's KV (kv_pos0 > 0) at a smaller offset:
 * negative rotation.  At 0 % its K is the stored K rotated back. */
static void test_moved_chunk(void **state)
{
    (void)state;
    scene s;
    scene_init(&s, 2);
    cc_err err = {0};
    /* the second passage as it sits in the full prefill: positions 7 .. 15 */
    cc_blend_chunk ch[2] = {{s.tokens + 7, 9, s.full_table, 16, 7},
                            {s.tokens + N_REUSED, Q_LEN, NULL, 0, 0}};
    cc_blend_opts o = {0.0, 0};
    assert_int_equal(cc_engine_blend_prefill(s.e, ch, 2, s.prompt_table, 16, &o, CC_LOGITS_NONE,
                                             NULL, NULL, &err),
                     CC_OK);
    float a[64], b[64], rot[64];
    for (int t = 0; t < 9; t++)
        for (int l = 0; l < 2; l++) {
            kv_at(s.e, s.prompt_table, t, l, 0, a);
            kv_at(s.e, s.full_table, 7 + t, l, 0, b);
            rotate(rot, b, s.w.cfg.n_kv_heads, s.w.cfg.head_dim, -7, s.w.cfg.rope_theta);
            assert_true(max_diff(a, rot, s.kvd) <= 1e-5);
        }
    scene_free(&s);
}

/* ---- bad input ------------------------------------------------------------------ */
static void test_blend_errors(void **state)
{
    (void)state;
    scene s;
    scene_init(&s, 2);
    float logits[256];
    cc_blend_chunk bad[N_CH + 1];
    int32_t dup_table[16], shared_table[16];
    for (int b = 0; b < 16; b++)
        dup_table[b] = shared_table[b] = b;
    dup_table[3] = 1;
    shared_table[2] = 101; /* a slot of chunk 0's KV */
    int32_t bad_tok[1] = {256};
    struct {
        const char *what;
        double ratio;
        int n_checks, n_chunks, mode, with_logits;
        const int32_t *table;
        int tweak; /* 1: empty chunk, 2: bad token, 3: negative kv_pos0 */
        int code;
        const char *field;
    } cases[] = {
        {"ratio < 0", -0.1, 0, N_CH + 1, CC_LOGITS_LAST, 1, s.prompt_table, 0, CC_EARG,
         "recompute_ratio"},
        {"ratio > 1", 1.5, 0, N_CH + 1, CC_LOGITS_LAST, 1, s.prompt_table, 0, CC_EARG,
         "recompute_ratio"},
        {"ratio NaN", NAN, 0, N_CH + 1, CC_LOGITS_LAST, 1, s.prompt_table, 0, CC_EARG,
         "recompute_ratio"},
        {"n_checks", 0.5, 9, N_CH + 1, CC_LOGITS_LAST, 1, s.prompt_table, 0, CC_EARG, "n_checks"},
        {"no chunks", 0.5, 0, 0, CC_LOGITS_LAST, 1, s.prompt_table, 0, CC_EARG, "n_chunks"},
        {"no logits buffer", 0.5, 0, N_CH + 1, CC_LOGITS_LAST, 0, s.prompt_table, 0, CC_EARG,
         "logits"},
        {"bad mode", 0.5, 0, N_CH + 1, 7, 1, s.prompt_table, 0, CC_EARG, "logits_mode"},
        {"slot twice", 0.5, 0, N_CH + 1, CC_LOGITS_LAST, 1, dup_table, 0, CC_EARG,
         "block_table"},
        {"prompt slot holds a chunk", 0.5, 0, N_CH + 1, CC_LOGITS_LAST, 1, shared_table, 0,
         CC_EARG, "kv_table"},
        {"short table", 0.5, 0, N_CH + 1, CC_LOGITS_LAST, 1, NULL, 0, CC_EARG, "block_table"},
        {"empty chunk", 0.5, 0, N_CH + 1, CC_LOGITS_LAST, 1, s.prompt_table, 1, CC_EARG,
         "n_tokens"},
        {"token id", 0.5, 0, N_CH + 1, CC_LOGITS_LAST, 1, s.prompt_table, 2, CC_EARG, "tokens"},
        {"kv_pos0", 0.5, 0, N_CH + 1, CC_LOGITS_LAST, 1, s.prompt_table, 3, CC_EARG, "kv_pos0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        memcpy(bad, s.chunks, sizeof bad);
        if (cases[i].tweak == 1)
            bad[1].n_tokens = 0;
        if (cases[i].tweak == 2)
            bad[N_CH] = (cc_blend_chunk){bad_tok, 1, NULL, 0, 0};
        if (cases[i].tweak == 3)
            bad[0].kv_pos0 = -1;
        cc_blend_opts o = {cases[i].ratio, cases[i].n_checks};
        cc_err err = {0};
        int rc = cc_engine_blend_prefill(s.e, bad, cases[i].n_chunks, cases[i].table, 16, &o,
                                         cases[i].mode, cases[i].with_logits ? logits : NULL,
                                         NULL, &err);
        if (rc != cases[i].code || strcmp(err.field, cases[i].field))
            fail_msg("%s: rc %d field '%s' (expected %d '%s')", cases[i].what, rc, err.field,
                     cases[i].code, cases[i].field);
    }
    /* A prompt longer than one batch */
    cc_engine_opts eo;
    cc_engine_opts_default(&eo);
    eo.n_slots = 128;
    eo.max_batch_tokens = 16;
    cc_engine *small = NULL;
    cc_err err = {0};
    assert_int_equal(cc_engine_create(&s.w, &eo, &small, &err), CC_OK);
    cc_blend_opts o = {0.5, 0};
    assert_int_equal(cc_engine_blend_prefill(small, s.chunks, N_CH + 1, s.prompt_table, 16, &o,
                                             CC_LOGITS_LAST, logits, NULL, &err),
                     CC_EARG);
    assert_string_equal(err.field, "max_batch_tokens");
    cc_engine_free(small);
    scene_free(&s);
}

/* CUDA twin (engine.cu, blend_t) against the CPU reference, fp32 storage:
 * the same chunks prefilled on each, blends at 15 % and 100 %; the same
 * tokens recomputed, logits and KV within 1e-3. */
static void test_blend_cuda(void **state)
{
    (void)state;
    if (cc_gpu_device_count() == 0) {
        printf("skipped: no CUDA device\n");
        skip();
    }
    scene s;
    scene_init(&s, 4);
    cc_engine_opts o;
    cc_engine_opts_default(&o);
    o.backend = CC_BACKEND_CUDA;
    o.n_slots = 128;
    o.max_batch_tokens = 64;
    o.max_context = 64;
    cc_engine *g = NULL;
    cc_err err = {0};
    assert_int_equal(cc_engine_create(&s.w, &o, &g, &err), CC_OK);
    int pos = 0;
    for (int c = 0; c < N_CH; c++) {
        assert_int_equal(cc_engine_prefill(g, s.tokens + pos, ch_len[c], 0, s.ch_table[c], 8,
                                           CC_LOGITS_NONE, NULL, &err),
                         CC_OK);
        pos += ch_len[c];
    }
    const double rs[2] = {0.15, 1.0};
    for (int k = 0; k < 2; k++) {
        float lc[Q_LEN * 256], lg[Q_LEN * 256];
        uint8_t rc_cpu[N_PROMPT], rc_gpu[N_PROMPT];
        cc_blend_stats sc = {.recomputed = rc_cpu}, sg = {.recomputed = rc_gpu};
        cc_blend_opts bo = {rs[k], 0};
        assert_int_equal(cc_engine_blend_prefill(s.e, s.chunks, N_CH + 1, s.prompt_table, 16,
                                                 &bo, CC_LOGITS_ALL, lc, &sc, &err),
                         CC_OK);
        int rc = cc_engine_blend_prefill(g, s.chunks, N_CH + 1, s.prompt_table, 16, &bo,
                                         CC_LOGITS_ALL, lg, &sg, &err);
        if (rc)
            cc_err_print(&err, stderr);
        assert_int_equal(rc, CC_OK);
        assert_memory_equal(rc_cpu, rc_gpu, N_PROMPT);
        assert_true(max_diff(lc, lg, Q_LEN * 256) <= 1e-3);
        float a[64], b[64];
        for (int l = 0; l < 4; l++)
            for (int p = 0; p < N_PROMPT; p++)
                for (int v = 0; v < 2; v++) {
                    kv_at(s.e, s.prompt_table, p, l, v, a);
                    kv_at(g, s.prompt_table, p, l, v, b);
                    assert_true(max_diff(a, b, s.kvd) <= 1e-3);
                }
    }
    cc_engine_free(g);
    scene_free(&s);
}

/* ---- GGUF ----------------------------------------------------------------------- */
typedef struct gbuf {
    unsigned char *p;
    size_t n, cap;
} gbuf;

static void put(gbuf *b, const void *x, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2;
        b->p = realloc(b->p, b->cap);
    }
    memcpy(b->p + b->n, x, n);
    b->n += n;
}
static void put_u32(gbuf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(gbuf *b, uint64_t v) { put(b, &v, 8); }
static void put_str(gbuf *b, const char *s)
{
    put_u64(b, strlen(s));
    put(b, s, strlen(s));
}
static void kv_u32(gbuf *b, const char *k, uint32_t v)
{
    put_str(b, k);
    put_u32(b, 4);
    put_u32(b, v);
}
static void kv_f32(gbuf *b, const char *k, float v)
{
    put_str(b, k);
    put_u32(b, 6);
    put(b, &v, 4);
}

/* The tiny GGUF model: 1 layer, hidden 32, 2 heads of 16, 1 kv head, ffn 32,
 * vocab 4.  Tensor data: see the decoders in test_gguf_load. */
enum { GH = 32, GV = 4, GKV = 16 };
typedef struct gtensor {
    const char *name;
    uint32_t type;
    uint64_t ne0, ne1;
} gtensor;
static const gtensor gts[] = {
    {"token_embd.weight", 8, GH, GV},     /* Q8_0 */
    {"output_norm.weight", 0, GH, 1},     /* F32 */
    {"blk.0.attn_norm.weight", 0, GH, 1}, /* F32 */
    {"blk.0.ffn_norm.weight", 1, GH, 1},  /* F16 */
    {"blk.0.attn_q.weight", 3, GH, GH},   /* Q4_1 */
    {"blk.0.attn_k.weight", 2, GH, GKV},  /* Q4_0 */
    {"blk.0.attn_v.weight", 30, GH, GKV}, /* BF16 */
    {"blk.0.attn_output.weight", 0, GH, GH},
    {"blk.0.ffn_gate.weight", 0, GH, GH},
    {"blk.0.ffn_up.weight", 0, GH, GH},
    {"blk.0.ffn_down.weight", 0, GH, GH},
};
#define N_GT (sizeof gts / sizeof gts[0])

static size_t gt_bytes(const gtensor *t)
{
    size_t blocks = t->ne0 / 32 * t->ne1;
    switch (t->type) {
    case 8: return blocks * 34;
    case 3: return blocks * 20;
    case 2: return blocks * 18;
    case 1: case 30: return t->ne0 * t->ne1 * 2;
    default: return t->ne0 * t->ne1 * 4;
    }
}

/* Tensor data, a pattern per type: Q8_0 block r: d = 0.25 (f16 0x3400),
 * q[j] = j - 16 + r; Q4_1 block r: d = 0.5 (0x3800), m = -1 (0xBC00), byte j
 * = (j & 15) | ((15 - j) << 4); Q4_0 block r: d = 2 (0x4000), byte j =
 * j | (r & 15) << 4; F16: 1.5 (0x3E00); BF16: element i = -0.5 (0xBF00) when
 * i even, 3 (0x4040) odd; F32: element i = i / 64. */
static void gt_data(gbuf *b, const gtensor *t)
{
    size_t blocks = t->ne0 / 32 * t->ne1;
    size_t n = t->ne0 * t->ne1;
    for (size_t r = 0; r < (t->type == 8 || t->type == 3 || t->type == 2 ? blocks : 0); r++) {
        uint16_t d = t->type == 8 ? 0x3400 : t->type == 3 ? 0x3800 : 0x4000;
        put(b, &d, 2);
        if (t->type == 3) {
            uint16_t m = 0xBC00;
            put(b, &m, 2);
        }
        if (t->type == 8)
            for (int j = 0; j < 32; j++) {
                int8_t q = (int8_t)(j - 16 + (int)r);
                put(b, &q, 1);
            }
        else
            for (int j = 0; j < 16; j++) {
                uint8_t q = t->type == 3 ? (uint8_t)((j & 15) | ((15 - j) << 4))
                                         : (uint8_t)(j | ((r & 15) << 4));
                put(b, &q, 1);
            }
    }
    for (size_t i = 0; i < (t->type == 1 || t->type == 30 ? n : 0); i++) {
        uint16_t h = t->type == 1 ? 0x3E00 : i % 2 ? 0x4040 : 0xBF00;
        put(b, &h, 2);
    }
    for (size_t i = 0; i < (t->type == 0 ? n : 0); i++) {
        float f = (float)i / 64;
        put(b, &f, 4);
    }
}

/* The whole file; arch and an override of one tensor's type for bad cases. */
static gbuf gguf_file(const char *arch, int bad_type, int truncate, uint32_t vocab)
{
    gbuf b = {0};
    put(&b, "GGUF", 4);
    put_u32(&b, 3);
    put_u64(&b, N_GT);
    put_u64(&b, 8);
    put_str(&b, "general.architecture");
    put_u32(&b, 8);
    put_str(&b, arch);
    kv_u32(&b, "llama.block_count", 1);
    kv_u32(&b, "llama.embedding_length", GH);
    kv_u32(&b, "llama.feed_forward_length", GH);
    kv_u32(&b, "llama.attention.head_count", 2);
    kv_u32(&b, "llama.attention.head_count_kv", 1);
    kv_f32(&b, "llama.rope.freq_base", 10000.0f);
    kv_u32(&b, "llama.vocab_size", vocab);
    uint64_t off = 0;
    for (size_t i = 0; i < N_GT; i++) {
        put_str(&b, gts[i].name);
        put_u32(&b, gts[i].ne1 == 1 ? 1 : 2);
        put_u64(&b, gts[i].ne0);
        if (gts[i].ne1 != 1)
            put_u64(&b, gts[i].ne1);
        put_u32(&b, bad_type && i == 4 ? 12 : gts[i].type);
        put_u64(&b, off);
        off += (gt_bytes(&gts[i]) + 31) / 32 * 32;
    }
    while (b.n % 32)
        put(&b, "", 1);
    for (size_t i = 0; i < N_GT; i++) {
        size_t start = b.n;
        gt_data(&b, &gts[i]);
        while ((b.n - start) % 32)
            put(&b, "", 1);
    }
    if (truncate)
        b.n -= 100;
    return b;
}

static void test_gguf_load(void **state)
{
    (void)state;
    gbuf g = gguf_file("llama", 0, 0, GV);
    char path[512];
    tu_write_tmp(path, sizeof path, "tiny.gguf", g.p, g.n);
    free(g.p);
    cc_weights w;
    cc_err err = {0};
    int rc = cc_weights_load_gguf(&w, path, &err);
    if (rc)
        cc_err_print(&err, stderr);
    assert_int_equal(rc, CC_OK);
    assert_int_equal(w.cfg.n_layers, 1);
    assert_int_equal(w.cfg.hidden, GH);
    assert_int_equal(w.cfg.head_dim, 16);
    assert_int_equal(w.cfg.n_kv_heads, 1);
    assert_int_equal(w.cfg.vocab, GV);
    assert_int_equal(w.cfg.tie_embeddings, 1);
    assert_true(w.lm_head == w.embed);
    assert_true(fabs(w.cfg.rope_theta - 10000.0) < 1e-9);
    /* Q8_0: row r element j = (j - 16 + r) / 4 */
    for (int r = 0; r < GV; r++)
        for (int j = 0; j < GH; j++)
            assert_float_equal(w.embed[r * GH + j], (j - 16 + r) * 0.25f, 0);
    /* F16 and F32 */
    const cc_layer_weights *L = &w.layers[0];
    for (int j = 0; j < GH; j++) {
        assert_float_equal(L->mlp_norm[j], 1.5f, 0);
        assert_float_equal(w.final_norm[j], j / 64.0f, 0);
        assert_float_equal(L->attn_norm[j], j / 64.0f, 0);
    }
    /* BF16 (v: not permuted) */
    for (int i = 0; i < GKV * GH; i++)
        assert_float_equal(L->wv[i], (i % 2) ? 3.0f : -0.5f, 0);
    /* Q4_1, row order undone: the engine's row h*16 + j*8 + i is GGUF row
     * h*16 + 2i + j; GGUF row g element e = q * 0.5 - 1, q = e < 16 ? e : 31 - e
     * (low nibble of byte e, or high nibble of byte e - 16 = 15 - (e - 16)). */
    for (int h = 0; h < 2; h++)
        for (int i = 0; i < 8; i++)
            for (int j = 0; j < 2; j++)
                for (int e = 0; e < GH; e++) {
                    int q = e < 16 ? e : 31 - e;
                    assert_float_equal(L->wq[(h * 16 + j * 8 + i) * GH + e], q * 0.5f - 1.0f, 0);
                }
    /* Q4_0, one kv head: GGUF row g = 2i + j, value (q - 8) * 2 with q = e
     * (low nibbles) or g & 15 (high nibbles, e >= 16). */
    for (int i = 0; i < 8; i++)
        for (int j = 0; j < 2; j++)
            for (int e = 0; e < GH; e++) {
                int g2 = 2 * i + j, q = e < 16 ? e : (g2 & 15);
                assert_float_equal(L->wk[(j * 8 + i) * GH + e], (q - 8) * 2.0f, 0);
            }
    cc_weights_free(&w);
}

static void test_gguf_bad(void **state)
{
    (void)state;
    struct {
        const char *what, *arch;
        int bad_type, truncate;
        uint32_t vocab;
        int code;
        const char *field;
    } cases[] = {
        {"not llama", "gpt2", 0, 0, GV, CC_EUNSUP, "general.architecture"},
        {"unknown tensor type", "llama", 1, 0, GV, CC_EUNSUP, "blk.0.attn_q.weight"},
        {"truncated", "llama", 0, 1, GV, CC_EFORMAT, "blk.0.ffn_down.weight"},
        {"more parameters than the file holds", "llama", 0, 0, 50000000, CC_EFORMAT,
         "llama.embedding_length"},
        {"shape against metadata", "llama", 0, 0, 8, CC_EFORMAT, "token_embd.weight"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        gbuf g = gguf_file(cases[i].arch, cases[i].bad_type, cases[i].truncate, cases[i].vocab);
        char path[512];
        tu_write_tmp(path, sizeof path, "bad.gguf", g.p, g.n);
        free(g.p);
        cc_weights w;
        cc_err err = {0};
        int rc = cc_weights_load_gguf(&w, path, &err);
        if (rc != cases[i].code || strcmp(err.field, cases[i].field))
            fail_msg("%s: rc %d field '%s' (expected %d '%s')", cases[i].what, rc, err.field,
                     cases[i].code, cases[i].field);
    }
    char path[512];
    tu_write_tmp(path, sizeof path, "notgguf.gguf", "GGML....", 8);
    cc_weights w;
    cc_err err = {0};
    assert_int_equal(cc_weights_load_gguf(&w, path, &err), CC_EFORMAT);
    assert_string_equal(err.field, "magic");
    assert_int_equal(cc_weights_load_gguf(&w, "build/tmp/no-such.gguf", &err), CC_EIO);
}

/* ---- the pretrained model (make model) -------------------------------------------- */
#define MODEL_DIR "build/models/smollm2-135m"
static void test_pretrained_answer(void **state)
{
    (void)state;
    if (access(MODEL_DIR "/model.gguf", R_OK) || access(MODEL_DIR "/tokenizer.json", R_OK)) {
        printf("skipped: no model (" MODEL_DIR "; make model installs it)\n");
        skip();
    }
    cc_weights w;
    cc_tokenizer *tk = NULL;
    cc_err err = {0};
    assert_int_equal(cc_weights_load_gguf(&w, MODEL_DIR "/model.gguf", &err), CC_OK);
    assert_int_equal(w.cfg.n_layers, 30);
    assert_int_equal(w.cfg.hidden, 576);
    assert_int_equal(cc_tokenizer_load_hf(MODEL_DIR "/tokenizer.json", &tk, &err), CC_OK);
    const char *text = "The capital of France is";
    uint32_t *ids = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(cc_tokenize(tk, text, strlen(text), &ids, &n, &cap), CC_OK);
    assert_int_equal(n, 5);
    int32_t toks[5], table[4] = {0, 1, 2, 3};
    for (size_t i = 0; i < n; i++)
        toks[i] = (int32_t)ids[i];
    cc_engine_opts o;
    cc_engine_opts_default(&o);
    o.n_slots = 8;
    o.max_batch_tokens = 16;
    o.max_context = 64;
    cc_engine *e = NULL;
    assert_int_equal(cc_engine_create(&w, &o, &e, &err), CC_OK);
    float *logits = malloc((size_t)w.cfg.vocab * sizeof(float));
    assert_int_equal(
        cc_engine_prefill(e, toks, 5, 0, table, 4, CC_LOGITS_LAST, logits, &err), CC_OK);
    int best = 0;
    for (int v = 1; v < w.cfg.vocab; v++)
        if (logits[v] > logits[best])
            best = v;
    assert_int_equal(best, 7042); /* " Paris" */
    free(logits);
    free(ids);
    cc_engine_free(e);
    cc_tokenizer_free(tk);
    cc_weights_free(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_recompute),  cmocka_unit_test(test_zero_recompute),
        cmocka_unit_test(test_selection),       cmocka_unit_test(test_moved_chunk),
        cmocka_unit_test(test_blend_errors),    cmocka_unit_test(test_blend_cuda),
        cmocka_unit_test(test_gguf_load),       cmocka_unit_test(test_gguf_bad),
        cmocka_unit_test(test_pretrained_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
