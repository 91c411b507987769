/*
 * fuzz_safetensors.c -- the safetensors checkpoint loader (gpu/safetensors.c)
 * on arbitrary bytes, for a very small model shape (so that a valid file is
 * a few KB).  The loader may reject the input but must not crash or leak,
 * must say why, and must hand back nothing on failure.
 */
#include "gpu/gpu.h"
#include "fuzz_input.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_path(data, size);
    /* 1 layer, hidden 8, 2 heads of 4, 1 kv head, ffn 8, vocab 8 (the seeds' shape) */
    cc_model_config c = {"fuzz", 1, 8, 2, 1, 4, 8, 8, 10000.0, 1e-5f, 4, 0, 0};
    cc_weights w;
    cc_err err = {0};
    int rc = cc_weights_load_safetensors(&w, &c, path, &err);
    if (rc == CC_OK)
        cc_weights_free(&w);
    else if (err.msg[0] == '\0' || w.data != NULL)
        abort();
    return 0;
}
