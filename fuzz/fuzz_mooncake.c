/* fuzz_mooncake.c -- libFuzzer harness for the mooncake reader (traces/mooncake.c): any
 * input must be read or refused with a reason, never crash or leak, and an
 * accepted trace must validate.  Seeds: the mooncake ones of fuzz/make_corpus.py. */
#include "fuzz_common.h"

CC_FUZZ_FORMAT("mooncake")
