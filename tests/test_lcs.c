/* test_lcs.c -- libCacheSim csv and oracleGeneral formats (traces/lcs.c):
 * round trips, next_access_vtime against a brute-force scan, hand-made
 * files in the variants libCacheSim users have, the bad-input tables, and on
 * the Mooncake trace (when present) LRU/FIFO miss ratios of the written and
 * re-read access sequence against libCacheSim's published figures. */
#include "testutil.h"
#include "traces/traces.h"

#include <dirent.h>
#include <jansson.h>

#define TU_PATH 1200 /* room for build/tmp/PID_name without truncation */

/* ---- helpers --------------------------------------------------------------- */

static void add_req(cc_trace *t, int64_t arrival_ns, const uint64_t *b, uint32_t nb)
{
    cc_request r = {0};
    r.arrival_ns = arrival_ns;
    r.input_tokens = nb * 4;
    r.group_id = CC_NO_GROUP;
    r.session_id = t->n;
    r.blocks = b;
    r.n_blocks = nb;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

/* Requests with repeats, extreme hashes and sub-second arrivals. */
static void sample_trace(cc_trace *t)
{
    cc_trace_init(t);
    t->block_size = 4;
    t->timed = true;
    uint64_t r0[] = {7, 8, 9}, r1[] = {7, 8, 10, 11}, r2[] = {UINT64_MAX, 0, 7},
             r3[] = {12}, r4[] = {7, 8, 9}, r5[] = {0x8000000000000000ull, 11};
    add_req(t, 0, r0, 3);
    add_req(t, 1500000000, r1, 4);     /* 1.5 s */
    add_req(t, 1500000001, r2, 3);     /* 1.500000001 s */
    add_req(t, 7000000000, r3, 1);     /* 7 s */
    add_req(t, 7250000000, r4, 3);     /* 7.25 s */
    add_req(t, 86400000000000, r5, 2); /* one day */
}


static uint64_t le(const unsigned char *p, int n)
{
    uint64_t v = 0;
    for (int i = 0; i < n; i++)
        v |= (uint64_t)p[i] << (8 * i);
    return v;
}

/* One 24-byte oracleGeneral record, little-endian, written by hand. */
static void rec(unsigned char *p, uint32_t ts, uint64_t id, uint32_t size, int64_t next)
{
    for (int i = 0; i < 4; i++)
        p[i] = (unsigned char)(ts >> (8 * i));
    for (int i = 0; i < 8; i++)
        p[4 + i] = (unsigned char)(id >> (8 * i));
    for (int i = 0; i < 4; i++)
        p[12 + i] = (unsigned char)(size >> (8 * i));
    for (int i = 0; i < 8; i++)
        p[16 + i] = (unsigned char)((uint64_t)next >> (8 * i));
}

/* No file named path, and no temporary sibling left in its folder. */
static void assert_no_output(const char *path)
{
    assert_int_not_equal(access(path, F_OK), 0);
    char dir[TU_PATH];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    assert_non_null(slash);
    *slash = '\0';
    const char *base = slash + 1;
    char prefix[TU_PATH];
    snprintf(prefix, sizeof prefix, "%s.tmp", path + (base - dir));
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    while ((de = readdir(d)))
        assert_false(strncmp(de->d_name, prefix, strlen(prefix)) == 0);
    closedir(d);
}

/* ---- round trips ---------------------------------------------------------------- */

static void check_round_trip(const char *fmt, const char *name, int exact_time)
{
    cc_trace t, back;
    sample_trace(&t);
    char path[TU_PATH];
    tu_tmp_path(path, sizeof path, name);
    cc_err e = {0};
    assert_int_equal(cc_trace_write(&t, path, fmt, &e), CC_OK);
    /* format detected from the content (and name) */
    assert_int_equal(cc_trace_read(path, NULL, NULL, &back, &e), CC_OK);
    assert_string_equal(back.source_format, fmt);
    size_t total = cc_trace_n_blocks_total(&t);
    assert_int_equal(back.n, total);
    assert_int_equal(cc_trace_n_blocks_total(&back), total);
    assert_int_equal(back.block_size, 1);
    assert_true(back.timed);
    size_t k = 0;
    for (size_t i = 0; i < t.n; i++) {
        cc_request r = cc_trace_get(&t, i);
        for (uint32_t b = 0; b < r.n_blocks; b++, k++) {
            cc_request q = cc_trace_get(&back, k);
            assert_int_equal(q.n_blocks, 1);
            assert_true(q.blocks[0] == r.blocks[b]);
            assert_int_equal(q.input_tokens, 1);
            int64_t want = exact_time ? r.arrival_ns : r.arrival_ns / 1000000000 * 1000000000;
            assert_true(q.arrival_ns == want);
        }
    }
    cc_trace_free(&back);
    cc_trace_free(&t);
    unlink(path);
}

static void test_round_trip_csv(void **state)
{
    (void)state;
    check_round_trip("lcs-csv", "rt.csv", 1);
}

static void test_round_trip_oracle(void **state)
{
    (void)state;
    check_round_trip("lcs-oracle", "rt.oracleGeneral", 0);
}

/* The csv text itself, by hand: header, decimal seconds, decimal ids. */
static void test_csv_written_text(void **state)
{
    (void)state;
    cc_trace t;
    cc_trace_init(&t);
    uint64_t a[] = {5, UINT64_MAX}, b[] = {5};
    add_req(&t, 2000000000, a, 2);
    add_req(&t, 2000000010, b, 1);
    char path[TU_PATH];
    tu_tmp_path(path, sizeof path, "text.csv");
    cc_err e = {0};
    assert_int_equal(cc_write_lcs_csv(&t, path, &e), CC_OK);
    size_t n;
    char *s = tu_slurp(path, &n);
    const char *want = "timestamp,obj_id,obj_size\n"
                       "2,5,1\n"
                       "2,18446744073709551615,1\n"
                       "2.00000001,5,1\n";
    assert_int_equal(n, strlen(want));
    assert_memory_equal(s, want, n);
    free(s);
    unlink(path);
    cc_trace_free(&t);
}

/* next_access_vtime from the writer against an O(n^2) scan; plus the bytes
 * of a three-access file worked out by hand. */
static void test_oracle_next_access(void **state)
{
    (void)state;
    cc_trace t;
    sample_trace(&t);
    /* a longer tail with many repeats */
    for (int i = 0; i < 200; i++) {
        uint64_t b[3] = {(uint64_t)(i % 7), (uint64_t)(i % 13) + 100, (uint64_t)i * 2654435761u};
        add_req(&t, 86400000000000 + (int64_t)i * 1000000000, b, 3);
    }
    char path[TU_PATH];
    tu_tmp_path(path, sizeof path, "next.oracleGeneral");
    cc_err e = {0};
    assert_int_equal(cc_write_lcs_oracle(&t, path, &e), CC_OK);
    size_t len;
    unsigned char *d = (unsigned char *)tu_slurp(path, &len);
    size_t total = cc_trace_n_blocks_total(&t);
    assert_int_equal(len, total * 24);
    size_t k = 0;
    for (size_t i = 0; i < t.n; i++)
        for (uint64_t b = t.block_off[i]; b < t.block_off[i + 1]; b++, k++) {
            const unsigned char *p = d + k * 24;
            assert_int_equal(le(p, 4), (uint64_t)(t.arrival_ns[i] / 1000000000));
            assert_true(le(p + 4, 8) == t.blocks[b]);
            assert_int_equal(le(p + 12, 4), 1);
            int64_t want = -1;
            for (size_t j = k + 1; j < total; j++)
                if (t.blocks[j] == t.blocks[k]) {
                    want = (int64_t)j + 1; /* 1-based position */
                    break;
                }
            assert_true((int64_t)le(p + 16, 8) == want);
        }
    free(d);
    unlink(path);
    cc_trace_free(&t);

    /* accesses A B A at 0, 0, 3 s: A -> record 3, B never, A never */
    cc_trace_init(&t);
    uint64_t ab[] = {0xAA, 0xBB}, a[] = {0xAA};
    add_req(&t, 0, ab, 2);
    add_req(&t, 3000000000, a, 1);
    assert_int_equal(cc_write_lcs_oracle(&t, path, &e), CC_OK);
    d = (unsigned char *)tu_slurp(path, &len);
    unsigned char want[72];
    rec(want, 0, 0xAA, 1, 3);
    rec(want + 24, 0, 0xBB, 1, -1);
    rec(want + 48, 3, 0xAA, 1, -1);
    assert_int_equal(len, 72);
    assert_memory_equal(d, want, 72);
    free(d);
    unlink(path);
    cc_trace_free(&t);
}

/* ---- hand-made files -------------------------------------------------------- */

typedef struct good_csv {
    const char *name;
    const char *text;
    size_t n;
    bool timed;
    uint32_t block_size;
    uint64_t id_last;
    uint32_t size_last;
    int64_t ns_last;
} good_csv;

static void test_csv_variants(void **state)
{
    (void)state;
    static const good_csv cases[] = {
        {"headerless", "0,5,10\n1,6,20\n", 2, true, 20, 6, 20, 1000000000},
        {"headerless two columns", "3,9\n4,9\n4,10\n", 3, true, 1, 10, 1, 4000000000},
        {"ctxcache header", "timestamp,obj_id,obj_size\n0.5,1,1\n2.25,2,1\n", 2, true, 1, 2, 1,
         2250000000},
        {"reordered pipe header", "obj_id|size|time\n77|3|10\n78|8|11\n", 2, true, 8, 78, 8,
         11000000000},
        {"tracePrint header", "# time,object,size,next_access_vtime\n1,4,512,3\n2,5,512,-1\n"
                              "2,4,512,-1\n", 3, true, 512, 4, 512, 2000000000},
        {"cloudPhysics columns", "version,time,op,size,lbn\n1,5633898,2a,512,42932745\n"
                                 "1,5633899,2b,6656,40409911\n", 2, true, 6656, 40409911,
         6656, 5633899000000000},
        {"tabs, CRLF, quotes, spaces", "\"Time\"\t\"Key\"\t\"Bytes\"\r\n 1 \t 0x1F \t 2 \r\n"
                                        "\r\n2\t\"31\"\t4\r\n", 2, true, 4, 31, 4,
         2000000000},
        {"no time column", "key,size\n1,3\n2,3\n", 2, false, 3, 2, 3, 0},
        {"no size column", "ts;id\n0;1\n1e1;2\n", 2, true, 1, 2, 1, 10000000000},
        {"nanoseconds kept", "time,id\n1.123456789,1\n1.1234567891,2\n", 2, true, 1, 2, 1,
         1123456789},
        {"no final newline", "time,id,size\n0,1,1\n1,2,1", 2, true, 1, 2, 1, 1000000000},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        const good_csv *g = &cases[c];
        char path[TU_PATH];
        tu_write_tmp(path, sizeof path, "good.csv", g->text, strlen(g->text));
        cc_trace t;
        cc_err e = {0};
        int rc = cc_trace_read(path, "lcs-csv", NULL, &t, &e);
        if (rc != CC_OK)
            fail_msg("%s: %s line %ld field %s: %s", g->name, cc_status_name(rc), e.line,
                     e.field, e.msg);
        assert_int_equal(t.n, g->n);
        assert_int_equal(t.timed, g->timed);
        assert_int_equal(t.block_size, g->block_size);
        cc_request r = cc_trace_get(&t, t.n - 1);
        assert_int_equal(r.n_blocks, 1);
        if (r.blocks[0] != g->id_last || r.input_tokens != g->size_last ||
            r.arrival_ns != g->ns_last)
            fail_msg("%s: last request id %llu size %u at %lld ns", g->name,
                     (unsigned long long)r.blocks[0], r.input_tokens, (long long)r.arrival_ns);
        cc_trace_free(&t);
        /* detection picks the same reader (the .csv name helps) */
        const cc_format *f = cc_format_detect(path, &e);
        if (!f || strcmp(f->name, "lcs-csv"))
            fail_msg("%s: detected as %s", g->name, f ? f->name : "nothing");
        unlink(path);
    }
}

static void test_oracle_hand_made(void **state)
{
    (void)state;
    /* cut trace (next beyond the end), -2 "not recorded", INT64_MAX "never" */
    unsigned char d[4 * 24];
    rec(d, 10, 42, 100, 3);
    rec(d + 24, 10, 43, 7, INT64_MAX);
    rec(d + 48, 12, 42, 100, 99);
    rec(d + 72, 4000000000u, 44, 4096, -2);
    char path[TU_PATH];
    tu_write_tmp(path, sizeof path, "hand.bin", d, sizeof d);
    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_trace_read(path, NULL, NULL, &t, &e), CC_OK);
    assert_string_equal(t.source_format, "lcs-oracle");
    assert_int_equal(t.n, 4);
    assert_int_equal(t.block_size, 4096);
    cc_request r = cc_trace_get(&t, 1);
    assert_int_equal(r.blocks[0], 43);
    assert_int_equal(r.input_tokens, 7);
    assert_true(r.arrival_ns == 10000000000);
    r = cc_trace_get(&t, 3);
    assert_true(r.arrival_ns == 4000000000ll * 1000000000ll);
    assert_int_equal(r.input_tokens, 4096);
    cc_trace_free(&t);
    unlink(path);

    /* a tenant name from the options */
    tu_write_tmp(path, sizeof path, "hand.oracleGeneral", d, sizeof d);
    cc_read_opts o = {0};
    o.tenant = "llama@1";
    assert_int_equal(cc_trace_read(path, NULL, &o, &t, &e), CC_OK);
    assert_string_equal(t.tenants[0], "default");
    assert_string_equal(t.tenants[cc_trace_get(&t, 0).tenant], "llama@1");
    cc_trace_free(&t);
    unlink(path);
}

