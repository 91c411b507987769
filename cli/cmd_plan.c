/*
 * cmd_plan.c -- `ctxcache plan TRACE --slo ...`: the cheapest deployment
 * (hardware x tp x instances x cache tiers x policy x router) that meets
 * the SLOs at each rate scale, with its price per hour and per million
 * tokens, and the cost x TTFT p99 Pareto front (analysis/plan.h does the
 * search).  Exit status: 0 (also when no configuration meets the SLOs: the
 * closest is reported), 1 bad trace, 2 bad usage (unknown SLO metric, a
 * rate scale <= 0, --tp not dividing the heads, a grid over --max-points,
 * nothing fits), 3 internal.
 *
 * Under mpirun (builds with MPI, as `ctxcache sweep`): process r searches
 * the configurations c with c % size == r on its threads, the points go to
 * rank 0 (MPI_Gatherv of the fixed-size point records), which merges them in
 * configuration order (cc_plan_merge) and prints and writes exactly what one
 * process would.  Ranks other than 0 print nothing: usage errors are the
 * same on every rank, and a run error is sent to rank 0 to print.
 */
#include "cli.h"

#include "../analysis/plan.h"
#include "../core/context_cache.h"
#include "../policies/policy.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#if CC_HAVE_MPI
#include <mpi.h>
#endif

#define DEFAULT_MAX_POINTS 100000

static const char plan_help[] =
    "usage: ctxcache plan TRACE --slo METRIC=VALUE[,...] [options]\n"
    "\n"
    "Searches deployments (hardware x tensor parallelism x instances x cache tiers x\n"
    "eviction policy x router) for the cheapest that meets the SLOs at each rate, in the\n"
    "serving simulator (requests overlap, continuous batching; docs/plan.md).  Price per\n"
    "hour: instances x (tp x the GPU's usd_per_hour from its hardware profile + DRAM and\n"
    "SSD tiers at the operator economics' $/GB-hour); price per million tokens served.\n"
    "Traces without block hashes (Azure) are planned with every token new.\n"
    "\n"
    "  --slo LIST            objectives, all to be met: METRIC_pQ=TIME with METRIC ttft,\n"
    "                        tpot, e2e or queue, Q 50, 90 or 99, TIME in s, ms or us\n"
    "                        (e.g. ttft_p99=1s,tpot_p99=50ms); required\n"
    "  --hardware LIST       hardware profiles (default h100-sxm; e.g. h100-sxm,a100-80g)\n"
    "  --model NAME|PATH     model profile (default llama-3-8b)\n"
    "  --tp LIST|auto        tensor-parallel degrees (default auto: for each hardware and\n"
    "                        tiers, the smallest of 1, 2, 4, 8 that fits); each must divide\n"
    "                        the model's heads\n"
    "  --rate-scale LIST     arrival rates as multiples of the trace's (inter-arrival\n"
    "                        times divided by K; default 1; e.g. 1,4,8)\n"
    "  --tiers-grid SPEC     cache tier sizes per instance, the product of the lists:\n"
    "                        hbm=SIZE|SIZE...,dram=...,ssd=... (0 = no such tier; default\n"
    "                        hbm=8GiB); the HBM tier shares the GPUs with the weights and\n"
    "                        the running requests' KV\n"
    "  --policies LIST       eviction policies (default lru)\n"
    "  --routers LIST        rr, least-loaded (default), prefix-affinity\n"
    "  --max-instances N     search bound per configuration (default 64)\n"
    "  --max-points N        allow a grid (configurations x rates x max instances) over\n"
    "                        100000 points, up to N\n"
    "  --hbm-fraction F      share of HBM usable (default 0.9)\n"
    "  --scheduler NAME      batch (default) or lpf\n"
    "  --max-batch-tokens N  tokens per step (default 8192)\n"
    "  --max-seqs N          running requests per instance (default 256)\n"
    "  --pricing P1,P2       also bill the trace at each rate under these providers'\n"
    "                        pricing models (presets or files, as replay --pricing): the\n"
    "                        bill and its USD per million tokens beside the plan's\n"
    "  --threads N           configurations searched at once (default one per CPU; under\n"
    "                        mpirun the CPUs are shared among the processes)\n"
    "  --seed N              seed of the policies and the bootstrap (default 1)\n"
    "  --json                print JSON instead of text\n"
    "  -o FILE               write every simulated deployment, the answers and the Pareto\n"
    "                        fronts as HDF5 (docs/plan.md)\n"
    "  --format, --block-size, --tokenizer, --tenant: as for replay\n"
    "\n"
    "The search tries instance counts upwards and stops at the first that meets the SLOs;\n"
    "each rate (ascending) starts at the count the previous one needed.  When no configuration\n"
    "meets the SLOs up to --max-instances, it says so and reports the closest (exit 0).\n"
    "Across machines: mpirun -np N ctxcache plan ... (each process searches every N-th\n"
    "configuration; the output is the same as one process's).\n"
    "\n"
    "examples:\n"
    "  ctxcache plan ../shared/data/azure/AzureLLMInferenceTrace_conv.csv \\\n"
    "      --slo ttft_p99=1s --hardware h100-sxm,a100-80g --rate-scale 1,4,8\n"
    "  ctxcache plan trace.h5 --slo ttft_p99=500ms,tpot_p99=50ms --model llama-3-70b \\\n"
    "      --tp 4,8 --tiers-grid 'hbm=8GiB,dram=0|128GiB' --policies lru,s3fifo --json\n";

