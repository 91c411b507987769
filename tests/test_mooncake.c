/* test_mooncake.c -- the Mooncake JSONL reader and writer: the real
 * conversation trace against the figures in shared/reference/README.md,
 * small files computed by hand, writer round trips, and the bad-input table. */
#include "testutil.h"
#include "traces/traces.h"

#include <errno.h>
#include <sys/stat.h>

static int read_str(const char *name, const char *text, size_t len, cc_trace *t, cc_err *e,
                    char *path, size_t path_len)
{
    tu_write_tmp(path, path_len, name, text, len);
    return cc_trace_read(path, "mooncake", NULL, t, e);
}


static void assert_same_columns(const cc_trace *a, const cc_trace *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->block_size, b->block_size);
    assert_memory_equal(a->arrival_ns, b->arrival_ns, a->n * sizeof *a->arrival_ns);
    assert_memory_equal(a->input_tokens, b->input_tokens, a->n * sizeof *a->input_tokens);
    assert_memory_equal(a->output_tokens, b->output_tokens, a->n * sizeof *a->output_tokens);
    assert_memory_equal(a->block_off, b->block_off, (a->n + 1) * sizeof *a->block_off);
    assert_memory_equal(a->blocks, b->blocks, cc_trace_n_blocks_total(a) * sizeof *a->blocks);
}

/* ---- the real trace ------------------------------------------------------ */

static void test_real_trace_matches_reference(void **state)
{
    (void)state;
    const char *path = TU_DATA_OR_SKIP("mooncake/conversation_trace.jsonl");
    cc_trace t;
    cc_err e = {0};
    int rc = cc_trace_read(path, NULL, NULL, &t, &e); /* detected from the content */
    if (rc)
        cc_err_print(&e, stderr);
    assert_int_equal(rc, CC_OK);
    assert_string_equal(t.source_format, "mooncake");
    assert_int_equal(t.block_size, 512);
    assert_true(t.timed);
    cc_trace_stats s;
    assert_int_equal(cc_trace_compute_stats(&t, &s, &e), CC_OK);
    /* shared/reference/README.md */
    assert_int_equal(s.requests, 12031);
    assert_int_equal(t.arrival_ns[t.n - 1] - t.arrival_ns[0], INT64_C(3536999) * 1000000);
    assert_int_equal(s.input_tokens, 144793823);
    assert_float_equal(s.input_tokens_mean, 12035.06, 0.005);
    assert_float_equal(s.output_tokens_mean, 342.62, 0.005);
    assert_int_equal(s.block_accesses, 288500);
    assert_int_equal(s.distinct_blocks, 182790);
    assert_float_equal(s.ideal_block_hit_ratio, 0.3664, 0.00005);
    assert_float_equal(s.ideal_token_hit_ratio, 0.3736, 0.00005);
    /* first line: {"timestamp": 0, "input_length": 6758, "output_length": 500, "hash_ids": [0..13]} */
    cc_request r = cc_trace_get(&t, 0);
    assert_int_equal(r.arrival_ns, 0);
    assert_int_equal(r.input_tokens, 6758);
    assert_int_equal(r.output_tokens, 500);
    assert_int_equal(r.n_blocks, 14);
    for (uint32_t j = 0; j < 14; j++)
        assert_int_equal(r.blocks[j], j);
    cc_trace_free(&t);
}

