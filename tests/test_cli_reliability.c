/* test_cli_reliability.c -- the command under hostile conditions (issue 19):
 * an address-space limit (no hang, exit 3 with a message where BLAS cannot
 * start), real SIGINT / SIGTERM during writes (no temporary left, exit
 * 130 / 143), standard output on a full device (/dev/full: exit 3 with a
 * message), arrivals at the largest accepted time (every derived figure
 * checked by hand), and byte-identical results across runs, threads and MPI.
 * Every case runs the built command as a user does. */
#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

/* AddressSanitizer reserves terabytes of address space and doubles the
 * memory of everything: the address-space and memory-size tests skip. */
#if defined(__SANITIZE_ADDRESS__)
#define TU_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TU_ASAN 1
#endif
#endif
#ifdef TU_ASAN
#define SKIP_UNDER_ASAN()                                                                 \
    do {                                                                                  \
        printf("skipped: built with AddressSanitizer (address space and memory differ)\n"); \
        skip();                                                                           \
    } while (0)
#else
#define SKIP_UNDER_ASAN() ((void)0)
#endif

/* Exit status of `ulimit -v KB; CMD` (through sh, bounded by timeout(1):
 * 124 means it hung). */
static int run_limited_env(size_t kb, const char *env, const char *args, char **out)
{
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "sh -c 'ulimit -v %zu; exec %s timeout 30 %s %s' </dev/null", kb,
             env, tu_bin(), args);
    return tu_run(cmd, out);
}

static int run_limited(size_t kb, const char *args, char **out)
{
    return run_limited_env(kb, "", args, out);
}

/* OpenBLAS used to start its worker threads at load; under a limit the
 * workers retried a failed 128 MB mapping forever and exit waited for them
 * (every command hung).  Sweep the limit from too small to load the
 * libraries up to enough: every run ends (0, or 127 when the loader cannot
 * map a library), none times out. */
static void test_ulimit_version_never_hangs(void **state)
{
    (void)state;
    SKIP_UNDER_ASAN();
    /* and with an empty environment (main.c: no variable to borrow) */
    for (int empty = 0; empty < 2; empty++) {
        int ok = 0;
        for (size_t mb = 100; mb <= 2500 && ok < 3; mb += 50) {
            char *out = NULL;
            int rc = run_limited_env(mb << 10, empty ? "env -i" : "", "version", &out);
            /* in a narrow band a library's constructor dies before main (tu_run: 128
             * for a death by signal, timeout(1) passes 128 + N on):
             * libcublasLt with SIGSEGV; OpenBLAS, which raises SIGINT when it
             * cannot create a thread (env -i: it still starts them) */
            int died_loading = rc == 128 || rc == 128 + SIGSEGV || (empty && rc == 128 + SIGINT);
            if (rc != 0 && rc != 127 && !died_loading)
                fail_msg("ulimit -v %zu MB%s: ctxcache version exit %d (124: hung):\n%s", mb,
                         empty ? ", env -i" : "", rc, out);
            ok += rc == 0;
            free(out);
        }
        assert_true(ok > 0);
    }
}

/* The CPU engine needs a 128 MB BLAS buffer per thread: from the smallest
 * limit that loads the command up, each replay on the engine either runs or
 * exits 3 naming the address-space limit -- never hangs -- and some limit
 * gives the exit 3 before one is enough. */
static void test_ulimit_engine_exit_3(void **state)
{
    (void)state;
    SKIP_UNDER_ASAN();
    char trace[512], args[1200];
    tu_tmp_path(trace, sizeof trace, "ulimit.h5");
    snprintf(args, sizeof args, "%s gen default -o %s --seed 1 >/dev/null", tu_bin(), trace);
    assert_int_equal(tu_run(args, NULL), 0);
    size_t mb = 100;
    while (mb <= 2500 && run_limited(mb << 10, "version", NULL) != 0)
        mb += 50;
    assert_true(mb <= 2500);
    snprintf(args, sizeof args,
             "replay %s --capacity-blocks inf --backend cpu --model tiny --max-requests 2", trace);
    int saw3 = 0, rc = -1;
    for (; mb <= 4000; mb += 50) {
        char *out = NULL;
        rc = run_limited(mb << 10, args, &out);
        if (rc == 3) {
            if (!strstr(out, "memory") && !strstr(out, "ulimit"))
                fail_msg("ulimit -v %zu MB: exit 3 without a memory message:\n%s", mb, out);
            saw3 = 1;
        } else if (rc != 0) {
            fail_msg("ulimit -v %zu MB: replay --backend cpu exit %d (124: hung):\n%s", mb, rc,
                     out);
        }
        free(out);
        if (rc == 0)
            break;
    }
    assert_int_equal(rc, 0);
    assert_true(saw3);
    unlink(trace);
}

/* ---- interrupted runs ------------------------------------------------------ */

