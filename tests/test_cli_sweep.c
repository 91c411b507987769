/* test_cli_sweep.c -- `ctxcache sweep` as a user runs it: the shipped
 * example spec, the same file byte for byte whatever the threads and under
 * `mpirun -np 2` (skipped when mpirun or MPI in the build is missing),
 * figures equal to separate `ctxcache replay --json` runs of the same
 * points (an independent path: the trace generated to a file by `gen`,
 * re-blocked and replayed by the replay command), errors naming the spec
 * line, no output file on failure, and the progress line: nothing on
 * stderr when it is a file, a line on a terminal (python3's pty). */
#include "testutil.h"

#include <jansson.h>

static char *read_all(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *b = malloc(len + 1);
    if (fread(b, 1, len, f) != (size_t)len)
        fail_msg("short read %s", path);
    b[len] = '\0';
    fclose(f);
    *n = (size_t)len;
    return b;
}

static void assert_same_file(const char *a, const char *b)
{
    size_t na, nb;
    char *x = read_all(a, &na), *y = read_all(b, &nb);
    assert_non_null(x);
    assert_non_null(y);
    if (na != nb || memcmp(x, y, na))
        fail_msg("%s and %s differ (%zu vs %zu bytes)", a, b, na, nb);
    free(x);
    free(y);
}

