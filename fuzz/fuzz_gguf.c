/*
 * fuzz_gguf.c -- the GGUF checkpoint loader (gpu/gguf.c) on arbitrary bytes.
 * The shape comes from the file's metadata, so the loader must refuse a
 * model larger than the file could hold before it allocates.  It may reject
 * the input but must not crash or leak, must say why, and must hand back
 * nothing on failure.  Seeds: a 1-layer model as tests/test_blend.c writes
 * it, and a truncated copy.
 */
#include "gpu/gpu.h"
#include "fuzz_input.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_input_path(data, size);
    cc_weights w;
    cc_err err = {0};
    int rc = cc_weights_load_gguf(&w, path, &err);
    if (rc == CC_OK)
        cc_weights_free(&w);
    else if (err.msg[0] == '\0' || w.data != NULL)
        abort();
    return 0;
}
