/*
 * fuzz_tokenize.c -- the built-in tokenizer (traces/tokenizer.c: the
 * pre-tokenizer split, the per-piece token counts and ids) on arbitrary
 * bytes, the text every text reader hands it.  It must not crash or leak,
 * must tokenize the same bytes to the same ids twice, give ids below the
 * vocabulary size, and give no tokens for empty text.  Run with -timeout so
 * that inputs taking super-linear time (long single words, issue 19 item 1)
 * count as failures.
 */
#include "traces/traces.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cc_tokenizer *tk;
    if (!tk && cc_tokenizer_builtin(&tk) != CC_OK)
        abort();
    uint32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0, ca = 0, cb = 0;
    int ra = cc_tokenize(tk, (const char *)data, size, &a, &na, &ca);
    int rb = cc_tokenize(tk, (const char *)data, size, &b, &nb, &cb);
    if (ra != rb || na != nb || (na && memcmp(a, b, na * sizeof *a) != 0))
        abort(); /* deterministic */
    if (ra == CC_OK) {
        if (size == 0 && na != 0)
            abort();
        for (size_t i = 0; i < na; i++)
            if (a[i] >= cc_tokenizer_vocab_size(tk))
                abort();
    }
    free(a);
    free(b);
    return 0;
}