static void test_threads_and_mpi_same_file(void **state)
{
    (void)state;
    char a[512], b[512], m[512], cmd[2048], *out = NULL;
    tu_tmp_path(a, sizeof a, "sweep_t1.h5");
    tu_tmp_path(b, sizeof b, "sweep_t2.h5");
    tu_tmp_path(m, sizeof m, "sweep_mpi.h5");
    snprintf(cmd, sizeof cmd, "%s sweep examples/sweep.spec -o %s --threads 1", tu_bin(), a);
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s\n%s", cmd, out);
    assert_non_null(strstr(out, "144 points"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s sweep examples/sweep.spec -o %s --threads 2", tu_bin(), b);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_same_file(a, b);
    /* the file's shape (h5py, not our reader) */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py,sys; f=h5py.File('%s'); p=f['points']; "
             "assert f.attrs['format']==b'ctxcache-sweep' or f.attrs['format']=='ctxcache-sweep'; "
             "assert len(p['index'])==144 and list(p['index'][:])==list(range(144)); "
             "assert p['policy'][17]==b'lru' and p['policy'][18]==b's3fifo' and p['policy'][36]==b'arc'; "
             "assert list(p['block_size'][:72])==[16]*72 and list(p['block_size'][72:])==[64]*72; "
             "assert p['capacity_blocks'][6]==5000 and p['ttl_s'][3]==600; "
             "assert p['pricing'][1]==b'gemini-explicit' and p['pricing'][5]==b'moonshot-2024'\"",
             a);
    if (tu_run(cmd, &out) != 0)
        fail_msg("h5py check: %s", out);
    free(out);

    /* MPI */
    snprintf(cmd, sizeof cmd, "%s sweep --help", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 0);
    int built = strstr(out, "MPI in this build: yes") != NULL;
    free(out);
    if (!built || system("command -v mpirun >/dev/null 2>&1") != 0) {
        printf("skipped: the MPI part (%s)\n", built ? "mpirun not installed"
                                                       : "built without MPI (MPI=0 or no mpicc)");
    } else {
        snprintf(cmd, sizeof cmd,
                 "mpirun --allow-run-as-root --oversubscribe -np 2 %s sweep examples/sweep.spec "
                 "-o %s --threads 1", tu_bin(), m);
        if (tu_run(cmd, &out) != 0)
            fail_msg("%s\n%s", cmd, out);
        free(out);
        assert_same_file(a, m);
        unlink(m);
    }
    unlink(a);
    unlink(b);
}

static json_t *run_json(const char *cmd)
{
    char *out = NULL;
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s\n%s", cmd, out);
    json_error_t je;
    /* stderr is merged: the JSON starts at the first '{' */
    char *start = strchr(out, '{');
    json_t *j = start ? json_loads(start, JSON_DISABLE_EOF_CHECK, &je) : NULL;
    if (!j)
        fail_msg("%s: no JSON in\n%s", cmd, out);
    free(out);
    return j;
}

static void test_points_equal_separate_replays(void **state)
{
    (void)state;
    char tr[512], cmd[2048], o[512];
    tu_tmp_path(tr, sizeof tr, "sweep_default.h5");
    tu_tmp_path(o, sizeof o, "sweep_json.h5");
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 1", tu_bin(), tr);
    assert_int_equal(tu_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s sweep examples/sweep.spec -o %s --json", tu_bin(), o);
    json_t *sw = run_json(cmd);
    json_t *pts = json_object_get(sw, "points");
    assert_int_equal(json_array_size(pts), 144);
    /* one point per policy and both block sizes, with and without TTL (the
     * pricing axis is innermost: 3 x j is the j-th point without pricing) */
    const int idx[] = {0, 13, 17, 20, 23, 30, 40, 45, 47};
    for (size_t k = 0; k < sizeof idx / sizeof idx[0]; k++) {
        json_t *p = json_array_get(pts, 3 * idx[k]);
        const char *pol = json_string_value(json_object_get(p, "policy"));
        json_t *ttl = json_object_get(p, "ttl_s");
        char polspec[128];
        if (!json_is_null(ttl) && !strcmp(pol, "ttl"))
            snprintf(polspec, sizeof polspec, "ttl(ttl_s=%g)", json_number_value(ttl));
        else
            snprintf(polspec, sizeof polspec, "%s", pol);
        /* the spec names no hardware: its points are untimed cache replays,
         * as replay's untimed backend (20,000 blocks of 64 tokens would be
         * 168 GB of HBM, more than a timed run's GPU holds) */
        long long cap = (long long)json_integer_value(json_object_get(p, "capacity_blocks")),
                  bs = (long long)json_integer_value(json_object_get(p, "block_size"));
        snprintf(cmd, sizeof cmd,
                 "%s replay %s --policy '%s' --capacity-blocks %lld --block-size %lld --seed 1 "
                 "--concurrency none --backend rates --json", tu_bin(), tr, polspec, cap, bs);
        json_t *r = run_json(cmd);
        const char *keys[] = {"requests", "block_accesses", "hit_blocks", "hit_tokens",
                              "evictions", "expirations", "block_hit_ratio", "token_hit_ratio",
                              "request_hit_ratio_mean"};
        for (size_t q = 0; q < sizeof keys / sizeof keys[0]; q++) {
            double a = json_number_value(json_object_get(p, keys[q]));
            double b = json_number_value(json_object_get(r, keys[q]));
            if (!(fabs(a - b) <= 1e-9 * fabs(b)))
                fail_msg("point %d (%s): %s sweep %.12g, replay %.12g", idx[k], polspec,
                         keys[q], a, b);
        }
        /* where the tier fits an H100 beside Llama-3-8B (72 GB - 16.1 GB),
         * the timed replay serves the same blocks (one request at a time:
         * the cache figures do not depend on the executor) */
        if (cap * bs * 131072 < 40000000000LL) {
            snprintf(cmd, sizeof cmd,
                     "%s replay %s --policy '%s' --capacity-blocks %lld --block-size %lld "
                     "--seed 1 --concurrency none --backend sim --json", tu_bin(), tr, polspec,
                     cap, bs);
            json_t *sr = run_json(cmd);
            for (size_t q = 0; q < sizeof keys / sizeof keys[0]; q++)
                if (json_number_value(json_object_get(sr, keys[q])) !=
                    json_number_value(json_object_get(r, keys[q])))
                    fail_msg("point %d (%s): %s sim %.17g, rates %.17g", idx[k], polspec,
                             keys[q], json_number_value(json_object_get(sr, keys[q])),
                             json_number_value(json_object_get(r, keys[q])));
            json_decref(sr);
        }
        assert_true(json_is_null(json_object_get(p, "cost_usd")));
        json_decref(r);
        if (!json_is_null(ttl))
            continue;
        /* the bills of the two priced points next to it = replay --pricing */
        snprintf(cmd, sizeof cmd,
                 "%s replay %s --policy '%s' --capacity-blocks %lld --block-size %lld --seed 1 "
                 "--concurrency none --backend rates --pricing gemini-explicit,moonshot-2024 "
                 "--json", tu_bin(), tr, polspec, cap, bs);
        r = run_json(cmd);
        const char *models[] = {"gemini-explicit", "moonshot-2024"};
        for (int q = 0; q < 2; q++) {
            json_t *pp = json_array_get(pts, 3 * idx[k] + 1 + q);
            assert_string_equal(json_string_value(json_object_get(pp, "pricing")), models[q]);
            double a = json_number_value(json_object_get(pp, "cost_usd"));
            double b = json_number_value(json_object_get(json_object_get(r, "cost"), models[q]));
            if (!(b > 0 && fabs(a - b) <= 1e-9 * b))
                fail_msg("point %d %s: cost sweep %.12g, replay %.12g", 3 * idx[k] + 1 + q,
                         models[q], a, b);
        }
        json_decref(r);
    }
    json_decref(sw);
    unlink(tr);
    unlink(o);
}

/* The serving sweep (tier layouts x instances x router x scheduler on the
 * simulator): the same file with 1 and 2 threads and under mpirun -np 2,
 * and every point equal to `ctxcache replay --json` of the same
 * configuration (the trace generated to a file by `gen`, the options given
 * as a user would, replay's own default concurrency). */
static void test_serving_points_equal_replays(void **state)
{
    (void)state;
    char tr[512], a[512], b[512], m[512], cmd[2048], *out = NULL;
    tu_tmp_path(tr, sizeof tr, "sweep_sv_default.h5");
    tu_tmp_path(a, sizeof a, "sweep_sv1.h5");
    tu_tmp_path(b, sizeof b, "sweep_sv2.h5");
    tu_tmp_path(m, sizeof m, "sweep_svmpi.h5");
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 1", tu_bin(), tr);
    assert_int_equal(tu_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "%s sweep examples/sweep_serving.spec -o %s --threads 1 --json",
             tu_bin(), a);
    json_t *sw = run_json(cmd);
    snprintf(cmd, sizeof cmd, "%s sweep examples/sweep_serving.spec -o %s --threads 2", tu_bin(),
             b);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_same_file(a, b);
    snprintf(cmd, sizeof cmd, "%s sweep --help", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 0);
    int built = strstr(out, "MPI in this build: yes") != NULL;
    free(out);
    if (!built || system("command -v mpirun >/dev/null 2>&1") != 0) {
        printf("skipped: the MPI part of the serving sweep\n");
    } else {
        snprintf(cmd, sizeof cmd,
                 "mpirun --allow-run-as-root --oversubscribe -np 2 %s sweep "
                 "examples/sweep_serving.spec -o %s --threads 1", tu_bin(), m);
        if (tu_run(cmd, &out) != 0)
            fail_msg("%s\n%s", cmd, out);
        free(out);
        assert_same_file(a, m);
        unlink(m);
    }
    /* the file: schema 1.1, the axes as written, the concurrency as run */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py; f=h5py.File('%s'); p=f['points']; "
             "assert f.attrs['schema_version']==1 and f.attrs['schema_minor']==2; "
             "assert f.attrs['backend'] in (b'sim','sim'); "
             "assert len(p['index'])==16 and p['tiers'][8]==b'hbm:4000,dram:10000'; "
             "assert list(p['instances'][:8])==[1]*4+[2]*4 and p['router'][2]==b'prefix-affinity'; "
             "assert p['scheduler'][1]==b'lpf' and p['concurrency'][0]==b'immediate'; "
             "assert p['capacity_blocks'][0]==2000 and p['capacity_blocks'][8]==4000; "
             "assert f['axes']['concurrency'][0]==b'auto'; "
             "assert all(x > 0 for x in p['ttft_p99_s'][:])\"", a);
    if (tu_run(cmd, &out) != 0)
        fail_msg("h5py check: %s", out);
    free(out);
    json_t *pts = json_object_get(sw, "points");
    assert_int_equal(json_array_size(pts), 16);
    for (size_t i = 0; i < 16; i += 3) { /* 0, 3, 6, ... 15: every axis value */
        json_t *p = json_array_get(pts, i);
        snprintf(cmd, sizeof cmd,
                 "%s replay %s --tiers '%s' --instances %lld --router %s --scheduler %s "
                 "--hardware %s --model %s --seed 1 --json", tu_bin(), tr,
                 json_string_value(json_object_get(p, "tiers")),
                 (long long)json_integer_value(json_object_get(p, "instances")),
                 json_string_value(json_object_get(p, "router")),
                 json_string_value(json_object_get(p, "scheduler")),
                 json_string_value(json_object_get(p, "hardware")),
                 json_string_value(json_object_get(p, "model")));
        json_t *r = run_json(cmd);
        assert_string_equal(json_string_value(json_object_get(r, "concurrency")),
                            json_string_value(json_object_get(p, "concurrency")));
        const char *keys[] = {"requests", "hit_blocks", "hit_tokens", "evictions", "bytes_moved",
                              "block_hit_ratio", "token_hit_ratio", "ttft_p50_s", "ttft_p99_s",
                              "ttft_mean_s", "tpot_p50_s", "tpot_p99_s", "tpot_mean_s",
                              "throughput_tokens_per_s", "requests_per_s", "makespan_s",
                              "prefill_gpu_s_saved", "gpu_busy_s", "preemptions"};
        for (size_t q = 0; q < sizeof keys / sizeof keys[0]; q++) {
            json_t *jb = json_object_get(r, keys[q]);
            if (!jb)
                fail_msg("replay --json has no %s", keys[q]);
            double x = json_number_value(json_object_get(p, keys[q]));
            double y = json_number_value(jb);
            /* replay prints 10 significant digits */
            if (!(fabs(x - y) <= 1e-9 * fabs(y)))
                fail_msg("point %zu: %s sweep %.12g, replay %.12g\n%s", i, keys[q], x, y, cmd);
        }
        json_decref(r);
    }
    json_decref(sw);
    unlink(tr);
    unlink(a);
    unlink(b);
}

/* The tp axis: tp = 1, 2 on the default workload; each point's figures equal `replay --tp N` with the same
 * options, and two devices per instance make the steps faster (TTFT p50
 * lower).  tp 3 (llama-3-8b's 8 KV heads do not split in 3) is an error
 * naming tp; tp 0 a spec error naming the line. */
static void test_tp_axis_equals_replays(void **state)
{
    (void)state;
    char tr[512], sp[512], o[512], cmd[2048], *out = NULL;
    tu_tmp_path(tr, sizeof tr, "sweep_tp_trace.h5");
    tu_tmp_path(o, sizeof o, "sweep_tp.h5");
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 1 >/dev/null 2>&1", tu_bin(), tr);
    assert_int_equal(tu_run(cmd, NULL), 0);
    char spec[1024];
    snprintf(spec, sizeof spec, "trace = %s\ntiers = hbm:2000,dram:10000\ntp = 1, 2\n", tr);
    tu_write_tmp(sp, sizeof sp, "tp.spec", spec, strlen(spec));
    snprintf(cmd, sizeof cmd, "%s sweep %s -o %s --threads 2 --json", tu_bin(), sp, o);
    json_t *sw = run_json(cmd);
    assert_string_equal(json_string_value(json_object_get(sw, "backend")), "sim");
    json_t *pts = json_object_get(sw, "points");
    assert_int_equal(json_array_size(pts), 2);
    double p50[2];
    for (size_t i = 0; i < 2; i++) {
        json_t *p = json_array_get(pts, i);
        assert_int_equal(json_integer_value(json_object_get(p, "tp")), (json_int_t)(i + 1));
        snprintf(cmd, sizeof cmd, "%s replay %s --tiers hbm:2000,dram:10000 --tp %zu --seed 1 "
                 "--json", tu_bin(), tr, i + 1);
        json_t *r = run_json(cmd);
        const char *keys[] = {"hit_blocks", "evictions", "ttft_p50_s", "ttft_p99_s",
                              "tpot_p50_s", "throughput_tokens_per_s", "makespan_s",
                              "prefill_gpu_s_saved", "gpu_busy_s", "preemptions"};
        for (size_t q = 0; q < sizeof keys / sizeof keys[0]; q++) {
            double x = json_number_value(json_object_get(p, keys[q]));
            double y = json_number_value(json_object_get(r, keys[q]));
            if (!json_object_get(r, keys[q]) || !(fabs(x - y) <= 1e-9 * fabs(y)))
                fail_msg("tp %zu: %s sweep %.12g, replay %.12g", i + 1, keys[q], x, y);
        }
        p50[i] = json_number_value(json_object_get(r, "ttft_p50_s"));
        json_decref(r);
    }
    assert_true(p50[1] < p50[0]);
    json_decref(sw);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import h5py; f=h5py.File('%s'); "
             "assert list(f['points']['tp'][:])==[1, 2] and f['axes']['tp'][1]==b'2'\"", o);
    if (tu_run(cmd, &out) != 0)
        fail_msg("h5py check: %s", out);
    free(out);
    /* bad values */
    snprintf(spec, sizeof spec, "trace = %s\ntiers = hbm:2000,dram:10000\ntp = 3\n", tr);
    tu_write_tmp(sp, sizeof sp, "tp3.spec", spec, strlen(spec));
    snprintf(cmd, sizeof cmd, "%s sweep %s -o %s", tu_bin(), sp, o);
    int rc = tu_run(cmd, &out);
    if (rc == 0 || !strstr(out, "tp"))
        fail_msg("tp 3: exit %d\n%s", rc, out);
    free(out);
    snprintf(spec, sizeof spec, "trace = %s\ntp = 0\ncapacity_blocks = 100\n", tr);
    tu_write_tmp(sp, sizeof sp, "tp0.spec", spec, strlen(spec));
    snprintf(cmd, sizeof cmd, "%s sweep %s -o %s", tu_bin(), sp, o);
    rc = tu_run(cmd, &out);
    if (rc == 0 || !strstr(out, ":2") || !strstr(out, "tp"))
        fail_msg("tp 0: exit %d\n%s", rc, out);
    free(out);
    unlink(tr);
    unlink(o);
}

