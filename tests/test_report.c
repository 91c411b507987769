/* test_report.c -- results files, plots and the HTML report: tier occupancy
 * samples on a hand-computed trace, the results file's configuration and
 * occupancy read back by h5py (an independent reader), quantiles against
 * numpy's definition computed by hand, the report's tables against the
 * replay's own JSON, well-formed SVG (python3's xml.etree), byte-identical
 * reruns, and a table of bad inputs (each: exit status 1 and a message
 * naming the file and the HDF5 path or CSV line). */
#include "testutil.h"
#include "analysis/report.h"
#include "core/replay.h"

#include <jansson.h>

static void add(cc_trace *t, int64_t at_ms, uint32_t in, const uint64_t *b, uint32_t nb)
{
    cc_request r = {0};
    r.arrival_ns = at_ms * 1000000;
    r.input_tokens = in;
    r.output_tokens = 1;
    r.group_id = CC_NO_GROUP;
    r.blocks = b;
    r.n_blocks = nb;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

/* Block size 4: r0 [1 2 3], r1 [1 2 4], r2 [5 2 3], r3 [1 2 3]; prefix
 * mode, LRU, room for 10 blocks (nothing is evicted):
 *   after r0 the cache holds 1 2 3                        -> 3 blocks
 *   after r1 also 4                                       -> 4
 *   after r2 also 5 (2 and 3 are already cached)          -> 5
 *   after r3 nothing new                                  -> 5
 * With 4 requests a sample is taken after every request (ceil(4/256) = 1). */
static void test_occupancy_samples(void **state)
{
    (void)state;
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 4;
    t.timed = true;
    uint64_t b0[] = {1, 2, 3}, b1[] = {1, 2, 4}, b2[] = {5, 2, 3};
    add(&t, 0, 10, b0, 3);
    add(&t, 1000, 12, b1, 3);
    add(&t, 2000, 9, b2, 3);
    add(&t, 4000, 10, b0, 3);
    cc_pc_config c;
    memset(&c, 0, sizeof c);
    c.kv_bytes_per_block = 100;
    c.n_tiers = 1;
    strcpy(c.tiers[0].name, "hbm");
    c.tiers[0].capacity_blocks = 10;
    c.tiers[0].policy = cc_policy_find("lru");
    cc_replay_opts o = {.keep_records = true};
    cc_replay_result r;
    cc_err e = {0};
    assert_int_equal(cc_replay(&t, &c, &o, &r, &e), CC_OK);
    assert_int_equal(r.n_occupancy, 4);
    const uint64_t used[] = {3, 4, 5, 5};
    const int64_t at[] = {0, 1000000000, 2000000000, 4000000000};
    for (size_t s = 0; s < 4; s++) {
        assert_int_equal(r.occupancy_request[s], s);
        assert_int_equal(r.occupancy_time_ns[s], at[s]);
        assert_int_equal(r.occupancy_used_blocks[s], used[s]);
    }
    cc_replay_result_free(&r);
    /* without records: no samples */
    o.keep_records = false;
    assert_int_equal(cc_replay(&t, &c, &o, &r, &e), CC_OK);
    assert_int_equal(r.n_occupancy, 0);
    assert_null(r.occupancy_request);
    cc_replay_result_free(&r);
    cc_trace_free(&t);
}

/* The same trace replayed with overlapping requests (--concurrency
 * immediate, the simulator): a sample as each request arrives, before it is
 * looked up, and one at the end.  Arrivals are 1 s apart and each request
 * takes milliseconds, so each arrival sees what the earlier ones stored:
 * 0, 3, 4, 5 blocks at 0, 1, 2, 4 s, then 5 at the end (request 3 again).
 * The file is read back with h5py. */
static void run_ok(const char *cmd);

static void test_occupancy_overlapping(void **state)
{
    (void)state;
    cc_trace t;
    cc_trace_init(&t);
    t.block_size = 4;
    t.timed = true;
    uint64_t b0[] = {1, 2, 3}, b1[] = {1, 2, 4}, b2[] = {5, 2, 3};
    add(&t, 0, 10, b0, 3);
    add(&t, 1000, 12, b1, 3);
    add(&t, 2000, 9, b2, 3);
    add(&t, 4000, 10, b0, 3);
    char tr[512], res[512], cmd[3000], *out = NULL;
    tu_tmp_path(tr, sizeof tr, "rep_occ_trace.h5");
    tu_tmp_path(res, sizeof res, "rep_occ_res.h5");
    cc_err e = {0};
    assert_int_equal(cc_trace_write(&t, tr, "h5", &e), CC_OK);
    cc_trace_free(&t);
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 10 --concurrency immediate -o %s",
             tu_bin(), tr, res);
    run_ok(cmd);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py; o=h5py.File('%s')['occupancy']; "
             "assert list(o['request'][:])==[0,1,2,3,3], list(o['request'][:]); "
             "assert list(o['time_ns'][:4])==[0,10**9,2*10**9,4*10**9], list(o['time_ns'][:]); "
             "assert o['time_ns'][4]>4*10**9; "
             "assert [list(x) for x in o['used_blocks'][:]]==[[0],[3],[4],[5],[5]], o['used_blocks'][:]\"",
             res);
    if (tu_run(cmd, &out) != 0)
        fail_msg("h5py occupancy check: %s", out);
    free(out);
    unlink(tr);
    unlink(res);
}

