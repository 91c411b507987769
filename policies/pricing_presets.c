/*
 * pricing_presets.c -- the pricing presets as data: one row per provider
 * model of caching, each number with its source and the date we read it.
 * No code path depends on a preset's name; pricing.c bills every row by the
 * same formula (pricing.h).  Adding a preset is adding a row.
 *
 * Prices move; these were read in November 2026 from the pages cited, or
 * from pages quoting them, as each comment says.  Where a figure could not
 * be confirmed from a page read then, the comment says so and names what
 * we assumed.  Currency: Moonshot prices are in CNY; converted at 7.2 CNY
 * per USD (the 2024 average was about 7.19; an assumption, stated).
 */
#include "pricing.h"

#include <string.h>

#define CNY_PER_USD 7.2

static const cc_pricing presets[] = {
    /* Gemini API explicit caching, Gemini 2.5 Flash.
     * ai.google.dev/gemini-api/docs/caching (read 2026-11): a cache has a TTL,
     * default 1 hour, changed only by an explicit update (fixed, not renewed
     * by use); minimum 1024 tokens for 2.5 Flash (4096 for 2.5 Pro).
     * ai.google.dev/gemini-api/docs/pricing as quoted by hivebook.wiki and
     * deploybase.ai (2026-01/03): 2.5 Flash input $0.30/M, output $2.50/M,
     * cache storage $1.00 per million tokens per hour.  Cache reads: the
     * Vertex AI context-cache overview (docs.cloud.google.com, read
     * 2026-11) gives a 90% discount on cached tokens -> 0.1x ($0.03/M).
     * Writes: "billed for the input tokens used to create the cache at the
     * standard input token price" (same page) -> write_mult 1.  Storage is
     * prorated (no unit assumed). */
    {"gemini-explicit", 1, 0.30, 2.50, 1.0, 0.1, 0, 0, 0, 1.00, 0, 3600, 0, 1024, 1,
     "Gemini 2.5 Flash explicit: ai.google.dev/gemini-api/docs/caching + /pricing (read "
     "2026-11): in $0.30/M, out $2.50/M, read 0.1x, write 1x, storage $1.00/M tok-h, TTL 1 h "
     "fixed, min 1024"},
    /* Gemini implicit caching, Gemini 2.5 Flash: on by default since
     * 2025-05-08 (ai.google.dev/gemini-api/docs/caching); 90% discount on
     * cached tokens, no storage cost, creation at the standard input price
     * (Vertex AI context-cache overview, read 2026-11); minimum 1024 tokens
     * for 2.5 Flash.  The lifetime of implicit entries is not documented
     * ("send requests with a similar prefix in a short amount of time"):
     * ASSUMED an idle TTL of 300 s refreshed on each hit. */
    {"gemini-implicit", 0, 0.30, 2.50, 1.0, 0.1, 0, 0, 0, 0, 0, 300, 1, 1024, 1,
     "Gemini 2.5 Flash implicit: ai.google.dev/gemini-api/docs/caching (read 2026-11): read "
     "0.1x, no storage, min 1024; TTL undocumented, assumed 300 s idle"},
    /* Moonshot (Kimi) context caching as launched in public beta on
     * 2024-07-01 (platform.moonshot.cn/docs/pricing/caching; the launch
     * terms as quoted by ithome-sourced pages, e.g. hamai5.com/it/266324,
     * read 2026-11): creation 24 CNY per million tokens in the cache;
     * storage per minute while the cache lives, 10 CNY/M tokens/min at
     * launch, cut to 5 CNY/M tokens/min on 2024-08-07 (1ai.net/17475) --
     * the preset takes 5; each call that matches a live cache: 0.02 CNY,
     * its incremental tokens at the model's price, the cached tokens not
     * billed per token (read_mult 0).  TTL: set at creation, 3600 s in
     * Moonshot's examples; reset_ttl on use restarts it (refresh 1, as
     * core/context_cache.c's moonshot style assumes); no minimum size
     * documented.  Base price: moonshot-v1-32k, 24 CNY/M input and output
     * (the 2024 price list; NOT confirmed from a page read here). */
    {"moonshot-2024", 1, 24.0 / CNY_PER_USD, 24.0 / CNY_PER_USD, 0.0, 0.0, 24.0 / CNY_PER_USD, 0,
     0.02 / CNY_PER_USD, 5.0 * 60 / CNY_PER_USD, 60, 3600, 1, 0, 1,
     "Moonshot context caching 2024 (platform.moonshot.cn, launch 2024-07-01, storage cut "
     "2024-08-07): creation 24 CNY/M, storage 5 CNY/M/min billed per minute, 0.02 CNY per "
     "call, TTL 3600 s reset on use; moonshot-v1-32k 24 CNY/M (unconfirmed); 7.2 CNY/USD"},
    /* Anthropic prompt caching, Claude Sonnet 4.x.
     * platform.claude.com/docs/en/about-claude/pricing (read 2026-11):
     * 5-minute cache writes 1.25x base input, 1-hour writes 2x, cache hits
     * and refreshes 0.1x; Sonnet $3/M input, $15/M output (as listed for
     * Sonnet 4 / 4.5 / 4.6).  docs.anthropic.com prompt caching (read 2025,
     * see core/context_cache.c): lifetime refreshed on each use; minimum
     * 1024 tokens for Sonnet/Opus.  No storage fee. */
    {"anthropic-5m", 1, 3.0, 15.0, 1.25, 0.1, 0, 0, 0, 0, 0, 300, 1, 1024, 1,
     "Claude Sonnet 4.x: platform.claude.com/docs/en/about-claude/pricing (read 2026-11): "
     "in $3/M, out $15/M, 5 min write 1.25x, read 0.1x, TTL refreshed on use, min 1024"},
    {"anthropic-1h", 1, 3.0, 15.0, 2.0, 0.1, 0, 0, 0, 0, 0, 3600, 1, 1024, 1,
     "Claude Sonnet 4.x: platform.claude.com/docs/en/about-claude/pricing (read 2026-11): "
     "in $3/M, out $15/M, 1 h write 2x, read 0.1x, TTL refreshed on use, min 1024"},
    /* OpenAI automatic prompt caching, GPT-4.1.
     * platform.openai.com/docs/guides/prompt-caching (read 2025, see
     * core/context_cache.c): automatic for prompts of 1024 tokens or more,
     * hits in increments of 128 tokens, prefixes stay 5-10 minutes idle
     * (up to 1 h off-peak): modelled as 600 s idle; no write surcharge.
     * Prices: GPT-4.1 $2.00/M input, $0.50/M cached (0.25x), $8.00/M output
     * (openai.com/api/pricing as quoted by docs.rs adk-model pricing.rs,
     * 2026-03: "GPT-4.1 family: 75% off cached input reads"; the $2/$8
     * figures not re-read from openai.com here). */
    {"openai", 0, 2.00, 8.00, 1.0, 0.25, 0, 0, 0, 0, 0, 600, 1, 1024, 128,
     "OpenAI GPT-4.1 automatic caching: platform.openai.com/docs/guides/prompt-caching: min "
     "1024, 128-token increments, 5-10 min idle (600 s assumed); in $2/M, cached 0.25x, out $8/M"},
    /* DeepSeek context caching on disk, deepseek-chat.
     * api-docs.deepseek.com/quick_start/pricing-details-usd (read 2026-11):
     * cache hit $0.07/M, cache miss $0.27/M, output $1.10/M (read_mult =
     * 0.07/0.27).  api-docs.deepseek.com/guides/kv_cache (2024): on by
     * default, 64-token storage units (content under 64 tokens is not
     * cached), entries cleared "within a few hours to a few days": ASSUMED
     * 6 h idle (as core/context_cache.c's deepseek preset). */
    {"deepseek", 0, 0.27, 1.10, 1.0, 0.07 / 0.27, 0, 0, 0, 0, 0, 21600, 1, 64, 64,
     "DeepSeek deepseek-chat: api-docs.deepseek.com pricing-details-usd (read 2026-11): miss "
     "$0.27/M, hit $0.07/M, out $1.10/M; guides/kv_cache: 64-token units; TTL assumed 6 h idle"},
    /* Qwen explicit cache (Alibaba Cloud Model Studio).
     * alibabacloud.com/help/en/model-studio/user-guide/context-cache (read
     * 2026-11, page updated 2026-03-31): creation 125% of the input price,
     * hits 10%, at least 1024 tokens, valid 5 minutes and reset on hit.
     * Base price: qwen-plus, international (Singapore), $0.40/M input,
     * $1.20/M output -- NOT confirmed from a page read here (check
     * alibabacloud.com/help/en/model-studio/models). */
    {"qwen-explicit", 1, 0.40, 1.20, 1.25, 0.1, 0, 0, 0, 0, 0, 300, 1, 1024, 1,
     "Qwen explicit cache: alibabacloud.com/help/en/model-studio/user-guide/context-cache "
     "(read 2026-11): write 1.25x, read 0.1x, min 1024, 5 min reset on hit; qwen-plus $0.40/$1.20 "
     "(unconfirmed)"},
};

size_t cc_pricing_preset_count(void) { return sizeof presets / sizeof presets[0]; }

const cc_pricing *cc_pricing_preset_at(size_t i)
{
    return i < cc_pricing_preset_count() ? &presets[i] : NULL;
}

const cc_pricing *cc_pricing_preset_find(const char *name)
{
    for (size_t i = 0; i < cc_pricing_preset_count(); i++)
        if (!strcmp(presets[i].name, name))
            return &presets[i];
    return NULL;
}
