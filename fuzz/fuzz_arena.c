/* fuzz_arena.c -- libFuzzer harness for the arena reader (see fuzz_common.h). */
#include "fuzz_common.h"

CC_FUZZ_FORMAT("arena")
