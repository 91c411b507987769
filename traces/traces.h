/*
 * traces.h -- public surface of traces/: the request model every tier and
 * both backends consume, the columnar trace that holds many of them, the
 * readers and writers of real formats, tokenizers, the native HDF5 format,
 * trace statistics and the synthetic workload generator.
 *
 * The request model (one record, many sources)
 * --------------------------------------------
 * A request is what a serving system sees: when it arrived, which session and
 * turn it belongs to, which tenant (model name + version) serves it, its input
 * (token ids and/or a chain of block hashes with the trace's block size), the
 * input and output lengths, optional text chunks (system prompt, conversation
 * turns, retrieved passages; each kept separately so the blend tier can find
 * reused passages at new positions), an optional embedding, and a semantic
 * group id (requests with the same group ask the same thing: ground truth for
 * the semantic tier's precision).  Readers fill what their format has; nothing
 * downstream knows which format a trace came from.
 *
 * The trace stores requests column by column (arrival_ns[], input_tokens[],
 * offsets into one block-hash array, ...), so a replay of millions of requests
 * touches contiguous memory; the HDF5 file (trace_h5.c) has the same columns.
 * A cc_request is a view into those columns (no copy), valid while the trace
 * lives and is not appended to.
 *
 * Block convention: a request with input_tokens = L has ceil(L / block_size)
 * blocks when it carries a hash chain; the last block may be partial (the
 * Mooncake convention).  A block hash names the whole prefix up to and
 * including its block.
 */
#ifndef CC_TRACES_H
#define CC_TRACES_H

#include "../core/core.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- chunks of text --------------------------------------------------- */
typedef enum cc_chunk_kind {
    CC_CHUNK_SYSTEM = 0,    /* shared system prompt */
    CC_CHUNK_USER = 1,      /* a user turn */
    CC_CHUNK_ASSISTANT = 2, /* a model answer from an earlier turn */
    CC_CHUNK_PASSAGE = 3,   /* a retrieved passage / document (RAG) */
    CC_CHUNK_QUESTION = 4,  /* the question that follows passages (RAG) */
    CC_CHUNK_TOOL = 5,      /* a tool's result (or function call output) in a chat log */
    CC_CHUNK_KIND_COUNT
} cc_chunk_kind;

const char *cc_chunk_kind_name(int kind);

typedef struct cc_chunk {
    uint64_t text_off;    /* byte offset into cc_trace.text (UTF-8) */
    uint32_t text_len;    /* bytes */
    uint32_t kind;        /* cc_chunk_kind */
    uint32_t token_start; /* first token of this chunk within the request's token ids */
    uint32_t token_len;   /* tokens of this chunk (0 if the trace has no token ids) */
    uint64_t chunk_hash;  /* cc_hash_bytes(text): equal text => equal hash, at any position */
} cc_chunk;

/* ---- one request (a view) ------------------------------------------------ */
#define CC_NO_GROUP UINT64_MAX
/* The latest arrival a trace may hold: 2^62 ns (146 years).  Replays add
 * service times, TTLs (at most 1e9 s) and waits to arrivals in int64 ns; this
 * leaves them as much again before INT64_MAX, so no sum overflows (readers
 * reject later arrivals, cc_trace_validate checks every trace). */
#define CC_MAX_ARRIVAL_NS (INT64_C(1) << 62)

typedef enum cc_role {
    CC_ROLE_QUERY = 0, /* an ordinary request */
    CC_ROLE_SEED = 1,  /* a request that only fills caches (e.g. the 'origin'
                          side of a paraphrase benchmark); replays may count it
                          apart from queries */
} cc_role;

typedef struct cc_request {
    int64_t arrival_ns;      /* since the trace's start (first request at >= 0),
                                at most CC_MAX_ARRIVAL_NS */
    uint64_t session_id;     /* conversation id; 0.. per trace */
    uint32_t turn;           /* 0-based turn within the session */
    uint32_t tenant;         /* index into cc_trace.tenants */
    uint32_t input_tokens;
    uint32_t output_tokens;
    uint64_t group_id;       /* semantic equivalence class or CC_NO_GROUP */
    uint32_t role;           /* cc_role */
    uint32_t n_blocks;
    const uint64_t *blocks;  /* prefix-chained block hashes; n_blocks of them */
    uint32_t n_token_ids;
    const uint32_t *token_ids; /* NULL when the trace has none */
    uint32_t n_chunks;
    const cc_chunk *chunks;  /* text chunks, in prompt order */
    const float *embedding;  /* cc_trace.embedding_dim floats, or NULL */
} cc_request;