/* ---- bad input ------------------------------------------------------------- */

typedef struct bad_case {
    const char *name;
    const char *data;
    size_t len; /* 0 = strlen(data) */
    int rc;
    long line;
    const char *field;
} bad_case;

#define H "timestamp,obj_id,obj_size\n"

static void run_bad(const char *fmt, const bad_case *cases, size_t n, const char *fname)
{
    for (size_t c = 0; c < n; c++) {
        const bad_case *b = &cases[c];
        char path[TU_PATH];
        tu_write_tmp(path, sizeof path, fname, b->data, b->len ? b->len : strlen(b->data));
        cc_trace t;
        cc_err e = {0};
        int rc = cc_trace_read(path, fmt, NULL, &t, &e);
        if (rc != b->rc || e.line != b->line || strcmp(e.field, b->field) != 0 || !e.msg[0] ||
            strcmp(e.file, path) != 0)
            fail_msg("%s: got %s line %ld field '%s' (%s); expected %s line %ld field '%s'",
                     b->name, cc_status_name(rc), e.line, e.field, e.msg,
                     cc_status_name(b->rc), b->line, b->field);
        assert_int_equal(t.n, 0); /* nothing handed back */
        unlink(path);
    }
}

static void test_csv_bad_input(void **state)
{
    (void)state;
    static const bad_case cases[] = {
        {"truncated last line", H "0,1,1\n1,2", 0, CC_EFORMAT, 3, "obj_size"},
        {"missing field", H "0,1,1\n1,2\n2,3,1\n", 0, CC_EFORMAT, 3, "obj_size"},
        {"empty field", H "0,1,1\n1,,1\n", 0, CC_EFORMAT, 3, "obj_id"},
        {"extra field", H "0,1,1\n1,2,1,9\n", 0, CC_EFORMAT, 3, "columns"},
        {"wrong type id", H "0,1,1\n1,abc,1\n", 0, CC_EFORMAT, 3, "obj_id"},
        {"wrong type time", H "0,1,1\nnoon,2,1\n", 0, CC_EFORMAT, 3, "timestamp"},
        {"wrong type size", H "0,1,1.5\n", 0, CC_EFORMAT, 2, "obj_size"},
        {"negative time", H "-3,1,1\n", 0, CC_ERANGE, 2, "timestamp"},
        {"negative size", H "0,1,-1\n", 0, CC_ERANGE, 2, "obj_size"},
        {"negative id", H "0,-1,1\n", 0, CC_ERANGE, 2, "obj_id"},
        {"absurd size", H "0,1,4294967296\n", 0, CC_ERANGE, 2, "obj_size"},
        {"zero size", H "0,1,0\n", 0, CC_ERANGE, 2, "obj_size"},
        {"absurd time", H "99999999999,1,1\n", 0, CC_ERANGE, 2, "timestamp"},
        {"absurd time exponent", H "1e300,1,1\n", 0, CC_ERANGE, 2, "timestamp"},
        {"absurd id", H "0,18446744073709551616,1\n", 0, CC_ERANGE, 2, "obj_id"},
        {"time backwards", H "5,1,1\n4.5,2,1\n", 0, CC_ERANGE, 3, "timestamp"},
        {"time backwards, header names", "Time,Key,Bytes\n5,1,1\n4,2,1\n", 0, CC_ERANGE, 3,
         "Time"},
        {"header names wrong type", "Time,Key,Bytes\n0,1,1\n1,zz,1\n", 0, CC_EFORMAT, 3, "Key"},
        {"empty file", "", 0, CC_EFORMAT, 1, "records"},
        {"blank lines only", "\n\n", 0, CC_EFORMAT, 2, "records"},
        {"header only", H, 0, CC_EFORMAT, 1, "records"},
        {"no id column", "time,size\n1,1\n", 0, CC_EFORMAT, 1, "header"},
        {"two id columns", "id,time,key\n1,1,1\n", 0, CC_EFORMAT, 1, "key"},
        {"one column", "5\n6\n", 0, CC_EFORMAT, 1, "obj_id"},
        {"invalid UTF-8", H "0,1,1\n1,\xff\xfe,1\n", 0, CC_EFORMAT, 3, "obj_id"},
        {"valid UTF-8 is still not ASCII", H "0,1,1\n1,2,\xc3\xa9\n", 0, CC_EFORMAT, 3,
         "obj_size"},
        {"binary given as text", "\x01\x00\x00\x00\x2a\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00"
                                 "\x00\xff\xff\xff\xff\xff\xff\xff\xff", 24, CC_EFORMAT, 1,
         "header"},
        {"binary in a row", H "0,1,1\n1,2\x00,1\n", sizeof(H "0,1,1\n1,2\x00,1\n") - 1,
         CC_EFORMAT, 3, "obj_id"},
    };
    run_bad("lcs-csv", cases, sizeof cases / sizeof cases[0], "bad.csv");

    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_trace_read("/nonexistent/x.csv", "lcs-csv", NULL, &t, &e), CC_EIO);
    assert_non_null(strstr(e.file, "/nonexistent/x.csv"));
}

