/*
 * cmd_sweep.c -- `ctxcache sweep SPEC`: run every point of a grid (policy x
 * capacity x TTL x block size x trace x pricing; analysis/sweep.h) on a
 * pool of threads, and under mpirun across processes, and gather the rows
 * into one HDF5 file (docs/sweep.md).
 *
 * MPI (built when CC_HAVE_MPI, Makefile MPI=auto|1|0): MPI is started only
 * when the process was launched by mpirun (Open MPI's OMPI_COMM_WORLD_SIZE
 * or a PMI/PMIx rank in the environment); rank r runs the points i with
 * i % size == r on its threads, the rows (fixed size: n_metrics doubles)
 * go to rank 0 with MPI_Gatherv, and rank 0 puts them back in index order
 * and writes the file.  Errors travel the same way (one fixed record per
 * rank); every rank returns the same exit status.  Without mpirun, or in a
 * build without MPI, only threads are used.
 */
#include "cli.h"
#include "../analysis/sweep.h"
#include "../core/progress.h"

#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#if CC_HAVE_MPI
#include <mpi.h>
#endif

static const char *const sweep_help =
    "usage: ctxcache sweep SPEC [-o OUT.h5] [--threads N] [--json]\n"
    "\n"
    "Runs a trace replay at every point of the grid SPEC names (trace x block size x\n"
    "policy x capacity x TTL x pricing x tier layout x concurrency x instances x\n"
    "hardware x model x router x scheduler; format: docs/sweep.md) and writes one\n"
    "HDF5 file with one row per point (the axis values and the figures: block/token\n"
    "hit ratios, evictions, bytes moved, ...; with a serving axis or backend = sim,\n"
    "each point runs the serving simulator as replay --backend sim and adds TTFT,\n"
    "TPOT, throughput, prefill GPU-seconds saved), in grid order: the same spec gives\n"
    "a byte-identical file whatever the threads or MPI processes.\n"
    "\n"
    "  -o, --output FILE   the results file (default: the spec's output, else sweep.h5)\n"
    "  --threads N         worker threads per process (default: the spec's threads,\n"
    "                      else one per CPU shared among MPI processes)\n"
    "  --json              also print every point as JSON on stdout\n"
    "  --quiet             no progress line (shown only when stderr is a terminal)\n"
    "\n"
    "Across machines: mpirun -np N ctxcache sweep SPEC (Open MPI; process r runs\n"
    "points i with i %% N == r, process 0 gathers them and writes the file).\n"
    "\n"
    "examples:\n"
    "  ctxcache sweep examples/sweep.spec -o sweep.h5\n"
    "  ctxcache sweep examples/sweep.spec --threads 2 --json > sweep.json\n"
    "  mpirun -np 4 ctxcache sweep examples/sweep.spec -o sweep.h5\n"
    "\nMPI in this build: %s\n";

enum { OPT_THREADS = 1000, OPT_JSON, OPT_QUIET };
static const struct option long_opts[] = {
    {"output", required_argument, 0, 'o'},
    {"threads", required_argument, 0, OPT_THREADS},
    {"json", no_argument, 0, OPT_JSON},
    {"quiet", no_argument, 0, OPT_QUIET},
    {"help", no_argument, 0, 'h'},
    {0, 0, 0, 0},
};