/* ---- the trace ------------------------------------------------------------ */
typedef struct cc_trace {
    size_t n;                /* requests */
    uint32_t block_size;     /* tokens per block of the hash chains (0 = no chains) */
    bool timed;              /* arrival times are real (false: datasets without
                                timestamps, where every arrival_ns is 0) */
    int64_t epoch_ns;        /* wall-clock time of arrival 0 (ns since 1970, UTC), 0 if unknown */

    /* per-request columns, n entries each */
    int64_t *arrival_ns;
    uint64_t *session_id;
    uint32_t *turn;
    uint32_t *tenant;
    uint32_t *input_tokens;
    uint32_t *output_tokens;
    uint64_t *group_id;
    uint8_t *role;

    /* ragged columns: request i owns [off[i], off[i+1]) ; off has n+1 entries */
    uint64_t *block_off;
    uint64_t *blocks;
    uint64_t *token_off;
    uint32_t *token_ids;
    uint64_t *chunk_off;
    cc_chunk *chunks;

    char *text;              /* UTF-8 arena the chunks point into (not NUL-separated) */
    size_t text_len;

    uint32_t embedding_dim;  /* 0 = no embeddings */
    float *embeddings;       /* n * embedding_dim */

    size_t n_tenants;
    char **tenants;          /* "model@version" strings; tenants[0] = "default" */

    char source_format[32];  /* reader that produced it ("mooncake", "generator", ...) */
    char source[512];        /* file or spec it came from */
    uint64_t seed;           /* generator seed, 0 for real traces */

    /* records a reader skipped with a warning instead of failing (chatlog:
     * messages of an unknown role, responses matching no request), and the
     * first one's message ("file:line: field 'x': ..."); not stored in HDF5 */
    uint64_t read_warnings;
    char read_warning[320];

    /* capacities (builder bookkeeping) */
    size_t cap_n, cap_blocks, cap_tokens, cap_chunks, cap_text, cap_tenants;
} cc_trace;

void cc_trace_init(cc_trace *t);
void cc_trace_free(cc_trace *t);

/* View of request i. */
cc_request cc_trace_get(const cc_trace *t, size_t i);
static inline size_t cc_trace_n_blocks_total(const cc_trace *t) { return t->n ? t->block_off[t->n] : 0; }
static inline size_t cc_trace_n_tokens_total(const cc_trace *t) { return t->n ? t->token_off[t->n] : 0; }
static inline size_t cc_trace_n_chunks_total(const cc_trace *t) { return t->n ? t->chunk_off[t->n] : 0; }

/* Builder.  Append text to the arena; returns its offset in *off.  Chunks of
 * later turns may point at text added for earlier ones (no duplication). */
int cc_trace_add_text(cc_trace *t, const char *s, size_t len, uint64_t *off);
/* Tenant index of name (added when new). */
int cc_trace_tenant(cc_trace *t, const char *name, uint32_t *idx);
/* Append a request.  Copies r's blocks, token ids, chunks and embedding into
 * the trace (r->chunks' text_off must already point into t->text; their
 * chunk_hash is computed here when 0).  Set r->embedding only when the trace's
 * embedding_dim is set.  Does not validate ordering; readers do that. */
int cc_trace_append(cc_trace *t, const cc_request *r);

/* Recompute every request's hash chain from its token ids at block_size.
 * CC_EUNSUP if the trace has no token ids (cc_trace_no_tokens_error). */
int cc_trace_reblock(cc_trace *t, uint32_t block_size, cc_err *err);

/* The one message for "no token ids to build blocks from", so that every
 * command says the same thing about the same trace: has_blocks_of > 0: the
 * trace carries block hashes of that many tokens (Mooncake), else lengths
 * only (Azure); want: the block size asked for.  Returns `code` (CC_EUNSUP
 * or CC_EARG) with field "block_size" and what can be done instead. */
