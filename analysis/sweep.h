/*
 * sweep.h -- parameter sweeps (`ctxcache sweep SPEC`): a spec file names a
 * grid (trace x block size x policy x capacity x TTL x pricing x tier layout
 * x concurrency x the serving axes: instances, hardware, model, router,
 * scheduler), every point of the grid is one cc_replay (backend cache) or one
 * cc_sim_run (backend sim, as `ctxcache replay` runs it), and the points' figures are gathered into
 * one HDF5 file.  Spec format: docs/sweep.md (INI-like "key = a, b, c").
 *
 * Grid order (deterministic): the point index i is a mixed-radix number
 * over the axes in the order of cc_sweep_axis below, the first axis the
 * most significant (trace outermost, pricing innermost).  Results are kept
 * and written in index order, so the file does not depend on how the points
 * were spread over threads or MPI ranks.
 *
 * Running a point: cc_sweep_point_run(spec, data, i) -> one row of
 * cc_sweep_n_metrics() doubles named by cc_sweep_metric_name(k).  Extra
 * figures (TTFT percentiles, cost under a pricing preset) are new names in
 * the metric table of sweep.c, filled in cc_sweep_point_run; everything
 * else (rows, MPI gathering, the file) follows the table.
 */
#ifndef CC_SWEEP_H
#define CC_SWEEP_H

#include "../core/replay.h"

#include <stdbool.h>

typedef enum cc_sweep_axis {
    CC_SWEEP_TRACE = 0,      /* "default" (generated in memory) or a path */
    CC_SWEEP_BLOCK_SIZE,     /* tokens per block; 0 = the trace's own */
    CC_SWEEP_POLICY,         /* policy spec ("lru", "s3fifo(small=0.1)") */
    CC_SWEEP_CAPACITY,       /* blocks; 0 = unbounded ("inf") */
    CC_SWEEP_TTL,            /* seconds, NaN = none */
    CC_SWEEP_PRICING,        /* pricing preset name, "none" */
    /* schema 1.1: the serving axes, innermost, so that a spec without them
     * keeps its points' indices */
    CC_SWEEP_TIERS,          /* a tier layout as replay --tiers, "-" = one tier
                                of capacity_blocks; values separated by '|' */
    CC_SWEEP_CONCURRENCY,    /* none | immediate | after-complete | dedup | auto */
    CC_SWEEP_INSTANCES,      /* serving instances >= 1 (simulator) */
    CC_SWEEP_HARDWARE,       /* hardware profile name or path (simulator) */
    CC_SWEEP_MODEL,          /* model profile name or path (simulator) */
    CC_SWEEP_ROUTER,         /* rr | least-loaded | prefix-affinity (simulator) */
    CC_SWEEP_SCHEDULER,      /* fcfs | batch | lpf (simulator) */
    CC_SWEEP_TP,             /* tensor parallelism: devices per instance (simulator;
                                schema 1.2) */
    CC_SWEEP_N_AXES
} cc_sweep_axis;

typedef struct cc_sweep_values {
    uint32_t n;
    char **text;     /* each value as written (trimmed) */
    double *num;     /* numeric axes: the value (capacity/block size exact in a double) */
    long line;       /* spec line that gave it (0 = default) */
} cc_sweep_values;

typedef struct cc_sweep_spec {
    char path[512];                       /* spec file ("" for a string) */
    cc_sweep_values axes[CC_SWEEP_N_AXES];
    cc_pc_mode mode;                      /* mode = prefix | independent */
    bool sim;                             /* backend = sim: every point runs the serving
                                             simulator (sim/driver.h), as replay --backend
                                             sim; default: sim when the spec gives a
                                             serving key (instances, hardware, model,
                                             router, scheduler, tp), else cache (cc_replay) */
    bool kv_given;                        /* kv_bytes_per_token given in the spec */
    uint64_t seed;                        /* policies and the generated trace (default 1) */
    uint32_t threads;                     /* 0 = one per CPU */
    uint64_t kv_bytes_per_token;          /* default 131072 */
    char output[512];                     /* output = FILE ("" = not given) */
} cc_sweep_spec;

/* Parses a spec.  Errors: CC_EFORMAT / CC_ERANGE / CC_EUNSUP with the file
 * (name, "" for a string), line and key in err.  CC_EIO for a missing file. */
int cc_sweep_spec_parse_string(const char *text, const char *name, cc_sweep_spec *spec,
                               cc_err *err);
int cc_sweep_spec_parse_file(const char *path, cc_sweep_spec *spec, cc_err *err);
void cc_sweep_spec_free(cc_sweep_spec *spec);

/* Points in the grid (product of the axis sizes). */
uint64_t cc_sweep_n_points(const cc_sweep_spec *spec);
/* The value index on each axis of point i (i < cc_sweep_n_points). */
void cc_sweep_point_coords(const cc_sweep_spec *spec, uint64_t i, uint32_t coords[CC_SWEEP_N_AXES]);

/* Traces, loaded once per (trace, block size) pair and shared read-only by
 * every point (and thread) that uses them. */
typedef struct cc_sweep_data {
    uint32_t n_traces, n_block_sizes;
    cc_trace *traces;                     /* [trace * n_block_sizes + block size] */
    /* [same]: 1 = not held: every point on it replays the file window by
     * window (issue 17; traces[] then holds only its name, format and block
     * size).  cc_sweep_load streams a trace whose format streams
     * (traces.h) when every point on it can: cache backend, pricing none,
     * its own block size, concurrency none, bounded tiers, no policy that
     * needs next uses, not gdsf.  The file is read through once at load
     * (every record's checks, its block size), then once per point. */
    unsigned char *streamed;
} cc_sweep_data;
int cc_sweep_load(const cc_sweep_spec *spec, cc_sweep_data *data, cc_err *err);
void cc_sweep_data_free(cc_sweep_data *data);

/* The metric table: names and how many. */
size_t cc_sweep_n_metrics(void);
const char *cc_sweep_metric_name(size_t k);

/* Runs point i: fills row[0 .. cc_sweep_n_metrics()).  Thread-safe (each
 * call owns its cache). */
int cc_sweep_point_run(const cc_sweep_spec *spec, const cc_sweep_data *data, uint64_t i,
                       double *row, cc_err *err);

/* The concurrency point i runs with (its axis value, or what auto resolves
 * to: immediate under the simulator unless mode independent or a policy
 * that needs next uses, else none). */
int cc_sweep_point_concurrency(const cc_sweep_spec *spec, const cc_sweep_data *data, uint64_t i,
                               cc_concurrency *out, cc_err *err);

/* Runs points [first, n) step `step` on `threads` pthreads (0 = one per
 * CPU), writing row j of rows for each (rows[(i - first) / step]) -- the
 * slice an MPI rank owns (first = rank, step = size), or the whole grid
 * (0, 1).  progress: count points on core/progress.h.  On error: the failing
 * point with the lowest index is reported. */
int cc_sweep_run(const cc_sweep_spec *spec, const cc_sweep_data *data, uint64_t first,
                 uint64_t step, uint32_t threads, bool progress, double *rows, cc_err *err);

/* Writes the sweep file (one row per point, in index order; rows =
 * n_points x n_metrics) atomically and deterministically (no timestamps,
 * no wall-clock figures).  Schema: docs/sweep.md. */
int cc_sweep_write_h5(const char *path, const cc_sweep_spec *spec, const cc_sweep_data *data,
                      const double *rows, cc_err *err);

#endif