/* numpy.quantile([1, 2, 4, 8], q) (linear): q=0.5 -> 3, q=0.9 -> 4 + 0.7*4 =
 * 6.8, q=1/3 -> 2; one value -> itself; none -> NaN. */
static void test_quantiles(void **state)
{
    (void)state;
    const double x[] = {1, 2, 4, 8};
    assert_float_equal(cc_quantile_sorted(x, 4, 0.5), 3.0, 1e-12);
    assert_float_equal(cc_quantile_sorted(x, 4, 0.9), 6.8, 1e-12);
    assert_float_equal(cc_quantile_sorted(x, 4, 1.0 / 3), 2.0, 1e-12);
    assert_float_equal(cc_quantile_sorted(x, 4, 0), 1.0, 0);
    assert_float_equal(cc_quantile_sorted(x, 4, 1), 8.0, 0);
    assert_float_equal(cc_quantile_sorted(x + 2, 1, 0.7), 4.0, 0);
    assert_true(isnan(cc_quantile_sorted(x, 0, 0.5)));
}

/* A default workload, two replays, an mrc CSV and a cost CSV (shared by the
 * tests below; made once). */
static char g_trace[512], g_r1[512], g_r2[512], g_mrc[512], g_cost[512];

static void run_ok(const char *cmd)
{
    char *out = NULL;
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s\n%s", cmd, out);
    free(out);
}

static int setup(void **state)
{
    (void)state;
    char cmd[3000];
    tu_tmp_path(g_trace, sizeof g_trace, "rep_trace.h5");
    tu_tmp_path(g_r1, sizeof g_r1, "rep_r1.h5");
    tu_tmp_path(g_r2, sizeof g_r2, "rep_r2.h5");
    tu_tmp_path(g_mrc, sizeof g_mrc, "rep_mrc.csv");
    tu_tmp_path(g_cost, sizeof g_cost, "rep_cost.csv");
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 1", tu_bin(), g_trace);
    run_ok(cmd);
    snprintf(cmd, sizeof cmd, "%s replay %s --tiers hbm:2000,dram:10000 --seed 3 "
             "--concurrency none -o %s", tu_bin(), g_trace, g_r1);
    run_ok(cmd);
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 3000 --policy s3fifo -o %s",
             tu_bin(), g_trace, g_r2);
    run_ok(cmd);
    snprintf(cmd, sizeof cmd, "%s mrc %s --policy lru --sizes 500,2000,8000 -o %s", tu_bin(),
             g_trace, g_mrc);
    run_ok(cmd);
    snprintf(cmd, sizeof cmd,
             "%s cost %s --pricing gemini-explicit,moonshot-2024 --ttl-sweep 60,600 --csv %s",
             tu_bin(), g_trace, g_cost);
    run_ok(cmd);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(g_trace);
    unlink(g_r1);
    unlink(g_r2);
    unlink(g_mrc);
    unlink(g_cost);
    return 0;
}

/* The results file holds the configuration, seed, version and occupancy
 * (h5py reads them; the last sample equals the tiers' final fill). */
static void test_results_file_h5py(void **state)
{
    (void)state;
    char cmd[3000], *out = NULL;
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py; f=h5py.File('%s'); a=f.attrs; "
             "s=lambda v: v.decode() if isinstance(v, bytes) else v; "
             "assert s(a['format'])=='ctxcache-results'; assert s(a['ctxcache_version'])=='%s'; "
             "assert int(a['seed'])==3; assert s(a['tiers_spec'])=='hbm:2000,dram:10000'; assert s(a['backend'])=='sim'; "
             "o=f['occupancy']; u=o['used_blocks'][:]; n=len(o['request']); "
             "assert u.shape==(n,2) and n==250, (u.shape, n); "
             "assert list(o['request'][:3])==[15,31,47] and o['request'][-1]==3999; "
             "assert list(u[-1])==[2000,10000], u[-1]; "
             "assert all(u[i][0]<=u[i+1][0] for i in range(n-1))\"",
             g_r1, CC_VERSION);
    if (tu_run(cmd, &out) != 0)
        fail_msg("h5py check: %s", out);
    free(out);
}