int cc_trace_no_tokens_error(const char *src, uint32_t has_blocks_of, uint32_t want, int code,
                             cc_err *err);

/* A trace with lengths only (no token ids, no block hashes: Azure), or any
 * trace for a "no cache" run: replaces every request's chain by
 * ceil(input_tokens / block_size) hashes that no other request has, except
 * its first floor(shared_fraction * input_tokens / block_size) blocks, which
 * are one chain shared by every request of the same tenant (a known shared
 * system prompt: a request with s such blocks reuses min(s, longest shared
 * run cached) of them).  shared_fraction in [0, 1]; 0: nothing reusable.
 * Deterministic (hashes of tenant, request index and position).  The
 * trace's token ids, if any, stay (they no longer match the chains).
 * CC_EARG for a bad block size or fraction, CC_ENOMEM. */
int cc_trace_synth_blocks(cc_trace *t, uint32_t block_size, double shared_fraction,
                          cc_err *err);

/* Check the invariants every consumer relies on (arrivals non-decreasing,
 * offsets monotone, n_blocks == ceil(input/bs) where chains exist, tenants in
 * range, chunks inside the arena and the token range).  Names the first
 * offending request and field. */
int cc_trace_validate(const cc_trace *t, const char *name, cc_err *err);

/* ---- formats: readers and writers ---------------------------------------
 * One table (formats.c) maps a format name to its detector, reader and
 * writer.  Readers never return a silently shortened trace: any malformed
 * record fails the whole read with file, line and field in err. */
typedef struct cc_tokenizer cc_tokenizer;

typedef struct cc_read_opts {
    const cc_tokenizer *tokenizer; /* for text formats; NULL = built-in */
    uint32_t block_size;           /* block size for chains built from tokens
                                      (0 = format default: 512 for hash traces,
                                      16 for text) */
    const char *tenant;            /* tenant name for formats without one (NULL = "default") */
    bool no_tokens;                /* text formats: keep lengths/chunks/hashes, drop token ids */
    uint64_t max_bytes;            /* refuse (CC_ENOMEM) a trace whose requests take more
                                      (the memory bound, below); 0 = half the machine's
                                      physical memory */
} cc_read_opts;

/* ---- the memory bound ------------------------------------------------------
 * A reader fails with CC_ENOMEM (the command exits 3) and a message naming
 * the bound, instead of letting the machine run out, when the trace it
 * builds would take more than the bound: its columns at their final size,
 * cc_trace_bytes_for (65 bytes a request, 8 a block hash, 4 a token id, 32
 * a chunk, the text and the embeddings), plus what the reader itself holds
 * for the whole trace at once (the HDF5 reader: the file image; the
 * oracleGeneral reader: 8 bytes a record).  Text formats check each request
 * as it is built (multi-turn formats repeat the history in every request),
 * libCacheSim csv every row, oracleGeneral and HDF5 from the sizes they
 * declare, before anything is allocated for them.  Replays check their
 * per-request state against the same bound (core/replay.h). */
#define CC_TRACE_REQUEST_BYTES 65 /* the fixed columns and the three offsets */
/* o->max_bytes, or half the physical memory when o is NULL or it is 0. */
uint64_t cc_trace_memory_bound(const cc_read_opts *o);
/* Bytes the columns of a trace of these sizes take (embedding: floats). */
uint64_t cc_trace_bytes_for(uint64_t requests, uint64_t blocks, uint64_t tokens,
                            uint64_t chunks, uint64_t text_bytes, uint64_t embedding_floats);
/* The same for a built trace. */
uint64_t cc_trace_memory_bytes(const cc_trace *t);
/* "12.3 KB", "45.6 MB", "7.89 GB" (decimal units) into buf; returns buf. */
const char *cc_bytes_human(uint64_t bytes, char *buf, size_t len);
/* The bound's error: CC_ENOMEM at path/line/field, "WHAT would take N MB,
 * past the bound of M MB (half the physical memory, or CTXCACHE_MAX_MEMORY)". */
