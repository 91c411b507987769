/*
 * embedder.c -- `--embedder NAME` for every command of the semantic tier:
 * the one place that maps a name to an embedder (core/embed.h).
 *   hash         core/embed_hash.c, the default (--dim sets its size)
 *   precomputed  no embedder: the vectors come from the trace (*out = NULL)
 *   minilm       gpu/minilm.c (all-MiniLM-L6-v2, weights from `make minilm`), on the
 *                CPU with the threads OpenMP would use (results do not depend on
 *                them: each text is embedded alone in its packed batch)
 */
#include "cli.h"
#include "../core/semantic_cache.h"
#include "../gpu/gpu.h"

#include <omp.h>
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
        if (dim && dim != CC_MINILM_DIM)
            return cli_usage_error(cmd, "--dim %d: minilm's vectors have %d dimensions", dim,
                                   CC_MINILM_DIM);
        if (cc_minilm_embedder_new(NULL, 0, omp_get_max_threads(), out, &err))
            return cli_fail(cmd, &err);
        return 0;
    }
    return cli_usage_error(cmd, "--embedder '%s': expected hash, minilm or precomputed", name);
}
