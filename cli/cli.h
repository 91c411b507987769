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
/* Usage error: prints the message and a pointer to --help, returns 2. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Options every trace-taking command accepts. */
typedef struct cli_trace_opts {
    const char *format;    /* --format NAME, NULL = detect */
    const char *tokenizer; /* --tokenizer PATH (tokenizer.json), NULL = built-in */
    uint32_t block_size;   /* --block-size N, 0 = format default */
    const char *tenant;    /* --tenant NAME */
} cli_trace_opts;

/* Reads a trace in any known format with the common options; on error
 * prints it and returns the exit status (non-zero). */
int cli_load_trace(const char *cmd, const char *path, const cli_trace_opts *o, cc_trace *t);
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

/* --pricing P1,P2 for replay (cmd_pricing.c): the models, the overrides,
 * and after cli_pricing_bill one bill per model. */
typedef struct cli_pricing {
    cc_pricing models[CC_PRICING_MAX];
    cc_bill bills[CC_PRICING_MAX];
    size_t n;
    cc_pricing_run run;
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

#endif
