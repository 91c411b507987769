/*
 * cmd_trace.c -- `ctxcache trace convert|stats`.
 */
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <string.h>

static const char *const trace_help =
    "usage: ctxcache trace stats FILE [--chunk-tokens C [--reuse-scope session|trace]] [--json]\n"
    "                             [common options]\n"
    "       ctxcache trace convert IN OUT [--to FORMAT] [common options]\n"
    "\n"
    "stats    describe a trace: requests, block accesses, distinct blocks, tokens,\n"
    "         the ideal (infinite-cache, prefix-rule) block and token hit ratios,\n"
    "         inter-arrival mean and coefficient of variation; the text form adds\n"
    "         length percentiles and sessions.\n"
    "         --chunk-tokens C adds how much a blend cache could reuse, as shares of\n"
    "         input tokens, overall and per session: prefix-reusable (the leading\n"
    "         whole C-token chunks an infinite prefix cache serves), non-prefix-\n"
    "         reusable (the rest of what lies in a C-token window seen in an earlier\n"
    "         request, at any offset) and new.  --reuse-scope: match against earlier\n"
    "         requests of the whole trace (default) or of the same session only.\n"
    "         Needs token ids (text formats, gen, HDF5 made from them).\n"
    "convert  read IN in any known format and write OUT; the output format is\n"
    "         --to, else taken from OUT's extension (.h5 -> h5, .jsonl -> mooncake,\n"
    "         .csv -> lcs-csv, .oracleGeneral/.bin -> lcs-oracle).\n"
    "\n"
    "common options (every command that reads a trace):\n"
    "  --format NAME       input format (default: detected from the content)\n"
    "  --block-size N      tokens per block for hash chains built from text (default 16;\n"
    "                      traces that carry hashes keep theirs, e.g. Mooncake's 512)\n"
    "  --tokenizer FILE    a Hugging Face tokenizer.json instead of the built-in tokenizer\n"
    "  --tenant NAME       tenant (model@version) for formats that name none\n"
    "  --json              (stats) print JSON instead of text\n"
    "\n"
    "examples:\n"
    "  ctxcache trace stats ../shared/data/mooncake/conversation_trace.jsonl\n"
    "  ctxcache trace stats trace.h5 --json\n"
    "  ctxcache trace stats ../shared/data/rag/musique_s.json --format rag --chunk-tokens 256 --json\n"
    "  ctxcache trace convert ../shared/data/prompts/ShareGPT_V3_filtered_1000.json sg.h5 \\\n"
    "      --block-size 256\n"
    "  ctxcache trace convert trace.h5 blocks.oracleGeneral   # for libCacheSim\n";

enum { OPT_JSON = 1000, OPT_TO, OPT_CHUNK_TOKENS, OPT_REUSE_SCOPE };

