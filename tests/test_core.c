/* test_core.c -- the error record, the u64 map (against a brute-force twin)
 * and block hash chains (against properties computed by hand). */
#include "testutil.h"
#include "core/core.h"

#include <gsl/gsl_rng.h>

static void test_err_print(void **state)
{
    (void)state;
    cc_err e = {0};
    int rc = cc_err_set(&e, CC_EFORMAT, "t.jsonl", 7, "hash_ids", "expected an array, got %s", "a string");
    assert_int_equal(rc, CC_EFORMAT);
    char buf[1024];
    FILE *f = fmemopen(buf, sizeof buf, "w");
    cc_err_print(&e, f);
    fclose(f);
    assert_string_equal(buf, "t.jsonl:7: field 'hash_ids': format error: expected an array, got a string\n");
    assert_int_equal(cc_err_set(NULL, CC_EIO, NULL, 0, NULL, "x"), CC_EIO);
}

/* Random inserts/deletes/lookups against a flat array indexed by key, keys
 * drawn from a small range (so collisions, deletes of present keys and
 * re-inserts are frequent) plus the reserved empty key itself. */
static void test_u64map_vs_bruteforce(void **state)
{
    (void)state;
    enum { KEYS = 4096, OPS = 400000 };
    static uint64_t val[KEYS + 1];
    static int present[KEYS + 1];
    memset(present, 0, sizeof present);
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 42);
    cc_u64map m;
    assert_int_equal(cc_u64map_init(&m, 4), CC_OK);
    size_t count = 0;
    for (int op = 0; op < OPS; op++) {
        unsigned k = (unsigned)gsl_rng_uniform_int(r, KEYS + 1);
        /* key KEYS maps to the reserved value; the others are spread out */
        uint64_t key = k == KEYS ? CC_U64MAP_EMPTY : (uint64_t)k * UINT64_C(0x10001) << 20;
        unsigned what = (unsigned)gsl_rng_uniform_int(r, 3);
        if (what == 0) {
            uint64_t *slot;
            int ins = cc_u64map_put(&m, key, op, &slot);
            assert_int_equal(ins, !present[k]);
            if (ins) {
                present[k] = 1;
                val[k] = (uint64_t)op;
                count++;
            }
            assert_int_equal(*slot, val[k]);
        } else if (what == 1) {
            int del = cc_u64map_del(&m, key);
            assert_int_equal(del, present[k]);
            if (del)
                count--;
            present[k] = 0;
        } else {
            uint64_t *v = cc_u64map_get(&m, key);
            if (present[k]) {
                assert_non_null(v);
                assert_int_equal(*v, val[k]);
            } else {
                assert_null(v);
            }
        }
        assert_int_equal(m.count, count);
    }
    cc_u64map_free(&m);
    gsl_rng_free(r);
}

static void test_block_chain(void **state)
{
    (void)state;
    uint32_t a[40], b[40];
    for (int i = 0; i < 40; i++)
        a[i] = b[i] = (uint32_t)(i * 7 + 1);
    b[35] = 999; /* differs in the 3rd block of 16 */
    uint64_t ha[3], hb[3], hc[3];
    assert_int_equal(cc_block_chain(0, a, 40, 16, ha), 3); /* ceil(40/16) */
    assert_int_equal(cc_block_chain(0, b, 40, 16, hb), 3);
    assert_true(ha[0] == hb[0] && ha[1] == hb[1]);
    assert_true(ha[2] != hb[2]);
    /* the chain commits to the parent: same block tokens after a different
     * prefix hash differently */
    uint32_t c[40];
    memcpy(c, a, sizeof c);
    c[0] = 12345;
    assert_int_equal(cc_block_chain(0, c, 40, 16, hc), 3);
    assert_true(hc[1] != ha[1] && hc[2] != ha[2]);
    /* tenant isolation */
    assert_int_equal(cc_block_chain(1, a, 40, 16, hc), 3);
    assert_true(hc[0] != ha[0]);
    /* a partial last block differs from the full block it starts */
    uint64_t h32[2];
    assert_int_equal(cc_block_chain(0, a, 20, 16, h32), 2);
    assert_true(h32[0] == ha[0] && h32[1] != ha[1]);
    /* explicit composition: h1 = H(H(root, t0), t1) */
    assert_true(ha[1] == cc_block_hash(cc_block_hash(CC_BLOCK_HASH_ROOT, 0, a, 16), 0, a + 16, 16));
    assert_int_equal(cc_block_chain(0, a, 0, 16, hc), 0);
    assert_int_equal(cc_block_chain(0, a, 10, 0, hc), 0);
}

/* Atomic output files: the temporary is PATH.tmp while written, PATH.tmp.1
 * when a second writer holds the first; a failure the caller reports without
 * a message still gets one (report on a full disk printed "ok: (no detail)");
 * nothing is left behind either way. */
static void test_outfile(void **state)
{
    (void)state;
    char path[512], tmp[600], tmp1[600];
    tu_tmp_path(path, sizeof path, "outfile.txt");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    snprintf(tmp1, sizeof tmp1, "%s.tmp.1", path);
    cc_err e = {0};
    cc_outfile a, b;
    assert_int_equal(cc_outfile_open(&a, path, &e), CC_OK);
    assert_string_equal(a.tmp.path, tmp);
    assert_int_equal(cc_outfile_open(&b, path, &e), CC_OK);
    assert_string_equal(b.tmp.path, tmp1);
    fputs("first", a.f);
    fputs("second", b.f);
    /* b fails: the caller saw ferror() and passes CC_EIO with no message */
    assert_int_equal(cc_outfile_close(&b, path, CC_EIO, &e), CC_EIO);
    assert_int_equal(e.code, CC_EIO);
    assert_string_equal(e.file, path);
    assert_non_null(strstr(e.msg, "write failed"));
    assert_int_equal(access(tmp1, F_OK), -1);
    assert_int_equal(access(path, F_OK), -1);
    cc_err ok = {0};
    assert_int_equal(cc_outfile_close(&a, path, CC_OK, &ok), CC_OK);
    assert_int_equal(access(tmp, F_OK), -1);
    size_t n;
    char *got = tu_slurp(path, &n);
    assert_string_equal(got, "first");
    free(got);
    unlink(path);
    assert_int_equal(cc_outfile_open(&a, "/nonexistent-dir/x.txt", &e), CC_EIO);
    assert_string_equal(e.file, "/nonexistent-dir/x.txt");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_err_print),
        cmocka_unit_test(test_u64map_vs_bruteforce),
        cmocka_unit_test(test_block_chain),
        cmocka_unit_test(test_outfile),
    };
    return cmocka_run_group_tests_name("core", tests, NULL, NULL);
}
