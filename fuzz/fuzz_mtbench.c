/* fuzz_mtbench.c -- libFuzzer harness for the mtbench reader (see fuzz_common.h). */
#include "fuzz_common.h"

CC_FUZZ_FORMAT("mtbench")