static void test_oracle_bad_input(void **state)
{
    (void)state;
    static unsigned char good3[72], trunc[82], zero_size[48], back[72], next_back[48],
        next_neg[48], next_wrong[72];
    rec(good3, 1, 5, 1, 3);
    rec(good3 + 24, 1, 6, 1, -1);
    rec(good3 + 48, 2, 5, 1, -1);
    memcpy(trunc, good3, 72);
    memset(trunc + 72, 0x11, 10);
    rec(zero_size, 1, 5, 1, -1);
    rec(zero_size + 24, 1, 6, 0, -1);
    memcpy(back, good3, 72);
    rec(back + 48, 0, 5, 1, -1);
    rec(next_back, 1, 5, 1, -1);
    rec(next_back + 24, 1, 5, 1, 1);
    rec(next_neg, 1, 5, 1, -7);
    rec(next_neg + 24, 1, 6, 1, -1);
    memcpy(next_wrong, good3, 72);
    rec(next_wrong, 1, 5, 1, 2); /* record 2 holds obj 6, not 5 */
    /* CSV text cut to 48 bytes: record 2's timestamp bytes "e\n0," read as
     * 0x2c300a65 < record 1's "time" = 0x656d6974 */
    static const char text48[] = "timestamp,obj_id,obj_size\n0,1,1\n1,2,1\n2,3,1\n12345";
    const bad_case cases[] = {
        {"empty file", "", 0, CC_EFORMAT, 1, "record"},
        {"truncated record", (const char *)trunc, sizeof trunc, CC_EFORMAT, 4, "record"},
        {"size 23", (const char *)good3, 23, CC_EFORMAT, 1, "record"},
        {"size 25", (const char *)good3, 25, CC_EFORMAT, 2, "record"},
        {"obj_size 0", (const char *)zero_size, sizeof zero_size, CC_ERANGE, 2, "obj_size"},
        {"time backwards", (const char *)back, sizeof back, CC_ERANGE, 3, "timestamp"},
        {"next access backwards", (const char *)next_back, sizeof next_back, CC_ERANGE, 2,
         "next_access_vtime"},
        {"next access negative", (const char *)next_neg, sizeof next_neg, CC_ERANGE, 1,
         "next_access_vtime"},
        {"next access other object", (const char *)next_wrong, sizeof next_wrong, CC_EFORMAT, 1,
         "next_access_vtime"},
        {"text given as binary", text48, 48, CC_ERANGE, 2, "timestamp"},
    };
    run_bad("lcs-oracle", cases, sizeof cases / sizeof cases[0], "bad.oracleGeneral");

    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_trace_read("/nonexistent/x.oracleGeneral", "lcs-oracle", NULL, &t, &e),
                     CC_EIO);
}