/* A spec without serving keys runs the cache alone, as before: no serving
 * figures (null), concurrency none. */
static void test_cache_points_have_no_serving_figures(void **state)
{
    (void)state;
    char sp[512], o[512], cmd[2048];
    tu_tmp_path(o, sizeof o, "sweep_cache_only.h5");
    static const char spec[] = "trace = default\ntiers = hbm:500,dram:2000 | hbm:1000,dram:2000\n";
    tu_write_tmp(sp, sizeof sp, "cache_only.spec", spec, sizeof spec - 1);
    snprintf(cmd, sizeof cmd, "%s sweep %s -o %s --json", tu_bin(), sp, o);
    json_t *sw = run_json(cmd);
    assert_string_equal(json_string_value(json_object_get(sw, "backend")), "cache");
    json_t *p = json_array_get(json_object_get(sw, "points"), 1);
    assert_true(json_is_null(json_object_get(p, "ttft_p50_s")));
    assert_string_equal(json_string_value(json_object_get(p, "concurrency")), "none");
    assert_int_equal(json_integer_value(json_object_get(p, "capacity_blocks")), 1000);
    /* = replay --backend rates-free cache replay of that layout */
    snprintf(cmd, sizeof cmd, "%s gen default -o %s.trace.h5 --seed 1 >/dev/null 2>&1 && %s replay "
             "%s.trace.h5 --tiers hbm:1000,dram:2000 --concurrency none --seed 1 --json",
             tu_bin(), o, tu_bin(), o);
    json_t *r = run_json(cmd);
    const char *keys[] = {"hit_blocks", "evictions", "bytes_moved", "blocks_moved"};
    for (size_t q = 0; q < 4; q++)
        assert_true(json_number_value(json_object_get(p, keys[q])) ==
                    json_number_value(json_object_get(r, keys[q])));
    json_decref(r);
    json_decref(sw);
    snprintf(cmd, sizeof cmd, "%s.trace.h5", o);
    unlink(cmd);
    unlink(o);
    unlink(sp);
}