int cc_trace_bound_error(const char *path, long line, const char *field, const char *what,
                         uint64_t need, uint64_t bound, cc_err *e);

typedef struct cc_format {
    const char *name;         /* "mooncake", "azure", ... */
    const char *description;  /* one line for --help */
    /* Returns a score 0..100 that the first bytes (head, head_len) and the
     * file name belong to this format; 0 = not this format. */
    int (*detect)(const char *path, const unsigned char *head, size_t head_len);
    int (*read)(const char *path, const cc_read_opts *opts, cc_trace *out, cc_err *err);
    /* NULL when the format cannot be written. */
    int (*write)(const cc_trace *t, const char *path, cc_err *err);
} cc_format;

extern const cc_format cc_formats[];
extern const size_t cc_n_formats;
const cc_format *cc_format_find(const char *name);
/* Detect from content (and the name as a tie-break). */
const cc_format *cc_format_detect(const char *path, cc_err *err);
/* Read path in format fmt_name (NULL = detect) into out (initialised here). */
int cc_trace_read(const char *path, const char *fmt_name, const cc_read_opts *opts,
                  cc_trace *out, cc_err *err);
int cc_trace_write(const cc_trace *t, const char *path, const char *fmt_name, cc_err *err);
/* Output format implied by a file name's extension (.h5 -> "h5", .jsonl ->
 * "mooncake", .csv -> "lcs-csv", .oracleGeneral/.bin -> "lcs-oracle"), or NULL. */
const char *cc_format_for_path(const char *path);

/* Individual readers/writers (one file each in traces/). */
int cc_read_mooncake(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e);
int cc_write_mooncake(const cc_trace *t, const char *path, cc_err *e);
int cc_detect_mooncake(const char *path, const unsigned char *head, size_t head_len);
int cc_read_azure(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e);
int cc_write_azure(const cc_trace *t, const char *path, cc_err *e);
int cc_detect_azure(const char *path, const unsigned char *head, size_t head_len);
int cc_read_sharegpt(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e);
int cc_read_mtbench(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e);
int cc_read_arena(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e);
int cc_read_pairs(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e);
int cc_read_rag(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e);
/* OpenAI-compatible chat-completions request logs: a JSONL file or a directory
 * of them (chatlog.c) */
int cc_read_chatlog(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e);
/* Content detectors of the text formats (see cc_format.detect). */
int cc_detect_sharegpt(const char *path, const unsigned char *head, size_t head_len);
int cc_detect_mtbench(const char *path, const unsigned char *head, size_t head_len);
int cc_detect_arena(const char *path, const unsigned char *head, size_t head_len);
int cc_detect_pairs(const char *path, const unsigned char *head, size_t head_len);
int cc_detect_rag(const char *path, const unsigned char *head, size_t head_len);
int cc_detect_chatlog(const char *path, const unsigned char *head, size_t head_len);
int cc_read_lcs_csv(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e);
int cc_write_lcs_csv(const cc_trace *t, const char *path, cc_err *e);
int cc_read_lcs_oracle(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e);
int cc_write_lcs_oracle(const cc_trace *t, const char *path, cc_err *e);
int cc_detect_lcs_csv(const char *path, const unsigned char *head, size_t head_len);
int cc_detect_lcs_oracle(const char *path, const unsigned char *head, size_t head_len);
int cc_read_h5(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e);
int cc_write_h5(const cc_trace *t, const char *path, cc_err *e);
int cc_detect_h5(const char *path, const unsigned char *head, size_t head_len);

/* ---- tokenizers -----------------------------------------------------------
 * A tokenizer turns UTF-8 text into token ids.  The built-in one needs no
 * download and is deterministic (see tokenizer.c for how its counts compare
 * with a real BPE vocabulary); a Hugging Face tokenizer.json (BPE or
 * WordPiece) can be loaded instead. */
int cc_tokenizer_builtin(cc_tokenizer **out);
int cc_tokenizer_load_hf(const char *path, cc_tokenizer **out, cc_err *err);
void cc_tokenizer_free(cc_tokenizer *tk);
const char *cc_tokenizer_name(const cc_tokenizer *tk);
uint32_t cc_tokenizer_vocab_size(const cc_tokenizer *tk);
/* Appends the ids of text[0..len) to *ids (growing *cap with cc_grow), adding
 * to *n.  Invalid UTF-8 is an error (CC_EFORMAT). */
