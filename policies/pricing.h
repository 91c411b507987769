/*
 * pricing.h -- what a provider's context / prompt cache costs: one
 * parametric pricing model, presets that are data (pricing_presets.c, each
 * number dated and sourced there), user-defined models from a key=value
 * file, and the bill of a replayed trace under each model; plus operator
 * economics (economics.c): holding KV per tier, moving it, prefill
 * GPU-seconds, break-even TTL and hit rate, and a TTL sweep.
 *
 * The model (docs/pricing.md derives and explains every term)
 * -----------------------------------------------------------
 * Each request's input tokens fall in exactly one of three classes:
 *   read      served by the cache        read_mult  * input price
 *   written   written into a new object  write_mult * input price
 *                                        + creation_usd_per_mtok (absolute)
 *   uncached  everything else            input price
 * plus, per request, output tokens at the output price; per object created
 * creation_fee_usd; per request served by the cache hit_fee_usd; and
 * storage: token-hours held * storage_usd_per_mtok_hour, each object's
 * holding time rounded UP to whole storage_unit_s (Moonshot bills started
 * minutes; 0 = exact).
 *
 * Explicit models (explicit_cache = 1: Gemini explicit, Moonshot, Anthropic,
 * Qwen explicit) bill context-cache objects (core/context_cache.h): a
 * request creates an object for its cacheable prefix (the replay's
 * --cacheable rule: by default its leading system/passage chunks, else the
 * whole prompt), cut to whole blocks, at least min_tokens; its tokens are
 * WRITTEN.  A later request that contains a live object as a prefix READS
 * the object's tokens; everything else is uncached (no implicit cache runs
 * under an explicit model: the prefix cache below the objects has a zero
 * TTL, so only object-pinned blocks are ever served).  The creating request
 * pays the write and no read of its own object.  Storage: each object from
 * creation to expiry or deletion (objects held at the end of the trace: to
 * their expiry then, as the provider bills the TTL asked for).
 * Implicit models (explicit_cache = 0: Gemini implicit, OpenAI, DeepSeek)
 * cache every prompt automatically: the replay's prefix cache with a TTL
 * policy (ttl_s, refresh) and no capacity bound; a request READS its hit
 * tokens when they are at least min_tokens; writes are not billed apart
 * (written = 0: computed tokens are ordinary uncached input); the storage
 * (billed when a model prices it, always counted in token_hours_stored for
 * the operator) is the token-time blocks are held: each block from its
 * first access to its last access + ttl, episode by episode (with refresh,
 * exactly the replay's TTL cache; fixed TTLs ignore the tree's rule that a
 * block stays while a descendant lives).
 * granularity_tokens g: read and written counts (and object sizes for
 * storage) are rounded DOWN to a multiple of g; the rest is uncached.
 * Resolution: the trace's block size bounds what a replay can see (a hit
 * is whole blocks, the last one possibly partial).
 *
 * Costs: a bill is O(requests + objects) with no allocation; a replay per
 * model is one cc_replay (prefix mode, unbounded, records kept: 88 bytes per
 * request + 64 per object) plus, for implicit models, one pass over the blocks with a u64 map (about 48 bytes per distinct block).
 */
#ifndef CC_PRICING_H
#define CC_PRICING_H

#include "../core/replay.h"

#define CC_PRICING_MAX 16 /* models in one --pricing list */

typedef struct cc_pricing {
    char name[32];
    int explicit_cache;               /* 1 explicit objects, 0 implicit (automatic) */
    double input_usd_per_mtok;        /* base input price, USD per million tokens */
    double output_usd_per_mtok;
    double write_mult;                /* cache write price / input price */
    double read_mult;                 /* cache read price / input price */
    double creation_usd_per_mtok;     /* creation fee per million tokens written,
                                         independent of the input price */
    double creation_fee_usd;          /* per object created */
    double hit_fee_usd;               /* per request served by the cache */
    double storage_usd_per_mtok_hour; /* storage, USD per million token-hours */
    double storage_unit_s;            /* storage billed in whole units (0 = exact) */
    double ttl_s;                     /* > 0 */
    int refresh;                      /* 1: a hit restarts the TTL; 0: fixed */
    uint32_t min_tokens;              /* smallest object / hit that counts */
    uint32_t granularity_tokens;      /* >= 1 */
    char source[320];                 /* where the numbers come from, and when */
} cc_pricing;

/* Presets (pricing_presets.c). */
size_t cc_pricing_preset_count(void);
const cc_pricing *cc_pricing_preset_at(size_t i);
const cc_pricing *cc_pricing_preset_find(const char *name);

