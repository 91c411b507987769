/* fuzz_report.c -- libFuzzer harness for the report's input reader
 * (analysis/report_read.c, cc_report_add): any bytes (an mrc CSV, a cost
 * CSV, an HDF5 file, garbage) must be accepted or refused with a reason
 * naming the file, never crash or leak.  Accepted CSVs must hold rows with
 * finite numbers.  Seeds: the report ones of fuzz/make_corpus.py. */
#include "analysis/report.h"
#include "fuzz_input.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_path(data, size);
    cc_report_inputs in = {0};
    cc_err err = {0};
    int rc = cc_report_add(&in, path, &err);
    if (rc != CC_OK) {
        if (err.msg[0] == '\0' || strcmp(err.file, path) != 0)
            abort(); /* every rejection says why and where */
    } else {
        for (size_t m = 0; m < in.n_mrcs; m++)
            for (size_t i = 0; i < in.mrcs[m].n; i++)
                if (!isfinite(in.mrcs[m].capacity[i]) || !isfinite(in.mrcs[m].miss_ratio[i]))
                    abort();
        for (size_t c = 0; c < in.n_costs; c++)
            for (size_t i = 0; i < in.costs[c].n; i++)
                if (!isfinite(in.costs[c].total_usd[i]) || !isfinite(in.costs[c].ttl_s[i]))
                    abort();
        if (in.n_mrcs + in.n_costs + in.n_runs + in.n_sweeps != 1)
            abort();
    }
    cc_report_inputs_free(&in);
    return 0;
}
