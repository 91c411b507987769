/* test_azure.c -- the Azure LLM inference CSV reader and writer: the real
 * conversation trace against shared/reference/README.md, small files
 * computed by hand, exact round trips, and the bad-input table. */
#include "testutil.h"
#include "traces/traces.h"

#include <errno.h>

#define HEADER "TIMESTAMP,ContextTokens,GeneratedTokens\r\n"

static int read_str(const char *name, const char *text, size_t len, cc_trace *t, cc_err *e,
                    char *path, size_t path_len)
{
    tu_write_tmp(path, path_len, name, text, len);
    return cc_trace_read(path, "azure", NULL, t, e);
}


static void assert_same_columns(const cc_trace *a, const cc_trace *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->epoch_ns, b->epoch_ns);
    assert_memory_equal(a->arrival_ns, b->arrival_ns, a->n * sizeof *a->arrival_ns);
    assert_memory_equal(a->input_tokens, b->input_tokens, a->n * sizeof *a->input_tokens);
    assert_memory_equal(a->output_tokens, b->output_tokens, a->n * sizeof *a->output_tokens);
}

/* ---- the real trace ------------------------------------------------------ */

static void test_real_trace_matches_reference(void **state)
{
    (void)state;
    const char *path = TU_DATA_OR_SKIP("azure/AzureLLMInferenceTrace_conv.csv");
    cc_trace t;
    cc_err e = {0};
    int rc = cc_trace_read(path, NULL, NULL, &t, &e); /* detected from the content */
    if (rc)
        cc_err_print(&e, stderr);
    assert_int_equal(rc, CC_OK);
    assert_string_equal(t.source_format, "azure");
    assert_true(t.timed);
    assert_int_equal(t.block_size, 0);
    assert_int_equal(cc_trace_n_blocks_total(&t), 0);
    /* 2023-11-16 18:15:46.6805900 UTC (python3: calendar.timegm) */
    assert_int_equal(t.epoch_ns, INT64_C(1700158546680590000));
    assert_int_equal(t.arrival_ns[0], 0);
    /* second row 18:15:50.9951690 */
    assert_int_equal(t.arrival_ns[1], INT64_C(4314579000));
    assert_int_equal(t.input_tokens[1], 396);
    assert_int_equal(t.output_tokens[1], 109);
    cc_trace_stats s;
    assert_int_equal(cc_trace_compute_stats(&t, &s, &e), CC_OK);
    /* shared/reference/README.md */
    assert_int_equal(s.requests, 19366);
    assert_float_equal(s.span_s, 3501.7, 0.05);
    assert_float_equal(s.input_tokens_mean, 1154.70, 0.005);
    assert_float_equal(s.output_tokens_mean, 211.13, 0.005);
    assert_float_equal(s.interarrival_mean_s, 0.1808, 0.00005);
    assert_float_equal(s.interarrival_cv, 1.094, 0.0005);
    cc_trace_free(&t);
}

static void test_real_trace_round_trip(void **state)
{
    (void)state;
    const char *path = TU_DATA_OR_SKIP("azure/AzureLLMInferenceTrace_conv.csv");
    cc_trace a, b;
    cc_err e = {0};
    assert_int_equal(cc_trace_read(path, "azure", NULL, &a, &e), CC_OK);
    char out[512];
    tu_tmp_path(out, sizeof out, "roundtrip.csv");
    assert_int_equal(cc_trace_write(&a, out, "azure", &e), CC_OK);
    assert_int_equal(cc_trace_read(out, "azure", NULL, &b, &e), CC_OK);
    assert_same_columns(&a, &b);
    /* Azure's file has CRLF line ends and none after the last row; ours
     * ends every row, so it is the original plus "\r\n". */
    size_t n1, n2;
    char *orig = tu_slurp(path, &n1), *copy = tu_slurp(out, &n2);
    assert_int_equal(n2, n1 + 2);
    assert_memory_equal(orig, copy, n1);
    assert_memory_equal(copy + n1, "\r\n", 2);
    free(orig);
    free(copy);
    unlink(out);
    cc_trace_free(&a);
    cc_trace_free(&b);
}

/* ---- small files by hand -------------------------------------------------- */

/* Across midnight; 7, 1 and 7 fractional digits; LF and CRLF; no newline at
 * the end.  Epoch 2023-11-16 23:59:59.9999999 = 1700179199999999900 ns
 * (python3: calendar.timegm((2023,11,16,23,59,59))*10**9 + 999999900);
 * arrivals 0, 100 ns, 1.5 s + 100 ns, 1.5 s + 200 ns; inter-arrivals 1e-7,
 * 1.5, 1e-7 s. */
