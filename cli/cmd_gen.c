/*
 * cmd_gen.c -- `ctxcache gen SPEC|default -o OUT [--seed N]`: generate a
 * synthetic workload (traces/generator.c) and write it in the format OUT's
 * extension names (or --format).  Same spec + seed => byte-identical file.
 */
#include "cli.h"

#include <getopt.h>
#include <string.h>

static const char *const gen_help =
    "usage: ctxcache gen SPEC|default -o OUT [--seed N] [--format FMT] [--block-size N]\n"
    "       ctxcache gen --print-default\n"
    "\n"
    "Generates a synthetic workload from a spec file (INI-like; every key is in\n"
    "docs/workload-spec.md, a runnable example in examples/workload.spec), or from\n"
    "the built-in default workload (SPEC = default: multi-turn chat with shared\n"
    "system prompts, RAG, document questions, paraphrases; two tenants).  The same\n"
    "spec and seed give a byte-identical file.\n"
    "\n"
    "options:\n"
    "  -o, --output OUT    file to write; its format comes from the extension\n"
    "                      (.h5 -> h5, .jsonl -> mooncake, .csv -> lcs-csv,\n"
    "                      .oracleGeneral/.bin -> lcs-oracle) unless --format is given\n"
    "  --seed N            random seed (default 1)\n"
    "  --format FMT        output format (a writable one; see ctxcache --help)\n"
    "  --block-size N      re-block the hash chains at N tokens after generating\n"
    "                      (Mooncake's format needs 512); needs token_ids = true\n"
    "  --print-default     print the built-in default spec (a starting point)\n"
    "\n"
    "examples:\n"
    "  ctxcache gen default -o work.h5 --seed 1\n"
    "  ctxcache gen examples/workload.spec -o work.h5 --seed 7\n"
    "  ctxcache gen default -o work.jsonl --block-size 512 --seed 1\n"
    "  ctxcache gen --print-default > my.spec\n";

enum { OPT_SEED = 1000, OPT_FORMAT, OPT_BS, OPT_PRINT };

static const struct option long_opts[] = {
    {"output", required_argument, 0, 'o'},
    {"seed", required_argument, 0, OPT_SEED},
    {"format", required_argument, 0, OPT_FORMAT},
    {"block-size", required_argument, 0, OPT_BS},
    {"print-default", no_argument, 0, OPT_PRINT},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

int cmd_gen(int argc, char **argv)
{
    const char *out = NULL, *fmt = NULL;
    uint64_t seed = 1, bs = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", long_opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case OPT_SEED:
            if (cli_parse_u64("gen", "--seed", optarg, UINT64_MAX, &seed))
                return 2;
            break;
        case OPT_FORMAT: fmt = optarg; break;
        case OPT_BS:
            if (cli_parse_u64("gen", "--block-size", optarg, 1u << 20, &bs))
                return 2;
            if (bs == 0)
                return cli_usage_error("gen", "--block-size: expected at least 1 token");
            break;
        case OPT_PRINT: fputs(cc_gen_default_spec, stdout); return 0;
        case 'h': fputs(gen_help, stdout); return 0;
        default: return cli_usage_error("gen", "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error("gen", "expected one spec file (or 'default')");
    const char *spec = argv[optind];
    if (!out)
        return cli_usage_error("gen", "expected -o OUT, the file to write");
    if (!fmt && !(fmt = cc_format_for_path(out)))
        return cli_usage_error("gen", "cannot tell the output format from '%s'; give --format",
                               out);
    const cc_format *f = cc_format_find(fmt);
    if (!f || !f->write)
        return cli_usage_error("gen", "cannot write format '%s' (see ctxcache --help for the "
                               "writable ones, marked *)", fmt);

    cc_trace t;
    cc_err err = {0};
    int rc = strcmp(spec, "default") == 0
                 ? cc_gen_from_spec_string(cc_gen_default_spec, "default", seed, &t, &err)
                 : cc_gen_from_spec_file(spec, seed, &t, &err);
    if (rc != CC_OK)
        return cli_fail("gen", &err);
    if (bs && bs != t.block_size && cc_trace_reblock(&t, (uint32_t)bs, &err) != CC_OK) {
        cc_trace_free(&t);
        return cli_fail("gen", &err);
    }
    if (cc_trace_write(&t, out, fmt, &err) != CC_OK) {
        remove(out); /* no partial output */
        cc_trace_free(&t);
        return cli_fail("gen", &err);
    }
    uint64_t sessions = 0; /* ids are 0.. in order of the sessions' first turns */
    for (size_t i = 0; i < t.n; i++)
        if (t.session_id[i] + 1 > sessions)
            sessions = t.session_id[i] + 1;
    fprintf(stderr, "gen: %zu requests (%llu sessions, %zu tenants, span %.1f s) from %s, "
            "seed %llu; wrote %s (%s)\n",
            t.n, (unsigned long long)sessions, t.n_tenants,
            t.n ? t.arrival_ns[t.n - 1] * 1e-9 : 0.0, spec, (unsigned long long)seed, out, fmt);
    cc_trace_free(&t);
    return 0;
}
