/*
 * main.c -- `ctxcache COMMAND ...`: dispatch through one table.
 */
#include "cli.h"
#include "gpu/gpu.h"

#include <ctype.h>
#include <errno.h>
#include <signal.h>
#include <hdf5.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmd_help(int argc, char **argv);

/* OpenBLAS (pthreads build) starts one worker thread per core in its
 * library constructor, before main, and each worker maps a 128 MB buffer;
 * under an address-space limit (ulimit -v) a worker retries that mapping
 * forever and exit then waits for it, so every command hung, `version`
 * included.  No command uses BLAS's own threads (the CPU engine calls sgemm
 * from its OpenMP threads with OpenBLAS held at one thread, engine_cpu.c, and
 * checks that its buffers fit), so the executable asks for one BLAS thread
 * before any library constructor runs: .preinit_array functions run first.
 * environ is not set up yet there (libc's own constructor sets it to the
 * process's envp afterwards, dropping a setenv), so the request borrows a
 * slot of envp itself, one of a shell's bookkeeping variables that no
 * library reads at load (_, OLDPWD, SHLVL, PWD), and main puts the borrowed
 * variable back before anything reads the environment: commands and their
 * children see the environment unchanged.  A value the user set is left
 * alone.  Without such a variable (env -i) under an address-space limit,
 * main runs the command again with the request in its environment. */
static char cli_blas_entry[] = "OPENBLAS_NUM_THREADS=1";
static char *cli_blas_borrowed; /* written once, before main */
/* The same way, the core type of the CPU's instruction set
 * (cc_blas_core_for_cpu): OpenBLAS 0.3.21 reads OPENBLAS_CORETYPE in its
 * constructor, and without it runs SSE3 kernels on CPUs newer than its model
 * list.  Only for the system OpenBLAS; the scipy-openblas32 wheel knows them. */
static char cli_core_entry[48];
static char *cli_core_borrowed;

/* Puts entry in the first spare slot of envp that is not taken; returns
 * the borrowed string or NULL. */
static char *cli_borrow_slot(char **envp, char *entry)
{
    static const char *const spare[] = {"_=", "OLDPWD=", "SHLVL=", "PWD="};
    for (size_t k = 0; k < sizeof spare / sizeof *spare; k++)
        for (char **e = envp; *e; e++)
            if (!strncmp(*e, spare[k], strlen(spare[k]))) {
                char *was = *e;
                *e = entry;
                return was;
            }
    return NULL;
}

static int cli_env_has(char **envp, const char *prefix)
{
    for (char **e = envp; *e; e++)
        if (!strncmp(*e, prefix, strlen(prefix)))
            return 1;
    return 0;
}

static void cli_blas_one_thread(int argc, char **argv, char **envp)
{
    (void)argc, (void)argv;
    if (!envp)
        return;
    if (!cli_env_has(envp, "OPENBLAS_NUM_THREADS="))
        cli_blas_borrowed = cli_borrow_slot(envp, cli_blas_entry);
#if !(defined(CC_BLAS_SCIPY) && CC_BLAS_SCIPY)
    const char *core = cc_blas_core_for_cpu();
    if (core && !cli_env_has(envp, "OPENBLAS_CORETYPE=")) {
        /* no stdio this early: libc's constructors have not run */
        size_t n = strlen(core) < 24 ? strlen(core) : 24;
        memcpy(cli_core_entry, "OPENBLAS_CORETYPE=", 18);
        memcpy(cli_core_entry + 18, core, n);
        cli_core_entry[18 + n] = 0;
        cli_core_borrowed = cli_borrow_slot(envp, cli_core_entry);
    }
#endif
}
__attribute__((section(".preinit_array"), used)) static void (*const cli_preinit[])(
    int, char **, char **) = {cli_blas_one_thread};