/* Starts `ctxcache args...` (stdout, stderr to /dev/null); returns its pid. */
static pid_t spawn(char *const args[])
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* the dispositions ctxcache starts from: a job started in the
         * background by a non-interactive shell (CI runners, nohup'd suites)
         * ignores SIGINT, and ctxcache rightly keeps a signal ignored that it
         * was started ignoring, so the run would finish instead of stopping */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        int null = open("/dev/null", O_WRONLY);
        dup2(null, 1);
        dup2(null, 2);
        execv(tu_bin(), args);
        _exit(127);
    }
    return pid;
}

/* The names in path's folder that start with path's name + ".tmp". */
static int count_tmp(const char *path)
{
    char dir[512];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    assert_non_null(slash);
    *slash = '\0';
    char prefix[512];
    snprintf(prefix, sizeof prefix, "%s.tmp", slash + 1);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *de;
    int n = 0;
    while ((de = readdir(d)))
        n += strncmp(de->d_name, prefix, strlen(prefix)) == 0;
    closedir(d);
    return n;
}

/* Runs the command, stops it (SIGSTOP) the moment its temporary output
 * appears, sends sig and lets it go on: the signal arrives in the write
 * phase.  Returns 1 when that happened (the wait status in *status), 0
 * when the run finished before it could be caught (try again). */
static int interrupt_while_writing(char *const args[], const char *out, int sig, int *status)
{
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", out);
    unlink(out);
    pid_t pid = spawn(args);
    int caught = 0;
    for (;;) {
        if (access(tmp, F_OK) == 0) {
            kill(pid, SIGSTOP);
            caught = access(tmp, F_OK) == 0; /* still writing */
            if (caught)
                kill(pid, sig);
            kill(pid, SIGCONT);
            break;
        }
        if (waitpid(pid, status, WNOHANG) == pid) {
            if (!(WIFEXITED(*status) && WEXITSTATUS(*status) == 0))
                fail_msg("%s exited with status 0x%x before it wrote %s (not a missed catch)",
                         args[1], *status, tmp);
            return 0;
        }
        sched_yield();
    }
    assert_int_equal(waitpid(pid, status, 0), pid);
    return caught && !(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
}

static void big_trace(char *path, size_t len)
{
    tu_tmp_path(path, len, "sig_in.h5");
    if (access(path, F_OK) == 0)
        return;
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 3 >/dev/null", tu_bin(), path);
    assert_int_equal(tu_run(cmd, NULL), 0);
}

/* SIGINT and SIGTERM in the write phase of a text output (trace convert to
 * libCacheSim csv: one row per block) and of an HDF5 output (replay's
 * results file): exit 130 / 143, no temporary left, no output. */
static void test_signal_removes_temporary(void **state)
{
    (void)state;
    char in[512], csv[512], res[512];
    big_trace(in, sizeof in);
    tu_tmp_path(csv, sizeof csv, "sig_out.csv");
    tu_tmp_path(res, sizeof res, "sig_res.h5");
    char *convert[] = {(char *)tu_bin(), "trace", "convert", in, csv, "--to", "lcs-csv", NULL};
    char *replay[] = {(char *)tu_bin(), "replay", in, "--capacity-blocks", "4000", "-o", res,
                      NULL};
    struct { char *const *args; const char *out; int sig; } cases[] = {
        {convert, csv, SIGINT}, {convert, csv, SIGTERM},
        {replay, res, SIGINT},  {replay, res, SIGTERM},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int status = 0, hit = 0;
        /* a short write phase is easily missed on a loaded machine (under
         * ASan on 2 busy cores 20 tries were once not enough) */
        for (int attempt = 0; attempt < 100 && !hit; attempt++)
            hit = interrupt_while_writing(cases[i].args, cases[i].out, cases[i].sig, &status);
        if (!hit)
            fail_msg("case %zu: never caught the run while it wrote %s", i, cases[i].out);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 128 + cases[i].sig);
        assert_int_equal(count_tmp(cases[i].out), 0);
        assert_int_equal(access(cases[i].out, F_OK), -1);
    }
}

/* SIGKILL cannot be caught: the killed run leaves its temporary, and the
 * next run writing the same file reuses it (or removes it) -- nothing
 * stays.  A temporary that a live writer holds (locked) is left alone: the
 * run writes beside it (OUT.tmp.1). */