static void test_errors(void **state)
{
    (void)state;
    char sp[512], o[512], cmd[2048], *out = NULL;
    tu_tmp_path(o, sizeof o, "sweep_never.h5");
    static const char bad[] = "trace = default\ncapacity_blocks = 10, lots\n";
    tu_write_tmp(sp, sizeof sp, "bad.spec", bad, sizeof bad - 1);
    snprintf(cmd, sizeof cmd, "%s sweep %s -o %s", tu_bin(), sp, o);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, ":2:"));
    assert_non_null(strstr(out, "capacity_blocks"));
    free(out);
    static const char pr[] = "trace = default\ncapacity_blocks = 10\npricing = gemini\n";
    tu_write_tmp(sp, sizeof sp, "pricing.spec", pr, sizeof pr - 1);
    snprintf(cmd, sizeof cmd, "%s sweep %s -o %s", tu_bin(), sp, o);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "'gemini'"));
    assert_non_null(strstr(out, "gemini-explicit")); /* the presets are listed */
    free(out);
    static const char missing[] = "trace = /nonexistent/t.jsonl\ncapacity_blocks = 10\n";
    tu_write_tmp(sp, sizeof sp, "missing.spec", missing, sizeof missing - 1);
    snprintf(cmd, sizeof cmd, "%s sweep %s -o %s", tu_bin(), sp, o);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "/nonexistent/t.jsonl"));
    free(out);
    assert_int_not_equal(access(o, F_OK), 0); /* no output left behind */
    static const char sv[] = "trace = default\ncapacity_blocks = 10\nbackend = cache\n"
                             "router = rr, least-loaded\n";
    tu_write_tmp(sp, sizeof sp, "serving.spec", sv, sizeof sv - 1);
    snprintf(cmd, sizeof cmd, "%s sweep %s -o %s", tu_bin(), sp, o);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, ":4:"));
    assert_non_null(strstr(out, "backend = sim"));
    free(out);
    static const char tl[] = "trace = default\ntiers = hbm:10,dram:20, 30\n";
    tu_write_tmp(sp, sizeof sp, "tiers.spec", tl, sizeof tl - 1); /* ',' where '|' belongs */
    snprintf(cmd, sizeof cmd, "%s sweep %s -o %s --json", tu_bin(), sp, o);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "tiers"));
    free(out);
    assert_int_not_equal(access(o, F_OK), 0);
    snprintf(cmd, sizeof cmd, "%s sweep /nonexistent.spec", tu_bin());
    assert_int_equal(tu_run(cmd, NULL), 1);
    snprintf(cmd, sizeof cmd, "%s sweep a b", tu_bin());
    assert_int_equal(tu_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "%s sweep examples/sweep.spec --threads many", tu_bin());
    assert_int_equal(tu_run(cmd, NULL), 2);
    unlink(sp);
}

