/*
 * testutil.h -- shared bits of the cmocka tests: where the shared data is,
 * skipping cleanly when it is absent, temporary files, running the command.
 * Tests run from the repository root.
 */
#ifndef CC_TESTUTIL_H
#define CC_TESTUTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <math.h>
#include <sys/wait.h>

/* ../shared/data relative to the repository root (override: CC_SHARED_DATA). */
static inline const char *tu_data_dir(void)
{
    const char *d = getenv("CC_SHARED_DATA");
    return d ? d : "../shared/data";
}

static inline const char *tu_data_path(char *buf, size_t len, const char *rel)
{
    snprintf(buf, len, "%s/%s", tu_data_dir(), rel);
    return buf;
}

/* Use as: const char *p = TU_DATA_OR_SKIP("mooncake/conversation_trace.jsonl"); */
#define TU_DATA_OR_SKIP(rel)                                                              \
    ({                                                                                    \
        static char tu_buf_[1024];                                                        \
        tu_data_path(tu_buf_, sizeof tu_buf_, rel);                                       \
        if (access(tu_buf_, R_OK) != 0) {                                                 \
            printf("skipped: %s absent (shared data not present)\n", tu_buf_);            \
            skip();                                                                       \
        }                                                                                 \
        (const char *)tu_buf_;                                                            \
    })

/* A fresh temporary path (file not created) under build/tmp. */
static inline const char *tu_tmp_path(char *buf, size_t len, const char *name)
{
    const char *b = getenv("BUILD");
    char dir[400]; /* leaves room in buf (>= 512) for "/pid_name" */
    snprintf(dir, sizeof dir, "%s/tmp", b ? b : "build");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", dir);
    if (system(cmd) != 0)
        fail_msg("cannot create %s", dir);
    snprintf(buf, len, "%s/%d_%s", dir, (int)getpid(), name);
    return buf;
}

/* Writes bytes to a new temporary file; returns its path (static buffer per call site). */
static inline const char *tu_write_tmp(char *buf, size_t len, const char *name,
                                       const void *data, size_t n)
{
    tu_tmp_path(buf, len, name);
    FILE *f = fopen(buf, "wb");
    if (!f)
        fail_msg("cannot create %s", buf);
    if (n && fwrite(data, 1, n, f) != n)
        fail_msg("cannot write %s", buf);
    fclose(f);
    return buf;
}

/* Runs a shell command; returns its exit status; stdout+stderr go to *out
 * (malloc'd, caller frees) when out != NULL. */
static inline int tu_run(const char *cmd, char **out)
{
    char full[4096];
    snprintf(full, sizeof full, "%s 2>&1", cmd);
    FILE *p = popen(full, "r");
    if (!p)
        fail_msg("popen failed: %s", cmd);
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    size_t r;
    while ((r = fread(buf + n, 1, cap - n - 1, p)) > 0) {
        n += r;
        if (cap - n < 2) {
            cap *= 2;
            buf = realloc(buf, cap);
        }
    }
    buf[n] = '\0';
    int st = pclose(p);
    if (out)
        *out = buf;
    else
        free(buf);
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* Whole file into a malloc'd, NUL-terminated buffer (caller frees); *len
 * gets the byte count.  Fails the test when the file cannot be read. */
static inline char *tu_slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("cannot open %s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    if (n < 0)
        fail_msg("cannot size %s", path);
    char *buf = malloc((size_t)n + 1);
    if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n)
        fail_msg("cannot read %s", path);
    fclose(f);
    buf[n] = '\0';
    *len = (size_t)n;
    return buf;
}

static inline const char *tu_bin(void)
{
    static char path[512];
    const char *b = getenv("BUILD");
    snprintf(path, sizeof path, "%s/ctxcache", b ? b : "build");
    return path;
}

#endif
