/*
 * real_engine.c -- what the commands that run the real engine share
 * (calibrate, fidelity, replay --backend cpu|cuda): opening an engine for a
 * model preset with random weights, the calibration run (measure a grid,
 * fit, write the profile) and the real-engine executor set-up for the
 * driver.  Errors are printed here; functions return the exit status.
 */
#include "cli.h"
#include "../core/progress.h"
#include "gpu/gpu.h"
#include "sim/engine_calib.h"
#include "sim/engine_executor.h"

#include <gsl/gsl_rng.h>
#include <jansson.h>
#include <omp.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cli_engine_threads = 1;
int cli_engine_clock = CC_ENGINE_CLOCK_WALL;

int cli_engine_opt(const char *cmd, int code, const char *arg, cli_engine_args *a)
{
    uint64_t v;
    switch (code) {
    case CLI_OPT_BACKEND: a->backend = arg; break;
    case CLI_OPT_MODEL: a->model = arg; break;
    case CLI_OPT_HARDWARE: a->hardware = arg; break;
    case CLI_OPT_GRID: a->grid = arg; break;
    case CLI_OPT_REPEATS:
        if (cli_parse_u64(cmd, "--repeats", arg, 101, &v))
            return 2;
        if (v < 1)
            return cli_usage_error(cmd, "--repeats: expected 1..101");
        a->repeats = (int)v;
        break;
    case CLI_OPT_THREADS:
        if (cli_parse_u64(cmd, "--threads", arg, 1024, &v))
            return 2;
        cli_engine_threads = (int)v;
        break;
    default: return cli_usage_error(cmd, "internal: option %d is not an engine option", code);
    }
    return 0;
}


int cli_engine_open(const char *cmd, const char *backend, const char *model, int block_size,
                    cc_engine_opts *o, cli_engine *ce)
{
    memset(ce, 0, sizeof *ce);
    cc_err err = {0};
    if (!strcmp(backend, "cpu"))
        o->backend = CC_BACKEND_CPU;
    else if (!strcmp(backend, "cuda"))
        o->backend = CC_BACKEND_CUDA;
    else
        return cli_usage_error(cmd, "--backend: expected cpu or cuda, got '%s'", backend);
    o->dtype = CC_DTYPE_F32;
    /* OpenMP threads only: the engine holds OpenBLAS at one thread (it calls
     * sgemm from each OpenMP thread), and starting BLAS workers would hang
     * under ulimit -v (main.c) */
    if (cli_engine_threads > 0)
        omp_set_num_threads(cli_engine_threads);
    if (o->backend == CC_BACKEND_CUDA && cc_gpu_device_count() < 1) {
        fprintf(stderr, "ctxcache %s: --backend cuda: no CUDA device (%s)\n", cmd,
                cc_gpu_built_with_cuda() ? "this build has CUDA, but no device or driver was "
                                           "found"
                                         : "this build has no CUDA: rebuild with nvcc, CUDA=1");
        return 2;
    }
    if (cc_model_preset(model, &ce->cfg, &err) != CC_OK)
        return cli_usage_error(cmd, "--model: %s", err.msg);
    if (block_size > 0)
        ce->cfg.block_size = block_size;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng)
        return 3;
    gsl_rng_set(rng, 1);
    int rc = cc_weights_random(&ce->w, &ce->cfg, rng, &err);
    gsl_rng_free(rng);
    if (rc != CC_OK)
        return cli_fail(cmd, &err);
    ce->have_w = 1;
    if ((rc = cc_engine_create(&ce->w, o, &ce->e, &err)) != CC_OK) {
        cli_engine_close(ce);
        return cli_fail(cmd, &err);
    }
    return 0;
}

void cli_engine_close(cli_engine *ce)
{
    if (ce->e)
        cc_engine_free(ce->e);
    if (ce->have_w)
        cc_weights_free(&ce->w);
    memset(ce, 0, sizeof *ce);
}

/* core/progress.h: a line on stderr only when it is a terminal (and not CI) */
static void progress(void *arg, size_t done, size_t total)
{
    (void)arg;
    (void)total;
    cc_progress_update(done);
}

