/* fuzz_lcs_csv.c -- libFuzzer harness for the libCacheSim csv reader
 * (traces/lcs.c); seeds in fuzz/corpus/lcs_csv/. */
#include "fuzz_common.h"

CC_FUZZ_FORMAT("lcs-csv")