/* ---- detection and writer failures ---------------------------------------- */

static void test_detection(void **state)
{
    (void)state;
    unsigned char d[48];
    rec(d, 1, 5, 1, 2);
    rec(d + 24, 1, 5, 1, -1);
    char path[TU_PATH];
    cc_err e = {0};
    const char *names[] = {"det.oracleGeneral", "det.oracleGeneral.bin", "det.bin", "det"};
    for (size_t i = 0; i < 4; i++) {
        tu_write_tmp(path, sizeof path, names[i], d, sizeof d);
        const cc_format *f = cc_format_detect(path, &e);
        assert_non_null(f);
        assert_string_equal(f->name, "lcs-oracle");
        unlink(path);
    }
    /* Azure's csv names no object id: not a libCacheSim csv */
    const char *azure = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                        "2023-11-16 18:15:46.6805900,374,44\n";
    tu_write_tmp(path, sizeof path, "azure.csv", azure, strlen(azure));
    const cc_format *f = cc_format_detect(path, &e);
    assert_true(f == NULL || strcmp(f->name, "lcs-csv") != 0);
    unlink(path);
    /* csv text named .oracleGeneral is still csv by content */
    const char *csv = "timestamp,obj_id,obj_size\n0,1,1\n1,2,1\n";
    tu_write_tmp(path, sizeof path, "x.oracleGeneral", csv, strlen(csv));
    f = cc_format_detect(path, &e);
    assert_non_null(f);
    assert_string_equal(f->name, "lcs-csv");
    unlink(path);
}

