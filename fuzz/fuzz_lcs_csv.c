/* fuzz_lcs_csv.c -- libFuzzer harness for the libCacheSim csv reader
 * (traces/lcs.c); seeds: the lcs_csv ones of fuzz/make_corpus.py. */
#include "fuzz_common.h"

CC_FUZZ_FORMAT("lcs-csv")