static void test_killed_run_litter_cleaned(void **state)
{
    (void)state;
    char in[512], csv[512], tmp[600], tmp3[600];
    big_trace(in, sizeof in);
    tu_tmp_path(csv, sizeof csv, "kill_out.csv");
    snprintf(tmp, sizeof tmp, "%s.tmp", csv);
    snprintf(tmp3, sizeof tmp3, "%s.tmp.3", csv);
    char *convert[] = {(char *)tu_bin(), "trace", "convert", in, csv, "--to", "lcs-csv", NULL};
    int status = 0, hit = 0;
    for (int attempt = 0; attempt < 20 && !hit; attempt++)
        hit = interrupt_while_writing(convert, csv, SIGKILL, &status);
    assert_true(hit);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(access(tmp, F_OK), 0); /* the litter of a killed run */
    FILE *f = fopen(tmp3, "w");                /* and an older one */
    assert_non_null(f);
    fputs("stale", f);
    fclose(f);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "%s trace convert %s %s --to lcs-csv >/dev/null", tu_bin(), in, csv);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_int_equal(count_tmp(csv), 0);
    assert_int_equal(access(csv, F_OK), 0);

    /* a live writer's temporary (this process holds its lock) */
    int fd = open(tmp, O_RDWR | O_CREAT, 0666);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "live", 4), 4);
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    assert_int_equal(fcntl(fd, F_OFD_SETLK, &fl), 0);
    unlink(csv);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_int_equal(access(csv, F_OK), 0);
    char buf[8] = {0};
    assert_int_equal(pread(fd, buf, sizeof buf, 0), 4);
    assert_string_equal(buf, "live"); /* untouched */
    assert_int_equal(count_tmp(csv), 1);  /* only the live one */
    close(fd);
    unlink(tmp);
    unlink(csv);
    unlink(in);
}

/* ---- standard output on a full device ------------------------------------- */

/* Every command that prints: > /dev/full gives exit 3 and a message (it was
 * exit 0 and an empty file), and an error exit stays what it was. */
static void test_stdout_full_device(void **state)
{
    (void)state;
    char trace[512], spec[512], cmd[2400];
    tu_tmp_path(trace, sizeof trace, "full.h5");
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 1 >/dev/null", tu_bin(), trace);
    assert_int_equal(tu_run(cmd, NULL), 0);
    char sweep_out[512];
    tu_tmp_path(sweep_out, sizeof sweep_out, "full_sweep.h5");
    char spec_text[1200];
    snprintf(spec_text, sizeof spec_text,
             "trace = %s\npolicy = lru\ncapacity_blocks = 500, 1000\n", trace);
    tu_write_tmp(spec, sizeof spec, "full.spec", spec_text, strlen(spec_text));
    const char *runs[] = {
        "version",
        "help",
        "trace stats %s --json",
        "trace stats %s",
        "replay %s --capacity-blocks 1000 --json",
        "mrc %s --sizes 100,1000 --json",
    };
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++) {
        char args[1200], *out = NULL;
        snprintf(args, sizeof args, runs[i], trace);
        snprintf(cmd, sizeof cmd, "(%s %s >/dev/full)", tu_bin(), args);
        int rc = tu_run(cmd, &out);
        if (rc != 3 || !strstr(out, "cannot write standard output"))
            fail_msg("%s > /dev/full: exit %d, stderr:\n%s", args, rc, out);
        free(out);
    }
    char *out = NULL;
    snprintf(cmd, sizeof cmd, "(%s sweep %s -o %s --json >/dev/full)", tu_bin(), spec,
             sweep_out);
    int rc = tu_run(cmd, &out);
    if (rc != 3 || !strstr(out, "standard output"))
        fail_msg("sweep --json > /dev/full: exit %d, stderr:\n%s", rc, out);
    free(out);
    /* a usage error keeps its status */
    snprintf(cmd, sizeof cmd, "%s replay >/dev/full", tu_bin());
    assert_int_equal(tu_run(cmd, NULL), 2);
    unlink(trace);
    unlink(spec);
    unlink(sweep_out);
}

/* ---- the largest accepted arrival ------------------------------------------ */

static json_t *run_json(const char *args)
{
    char cmd[2048], *out = NULL;
    snprintf(cmd, sizeof cmd, "(%s %s 2>/dev/null)", tu_bin(), args);
    int rc = tu_run(cmd, &out);
    if (rc != 0)
        fail_msg("%s: exit %d:\n%s", args, rc, out);
    json_error_t je;
    json_t *o = json_loads(out, 0, &je);
    if (!o)
        fail_msg("%s: not JSON (%s):\n%s", args, je.text, out);
    free(out);
    return o;
}

static double num(const json_t *o, const char *key)
{
    const json_t *v = json_object_get(o, key);
    if (!json_is_number(v))
        fail_msg("'%s' missing or not a number", key);
    return json_number_value(v);
}

/* Mooncake timestamps 0 and 2^62 ns / 1e6 = 4611686018427 ms (the largest
 * accepted): every derived time is that span plus at most the service time
 * of one request (under a second on the default profile), and every rate is
 * a count over it -- computed here by hand.  One ms more is rejected with the
 * line and field (it was accepted up to INT64_MAX ns and the replay then
 * wrapped: makespan 0.0115 s). */