static void test_write_failures(void **state)
{
    (void)state;
    char path[TU_PATH];
    cc_err e = {0};
    cc_trace t;
    /* no block hashes */
    cc_trace_init(&t);
    add_req(&t, 0, NULL, 0);
    tu_tmp_path(path, sizeof path, "noblocks.csv");
    assert_int_equal(cc_write_lcs_csv(&t, path, &e), CC_EUNSUP);
    assert_string_equal(e.field, "blocks");
    assert_no_output(path);
    tu_tmp_path(path, sizeof path, "noblocks.oracleGeneral");
    assert_int_equal(cc_write_lcs_oracle(&t, path, &e), CC_EUNSUP);
    assert_no_output(path);
    cc_trace_free(&t);
    /* arrival beyond uint32 seconds: oracle refuses, csv does not */
    cc_trace_init(&t);
    uint64_t b[] = {1};
    add_req(&t, 0, b, 1);
    add_req(&t, (int64_t)4294967296 * 1000000000, b, 1);
    tu_tmp_path(path, sizeof path, "late.oracleGeneral");
    assert_int_equal(cc_write_lcs_oracle(&t, path, &e), CC_ERANGE);
    assert_string_equal(e.field, "arrival_ns");
    assert_non_null(strstr(e.msg, "request 2"));
    assert_no_output(path);
    tu_tmp_path(path, sizeof path, "late.csv");
    assert_int_equal(cc_write_lcs_csv(&t, path, &e), CC_OK);
    unlink(path);
    cc_trace_free(&t);
    /* unwritable place */
    cc_trace_init(&t);
    add_req(&t, 0, b, 1);
    assert_int_equal(cc_write_lcs_csv(&t, "/nonexistent/dir/x.csv", &e), CC_EIO);
    assert_int_equal(cc_write_lcs_oracle(&t, "/nonexistent/dir/x.oracleGeneral", &e), CC_EIO);
    cc_trace_free(&t);
}