int cli_calibrate_run(const char *cmd, const char *backend, const char *model,
                      const char *hardware, const char *grid, int repeats, int block_size,
                      cli_calib *out)
{
    memset(out, 0, sizeof *out);
    cc_err err = {0};
    cc_engine_calib_grid g;
    if (cc_engine_calib_grid_preset(grid, &g, &err) != CC_OK)
        return cli_usage_error(cmd, "--grid: %s", err.msg);
    if (cc_sim_hw_load(hardware, &out->base, &err) != CC_OK)
        return cli_option_fail(cmd, "--hardware", &err);
    cc_engine_opts o;
    cc_engine_opts_default(&o);
    cc_model_config probe;
    if (cc_model_preset(model, &probe, &err) != CC_OK)
        return cli_usage_error(cmd, "--model: %s", err.msg);
    cc_engine_calib_opts(&g, block_size > 0 ? block_size : probe.block_size, &o);
    cli_engine ce;
    int rc = cli_engine_open(cmd, backend, model, block_size, &o, &ce);
    if (rc)
        return rc;
    cc_sim_model_from_engine(&ce.cfg, o.dtype, &out->model);
    cc_progress_begin(cmd, cc_engine_calib_n_points(&g));
    rc = cc_engine_calib_measure(ce.e, &g, repeats, (cc_engine_clock)cli_engine_clock, progress,
                                 (void *)cmd, &out->pts,
                                 &out->n_pts, &err);
    cc_progress_end();
    cli_engine_close(&ce);
    if (rc != CC_OK)
        return cli_fail(cmd, &err);
    /* the fit starts from the base's coefficients: start the overheads at a
     * scale these points have (a profile measured on another model may
     * carry overheads orders of magnitude off, where LM on log-coefficients
     * would drive them to nothing) */
    cc_sim_hw prior = out->base;
    double tmin = out->pts[0].seconds;
    for (size_t i = 1; i < out->n_pts; i++)
        if (out->pts[i].seconds < tmin)
            tmin = out->pts[i].seconds;
    prior.coeffs.step_overhead_s = 0.5 * tmin;
    prior.coeffs.item_overhead_s = 0.05 * tmin;
    if ((rc = cc_calib_fit(&prior, &out->model, out->pts, out->n_pts, &out->fit, &err)) !=
        CC_OK) {
        cli_calib_free(out);
        return cli_fail(cmd, &err);
    }
    out->fitted = out->base;
    out->fitted.coeffs = out->fit.coeffs;
    snprintf(out->fitted.name, sizeof out->fitted.name, "%.30s-%.30s", out->base.name,
             model);
    snprintf(out->provenance, sizeof out->provenance,
             "the %s engine (gpu/) running model '%s' (random weights, seed 1; fp32), grid "
             "'%s' (%zu points, blocks of %d tokens), each point the median of %d timed "
             "forwards after a warm-up, %d thread(s) (ctxcache calibrate).\n", backend, model,
             grid, out->n_pts, block_size > 0 ? block_size : probe.block_size, repeats,
             cli_engine_threads);
    return 0;
}

void cli_calib_free(cli_calib *c)
{
    free(c->pts);
    c->pts = NULL;
}

/* ---- replay on the real engine ------------------------------------------ */

