/*
 * cmd_semantic.c -- `ctxcache semantic eval PAIRS`: GPTCache's evaluation
 * protocol on labelled pairs (core/semantic_cache.h, sem_eval.c): the seeds
 * go into the cache, the queries look up their nearest seed, and precision,
 * recall, F1, hit rate and false-hit rate are reported at one threshold and
 * over a sweep (without --threshold the best-F1 threshold of the sweep is
 * chosen and named).  --csv writes the sweep, --plot the precision/recall
 * curve (gnuplot, SVG), both atomically.
 */
#include "cli.h"
#include "../core/semantic_cache.h"
#include "../gpu/gpu.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SWEEP_N 101 /* thresholds 0.00, 0.01, ..., 1.00 */

static const char *const semantic_help =
    "usage: ctxcache semantic eval PAIRS [options]\n"
    "\n"
    "Evaluates the semantic cache on labelled pairs (GPTCache's protocol): every\n"
    "first text (text_a / origin) is inserted, every second text (text_b / similar)\n"
    "queries the cache; a hit is a nearest entry at or above the threshold, a\n"
    "correct hit one that asks the same question (label 1).\n"
    "Reports precision (correct hits / hits), recall (correct hits / label-1\n"
    "queries), f1, hit_rate (hits / queries), false_hit_rate (wrong hits /\n"
    "queries), at the threshold and at thresholds 0.00 to 1.00 by 0.01.\n"
    "\n"
    "  --threshold T        similarity threshold; default: the best-F1 one of the sweep\n"
    "  --embedder NAME      hash (default), minilm, precomputed (vectors in the trace)\n"
    "  --dim N              hash embedder dimension (default 512)\n"
    "  --metric M           cosine (default) or l2\n"
    "  --key MODE           key of multi-turn requests: last_user (default), all, lastK\n"
    "  --index I            exact (default: sgemm over all entries) or faiss:SPEC, an\n"
    "                       approximate FAISS index (faiss:HNSW32, faiss:IVF256,Flat;\n"
    "                       SPEC;efSearch=128 sets search parameters); reports\n"
    "                       recall_at_1, the share of queries whose approximate\n"
    "                       nearest entry is the exact one\n"
    "  --device D           exact search on cpu (default: OpenBLAS sgemm) or cuda\n"
    "                       (cuBLAS sgemm; cosine, exact index only)\n"
    "  --max-pairs N        the first N pairs only\n"
    "  --json               print JSON instead of a table\n"
    "  --csv FILE           write the sweep as CSV\n"
    "  --plot FILE.svg      draw the precision/recall curve (needs gnuplot)\n"
    "\n"
    "PAIRS: a JSON array of {text_a, text_b, label} (QQP) or {origin, similar}\n"
    "(GPTCache's mock data), or any trace with seed/query roles and groups.\n"
    "\n"
    "examples:\n"
    "  ctxcache semantic eval ../shared/data/qqp/mock_data.json\n"
    "  ctxcache semantic eval ../shared/data/qqp/similiar_qqp_full.json --max-pairs 10000 --json\n"
    "  ctxcache semantic eval pairs.json --threshold 0.8 --plot pr.svg\n";

enum {
    OPT_JSON = 1000, OPT_THRESHOLD, OPT_EMBEDDER, OPT_DIM, OPT_METRIC, OPT_KEY, OPT_MAXP,
    OPT_CSV, OPT_PLOT, OPT_HELP, OPT_INDEX, OPT_DEVICE,
};

static const struct option long_opts[] = {
    CLI_TRACE_LONG_OPTS,
    {"json", no_argument, 0, OPT_JSON},
    {"threshold", required_argument, 0, OPT_THRESHOLD},
    {"embedder", required_argument, 0, OPT_EMBEDDER},
    {"dim", required_argument, 0, OPT_DIM},
    {"metric", required_argument, 0, OPT_METRIC},
    {"key", required_argument, 0, OPT_KEY},
    {"max-pairs", required_argument, 0, OPT_MAXP},
    {"csv", required_argument, 0, OPT_CSV},
    {"plot", required_argument, 0, OPT_PLOT},
    {"index", required_argument, 0, OPT_INDEX},
    {"device", required_argument, 0, OPT_DEVICE},
    {"help", no_argument, 0, OPT_HELP},
    {0, 0, 0, 0},
};