/* ---- Mooncake: miss ratios of the re-read sequence vs libCacheSim -------- */

typedef struct lru_sim {
    cc_u64map where; /* id -> node */
    uint64_t *id;
    uint32_t *prev, *next;
    uint32_t head, tail, used, cap;
} lru_sim;
#define NIL UINT32_MAX

/* Exact LRU (touch_on_hit) or FIFO (!touch_on_hit) over unit objects:
 * returns misses. A doubly linked list over node indices, map id -> node. */
static uint64_t count_misses(const cc_trace *t, uint32_t cap, int touch_on_hit)
{
    lru_sim s;
    assert_int_equal(cc_u64map_init(&s.where, cap), CC_OK);
    s.id = malloc(cap * sizeof *s.id);
    s.prev = malloc(cap * sizeof *s.prev);
    s.next = malloc(cap * sizeof *s.next);
    s.head = s.tail = NIL;
    s.used = 0;
    s.cap = cap;
    uint64_t misses = 0;
    size_t total = cc_trace_n_blocks_total(t);
    for (size_t k = 0; k < total; k++) {
        uint64_t x = t->blocks[k];
        uint64_t *slot = cc_u64map_get(&s.where, x);
        uint32_t node;
        if (slot) {
            if (!touch_on_hit)
                continue;
            node = (uint32_t)*slot;
            if (node == s.head)
                continue;
            /* unlink, then push at head */
            s.next[s.prev[node]] = s.next[node];
            if (s.next[node] != NIL)
                s.prev[s.next[node]] = s.prev[node];
            else
                s.tail = s.prev[node];
        } else {
            misses++;
            if (s.used < cap) {
                node = s.used++;
            } else {
                node = s.tail;
                s.tail = s.prev[node];
                if (s.tail != NIL)
                    s.next[s.tail] = NIL;
                else
                    s.head = NIL;
                cc_u64map_del(&s.where, s.id[node]);
            }
            s.id[node] = x;
            uint64_t *v;
            assert_true(cc_u64map_put(&s.where, x, node, &v) >= 0);
        }
        s.prev[node] = NIL;
        s.next[node] = s.head;
        if (s.head != NIL)
            s.prev[s.head] = node;
        s.head = node;
        if (s.tail == NIL)
            s.tail = node;
    }
    cc_u64map_free(&s.where);
    free(s.id);
    free(s.prev);
    free(s.next);
    return misses;
}