/* Checks a model's fields: CC_EARG naming the field. */
int cc_pricing_check(const cc_pricing *p, cc_err *err);

/* A user-defined model from a text file: one "key = value" a line, '#'
 * comments, blank lines; keys are the field names above ("name" and
 * "explicit" required; "base" = a preset to start from; docs/pricing.md).
 * Errors: CC_EIO (missing file), CC_EFORMAT (syntax, unknown or repeated
 * key, bad UTF-8, binary), CC_ERANGE (value out of range), each naming the
 * file, the line and the key. */
int cc_pricing_load(const char *path, cc_pricing *out, cc_err *err);
/* The same from a buffer (the fuzz harness); name is used in errors. */
int cc_pricing_parse(const char *name, const char *text, size_t len, cc_pricing *out,
                     cc_err *err);

/* "P1,P2,..." -> models: each a preset name or a path to a pricing file
 * (anything with a '/' or ending in .pricing / .txt).  CC_EARG for an
 * unknown name (listing the presets), or the loader's error. */
int cc_pricing_parse_list(const char *list, cc_pricing *out, size_t max, size_t *n, cc_err *err);

/* ---- bills ------------------------------------------------------------------ */
typedef struct cc_bill {
    char name[32];
    double input_uncached_usd, cache_write_usd, cache_read_usd, storage_usd;
    double creation_fee_usd, hit_fee_usd, output_usd, total_usd;
    uint64_t requests, input_tokens, output_tokens;
    uint64_t uncached_tokens, written_tokens, read_tokens;
    uint64_t objects, hits; /* objects created (billed), requests served by the cache */
    uint64_t object_tokens; /* sum of the objects' sizes (after granularity) */
    double token_hours_stored;
    /* cc_pricing_bill_blend only (0 in other bills): of read_tokens, those
     * served by reused chunks beyond the prefix; of uncached_tokens, the
     * blended tokens recomputed */
    uint64_t blend_read_tokens, blend_recompute_tokens;
} cc_bill;

/* Bills a replay made with keep_records (and, for an explicit model, with
 * its context cache, so that ctx_objects holds the lifetime events).
 * implicit_token_seconds: storage of an implicit model (0 when unpriced). */
void cc_pricing_bill(const cc_pricing *p, const cc_replay_result *r,
                     double implicit_token_seconds, cc_bill *out);

/* The same bill with blend counted (CacheBlend-style reuse of chunk KV at
 * any position; docs/pricing.md "Bills with blend"): p after
 * cc_pricing_apply, r the replay of t that made `prefix` (records kept).
 * Per request, in trace order, the blend units -- t's chunks whole
 * (chunk_tokens 0) or windows of chunk_tokens tokens from each chunk's
 * start, as `replay --blend` forms them -- that start at or after the
 * request's served (hit), read and written tokens, and whose content (and
 * tenant) an earlier request held within the model's TTL (from its last
 * use with refresh, else from when it was first held) are blended: B
 * tokens, of which round(recompute_ratio B) are recomputed and stay
 * uncached (input price: compute), the rest floor_g(B - recomputed) move
 * from uncached to read (read price) -- under an implicit model only when
 * they are at least min_tokens, as a prefix hit; a request with blend reads
 * and no prefix read counts as a hit.  Storage, objects and writes are
 * those of `prefix` (the chunks' KV is held by the serving side).
 * CC_EUNSUP for windows on a trace without token ids; CC_ENOMEM. */
int cc_pricing_bill_blend(const cc_pricing *p, const cc_trace *t, const cc_replay_result *r,
                          const cc_bill *prefix, double recompute_ratio, uint32_t chunk_tokens,
                          cc_bill *out, cc_err *err);

/* How a trace is replayed for billing. */
typedef struct cc_pricing_run {
    cc_cacheable cacheable;     /* explicit models: the cacheable prefix */
    uint32_t cacheable_blocks;
    double input_usd_per_mtok;  /* > 0: overrides every model's input price */
    double output_usd_per_mtok; /* > 0: overrides the output price */
    double ttl_s;               /* > 0: overrides the model's TTL (sweeps) */
} cc_pricing_run;

/* The model after the run's overrides. */
cc_pricing cc_pricing_apply(const cc_pricing *p, const cc_pricing_run *run);

/* Replays t with the cache behaviour p implies (TTL, refresh, minimum,
 * explicit or implicit; prefix mode, no capacity bound, one request at a
 * time) and bills it.  res (optional) receives the replay (records kept;
 * free with cc_replay_result_free).  CC_EUNSUP for a trace without block
 * hashes; the replay's errors. */
