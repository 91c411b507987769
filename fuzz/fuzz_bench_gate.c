/*
 * fuzz_bench_gate.c -- the regression gate's JSON reader and comparison
 * (cli/cmd_bench.c, `ctxcache bench --baseline B --current C`) on arbitrary
 * bytes.  The command's file is compiled into this harness (its readers are
 * static); the three cli/main.c helpers it calls are restated below as in
 * main.c.  The input is split at its first NUL byte into the baseline and
 * the current run (without a NUL, the same bytes are both).  It must not
 * crash or leak, must exit 0-3, and a file compared with itself, without a
 * "gate" object (whose bounds may fail a metric on its own), must pass.
 *
 * The command's messages go to a /dev/null stream (stderr, the FILE*, is
 * pointed there); sanitizer and libFuzzer reports write to fd 2 directly.
 */
#include "cli/cmd_bench.c"
#include "fuzz_input.h"

#include <stdarg.h>
#include <stdio.h>

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
    fputc('\n', stderr);
    return 2;
}

/* a second in-memory file for the current run */
static const char *second_path(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_current", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    return path;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int quiet;
    if (!quiet) {
        FILE *null = fopen("/dev/null", "w");
        if (!null || !freopen("/dev/null", "w", stdout))
            abort();
        stderr = null;
        quiet = 1;
    }
    const uint8_t *nul = memchr(data, 0, size);
    size_t nb = nul ? (size_t)(nul - data) : size;
    const char *base = fuzz_input_path(data, nb);
    const char *cur = nul ? second_path(nul + 1, size - nb - 1) : base;
    char *argv[] = {"bench", "--baseline", (char *)base, "--current", (char *)cur, NULL};
    int status = cmd_bench(5, argv);
    if (status < 0 || status > 3)
        abort();
    if (!nul && status != 0 && status != 2) {
        /* accepted and compared with itself: passes unless its gate says otherwise */
        json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
        int gated = !j || json_object_get(j, "gate") != NULL;
        json_decref(j);
        if (!gated)
            abort();
    }
    return 0;
}
