/*
 * fuzz_genspec.c -- libFuzzer harness for the workload spec reader and the
 * generator (cc_gen_from_spec_string_limited): any input must be generated
 * from or refused with a reason (and nothing handed back), never crash or
 * leak; an accepted spec must give a trace that validates, the same twice.
 * Limits keep each run small (200 requests, 2048-token contexts, 1000
 * entities per kind, no trace files).  Seeds: the genspec ones of fuzz/make_corpus.py.
 */
#include "traces/traces.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *spec = malloc(size + 1);
    if (!spec)
        return 0;
    memcpy(spec, data, size);
    spec[size] = '\0'; /* the string API reads up to the first NUL */
    cc_gen_limits lim = {.max_requests = 200, .max_context_tokens = 2048,
                         .max_entities = 1000, .no_files = true};
    cc_trace a, b;
    cc_err err = {0};
    int rc = cc_gen_from_spec_string_limited(spec, "fuzz", 1, &lim, &a, &err);
    if (rc != CC_OK) {
        if (err.msg[0] == '\0' || a.n != 0)
            abort(); /* every refusal says why and hands back nothing */
        free(spec);
        return 0;
    }
    if (a.n == 0 || a.n > 200 || cc_trace_validate(&a, "fuzz", &err) != CC_OK)
        abort();
    cc_trace_stats st;
    if (cc_trace_compute_stats(&a, &st, &err) != CC_OK)
        abort();
    if (cc_gen_from_spec_string_limited(spec, "fuzz", 1, &lim, &b, &err) != CC_OK ||
        b.n != a.n || memcmp(a.arrival_ns, b.arrival_ns, a.n * sizeof *a.arrival_ns) != 0 ||
        cc_trace_n_blocks_total(&a) != cc_trace_n_blocks_total(&b) ||
        memcmp(a.blocks, b.blocks, cc_trace_n_blocks_total(&a) * sizeof *a.blocks) != 0)
        abort(); /* same spec and seed, same trace */
    cc_trace_free(&a);
    cc_trace_free(&b);
    free(spec);
    return 0;
}
