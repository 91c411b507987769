/* fuzz_rag.c -- libFuzzer harness for the rag reader (see fuzz_common.h). */
#include "fuzz_common.h"

CC_FUZZ_FORMAT("rag")