static const char hand[] = HEADER
    "2023-11-16 23:59:59.9999999,100,10\r\n"
    "2023-11-17 00:00:00.0000000,200,20\n"
    "2023-11-17 00:00:01.5,300,30\r\n"
    "2023-11-17 00:00:01.5000001,0,0";

static void test_hand_file(void **state)
{
    (void)state;
    char path[512];
    cc_trace t;
    cc_err e = {0};
    int rc = read_str("hand.csv", hand, sizeof hand - 1, &t, &e, path, sizeof path);
    if (rc)
        cc_err_print(&e, stderr);
    assert_int_equal(rc, CC_OK);
    assert_int_equal(t.n, 4);
    assert_int_equal(t.epoch_ns, INT64_C(1700179199999999900));
    assert_int_equal(t.arrival_ns[0], 0);
    assert_int_equal(t.arrival_ns[1], 100);
    assert_int_equal(t.arrival_ns[2], 1500000100);
    assert_int_equal(t.arrival_ns[3], 1500000200);
    assert_int_equal(t.input_tokens[2], 300);
    assert_int_equal(t.output_tokens[2], 30);
    assert_int_equal(t.session_id[3], 3);
    cc_trace_stats s;
    assert_int_equal(cc_trace_compute_stats(&t, &s, &e), CC_OK);
    assert_float_equal(s.input_tokens_mean, 150, 1e-12);
    assert_float_equal(s.output_tokens_mean, 15, 1e-12);
    assert_float_equal(s.interarrival_mean_s, (1.5 + 2e-7) / 3, 1e-12);
    assert_int_equal(s.block_accesses, 0);
    cc_err de = {0};
    const cc_format *f = cc_format_detect(path, &de);
    assert_non_null(f);
    assert_string_equal(f->name, "azure");

    /* written back: 7 digits everywhere, CRLF */
    char out[512];
    tu_tmp_path(out, sizeof out, "hand_out.csv");
    assert_int_equal(cc_trace_write(&t, out, "azure", &e), CC_OK);
    size_t n;
    char *got = tu_slurp(out, &n);
    assert_string_equal(got, HEADER
                        "2023-11-16 23:59:59.9999999,100,10\r\n"
                        "2023-11-17 00:00:00.0000000,200,20\r\n"
                        "2023-11-17 00:00:01.5000000,300,30\r\n"
                        "2023-11-17 00:00:01.5000001,0,0\r\n");
    free(got);
    unlink(out);
    cc_trace_free(&t);
    unlink(path);
}