int cc_tokenize(const cc_tokenizer *tk, const char *text, size_t len,
                uint32_t **ids, size_t *n, size_t *cap);

/* ---- streamed reading (stream.c) ------------------------------------------
 * A trace read window by window, for runs that need each request once, in
 * order (`ctxcache replay` in concurrency none): memory is one window, not
 * the trace.  fmt_name NULL = detect.  Formats lcs-oracle (read in bulk,
 * 24-byte records), h5 (the five columns a replay needs, read as
 * hyperslabs; CC_EUNSUP for a trace without block hashes) and mooncake
 * (JSONL, line by line with cc_read_mooncake's checks; it keeps the map of
 * distinct ids that check needs, 16-32 bytes an id); CC_EUNSUP for the
 * others (read them whole).  A window is a cc_trace of at most
 * `window` requests with the columns arrival_ns, input_tokens,
 * output_tokens, block_off (from 0) and blocks, and source, source_format
 * and block_size set; it is valid until the next call.  Each window gets
 * the checks the whole-file reader makes of its rows (libCacheSim's
 * next_access_vtime only where the position named lies in the same window;
 * the whole-file reader checks every one; HDF5: the columns read, not the
 * others).  A libCacheSim trace's block size
 * is its largest object size, known at its end: its windows carry
 * CC_STREAM_BLOCK_TOKENS_ANY (each request is one block holding its whole
 * input) and cc_trace_stream_block_size gives the size read so far. */
#define CC_STREAM_BLOCK_TOKENS_ANY UINT32_MAX
typedef struct cc_trace_stream cc_trace_stream;
int cc_trace_stream_open(const char *path, const char *fmt_name, const cc_read_opts *o,
                         size_t window, cc_trace_stream **out, cc_err *err);
/* Windows of a trace already in memory (views of its columns; t must
 * outlive the stream). */
int cc_trace_stream_of(const cc_trace *t, size_t window, cc_trace_stream **out, cc_err *err);
/* The next window into *w; (*w)->n == 0 at the end. */
int cc_trace_stream_next(cc_trace_stream *s, const cc_trace **w, cc_err *err);
/* The trace's block size (libCacheSim: the largest object size so far). */
uint32_t cc_trace_stream_block_size(const cc_trace_stream *s);
/* Requests in the file: known before reading for lcs-oracle and h5;
 * Mooncake JSONL: UINT64_MAX until the last window was read. */
uint64_t cc_trace_stream_requests(const cc_trace_stream *s);
/* Block accesses in the file, known before reading (lcs-oracle: one a
 * request; h5: the /blocks column's length), or UINT64_MAX (Mooncake). */
uint64_t cc_trace_stream_accesses(const cc_trace_stream *s);
const char *cc_trace_stream_format(const cc_trace_stream *s);
const char *cc_trace_stream_source(const cc_trace_stream *s);
/* The trace's name and format as the whole-file reader gives them (an HDF5
 * trace: those it was converted from; else the path and the format). */
const char *cc_trace_stream_label_source(const cc_trace_stream *s);
const char *cc_trace_stream_label_format(const cc_trace_stream *s);
void cc_trace_stream_close(cc_trace_stream *s);

/* ---- statistics ----------------------------------------------------------- */
typedef struct cc_trace_stats {
    size_t requests;
    size_t block_accesses;
    size_t distinct_blocks;
    uint64_t input_tokens;
    uint64_t output_tokens;
    double input_tokens_mean, output_tokens_mean;
    /* infinite cache, a request's hits = the leading run of its blocks seen
     * in earlier requests (or earlier in itself); a hit block counts
     * block_size tokens, the total capped at input_tokens */
    double ideal_block_hit_ratio;
    double ideal_token_hit_ratio;
    double interarrival_mean_s, interarrival_cv;
    double span_s;
    size_t sessions;
    size_t tenants;
    double input_p50, input_p90, input_p99, output_p50, output_p90, output_p99;
    double turns_mean;
} cc_trace_stats;

