/*
 * cli.h -- the command line: one table of commands (main.c), one file per
 * command.  Every command parses its own options with getopt_long, prints
 * its --help with examples, and returns the process exit status:
 *   0 ok, 1 bad input data (file/format), 2 bad usage, 3 internal/resource.
 */
#ifndef CC_CLI_H
#define CC_CLI_H

#include "../policies/pricing.h"
#include "../traces/traces.h"

#include <stdio.h>

typedef struct cli_command {
    const char *name;
    const char *summary;
    int (*run)(int argc, char **argv); /* argv[0] is the command name */
} cli_command;

/* Exit status for a cc status code. */
int cli_exit_code(int status);
/* Prints "ctxcache CMD: <error>" to stderr and returns the exit status. */
int cli_fail(const char *cmd, const cc_err *err);
/* An option's value failed to load (a profile, a pricing file): a bad name
 * is a usage error (exit 2), a bad file is bad input (exit 1, the message
 * names its file, line and key). */
int cli_option_fail(const char *cmd, const char *opt, const cc_err *err);
/* 0 when the output path out (option opt) is not the input file in; else a
 * usage error (exit 2): writing the output would replace the input. */
int cli_output_not_input(const char *cmd, const char *opt, const char *out, const char *in);
/* Usage error: prints the message and a pointer to --help, returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Options every trace-taking command accepts. */
typedef struct cli_trace_opts {
    const char *format;    /* --format NAME, NULL = detect */
    const char *tokenizer; /* --tokenizer PATH (tokenizer.json), NULL = built-in */
    uint32_t block_size;   /* --block-size N, 0 = format default */
    const char *tenant;    /* --tenant NAME */
} cli_trace_opts;

/* The trace-reading options every command that reads a trace takes:
 * --format NAME, --block-size N, --tokenizer FILE, --tenant NAME.  Put
 * CLI_TRACE_LONG_OPTS in the getopt_long table and hand these four option
 * codes to cli_trace_opt, which fills o; it returns 0, or 2 after printing
 * a usage error. */
enum { CLI_OPT_FORMAT = 900, CLI_OPT_BLOCK_SIZE, CLI_OPT_TOKENIZER, CLI_OPT_TENANT };
#define CLI_TRACE_LONG_OPTS                                                               \
    {"format", required_argument, 0, CLI_OPT_FORMAT},                                     \
        {"block-size", required_argument, 0, CLI_OPT_BLOCK_SIZE},                         \
        {"tokenizer", required_argument, 0, CLI_OPT_TOKENIZER},                           \
        {"tenant", required_argument, 0, CLI_OPT_TENANT}
#define CLI_TRACE_OPT_CASES                                                               \
    case CLI_OPT_FORMAT:                                                                  \
    case CLI_OPT_BLOCK_SIZE:                                                              \
    case CLI_OPT_TOKENIZER:                                                               \
    case CLI_OPT_TENANT
int cli_trace_opt(const char *cmd, int code, const char *arg, cli_trace_opts *o);

/* Reads a trace in any known format with the common options; on error
 * prints it and returns the exit status (non-zero). */
int cli_load_trace(const char *cmd, const char *path, const cli_trace_opts *o, cc_trace *t);
/* The memory bound CTXCACHE_MAX_MEMORY gives, in bytes (0: unset, or not a
 * byte count, which cli_load_trace has refused), for cc_replay_opts.max_bytes. */
uint64_t cli_max_memory_bytes(void);
/* Parses a non-negative integer option value; returns 0 or a usage error. */
int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t max, uint64_t *out);