static void test_largest_arrival(void **state)
{
    (void)state;
    const double span_s = 4611686018.427;
    char path[512], over[512], args[1200];
    const char *ok = "{\"timestamp\": 0, \"input_length\": 1000, \"output_length\": 10, "
                     "\"hash_ids\": [1, 2]}\n"
                     "{\"timestamp\": 4611686018427, \"input_length\": 1000, "
                     "\"output_length\": 10, \"hash_ids\": [1, 2]}\n";
    tu_write_tmp(path, sizeof path, "maxarr.jsonl", ok, strlen(ok));
    snprintf(args, sizeof args, "trace stats %s --json", path);
    json_t *st = run_json(args);
    /* the JSON carries 10 significant digits: 4611686018.0 */
    assert_true(fabs(num(st, "span_s") - span_s) < 1);
    assert_true(fabs(num(st, "interarrival_mean_s") - span_s) < 1);
    json_decref(st);

    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --pricing openai --json", path);
    json_t *r = run_json(args);
    double mk = num(r, "makespan_s"), last = num(r, "last_finish_ns");
    assert_true(mk >= span_s - 1 && mk < span_s + 2); /* 10 significant digits in JSON */
    assert_true(last > 4611686018427e6 && last < 4611686018427e6 + 1e9);
    double ttft = num(r, "ttft_p99_s"), e2e = num(r, "e2e_p99_s");
    assert_true(ttft > 0 && ttft < 1 && e2e >= ttft && e2e < 2);
    assert_true(num(r, "queue_p99_s") >= 0 && num(r, "queue_p99_s") < 1);
    assert_true(fabs(num(r, "throughput_tokens_per_s") * mk / 2020 - 1) < 1e-6);
    assert_true(fabs(num(r, "output_tokens_per_s") * mk / 20 - 1) < 1e-6);
    assert_true(fabs(num(r, "requests_per_s") * mk / 2 - 1) < 1e-6);
    assert_true(fabs(num(r, "block_hit_ratio") - 0.5) < 1e-12); /* blocks 1, 2 again */
    const json_t *cost = json_object_get(r, "cost");
    assert_non_null(cost);
    double usd = num(cost, "openai");
    assert_true(usd > 0 && isfinite(usd));
    json_decref(r);

    /* a TTL shorter than the gap (1e9 s < 146 years): nothing is left to hit */
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --policy 'ttl(ttl_s=1e9)' --json",
             path);
    r = run_json(args);
    assert_true(num(r, "block_hit_ratio") == 0);
    json_decref(r);
    /* rates backend: the second request starts at its arrival */
    snprintf(args, sizeof args, "replay %s --capacity-blocks inf --backend rates --json", path);
    r = run_json(args);
    last = num(r, "last_finish_ns");
    assert_true(last > 4611686018427e6 && last < 4611686018427e6 + 2e9);
    json_decref(r);

    const char *bad = "{\"timestamp\": 0, \"input_length\": 1000, \"output_length\": 10, "
                      "\"hash_ids\": [1, 2]}\n"
                      "{\"timestamp\": 4611686018428, \"input_length\": 1000, "
                      "\"output_length\": 10, \"hash_ids\": [1, 2]}\n";
    tu_write_tmp(over, sizeof over, "overarr.jsonl", bad, strlen(bad));
    char cmd[1400], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 100", tu_bin(), over);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, ":2:"));
    assert_non_null(strstr(out, "timestamp"));
    free(out);
    /* rates so slow that the times could pass INT64_MAX */
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks inf --backend rates "
             "--prefill-tps 1e-300", tu_bin(), path);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "2^63"));
    free(out);
    unlink(path);
    unlink(over);
}

/* ---- profile and option errors ------------------------------------------- */

/* A hardware or model profile file with a bad value is bad input: exit 1
 * and the message names the file, the line and the key (it was exit 2, a
 * usage error, with neither); an unknown profile name stays a usage error. */
static void test_profile_errors_located(void **state)
{
    (void)state;
    char trace[512], hw[512], model[512], cmd[2400], *out = NULL;
    const char *tr = "{\"timestamp\": 0, \"input_length\": 600, \"output_length\": 5, "
                     "\"hash_ids\": [0, 1]}\n";
    tu_write_tmp(trace, sizeof trace, "prof.jsonl", tr, strlen(tr));
    size_t len;
    char *h = tu_slurp("sim/profiles/hardware/h100-sxm.profile", &len);
    char *at = strstr(h, "\nhbm_bytes = 80e9");
    assert_non_null(at);
    long line = 2;
    for (char *c = h; c < at; c++)
        line += *c == '\n';
    memcpy(at + 1, "hbm_bytes = abc ", 16); /* same length: the other lines stay */
    tu_write_tmp(hw, sizeof hw, "bad_hw.profile", h, len);
    free(h);
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 10 --hardware %s", tu_bin(), trace,
             hw);
    assert_int_equal(tu_run(cmd, &out), 1);
    char where[600];
    snprintf(where, sizeof where, "%s:%ld", hw, line);
    if (!strstr(out, where) || !strstr(out, "hbm_bytes"))
        fail_msg("expected '%s' and the key in:\n%s", where, out);
    free(out);

    const char *m = "kind = model\nname = x\nn_layers = -3\n";
    tu_write_tmp(model, sizeof model, "bad_model.profile", m, strlen(m));
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 10 --model %s", tu_bin(), trace,
             model);
    assert_int_equal(tu_run(cmd, &out), 1);
    snprintf(where, sizeof where, "%s:", model);
    if (!strstr(out, where))
        fail_msg("expected '%s' in:\n%s", where, out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 10 --hardware no-such-gpu", tu_bin(),
             trace);
    assert_int_equal(tu_run(cmd, NULL), 2);
    unlink(trace);
    unlink(hw);
    unlink(model);
}