static void test_edge_files_accepted(void **state)
{
    (void)state;
    static const struct { const char *name, *text; size_t n; } ok[] = {
        {"header only", HEADER, 0},
        {"header only, no newline", "TIMESTAMP,ContextTokens,GeneratedTokens", 0},
        {"LF, trailing blank lines", "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                                     "2024-02-29 00:00:00,1,2\n\n\r\n", 1},
        {"byte order mark", "\xEF\xBB\xBF" HEADER "2023-11-16 18:15:46.123456789,1,2\r\n", 1},
        {"zero lengths", HEADER "2023-11-16 18:15:46.6805900,0,0\r\n", 1},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        char path[512];
        cc_trace t;
        cc_err e = {0};
        int rc = read_str("ok.csv", ok[i].text, strlen(ok[i].text), &t, &e, path, sizeof path);
        if (rc)
            fail_msg("%s: %s (line %ld, field %s)", ok[i].name, e.msg, e.line, e.field);
        assert_int_equal(t.n, ok[i].n);
        cc_trace_free(&t);
        unlink(path);
    }
}

/* ---- bad input -------------------------------------------------------------- */

#define ROW "2023-11-16 18:15:50.9951690,396,109\r\n"

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
        {"truncated last line", HEADER ROW "2023-11-16 18:15:51.22", 0, CC_EFORMAT, 3,
         "ContextTokens", "truncated"},
        {"truncated in a count", HEADER ROW "2023-11-16 18:15:51.2224670,879,", 0, CC_EFORMAT, 3,
         "GeneratedTokens", "truncated"},
        {"truncated in the time", HEADER ROW "2023-11-16 18:1", 0, CC_EFORMAT, 3, "TIMESTAMP", NULL},
        {"missing column", HEADER "2023-11-16 18:15:50.9951690,396\r\n" ROW, 0, CC_EFORMAT, 2,
         "GeneratedTokens", "missing"},
        {"empty field", HEADER ROW "2023-11-16 18:15:51.2224670,,55\r\n", 0, CC_EFORMAT, 3,
         "ContextTokens", "missing"},
        {"empty time", HEADER ",1,2\r\n", 0, CC_EFORMAT, 2, "TIMESTAMP", "missing"},
        {"extra column", HEADER "2023-11-16 18:15:50.9951690,396,109,7\r\n", 0, CC_EFORMAT, 2,
         "GeneratedTokens", "3 columns"},
        {"word for a count", HEADER "2023-11-16 18:15:50.9951690,abc,109\r\n", 0, CC_EFORMAT, 2,
         "ContextTokens", "abc"},
        {"real count", HEADER "2023-11-16 18:15:50.9951690,396,1.5\r\n", 0, CC_EFORMAT, 2,
         "GeneratedTokens", NULL},
        {"space in a count", HEADER "2023-11-16 18:15:50.9951690, 396,109\r\n", 0, CC_EFORMAT, 2,
         "ContextTokens", NULL},
        {"word for a time", HEADER "yesterday,1,2\r\n", 0, CC_EFORMAT, 2, "TIMESTAMP", "yesterday"},
        {"unix seconds", HEADER "1700158546.68,1,2\r\n", 0, CC_EFORMAT, 2, "TIMESTAMP", NULL},
        {"ten fractional digits", HEADER "2023-11-16 18:15:50.9951690123,1,2\r\n", 0, CC_EFORMAT, 2,
         "TIMESTAMP", NULL},
        {"no such date", HEADER "2023-02-29 18:15:50.9951690,1,2\r\n", 0, CC_ERANGE, 2, "TIMESTAMP",
         "no such date"},
        {"no such month", HEADER "2023-13-01 18:15:50.9951690,1,2\r\n", 0, CC_ERANGE, 2, "TIMESTAMP",
         NULL},
        {"no such hour", HEADER "2023-11-16 24:00:00.0000000,1,2\r\n", 0, CC_ERANGE, 2, "TIMESTAMP",
         "time of day"},
        {"absurd year", HEADER "9999-11-16 18:15:50.9951690,1,2\r\n", 0, CC_ERANGE, 2, "TIMESTAMP",
         NULL},
        {"negative count", HEADER ROW "2023-11-16 18:15:51.2224670,-5,55\r\n", 0, CC_ERANGE, 3,
         "ContextTokens", "negative"},
        {"absurd count", HEADER "2023-11-16 18:15:50.9951690,396,99999999999999999999\r\n", 0,
         CC_ERANGE, 2, "GeneratedTokens", "absurd"},
        {"16M tokens", HEADER "2023-11-16 18:15:50.9951690,16777216,1\r\n", 0, CC_ERANGE, 2,
         "ContextTokens", "absurd"},
        {"time backwards", HEADER ROW "2023-11-16 18:15:50.9951689,1,1\r\n", 0, CC_ERANGE, 3,
         "TIMESTAMP", "non-decreasing"},
        {"empty file", "", 0, CC_EFORMAT, 1, "header", "empty"},
        {"wrong header", "time,in,out\r\n" ROW, 0, CC_EFORMAT, 1, "header", "time,in,out"},
        {"no header", ROW ROW, 0, CC_EFORMAT, 1, "header", NULL},
        {"blank line inside", HEADER ROW "\r\n" ROW, 0, CC_EFORMAT, 3, "TIMESTAMP", "blank line"},
        {"invalid UTF-8 in a time", HEADER "2023-11-16 18:15:50.99\xff\xfe,1,2\r\n", 0, CC_EFORMAT,
         2, "TIMESTAMP", "\\xFF"},
        {"invalid UTF-8 in a count", HEADER "2023-11-16 18:15:50.9951690,3\xc3\x28,2\r\n", 0,
         CC_EFORMAT, 2, "ContextTokens", NULL},
        {"binary file", (const char *)elf, sizeof elf, CC_EFORMAT, 1, "header", "binary"},
        {"NUL in a row", HEADER "2023-11-16 18:15:50\0.9951690,1,2\r\n", sizeof HEADER - 1 + 34,
         CC_EFORMAT, 2, "TIMESTAMP", "binary"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char path[512];
        cc_trace t;
        cc_err e = {0};
        size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
        int rc = read_str("bad.csv", bad[i].text, len, &t, &e, path, sizeof path);
        if (rc != bad[i].code || e.line != bad[i].line || strcmp(e.field, bad[i].field) ||
            strcmp(e.file, path) || (bad[i].msg && !strstr(e.msg, bad[i].msg)))
            fail_msg("case '%s': got %s at line %ld, field '%s', file '%s': %s; expected %s at "
                     "line %ld, field '%s'",
                     bad[i].name, cc_status_name(rc), e.line, e.field, e.file, e.msg,
                     cc_status_name(bad[i].code), bad[i].line, bad[i].field);
        assert_int_equal(t.n, 0);
        unlink(path);
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_trace_read("/nonexistent/dir/azure.csv", "azure", NULL, &t, &e), CC_EIO);
    assert_string_equal(e.file, "/nonexistent/dir/azure.csv");
    assert_non_null(strstr(e.msg, strerror(ENOENT)));
}