/* /config: argv as typed (options after the trace, --results=, the output
 * path written as RESULTS) and every option as resolved, defaults included
 * (the defaults are the ones replay --help states; block-size is the
 * trace file's own attribute); the output path does not change the bytes. */
static void test_results_config(void **state)
{
    (void)state;
    char cmd[3000], a[512], b[512], *out = NULL;
    tu_tmp_path(a, sizeof a, "rep_cfg_a.h5");
    tu_tmp_path(b, sizeof b, "rep_cfg_b.h5");
    snprintf(cmd, sizeof cmd, "%s replay --policy s3fifo %s --capacity-blocks 3000 --results=%s",
             tu_bin(), g_trace, a);
    run_ok(cmd);
    snprintf(cmd, sizeof cmd, "%s replay --policy s3fifo %s --capacity-blocks 3000 --results=%s",
             tu_bin(), g_trace, b);
    run_ok(cmd);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py, filecmp; f=h5py.File('%s'); c=f['config']; "
             "argv=[x.decode() for x in c['argv'][:]]; "
             "assert argv==['replay','--policy','s3fifo','%s','--capacity-blocks','3000',"
             "'--results=RESULTS'], argv; "
             "o={k: v.decode() for k, v in c.attrs.items()}; "
             "bs=int(h5py.File('%s').attrs['block_size']); "
             "want={'policy':'s3fifo','capacity-blocks':'3000','tiers':'','seed':'1',"
             "'concurrency':'immediate','backend':'sim','hardware':'h100-sxm','model':'llama-3-8b',"
             "'max-seqs':'256','hbm-fraction':'0.9','mode':'prefix','instances':'1',"
             "'block-size':str(bs),'pricing':'','max-requests':'0','prefill-tps':''}; "
             "bad=[(k, o.get(k), v) for k, v in want.items() if o.get(k)!=v]; assert not bad, bad; "
             "assert 'results' not in o and 'json' not in o; "
             "assert int(f.attrs['schema_minor'])>=2 and int(f.attrs['serial_service'])==0; "
             "assert filecmp.cmp('%s', '%s', shallow=False)\"",
             a, g_trace, g_trace, a, b);
    if (tu_run(cmd, &out) != 0)
        fail_msg("h5py /config check: %s", out);
    free(out);
    unlink(a);
    unlink(b);
}

static char *report(const char *inputs, const char *name, int plots, int *status)
{
    char cmd[3000], html[512];
    tu_tmp_path(html, sizeof html, name);
    snprintf(cmd, sizeof cmd, "%s report %s -o %s%s", tu_bin(), inputs, html,
             plots ? "" : " --no-plots");
    char *out = NULL;
    *status = tu_run(cmd, &out);
    if (*status != 0)
        return out;
    free(out);
    size_t n;
    return tu_slurp(html, &n);
}

/* The tables carry the replay's own figures (its --json, formatted as the
 * report formats them). */
static void test_report_tables(void **state)
{
    (void)state;
    char cmd[3000], *out = NULL, inputs[2100];
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 3000 --policy s3fifo --json",
             tu_bin(), g_trace);
    assert_int_equal(tu_run(cmd, &out), 0);
    json_error_t je;
    json_t *j = json_loads(strchr(out, '{'), JSON_DISABLE_EOF_CHECK, &je);
    assert_non_null(j);
    free(out);
    char bhr[64], thr[64];
    snprintf(bhr, sizeof bhr, "<td class=n>%.4f</td>",
             json_real_value(json_object_get(j, "block_hit_ratio")));
    snprintf(thr, sizeof thr, "<td class=n>%.4f</td>",
             json_real_value(json_object_get(j, "token_hit_ratio")));
    json_decref(j);
    snprintf(inputs, sizeof inputs, "%s %s %s %s", g_r1, g_r2, g_mrc, g_cost);
    int st;
    char *html = report(inputs, "rep_tables.html", 0, &st);
    if (st != 0)
        fail_msg("report failed: %s", html);
    assert_non_null(strstr(html, bhr));
    assert_non_null(strstr(html, thr));
    /* runs named by what differs (policy, tiers), not by file; a card each */
    assert_non_null(strstr(html, "<td>s3fifo · hbm:3000 · "));
    assert_non_null(strstr(html, "<h3>#2 s3fifo · hbm:3000 · "));
    assert_non_null(strstr(html, "Runs at a glance"));
    /* human units, the exact value in the cell's title: no raw exponents */
    assert_null(strstr(html, "e+0"));
    assert_non_null(strstr(html, " GiB</td>") ? strstr(html, " GiB</td>") : strstr(html, " MiB</td>"));
    /* configuration differences: the policies and tiers differ */
    assert_non_null(strstr(html, "<td>policy</td><td>#1: lru; #2: s3fifo</td>"));
    /* and the options of /config that differ, as resolved (r1 --tiers, r2
     * --capacity-blocks: each has "" for the other) */
    assert_non_null(strstr(html, "<td>capacity-blocks</td><td>#1: ; #2: 3000</td>"));
    assert_null(strstr(html, "<td>hbm-fraction</td>")); /* the same default in both */
    /* the mrc rows (8000 blocks) and the cost rows (both models) */
    assert_non_null(strstr(html, "<td class=n>8000</td>"));
    assert_non_null(strstr(html, "<td>moonshot-2024</td>"));
    assert_non_null(strstr(html, "cheapest bill"));
    assert_null(strstr(html, "<svg")); /* --no-plots */
    free(html);
}