enum {
    OPT_SLO = 1000, OPT_HW, OPT_MODEL, OPT_TP, OPT_RATES, OPT_TIERS, OPT_POLICIES, OPT_ROUTERS,
    OPT_MAXINST, OPT_MAXPTS, OPT_HBMF, OPT_SCHED, OPT_MBT, OPT_MSEQ, OPT_THREADS, OPT_SEED,
    OPT_JSON, OPT_PRICING,
};

static const struct option long_opts[] = {
    CLI_TRACE_LONG_OPTS,
    {"slo", required_argument, 0, OPT_SLO},
    {"hardware", required_argument, 0, OPT_HW},
    {"model", required_argument, 0, OPT_MODEL},
    {"tp", required_argument, 0, OPT_TP},
    {"rate-scale", required_argument, 0, OPT_RATES},
    {"tiers-grid", required_argument, 0, OPT_TIERS},
    {"policies", required_argument, 0, OPT_POLICIES},
    {"routers", required_argument, 0, OPT_ROUTERS},
    {"max-instances", required_argument, 0, OPT_MAXINST},
    {"max-points", required_argument, 0, OPT_MAXPTS},
    {"hbm-fraction", required_argument, 0, OPT_HBMF},
    {"scheduler", required_argument, 0, OPT_SCHED},
    {"max-batch-tokens", required_argument, 0, OPT_MBT},
    {"max-seqs", required_argument, 0, OPT_MSEQ},
    {"threads", required_argument, 0, OPT_THREADS},
    {"seed", required_argument, 0, OPT_SEED},
    {"json", no_argument, 0, OPT_JSON},
    {"pricing", required_argument, 0, OPT_PRICING},
    {"output", required_argument, 0, 'o'},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

/* Splits a comma list into at most CC_PLAN_MAX_LIST items of buf; 0 or a
 * usage error. */
static int split_list(const char *cmd, const char *opt, const char *s, char *buf, size_t len,
                      char **items, size_t *n)
{
    *n = 0;
    if (!*s || strlen(s) >= len)
        return cli_usage_error(cmd, "%s: expected a comma-separated list", opt);
    strcpy(buf, s);
    char *save = NULL;
    for (char *p = strtok_r(buf, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (*n == CC_PLAN_MAX_LIST)
            return cli_usage_error(cmd, "%s: at most %d values", opt, CC_PLAN_MAX_LIST);
        items[(*n)++] = p;
    }
    if (!*n)
        return cli_usage_error(cmd, "%s: expected a comma-separated list", opt);
    return 0;
}

/* The providers' bills of the trace at each rate (--pricing), or none. */
typedef struct plan_bills {
    cli_pricing *per_rate; /* n_rates, or NULL */
    double tokens;         /* input + output tokens of the trace */
} plan_bills;

/* Bills t at each rate of s under the models of proto (parsed).  The trace
 * is viewed as the plan runs it: arrivals divided by the rate, and for a
 * trace without block hashes an empty chain per request (every token
 * billed uncached).  0 or the exit status. */
static int bill_rates(const char *cmd, const cc_trace *t, const cc_plan_spec *s,
                      const cli_pricing *proto, plan_bills *b)
{
    b->per_rate = calloc(s->n_rates, sizeof *b->per_rate);
    int64_t *arr = malloc((t->n ? t->n : 1) * sizeof *arr);
    int content_less = t->block_size == 0 || !t->blocks || !t->block_off;
    uint64_t *zeros = content_less ? calloc(t->n + 1, sizeof *zeros) : NULL;
    if (!b->per_rate || !arr || (content_less && !zeros)) {
        free(arr);
        free(zeros);
        cc_err e = {0};
        cc_err_set(&e, CC_ENOMEM, NULL, 0, "pricing", "out of memory");
        return cli_fail(cmd, &e);
    }
    b->tokens = 0;
    for (size_t i = 0; i < t->n; i++)
        b->tokens += (double)t->input_tokens[i] + t->output_tokens[i];
    int rc = 0;
    for (size_t r = 0; r < s->n_rates && !rc; r++) {
        cc_trace v = *t;
        for (size_t i = 0; i < t->n; i++)
            arr[i] = t->arrival_ns[0] +
                     (int64_t)((double)(t->arrival_ns[i] - t->arrival_ns[0]) / s->rates[r]);
        v.arrival_ns = arr;
        if (content_less) {
            v.block_size = 16;
            v.block_off = zeros;
            v.blocks = zeros;
        }
        b->per_rate[r] = *proto;
        rc = cli_pricing_bill(cmd, &v, &b->per_rate[r]);
    }
    free(arr);
    free(zeros);
    return rc;
}

static json_t *point_json(const cc_plan_spec *s, const cc_plan_result *r, size_t i)
{
    const cc_plan_point *p = &r->points[i];
    const cc_plan_config *c = &r->configs[p->config];
    char tiers[128], name[64];
    json_t *o = json_object();
    json_object_set_new(o, "hardware", json_string(s->hw[c->hw].name));
    json_object_set_new(o, "tp", json_integer(c->tp));
    json_object_set_new(o, "instances", json_integer(p->instances));
    json_object_set_new(o, "gpus", json_integer((json_int_t)p->instances * c->tp));
    json_object_set_new(o, "tiers", json_string(cc_plan_tiers_spec(&s->tiers[c->tiers], tiers,
                                                                   sizeof tiers)));
    json_object_set_new(o, "policy", json_string(s->policies[c->policy]));
    json_object_set_new(o, "router", json_string(cc_sim_router_name(s->routers[c->router])));
    json_object_set_new(o, "meets_slo", json_boolean(p->meets));
    json_object_set_new(o, "usd_per_hour", json_real(p->usd_per_hour));
    json_object_set_new(o, "usd_per_mtok", json_real(p->usd_per_mtok));
    json_object_set_new(o, "ttft_p50_s", json_real(p->ttft_p50_s));
    json_object_set_new(o, "ttft_p99_s", json_real(p->ttft_p99_s));
    json_object_set_new(o, "tpot_p50_s", json_real(p->tpot_p50_s));
    json_object_set_new(o, "tpot_p99_s", json_real(p->tpot_p99_s));
    json_object_set_new(o, "e2e_p99_s", json_real(p->e2e_p99_s));
    json_object_set_new(o, "throughput_tokens_per_s", json_real(p->throughput_tokens_per_s));
    json_object_set_new(o, "token_hit_ratio", json_real(p->token_hit_ratio));
    json_object_set_new(o, "worst_slo_ratio", json_real(p->worst_ratio));
    for (size_t k = 0; k < s->n_slos; k++) {
        char key[80];
        snprintf(key, sizeof key, "slo_%s_s", cc_plan_slo_name(&s->slos[k], name, sizeof name));
        json_object_set_new(o, key, json_real(p->slo_value[k]));
    }
    return o;
}

static void print_json(const cc_plan_spec *s, const cc_plan_result *r, const cc_trace *t,
                       const char *path, const plan_bills *b)
{
    json_t *o = json_object(), *slo = json_object(), *rates = json_array(),
           *skipped = json_array();
    char name[64];
    json_object_set_new(o, "trace", json_string(path));
    json_object_set_new(o, "requests", json_integer((json_int_t)t->n));
    json_object_set_new(o, "content_less", json_boolean(r->content_less));
    json_object_set_new(o, "model", json_string(s->model.name));
    for (size_t k = 0; k < s->n_slos; k++) {
        char key[80];
        snprintf(key, sizeof key, "%s_s", cc_plan_slo_name(&s->slos[k], name, sizeof name));
        json_object_set_new(slo, key, json_real(s->slos[k].target_s));
    }
    json_object_set_new(o, "slo", slo);
    json_object_set_new(o, "configurations", json_integer((json_int_t)r->n_configs));
    json_object_set_new(o, "grid_points", json_integer((json_int_t)r->grid_points));
    json_object_set_new(o, "runs", json_integer((json_int_t)r->n_points));
    json_object_set_new(o, "elapsed_s", json_real(r->elapsed_s));
    for (size_t k = 0; k < s->n_rates; k++) {
        const cc_plan_answer *A = &r->answers[k];
        json_t *x = json_object(), *front = json_array();
        json_object_set_new(x, "rate_scale", json_real(s->rates[k]));
        json_object_set_new(x, "met", json_boolean(A->met));
        if (A->point < r->n_points)
            json_object_set_new(x, A->met ? "cheapest" : "closest", point_json(s, r, A->point));
        for (size_t j = 0; j < A->n_pareto; j++)
            json_array_append_new(front, point_json(s, r, A->pareto[j]));
        json_object_set_new(x, "pareto", front);
        if (b->per_rate) {
            json_t *bills = json_array();
            for (size_t m = 0; m < b->per_rate[k].n; m++) {
                const cc_bill *bl = &b->per_rate[k].bills[m];
                json_t *y = json_object();
                json_object_set_new(y, "pricing", json_string(b->per_rate[k].models[m].name));
                json_object_set_new(y, "total_usd", json_real(bl->total_usd));
                json_object_set_new(y, "usd_per_mtok",
                                    json_real(b->tokens > 0 ? bl->total_usd / (b->tokens / 1e6) : 0));
                json_array_append_new(bills, y);
            }
            json_object_set_new(x, "provider_bills", bills);
        }
        json_array_append_new(rates, x);
    }
    json_object_set_new(o, "rates", rates);
    for (size_t c = 0; c < r->n_configs; c++)
        if (!r->configs[c].fits) {
            json_t *x = json_object();
            json_object_set_new(x, "hardware", json_string(s->hw[r->configs[c].hw].name));
            json_object_set_new(x, "tp", json_integer(r->configs[c].tp));
            json_object_set_new(x, "reason", json_string(r->configs[c].reason));
            json_array_append_new(skipped, x);
        }
    json_object_set_new(o, "skipped", skipped);
    char *txt = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(9));
    if (txt)
        printf("%s\n", txt);
    free(txt);
    json_decref(o);
}

static void print_point(const cc_plan_spec *s, const cc_plan_result *r, size_t i,
                        const char *lead)
{
    const cc_plan_point *p = &r->points[i];
    const cc_plan_config *c = &r->configs[p->config];
    char tiers[128];
    printf("%s%u x %s (tp %d, %u GPUs), tiers %s, %s, %s: $%.2f/h, $%.4f per Mtok; "
           "TTFT p50 %.3g s, p99 %.3g s; TPOT p99 %.3g s; hits %.1f %%\n",
           lead, p->instances, s->hw[c->hw].name, c->tp, p->instances * c->tp,
           cc_plan_tiers_spec(&s->tiers[c->tiers], tiers, sizeof tiers),
           s->policies[c->policy], cc_sim_router_name(s->routers[c->router]), p->usd_per_hour,
           p->usd_per_mtok, p->ttft_p50_s, p->ttft_p99_s, p->tpot_p99_s,
           100 * p->token_hit_ratio);
}

static void print_text(const cc_plan_spec *s, const cc_plan_result *r, const cc_trace *t,
                       const char *path, const plan_bills *b)
{
    char name[64];
    printf("plan             %s: %zu requests, model %s; SLO", path, t->n, s->model.name);
    for (size_t k = 0; k < s->n_slos; k++)
        printf("%s %s <= %.4g s", k ? "," : "", cc_plan_slo_name(&s->slos[k], name, sizeof name),
               s->slos[k].target_s);
    printf("\n");
    if (r->content_less)
        printf("content          the trace has no block hashes: every token is new (nothing "
               "can be cached)\n");
    printf("search           %zu configurations x %zu rates x up to %u instances = %llu "
           "points; %zu simulated (pruned); %.1f s\n",
           r->n_configs, s->n_rates, s->max_instances, (unsigned long long)r->grid_points,
           r->n_points, r->elapsed_s);
    for (size_t k = 0; k < s->n_rates; k++) {
        const cc_plan_answer *A = &r->answers[k];
        printf("\nrate x%g\n", s->rates[k]);
        if (A->met)
            print_point(s, r, A->point, "  cheapest       ");
        else {
            printf("  NOT MET        no configuration meets the SLOs with up to %u instances\n",
                   s->max_instances);
            if (A->point < r->n_points) {
                print_point(s, r, A->point, "  closest        ");
                printf("                 worst SLO ratio %.3g (value / target)\n",
                       r->points[A->point].worst_ratio);
            }
        }
        printf("  Pareto front (cost against TTFT p99):\n");
        for (size_t j = 0; j < A->n_pareto; j++)
            print_point(s, r, A->pareto[j],
                        r->points[A->pareto[j]].meets ? "    meets  " : "    misses ");
        if (b->per_rate) {
            printf("  provider bills of the same requests:\n");
            for (size_t m = 0; m < b->per_rate[k].n; m++) {
                const cc_bill *bl = &b->per_rate[k].bills[m];
                printf("    %-18s $%.2f, $%.4f per Mtok\n", b->per_rate[k].models[m].name,
                       bl->total_usd, b->tokens > 0 ? bl->total_usd / (b->tokens / 1e6) : 0);
            }
        }
    }
    int head = 0;
    for (size_t c = 0; c < r->n_configs; c++)
        if (!r->configs[c].fits) {
            if (!head++)
                printf("\nskipped configurations:\n");
            printf("  %s tp %d: %s\n", s->hw[r->configs[c].hw].name, r->configs[c].tp,
                   r->configs[c].reason);
        }
}

/* An error record that fits an MPI message. */
typedef struct wire_err {
    int code;
    char field[128];
    char msg[512];
} wire_err;

/* After each rank's search: every rank learns the first error; rank 0
 * gathers every rank's points and merges them.  Returns the status. */
static int gather(int rank, int size, cc_plan_result *res, const cc_plan_spec *s, int rc,
                  cc_err *err)
{
#if CC_HAVE_MPI
    if (size > 1) {
        wire_err we;
        memset(&we, 0, sizeof we);
        we.code = rc;
        if (rc != CC_OK) {
            snprintf(we.field, sizeof we.field, "%s", err->field);
            snprintf(we.msg, sizeof we.msg, "%s", err->msg);
        }
        wire_err *wes = rank == 0 ? calloc((size_t)size, sizeof *wes) : NULL;
        MPI_Gather(&we, (int)sizeof we, MPI_BYTE, wes, (int)sizeof we, MPI_BYTE, 0,
                   MPI_COMM_WORLD);
        int worst = rc;
        MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        if (rank == 0 && rc == CC_OK && worst != CC_OK && wes)
            for (int r = 0; r < size; r++)
                if (wes[r].code != CC_OK) {
                    cc_err_set(err, wes[r].code, NULL, 0, wes[r].field, "rank %d: %s", r,
                               wes[r].msg);
                    break;
                }
        free(wes);
        if (rc == CC_OK && worst != CC_OK)
            rc = worst;
        if (rc != CC_OK)
            return rc;
        int mine = (int)(res->n_points * sizeof *res->points);
        int *counts = rank == 0 ? calloc((size_t)size, sizeof *counts) : NULL;
        int *displs = rank == 0 ? calloc((size_t)size, sizeof *displs) : NULL;
        MPI_Gather(&mine, 1, MPI_INT, counts, 1, MPI_INT, 0, MPI_COMM_WORLD);
        size_t total = 0;
        char *all = NULL;
        if (rank == 0) {
            for (int r = 0; r < size; r++) {
                displs[r] = (int)total;
                total += (size_t)counts[r];
            }
            all = malloc(total ? total : 1);
        }
        MPI_Gatherv(res->points, mine, MPI_BYTE, all, counts, displs, MPI_BYTE, 0,
                    MPI_COMM_WORLD);
        free(counts);
        free(displs);
        if (rank == 0)
            rc = cc_plan_merge(res, s, (cc_plan_point *)all, total / sizeof *res->points, err);
        return rc;
    }
#else
    (void)rank, (void)size, (void)res, (void)s, (void)err;
#endif
    return rc;
}

static int plan_main(int argc, char **argv, int rank, int size);

int cmd_plan(int argc, char **argv)
{
    int rank = 0, size = 1;
#if CC_HAVE_MPI
    int mpi_on = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
    if (mpi_on) {
        MPI_Init(&argc, &argv);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
        if (rank > 0) { /* rank 0 speaks for all (failing here only leaves them on) */
            FILE *o1 = freopen("/dev/null", "w", stdout), *o2 = freopen("/dev/null", "w", stderr);
            (void)o1, (void)o2;
        }
    }
    int status = plan_main(argc, argv, rank, size);
    if (mpi_on) {
        if (size > 1)
            MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
        MPI_Finalize();
    }
    return status;
#else
    const char *ws = getenv("OMPI_COMM_WORLD_SIZE");
    if (ws && atoi(ws) > 1) {
        if (!getenv("OMPI_COMM_WORLD_RANK") || atoi(getenv("OMPI_COMM_WORLD_RANK")) == 0)
            fprintf(stderr, "ctxcache plan: this build has no MPI (built with MPI=0 or without "
                            "mpicc): run it without mpirun, or rebuild with MPI=1\n");
        return 2;
    }
    return plan_main(argc, argv, rank, size);
#endif
}

static int plan_main(int argc, char **argv, int rank, int size)
{
    const char *cmd = "plan";
    if (argc < 2) {
        fputs(plan_help, stderr);
        return 2;
    }
    cli_trace_opts o = {0};
    const char *slo = NULL, *hws = "h100-sxm", *model = "llama-3-8b", *tps = "auto";
    const char *rates = NULL, *tiers = "hbm=8GiB", *pols = NULL, *routers = NULL, *out = NULL;
    const char *pricing = NULL;
    uint64_t max_points = 0, v;
    int json = 0, rc;
    cc_plan_spec s;
    cc_plan_spec_default(&s);
    cc_err err = {0};
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", long_opts, NULL)) != -1) {
        switch (c) {
        CLI_TRACE_OPT_CASES:
            if (cli_trace_opt(cmd, c, optarg, &o))
                return 2;
            break;
        case OPT_SLO: slo = optarg; break;
        case OPT_HW: hws = optarg; break;
        case OPT_MODEL: model = optarg; break;
        case OPT_TP: tps = optarg; break;
        case OPT_RATES: rates = optarg; break;
        case OPT_TIERS: tiers = optarg; break;
        case OPT_POLICIES: pols = optarg; break;
        case OPT_ROUTERS: routers = optarg; break;
        case OPT_MAXINST:
            if (cli_parse_u64(cmd, "--max-instances", optarg, 65536, &v))
                return 2;
            if (v == 0)
                return cli_usage_error(cmd, "--max-instances: expected at least 1");
            s.max_instances = (uint32_t)v;
            break;
        case OPT_MAXPTS:
            if (cli_parse_u64(cmd, "--max-points", optarg, UINT64_C(1) << 40, &max_points))
                return 2;
            break;
        case OPT_HBMF: {
            char *end;
            s.hbm_fraction = strtod(optarg, &end);
            if (end == optarg || *end || !(s.hbm_fraction > 0) || s.hbm_fraction > 1)
                return cli_usage_error(cmd, "--hbm-fraction: expected a number in (0, 1], "
                                            "got '%s'", optarg);
            break;
        }
        case OPT_SCHED:
            if (cc_sim_sched_parse(optarg, &s.sim.scheduler, &err) != CC_OK)
                return cli_usage_error(cmd, "--scheduler: %s", err.msg);
            if (s.sim.scheduler == CC_SIM_SCHED_FCFS)
                return cli_usage_error(cmd, "--scheduler: the plan batches (batch or lpf)");
            break;
        case OPT_MBT:
            if (cli_parse_u64(cmd, "--max-batch-tokens", optarg, UINT32_MAX, &v))
                return 2;
            if (v == 0)
                return cli_usage_error(cmd, "--max-batch-tokens: expected at least 1");
            s.sim.max_batch_tokens = (uint32_t)v;
            break;
        case OPT_MSEQ:
            if (cli_parse_u64(cmd, "--max-seqs", optarg, 1u << 20, &v))
                return 2;
            if (v == 0)
                return cli_usage_error(cmd, "--max-seqs: expected at least 1");
            s.sim.max_seqs = (uint32_t)v;
            break;
        case OPT_THREADS:
            if (cli_parse_u64(cmd, "--threads", optarg, 4096, &v))
                return 2;
            s.threads = (uint32_t)v;
            break;
        case OPT_SEED:
            if (cli_parse_u64(cmd, "--seed", optarg, UINT64_MAX, &s.seed))
                return 2;
            break;
        case OPT_JSON: json = 1; break;
        case OPT_PRICING: pricing = optarg; break;
        case 'o': out = optarg; break;
        case 'h': fputs(plan_help, stdout); return 0;
        default: return cli_usage_error(cmd, "bad option");
        }
    }
    if (argc - optind != 1)
        return cli_usage_error(cmd, "expected one trace file");
    if (!slo)
        return cli_usage_error(cmd, "give the objectives: --slo ttft_p99=1s[,tpot_p99=50ms]");
    if (cc_plan_slo_parse(slo, s.slos, &s.n_slos, &err) != CC_OK)
        return cli_usage_error(cmd, "--slo: %s", err.msg);

    char buf[2048], *items[CC_PLAN_MAX_LIST];
    size_t n;
    if ((rc = split_list(cmd, "--hardware", hws, buf, sizeof buf, items, &n)))
        return rc;
    for (size_t i = 0; i < n; i++)
        if (cc_sim_hw_load(items[i], &s.hw[i], &err) != CC_OK)
            return cli_usage_error(cmd, "--hardware: %s", err.msg);
    s.n_hw = n;
    if (cc_sim_model_load(model, &s.model, &err) != CC_OK)
        return cli_usage_error(cmd, "--model: %s", err.msg);
    if (strcmp(tps, "auto")) {
        if ((rc = split_list(cmd, "--tp", tps, buf, sizeof buf, items, &n)))
            return rc;
        for (size_t i = 0; i < n; i++) {
            if (cli_parse_u64(cmd, "--tp", items[i], 64, &v))
                return 2;
            s.tp[i] = (int)v;
            if (cc_sim_tp_check(&s.model, s.tp[i], &err) != CC_OK)
                return cli_usage_error(cmd, "--tp: %s", err.msg);
        }
        s.n_tp = n;
    }
    if (rates) {
        if ((rc = split_list(cmd, "--rate-scale", rates, buf, sizeof buf, items, &n)))
            return rc;
        for (size_t i = 0; i < n; i++) {
            char *end;
            s.rates[i] = strtod(items[i], &end);
            if (end == items[i] || *end || !isfinite(s.rates[i]) || !(s.rates[i] > 0))
                return cli_usage_error(cmd, "--rate-scale: expected positive numbers (1 = the "
                                            "trace's rate), got '%s'", items[i]);
        }
        s.n_rates = n;
    }
    if (pols) {
        if ((rc = split_list(cmd, "--policies", pols, buf, sizeof buf, items, &n)))
            return rc;
        for (size_t i = 0; i < n; i++) {
            const cc_policy_ops *ops;
            cc_policy_params pp;
            if (cc_policy_parse(items[i], &ops, &pp, &err) != CC_OK)
                return cli_usage_error(cmd, "--policies: %s", err.msg);
            if (ops->flags & CC_POLICY_NEEDS_NEXT_USE)
                return cli_usage_error(cmd, "--policies: '%s' needs next uses, which "
                                            "overlapping requests do not provide", items[i]);
            snprintf(s.policies[i], sizeof s.policies[i], "%s", items[i]);
        }
        s.n_policies = n;
    }
    if (routers) {
        if ((rc = split_list(cmd, "--routers", routers, buf, sizeof buf, items, &n)))
            return rc;
        for (size_t i = 0; i < n; i++)
            if (cc_sim_router_parse(items[i], &s.routers[i], &err) != CC_OK)
                return cli_usage_error(cmd, "--routers: %s", err.msg);
        s.n_routers = n;
    }
    static cli_pricing proto; /* large: kept off the stack */
    if (pricing) {
        if ((rc = cli_pricing_parse(cmd, pricing, &proto)))
            return rc;
        cc_ctx_config ctx;
        memset(&ctx, 0, sizeof ctx);
        if (cc_ctx_parse_cacheable("auto", &ctx, &err) != CC_OK)
            return cli_fail(cmd, &err);
        proto.run = (cc_pricing_run){.cacheable = ctx.cacheable,
                                     .cacheable_blocks = ctx.cacheable_blocks};
    }
    cc_plan_tiers *grid = NULL;
    if (cc_plan_tiers_parse(tiers, &grid, &s.n_tiers, &err) != CC_OK)
        return cli_usage_error(cmd, "--tiers-grid: %s", err.msg);
    s.tiers = grid;
    uint64_t pts = cc_plan_grid_points(&s);
    uint64_t limit = max_points ? max_points : DEFAULT_MAX_POINTS;
    if (pts > limit) {
        free(grid);
        return cli_usage_error(cmd, "the grid has %llu points (configurations x rates x "
                                    "--max-instances), over %s %llu: narrow it, or allow it "
                                    "with --max-points N",
                               (unsigned long long)pts, max_points ? "--max-points" : "the limit",
                               (unsigned long long)limit);
    }
    cc_trace t;
    if ((rc = cli_load_trace(cmd, argv[optind], &o, &t))) {
        free(grid);
        return rc;
    }
    if (o.block_size && t.block_size != o.block_size && t.token_ids &&
        cc_trace_reblock(&t, o.block_size, &err) != CC_OK) {
        cc_trace_free(&t);
        free(grid);
        return cli_fail(cmd, &err);
    }
    s.rank = (uint32_t)rank;
    s.ranks = (uint32_t)size;
    if (size > 1 && !s.threads) { /* the processes on this machine share its CPUs */
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        const char *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
        long local = ls && atoi(ls) > 0 ? atoi(ls) : size;
        s.threads = ncpu > local ? (uint32_t)(ncpu / local) : 1;
    }
    cc_plan_result res;
    rc = cc_plan_run(&t, &s, &res, &err);
    rc = gather(rank, size, &res, &s, rc, &err);
    if (rc != CC_OK) {
        cc_plan_result_free(&res);
        cc_trace_free(&t);
        free(grid);
        if (err.code == CC_EARG || (err.code == CC_ERANGE && !strcmp(err.field, "hbm")))
            return cli_usage_error(cmd, "%s", err.msg);
        return cli_fail(cmd, &err);
    }
    if (rank > 0) { /* rank 0 writes and prints */
        cc_plan_result_free(&res);
        cc_trace_free(&t);
        free(grid);
        return 0;
    }
    plan_bills bills = {0};
    if (pricing && (rc = bill_rates(cmd, &t, &s, &proto, &bills))) {
        free(bills.per_rate);
        cc_plan_result_free(&res);
        cc_trace_free(&t);
        free(grid);
        return rc;
    }
    if (out && (rc = cc_plan_write_h5(out, &s, &res, argv[optind], &err)) != CC_OK) {
        free(bills.per_rate);
        cc_plan_result_free(&res);
        cc_trace_free(&t);
        free(grid);
        return cli_fail(cmd, &err);
    }
    if (json)
        print_json(&s, &res, &t, argv[optind], &bills);
    else
        print_text(&s, &res, &t, argv[optind], &bills);
    free(bills.per_rate);
    cc_plan_result_free(&res);
    cc_trace_free(&t);
    free(grid);
    return 0;
}
