/*
 * model.c -- model shapes (presets, validation, parameter and flop counts),
 * the host fp32 weights (one allocation, views per tensor; random from a
 * seeded GSL generator) and the fp16/bf16 conversions the loader and the
 * CUDA uploads share.
 *
 * Costs: cc_weights_alloc is one calloc of 4 bytes x cc_model_params();
 * cc_weights_random draws one Gaussian per parameter (about 10 ns each).
 */
#include "gpu.h"

#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- presets ---------------------------------------------------------------
 * The real shapes are the Hugging Face config.json values:
 *  meta-llama/Meta-Llama-3-8B: hidden_size 4096, intermediate_size 14336,
 *    num_hidden_layers 32, num_attention_heads 32, num_key_value_heads 8,
 *    vocab_size 128256, rope_theta 500000.0, rms_norm_eps 1e-05,
 *    tie_word_embeddings false (head_dim 4096/32 = 128).
 *  meta-llama/Meta-Llama-3-70B: hidden_size 8192, intermediate_size 28672,
 *    num_hidden_layers 80, num_attention_heads 64, num_key_value_heads 8,
 *    vocab_size 128256, rope_theta 500000.0, rms_norm_eps 1e-05 (head_dim 128).
 *  Qwen/Qwen2.5-7B: hidden_size 3584, intermediate_size 18944,
 *    num_hidden_layers 28, num_attention_heads 28, num_key_value_heads 4,
 *    vocab_size 152064, rope_theta 1000000.0, rms_norm_eps 1e-06,
 *    tie_word_embeddings false; q/k/v projections with bias (Qwen2
 *    attention) (head_dim 128).
 * Llama 3.1's rope_scaling (long-context frequency remap) is not modelled:
 * these are the Llama 3 shapes.
 * tiny: for tests (a 2-layer model with GQA, ~0.1 M parameters).
 * small: for CPU benchmarks, ~125 M parameters (75 M outside the embedding
 * and lm_head): a 4k-token prefill is ~1 Tflop, seconds on two cores. */
static const cc_model_config presets[] = {
    /* name          L   hidden nh  nkv hd   ffn    vocab   theta     eps   bs bias tie */
    {"tiny",         2,  64,    4,  2,  16,  128,   256,    10000.0,  1e-5f, 4, 0, 0},
    {"small",        12, 768,   12, 4,  64,  2048,  32000,  500000.0, 1e-5f, 16, 0, 0},
    {"llama-3-8b",   32, 4096,  32, 8,  128, 14336, 128256, 500000.0, 1e-5f, 16, 0, 0},
    {"llama-3-70b",  80, 8192,  64, 8,  128, 28672, 128256, 500000.0, 1e-5f, 16, 0, 0},
    {"qwen2.5-7b",   28, 3584,  28, 4,  128, 18944, 152064, 1000000.0, 1e-6f, 16, 1, 0},
};
#define N_PRESETS ((int)(sizeof presets / sizeof presets[0]))

static const char *const preset_names[] = {"tiny", "small", "llama-3-8b", "llama-3-70b",
                                           "qwen2.5-7b", NULL};

const char *const *cc_model_preset_names(void) { return preset_names; }

int cc_model_preset(const char *name, cc_model_config *out, cc_err *err)
{
    for (int i = 0; i < N_PRESETS; i++)
        if (name && strcmp(name, presets[i].name) == 0) {
            *out = presets[i];
            return CC_OK;
        }
    return cc_err_set(err, CC_EARG, NULL, 0, "model",
                      "unknown model preset '%s' (expected tiny, small, llama-3-8b, "
                      "llama-3-70b or qwen2.5-7b)",
                      name ? name : "(null)");
}