static const struct option long_opts[] = {
    CLI_TRACE_LONG_OPTS,
    {"json", no_argument, 0, OPT_JSON},
    {"to", required_argument, 0, OPT_TO},
    {"chunk-tokens", required_argument, 0, OPT_CHUNK_TOKENS},
    {"reuse-scope", required_argument, 0, OPT_REUSE_SCOPE},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static void print_stats_text(const cc_trace *t, const cc_trace_stats *s)
{
    printf("trace            %s (%s)\n", t->source, t->source_format);
    printf("requests         %zu\n", s->requests);
    printf("sessions         %zu (mean %.2f turns)\n", s->sessions, s->turns_mean);
    printf("tenants          %zu\n", s->tenants);
    printf("block size       %u tokens\n", t->block_size);
    printf("block accesses   %zu\n", s->block_accesses);
    printf("distinct blocks  %zu\n", s->distinct_blocks);
    printf("input tokens     %llu (mean %.2f; p50 %.0f, p90 %.0f, p99 %.0f)\n",
           (unsigned long long)s->input_tokens, s->input_tokens_mean, s->input_p50,
           s->input_p90, s->input_p99);
    printf("output tokens    %llu (mean %.2f; p50 %.0f, p90 %.0f, p99 %.0f)\n",
           (unsigned long long)s->output_tokens, s->output_tokens_mean, s->output_p50,
           s->output_p90, s->output_p99);
    if (s->block_accesses)
        printf("ideal hit ratio  %.4f of blocks, %.4f of input tokens (infinite cache, prefix rule)\n",
               s->ideal_block_hit_ratio, s->ideal_token_hit_ratio);
    else
        printf("ideal hit ratio  n/a (the trace has no block hashes)\n");
    if (t->timed)
        printf("arrivals         span %.3f s, inter-arrival mean %.4f s, CV %.3f\n", s->span_s,
               s->interarrival_mean_s, s->interarrival_cv);
    else
        printf("arrivals         none in this format (all at 0); give an arrival process with gen\n");
}

static double share(uint64_t part, uint64_t whole)
{
    return whole ? (double)part / (double)whole : 0;
}

static void print_warnings_text(const cc_trace *t)
{
    if (t->read_warnings)
        printf("warnings         %llu while reading (first: %s)\n",
               (unsigned long long)t->read_warnings, t->read_warning);
}

static void print_reuse_text(const cc_reuse_stats *r)
{
    const cc_reuse_counts *c = &r->total;
    printf("reuse            chunks of %u tokens, scope %s: prefix-reusable %.4f, "
           "non-prefix-reusable %.4f, new %.4f of %llu input tokens (%zu sessions; per "
           "session with --json)\n",
           r->chunk_tokens, cc_reuse_scope_name(r->scope), share(c->prefix_tokens, c->tokens),
           share(c->nonprefix_tokens, c->tokens), share(c->new_tokens, c->tokens),
           (unsigned long long)c->tokens, r->n_sessions);
}

/* The three shares of c into o (null when c has no tokens). */
static void set_shares(json_t *o, const cc_reuse_counts *c)
{
    json_object_set_new(o, "prefix_reusable_token_ratio",
                        c->tokens ? json_real(share(c->prefix_tokens, c->tokens)) : json_null());
    json_object_set_new(o, "nonprefix_reusable_token_ratio",
                        c->tokens ? json_real(share(c->nonprefix_tokens, c->tokens)) : json_null());
    json_object_set_new(o, "new_token_ratio",
                        c->tokens ? json_real(share(c->new_tokens, c->tokens)) : json_null());
    json_object_set_new(o, "prefix_reusable_tokens", json_integer((json_int_t)c->prefix_tokens));
    json_object_set_new(o, "nonprefix_reusable_tokens",
                        json_integer((json_int_t)c->nonprefix_tokens));
    json_object_set_new(o, "new_tokens", json_integer((json_int_t)c->new_tokens));
}

static void add_reuse_json(json_t *o, const cc_reuse_stats *r)
{
    json_object_set_new(o, "chunk_tokens", json_integer(r->chunk_tokens));
    json_object_set_new(o, "reuse_scope", json_string(cc_reuse_scope_name(r->scope)));
    set_shares(o, &r->total);
    json_t *arr = json_array();
    for (size_t k = 0; k < r->n_sessions; k++) {
        json_t *s = json_object();
        json_object_set_new(s, "session_id", json_integer((json_int_t)r->session_ids[k]));
        json_object_set_new(s, "requests", json_integer((json_int_t)r->sessions[k].requests));
        json_object_set_new(s, "input_tokens", json_integer((json_int_t)r->sessions[k].tokens));
        set_shares(s, &r->sessions[k]);
        json_array_append_new(arr, s);
    }
    json_object_set_new(o, "sessions_reuse", arr);
}

static int print_stats_json(const cc_trace *t, const cc_trace_stats *s, const cc_reuse_stats *r)
{
    json_t *o = json_object();
    json_object_set_new(o, "trace", json_string(t->source));
    json_object_set_new(o, "format", json_string(t->source_format));
    json_object_set_new(o, "requests", json_integer((json_int_t)s->requests));
    json_object_set_new(o, "sessions", json_integer((json_int_t)s->sessions));
    json_object_set_new(o, "tenants", json_integer((json_int_t)s->tenants));
    json_object_set_new(o, "block_size", json_integer(t->block_size));
    json_object_set_new(o, "block_accesses", json_integer((json_int_t)s->block_accesses));
    json_object_set_new(o, "distinct_blocks", json_integer((json_int_t)s->distinct_blocks));
    json_object_set_new(o, "input_tokens", json_integer((json_int_t)s->input_tokens));
    json_object_set_new(o, "output_tokens", json_integer((json_int_t)s->output_tokens));
    json_object_set_new(o, "input_tokens_mean", json_real(s->input_tokens_mean));
    json_object_set_new(o, "output_tokens_mean", json_real(s->output_tokens_mean));
    /* null, not 0, when the trace has no block hashes to hit */
    json_object_set_new(o, "ideal_block_hit_ratio",
                        s->block_accesses ? json_real(s->ideal_block_hit_ratio) : json_null());
    json_object_set_new(o, "ideal_token_hit_ratio",
                        s->block_accesses ? json_real(s->ideal_token_hit_ratio) : json_null());
    json_object_set_new(o, "timed", json_boolean(t->timed));
    json_object_set_new(o, "span_s", json_real(s->span_s));
    json_object_set_new(o, "interarrival_mean_s", json_real(s->interarrival_mean_s));
    json_object_set_new(o, "interarrival_cv", json_real(s->interarrival_cv));
    json_t *pct = json_object();
    json_object_set_new(pct, "input_p50", json_real(s->input_p50));
    json_object_set_new(pct, "input_p90", json_real(s->input_p90));
    json_object_set_new(pct, "input_p99", json_real(s->input_p99));
    json_object_set_new(pct, "output_p50", json_real(s->output_p50));
    json_object_set_new(pct, "output_p90", json_real(s->output_p90));
    json_object_set_new(pct, "output_p99", json_real(s->output_p99));
    json_object_set_new(o, "length_percentiles", pct);
    json_object_set_new(o, "read_warnings", json_integer((json_int_t)t->read_warnings));
    if (t->read_warnings)
        json_object_set_new(o, "first_read_warning", json_string(t->read_warning));
    if (r)
        add_reuse_json(o, r);
    int rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
    putchar('\n');
    json_decref(o);
    return rc == 0 ? 0 : 3;
}

int cmd_trace(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
        fputs(trace_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *sub = argv[1];
    if (strcmp(sub, "stats") && strcmp(sub, "convert"))
        return cli_usage_error("trace", "unknown subcommand '%s' (expected stats or convert)", sub);
    char cmdname[32];
    snprintf(cmdname, sizeof cmdname, "trace %s", sub);

    cli_trace_opts o = {0};
    int json = 0;
    const char *to = NULL;
    uint64_t chunk_tokens = 0;
    int want_reuse = 0;
    cc_reuse_scope scope = CC_REUSE_TRACE;
    const char *scope_arg = NULL;
    optind = 1;
    int c;
    while ((c = getopt_long(argc - 1, argv + 1, "h", long_opts, NULL)) != -1) {
        switch (c) {
        CLI_TRACE_OPT_CASES:
            if (cli_trace_opt(cmdname, c, optarg, &o))
                return 2;
            break;
        case OPT_JSON: json = 1; break;
        case OPT_TO: to = optarg; break;
        case OPT_CHUNK_TOKENS:
            if (cli_parse_u64(cmdname, "--chunk-tokens", optarg, UINT32_MAX, &chunk_tokens))
                return 2;
            if (chunk_tokens == 0)
                return cli_usage_error(cmdname, "--chunk-tokens: a chunk size of 0 tokens; "
                                       "expected at least 1");
            want_reuse = 1;
            break;
        case OPT_REUSE_SCOPE:
            scope_arg = optarg;
            if (!strcmp(optarg, "trace"))
                scope = CC_REUSE_TRACE;
            else if (!strcmp(optarg, "session"))
                scope = CC_REUSE_SESSION;
            else
                return cli_usage_error(cmdname, "--reuse-scope: '%s' unknown; expected session "
                                       "or trace", optarg);
            break;
        case 'h': fputs(trace_help, stdout); return 0;
        default: return cli_usage_error(cmdname, "bad option");
        }
    }
    int npos = argc - 1 - optind;
    char **pos = argv + 1 + optind;
    if (!strcmp(sub, "stats") && npos != 1)
        return cli_usage_error(cmdname, "expected one trace file");
    if (!strcmp(sub, "convert") && npos != 2)
        return cli_usage_error(cmdname, "expected an input and an output file");
    if ((want_reuse || scope_arg) && strcmp(sub, "stats"))
        return cli_usage_error(cmdname, "--chunk-tokens and --reuse-scope belong to trace stats");
    if (scope_arg && !want_reuse)
        return cli_usage_error(cmdname, "--reuse-scope needs --chunk-tokens C");
    if (!strcmp(sub, "convert") && !to && !(to = cc_format_for_path(pos[1])))
        return cli_usage_error(cmdname, "cannot tell the output format from '%s'; give --to", pos[1]);

    if (!strcmp(sub, "convert") && cli_output_not_input(cmdname, "output", pos[1], pos[0]))
        return 2;
    cc_trace t;
    int rc = cli_load_trace(cmdname, pos[0], &o, &t);
    if (rc)
        return rc;
    cc_err err = {0};
    /* --block-size is applied or refused, never ignored: a reader that
     * cannot honour it (no token ids: Azure, or a stored hash-only trace)
     * leaves the trace at another block size */
    if (o.block_size && t.block_size != o.block_size &&
        cc_trace_reblock(&t, o.block_size, &err) != CC_OK) {
        cc_trace_free(&t);
        return cli_fail(cmdname, &err);
    }
    if (!strcmp(sub, "stats")) {
        cc_trace_stats s;
        if (cc_trace_compute_stats(&t, &s, &err) != CC_OK) {
            cc_trace_free(&t);
            return cli_fail(cmdname, &err);
        }
        cc_reuse_stats r;
        memset(&r, 0, sizeof r);
        if (want_reuse &&
            cc_trace_reuse(&t, (uint32_t)chunk_tokens, scope, &r, &err) != CC_OK) {
            cc_trace_free(&t);
            return cli_fail(cmdname, &err);
        }
        if (json) {
            rc = print_stats_json(&t, &s, want_reuse ? &r : NULL);
        } else {
            print_stats_text(&t, &s);
            print_warnings_text(&t);
            if (want_reuse)
                print_reuse_text(&r);
        }
        cc_reuse_stats_free(&r);
    } else {
        if (cc_trace_write(&t, pos[1], to, &err) != CC_OK) {
            cc_trace_free(&t);
            return cli_fail(cmdname, &err);
        }
        fprintf(stderr, "wrote %zu requests to %s (%s)\n", t.n, pos[1], to);
    }
    cc_trace_free(&t);
    return rc;
}
