/* fuzz_azure.c -- libFuzzer harness for the azure reader (traces/azure.c): any
 * input must be read or refused with a reason, never crash or leak, and an
 * accepted trace must validate.  Seeds: the azure ones of fuzz/make_corpus.py. */
#include "fuzz_common.h"

CC_FUZZ_FORMAT("azure")