/* With gnuplot: five figures inlined, each well-formed SVG; PNG and SVG
 * files beside; a second run gives the same bytes. */
static void test_report_plots(void **state)
{
    (void)state;
    if (!cc_plot_available()) {
        printf("skipped: gnuplot not installed\n");
        skip();
    }
    char inputs[2100], sweep[512], cmd[3000];
    tu_tmp_path(sweep, sizeof sweep, "rep_sweep.h5");
    snprintf(cmd, sizeof cmd, "%s sweep examples/sweep.spec -o %s", tu_bin(), sweep);
    run_ok(cmd);
    snprintf(inputs, sizeof inputs, "%s %s %s %s %s", g_r1, g_r2, sweep, g_mrc, g_cost);
    int st;
    char *a = report(inputs, "rep_plots_a.html", 1, &st);
    if (st != 0)
        fail_msg("report failed: %s", a);
    char *b = report(inputs, "rep_plots_b.html", 1, &st);
    assert_int_equal(st, 0);
    assert_string_equal(a, b);
    int figs = 0;
    for (const char *p = a; (p = strstr(p, "<svg")); p++)
        figs++;
    assert_int_equal(figs, 5);
    free(a);
    free(b);
    char html[512];
    tu_tmp_path(html, sizeof html, "rep_plots_a.html");
    html[strlen(html) - 5] = '\0';
    /* the SVG files parse as XML; PNGs start with the PNG signature; the
     * two runs' files are identical */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import xml.etree.ElementTree as E, sys\n"
             "for n in ['mrc','hit_capacity','ttft_cdf','cost_ttl','occupancy']:\n"
             "    r=E.parse('%s_plots/'+n+'.svg').getroot(); assert r.tag.endswith('svg'), n\n"
             "    p=open('%s_plots/'+n+'.png','rb').read(); assert p[:8]==b'\\\\x89PNG\\\\r\\\\n\\\\x1a\\\\n', n\n"
             "    for x in ('.svg','.png'):\n"
             "        assert open('%s_plots/'+n+x,'rb').read()==open('%.*s_b_plots/'+n+x,'rb').read(), n+x\n\"",
             html, html, html, (int)strlen(html) - 2, html);
    char *out = NULL;
    if (tu_run(cmd, &out) != 0)
        fail_msg("svg/png check: %s\n%s", cmd, out);
    free(out);
    unlink(sweep);
}