int cmd_trace(int argc, char **argv);
int cmd_replay(int argc, char **argv);
int cmd_mrc(int argc, char **argv);
int cmd_gen(int argc, char **argv);
int cmd_sweep(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_version(int argc, char **argv);
int cmd_cost(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_policies(int argc, char **argv);
int cmd_results(int argc, char **argv);
/* One policy's summary, parameters and notes, as `ctxcache policies` prints
 * them (cmd_policies.c). */
struct cc_policy_ops;
void cli_print_policy(FILE *out, const struct cc_policy_ops *p);
int cmd_plan(int argc, char **argv);
int cmd_semantic(int argc, char **argv);

/* --embedder NAME (embedder.c): hash (dim 0 = its default), minilm, or
 * precomputed (*out = NULL: vectors from the trace).  Returns 0 or the
 * exit status after printing the error. */
struct cc_embedder;
int cli_embedder_new(const char *cmd, const char *name, int dim, struct cc_embedder **out);

/* --pricing P1,P2 for replay (cmd_pricing.c): the models, the overrides,
 * and after cli_pricing_bill one bill per model. */
typedef struct cli_pricing {
    cc_pricing models[CC_PRICING_MAX];
    cc_bill bills[CC_PRICING_MAX];
    size_t n;
    cc_pricing_run run;
    /* replay --blend: each bill again with blend counted (cc_pricing_bill_blend) */
    int blend;
    double blend_recompute_ratio;
    uint32_t blend_chunk_tokens;
    cc_bill blend_bills[CC_PRICING_MAX];
} cli_pricing;
struct json_t;
/* Parses the list (presets or files); returns 0 or the exit status. */
int cli_pricing_parse(const char *cmd, const char *list, cli_pricing *pr);
/* Parses a price option (USD per million tokens, > 0); 0 or 2. */
int cli_parse_price(const char *cmd, const char *opt, const char *s, double *out);
/* Replays t under each model and bills it; 0 or the exit status. */
int cli_pricing_bill(const char *cmd, const cc_trace *t, cli_pricing *pr);
/* "cost", "cost_breakdown" and "pricing" keys into a JSON object. */
void cli_pricing_json(const cli_pricing *pr, struct json_t *into);
/* The side-by-side table. */
void cli_pricing_text(const cli_pricing *pr, FILE *out);

/* ---- the real engine (real_engine.c): calibrate, fidelity, replay cpu|cuda */
#include "../gpu/gpu.h"
#include "../sim/sim.h"
#include "../sim/driver.h"
#include "../sim/engine_calib.h"
#include "../sim/engine_executor.h"
typedef struct cli_engine {
    cc_model_config cfg;
    cc_weights w;
    int have_w;
    cc_engine *e;
} cli_engine;
/* Opens an engine (backend "cpu" or "cuda", fp32) for preset `model` with
 * random weights (seed 1); block_size > 0 overrides the preset's.  o: the
 * sizes (backend and dtype are set here).  0 or the exit status (printed;
 * CUDA without a device: 2 with a clear message). */
int cli_engine_open(const char *cmd, const char *backend, const char *model, int block_size,
                    cc_engine_opts *o, cli_engine *ce);
void cli_engine_close(cli_engine *ce);
/* CPU threads of engines opened from now on (--threads; default 1: on a
 * shared machine one thread per engine times steadily; 0 = OpenMP's default). */
extern int cli_engine_threads;
/* The clock engine steps are timed with, in calibration and replay alike
 * (cc_engine_clock, sim/engine_calib.h: 0 wall, 1 CPU time per thread);
 * fidelity's --clock sets it.  Default wall. */
extern int cli_engine_clock;

/* The engine options calibrate and fidelity share: --backend cpu|cuda,
 * --model PRESET, --hardware BASE, --grid quick|full, --repeats N (1..101),
 * --threads N (sets cli_engine_threads).  Same use as the trace options. */
typedef struct cli_engine_args {
    const char *backend, *model, *hardware, *grid;
    int repeats;
} cli_engine_args;
enum { CLI_OPT_BACKEND = 920, CLI_OPT_MODEL, CLI_OPT_HARDWARE, CLI_OPT_GRID, CLI_OPT_REPEATS,
       CLI_OPT_THREADS };
#define CLI_ENGINE_LONG_OPTS                                                              \
    {"backend", required_argument, 0, CLI_OPT_BACKEND},                                   \
        {"model", required_argument, 0, CLI_OPT_MODEL},                                   \
        {"hardware", required_argument, 0, CLI_OPT_HARDWARE},                             \
        {"grid", required_argument, 0, CLI_OPT_GRID},                                     \
        {"repeats", required_argument, 0, CLI_OPT_REPEATS},                               \
        {"threads", required_argument, 0, CLI_OPT_THREADS}
#define CLI_ENGINE_OPT_CASES                                                              \
    case CLI_OPT_BACKEND:                                                                 \
    case CLI_OPT_MODEL:                                                                   \
    case CLI_OPT_HARDWARE:                                                                \
    case CLI_OPT_GRID:                                                                    \
    case CLI_OPT_REPEATS:                                                                 \
    case CLI_OPT_THREADS
int cli_engine_opt(const char *cmd, int code, const char *arg, cli_engine_args *a);
typedef struct cli_calib {
    cc_sim_hw base, fitted;  /* fitted: base with the fitted coefficients */
    cc_sim_model model;
    cc_calib_point *pts;
    size_t n_pts;
    cc_calib_result fit;
    char provenance[512];
} cli_calib;
/* Measures grid on a fresh engine (block_size > 0: blocks of that many
 * tokens, else the preset's) and fits; 0 or the exit status. */
int cli_calibrate_run(const char *cmd, const char *backend, const char *model,
                      const char *hardware, const char *grid, int repeats, int block_size,
                      cli_calib *out);
void cli_calib_free(cli_calib *c);
/* replay --backend cpu|cuda: an engine for preset `model` sized to trace t
 * (block size, longest request, a pool for every distinct block up to
 * 2 GiB), its executor, and a cost model on hw as sc->reference (it prices
 * prefill_full_s, so the real run does no extra prefills); clamps sc's
 * max_seqs (64), max_batch_tokens (2048) and hbm_kv_tokens (the pool) and
 * sets kv_bytes_per_token.  0 or the exit status. */
typedef struct cli_real {
    cli_engine ce;
    cc_executor ex, ref;
    cc_sim_model model;
    cc_engine_exec_stats stats;
} cli_real;
int cli_real_open(const char *cmd, const char *backend, const char *model, const cc_trace *t,
                  const cc_sim_hw *hw, cc_sim_config *sc, cli_real *r);
void cli_real_stats(cli_real *r); /* copies the executor's counters into r->stats */
void cli_real_text(const cli_real *r, FILE *out);
void cli_real_json(const cli_real *r, struct json_t *o);
void cli_real_close(cli_real *r);
int cmd_calibrate(int argc, char **argv);
int cmd_fidelity(int argc, char **argv);

/* ---- the semantic tier in the replay (replay_semantic.c) ---------------- */
/* `replay --semantic`: the driver's hooks (sim/driver.h, cc_sim_semantic)
 * over a core/semantic_cache.h cache: key = the request's last user turn,
 * vector from the embedder (precomputed: the trace's), tenant = the
 * request's, answer = the request's index (so a hit names whose answer it
 * serves).  threshold < 0: the cache's default (0.8); lookup_ms: the time
 * charged per lookup.  Returns 0 or the exit status after printing. */
/* The default time charged per lookup: the hash embedder (about 4 us a
 * question) plus an exact search of 10k entries (p50 0.18 ms), as
 * bench_semantic measured them (docs/semantic.md). */
#define CLI_SEMANTIC_LOOKUP_MS 0.2
typedef struct cli_semantic cli_semantic;
int cli_semantic_open(const char *cmd, const char *embedder, double threshold, double lookup_ms,
                      const cc_trace *t, cli_semantic **out);
const cc_sim_semantic *cli_semantic_hooks(const cli_semantic *s);
double cli_semantic_threshold(const cli_semantic *s);
void cli_semantic_close(cli_semantic *s);

#endif