static int print_json(const cc_sweep_spec *S, const cc_sweep_data *D, const double *rows,
                      const char *out)
{
    uint64_t np = cc_sweep_n_points(S);
    size_t nm = cc_sweep_n_metrics();
    json_t *o = json_object();
    json_object_set_new(o, "spec", json_string(S->path));
    json_object_set_new(o, "output", json_string(out));
    json_object_set_new(o, "mode", json_string(S->mode == CC_PC_PREFIX ? "prefix" : "independent"));
    json_object_set_new(o, "backend", json_string(S->sim ? "sim" : "cache"));
    json_object_set_new(o, "seed", json_integer((json_int_t)S->seed));
    json_t *pts = json_array();
    uint32_t c[CC_SWEEP_N_AXES];
    size_t cap_run = 0;
    while (strcmp(cc_sweep_metric_name(cap_run), "capacity_blocks_run"))
        cap_run++;
    for (uint64_t i = 0; i < np; i++) {
        cc_sweep_point_coords(S, i, c);
        const char *tiers = S->axes[CC_SWEEP_TIERS].text[c[CC_SWEEP_TIERS]];
        cc_concurrency conc = CC_CONCURRENCY_NONE;
        cc_err e = {0};
        if (cc_sweep_point_concurrency(S, D, i, &conc, &e) != CC_OK) {
            json_decref(o);
            return cli_fail("sweep", &e);
        }
        json_t *p = json_object();
        json_object_set_new(p, "index", json_integer((json_int_t)i));
        json_object_set_new(p, "trace", json_string(S->axes[CC_SWEEP_TRACE].text[c[CC_SWEEP_TRACE]]));
        json_object_set_new(p, "block_size", json_integer(
            D->traces[(size_t)c[CC_SWEEP_TRACE] * D->n_block_sizes + c[CC_SWEEP_BLOCK_SIZE]].block_size));
        json_object_set_new(p, "policy", json_string(S->axes[CC_SWEEP_POLICY].text[c[CC_SWEEP_POLICY]]));
        json_object_set_new(p, "capacity_blocks", json_integer(
            strcmp(tiers, "-") ? (json_int_t)rows[i * nm + cap_run] /* the top tier's */
                               : (json_int_t)S->axes[CC_SWEEP_CAPACITY].num[c[CC_SWEEP_CAPACITY]]));
        double ttl = S->axes[CC_SWEEP_TTL].num[c[CC_SWEEP_TTL]];
        json_object_set_new(p, "ttl_s", isnan(ttl) ? json_null() : json_real(ttl));
        json_object_set_new(p, "pricing", json_string(S->axes[CC_SWEEP_PRICING].text[c[CC_SWEEP_PRICING]]));
        json_object_set_new(p, "tiers", json_string(tiers));
        json_object_set_new(p, "concurrency", json_string(cc_concurrency_name(conc)));
        json_object_set_new(p, "instances", json_integer(
            (json_int_t)S->axes[CC_SWEEP_INSTANCES].num[c[CC_SWEEP_INSTANCES]]));
        json_object_set_new(p, "tp", json_integer((json_int_t)S->axes[CC_SWEEP_TP].num[c[CC_SWEEP_TP]]));
        static const cc_sweep_axis names[] = {CC_SWEEP_HARDWARE, CC_SWEEP_MODEL, CC_SWEEP_ROUTER,
                                              CC_SWEEP_SCHEDULER};
        static const char *const keys[] = {"hardware", "model", "router", "scheduler"};
        for (int k = 0; k < 4; k++)
            json_object_set_new(p, keys[k], json_string(S->axes[names[k]].text[c[names[k]]]));
        for (size_t k = 0; k < nm; k++) {
            double v = rows[i * nm + k];
            json_object_set_new(p, cc_sweep_metric_name(k),
                                isnan(v) ? json_null()
                                : v == floor(v) && fabs(v) < 9e15 ? json_integer((json_int_t)v)
                                                                  : json_real(v));
        }
        json_array_append_new(pts, p);
    }
    json_object_set_new(o, "points", pts);
    int rc = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_REAL_PRECISION(17));
    putchar('\n');
    json_decref(o);
    return rc == 0 ? 0 : 3;
}

/* An error record that fits an MPI message. */
typedef struct wire_err {
    int code;
    int line;
    char file[256];
    char field[128];
    char msg[512];
} wire_err;

int cmd_sweep(int argc, char **argv)
{
    const char *cmd = "sweep";
    const char *mpi_state = CC_HAVE_MPI ? "yes (Open MPI)" : "no (built with MPI=0 or without mpicc)";
    int rank = 0, size = 1;
#if CC_HAVE_MPI
    int mpi_on = getenv("OMPI_COMM_WORLD_SIZE") || getenv("PMIX_RANK") || getenv("PMI_RANK");
    if (mpi_on) {
        MPI_Init(&argc, &argv);
        MPI_Comm_rank(MPI_COMM_WORLD, &rank);
        MPI_Comm_size(MPI_COMM_WORLD, &size);
    }
#define SWEEP_RETURN(x)                                                                      \
    do {                                                                                     \
        int rv_ = (x);                                                                       \
        if (mpi_on)                                                                          \
            MPI_Finalize();                                                                  \
        return rv_;                                                                          \
    } while (0)
#else
#define SWEEP_RETURN(x) return (x)
    /* under mpirun without MPI every process would run the whole grid and
     * write the same file */
    const char *ws = getenv("OMPI_COMM_WORLD_SIZE");
    if (ws && atoi(ws) > 1) {
        if (!getenv("OMPI_COMM_WORLD_RANK") || atoi(getenv("OMPI_COMM_WORLD_RANK")) == 0)
            fprintf(stderr, "ctxcache sweep: this build has no MPI (built with MPI=0 or without "
                            "mpicc): run it without mpirun, or rebuild with MPI=1\n");
        return 2;
    }
#endif
    if (argc < 2) {
        if (rank == 0)
            fprintf(stderr, sweep_help, mpi_state);
        SWEEP_RETURN(2);
    }
    const char *out = NULL;
    uint64_t threads = 0;
    int threads_given = 0, json = 0, quiet = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "ho:", long_opts, NULL)) != -1) {
        switch (c) {
        case 'o': out = optarg; break;
        case OPT_THREADS:
            if (cli_parse_u64(cmd, "--threads", optarg, 4096, &threads))
                SWEEP_RETURN(2);
            threads_given = 1;
            break;
        case OPT_JSON: json = 1; break;
        case OPT_QUIET: quiet = 1; break;
        case 'h':
            if (rank == 0)
                printf(sweep_help, mpi_state);
            SWEEP_RETURN(0);
        default: SWEEP_RETURN(cli_usage_error(cmd, "bad option"));
        }
    }
    if (argc - optind != 1)
        SWEEP_RETURN(cli_usage_error(cmd, "expected one spec file"));
    cc_sweep_spec spec;
    cc_err err = {0};
    int rc = cc_sweep_spec_parse_file(argv[optind], &spec, &err);
    if (rc != CC_OK)
        SWEEP_RETURN(rank == 0 ? cli_fail(cmd, &err) : cli_exit_code(rc));
    if (!out)
        out = spec.output[0] ? spec.output : "sweep.h5";
    if (!threads_given) {
        threads = spec.threads;
        if (threads == 0) {
            long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
            /* the processes on this machine share its CPUs */
            const char *ls = getenv("OMPI_COMM_WORLD_LOCAL_SIZE");
            long local = size > 1 && ls && atoi(ls) > 0 ? atoi(ls) : size;
            threads = ncpu > local ? (uint64_t)(ncpu / local) : 1;
        }
    }
    uint64_t np = cc_sweep_n_points(&spec);
    size_t nm = cc_sweep_n_metrics();
    cc_sweep_data data;
    double *mine = NULL, *all = NULL;
    uint64_t n_mine = (uint64_t)rank < np ? (np - rank + size - 1) / size : 0;
    rc = cc_sweep_load(&spec, &data, &err);
    if (rc == CC_OK) {
        mine = calloc(n_mine ? n_mine * nm : 1, sizeof *mine);
        if (!mine)
            rc = cc_err_set(&err, CC_ENOMEM, NULL, 0, NULL, "out of memory for %llu rows",
                            (unsigned long long)n_mine);
    }
    int progress = !quiet && rank == 0;
    if (rc == CC_OK) {
        if (progress)
            cc_progress_begin("sweep", n_mine);
        rc = cc_sweep_run(&spec, &data, (uint64_t)rank, (uint64_t)size, (uint32_t)threads,
                          progress, mine, &err);
        if (progress)
            cc_progress_end();
    }