/* Bad inputs: exit status 1 and the file, HDF5 path or line named. */
static void test_report_bad_inputs(void **state)
{
    (void)state;
    char p[512], cmd[3000];
    /* a results file without /requests/first_token_ns (h5py deletes it) */
    char broken[512];
    tu_tmp_path(broken, sizeof broken, "rep_broken.h5");
    snprintf(cmd, sizeof cmd,
             "cp %s %s && /usr/bin/python3 -c \"import h5py; f=h5py.File('%s','r+'); "
             "del f['requests/first_token_ns']\"", g_r1, broken, broken);
    run_ok(cmd);
    char notours[512];
    tu_tmp_path(notours, sizeof notours, "rep_notours.h5");
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import h5py, numpy; f=h5py.File('%s','w'); "
             "f.attrs['format']=numpy.bytes_('something-else')\"", notours);
    run_ok(cmd);
    /* /config with a number where a string belongs, and a bad instances */
    char badcfg[512], badinst[512];
    tu_tmp_path(badcfg, sizeof badcfg, "rep_badcfg.h5");
    tu_tmp_path(badinst, sizeof badinst, "rep_badinst.h5");
    snprintf(cmd, sizeof cmd,
             "cp %s %s && cp %s %s && /usr/bin/python3 -c \"import h5py, numpy; "
             "h5py.File('%s','r+')['config'].attrs['seed']=numpy.int64(3); "
             "h5py.File('%s','r+')['config'].attrs['instances']=numpy.bytes_('two')\"",
             g_r1, badcfg, g_r1, badinst, badcfg, badinst);
    run_ok(cmd);
    const struct {
        const char *name, *text; /* text NULL: the path below is used as is */
        const char *path;
        const char *want1, *want2;
    } cases[] = {
        {"missing", NULL, "/nonexistent/x.h5", "/nonexistent/x.h5", "cannot open"},
        {"empty", "", NULL, "rep_bad_empty", "empty"},
        {"garbage", "hello world\n1,2,3\n", NULL, "rep_bad_garbage", "header"},
        {"binary", "\x01\x02\x00\x03", NULL, "rep_bad_binary", "binary data"},
        {"mrc bad number",
         "capacity_blocks,miss_ratio,token_hit_ratio,policy,mode,method,sample_rate,seed\n"
         "10,0.5,0.5,lru,prefix,exact,1,\n20,half,0.5,lru,prefix,exact,1,\n",
         NULL, ":3:", "miss_ratio"},
        {"mrc short row",
         "capacity_blocks,miss_ratio,token_hit_ratio,policy,mode,method,sample_rate,seed\n"
         "10,0.5\n", NULL, ":2:", "columns"},
        {"mrc header only",
         "capacity_blocks,miss_ratio,token_hit_ratio,policy,mode,method,sample_rate,seed\n", NULL,
         "rep_bad_mrc header only", "no rows"},
        {"cost bad ttl",
         "pricing,ttl_s,total_usd,input_uncached_usd,cache_write_usd,cache_read_usd,storage_usd,"
         "creation_fee_usd,hit_fee_usd,output_usd,read_tokens,written_tokens,uncached_tokens,"
         "objects,hits,token_hours_stored,operator_usd\n"
         "p,soon,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1\n", NULL, ":2:", "ttl_s"},
        {"missing dataset", NULL, broken, "/requests/first_token_ns", "missing"},
        {"other format", NULL, notours, "/@format", "something-else"},
        {"config not a string", NULL, badcfg, "/config@seed", "string"},
        {"config bad instances", NULL, badinst, "/config@instances", "two"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *path = cases[i].path;
        if (cases[i].text) {
            char name[64];
            snprintf(name, sizeof name, "rep_bad_%s", cases[i].name);
            tu_write_tmp(p, sizeof p, name, cases[i].text,
                         !strcmp(cases[i].name, "binary") ? 4 : strlen(cases[i].text));
            path = p;
        }
        char inputs[1200];
        snprintf(inputs, sizeof inputs, "%s '%s'", g_r2, path);
        int st;
        char *out = report(inputs, "rep_bad.html", 0, &st);
        if (st != 1 || !strstr(out, cases[i].want1) || !strstr(out, cases[i].want2))
            fail_msg("case %s: status %d, output: %s", cases[i].name, st, out);
        free(out);
    }
    /* nothing was written for the failed runs */
    tu_tmp_path(p, sizeof p, "rep_bad.html");
    assert_int_equal(access(p, F_OK), -1);
    /* usage */
    snprintf(cmd, sizeof cmd, "%s report", tu_bin());
    assert_int_equal(tu_run(cmd, NULL), 2);
    unlink(broken);
    unlink(badcfg);
    unlink(badinst);
    unlink(notours);
}


/* Labels: the same run given twice is numbered and noted; a timed run with
 * one request at a time is marked [serial] everywhere, with a note; runs
 * that differ only in the top tier's capacity are one series. */
static void test_report_labels(void **state)
{
    (void)state;
    char cmd[3000], serial[512], inputs[2100];
    tu_tmp_path(serial, sizeof serial, "rep_serial.h5");
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 3000 --policy s3fifo "
             "--concurrency none --backend sim -o %s", tu_bin(), g_trace, serial);
    run_ok(cmd);
    snprintf(inputs, sizeof inputs, "%s %s %s", g_r1, g_r2, g_r2);
    int st;
    char *html = report(inputs, "rep_labels.html", 0, &st);
    if (st != 0)
        fail_msg("report failed: %s", html);
    assert_non_null(strstr(html, "Runs #2, #3 have the same configuration"));
    assert_non_null(strstr(html, "(#2)</h3>"));
    assert_non_null(strstr(html, "(#3)</h3>"));
    free(html);
    snprintf(inputs, sizeof inputs, "%s %s", g_r1, serial);
    html = report(inputs, "rep_labels.html", 0, &st);
    if (st != 0)
        fail_msg("report failed: %s", html);
    assert_non_null(strstr(html, "[serial]</h3>"));
    assert_non_null(strstr(html, "serial service: a queue"));
    assert_non_null(strstr(html, "marked [serial] served one request at a time"));
    free(html);
    unlink(serial);
}