static void test_real_trace_round_trip(void **state)
{
    (void)state;
    const char *path = TU_DATA_OR_SKIP("mooncake/conversation_trace.jsonl");
    cc_trace a, b;
    cc_err e = {0};
    assert_int_equal(cc_trace_read(path, "mooncake", NULL, &a, &e), CC_OK);
    char out[512];
    tu_tmp_path(out, sizeof out, "roundtrip.jsonl");
    assert_int_equal(cc_trace_write(&a, out, "mooncake", &e), CC_OK);
    assert_int_equal(cc_trace_read(out, "mooncake", NULL, &b, &e), CC_OK);
    assert_same_columns(&a, &b);
    /* Mooncake's ids are dense in first-seen order and its timestamps whole
     * ms, and the writer keeps the file's layout: the bytes come back. */
    size_t n1, n2;
    char *orig = tu_slurp(path, &n1), *copy = tu_slurp(out, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(orig, copy, n1);
    free(orig);
    free(copy);
    unlink(out);
    cc_trace_free(&a);
    cc_trace_free(&b);
}

/* ---- small files by hand -------------------------------------------------- */

/* Block size 512.  Requests (ids), input tokens:
 *   r0 t=0    [0 1]    1000 : no hits
 *   r1 t=0    [0 1 2]  1500 : leading run 0,1 -> 2 blocks, 1024 tokens
 *   r2 t=250  [3]       512 : none
 *   r3 t=1000 [0 4]     700 : run 0 -> 1 block, 512 tokens
 *   r4 t=1000 [0 1 2]  1200 : run 3 -> 1536 tokens capped at 1200
 * blocks 11, distinct 5, block hits 6/11, token hits 2736/4912, output mean
 * 150/5 = 30; inter-arrivals 0, .25, .75, 0 s: mean .25, sample sd
 * sqrt(.375/3) = sqrt(.125), CV sqrt(2). */
static const char hand[] =
    "{\"timestamp\": 0, \"input_length\": 1000, \"output_length\": 10, \"hash_ids\": [0, 1]}\n"
    "{\"timestamp\": 0, \"input_length\": 1500, \"output_length\": 20, \"hash_ids\": [0, 1, 2]}\r\n"
    "{\"hash_ids\":[3],\"output_length\":30,\"input_length\":512,\"timestamp\":250,\"extra\":{\"a\":[1]}}\n"
    "  {\"timestamp\": 1000, \"input_length\": 700, \"output_length\": 40, \"hash_ids\": [0, 4]}  \n"
    "{\"timestamp\": 1000, \"input_length\": 1200, \"output_length\": 50, \"hash_ids\": [0, 1, 2], "
    "\"note\": \"caf\xc3\xa9\"}\n"
    "\n\n";

static void test_hand_file(void **state)
{
    (void)state;
    char path[512];
    cc_trace t;
    cc_err e = {0};
    int rc = read_str("hand.jsonl", hand, sizeof hand - 1, &t, &e, path, sizeof path);
    if (rc)
        cc_err_print(&e, stderr);
    assert_int_equal(rc, CC_OK);
    assert_int_equal(t.n, 5);
    assert_int_equal(t.arrival_ns[2], 250000000);
    assert_int_equal(t.arrival_ns[4], 1000000000);
    assert_int_equal(t.epoch_ns, 0);
    cc_request r = cc_trace_get(&t, 3);
    assert_int_equal(r.input_tokens, 700);
    assert_int_equal(r.output_tokens, 40);
    assert_int_equal(r.n_blocks, 2);
    assert_int_equal(r.blocks[1], 4);
    assert_int_equal(r.group_id, CC_NO_GROUP);
    assert_string_equal(t.tenants[r.tenant], "default");
    cc_trace_stats s;
    assert_int_equal(cc_trace_compute_stats(&t, &s, &e), CC_OK);
    assert_int_equal(s.block_accesses, 11);
    assert_int_equal(s.distinct_blocks, 5);
    assert_int_equal(s.input_tokens, 4912);
    assert_float_equal(s.output_tokens_mean, 30.0, 1e-12);
    assert_float_equal(s.ideal_block_hit_ratio, 6.0 / 11, 1e-12);
    assert_float_equal(s.ideal_token_hit_ratio, 2736.0 / 4912, 1e-12);
    assert_float_equal(s.interarrival_mean_s, 0.25, 1e-12);
    assert_float_equal(s.interarrival_cv, sqrt(2.0), 1e-9);
    assert_float_equal(s.span_s, 1.0, 1e-12);
    cc_trace_free(&t);

    /* detection by content, and a tenant given by the caller */
    cc_err de = {0};
    const cc_format *f = cc_format_detect(path, &de);
    assert_non_null(f);
    assert_string_equal(f->name, "mooncake");
    cc_read_opts o = {.tenant = "kimi@2024", .block_size = 512};
    assert_int_equal(cc_trace_read(path, "mooncake", &o, &t, &e), CC_OK);
    assert_int_equal(t.n_tenants, 1);
    assert_string_equal(t.tenants[t.tenant[0]], "kimi@2024");
    cc_trace_free(&t);
    unlink(path);
}

static void test_edge_files_accepted(void **state)
{
    (void)state;
    static const struct { const char *name, *text; size_t n; } ok[] = {
        /* no newline at the end of a complete last line */
        {"nonl", "{\"timestamp\": 7, \"input_length\": 1, \"output_length\": 0, \"hash_ids\": [9]}", 1},
        /* empty prompt: no ids */
        {"zero", "{\"timestamp\": 0, \"input_length\": 0, \"output_length\": 3, \"hash_ids\": []}\n", 1},
        /* exactly one block, then a block and a token */
        {"edge", "{\"timestamp\": 0, \"input_length\": 512, \"output_length\": 1, \"hash_ids\": [5]}\n"
                 "{\"timestamp\": 0, \"input_length\": 513, \"output_length\": 1, \"hash_ids\": [5, 6]}\n", 2},
        /* ids beyond 32 bits */
        {"big", "{\"timestamp\": 0, \"input_length\": 1, \"output_length\": 1, \"hash_ids\": [9223372036854775807]}\n", 1},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char path[512];
        cc_trace t;
        cc_err e = {0};
        int rc = read_str(ok[i].name, ok[i].text, strlen(ok[i].text), &t, &e, path, sizeof path);
        if (rc)
            fail_msg("%s: %s (line %ld, field %s)", ok[i].name, e.msg, e.line, e.field);
        assert_int_equal(t.n, ok[i].n);
        cc_trace_free(&t);
        unlink(path);
    }
}

/* ---- bad input -------------------------------------------------------------- */

#define GOOD "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 5, \"hash_ids\": [0, 1]}\n"

static void test_bad_inputs(void **state)
{
    (void)state;
    static const unsigned char elf[] = {0x7f, 'E', 'L', 'F', 2, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0,
                                        3, 0, 0x3e, 0, 1, 0, 0, 0, 0x10, 0x10, 0, 0, '\n', 0xff};
    static const struct {
        const char *name;
        const char *text;
        size_t len; /* 0 = strlen */
        int code;
        long line;
        const char *field;
        const char *msg; /* a piece of the message, or NULL */
    } bad[] = {
        {"truncated last line",
         GOOD "{\"timestamp\": 3, \"input_length\": 100, \"output_length\": 5, \"hash_ids\": [0", 0,
         CC_EFORMAT, 2, "hash_ids", "truncated"},
        {"truncated inside a name", GOOD "{\"timestamp\": 3, \"input_len", 0, CC_EFORMAT, 2, "record",
         "truncated"},
        {"missing timestamp", GOOD "{\"input_length\": 100, \"output_length\": 5, \"hash_ids\": [2]}\n",
         0, CC_EFORMAT, 2, "timestamp", "missing"},
        {"missing input_length", GOOD "{\"timestamp\": 1, \"output_length\": 5, \"hash_ids\": [2]}\n", 0,
         CC_EFORMAT, 2, "input_length", "missing"},
        {"missing output_length", GOOD "{\"timestamp\": 1, \"input_length\": 5, \"hash_ids\": [2]}\n", 0,
         CC_EFORMAT, 2, "output_length", "missing"},
        {"missing hash_ids", GOOD "{\"timestamp\": 1, \"input_length\": 5, \"output_length\": 5}\n", 0,
         CC_EFORMAT, 2, "hash_ids", "missing"},
        {"string length", GOOD "{\"timestamp\": 1, \"input_length\": \"100\", \"output_length\": 5, "
                               "\"hash_ids\": [2]}\n", 0, CC_EFORMAT, 2, "input_length", "a string"},
        {"real timestamp", GOOD "{\"timestamp\": 1.5, \"input_length\": 100, \"output_length\": 5, "
                                "\"hash_ids\": [2]}\n", 0, CC_EFORMAT, 2, "timestamp", "a real number"},
        {"ids not an array", GOOD "{\"timestamp\": 1, \"input_length\": 100, \"output_length\": 5, "
                                  "\"hash_ids\": 2}\n", 0, CC_EFORMAT, 2, "hash_ids", "an integer"},
        {"string id", GOOD "{\"timestamp\": 1, \"input_length\": 600, \"output_length\": 5, "
                           "\"hash_ids\": [2, \"3\"]}\n", 0, CC_EFORMAT, 2, "hash_ids", "id 1"},
        {"not an object", GOOD "[1, 2, 3]\n", 0, CC_EFORMAT, 2, "record", "an array"},
        {"negative output", GOOD "{\"timestamp\": 1, \"input_length\": 100, \"output_length\": -1, "
                                 "\"hash_ids\": [2]}\n", 0, CC_ERANGE, 2, "output_length", "negative"},
        {"negative id", GOOD "{\"timestamp\": 1, \"input_length\": 100, \"output_length\": 1, "
                             "\"hash_ids\": [-2]}\n", 0, CC_ERANGE, 2, "hash_ids", "negative"},
        {"negative timestamp", "{\"timestamp\": -1, \"input_length\": 1, \"output_length\": 1, "
                               "\"hash_ids\": [2]}\n", 0, CC_ERANGE, 1, "timestamp", "negative"},
        {"absurd input", GOOD "{\"timestamp\": 1, \"input_length\": 16777216, \"output_length\": 1, "
                              "\"hash_ids\": [2]}\n", 0, CC_ERANGE, 2, "input_length", "absurd"},
        {"absurd output", GOOD "{\"timestamp\": 1, \"input_length\": 1, \"output_length\": "
                               "99999999999, \"hash_ids\": [2]}\n", 0, CC_ERANGE, 2, "output_length",
         "absurd"},
        {"integer overflow", GOOD "{\"timestamp\": 1, \"input_length\": 1, \"output_length\": 1, "
                                  "\"hash_ids\": [99999999999999999999]}\n", 0, CC_EFORMAT, 2,
         "hash_ids", NULL},
        {"too few ids", GOOD "{\"timestamp\": 1, \"input_length\": 1025, \"output_length\": 1, "
                             "\"hash_ids\": [0, 1]}\n", 0, CC_EFORMAT, 2, "hash_ids", "= 3"},
        {"too many ids", GOOD "{\"timestamp\": 1, \"input_length\": 0, \"output_length\": 1, "
                              "\"hash_ids\": [0]}\n", 0, CC_EFORMAT, 2, "hash_ids", "= 0"},
        {"time backwards", GOOD "{\"timestamp\": 5, \"input_length\": 1, \"output_length\": 1, "
                                "\"hash_ids\": [7]}\n{\"timestamp\": 4, \"input_length\": 1, "
                                "\"output_length\": 1, \"hash_ids\": [7]}\n", 0, CC_ERANGE, 3,
         "timestamp", "non-decreasing"},
        /* an id names a whole prefix, so it always follows the same id */
        {"id repeated in a list", GOOD "{\"timestamp\": 1, \"input_length\": 1100, "
                                       "\"output_length\": 1, \"hash_ids\": [5, 6, 5]}\n", 0,
         CC_EFORMAT, 2, "hash_ids", "id 2: 5 follows id 6 here but followed the start"},
        {"ids out of order", GOOD "{\"timestamp\": 1, \"input_length\": 600, "
                                  "\"output_length\": 1, \"hash_ids\": [1, 0]}\n", 0,
         CC_EFORMAT, 2, "hash_ids", "id 0: 1 follows the start of the list here but followed id 0"},
        {"id under another prefix", GOOD "{\"timestamp\": 1, \"input_length\": 600, "
                                         "\"output_length\": 1, \"hash_ids\": [9, 1]}\n", 0,
         CC_EFORMAT, 2, "hash_ids", "out of order"},
        {"empty file", "", 0, CC_EFORMAT, 1, "record", "empty"},
        {"only blank lines", "\n  \n\r\n", 0, CC_EFORMAT, 1, "record", "no records"},
        {"blank line inside", GOOD "\n" GOOD, 0, CC_EFORMAT, 2, "record", "blank line"},
        {"invalid UTF-8", GOOD "{\"timestamp\": 1, \"input_length\": 1, \"output_length\": 1, "
                               "\"hash_ids\": [7], \"note\": \"ab\xff\xfe\"}\n", 0, CC_EFORMAT, 2,
         "note", NULL},
        {"binary file", (const char *)elf, sizeof elf, CC_EFORMAT, 1, "record", "binary"},
        {"syntax error", GOOD "{\"timestamp\": 1, \"input_length\": 1,, \"output_length\": 1}\n", 0,
         CC_EFORMAT, 2, "record", "invalid JSON"},
        {"duplicate member", GOOD "{\"timestamp\": 1, \"input_length\": 1, \"timestamp\": 2, "
                                  "\"output_length\": 1, \"hash_ids\": [7]}\n", 0, CC_EFORMAT, 2,
         "timestamp", "duplicate"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[512];
        cc_trace t;
        cc_err e = {0};
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
        int rc = read_str("bad.jsonl", bad[i].text, len, &t, &e, path, sizeof path);
        if (rc != bad[i].code || e.line != bad[i].line || strcmp(e.field, bad[i].field) ||
            strcmp(e.file, path) || (bad[i].msg && !strstr(e.msg, bad[i].msg)))
            fail_msg("case '%s': got %s at line %ld, field '%s', file '%s': %s; expected %s at "
                     "line %ld, field '%s'",
                     bad[i].name, cc_status_name(rc), e.line, e.field, e.file, e.msg,
                     cc_status_name(bad[i].code), bad[i].line, bad[i].field);
        assert_int_equal(t.n, 0); /* nothing handed back */
        unlink(path);
    }
}

static void test_missing_file_and_reblocking(void **state)
{
    (void)state;
    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_trace_read("/nonexistent/dir/trace.jsonl", "mooncake", NULL, &t, &e),
                     CC_EIO);
    assert_string_equal(e.file, "/nonexistent/dir/trace.jsonl");
    assert_non_null(strstr(e.msg, strerror(ENOENT)));

    char path[512];
    tu_write_tmp(path, sizeof path, "rb.jsonl", GOOD, strlen(GOOD));
    cc_read_opts o = {.block_size = 16};
    assert_int_equal(cc_trace_read(path, "mooncake", &o, &t, &e), CC_EARG);
    assert_string_equal(e.field, "block_size");
    assert_non_null(strstr(e.msg, "re-blocked"));
    unlink(path);
}

/* ---- writer ----------------------------------------------------------------- */

static void add(cc_trace *t, int64_t at_ns, uint32_t in, uint32_t out, const uint64_t *b,
                uint32_t nb)
{
    cc_request r = {0};
    r.arrival_ns = at_ns;
    r.input_tokens = in;
    r.output_tokens = out;
    r.group_id = CC_NO_GROUP;
    r.blocks = b;
    r.n_blocks = nb;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static void test_writer_dense_ids(void **state)
{
    (void)state;
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 512;
    t.timed = true;
    /* prefix chains (an id always follows the same id), as the reader
     * requires: b1 shares b0's first block, then branches */
    uint64_t b0[] = {UINT64_MAX, UINT64_C(1) << 63};
    uint64_t b1[] = {UINT64_MAX, 42, 43};
    uint64_t b2[] = {44};
    add(&t, 0, 600, 1, b0, 2);
    add(&t, 1499999, 1100, 2, b1, 3); /* 1.499999 ms -> 1 */
    add(&t, 1500000, 3, 0, b2, 1);    /* 1.5 ms -> 2 (half rounds up) */
    add(&t, 1500000, 0, 4, NULL, 0);
    char out[512];
    tu_tmp_path(out, sizeof out, "dense.jsonl");
    cc_err e = {0};
    assert_int_equal(cc_write_mooncake(&t, out, &e), CC_OK);
    static const char expect[] =
        "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 1, \"hash_ids\": [0, 1]}\n"
        "{\"timestamp\": 1, \"input_length\": 1100, \"output_length\": 2, \"hash_ids\": [0, 2, 3]}\n"
        "{\"timestamp\": 2, \"input_length\": 3, \"output_length\": 0, \"hash_ids\": [4]}\n"
        "{\"timestamp\": 2, \"input_length\": 0, \"output_length\": 4, \"hash_ids\": []}\n";
    size_t n;
    char *got = tu_slurp(out, &n);
    assert_string_equal(got, expect);
    free(got);

    /* equality structure, hence every statistic of the chains, survives */
    cc_trace b;
    assert_int_equal(cc_trace_read(out, "mooncake", NULL, &b, &e), CC_OK);
    cc_trace_stats s1, s2;
    assert_int_equal(cc_trace_compute_stats(&t, &s1, &e), CC_OK);
    assert_int_equal(cc_trace_compute_stats(&b, &s2, &e), CC_OK);
    assert_int_equal(s1.distinct_blocks, s2.distinct_blocks);
    assert_int_equal(s2.distinct_blocks, 5);
    assert_float_equal(s1.ideal_block_hit_ratio, s2.ideal_block_hit_ratio, 0);
    assert_float_equal(s1.ideal_token_hit_ratio, s2.ideal_token_hit_ratio, 0);
    cc_trace_free(&b);
    unlink(out);
    cc_trace_free(&t);
}

static void test_writer_refuses(void **state)
{
    (void)state;
    char out[512];
    tu_tmp_path(out, sizeof out, "refused.jsonl");
    cc_err e = {0};
    cc_trace t;

    /* no chains */
    cc_trace_init(&t);
    t.timed = true;
    add(&t, 0, 100, 1, NULL, 0);
    assert_int_equal(cc_write_mooncake(&t, out, &e), CC_EUNSUP);
    assert_string_equal(e.field, "hash_ids");
    assert_int_not_equal(access(out, F_OK), 0);
    cc_trace_free(&t);

    /* chains of another block size */
    uint64_t b[] = {1, 2};
    cc_trace_init(&t);
    t.timed = true;
    t.block_size = 16;
    add(&t, 0, 20, 1, b, 2);
    assert_int_equal(cc_write_mooncake(&t, out, &e), CC_EUNSUP);
    assert_string_equal(e.field, "block_size");
    assert_int_not_equal(access(out, F_OK), 0);
    cc_trace_free(&t);

    /* no arrival times */
    cc_trace_init(&t);
    t.block_size = 512;
    add(&t, 0, 600, 1, b, 2);
    assert_int_equal(cc_write_mooncake(&t, out, &e), CC_EUNSUP);
    assert_string_equal(e.field, "timestamp");
    assert_int_not_equal(access(out, F_OK), 0);

    /* a request whose chain does not cover its input */
    t.timed = true;
    add(&t, 0, 2000, 1, b, 2);
    assert_int_equal(cc_write_mooncake(&t, out, &e), CC_EUNSUP);
    assert_non_null(strstr(e.msg, "request 2"));
    assert_int_not_equal(access(out, F_OK), 0);

    /* unwritable place */
    cc_trace_free(&t);
    cc_trace_init(&t);
    t.block_size = 512;
    t.timed = true;
    add(&t, 0, 600, 1, b, 2);
    assert_int_equal(cc_write_mooncake(&t, "/nonexistent/dir/x.jsonl", &e), CC_EIO);
    assert_string_equal(e.file, "/nonexistent/dir/x.jsonl");
    cc_trace_free(&t);
}

/* The memory bound (traces.h): the requests and the map of block ids that
 * checks them count.  The map starts with room for 1,024 ids of two u64
 * each (16 KB), so a bound of 1 KB stops the first line with CC_ENOMEM;
 * 1 MB holds the hand file (5 requests, 11 block hashes: under 1 KB). */
static void test_memory_bound(void **state)
{
    (void)state;
    char path[512];
    cc_trace t;
    cc_err e = {0};
    cc_read_opts o = {0};
    tu_write_tmp(path, sizeof path, "bound.jsonl", hand, sizeof hand - 1);
    o.max_bytes = 1000000;
    assert_int_equal(cc_trace_read(path, "mooncake", &o, &t, &e), CC_OK);
    assert_int_equal(t.n, 5);
    cc_trace_free(&t);
    o.max_bytes = 1000;
    assert_int_equal(cc_trace_read(path, "mooncake", &o, &t, &e), CC_ENOMEM);
    assert_int_equal(e.line, 1);
    assert_string_equal(e.field, "hash_ids");
    assert_non_null(strstr(e.msg, "CTXCACHE_MAX_MEMORY"));
    assert_int_equal(t.n, 0);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_trace_matches_reference),
        cmocka_unit_test(test_real_trace_round_trip),
        cmocka_unit_test(test_hand_file),
        cmocka_unit_test(test_edge_files_accepted),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_missing_file_and_reblocking),
        cmocka_unit_test(test_writer_dense_ids),
        cmocka_unit_test(test_writer_refuses),
        cmocka_unit_test(test_memory_bound),
    };
    return cmocka_run_group_tests_name("mooncake", tests, NULL, NULL);
}
