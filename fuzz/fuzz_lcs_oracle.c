/* fuzz_lcs_oracle.c -- libFuzzer harness for the libCacheSim oracleGeneral
 * binary reader (traces/lcs.c); seeds: the lcs_oracle ones of fuzz/make_corpus.py. */
#include "fuzz_common.h"

CC_FUZZ_FORMAT("lcs-oracle")