static void test_mooncake_miss_ratios(void **state)
{
    (void)state;
    const char *src = TU_DATA_OR_SKIP("mooncake/conversation_trace.jsonl");
    /* build the trace from the jsonl directly (hash_ids in order) */
    FILE *f = fopen(src, "r");
    assert_non_null(f);
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 512;
    char *line = NULL;
    size_t cap = 0;
    uint64_t ids[4096];
    while (getline(&line, &cap, f) > 0) {
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        assert_non_null(o);
        json_t *h = json_object_get(o, "hash_ids");
        size_t n = json_array_size(h);
        assert_true(n <= 4096);
        for (size_t i = 0; i < n; i++)
            ids[i] = (uint64_t)json_integer_value(json_array_get(h, i));
        cc_request r = {0};
        r.arrival_ns = json_integer_value(json_object_get(o, "timestamp")) * 1000000;
        r.input_tokens = (uint32_t)json_integer_value(json_object_get(o, "input_length"));
        r.group_id = CC_NO_GROUP;
        r.blocks = ids;
        r.n_blocks = (uint32_t)n;
        assert_int_equal(cc_trace_append(&t, &r), CC_OK);
        json_decref(o);
    }
    free(line);
    fclose(f);
    assert_int_equal(cc_trace_n_blocks_total(&t), 288500);

    /* libCacheSim's cachesim on the same accesses (reference README.md) */
    static const struct { int lru; uint32_t cap; double miss; } ref[] = {
        {1, 1000, 0.9555}, {1, 10000, 0.7888}, {1, 50000, 0.6454},
        {0, 1000, 0.9565}, {0, 10000, 0.8135}, {0, 50000, 0.6600},
    };
    const char *fmts[] = {"lcs-csv", "lcs-oracle"};
    const char *names[] = {"moon.csv", "moon.oracleGeneral"};
    for (int fi = 0; fi < 2; fi++) {
        char path[TU_PATH];
        tu_tmp_path(path, sizeof path, names[fi]);
        cc_err e = {0};
        assert_int_equal(cc_trace_write(&t, path, fmts[fi], &e), CC_OK);
        cc_trace back;
        assert_int_equal(cc_trace_read(path, NULL, NULL, &back, &e), CC_OK);
        assert_string_equal(back.source_format, fmts[fi]);
        assert_int_equal(back.n, 288500);
        assert_memory_equal(back.blocks, t.blocks, 288500 * sizeof(uint64_t));
        for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
            uint64_t m = count_misses(&back, ref[i].cap, ref[i].lru);
            double ratio = (double)m / 288500;
            if (fabs(ratio - ref[i].miss) > 0.00005)
                fail_msg("%s %s %u: miss ratio %.6f, libCacheSim %.4f", fmts[fi],
                         ref[i].lru ? "lru" : "fifo", ref[i].cap, ratio, ref[i].miss);
        }
        cc_trace_free(&back);
        unlink(path);
    }
    cc_trace_free(&t);
}