int cc_trace_compute_stats(const cc_trace *t, cc_trace_stats *s, cc_err *err);

/* ---- how much a blend cache could reuse (reuse.c) ---------------------------
 * Each input token is prefix-reusable (the leading whole C-token chunks an
 * infinite prefix cache serves), non-prefix-reusable (not that, but inside a
 * C-token window whose exact tokens appeared anywhere in an earlier request
 * in scope) or new; reuse.c has the precise definition.  Needs token ids
 * (CC_EUNSUP otherwise); chunk_tokens 0 is CC_EARG. */
typedef enum cc_reuse_scope {
    CC_REUSE_TRACE = 0,   /* earlier requests of the same tenant */
    CC_REUSE_SESSION = 1, /* earlier requests of the same session and tenant */
} cc_reuse_scope;
typedef struct cc_reuse_counts {
    uint64_t requests, tokens;   /* tokens = input tokens */
    uint64_t prefix_tokens, nonprefix_tokens, new_tokens; /* sum to tokens */
} cc_reuse_counts;
typedef struct cc_reuse_stats {
    uint32_t chunk_tokens;
    cc_reuse_scope scope;
    cc_reuse_counts total;
    size_t n_sessions;           /* in order of first appearance */
    uint64_t *session_ids;
    cc_reuse_counts *sessions;
} cc_reuse_stats;
int cc_trace_reuse(const cc_trace *t, uint32_t chunk_tokens, cc_reuse_scope scope,
                   cc_reuse_stats *out, cc_err *err);
void cc_reuse_stats_free(cc_reuse_stats *s);
const char *cc_reuse_scope_name(cc_reuse_scope scope);

/* ---- synthetic workloads (generator.c) -------------------------------------
 * ctxcache gen SPEC: the spec format is documented in docs/workload-spec.md
 * and in genspec.c.  Same spec + seed => byte-identical trace.  Errors in a
 * spec name its file (or name), line and key ("section.key").  A relative
 * `process = trace:PATH` is resolved against the spec file's folder (against
 * the working directory for spec strings). */
int cc_gen_from_spec_file(const char *spec_path, uint64_t seed, cc_trace *out, cc_err *err);
int cc_gen_from_spec_string(const char *spec, const char *name, uint64_t seed,
                            cc_trace *out, cc_err *err);
/* Limits on what a spec may ask for, below the format's own (fuzzing, tests,
 * services that take specs from others); a spec beyond them is refused with
 * CC_ERANGE naming the key.  0 / false = the format's own limit. */
typedef struct cc_gen_limits {
    uint64_t max_requests;       /* [workload] requests (format: 100,000,000) */
    uint64_t max_context_tokens; /* [workload] max_context_tokens (format: 16,777,216) */
    uint64_t max_entities;       /* counts: prompts, documents, corpus, groups (format: 10,000,000) */
    bool no_files;               /* refuse `process = trace:PATH` */
} cc_gen_limits;
int cc_gen_from_spec_string_limited(const char *spec, const char *name, uint64_t seed,
                                    const cc_gen_limits *lim, cc_trace *out, cc_err *err);
/* The built-in default workload of `make run` (`ctxcache gen default`). */
extern const char cc_gen_default_spec[];

/* ---- token ids for a real engine (reqtokens.c) ----------------------------
 * The input_tokens[i] token ids of request i, each in [0, vocab): the
 * trace's own ids mod vocab when it has them; otherwise block j's ids are the
 * first n_j outputs of a SplitMix64 stream seeded with block j's hash, mod
 * vocab (equal hashes give equal tokens); with neither, a stream seeded by
 * the request index.  out holds input_tokens[i] entries.  CC_EARG for a bad
 * index or vocab, CC_EFORMAT when the chain does not match the length. */
int cc_trace_request_tokens(const cc_trace *t, size_t i, uint32_t vocab, int32_t *out,
                            cc_err *err);
/* n SplitMix64 outputs seeded with seed, each mod vocab (vocab >= 1). */
void cc_tokens_from_seed(uint64_t seed, uint32_t n, uint32_t vocab, int32_t *out);

#endif