/* stderr to a file: nothing there for sweep, replay and mrc. */
static void test_progress_quiet_without_terminal(void **state)
{
    (void)state;
    char tr[512], err[512], o[512], cmd[2048];
    tu_tmp_path(tr, sizeof tr, "progress_trace.h5");
    tu_tmp_path(err, sizeof err, "progress_stderr.txt");
    tu_tmp_path(o, sizeof o, "progress_sweep.h5");
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 1 >/dev/null", tu_bin(), tr);
    assert_int_equal(system(cmd), 0);
    const char *runs[] = {"sweep examples/sweep.spec -o %s", "replay %s --capacity-blocks 1000",
                          "mrc %s --method sim --sizes 100,1000"};
    for (int i = 0; i < 3; i++) {
        char sub[1024];
        snprintf(sub, sizeof sub, runs[i], i == 0 ? o : tr);
        snprintf(cmd, sizeof cmd, "env -u CI -u CC_PROGRESS %s %s >/dev/null 2>%s", tu_bin(), sub,
                 err);
        if (system(cmd) != 0)
            fail_msg("failed: %s", cmd);
        size_t n;
        char *e = read_all(err, &n);
        if (n != 0)
            fail_msg("%s: stderr not empty: '%s'", sub, e);
        free(e);
    }
    unlink(tr);
    unlink(err);
    unlink(o);
}