/* A results file of a newer schema is refused, naming the attribute. */
static void test_report_newer_schema(void **state)
{
    (void)state;
    char newer[512], cmd[3000];
    tu_tmp_path(newer, sizeof newer, "rep_newer.h5");
    snprintf(cmd, sizeof cmd,
             "cp %s %s && /usr/bin/python3 -c \"import h5py, numpy; "
             "h5py.File('%s','r+').attrs['schema_version']=numpy.uint32(2)\"", g_r1, newer, newer);
    run_ok(cmd);
    int st;
    char *out = report(newer, "rep_newer.html", 0, &st);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "/@schema_version"));
    assert_non_null(strstr(out, "schema 2"));
    free(out);
    unlink(newer);
}

/* The sweep table: one row per grid point, a bill column per pricing model
 * (examples/sweep.spec: 2 block sizes x 4 policies x 3 capacities x 2 TTLs
 * = 48 points, each billed under gemini-explicit and moonshot-2024). */
static void test_report_sweep_table(void **state)
{
    (void)state;
    char sweep[512], cmd[3000];
    tu_tmp_path(sweep, sizeof sweep, "rep_sweep_table.h5");
    snprintf(cmd, sizeof cmd, "%s sweep examples/sweep.spec -o %s", tu_bin(), sweep);
    run_ok(cmd);
    int st;
    char *html = report(sweep, "rep_sweep_table.html", 0, &st);
    if (st != 0)
        fail_msg("report failed: %s", html);
    const char *t = strstr(html, "<h2>Sweep (144 points)");
    assert_non_null(t);
    assert_non_null(strstr(t, "<th>bill, gemini-explicit</th><th>bill, moonshot-2024</th>"));
    const char *end = strstr(t, "</table>");
    int rows = 0;
    for (const char *p = t; (p = strstr(p, "<tr>")) && p < end; p++)
        rows++;
    assert_int_equal(rows, 1 + 48); /* the header and one row per point */
    free(html);
    unlink(sweep);
}

/* A serving sweep over tier layouts and tp: 2 x 2 = 4 points, one row
 * each, with a tiers and a tp column and the points' TTFT p99 (before, the
 * rows were keyed by policy, block size, capacity and TTL only, so the two
 * tp values of a layout showed as one row). */
static void test_report_sweep_axes(void **state)
{
    (void)state;
    char spec[512], sweep[512], cmd[3000], text[1200];
    tu_tmp_path(sweep, sizeof sweep, "rep_sweep_axes.h5");
    int n = snprintf(text, sizeof text,
                     "trace = %s\ntiers = hbm:2000,dram:10000 | hbm:4000,dram:10000\n"
                     "tp = 1, 2\nseed = 1\n", g_trace);
    tu_write_tmp(spec, sizeof spec, "rep_sweep_axes.spec", text, (size_t)n);
    snprintf(cmd, sizeof cmd, "%s sweep %s -o %s > /dev/null", tu_bin(), spec, sweep);
    run_ok(cmd);
    int st;
    char *html = report(sweep, "rep_sweep_axes.html", 0, &st);
    if (st != 0)
        fail_msg("report failed: %s", html);
    const char *t = strstr(html, "<h2>Sweep (4 points)");
    assert_non_null(t);
    const char *end = strstr(t, "</table>");
    const char *h = strstr(t, "<th>TTL</th><th>tiers</th><th>tp</th><th>block hit ratio</th>"
                              "<th>token hit ratio</th><th>TTFT p99</th>");
    assert_true(h && h < end);
    int rows = 0;
    for (const char *p = t; (p = strstr(p, "<tr>")) && p < end; p++)
        rows++;
    assert_int_equal(rows, 1 + 4);
    const char *a = strstr(t, "<td>hbm:4000,dram:10000</td><td>2</td>");
    assert_true(a && a < end);
    free(html);
    unlink(sweep);
    unlink(spec);
}

/* Many runs: the TTFT CDF and the occupancy become small multiples (panels
 * per policy and tier layout; one per run). */