/* An output path that is the input trace is refused before anything is
 * read or written (replay -o T.h5 silently replaced the input trace T.h5). */
static void test_output_is_input(void **state)
{
    (void)state;
    char trace[512], cmd[2400], link[512], *out = NULL;
    tu_tmp_path(trace, sizeof trace, "same.h5");
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 1 >/dev/null", tu_bin(), trace);
    assert_int_equal(tu_run(cmd, NULL), 0);
    size_t len;
    char *before = tu_slurp(trace, &len);
    tu_tmp_path(link, sizeof link, "same_link.h5");
    unlink(link);
    assert_int_equal(symlink(strrchr(trace, '/') + 1, link), 0); /* beside it */
    const char *runs[] = {
        "replay %s --capacity-blocks 100 -o %s",
        "trace convert %s %s",
        "mrc %s --sizes 10,100 -o %s",
    };
    for (size_t i = 0; i < sizeof runs / sizeof *runs; i++)
        for (int via_link = 0; via_link < 2; via_link++) {
            char args[1400];
            snprintf(args, sizeof args, runs[i], trace, via_link ? link : trace);
            snprintf(cmd, sizeof cmd, "%s %s", tu_bin(), args);
            int rc = tu_run(cmd, &out);
            if (rc != 2 || !strstr(out, "would replace"))
                fail_msg("%s: exit %d:\n%s", args, rc, out);
            free(out);
        }
    size_t len2;
    char *after = tu_slurp(trace, &len2);
    assert_int_equal(len, len2);
    assert_memory_equal(before, after, len);
    free(before);
    free(after);
    unlink(link);
    unlink(trace);
}

/* ---- determinism ------------------------------------------------------------ */

/* stdout of a command with every occurrence of path replaced by "OUT" and
 * without the lines of the wall-clock measurements (replay's elapsed_s and
 * block_lookups_per_s: timings, labelled as such, not results) */
static char *output_without(const char *cmd, const char *path)
{
    char *out = NULL;
    if (tu_run(cmd, &out) != 0)
        fail_msg("%s:\n%s", cmd, out);
    size_t pl = strlen(path);
    char *r = malloc(strlen(out) + 1), *w = r;
    for (const char *c = out; *c;) {
        if ((c == out || c[-1] == '\n') &&
            (!strncmp(c, "  \"elapsed_s\"", 13) || !strncmp(c, "  \"block_lookups_per_s\"", 23))) {
            while (*c && *c != '\n')
                c++;
            if (*c)
                c++;
            continue;
        }
        if (!strncmp(c, path, pl)) {
            memcpy(w, "OUT", 3);
            w += 3;
            c += pl;
        } else {
            *w++ = *c++;
        }
    }
    *w = '\0';
    free(out);
    return r;
}

static void assert_same_bytes(const char *a, const char *b)
{
    size_t na, nb;
    char *x = tu_slurp(a, &na), *y = tu_slurp(b, &nb);
    if (na != nb || memcmp(x, y, na))
        fail_msg("%s and %s differ (%zu vs %zu bytes)", a, b, na, nb);
    free(x);
    free(y);
}

/* The same command twice gives the same results file byte for byte and the
 * same JSON; a sweep on 1 thread, 2 threads and under mpirun -np 2 gives the
 * same file and the same JSON but for the output path it names. */
