/*
 * main.c -- `ctxcache COMMAND ...`: dispatch through one table.
 */
#include "cli.h"
#include "gpu/gpu.h"

#include <errno.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static int cmd_help(int argc, char **argv);

static const cli_command commands[] = {
    {"gen", "generate a synthetic workload from a spec file", cmd_gen},
    {"trace", "convert traces between formats and describe them (convert, stats)", cmd_trace},
    {"replay", "replay a trace through the prefix (KV) cache: hit ratios per tier", cmd_replay},
    {"mrc", "miss-ratio curve: hit ratios at many cache sizes in one run (exact LRU, SHARDS)", cmd_mrc},
    {"cost", "what caching costs: bills per pricing model, operator cost, break-even and optimal TTL", cmd_cost},
    {"report", "an HTML report with plots comparing results, sweeps, curves and costs", cmd_report},
    {"sweep", "replay a grid of configurations (threads, MPI) into one HDF5 file", cmd_sweep},
    {"bench", "regression gate: compare metrics with a baseline (JUnit XML, JSON)", cmd_bench},
    {"calibrate", "time the real engine over a grid of steps and fit a hardware profile", cmd_calibrate},
    {"fidelity", "replay a trace on the real engine and in the calibrated simulator: TTFT error", cmd_fidelity},
    {"version", "print the version and build features", cmd_version},
    {"help", "print help for a command", cmd_help},
};
static const size_t n_commands = sizeof commands / sizeof commands[0];

static void usage(FILE *out)
{
    fprintf(out,
            "ctxcache %s -- simulate and benchmark LLM serving caches\n\n"
            "usage: ctxcache COMMAND [options]   (ctxcache COMMAND --help for details)\n\n"
            "commands:\n",
            CC_VERSION);
    for (size_t i = 0; i < n_commands; i++)
        fprintf(out, "  %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "\ntrace formats (read; * = also written):\n");
    for (size_t i = 0; i < cc_n_formats; i++)
        fprintf(out, "  %-14s%s %s\n", cc_formats[i].name, cc_formats[i].write ? "*" : " ",
                cc_formats[i].description);
    fprintf(out,
            "\nexamples:\n"
            "  ctxcache gen default -o work.h5 --seed 1\n"
            "  ctxcache trace stats ../shared/data/mooncake/conversation_trace.jsonl --json\n"
            "  ctxcache trace convert ../shared/data/azure/AzureLLMInferenceTrace_conv.csv azure.h5\n"
            "\nexit status: 0 ok, 1 bad input data, 2 bad usage, 3 resource or internal error\n");
}

static int cmd_help(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: ctxcache help [COMMAND]\n\nPrints the list of commands, or one command's "
               "help.\n\nexamples:\n  ctxcache help\n  ctxcache help trace\n");
        return 0;
    }
    if (argc < 2) {
        usage(stdout);
        return 0;
    }
    for (size_t i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, argv[1]) == 0) {
            char *args[] = {argv[1], "--help", NULL};
            return commands[i].run(2, args);
        }
    return cli_usage_error("help", "unknown command '%s'", argv[1]);
}

int cli_exit_code(int status)
{
    switch (status) {
    case CC_OK: return 0;
    case CC_EIO:
    case CC_EFORMAT:
    case CC_ERANGE: return 1;
    case CC_EARG:
    case CC_EUNSUP: return 2;
    default: return 3;
    }
}

int cli_fail(const char *cmd, const cc_err *err)
{
    fprintf(stderr, "ctxcache %s: ", cmd);
    cc_err_print(err, stderr);
    return cli_exit_code(err->code ? err->code : CC_EFORMAT);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "ctxcache %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\n(see 'ctxcache %s --help')\n", cmd);
    return 2;
}

int cli_parse_u64(const char *cmd, const char *opt, const char *s, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return cli_usage_error(cmd, "%s: expected a non-negative integer, got '%s'", opt,
                               s ? s : "");
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v > max)
        return cli_usage_error(cmd, "%s: expected an integer in 0..%llu, got '%s'", opt,
                               (unsigned long long)max, s);
    *out = v;
    return 0;
}

int cli_trace_opt(const char *cmd, int code, const char *arg, cli_trace_opts *o)
{
    uint64_t v;
    switch (code) {
    case CLI_OPT_FORMAT: o->format = arg; break;
    case CLI_OPT_BLOCK_SIZE:
        if (cli_parse_u64(cmd, "--block-size", arg, 1u << 20, &v))
            return 2;
        if (v == 0)
            return cli_usage_error(cmd, "--block-size: expected at least 1 token");
        o->block_size = (uint32_t)v;
        break;
    case CLI_OPT_TOKENIZER: o->tokenizer = arg; break;
    case CLI_OPT_TENANT: o->tenant = arg; break;
    default: return cli_usage_error(cmd, "internal: option %d is not a trace option", code);
    }
    return 0;
}

int cli_load_trace(const char *cmd, const char *path, const cli_trace_opts *o, cc_trace *t)
{
    cc_err err = {0};
    cc_read_opts ro = {0};
    cc_tokenizer *tk = NULL;
    ro.block_size = o->block_size;
    ro.tenant = o->tenant;
    if (o->tokenizer) {
        if (cc_tokenizer_load_hf(o->tokenizer, &tk, &err) != CC_OK)
            return cli_fail(cmd, &err);
        ro.tokenizer = tk;
    }
    int rc = cc_trace_read(path, o->format, &ro, t, &err);
    cc_tokenizer_free(tk);
    if (rc != CC_OK)
        return cli_fail(cmd, &err);
    return 0;
}

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: ctxcache version\n\nPrints the version and which optional parts "
               "(CUDA, with its devices; the CPU engine's BLAS) this build has.\n\nexample:\n  ctxcache version\n");
        return 0;
    }
    int ndev = cc_gpu_device_count();
    printf("ctxcache %s (cuda: %s, %d device%s)\n", CC_VERSION,
           cc_gpu_built_with_cuda() ? "built" : "not built", ndev, ndev == 1 ? "" : "s");
    for (int i = 0; i < ndev; i++) {
        char d[256];
        if (cc_gpu_device_describe(i, d, sizeof d) == 0)
            printf("  device %d: %s\n", i, d);
    }
    char blas[256];
    printf("  blas: %s\n", cc_cpu_blas_describe(blas, sizeof blas));
    return 0;
}

int main(int argc, char **argv)
{
    /* libhdf5 1.10 can fail to close a damaged file; without this it then
     * prints "infinite loop closing library" at exit, after our clean error */
    H5dont_atexit();
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "--version"))
        return cmd_version(1, argv + 1);
    for (size_t i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, argv[1]) == 0)
            return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "ctxcache: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