int cc_pricing_replay(const cc_trace *t, const cc_pricing *p, const cc_pricing_run *run,
                      cc_bill *out, cc_replay_result *res, cc_err *err);

/* Token-seconds an automatic cache with this TTL holds t's blocks (see
 * "Implicit models" above). */
int cc_pricing_implicit_token_seconds(const cc_trace *t, double ttl_s, int refresh,
                                      double *out, cc_err *err);

/* ---- operator economics (economics.c) ---------------------------------------
 * Per token, with b = KV bytes per token:
 *   hold_usd_per_token_s  h = b/1e9 * tier usd_per_gb_hour / 3600
 *   recompute_usd         c = gpu_usd_per_hour / 3600 / prefill_tokens_per_s
 *   load_usd              x = b/1e9 * tier transfer_usd_per_gb
 *   break-even TTL        T* = (c - x) / h   (seconds; S cancels)
 *   break-even hit rate   for a holding time T: T / T* (reuses per held
 *                         context needed; > 1 means never worth holding)
 * docs/pricing.md derives them. */
typedef struct cc_econ_tier {
    const char *name;
    double usd_per_gb_hour;     /* holding KV */
    double transfer_usd_per_gb; /* moving it to the GPU on a hit */
    const char *source;
} cc_econ_tier;
size_t cc_econ_tier_count(void);
const cc_econ_tier *cc_econ_tier_at(size_t i);
const cc_econ_tier *cc_econ_tier_find(const char *name);

typedef struct cc_econ {
    double gpu_usd_per_hour;     /* a GPU's price */
    double prefill_tokens_per_s; /* prefill throughput of that GPU */
    double kv_bytes_per_token;
    cc_econ_tier tier;           /* where held contexts live */
} cc_econ;

#define CC_ECON_DEFAULT_GPU_USD_PER_HOUR 2.50
#define CC_ECON_DEFAULT_PREFILL_TPS 10000.0
#define CC_ECON_DEFAULT_KV_BYTES_PER_TOKEN 131072.0 /* Llama-3-8B fp16 */

/* Defaults above with the named tier. */
int cc_econ_init(cc_econ *e, const char *tier, cc_err *err);

typedef struct cc_econ_figures {
    double hold_usd_per_token_s, recompute_usd_per_token, load_usd_per_token;
    double break_even_ttl_s; /* INFINITY when holding costs nothing; 0 when a reuse saves nothing */
} cc_econ_figures;
void cc_econ_figures_of(const cc_econ *e, cc_econ_figures *out);
/* Reuses per held context needed to pay for holding it ttl_s: ttl_s / T*. */
double cc_econ_break_even_hit_rate(const cc_econ_figures *f, double ttl_s);

/* The customer's side of one model: a cacheable prefix of size_tokens held
 * hold_s per write breaks even after n* reads,
 *   n* = (P(w-1) + cr + st*hold_s/3600 + fc/S) / (P(1-r) - fh/S)
 * (P, cr, st per token; docs/pricing.md); INFINITY when a read saves
 * nothing.  The hit rate needed is n* / (1 + n*).  Break-even TTL (idle time a
 * storage-billed cache is worth keeping for one more read):
 *   (P(1-r) - fh/S) / st  seconds (INFINITY without a storage price). */
double cc_pricing_break_even_reads(const cc_pricing *p, double size_tokens, double hold_s);
double cc_pricing_break_even_ttl_s(const cc_pricing *p, double size_tokens);

/* Operator cost of a billed replay: prefill of the tokens not read from
 * the cache, holding the token-hours stored, loading the tokens read. */
double cc_econ_operator_usd(const cc_econ *e, const cc_bill *b);

/* One row of a TTL sweep. */
typedef struct cc_sweep_row {
    char pricing[32];
    double ttl_s;
    cc_bill bill;
    double operator_usd;
} cc_sweep_row;

/* Replays t under each model at each TTL (n_models * n_ttls rows, model
 * major, in *rows, malloc'd; the caller frees). */
int cc_econ_sweep(const cc_trace *t, const cc_pricing *models, size_t n_models,
                  const double *ttls, size_t n_ttls, const cc_pricing_run *run,
                  const cc_econ *e, cc_sweep_row **rows, cc_err *err);
/* Index (into the rows of model m) of the smallest total_usd (use_operator:
 * operator_usd); ties go to the shorter TTL. */
size_t cc_econ_sweep_best(const cc_sweep_row *rows, size_t n_ttls, size_t m, int use_operator);
/* Writes the rows as CSV (header + one line per row; docs/pricing.md). */
int cc_econ_sweep_write_csv(const char *path, const cc_sweep_row *rows, size_t n, cc_err *err);

#endif
