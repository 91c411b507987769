/* fuzz_h5.c -- libFuzzer harness for the native HDF5 trace reader
 * (traces/trace_h5.c): any input must be read or refused with a reason, never
 * crash, and an accepted trace must validate.  Seeds: fuzz/make_corpus.py, small
 * files from the writer (a hash-only trace, one with text and sessions).
 *
 * libhdf5 1.10 leaks a metadata-cache entry (and cannot close the file) when
 * an object header fails its checksum; that is the library's error path, not
 * ours, so LeakSanitizer ignores allocations made inside libhdf5.  Our own
 * allocations are still checked. */
#include "fuzz_common.h"

const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void)
{
    return "leak:libhdf5\n";
}

CC_FUZZ_FORMAT("h5")