static void test_report_small_multiples(void **state)
{
    (void)state;
    if (!cc_plot_available()) {
        printf("skipped: gnuplot not installed\n");
        skip();
    }
    char cmd[3000], inputs[4000] = "", r[8][512];
    const char *pol[] = {"lru", "fifo", "s3fifo", "arc"};
    for (int i = 0; i < 8; i++) {
        char name[64];
        snprintf(name, sizeof name, "rep_many_%d.h5", i);
        tu_tmp_path(r[i], sizeof r[i], name);
        snprintf(cmd, sizeof cmd, "%s replay %s --tiers hbm:%d,dram:4000 --policy %s "
                 "--concurrency immediate --max-requests 600 -o %s", tu_bin(), g_trace,
                 i % 2 ? 1000 : 500, pol[i / 2], r[i]);
        run_ok(cmd);
        snprintf(inputs + strlen(inputs), sizeof inputs - strlen(inputs), " %s", r[i]);
    }
    int st;
    char *html = report(inputs, "rep_many.html", 1, &st);
    if (st != 0)
        fail_msg("report failed: %s", html);
    free(html);
    char gp[600];
    tu_tmp_path(gp, sizeof gp, "rep_many_plots/ttft_cdf.gp");
    size_t n;
    char *script = tu_slurp(gp, &n);
    /* 4 panels of 2 curves: one per policy with its two HBM sizes */
    assert_non_null(strstr(script, "set multiplot layout 2,3"));
    assert_non_null(strstr(script, "set title 'arc · hbm:*,dram:4000'"));
    free(script);
    tu_tmp_path(gp, sizeof gp, "rep_many_plots/occupancy.gp");
    script = tu_slurp(gp, &n);
    assert_non_null(strstr(script, "set multiplot layout 3,3"));
    free(script);
    tu_tmp_path(gp, sizeof gp, "rep_many_plots/hit_capacity.dat");
    char *dat = tu_slurp(gp, &n);
    /* one series per policy, two points each, capacities in order */
    assert_non_null(strstr(dat, "\"runs: lru · hbm:*,dram:4000\"\n500 "));
    free(dat);
    for (int i = 0; i < 8; i++)
        unlink(r[i]);
}

/* The summaries: python's csv and json modules read them; the figures equal
 * the replay's own --json. */
static void test_summaries(void **state)
{
    (void)state;
    char cmd[4000], csv[512], js[512], html[512], *out = NULL;
    tu_tmp_path(csv, sizeof csv, "rep_sum.csv");
    tu_tmp_path(js, sizeof js, "rep_sum.json");
    tu_tmp_path(html, sizeof html, "rep_sum.html");
    snprintf(cmd, sizeof cmd, "%s report %s %s --no-plots -o %s --summary-csv %s --summary-json %s",
             tu_bin(), g_r1, g_r2, html, csv, js);
    run_ok(cmd);
    snprintf(cmd, sizeof cmd,
             "%s replay %s --capacity-blocks 3000 --policy s3fifo --json > %s.replay.json && "
             "/usr/bin/python3 -c \"import csv, json\n"
             "rows=list(csv.DictReader(open('%s')))\n"
             "j=json.load(open('%s'))['runs']\n"
             "r=json.load(open('%s.replay.json'))\n"
             "assert len(rows)==2 and len(j)==2\n"
             "assert rows[1]['policy']=='s3fifo' and j[1]['policy']=='s3fifo'\n"
             "for k in ('block_hit_ratio','token_hit_ratio','request_hit_ratio_mean'):\n"
             "    assert abs(float(rows[1][k])-r[k])<1e-9 and abs(j[1][k]-r[k])<1e-9, (k, rows[1][k], r[k])\n"
             "assert int(rows[1]['evictions'])==r['evictions']==j[1]['evictions']\n"
             "assert rows[0]['tiers']=='hbm:2000,dram:10000'\n"
             "assert rows[0]['serial_service']=='1' and j[0]['serial_service'] is True\n"
             "assert rows[1]['serial_service']=='0' and j[1]['serial_service'] is False\n"
             "assert j[0]['config']['seed']=='3' and j[1]['config']['capacity-blocks']=='3000'\n\"",
             tu_bin(), g_trace, csv, csv, js, csv);
    if (tu_run(cmd, &out) != 0)
        fail_msg("summary check: %s", out);
    free(out);
}

/* The main job's three runs: prefix only, semantic -> prefix -> blend (both
 * billed under openai), no cache.  The results files carry the bills
 * (/cost): the prefix run's no-cache bill is every input and output token
 * at the model's prices, summed by h5py from the per-request columns.  The
 * report labels the runs by their tiers, shows what each tier contributed
 * and the bills on the cards; the same page from files of schema 1.2
 * (h5py removes /semantic, /blend and 1.3's /cost columns) still renders,
 * without the contribution table. */