#if CC_HAVE_MPI
    if (size > 1) {
        /* errors first: every rank learns whether all succeeded */
        wire_err we;
        memset(&we, 0, sizeof we);
        we.code = rc;
        if (rc != CC_OK) {
            we.line = (int)err.line;
            snprintf(we.file, sizeof we.file, "%s", err.file);
            snprintf(we.field, sizeof we.field, "%s", err.field);
            snprintf(we.msg, sizeof we.msg, "%s", err.msg);
        }
        wire_err *wes = rank == 0 ? calloc(size, sizeof *wes) : NULL;
        MPI_Gather(&we, (int)sizeof we, MPI_BYTE, wes, (int)sizeof we, MPI_BYTE, 0, MPI_COMM_WORLD);
        int worst = rc;
        MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
        if (rank == 0 && rc == CC_OK && worst != CC_OK && wes) {
            for (int r = 0; r < size; r++)
                if (wes[r].code != CC_OK) {
                    cc_err_set(&err, wes[r].code, wes[r].file, wes[r].line, wes[r].field, "%s",
                               wes[r].msg);
                    break;
                }
        }
        free(wes);
        rc = rc != CC_OK ? rc : worst;
        if (rc == CC_OK) {
            int *counts = NULL, *displs = NULL;
            double *gathered = NULL;
            if (rank == 0) {
                counts = calloc(size, sizeof *counts);
                displs = calloc(size, sizeof *displs);
                gathered = calloc(np * nm > 0 ? np * nm : 1, sizeof *gathered);
                all = calloc(np * nm > 0 ? np * nm : 1, sizeof *all);
                int off = 0;
                for (int r = 0; r < size && counts && displs; r++) {
                    uint64_t nr = (uint64_t)r < np ? (np - r + size - 1) / size : 0;
                    counts[r] = (int)(nr * nm);
                    displs[r] = off;
                    off += counts[r];
                }
            }
            /* (a rank-0 allocation failure would need an abort of all;
             * rows are small: n_points x n_metrics doubles) */
            MPI_Gatherv(mine, (int)(n_mine * nm), MPI_DOUBLE, gathered, counts, displs, MPI_DOUBLE,
                        0, MPI_COMM_WORLD);
            if (rank == 0) {
                for (int r = 0; r < size; r++)
                    for (uint64_t j = 0; (int)(j * nm) < counts[r]; j++)
                        memcpy(all + ((uint64_t)r + j * size) * nm, gathered + displs[r] + j * nm,
                               nm * sizeof *all);
            }
            free(counts);
            free(displs);
            free(gathered);
        }
    }
#endif
    if (size == 1) {
        all = mine;
        mine = NULL;
    }
    int status = 0;
    if (rank == 0) {
        if (rc == CC_OK)
            rc = cc_sweep_write_h5(out, &spec, &data, all, &err);
        if (rc != CC_OK)
            status = cli_fail(cmd, &err);
        else if (json)
            status = print_json(&spec, &data, all, out);
        else
            printf("sweep: %llu points (%zu metrics each) -> %s\n",
                    (unsigned long long)np, nm, out);
    } else if (rc != CC_OK) {
        status = cli_exit_code(rc);
    }
#if CC_HAVE_MPI
    if (size > 1)
        MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD);
#endif
    free(mine);
    free(all);
    cc_sweep_data_free(&data);
    cc_sweep_spec_free(&spec);
    SWEEP_RETURN(status);
}
