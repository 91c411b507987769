/*
 * engine_calib.h -- measuring the real engine over a grid of steps for the
 * calibration fit (sim.h: cc_calib_fit), and the engine's model shape as a
 * simulator model profile.  Details: engine_calib.c.
 */
#ifndef CC_ENGINE_CALIB_H
#define CC_ENGINE_CALIB_H

#include "../gpu/gpu.h"
#include "sim.h"

#include <stdio.h>

typedef struct cc_engine_calib_grid {
    const char *name;
    int n_new[8], n_new_n;           /* prefill points: new tokens */
    int n_cached[8], n_cached_n;     /*                 cached tokens */
    int batch[8], batch_n;           /*                 sequences */
    int dec_cached[8], dec_cached_n; /* decode points: context */
    int dec_batch[8], dec_batch_n;   /*                sequences */
} cc_engine_calib_grid;

/* "quick" or "full"; CC_EARG (field "grid") otherwise. */
int cc_engine_calib_grid_preset(const char *name, cc_engine_calib_grid *g, cc_err *err);
size_t cc_engine_calib_n_points(const cc_engine_calib_grid *g);
/* Sets o's n_slots, max_seqs, max_context, max_batch_tokens to fit g. */
void cc_engine_calib_opts(const cc_engine_calib_grid *g, int block_size, cc_engine_opts *o);

/* The clock the engine's steps are timed with; calibration and the
 * real-engine executor (engine_executor.h) must use the same one, so that
 * the fit and the replay it is compared with agree.
 *   WALL: CLOCK_MONOTONIC, what a user waits.
 *   CPU:  this process's CPU time (CLOCK_PROCESS_CPUTIME_ID) divided by the
 *         OpenMP threads the engine runs on: on an idle machine about the
 *         wall time of steps that keep those threads busy, and, unlike wall
 *         time, barely moved by other processes on the same cores (a step
 *         that waits for a core is not charged for the wait), so a
 *         calibration and a replay done under different loads still agree.
 *         CPU backend only: a CUDA step's time is on the device. */
typedef enum cc_engine_clock { CC_ENGINE_CLOCK_WALL = 0, CC_ENGINE_CLOCK_CPU = 1 } cc_engine_clock;
/* Seconds on that clock (an arbitrary origin; differences only). */
double cc_engine_clock_s(cc_engine_clock clock);

typedef void (*cc_engine_calib_progress)(void *arg, size_t done, size_t total);
/* Times every point of g on e (median of `repeats` after a warm-up, on
 * `clock`); *pts (caller frees) gets cc_engine_calib_n_points(g) points.
 * CC_EARG when e is smaller than cc_engine_calib_opts says; engine errors. */
int cc_engine_calib_measure(cc_engine *e, const cc_engine_calib_grid *g, int repeats,
                            cc_engine_clock clock, cc_engine_calib_progress progress, void *arg,
                            cc_calib_point **pts, size_t *n_pts, cc_err *err);

/* The simulator's model for an engine shape run in engine_dtype (CC_DTYPE_*). */
int cc_sim_model_from_engine(const cc_model_config *c, int engine_dtype, cc_sim_model *m);

#endif