static void test_deterministic_results(void **state)
{
    (void)state;
    char trace[512], res[512], keep[512], spec[512], s1[512], s2[512], sm[512], cmd[2400];
    tu_tmp_path(trace, sizeof trace, "det.h5");
    snprintf(cmd, sizeof cmd, "%s gen default -o %s --seed 5 >/dev/null", tu_bin(), trace);
    assert_int_equal(tu_run(cmd, NULL), 0);
    tu_tmp_path(res, sizeof res, "det_res.h5");
    tu_tmp_path(keep, sizeof keep, "det_res_first.h5");
    snprintf(cmd, sizeof cmd,
             "(%s replay %s --tiers hbm:800,dram:4000 --policy s3fifo --concurrency immediate "
             "--instances 2 --pricing openai,anthropic-5m -o %s --json 2>/dev/null)",
             tu_bin(), trace, res);
    char *j1 = output_without(cmd, res);
    assert_int_equal(rename(res, keep), 0);
    char *j2 = output_without(cmd, res);
    assert_string_equal(j1, j2);
    assert_same_bytes(keep, res);
    free(j1);
    free(j2);

    char text[1200];
    snprintf(text, sizeof text,
             "trace = %s\npolicy = lru, s3fifo\ncapacity_blocks = 500, 3000\n"
             "pricing = none, openai\n", trace);
    tu_write_tmp(spec, sizeof spec, "det.spec", text, strlen(text));
    tu_tmp_path(s1, sizeof s1, "det_s1.h5");
    tu_tmp_path(s2, sizeof s2, "det_s2.h5");
    tu_tmp_path(sm, sizeof sm, "det_sm.h5");
    snprintf(cmd, sizeof cmd, "(%s sweep %s -o %s --threads 1 --json 2>/dev/null)", tu_bin(),
             spec, s1);
    char *a = output_without(cmd, s1);
    snprintf(cmd, sizeof cmd, "(%s sweep %s -o %s --threads 2 --json 2>/dev/null)", tu_bin(),
             spec, s2);
    char *b = output_without(cmd, s2);
    assert_string_equal(a, b);
    assert_same_bytes(s1, s2);
    snprintf(cmd, sizeof cmd, "%s sweep --help", tu_bin());
    char *help = NULL;
    assert_int_equal(tu_run(cmd, &help), 0);
    int mpi = strstr(help, "MPI in this build: yes") != NULL &&
              system("command -v mpirun >/dev/null 2>&1") == 0;
    free(help);
    if (!mpi) {
        printf("skipped: the mpirun part (no MPI in this build or no mpirun)\n");
    } else {
        snprintf(cmd, sizeof cmd,
                 "(mpirun --allow-run-as-root --oversubscribe -np 2 %s sweep %s -o %s --threads 1 "
                 "--json 2>/dev/null)", tu_bin(), spec, sm);
        char *c = output_without(cmd, sm);
        assert_string_equal(a, c);
        assert_same_bytes(s1, sm);
        free(c);
        unlink(sm);
    }
    free(a);
    free(b);
    unlink(trace);
    unlink(res);
    unlink(keep);
    unlink(spec);
    unlink(s1);
    unlink(s2);
}

/* ---- runaway memory in the multi-turn readers ------------------------------ */

/* An MT-bench record of 2,000 turns: turn k repeats the k turns before it and
 * their 256-token placeholder answers, about 2 GB of token ids in all.  With a
 * bound of 50 MB the read fails with exit 3 and a message naming the record
 * (it used to grow until the kernel killed it); the first 3 turns read. */
static void test_multiturn_memory_bound(void **state)
{
    (void)state;
    size_t turns = 2000, cap = 32 + turns * 8;
    char *text = malloc(cap), path[512], small[512], cmd[1400], *out = NULL;
    size_t n = (size_t)snprintf(text, cap, "{\"question_id\": 1, \"turns\": [");
    for (size_t i = 0; i < turns; i++)
        n += (size_t)snprintf(text + n, cap - n, "%s\"hi\"", i ? ", " : "");
    n += (size_t)snprintf(text + n, cap - n, "]}\n");
    tu_write_tmp(path, sizeof path, "many_turns.jsonl", text, n);
    free(text);
    snprintf(cmd, sizeof cmd, "CTXCACHE_MAX_MEMORY=50M %s trace stats %s --format mtbench",
             tu_bin(), path);
    int rc = tu_run(cmd, &out);
    if (rc != 3 || !strstr(out, "record 1") || !strstr(out, "50.0 MB"))
        fail_msg("exit %d:\n%s", rc, out);
    free(out);
    const char *few = "{\"question_id\": 1, \"turns\": [\"hi\", \"hi\", \"hi\"]}\n";
    tu_write_tmp(small, sizeof small, "few_turns.jsonl", few, strlen(few));
    snprintf(cmd, sizeof cmd, "CTXCACHE_MAX_MEMORY=50M %s trace stats %s --format mtbench",
             tu_bin(), small);
    assert_int_equal(tu_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "CTXCACHE_MAX_MEMORY=lots %s trace stats %s", tu_bin(), small);
    assert_int_equal(tu_run(cmd, NULL), 2);
    unlink(path);
    unlink(small);
}