int cc_model_validate(const cc_model_config *c, cc_err *err)
{
#define POS(f)                                                                          \
    if (c->f <= 0)                                                                      \
        return cc_err_set(err, CC_EARG, NULL, 0, #f, "expected > 0, found %d", (int)c->f);
    POS(n_layers) POS(hidden) POS(n_heads) POS(n_kv_heads) POS(head_dim) POS(ffn) POS(vocab)
    POS(block_size)
#undef POS
    if (c->n_heads % c->n_kv_heads)
        return cc_err_set(err, CC_EARG, NULL, 0, "n_kv_heads",
                          "n_heads (%d) must be a multiple of n_kv_heads (%d)", c->n_heads,
                          c->n_kv_heads);
    if (c->head_dim % 2 || c->head_dim > CC_MAX_HEAD_DIM)
        return cc_err_set(err, CC_EARG, NULL, 0, "head_dim",
                          "expected an even head_dim (rotary pairs) <= %d, found %d",
                          CC_MAX_HEAD_DIM, c->head_dim);
    if (!(c->rope_theta > 1.0))
        return cc_err_set(err, CC_EARG, NULL, 0, "rope_theta", "expected > 1, found %g",
                          c->rope_theta);
    if (!(c->norm_eps > 0.0f))
        return cc_err_set(err, CC_EARG, NULL, 0, "norm_eps", "expected > 0, found %g",
                          (double)c->norm_eps);
    /* Offsets inside one tensor are size_t, but keep each dimension sane. */
    if ((double)c->vocab * c->hidden > 1e11 || (double)c->ffn * c->hidden > 1e11)
        return cc_err_set(err, CC_EARG, NULL, 0, "hidden", "absurd tensor size");
    return CC_OK;
}

static size_t layer_params(const cc_model_config *c)
{
    size_t h = c->hidden, q = (size_t)c->n_heads * c->head_dim,
           kv = (size_t)c->n_kv_heads * c->head_dim;
    size_t n = 2 * h;                 /* the two norms */
    n += h * q + 2 * h * kv + q * h;  /* q, k, v, o */
    n += 3 * h * (size_t)c->ffn;      /* gate, up, down */
    if (c->qkv_bias)
        n += q + 2 * kv;
    return n;
}

size_t cc_model_params(const cc_model_config *c)
{
    size_t emb = (size_t)c->vocab * c->hidden;
    return emb * (c->tie_embeddings ? 1 : 2) + c->hidden + c->n_layers * layer_params(c);
}

double cc_model_forward_flops(const cc_model_config *c, long n_new, long n_cached,
                              long n_logit_rows)
{
    double h = c->hidden, q = (double)c->n_heads * c->head_dim,
           kv = (double)c->n_kv_heads * c->head_dim;
    double linear = h * q + 2 * h * kv + q * h + 3 * h * c->ffn; /* MACs per token per layer */
    double keys = (double)n_new * n_cached + (double)n_new * (n_new + 1) / 2.0;
    double attn = 2.0 * q * keys;                                /* MACs: QK^T and PV */
    return 2.0 * (c->n_layers * (linear * n_new + attn) + h * c->vocab * n_logit_rows);
}

/* ---- weights ---------------------------------------------------------------- */
int cc_weights_alloc(cc_weights *w, const cc_model_config *cfg, cc_err *err)
{
    memset(w, 0, sizeof *w);
    int rc = cc_model_validate(cfg, err);
    if (rc)
        return rc;
    w->cfg = *cfg;
    w->n_floats = cc_model_params(cfg);
    w->data = calloc(w->n_floats, sizeof(float));
    w->layers = calloc(cfg->n_layers, sizeof *w->layers);
    if (!w->data || !w->layers) {
        cc_weights_free(w);
        return cc_err_set(err, CC_ENOMEM, NULL, 0, "weights",
                          "cannot allocate %zu parameters (%.1f GB fp32)",
                          cc_model_params(cfg), cc_model_params(cfg) * 4e-9);
    }
    size_t h = cfg->hidden, q = (size_t)cfg->n_heads * cfg->head_dim,
           kv = (size_t)cfg->n_kv_heads * cfg->head_dim, f = cfg->ffn;
    float *p = w->data;
#define TAKE(n) (p += (n), p - (n))
    w->embed = TAKE((size_t)cfg->vocab * h);
    w->lm_head = cfg->tie_embeddings ? w->embed : TAKE((size_t)cfg->vocab * h);
    w->final_norm = TAKE(h);
    for (int l = 0; l < cfg->n_layers; l++) {
        cc_layer_weights *L = &w->layers[l];
        L->attn_norm = TAKE(h);
        L->wq = TAKE(q * h);
        L->wk = TAKE(kv * h);
        L->wv = TAKE(kv * h);
        L->wo = TAKE(h * q);
        if (cfg->qkv_bias) {
            L->bq = TAKE(q);
            L->bk = TAKE(kv);
            L->bv = TAKE(kv);
        }
        L->mlp_norm = TAKE(h);
        L->w_gate = TAKE(f * h);
        L->w_up = TAKE(f * h);
        L->w_down = TAKE(h * f);
    }
#undef TAKE
    if ((size_t)(p - w->data) != w->n_floats)
        abort(); /* layer_params and the views disagree: a bug, not input */
    return CC_OK;
}

void cc_weights_free(cc_weights *w)
{
    free(w->data);
    free(w->layers);
    memset(w, 0, sizeof *w);
}

static void fill_gauss(float *x, size_t n, double sd, double mean, gsl_rng *rng)
{
    for (size_t i = 0; i < n; i++)
        x[i] = (float)(mean + gsl_ran_gaussian_ziggurat(rng, sd));
}

int cc_weights_random(cc_weights *w, const cc_model_config *cfg, gsl_rng *rng, cc_err *err)
{
    int rc = cc_weights_alloc(w, cfg, err);
    if (rc)
        return rc;
    size_t h = cfg->hidden, q = (size_t)cfg->n_heads * cfg->head_dim,
           kv = (size_t)cfg->n_kv_heads * cfg->head_dim, f = cfg->ffn;
    double out_scale = 1.0 / sqrt(2.0 * cfg->n_layers);
    fill_gauss(w->embed, (size_t)cfg->vocab * h, 1.0, 0.0, rng);
    for (int l = 0; l < cfg->n_layers; l++) {
        cc_layer_weights *L = &w->layers[l];
        fill_gauss(L->attn_norm, h, 0.1, 1.0, rng);
        fill_gauss(L->wq, q * h, 1.0 / sqrt((double)h), 0.0, rng);
        fill_gauss(L->wk, kv * h, 1.0 / sqrt((double)h), 0.0, rng);
        fill_gauss(L->wv, kv * h, 1.0 / sqrt((double)h), 0.0, rng);
        fill_gauss(L->wo, h * q, out_scale / sqrt((double)q), 0.0, rng);
        if (cfg->qkv_bias) {
            fill_gauss(L->bq, q, 0.02, 0.0, rng);
            fill_gauss(L->bk, kv, 0.02, 0.0, rng);
            fill_gauss(L->bv, kv, 0.02, 0.0, rng);
        }
        fill_gauss(L->mlp_norm, h, 0.1, 1.0, rng);
        fill_gauss(L->w_gate, f * h, 1.0 / sqrt((double)h), 0.0, rng);
        fill_gauss(L->w_up, f * h, 1.0 / sqrt((double)h), 0.0, rng);
        fill_gauss(L->w_down, h * f, out_scale / sqrt((double)f), 0.0, rng);
    }
    fill_gauss(w->final_norm, h, 0.1, 1.0, rng);
    if (!cfg->tie_embeddings)
        fill_gauss(w->lm_head, (size_t)cfg->vocab * h, 1.0 / sqrt((double)h), 0.0, rng);
    return CC_OK;
}

/* ---- element types ------------------------------------------------------------ */
size_t cc_dtype_size(int dtype) { return dtype == CC_DTYPE_F32 ? 4 : 2; }

const char *cc_dtype_name(int dtype)
{
    switch (dtype) {
    case CC_DTYPE_F32: return "F32";
    case CC_DTYPE_F16: return "F16";
    case CC_DTYPE_BF16: return "BF16";
    default: return "?";
    }
}

static uint32_t f32_bits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float cc_bf16_to_f32(uint16_t b) { return bits_f32((uint32_t)b << 16); }

uint16_t cc_f32_to_bf16(float f)
{
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    u += 0x7fffu + ((u >> 16) & 1);          /* round to nearest even */
    return (uint16_t)(u >> 16);
}

float cc_f16_to_f32(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f) /* inf or NaN */
        return bits_f32(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        if (man == 0)
            return bits_f32(sign);
        /* subnormal: man x 2^-24, exact in fp32 */
        float v = (float)man * 0x1p-24f;
        return sign ? -v : v;
    }
    return bits_f32(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t cc_f32_to_f16(float f)
{
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7fffffffu;
    if (a > 0x7f800000u)
        return sign | 0x7e00; /* NaN */
    if (a >= 0x477ff000u)     /* >= 65520 rounds to inf */
        return sign | 0x7c00;
    if (a < 0x38800000u) {    /* below the smallest normal half (2^-14): subnormal */
        /* value / 2^-24, rounded to nearest even by the FPU */
        float v = bits_f32(a) * 0x1p24f;
        float r = nearbyintf(v); /* default rounding mode: to nearest even */
        return sign | (uint16_t)r;
    }
    uint32_t e = (a >> 23) - 112, m = a & 0x7fffffu;
    uint32_t hbits = (e << 10) | (m >> 13);
    uint32_t rest = m & 0x1fffu;
    if (rest > 0x1000u || (rest == 0x1000u && (hbits & 1)))
        hbits++; /* may carry into the exponent, which is right */
    return sign | (uint16_t)hbits;
}

void cc_round_to_dtype(float *x, size_t n, int dtype)
{
    if (dtype == CC_DTYPE_BF16)
        for (size_t i = 0; i < n; i++)
            x[i] = cc_bf16_to_f32(cc_f32_to_bf16(x[i]));
    else if (dtype == CC_DTYPE_F16)
        for (size_t i = 0; i < n; i++)
            x[i] = cc_f16_to_f32(cc_f32_to_f16(x[i]));
}
