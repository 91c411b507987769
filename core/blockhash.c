/*
 * blockhash.c -- prefix-chained block hashes over token ids (see core.h).
 *
 * The hash input of block i is [tenant u32][tokens u32...] with XXH3's seed
 * set to the parent hash, so a block hash commits to every token before it
 * and to the tenant (model and version): two tenants never share KV.
 * Cost: one XXH3 pass over 4*block_size bytes per block.
 */
#include "core.h"

#include <string.h>
#define XXH_INLINE_ALL /* header-only: lets the compiler inline XXH3 into the hash loop */
#include <xxhash.h>

uint64_t cc_block_hash(uint64_t parent, uint32_t tenant, const uint32_t *tokens,
                       size_t n_tokens)
{
    XXH3_state_t st;
    memset(&st, 0, sizeof st);
    XXH3_64bits_reset_withSeed(&st, parent);
    XXH3_64bits_update(&st, &tenant, sizeof tenant);
    XXH3_64bits_update(&st, tokens, n_tokens * sizeof *tokens);
    return XXH3_64bits_digest(&st);
}

size_t cc_block_chain(uint32_t tenant, const uint32_t *tokens, size_t n_tokens,
                      uint32_t block_size, uint64_t *out)
{
    if (block_size == 0)
        return 0;
    uint64_t h = CC_BLOCK_HASH_ROOT;
    size_t nb = 0;
    for (size_t off = 0; off < n_tokens; off += block_size) {
        size_t len = n_tokens - off < block_size ? n_tokens - off : block_size;
        h = cc_block_hash(h, tenant, tokens + off, len);
        out[nb++] = h;
    }
    return nb;
}

uint64_t cc_hash_bytes(const void *data, size_t len, uint64_t seed)
{
    return XXH3_64bits_withSeed(data, len, seed);
}
