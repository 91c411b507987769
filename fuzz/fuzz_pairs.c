/* fuzz_pairs.c -- libFuzzer harness for the pairs reader (see fuzz_common.h). */
#include "fuzz_common.h"

CC_FUZZ_FORMAT("pairs")
