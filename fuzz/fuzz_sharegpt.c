/* fuzz_sharegpt.c -- libFuzzer harness for the sharegpt reader (see fuzz_common.h). */
#include "fuzz_common.h"

CC_FUZZ_FORMAT("sharegpt")
