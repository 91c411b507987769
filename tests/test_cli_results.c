/* test_cli_results.c -- `ctxcache results FILE.h5 --csv`: every column of
 * the CSV equals the dataset h5py reads from the file (h5py: an independent
 * reader of the same bytes), rows in trace order, per-tier columns named by
 * the tiers; -o writes the same bytes atomically; bad inputs (a trace file,
 * a file that is not HDF5, a missing file) exit 1 naming the file and what
 * was expected; usage errors exit 2. */
#include "testutil.h"

static char trace[512], res[512];

static int setup(void **state)
{
    (void)state;
    char cmd[2048];
    tu_tmp_path(trace, sizeof trace, "results_trace.h5");
    tu_tmp_path(res, sizeof res, "results_run.h5");
    snprintf(cmd, sizeof cmd,
             "%s gen default -o %s --seed 5 >/dev/null 2>&1 && %s replay %s --tiers "
             "hbm:800,dram:3000 --concurrency immediate --max-requests 400 -o %s >/dev/null",
             tu_bin(), trace, tu_bin(), trace, res);
    return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    unlink(trace);
    unlink(res);
    return 0;
}

/* A run with the semantic and blend tiers (schema 1.3): their per-request
 * datasets become columns semantic_outcome, blend_tokens and
 * blend_recompute_tokens, equal to what h5py reads. */
static void test_csv_tier_columns(void **state)
{
    (void)state;
    char r3[512], csv[512], cmd[4096], *out = NULL;
    tu_tmp_path(r3, sizeof r3, "results_tiers.h5");
    tu_tmp_path(csv, sizeof csv, "results_tiers.csv");
    snprintf(cmd, sizeof cmd, "%s replay %s --tiers hbm:800,dram:3000 --max-requests 400 "
             "--semantic --blend -o %s >/dev/null 2>&1 && %s results %s --csv > %s", tu_bin(),
             trace, r3, tu_bin(), r3, csv);
    assert_int_equal(system(cmd), 0);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import csv, h5py\n"
             "rows = list(csv.DictReader(open('%s')))\n"
             "f = h5py.File('%s', 'r')\n"
             "for c, d in (('semantic_outcome', 'semantic/outcome'), "
             "('blend_tokens', 'blend/blend_tokens'), "
             "('blend_recompute_tokens', 'blend/recompute_tokens')):\n"
             "    assert [int(r[c]) for r in rows] == list(f[d][:]), c\n"
             "assert sum(int(r['semantic_outcome']) >= 2 for r in rows) == f['semantic'].attrs['hits']\n"
             "print('tier columns ok')\n\"", csv, r3);
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s", out);
    free(out);
    unlink(r3);
    unlink(csv);
}

static void test_csv_matches_h5py(void **state)
{
    (void)state;
    char csv[512], cmd[4096], *out = NULL;
    tu_tmp_path(csv, sizeof csv, "results.csv");
    snprintf(cmd, sizeof cmd, "%s results %s --csv > %s", tu_bin(), res, csv);
    assert_int_equal(system(cmd), 0);
    char script[4096], sp[512];
    snprintf(script, sizeof script,
             "import csv, h5py, numpy as np\n"
             "rows = list(csv.DictReader(open('%s')))\n"
             "f = h5py.File('%s', 'r')\n"
             "tiers = [t.decode() for t in f['tiers/name'][:]]\n"
             "assert len(rows) == 400 == f['requests/index'].shape[0], len(rows)\n"
             "seen = 0\n"
             "for g in ('requests', 'sim/requests'):\n"
             "    for name, d in f[g].items():\n"
             "        if g == 'sim/requests' and name in f['requests']: continue\n"
             "        a = d[:]\n"
             "        cols = [name] if a.ndim == 1 else [name + '.' + t for t in tiers]\n"
             "        for k, c in enumerate(cols):\n"
             "            v = a if a.ndim == 1 else a[:, k]\n"
             "            got = np.array([float(r[c]) if a.dtype.kind == 'f' else int(r[c]) for r in rows])\n"
             "            assert (got == v).all(), (c, got[:3], v[:3])\n"
             "            seen += 1\n"
             "assert list(rows[0].keys())[0] == 'index'\n"
             "assert [int(r['index']) for r in rows] == list(range(400))\n"
             "assert 'ttft_s' in rows[0] and 'hit_blocks_by_tier.dram' in rows[0]\n"
             "assert seen == len(rows[0]), (seen, len(rows[0]))\n"
             "print('csv ok', seen, 'columns')\n", csv, res);
    tu_write_tmp(sp, sizeof sp, "results_check.py", script, strlen(script));
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 %s", sp);
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s", out);
    assert_non_null(strstr(out, "csv ok"));
    free(out);
    unlink(sp);
    /* -o: the same bytes, in a file */
    char csv2[512];
    tu_tmp_path(csv2, sizeof csv2, "results2.csv");
    snprintf(cmd, sizeof cmd, "(%s results %s --csv -o %s && cmp %s %s)", tu_bin(), res, csv2,
             csv, csv2);
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s", out);
    assert_non_null(strstr(out, "wrote 400 requests"));
    free(out);
    unlink(csv);
    unlink(csv2);
}

static void test_bad_inputs(void **state)
{
    (void)state;
    char bad[512], cmd[2048], *out = NULL;
    /* a trace is HDF5 but not a results file */
    snprintf(cmd, sizeof cmd, "%s results %s --csv", tu_bin(), trace);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, trace));
    assert_non_null(strstr(out, "not a ctxcache results file"));
    free(out);
    tu_write_tmp(bad, sizeof bad, "results_bad.h5", "not hdf5 at all\n", 16);
    snprintf(cmd, sizeof cmd, "%s results %s --csv", tu_bin(), bad);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, bad));
    free(out);
    unlink(bad);
    snprintf(cmd, sizeof cmd, "%s results /nonexistent/run.h5 --csv", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "/nonexistent/run.h5"));
    free(out);
    /* usage */
    snprintf(cmd, sizeof cmd, "%s results %s", tu_bin(), res);
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "--csv"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s results %s --csv -o %s", tu_bin(), res, res);
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "overwrite"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s results --csv", tu_bin());
    assert_int_equal(tu_run(cmd, NULL), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_matches_h5py),
        cmocka_unit_test(test_csv_tier_columns),
        cmocka_unit_test(test_bad_inputs),
    };
    return cmocka_run_group_tests_name("cli_results", tests, setup, teardown);
}