/* Runs argv (a Python list literal) with stderr on a pty; returns what the
 * terminal got, as Python's repr (so "\\r" for a carriage return). */
static char *on_pty(const char *argv_py, int ci)
{
    char cmd[4096], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 - <<'PY'\n"
             "import os, pty, subprocess, sys\n"
             "env = dict(os.environ); env.pop('CI', None); env.pop('CC_PROGRESS', None)\n"
             "if %d: env['CI'] = 'true'\n"
             "m, s = pty.openpty()\n"
             "p = subprocess.Popen(%s, stdout=subprocess.DEVNULL, stderr=s, env=env)\n"
             "os.close(s)\n"
             "buf = b''\n"
             "while True:\n"
             "    try:\n"
             "        d = os.read(m, 4096)\n"
             "    except OSError:\n"
             "        break\n"
             "    if not d:\n"
             "        break\n"
             "    buf += d\n"
             "rc = p.wait()\n"
             "sys.stdout.write('rc=%%d %%r' %% (rc, buf))\n"
             "PY\n",
             ci, argv_py);
    assert_int_equal(tu_run(cmd, &out), 0);
    if (!strstr(out, "rc=0"))
        fail_msg("%s failed: %s", argv_py, out);
    return out;
}

/* On a terminal (a pty), a progress line rewritten with \r appears; CI=true
 * silences it. */