/* ---- writer ----------------------------------------------------------------- */

static void add(cc_trace *t, int64_t at_ns, uint32_t in, uint32_t out)
{
    cc_request r = {0};
    r.arrival_ns = at_ns;
    r.input_tokens = in;
    r.output_tokens = out;
    r.group_id = CC_NO_GROUP;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static void test_writer_ns_and_refusals(void **state)
{
    (void)state;
    char out[512];
    tu_tmp_path(out, sizeof out, "w.csv");
    cc_err e = {0};
    cc_trace t, b;

    /* a time that is not a multiple of 100 ns keeps all 9 digits; epoch 0 is 1970 */
    cc_trace_init(&t);
    t.timed = true;
    add(&t, 0, 1, 2);
    add(&t, 86400 * INT64_C(1000000000) + 123456789, 3, 4);
    assert_int_equal(cc_write_azure(&t, out, &e), CC_OK);
    size_t n;
    char *got = tu_slurp(out, &n);
    assert_string_equal(got, HEADER "1970-01-01 00:00:00.0000000,1,2\r\n"
                                    "1970-01-02 00:00:00.123456789,3,4\r\n");
    free(got);
    assert_int_equal(cc_trace_read(out, "azure", NULL, &b, &e), CC_OK);
    assert_same_columns(&t, &b);
    cc_trace_free(&b);

    /* an empty trace is the header alone */
    cc_trace empty;
    cc_trace_init(&empty);
    assert_int_equal(cc_write_azure(&empty, out, &e), CC_OK);
    got = tu_slurp(out, &n);
    assert_string_equal(got, HEADER);
    free(got);
    unlink(out);

    /* times outside the years the reader accepts */
    t.epoch_ns = INT64_C(7289654400) * 1000000000; /* 2201-01-01 */
    assert_int_equal(cc_write_azure(&t, out, &e), CC_ERANGE);
    assert_string_equal(e.field, "TIMESTAMP");
    assert_int_not_equal(access(out, F_OK), 0);
    t.epoch_ns = INT64_MAX - 5;
    assert_int_equal(cc_write_azure(&t, out, &e), CC_ERANGE);
    assert_int_not_equal(access(out, F_OK), 0);

    /* no arrival times */
    t.epoch_ns = 0;
    t.timed = false;
    assert_int_equal(cc_write_azure(&t, out, &e), CC_EUNSUP);
    assert_int_not_equal(access(out, F_OK), 0);

    t.timed = true;
    assert_int_equal(cc_write_azure(&t, "/nonexistent/dir/a.csv", &e), CC_EIO);
    assert_string_equal(e.file, "/nonexistent/dir/a.csv");
    cc_trace_free(&t);
}

/* The memory bound (traces.h): a request of lengths only takes 65 bytes
 * (hand count: arrival 8, session 8, turn 4, tenant 4, input 4, output 4,
 * group 8, role 1, three offsets 24).  The hand file's 4 rows fit in 260
 * bytes; at 259 the fourth row (line 5) is refused with CC_ENOMEM. */
static void test_memory_bound(void **state)
{
    (void)state;
    char path[512];
    cc_trace t;
    cc_err e = {0};
    cc_read_opts o = {0};
    tu_write_tmp(path, sizeof path, "bound.csv", hand, sizeof hand - 1);
    o.max_bytes = 4 * 65;
    assert_int_equal(cc_trace_read(path, "azure", &o, &t, &e), CC_OK);
    assert_int_equal(t.n, 4);
    cc_trace_free(&t);
    o.max_bytes = 4 * 65 - 1;
    assert_int_equal(cc_trace_read(path, "azure", &o, &t, &e), CC_ENOMEM);
    assert_int_equal(e.line, 5);
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
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_writer_ns_and_refusals),
        cmocka_unit_test(test_memory_bound),
    };
    return cmocka_run_group_tests_name("azure", tests, NULL, NULL);
}