static json_t *point_json(const cc_sem_eval_point *p)
{
    return json_pack("{s:f, s:f, s:f, s:f, s:f, s:f, s:I, s:I}", "threshold", p->threshold,
                     "precision", p->precision, "recall", p->recall, "f1", p->f1, "hit_rate",
                     p->hit_rate, "false_hit_rate", p->false_hit_rate, "hits",
                     (json_int_t)p->hits, "correct_hits", (json_int_t)p->correct_hits);
}

static int write_csv(const char *path, const cc_sem_eval_point *sw, size_t n, cc_err *err)
{
    cc_outfile o;
    int rc = cc_outfile_open(&o, path, err);
    if (rc)
        return rc;
    fprintf(o.f, "threshold,precision,recall,f1,hit_rate,false_hit_rate,hits,correct_hits\n");
    for (size_t i = 0; i < n; i++)
        fprintf(o.f, "%.2f,%.6f,%.6f,%.6f,%.6f,%.6f,%llu,%llu\n", sw[i].threshold,
                sw[i].precision, sw[i].recall, sw[i].f1, sw[i].hit_rate, sw[i].false_hit_rate,
                (unsigned long long)sw[i].hits, (unsigned long long)sw[i].correct_hits);
    return cc_outfile_close(&o, path, CC_OK, err);
}

/* Precision against recall over the sweep, one gnuplot run writing path
 * (through a temporary renamed on success). */
static int write_plot(const char *path, const char *title, const cc_sem_eval_point *sw, size_t n,
                      const cc_sem_eval_point *chosen, cc_err *err)
{
    if (system("command -v gnuplot >/dev/null 2>&1") != 0)
        return cc_err_set(err, CC_EUNSUP, path, 0, "--plot", "gnuplot is not installed");
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "gnuplot >/dev/null 2>&1");
    FILE *g = popen(cmd, "w");
    if (!g)
        return cc_err_set(err, CC_EIO, path, 0, "--plot", "cannot run gnuplot");
    fprintf(g, "set terminal svg size 640,480 dynamic\nset output '%s'\n", tmp);
    fprintf(g, "set title '%s'\nset xlabel 'recall'\nset ylabel 'precision'\n", title);
    fprintf(g, "set xrange [0:1]\nset yrange [0:1.02]\nset grid\nset key bottom left\n");
    fprintf(g, "plot '-' using 1:2 with linespoints title 'thresholds 0 to 1', "
               "'-' using 1:2 with points pt 7 ps 1.5 title 'threshold %.2f'\n",
            chosen->threshold);
    for (size_t i = 0; i < n; i++)
        if (sw[i].hits)
            fprintf(g, "%.6f %.6f\n", sw[i].recall, sw[i].precision);
    fprintf(g, "e\n%.6f %.6f\ne\n", chosen->recall, chosen->precision);
    int st = pclose(g);
    if (st != 0 || access(tmp, F_OK) != 0) {
        unlink(tmp);
        return cc_err_set(err, CC_EIO, path, 0, "--plot", "gnuplot failed (status %d)", st);
    }
    if (rename(tmp, path)) {
        unlink(tmp);
        return cc_err_set(err, CC_EIO, path, 0, "--plot", "cannot write the plot");
    }
    return CC_OK;
}