int cli_real_open(const char *cmd, const char *backend, const char *model, const cc_trace *t,
                  const cc_sim_hw *hw, cc_sim_config *sc, cli_real *r)
{
    memset(r, 0, sizeof *r);
    cc_err err = {0};
    cc_model_config cfg;
    if (cc_model_preset(model, &cfg, &err) != CC_OK)
        return cli_usage_error(cmd, "--model: %s (the real engine runs an engine preset)",
                               err.msg);
    if (!t->block_size)
        return cli_usage_error(cmd, "the trace has no block size");
    int bs = (int)t->block_size;
    uint64_t longest = 0;
    for (size_t i = 0; i < t->n; i++) {
        uint64_t l = (uint64_t)t->input_tokens[i] + t->output_tokens[i] + 1;
        longest = l > longest ? l : longest;
    }
    if (longest > (1u << 20))
        return cli_usage_error(cmd, "a request of %llu tokens is too long for the real engine",
                               (unsigned long long)longest);
    cc_engine_opts o;
    cc_engine_opts_default(&o);
    o.max_context = (int)((longest + (uint64_t)bs - 1) / bs * bs);
    if (o.max_context < bs)
        o.max_context = bs;
    if (sc->max_seqs > 64)
        sc->max_seqs = 64;
    if (sc->max_batch_tokens > 2048)
        sc->max_batch_tokens = 2048;
    o.max_seqs = (int)sc->max_seqs;
    o.max_batch_tokens = (int)sc->max_batch_tokens;
    /* the pool: every distinct block of the trace plus the running requests'
     * own blocks, at most 2 GiB (then the store evicts; misses are counted) */
    double block_bytes = 2.0 * cfg.n_layers * bs * cfg.n_kv_heads * cfg.head_dim * 4.0;
    uint64_t distinct = cc_trace_n_blocks_total(t);
    uint64_t per_req = (uint64_t)o.max_context / (uint64_t)bs + 1;
    uint64_t want = distinct + (uint64_t)o.max_seqs * (per_req + 1);
    uint64_t cap = (uint64_t)((2.0 * 1024 * 1024 * 1024) / block_bytes);
    uint64_t min_slots = (uint64_t)o.max_seqs * (per_req + 1);
    if (want > cap)
        want = cap > min_slots ? cap : min_slots;
    if (want > INT32_MAX / 2)
        return cli_usage_error(cmd, "the KV pool would need %llu blocks",
                               (unsigned long long)want);
    o.n_slots = (int)want;
    int rc = cli_engine_open(cmd, backend, model, bs, &o, &r->ce);
    if (rc)
        return rc;
    cc_sim_model_from_engine(&r->ce.cfg, o.dtype, &r->model);
    /* running requests' KV must fit beside one spare block each */
    uint64_t kv_tok = (uint64_t)(o.n_slots - 2 * o.max_seqs) * (uint64_t)bs;
    if (!sc->hbm_kv_tokens || sc->hbm_kv_tokens > kv_tok)
        sc->hbm_kv_tokens = kv_tok;
    sc->kv_bytes_per_token = (double)cc_engine_block_bytes(r->ce.e) / bs;
    cc_engine_exec_opts xo = {.hw = hw, .clock = (cc_engine_clock)cli_engine_clock};
    if ((rc = cc_engine_executor_create(r->ce.e, t, &xo, &r->ex, &err)) != CC_OK) {
        cli_real_close(r);
        return cli_fail(cmd, &err);
    }
    cc_costmodel_opts co;
    cc_costmodel_opts_default(&co);
    if ((rc = cc_costmodel_create(hw, &r->model, &co, &r->ref, &err)) != CC_OK) {
        cli_real_close(r);
        return cli_fail(cmd, &err);
    }
    sc->reference = &r->ref;
    return 0;
}

void cli_real_stats(cli_real *r)
{
    cc_engine_exec_get_stats(&r->ex, &r->stats);
}

void cli_real_close(cli_real *r)
{
    cc_executor_free(&r->ex);
    cc_executor_free(&r->ref);
    cli_engine_close(&r->ce);
}

void cli_real_text(const cli_real *r, FILE *out)
{
    const cc_engine_exec_stats *s = &r->stats;
    fprintf(out,
            "engine           %s, %d KV blocks of %d tokens: %llu forwards, %.6g s measured; "
            "%llu cached blocks reused, %llu missing (recomputed, %llu tokens), %llu copied, "
            "%llu stored, %llu evicted\n",
            r->ce.cfg.name, cc_engine_options(r->ce.e)->n_slots, r->ce.cfg.block_size,
            (unsigned long long)s->forwards, s->busy_s, (unsigned long long)s->reused_blocks,
            (unsigned long long)s->missing_blocks, (unsigned long long)s->recomputed_tokens,
            (unsigned long long)s->copied_blocks, (unsigned long long)s->stored_blocks,
            (unsigned long long)s->evicted_blocks);
}

void cli_real_json(const cli_real *r, json_t *o)
{
    const cc_engine_exec_stats *s = &r->stats;
    json_t *e = json_object();
    json_object_set_new(e, "model", json_string(r->ce.cfg.name));
    json_object_set_new(e, "kv_blocks", json_integer(cc_engine_options(r->ce.e)->n_slots));
    json_object_set_new(e, "forwards", json_integer((json_int_t)s->forwards));
    json_object_set_new(e, "measured_s", json_real(s->busy_s));
    json_object_set_new(e, "reused_blocks", json_integer((json_int_t)s->reused_blocks));
    json_object_set_new(e, "missing_blocks", json_integer((json_int_t)s->missing_blocks));
    json_object_set_new(e, "recomputed_tokens", json_integer((json_int_t)s->recomputed_tokens));
    json_object_set_new(e, "copied_blocks", json_integer((json_int_t)s->copied_blocks));
    json_object_set_new(e, "stored_blocks", json_integer((json_int_t)s->stored_blocks));
    json_object_set_new(e, "evicted_blocks", json_integer((json_int_t)s->evicted_blocks));
    json_object_set_new(e, "host_bytes_per_s", json_real(s->host_bytes_per_s));
    json_object_set_new(o, "engine", e);
}
