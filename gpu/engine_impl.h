/*
 * engine_impl.h -- private to gpu/: the engine object shared by the
 * front (engine.c) and the two backends (engine_cpu.c, engine.cu), and the
 * attention work list both backends build the same way.  Not part of the
 * public surface (gpu.h).
 */
#ifndef CC_GPU_ENGINE_IMPL_H
#define CC_GPU_ENGINE_IMPL_H

#include "gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One attention tile of query tokens of one sequence: rows tok0 ..
 * tok0 + n_tok - 1 of q/out (token index within the batch), at positions
 * pos0 .. pos0 + n_tok - 1, whose block table starts at tables[table0].  A
 * tile is run once per kv head (its rows are n_tok x the group's heads). */
typedef struct cc_attn_tile {
    int32_t tok0, n_tok, pos0, table0;
    /* The CPU reads keys from batch_pos0 on straight from the forward's own
     * k/v rows (position p at row tok0 - pos0 + p) instead of gathering
     * them from the pool; INT32_MAX: none there (the CUDA kernel ignores it). */
    int32_t batch_pos0;
} cc_attn_tile;

/* Splits each sequence's new tokens into tiles of tok_per_tile tokens;
 * returns the number of tiles written to tiles (room: sum over sequences of
 * ceil(n_new / tok_per_tile)).  table0 of sequence i is table_off[i]. */
int cc_attn_build_tiles(cc_attn_tile *tiles, const cc_seq *seqs, int n_seqs,
                        const int32_t *table_off, int tok_per_tile);

/* CPU attention over a work list (ops_cpu.c): the loop cc_op_attention_paged
 * runs, over any batch.  tables: the concatenated block tables; k_new,
 * v_new: the forward's new K/V rows ([tokens][n_kv_heads * head_dim], the
 * tiles' batch_pos0 says which keys they hold), or NULL. */
void cc_cpu_attention_tiles(float *out, const float *q, const cc_attn_tile *tiles,
                            int n_tiles, const float *k_pool, const float *v_pool,
                            const float *k_new, const float *v_new,
                            const int32_t *tables, const cc_attn_shape *s, int q_rows,
                            int k_tile, float *scratch, int n_threads);

/* A checked blend (blend.c) for the backend's layer loop.  Arrays are
 * [n] over prompt positions (position = index), owned by the engine (sized
 * max_batch_tokens once). */
typedef struct cc_blend_run {
    int32_t start, n, delta; /* positions start .. start+n-1 reuse rows src_rows[...] */
} cc_blend_run;

typedef struct cc_blend_plan {
    int n;                       /* prompt tokens */
    int32_t *tokens;             /* [n] */
    int32_t *dst_rows;           /* [n] pool row of position i in block_table */
    int32_t *src_rows;           /* [n] pool row of its cached KV, or -1 (fresh) */
    uint8_t *forced;             /* [n] computed at every layer */
    cc_blend_run *runs;          /* one per cached chunk */
    int n_runs;
    int n_reused;                /* positions with src_rows >= 0 and not forced */
    int n_forced;
    int n_checks;                /* check layers 1 .. n_checks */
    int32_t keep[CC_BLEND_MAX_CHECKS]; /* reused tokens kept after check j */
    const int32_t *table;        /* the prompt's block table */
    int n_final;                 /* set by the backend: positions cur[0..n_final)
                                    were computed at every layer */
    /* scratch for cc_blend_select and the backends: [n] each */
    int32_t *cand, *cur, *keep_rows;
    float *dev;
    uint8_t *mark;
} cc_blend_plan;

/* Selection at check j: rows 0..n-1 of the current set hold positions
 * cur[0..n) (ascending), dev[r] their deviation (read for reused rows only).
 * Writes the rows to keep (ascending) to keep_rows; returns their count:
 * every forced row, and the plan->keep[j] reused rows of largest deviation
 * (ties: the lower position). */
int cc_blend_select(cc_blend_plan *p, int j, const int32_t *cur, const float *dev, int n,
                    int32_t *keep_rows);
/* Attention tiles over rows of ascending positions pos[0..n): one tile per
 * run of consecutive positions, cut every tok_per_tile tokens; table0 = 0.
 * Returns the number of tiles (<= n). */
int cc_blend_tiles(cc_attn_tile *tiles, const int32_t *pos, int n, int tok_per_tile);

/* Backend operations: the front has validated the arguments. */
typedef struct cc_engine_vt {
    int (*forward)(cc_engine *e, const cc_seq *seqs, int n_seqs, int logits_mode,
                   float *logits, cc_err *err);
    int (*kv_to_host)(cc_engine *e, int slot, void *host, cc_err *err);
    int (*kv_from_host)(cc_engine *e, int slot, const void *host, cc_err *err);
    int (*kv_copy_block)(cc_engine *e, int dst, int src, cc_err *err);
    int (*sync)(cc_engine *e, cc_err *err);
    void *(*host_alloc)(cc_engine *e, size_t bytes);
    void (*host_free)(cc_engine *e, void *p);
    void (*destroy)(cc_engine *e);
    /* CacheBlend prefill of a checked plan (NULL: not on this backend) */
    int (*blend)(cc_engine *e, cc_blend_plan *p, int logits_mode, float *logits,
                 cc_err *err);
} cc_engine_vt;

struct cc_engine {
    const cc_engine_vt *vt;
    cc_model_config cfg;
    cc_engine_opts opts;
    size_t block_bytes;   /* host image of one block */
    size_t layer_elems;   /* elements of one layer's K (or V) part of a block */
    uint32_t *slot_mark;  /* [n_slots]: epoch of the forward that writes it */
    uint32_t epoch;
    void *impl;           /* the backend's state */
    void *blend_buf;      /* the blend plan's arrays, made by the first blend */
};

/* Frees blend_buf and the arrays it owns (blend.c; NULL: nothing). */
void cc_engine_blend_buf_free(void *buf);

int cc_engine_cpu_init(cc_engine *e, const cc_weights *w, cc_err *err);
int cc_engine_cuda_init(cc_engine *e, const cc_weights *w, cc_err *err);

/* Default tiles: CPU favours large tiles (sgemm efficiency), CUDA tiles fit
 * in shared memory. */
/* CPU: 384 x 256 (128 tokens x a group of 3 heads) measured 5 % faster
 * than 192 x 128 on the small preset's 4k prefill (CPU time, same run). */
#define CC_CPU_ATTN_Q_ROWS 384
#define CC_CPU_ATTN_K_TILE 256
#define CC_CUDA_ATTN_Q_ROWS 32
#define CC_CUDA_ATTN_K_TILE 32

#ifdef __cplusplus
}
#endif

#endif