/* Peak resident KB of `ctxcache args` (wait4's rusage); its exit must be 0. */
static long peak_kb(char *const args[])
{
    pid_t pid = spawn(args);
    int status;
    struct rusage ru;
    assert_int_equal(wait4(pid, &status, 0, &ru), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    return ru.ru_maxrss;
}

/* Memory per request, stated in README.md: a trace takes 65 bytes per
 * request (arrival 8, session 8, turn 4, tenant 4, lengths 8, group 8, role
 * 1, three offsets 24) plus 8 per block hash, up to twice that while the
 * arrays grow; reading Mooncake and `trace
 * stats` each add a hash map of the distinct blocks, at most 64 bytes a
 * block while it grows.  200,000 requests of 14 distinct blocks each (the
 * worst case: no block shared) must stay within that above the command's
 * own footprint (`version`: the libraries). */
static void test_memory_per_request(void **state)
{
    (void)state;
    SKIP_UNDER_ASAN();
    const size_t n = 200000, per = 14;
    char path[512];
    tu_tmp_path(path, sizeof path, "mem200k.jsonl");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    uint64_t id = 0;
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "{\"timestamp\": %zu, \"input_length\": 7000, \"output_length\": 300, "
                   "\"hash_ids\": [", i);
        for (size_t j = 0; j < per; j++)
            fprintf(f, "%s%llu", j ? ", " : "", (unsigned long long)id++);
        fputs("]}\n", f);
    }
    assert_int_equal(fclose(f), 0);
    char *version[] = {(char *)tu_bin(), "version", NULL};
    char *stats[] = {(char *)tu_bin(), "trace", "stats", path, NULL};
    long base = peak_kb(version), used = peak_kb(stats);
    /* the columns up to twice their size while they grow (a realloc copies) */
    double bound_kb = (n * 2 * (65.0 + 8 * per) + n * per * 64.0) / 1024;
    printf("trace stats: %.0f bytes per request above the command's %ld KB (bound %.0f)\n",
           (used - base) * 1024.0 / n, base, bound_kb * 1024 / n);
    if (used - base > bound_kb)
        fail_msg("trace stats of %zu requests: %ld KB above the base %ld KB; bound %.0f KB", n,
                 used - base, base, bound_kb);
    /* replay (the simulator, one DRAM tier of 10,000 blocks: as HBM, 10,000
     * blocks of 512 tokens would not fit a GPU): the trace, the reader's map
     * and the ideal ratios' map of distinct blocks as above, and the
     * simulator's per-request state (sim/driver.h): a cc_sim_record (four
     * int64, six u32, three doubles, a byte and two u32, padded: 96 bytes),
     * a u32 of cached tokens per tier, and 16 bytes (a slot number and a
     * waiting-heap key in the loop, the percentiles' sorted copy and qsort's
     * scratch after it; nothing per block access: node ids are kept for
     * requests in flight only); the cache of 10,000 blocks and the requests
     * in flight at most 1 MB */
    char *replay[] = {(char *)tu_bin(), "replay", path, "--tiers", "dram:10000", NULL};
    long rused = peak_kb(replay);
    double rbound_kb = bound_kb + (n * (96 + 4 + 16.0) + 1e6) / 1024;
    printf("replay: %.0f bytes per request above the command's %ld KB (bound %.0f)\n",
           (rused - base) * 1024.0 / n, base, rbound_kb * 1024 / n);
    if (rused - base > rbound_kb)
        fail_msg("replay of %zu requests: %ld KB above the base %ld KB; bound %.0f KB", n,
                 rused - base, base, rbound_kb);
    unlink(path);
}

/* A capacity is a bound, not an allocation: the largest capacity on a trace
 * of two requests takes no more than the command's own footprint plus a few
 * MB (it took 1.6 GB: the block index was zeroed at creation, and the
 * heap-based policies -- FIFO, LFU, GDSF, TTL, Belady -- set 4 bytes a slot;
 * S3-FIFO 1 byte a slot, TRT 16).  Every policy alone: test_policies. */
static void test_capacity_not_preallocated(void **state)
{
    (void)state;
    SKIP_UNDER_ASAN();
    char path[512];
    const char *tr = "{\"timestamp\": 0, \"input_length\": 1000, \"output_length\": 10, "
                     "\"hash_ids\": [1, 2]}\n"
                     "{\"timestamp\": 5, \"input_length\": 1000, \"output_length\": 10, "
                     "\"hash_ids\": [1, 2]}\n";
    tu_write_tmp(path, sizeof path, "bigcap.jsonl", tr, strlen(tr));
    char *version[] = {(char *)tu_bin(), "version", NULL};
    /* a timed run's HBM tier must fit the GPU (268,435,455 blocks of 512
     * tokens would be 18 PB of HBM): the simulator runs the largest tiers as
     * DRAM and SSD, the untimed backend the same size as HBM */
    char *sim[] = {(char *)tu_bin(), "replay", path, "--tiers", "dram:268435455", NULL};
    char *rates[] = {(char *)tu_bin(), "replay", path, "--capacity-blocks", "268435455",
                     "--backend", "rates", NULL};
    char *tiers[] = {(char *)tu_bin(), "replay", path, "--tiers",
                     "dram:268435455,ssd:268435455", "--policy", "lfu", NULL};
    char *rtiers[] = {(char *)tu_bin(), "replay", path, "--tiers",
                      "hbm:268435455,dram:268435455", "--policy", "lfu", "--backend", "rates",
                      NULL};
    /* untimed: a 2^28-block HBM tier does not fit a GPU (a timed run's error) */
    char *s3[] = {(char *)tu_bin(), "replay", path, "--capacity-blocks", "268435455",
                  "--policy", "s3fifo", "--backend", "rates", NULL};
    char *trt[] = {(char *)tu_bin(), "replay", path, "--capacity-blocks", "268435455",
                   "--policy", "trt(prefix_blocks=1)", "--backend", "rates", NULL};
    long base = peak_kb(version);
    char **runs[] = {sim, rates, tiers, rtiers, s3, trt};
    for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
        long kb = peak_kb(runs[i]);
        if (kb - base > 64 * 1024)
            fail_msg("run %zu: %ld KB above the command's %ld KB", i, kb - base, base);
    }
    unlink(path);
}