static void test_report_three_tiers(void **state)
{
    (void)state;
    char p[512], t3[512], nc[512], old[512], js[512], cmd[4000], *out = NULL;
    tu_tmp_path(p, sizeof p, "rep_prefix.h5");
    tu_tmp_path(t3, sizeof t3, "rep_tiers.h5");
    tu_tmp_path(nc, sizeof nc, "rep_nocache.h5");
    tu_tmp_path(old, sizeof old, "rep_tiers_12.h5");
    tu_tmp_path(js, sizeof js, "rep_prefix.json");
    const char *common = "--tiers hbm:500,dram:3000 --max-requests 800";
    snprintf(cmd, sizeof cmd, "%s replay %s %s --pricing openai -o %s --json > %s", tu_bin(),
             g_trace, common, p, js);
    run_ok(cmd);
    snprintf(cmd, sizeof cmd, "%s replay %s %s --pricing openai --semantic --blend -o %s",
             tu_bin(), g_trace, common, t3);
    run_ok(cmd);
    snprintf(cmd, sizeof cmd, "%s replay %s %s --no-cache -o %s", tu_bin(), g_trace, common, nc);
    run_ok(cmd);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"import h5py, json\n"
             "f = h5py.File('%s'); c = f['cost']; j = json.load(open('%s'))\n"
             "m = j['pricing']['openai']\n"
             "q = f['requests']\n"
             "want = (int(q['input_tokens'][:].astype('u8').sum()) * m['input_usd_per_mtok'] + "
             "int(q['output_tokens'][:].astype('u8').sum()) * m['output_usd_per_mtok']) / 1e6\n"
             "assert abs(c['no_cache_usd'][0] - want) < 1e-9 * want, (c['no_cache_usd'][0], want)\n"
             "assert abs(c['total_usd'][0] - j['cost']['openai']) < 1e-12\n"
             "assert c['total_usd'][0] < c['no_cache_usd'][0]\n"
             "g = h5py.File('%s')\n"
             "o = g['semantic/outcome'][:]\n"
             "assert g['semantic'].attrs['hits'] == ((o == 2) | (o == 3)).sum() > 0\n"
             "assert g['cost/requests'][0] == len(o) - ((o == 2) | (o == 3)).sum()\n"
             "assert g['blend'].attrs['blend_tokens'] == g['blend/blend_tokens'][:].sum()\n"
             "assert 'cost' not in h5py.File('%s')\n"
             "\"", p, js, t3, nc);
    if (tu_run(cmd, &out) != 0)
        fail_msg("h5py check: %s", out);
    free(out);
    char in[2000];
    snprintf(in, sizeof in, "%s %s %s", p, t3, nc);
    int st;
    char *html = report(in, "rep_tiers.html", 0, &st);
    if (st != 0)
        fail_msg("report: %s", html);
    assert_non_null(strstr(html, "What each tier contributed"));
    assert_non_null(strstr(html, "#1 prefix</h3>"));
    assert_non_null(strstr(html, "#2 semantic+prefix+blend</h3>"));
    assert_non_null(strstr(html, "#3 no cache</h3>"));
    assert_null(strstr(html, "pricing="));
    assert_non_null(strstr(html, "<dt>bills</dt><dd>openai $"));
    assert_non_null(strstr(html, "<dt>semantic</dt>"));
    assert_non_null(strstr(html, "<dt>blend</dt>"));
    /* the no-cache run saves nothing */
    assert_non_null(strstr(html, "<dt>prefill saved</dt><dd>0 s of GPU time"));
    free(html);
    snprintf(cmd, sizeof cmd,
             "cp %s %s && /usr/bin/python3 -c \"import h5py, numpy\n"
             "f = h5py.File('%s', 'r+')\n"
             "del f['semantic'], f['blend'], f['cost/no_cache_usd'], f['cost/requests']\n"
             "del f['sim'].attrs['gpu_busy_s']\n"
             "f.attrs['schema_minor'] = numpy.uint32(2)\n"
             "\"", t3, old, old);
    run_ok(cmd);
    snprintf(in, sizeof in, "%s %s", p, old);
    html = report(in, "rep_tiers_12.html", 0, &st);
    if (st != 0)
        fail_msg("report of a 1.2 file: %s", html);
    assert_null(strstr(html, "What each tier contributed"));
    assert_non_null(strstr(html, "<dt>bills</dt><dd>openai $"));
    free(html);
    unlink(p);
    unlink(t3);
    unlink(nc);
    unlink(old);
    unlink(js);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_occupancy_samples),
        cmocka_unit_test(test_occupancy_overlapping),
        cmocka_unit_test(test_quantiles),
        cmocka_unit_test(test_results_file_h5py),
        cmocka_unit_test(test_results_config),
        cmocka_unit_test(test_report_tables),
        cmocka_unit_test(test_report_plots),
        cmocka_unit_test(test_report_bad_inputs),
        cmocka_unit_test(test_summaries),
        cmocka_unit_test(test_report_labels),
        cmocka_unit_test(test_report_newer_schema),
        cmocka_unit_test(test_report_sweep_table),
        cmocka_unit_test(test_report_sweep_axes),
        cmocka_unit_test(test_report_small_multiples),
        cmocka_unit_test(test_report_three_tiers),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