static void cli_blas_restore_env(char **argv)
{
    struct rlimit lim;
    if (!cli_blas_borrowed && !getenv("OPENBLAS_NUM_THREADS") &&
        getrlimit(RLIMIT_AS, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
        /* no slot to borrow, and a limit that can make the workers hang:
         * start again with the request in the environment (exec ends the
         * workers; if it fails, go on as before) */
        setenv("OPENBLAS_NUM_THREADS", "1", 1);
        execv("/proc/self/exe", argv);
        unsetenv("OPENBLAS_NUM_THREADS");
    }
    for (char **e = environ; e && *e; e++) {
        if (cli_blas_borrowed && *e == cli_blas_entry)
            *e = cli_blas_borrowed;
        if (cli_core_borrowed && *e == cli_core_entry)
            *e = cli_core_borrowed;
    }
}

static const cli_command commands[] = {
    {"gen", "generate a synthetic workload from a spec file", cmd_gen},
    {"trace", "convert traces between formats and describe them (convert, stats)", cmd_trace},
    {"replay", "replay a trace through the prefix (KV) cache: hit ratios per tier", cmd_replay},
    {"mrc", "miss-ratio curve: hit ratios at many cache sizes in one run (exact LRU, SHARDS)", cmd_mrc},
    {"cost", "what caching costs: bills per pricing model, operator cost, break-even and optimal TTL", cmd_cost},
    {"report", "an HTML report with plots comparing results, sweeps, curves and costs", cmd_report},
    {"sweep", "replay a grid of configurations (threads, MPI) into one HDF5 file", cmd_sweep},
    {"plan", "the cheapest deployment (GPUs, tp, instances, cache tiers) meeting latency SLOs", cmd_plan},
    {"semantic", "the semantic cache: evaluate embedders and thresholds on labelled pairs", cmd_semantic},
    {"bench", "regression gate: compare metrics with a baseline (JUnit XML, JSON)", cmd_bench},
    {"calibrate", "time the real engine over a grid of steps and fit a hardware profile", cmd_calibrate},
    {"fidelity", "replay a trace on the real engine and in the calibrated simulator: TTFT error", cmd_fidelity},
    {"results", "export a results file's per-request table as CSV", cmd_results},
    {"policies", "list the eviction policies with their parameters and defaults", cmd_policies},
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

int cli_option_fail(const char *cmd, const char *opt, const cc_err *err)
{
    if (err->code == CC_EARG || err->code == CC_EUNSUP || err->code == 0)
        return cli_usage_error(cmd, "%s: %s", opt, err->msg);
    fprintf(stderr, "ctxcache %s: %s: ", cmd, opt);
    cc_err_print(err, stderr);
    return cli_exit_code(err->code);
}

int cli_output_not_input(const char *cmd, const char *opt, const char *out, const char *in)
{
    struct stat a, b;
    if (out && in && stat(out, &a) == 0 && stat(in, &b) == 0 && a.st_dev == b.st_dev &&
        a.st_ino == b.st_ino)
        return cli_usage_error(cmd, "%s %s is the input %s: the output would replace it; "
                                    "give another path", opt, out, in);
    return 0;
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

/* CTXCACHE_MAX_MEMORY=N[K|M|G] in bytes: 0 and *out = 0 when unset, -1 when
 * not a byte count. */
static int parse_max_memory(uint64_t *out)
{
    const char *mm = getenv("CTXCACHE_MAX_MEMORY");
    *out = 0;
    if (!mm || !*mm)
        return 0;
    char *end;
    errno = 0;
    double v = strtod(mm, &end);
    double unit = *end == 'K' ? 1e3 : *end == 'M' ? 1e6 : *end == 'G' ? 1e9 : 1;
    if (unit != 1)
        end++;
    if (errno || end == mm || *end || !(v > 0) || v * unit > 1e19 || !isdigit((unsigned char)*mm))
        return -1;
    *out = (uint64_t)(v * unit);
    return 0;
}

uint64_t cli_max_memory_bytes(void)
{
    uint64_t v;
    return parse_max_memory(&v) ? 0 : v;
}

int cli_load_trace(const char *cmd, const char *path, const cli_trace_opts *o, cc_trace *t)
{
    cc_err err = {0};
    cc_read_opts ro = {0};
    cc_tokenizer *tk = NULL;
    ro.block_size = o->block_size;
    ro.tenant = o->tenant;
    /* CTXCACHE_MAX_MEMORY=N[K|M|G]: the memory bound (traces/traces.h) */
    if (parse_max_memory(&ro.max_bytes))
        return cli_usage_error(cmd, "CTXCACHE_MAX_MEMORY: expected bytes (N, NK, NM or NG), "
                                    "got '%s'", getenv("CTXCACHE_MAX_MEMORY"));
    if (o->tokenizer) {
        if (cc_tokenizer_load_hf(o->tokenizer, &tk, &err) != CC_OK)
            return cli_fail(cmd, &err);
        ro.tokenizer = tk;
    }
    int rc = cc_trace_read(path, o->format, &ro, t, &err);
    cc_tokenizer_free(tk);
    if (rc != CC_OK)
        return cli_fail(cmd, &err);
    if (t->read_warnings) /* records the reader skipped (chatlog) */
        fprintf(stderr, "ctxcache %s: warning: %llu record%s skipped while reading; first: %s\n",
                cmd, (unsigned long long)t->read_warnings, t->read_warnings == 1 ? "" : "s",
                t->read_warning);
    return 0;
}

int cmd_version(int argc, char **argv)
{
    if (argc > 1 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        printf("usage: ctxcache version\n\nPrints the version and which optional parts "
               "(CUDA, with its devices; the CPU engine's BLAS) this build has.\n\nexample:\n  ctxcache version\n");
        return 0;
    }
    if (argc > 1)
        return cli_usage_error("version", "unexpected argument '%s'", argv[1]);
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

/* SIGINT / SIGTERM (and SIGHUP): remove the temporaries of the files being
 * written and exit 128 + the signal (130, 143, 129), as a shell reports it.
 * Only async-signal-safe calls.  A signal the caller set to be ignored
 * (nohup, background jobs) stays ignored. */
static void cli_on_signal(int sig)
{
    cc_tmpout_remove_all();
    _exit(128 + sig);
}

static void cli_catch_signals(void)
{
    static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t i = 0; i < sizeof sigs / sizeof *sigs; i++) {
        struct sigaction old, sa = {0};
        if (sigaction(sigs[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        sa.sa_handler = cli_on_signal;
        sigemptyset(&sa.sa_mask);
        sigaction(sigs[i], &sa, NULL);
    }
}

/* Every command's output to stdout is checked here, once: stdio's error flag
 * is sticky, so a failed write anywhere (a full disk, /dev/full, a closed
 * pipe) shows at the final flush and close, which exit would otherwise do
 * silently with status 0.  Exit 3 (a resource error) with a message. */
static int cli_finish_stdout(const char *cmd, int rc)
{
    errno = 0;
    int bad = fflush(stdout) != 0;
    int flush_errno = errno;
    bad |= ferror(stdout) != 0;
    if (fclose(stdout) != 0 && !bad) {
        bad = 1;
        flush_errno = errno;
    }
    if (!bad)
        return rc;
    fprintf(stderr, "ctxcache %s: cannot write standard output: %s\n", cmd,
            flush_errno ? strerror(flush_errno) : "a write failed");
    return rc ? rc : 3;
}

int main(int argc, char **argv)
{
    /* libhdf5 1.10 can fail to close a damaged file; without this it then
     * prints "infinite loop closing library" at exit, after our clean error */
    H5dont_atexit();
    cli_blas_restore_env(argv);
    cli_catch_signals();
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        usage(argc < 2 ? stderr : stdout);
        return cli_finish_stdout("help", argc < 2 ? 2 : 0);
    }
    if (!strcmp(argv[1], "--version"))
        return cli_finish_stdout("version", cmd_version(1, argv + 1));
    for (size_t i = 0; i < n_commands; i++)
        if (strcmp(commands[i].name, argv[1]) == 0)
            return cli_finish_stdout(commands[i].name, commands[i].run(argc - 1, argv + 1));
    fprintf(stderr, "ctxcache: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