/* The memory bound covers every reader and the replay's per-request state
 * (issue 19 item 2): 2,000 Mooncake requests of two blocks, written as
 * Mooncake JSONL, HDF5, libCacheSim csv and oracleGeneral, are refused by
 * `trace stats` with exit 3 and a message naming CTXCACHE_MAX_MEMORY under a
 * bound of 20 KB (each takes over 160 KB: 2,000 x 81 bytes in Mooncake and
 * HDF5; the libCacheSim formats hold a block a row, 4,000 x 73 bytes, and
 * oracleGeneral 8 more a row while reading), and read without it.  Under
 * 400 KB the csv trace (292 KB) reads, but `replay` refuses it: the
 * simulator's per-request state (112 bytes a request: a 96-byte record, a
 * u32 per tier, a slot number 4, a heap key 8) brings it past 500 KB. */
static void test_memory_bound_every_reader(void **state)
{
    (void)state;
    char jl[512], h5[512], csv[512], orc[512], cmd[2400], *out = NULL;
    tu_tmp_path(jl, sizeof jl, "bound.jsonl");
    FILE *f = fopen(jl, "w");
    assert_non_null(f);
    for (int i = 0; i < 2000; i++)
        fprintf(f, "{\"timestamp\": %d, \"input_length\": 1000, \"output_length\": 10, "
                   "\"hash_ids\": [%d, %d]}\n", i, 2 * i, 2 * i + 1);
    assert_int_equal(fclose(f), 0);
    tu_tmp_path(h5, sizeof h5, "bound.h5");
    tu_tmp_path(csv, sizeof csv, "bound.csv");
    tu_tmp_path(orc, sizeof orc, "bound.oracleGeneral");
    const char *outs[] = {h5, csv, orc};
    for (int i = 0; i < 3; i++) {
        snprintf(cmd, sizeof cmd, "%s trace convert %s %s", tu_bin(), jl, outs[i]);
        assert_int_equal(tu_run(cmd, NULL), 0);
    }
    const char *all[] = {jl, h5, csv, orc};
    for (int i = 0; i < 4; i++) {
        snprintf(cmd, sizeof cmd, "CTXCACHE_MAX_MEMORY=20K %s trace stats %s", tu_bin(), all[i]);
        int rc = tu_run(cmd, &out);
        if (rc != 3 || !strstr(out, "CTXCACHE_MAX_MEMORY") || !strstr(out, all[i]))
            fail_msg("%s: exit %d:\n%s", all[i], rc, out);
        free(out);
        snprintf(cmd, sizeof cmd, "%s trace stats %s", tu_bin(), all[i]);
        assert_int_equal(tu_run(cmd, NULL), 0);
    }
    snprintf(cmd, sizeof cmd, "CTXCACHE_MAX_MEMORY=400K %s trace stats %s", tu_bin(), csv);
    assert_int_equal(tu_run(cmd, NULL), 0);
    snprintf(cmd, sizeof cmd, "CTXCACHE_MAX_MEMORY=400K %s replay %s --capacity-blocks 100",
             tu_bin(), csv);
    int rc = tu_run(cmd, &out);
    if (rc != 3 || !strstr(out, "per-request state") || !strstr(out, "400.0 KB"))
        fail_msg("replay: exit %d:\n%s", rc, out);
    free(out);
    snprintf(cmd, sizeof cmd, "%s replay %s --capacity-blocks 100", tu_bin(), csv);
    assert_int_equal(tu_run(cmd, NULL), 0);
    for (int i = 0; i < 4; i++)
        unlink(all[i]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ulimit_version_never_hangs),
        cmocka_unit_test(test_ulimit_engine_exit_3),
        cmocka_unit_test(test_signal_removes_temporary),
        cmocka_unit_test(test_killed_run_litter_cleaned),
        cmocka_unit_test(test_stdout_full_device),
        cmocka_unit_test(test_largest_arrival),
        cmocka_unit_test(test_profile_errors_located),
        cmocka_unit_test(test_output_is_input),
        cmocka_unit_test(test_deterministic_results),
        cmocka_unit_test(test_multiturn_memory_bound),
        cmocka_unit_test(test_memory_bound_every_reader),
        cmocka_unit_test(test_memory_per_request),
        cmocka_unit_test(test_capacity_not_preallocated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
