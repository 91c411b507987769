/* fuzz_chatlog.c -- libFuzzer harness for the chat-completions log reader (see fuzz_common.h). */
#include "fuzz_common.h"

CC_FUZZ_FORMAT("chatlog")