/* The memory bound (traces.h): a request of one block takes 65 bytes of
 * columns and 8 of hash (hand count: arrival 8, session 8, turn 4, tenant
 * 4, input 4, output 4, group 8, role 1, three offsets 24; one u64 hash),
 * 73 a row; oracleGeneral holds 8 more a record (next_access_vtime) while
 * it checks the file, 81.  A bound of exactly that fits; one byte less is
 * CC_ENOMEM, csv at the row that crosses it, oracle before reading. */
static void test_memory_bound(void **state)
{
    (void)state;
    const char *csv = H "1,10,1\n2,11,1\n3,12,1\n4,13,1\n";
    char path[TU_PATH];
    cc_trace t;
    cc_err e = {0};
    cc_read_opts o = {0};
    tu_write_tmp(path, sizeof path, "bound.csv", csv, strlen(csv));
    o.max_bytes = 4 * 73;
    assert_int_equal(cc_trace_read(path, "lcs-csv", &o, &t, &e), CC_OK);
    assert_int_equal(t.n, 4);
    cc_trace_free(&t);
    o.max_bytes = 4 * 73 - 1;
    assert_int_equal(cc_trace_read(path, "lcs-csv", &o, &t, &e), CC_ENOMEM);
    assert_int_equal(e.line, 5); /* the fourth row, after the header */
    assert_string_equal(e.field, "records");
    assert_non_null(strstr(e.msg, "CTXCACHE_MAX_MEMORY"));
    assert_int_equal(t.n, 0);
    unlink(path);

    unsigned char d[3 * 24];
    rec(d, 1, 42, 1, -1);
    rec(d + 24, 2, 43, 1, -1);
    rec(d + 48, 3, 44, 1, -1);
    tu_write_tmp(path, sizeof path, "bound.oracleGeneral", d, sizeof d);
    o.max_bytes = 3 * 81;
    assert_int_equal(cc_trace_read(path, "lcs-oracle", &o, &t, &e), CC_OK);
    assert_int_equal(t.n, 3);
    cc_trace_free(&t);
    o.max_bytes = 3 * 81 - 1;
    assert_int_equal(cc_trace_read(path, "lcs-oracle", &o, &t, &e), CC_ENOMEM);
    assert_string_equal(e.field, "records");
    assert_non_null(strstr(e.msg, "3 records"));
    assert_int_equal(t.n, 0);
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_csv),
        cmocka_unit_test(test_round_trip_oracle),
        cmocka_unit_test(test_csv_written_text),
        cmocka_unit_test(test_oracle_next_access),
        cmocka_unit_test(test_csv_variants),
        cmocka_unit_test(test_oracle_hand_made),
        cmocka_unit_test(test_csv_bad_input),
        cmocka_unit_test(test_oracle_bad_input),
        cmocka_unit_test(test_detection),
        cmocka_unit_test(test_write_failures),
        cmocka_unit_test(test_mooncake_miss_ratios),
        cmocka_unit_test(test_memory_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
