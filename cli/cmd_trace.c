/*
 * cmd_trace.c -- `ctxcache trace convert|stats`.
 */
#include "cli.h"

#include <getopt.h>
#include <jansson.h>
#include <string.h>

static const char *const trace_help =
    "usage: ctxcache trace stats FILE [--json] [common options]\n"
    "       ctxcache trace convert IN OUT [--to FORMAT] [common options]\n"
    "\n"
    "stats    describe a trace: requests, block accesses, distinct blocks, tokens,\n"
    "         the ideal (infinite-cache, prefix-rule) block and token hit ratios,\n"
    "         inter-arrival mean and coefficient of variation; the text form adds\n"
    "         length percentiles and sessions.\n"
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
    "  ctxcache trace convert ../shared/data/prompts/ShareGPT_V3_filtered_1000.json sg.h5 \\\n"
    "      --block-size 256\n"
    "  ctxcache trace convert trace.h5 blocks.oracleGeneral   # for libCacheSim\n";

enum { OPT_JSON = 1000, OPT_TO };

static const struct option long_opts[] = {
    CLI_TRACE_LONG_OPTS,
    {"json", no_argument, 0, OPT_JSON},
    {"to", required_argument, 0, OPT_TO},
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

static int print_stats_json(const cc_trace *t, const cc_trace_stats *s)
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
    if (!strcmp(sub, "convert") && !to && !(to = cc_format_for_path(pos[1])))
        return cli_usage_error(cmdname, "cannot tell the output format from '%s'; give --to", pos[1]);

    if (!strcmp(sub, "convert") && cli_output_not_input(cmdname, "output", pos[1], pos[0]))
        return 2;
    cc_trace t;
    int rc = cli_load_trace(cmdname, pos[0], &o, &t);
    if (rc)
        return rc;
    cc_err err = {0};
    if (!strcmp(sub, "stats")) {
        cc_trace_stats s;
        if (cc_trace_compute_stats(&t, &s, &err) != CC_OK) {
            cc_trace_free(&t);
            return cli_fail(cmdname, &err);
        }
        rc = json ? print_stats_json(&t, &s) : (print_stats_text(&t, &s), 0);
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
