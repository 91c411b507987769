/*
 * tokenizer_hf.c -- loader for Hugging Face tokenizer.json files.
 * (Being written: BPE and WordPiece models.)
 */
#include "traces.h"

int cc_tokenizer_load_hf(const char *path, cc_tokenizer **out, cc_err *err)
{
    *out = NULL;
    return cc_err_set(err, CC_EUNSUP, path, 0, "model", "tokenizer.json loading is not built yet");
}