static int cmd_eval(int argc, char **argv)
{
    const char *cmd = "semantic eval";
    cli_trace_opts to = {0};
    int json = 0, dim = 0, cuda = 0;
    double threshold = NAN;
    const char *embedder = "hash", *csv = NULL, *plot = NULL, *ann = NULL;
    cc_vec_metric metric = CC_VEC_COSINE;
    cc_sem_key_mode mode = CC_SEM_KEY_LAST_USER;
    uint32_t k = 1;
    uint64_t max_pairs = 0, v;
    cc_err err = {0};
    int c, rc;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", long_opts, NULL)) != -1) {
        switch (c) {
        CLI_TRACE_OPT_CASES:
            if ((rc = cli_trace_opt(cmd, c, optarg, &to)))
                return rc;
            break;
        case OPT_JSON: json = 1; break;
        case OPT_THRESHOLD: {
            char *end;
            threshold = strtod(optarg, &end);
            if (*end || end == optarg || !(threshold >= -1 && threshold <= 1))
                return cli_usage_error(cmd, "--threshold '%s': expected a number in [-1, 1]",
                                       optarg);
            break;
        }
        case OPT_EMBEDDER: embedder = optarg; break;
        case OPT_DIM:
            if ((rc = cli_parse_u64(cmd, "--dim", optarg, 65536, &v)))
                return rc;
            dim = (int)v;
            break;
        case OPT_METRIC:
            if (cc_vec_metric_parse(optarg, &metric, &err))
                return cli_usage_error(cmd, "--metric: %s", err.msg);
            break;
        case OPT_KEY:
            if (cc_sem_key_mode_parse(optarg, &mode, &k, &err))
                return cli_usage_error(cmd, "--key: %s", err.msg);
            break;
        case OPT_MAXP:
            if ((rc = cli_parse_u64(cmd, "--max-pairs", optarg, UINT64_MAX / 4, &max_pairs)))
                return rc;
            break;
        case OPT_CSV: csv = optarg; break;
        case OPT_DEVICE:
            if (!strcmp(optarg, "cuda"))
                cuda = 1;
            else if (strcmp(optarg, "cpu"))
                return cli_usage_error(cmd, "--device '%s': expected cpu or cuda", optarg);
            break;
        case OPT_INDEX:
            if (!strcmp(optarg, "exact"))
                ann = NULL;
            else if (!strncmp(optarg, "faiss:", 6) && optarg[6])
                ann = optarg + 6;
            else
                return cli_usage_error(cmd, "--index '%s': expected exact or faiss:SPEC "
                                       "(e.g. faiss:HNSW32, faiss:IVF256,Flat)", optarg);
            break;
        case OPT_PLOT: plot = optarg; break;
        case 'h':
        case OPT_HELP: fputs(semantic_help, stdout); return 0;
        default: return cli_usage_error(cmd, "unknown option");
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error(cmd, "expected one PAIRS file");
    const char *path = argv[optind];
    cc_embedder *e = NULL;
    if ((rc = cli_embedder_new(cmd, embedder, dim, &e)))
        return rc;
    /* a pairs file too short to be recognised ("[]") is read as pairs, so
     * that its error is about pairs */
    cc_err derr = {0};
    if (!to.format && !cc_format_detect(path, &derr) && derr.code == CC_EFORMAT)
        to.format = "pairs";
    cc_trace t;
    if ((rc = cli_load_trace(cmd, path, &to, &t))) {
        cc_embedder_free(e);
        return rc;
    }
    /* --max-pairs: a prefix of the trace is a valid trace view (the offset
     * columns of the first n requests are the first n + 1 entries) */
    cc_trace view = t;
    if (max_pairs && 2 * max_pairs < view.n)
        view.n = 2 * max_pairs;
    cc_sem_eval_query *q = NULL;
    size_t nq = 0;
    double recall1 = NAN;
    cc_gpu_vecsearch *gpu = NULL;
    cc_vec_backend backend = {.name = "cuda", .top1 = cc_gpu_vecsearch_top1};
    rc = cuda ? cc_gpu_vecsearch_new(0, &gpu, &err) : CC_OK;
    backend.ctx = gpu;
    if (!rc)
        rc = cc_sem_eval_run_on(&view, e, metric, mode, k, ann, cuda ? &backend : NULL, &q, &nq,
                                &recall1, &err);
    cc_gpu_vecsearch_free(gpu);
    if (rc) {
        cc_embedder_free(e);
        cc_trace_free(&t);
        return cli_fail(cmd, &err);
    }
    cc_sem_eval_point sweep[SWEEP_N], chosen;
    size_t best = 0;
    for (size_t i = 0; i < SWEEP_N; i++) {
        cc_sem_eval_at(q, nq, (double)i / 100.0, &sweep[i]);
        if (sweep[i].f1 >= sweep[best].f1)
            best = i; /* ties: the higher threshold */
    }
    const char *chosen_by = isnan(threshold) ? "best_f1" : "given";
    if (isnan(threshold))
        chosen = sweep[best];
    else
        cc_sem_eval_at(q, nq, threshold, &chosen);
    size_t nearest_ok = 0;
    for (size_t i = 0; i < nq; i++)
        nearest_ok += q[i].correct;
    const char *ename = e ? e->name : "precomputed";
    int edim = e ? e->dim : (int)t.embedding_dim;
    if (csv && (rc = write_csv(csv, sweep, SWEEP_N, &err)) == CC_OK) {
    }
    if (!rc && plot) {
        char title[256];
        snprintf(title, sizeof title, "semantic cache, %s embedder", ename);
        rc = write_plot(plot, title, sweep, SWEEP_N, &chosen, &err);
    }
    if (rc) {
        free(q);
        cc_embedder_free(e);
        cc_trace_free(&t);
        return cli_fail(cmd, &err);
    }
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "file", json_string(path));
        json_object_set_new(o, "embedder", json_string(ename));
        json_object_set_new(o, "dim", json_integer(edim));
        json_object_set_new(o, "metric", json_string(cc_vec_metric_name(metric)));
        json_object_set_new(o, "pairs", json_integer((json_int_t)(view.n / 2)));
        json_object_set_new(o, "queries", json_integer((json_int_t)nq));
        json_object_set_new(o, "positives", json_integer((json_int_t)chosen.positives));
        json_object_set_new(o, "nearest_correct_rate",
                            json_real(nq ? (double)nearest_ok / (double)nq : 0));
        json_object_set_new(o, "threshold_chosen_by", json_string(chosen_by));
        json_object_set_new(o, "index", json_string(ann ? ann : "exact"));
        json_object_set_new(o, "device", json_string(cuda ? "cuda" : "cpu"));
        if (ann)
            json_object_set_new(o, "recall_at_1", json_real(recall1));
        json_t *p = point_json(&chosen);
        json_object_update(o, p);
        json_decref(p);
        json_t *arr = json_array();
        for (size_t i = 0; i < SWEEP_N; i++)
            json_array_append_new(arr, point_json(&sweep[i]));
        json_object_set_new(o, "sweep", arr);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        puts(s);
        free(s);
        json_decref(o);
    } else {
        printf("semantic eval: %s, %zu pairs, %zu queries (%llu with an answer in the cache)\n",
               path, view.n / 2, nq, (unsigned long long)chosen.positives);
        printf("embedder %s (dim %d), metric %s; nearest entry correct for %.1f %% of queries\n",
               ename, edim, cc_vec_metric_name(metric),
               nq ? 100.0 * (double)nearest_ok / (double)nq : 0.0);
        if (ann)
            printf("index faiss:%s: recall@1 against exact search %.4f\n", ann, recall1);
        printf("threshold %.2f (%s): precision %.4f, recall %.4f, f1 %.4f, hit_rate %.4f, "
               "false_hit_rate %.4f\n",
               chosen.threshold, isnan(threshold) ? "best F1 of the sweep" : "given",
               chosen.precision, chosen.recall, chosen.f1, chosen.hit_rate,
               chosen.false_hit_rate);
        printf("\n%9s %9s %9s %9s %9s %14s\n", "threshold", "precision", "recall", "f1",
               "hit_rate", "false_hit_rate");
        for (size_t i = 50; i < SWEEP_N; i += 5)
            printf("%9.2f %9.4f %9.4f %9.4f %9.4f %14.4f\n", sweep[i].threshold,
                   sweep[i].precision, sweep[i].recall, sweep[i].f1, sweep[i].hit_rate,
                   sweep[i].false_hit_rate);
    }
    free(q);
    cc_embedder_free(e);
    cc_trace_free(&t);
    return 0;
}

int cmd_semantic(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
        !strcmp(argv[1], "help")) {
        fputs(semantic_help, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    if (!strcmp(argv[1], "eval"))
        return cmd_eval(argc - 1, argv + 1);
    return cli_usage_error("semantic", "unknown subcommand '%s'; expected eval", argv[1]);
}
