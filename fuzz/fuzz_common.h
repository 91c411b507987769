/*
 * fuzz_common.h -- shared body of the libFuzzer harnesses: the readers take
 * a path, so each input is written to an in-memory file (memfd) and read
 * through /proc/self/fd.  A reader may reject the input (that is the point)
 * but must not crash, leak or hand back a trace that fails validation.
 */
#ifndef CC_FUZZ_COMMON_H
#define CC_FUZZ_COMMON_H

#include "fuzz_input.h"
#include "traces/traces.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static int fuzz_read_format(const char *format, const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_path(data, size);
    cc_trace t;
    cc_err err = {0};
    cc_read_opts opts = {0};
    int rc = cc_trace_read(path, format, &opts, &t, &err);
    if (rc == CC_OK) {
        /* an accepted trace must be internally consistent */
        if (cc_trace_validate(&t, path, &err) != CC_OK)
            abort();
        cc_trace_stats s;
        if (cc_trace_compute_stats(&t, &s, &err) != CC_OK)
            abort();
        cc_trace_free(&t);
    } else if (err.msg[0] == '\0') {
        abort(); /* every rejection must say why */
    }
    return 0;
}

#define CC_FUZZ_FORMAT(name)                                                     \
    int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)                 \
    {                                                                            \
        return fuzz_read_format(name, data, size);                               \
    }

#endif
