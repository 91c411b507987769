/*
 * embedder.c -- `--embedder NAME` for every command of the semantic tier:
 * the one place that maps a name to an embedder (core/embed.h).
 *   hash         core/embed_hash.c, the default (--dim sets its size)
 *   precomputed  no embedder: the vectors come from the trace (*out = NULL)
 *   minilm       gpu/ (all-MiniLM-L6-v2); not in this build yet
 */
#include "cli.h"
#include "../core/semantic_cache.h"

#include <string.h>

int cli_embedder_new(const char *cmd, const char *name, int dim, cc_embedder **out)
{
    *out = NULL;
    cc_err err = {0};
    if (!strcmp(name, "hash")) {
        if (cc_embedder_hash_new(dim, out, &err))
            return cli_fail(cmd, &err);
        return 0;
    }
    if (!strcmp(name, "precomputed"))
        return 0;
    if (!strcmp(name, "minilm")) {
        /* minilm: H4 */
        cc_err_set(&err, CC_EUNSUP, NULL, 0, "--embedder",
                   "minilm is not in this build (all-MiniLM-L6-v2 comes with gpu/); use hash "
                   "or precomputed");
        return cli_fail(cmd, &err);
    }
    return cli_usage_error(cmd, "--embedder '%s': expected hash, minilm or precomputed", name);
}
