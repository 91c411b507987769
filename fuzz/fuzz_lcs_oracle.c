/* fuzz_lcs_oracle.c -- libFuzzer harness for the libCacheSim oracleGeneral
 * binary reader (traces/lcs.c); seeds in fuzz/corpus/lcs_oracle/. */
#include "fuzz_common.h"

CC_FUZZ_FORMAT("lcs-oracle")