static void test_progress_on_terminal(void **state)
{
    (void)state;
    char o[512], tr[512], argv_py[2048], cmd[1200], *out;
    tu_tmp_path(o, sizeof o, "pty_sweep.h5");
    tu_tmp_path(tr, sizeof tr, "pty_trace.h5");
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 1 >/dev/null 2>&1", tu_bin(), tr);
    assert_int_equal(system(cmd), 0);
    for (int ci = 0; ci < 2; ci++) {
        snprintf(argv_py, sizeof argv_py, "['%s', 'sweep', 'examples/sweep.spec', '-o', '%s']",
                 tu_bin(), o);
        out = on_pty(argv_py, ci);
        if (!ci && !(strstr(out, "\\rsweep ") && strstr(out, "/144")))
            fail_msg("no progress line on the terminal: %s", out);
        if (ci && strstr(out, "sweep "))
            fail_msg("progress line under CI=true: %s", out);
        free(out);
        snprintf(argv_py, sizeof argv_py,
                 "['%s', 'replay', '%s', '--capacity-blocks', '1000', '--concurrency', "
                 "'immediate']", tu_bin(), tr);
        out = on_pty(argv_py, ci);
        if (!ci && !(strstr(out, "\\rreplay ") && strstr(out, "/4000")))
            fail_msg("no replay progress line on the terminal: %s", out);
        if (ci && strstr(out, "replay "))
            fail_msg("progress line under CI=true: %s", out);
        free(out);
    }
    unlink(o);
    unlink(tr);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_threads_and_mpi_same_file),
        cmocka_unit_test(test_serving_points_equal_replays),
        cmocka_unit_test(test_tp_axis_equals_replays),
        cmocka_unit_test(test_cache_points_have_no_serving_figures),
        cmocka_unit_test(test_points_equal_separate_replays),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_progress_quiet_without_terminal),
        cmocka_unit_test(test_progress_on_terminal),
    };
    return cmocka_run_group_tests_name("cli_sweep", tests, NULL, NULL);
}
