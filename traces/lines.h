/*
 * lines.h -- the line loop of the line-oriented readers (Mooncake JSONL,
 * Azure CSV); internal to traces/.  getline into one reused buffer, the
 * newline and a CR before it removed, the 1-based line number kept, and the
 * rule those formats share for blank lines: allowed only at the end of the
 * file (a blank line followed by a record is an error at the blank line).
 * Costs: O(line) per line, no allocation once the buffer fits the longest line.
 */
#ifndef CC_TRACES_LINES_H
#define CC_TRACES_LINES_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/types.h>

typedef struct cc_lines {
    FILE *f;
    char *buf;        /* the current line (free with cc_lines_free) */
    size_t cap;
    long line;        /* number of the current line, 1-based; 0 before the first */
    long first_blank; /* first blank line seen so far (0: none) */
    int terminated;   /* the current line ended with a newline */
} cc_lines;

/* Next line into *s, *n (without its newline / CRLF).  1, or 0 at the end
 * of the file or on a read error (check ferror(L->f)). */
static inline int cc_lines_next(cc_lines *L, char **s, size_t *n)
{
    ssize_t len = getline(&L->buf, &L->cap, L->f);
    if (len == -1)
        return 0;
    L->line++;
    size_t k = (size_t)len;
    L->terminated = k > 0 && L->buf[k - 1] == '\n';
    k -= (size_t)L->terminated;
    if (k > 0 && L->buf[k - 1] == '\r')
        k--;
    *s = L->buf;
    *n = k;
    return 1;
}

/* The blank-line rule, given whether the current line is blank: 1 = skip
 * it (blank), 0 = a record to parse, -1 = a record after a blank line (the
 * error is at line L->first_blank). */
static inline int cc_lines_blank(cc_lines *L, int blank)
{
    if (blank) {
        if (!L->first_blank)
            L->first_blank = L->line;
        return 1;
    }
    return L->first_blank ? -1 : 0;
}

static inline void cc_lines_free(cc_lines *L)
{
    free(L->buf);
    L->buf = NULL;
    L->cap = 0;
}

#endif
