/*
 * fuzz_tokenizer_json.c -- libFuzzer harness for the tokenizer.json loader
 * (cc_tokenizer_load_hf).  Each input is written to an in-memory file
 * (memfd, as fuzz_common.h does for the trace readers) and loaded; a loader
 * may reject it (then it must say why) but must not crash or leak, and a
 * tokenizer it accepts must encode a fixed sample (mixed scripts, digits,
 * added-token look-alikes, whitespace runs) with ids below its vocabulary
 * size, the same ids twice.
 */
#include "traces/traces.h"
#include "fuzz_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static const char sample[] =
    "The quick brown fox, naïve café, Ünïcödé; 中文 text 日本語 🎉\n\n"
    "  It's 2024-01-31: x=1;y=22;z=333 <|end|> [CLS] <s> ##ing Hat!! \t\r\n"
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa ▁▁ end";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_path(data, size);
    cc_tokenizer *tk = NULL;
    cc_err err = {0};
    if (cc_tokenizer_load_hf(path, &tk, &err) != CC_OK) {
        if (err.msg[0] == '\0' || tk)
            abort(); /* every rejection must say why, and hand back nothing */
        return 0;
    }
    uint32_t *a = NULL, *b = NULL;
    size_t na = 0, nb = 0, ca = 0, cb = 0;
    int ra = cc_tokenize(tk, sample, sizeof sample - 1, &a, &na, &ca);
    int rb = cc_tokenize(tk, sample, sizeof sample - 1, &b, &nb, &cb);
    if (ra != rb || na != nb || (na && memcmp(a, b, na * sizeof *a) != 0))
        abort(); /* deterministic */
    if (ra == CC_OK)
        for (size_t i = 0; i < na; i++)
            if (a[i] >= cc_tokenizer_vocab_size(tk))
                abort();
    free(a);
    free(b);
    cc_tokenizer_free(tk);
    return 0;
}
