/*
 * err.c -- the error record (see core.h) and the growth helper shared by
 * every module that builds arrays.
 */
#include "core.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

int cc_err_set(cc_err *e, int code, const char *file, long line,
               const char *field, const char *fmt, ...)
{
    if (!e)
        return code;
    e->code = code;
    snprintf(e->file, sizeof e->file, "%s", file ? file : "");
    e->line = line;
    snprintf(e->field, sizeof e->field, "%s", field ? field : "");
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    return code;
}

void cc_err_clear(cc_err *e)
{
    if (e)
        memset(e, 0, sizeof *e);
}

const char *cc_status_name(int code)
{
    switch (code) {
    case CC_OK: return "ok";
    case CC_EIO: return "i/o error";
    case CC_EFORMAT: return "format error";
    case CC_ERANGE: return "value out of range";
    case CC_ENOMEM: return "out of memory";
    case CC_EARG: return "bad argument";
    case CC_EUNSUP: return "unsupported";
    default: return "error";
    }
}

void cc_err_print(const cc_err *e, FILE *out)
{
    if (e->file[0]) {
        fputs(e->file, out);
        if (e->line > 0)
            fprintf(out, ":%ld", e->line);
        fputs(": ", out);
    }
    if (e->field[0])
        fprintf(out, "field '%s': ", e->field);
    fprintf(out, "%s: %s\n", cc_status_name(e->code), e->msg[0] ? e->msg : "(no detail)");
}

int cc_grow(void **buf, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return CC_OK;
    size_t n = *cap ? *cap : 16;
    while (n < need) {
        if (n > SIZE_MAX / 2 / elem)
            return CC_ENOMEM;
        n *= 2;
    }
    void *p = realloc(*buf, n * elem);
    if (!p)
        return CC_ENOMEM;
    *buf = p;
    *cap = n;
    return CC_OK;
}
