/* fuzz_pricing.c -- libFuzzer harness for the pricing-file reader
 * (policies/pricing.c, cc_pricing_load): any input must be accepted or
 * refused with a reason naming the file, a line and a key, never crash or
 * leak.  An accepted model must pass cc_pricing_check again and bill a tiny
 * hand-made trace to finite, non-negative amounts whose parts add up.
 * Seeds: the pricing ones of fuzz/make_corpus.py. */
#include "policies/pricing.h"
#include "fuzz_input.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void bill_tiny(const cc_pricing *p)
{
    static const uint64_t blocks[] = {1, 2, 3};
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 512;
    t.timed = true;
    for (int i = 0; i < 3; i++) {
        cc_request r = {0};
        r.arrival_ns = (int64_t)i * 90 * 1000000000LL;
        r.input_tokens = 1024 + 512 * (uint32_t)(i % 2);
        r.output_tokens = 7;
        r.group_id = CC_NO_GROUP;
        r.blocks = blocks;
        r.n_blocks = 2 + (uint32_t)(i % 2);
        if (cc_trace_append(&t, &r) != CC_OK)
            abort();
    }
    cc_bill b;
    cc_err err = {0};
    cc_pricing_run run = {0};
    if (cc_pricing_replay(&t, p, &run, &b, NULL, &err) != CC_OK)
        abort();
    double sum = b.input_uncached_usd + b.cache_write_usd + b.cache_read_usd + b.storage_usd +
                 b.creation_fee_usd + b.hit_fee_usd + b.output_usd;
    if (!isfinite(b.total_usd) || b.total_usd < 0 || fabs(sum - b.total_usd) > 1e-9 * (1 + sum))
        abort();
    if (b.read_tokens + b.written_tokens + b.uncached_tokens != b.input_tokens)
        abort();
    cc_trace_free(&t);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_path(data, size);
    cc_pricing p;
    cc_err err = {0};
    int rc = cc_pricing_load(path, &p, &err);
    if (rc != CC_OK) {
        if (err.msg[0] == '\0' || err.line < 1 || err.field[0] == '\0' ||
            strcmp(err.file, path) != 0)
            abort(); /* every rejection says why, where and which key */
        return 0;
    }
    if (cc_pricing_check(&p, &err) != CC_OK)
        abort();
    bill_tiny(&p);
    return 0;
}
