/*
 * fuzz_sweepspec.c -- libFuzzer harness for the sweep spec parser
 * (cc_sweep_spec_parse_string; analysis/sweep.h).  The sweep spec is not a
 * trace format, so CC_FUZZ_FORMAT does not apply; this adapter feeds the
 * input as a NUL-terminated string.  Any input must be accepted or refused
 * with a reason, never crash or leak; an accepted spec must have every axis
 * non-empty, a grid of at least one point, and map its first and last
 * points to coordinates inside the axes.  No trace is loaded (no files
 * read).  Seeds: the sweepspec ones of fuzz/make_corpus.py.
 */
#include "analysis/sweep.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    cc_sweep_spec s;
    cc_err err = {0};
    int rc = cc_sweep_spec_parse_string(text, "fuzz", &s, &err);
    free(text);
    if (rc != CC_OK) {
        if (err.msg[0] == '\0')
            abort(); /* every refusal says why */
        return 0;
    }
    uint64_t n = cc_sweep_n_points(&s);
    if (n == 0)
        abort();
    uint32_t c[CC_SWEEP_N_AXES];
    for (int k = 0; k < 2; k++) {
        cc_sweep_point_coords(&s, k ? n - 1 : 0, c);
        for (int a = 0; a < CC_SWEEP_N_AXES; a++)
            if (s.axes[a].n == 0 || c[a] >= s.axes[a].n || !s.axes[a].text[c[a]])
                abort();
    }
    cc_sweep_spec_free(&s);
    return 0;
}
