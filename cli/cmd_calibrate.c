/*
 * cmd_calibrate.c -- `ctxcache calibrate`: times the real engine (CPU or
 * CUDA) over a grid of steps, fits the cost model's coefficients to the
 * times (sim/calibrate.c, GSL), reports the fit's error and writes a
 * hardware profile the simulator loads (replay --hardware PROFILE).
 */
#include "cli.h"
#include "sim/engine_calib.h"

#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static void help(FILE *out)
{
    fprintf(out,
            "usage: ctxcache calibrate --model PRESET [--backend cpu|cuda] [--hardware BASE]\n"
            "                          [-o PROFILE] [--grid quick|full] [--repeats N] [--json]\n"
            "\n"
            "Times the real engine (gpu/: random weights, fp32) over a grid of steps -- prefill\n"
            "steps of B sequences of N new tokens after C cached ones, and decode steps --\n"
            "fits the cost model's coefficients (efficiencies and overheads; sim/calibrate.c,\n"
            "Levenberg-Marquardt on relative errors) and reports the fit's error (median, p95\n"
            "and max absolute relative error over the points, R^2).  With -o it writes a\n"
            "hardware profile: BASE's device numbers with the fitted coefficients, which\n"
            "`replay --hardware PROFILE` and `fidelity` load.  Each point is the MEDIAN of\n"
            "--repeats timed forwards after one warm-up, which damps other jobs on a shared\n"
            "machine.  Progress goes to stderr when it is a terminal.\n"
            "\n"
            "options:\n"
            "  --model PRESET     engine model: tiny, small, llama-3-8b, ... (required)\n"
            "  --backend NAME     cpu (default) or cuda\n"
            "  --hardware BASE    base hardware profile (default: cpu for cpu, h100-sxm for cuda)\n"
            "  -o, --output FILE  write the calibrated profile (default: report only)\n"
            "  --grid NAME        quick (default; 22 points, a second on tiny, ~30 s on small\n"
            "                     on one core) or full (45 points)\n"
            "  --repeats N        timed forwards per point (default 3; full: 5)\n"
            "  --block-size N     tokens per KV block (default: the preset's; use the traces'\n"
            "                     block size for the profile a replay of them uses)\n"
            "  --threads N        CPU threads of the engine (default 1: steady timings on a\n"
            "                     shared machine; 0: OpenMP's default)\n"
            "  --json             print JSON: fit errors, coefficients, points\n"
            "\n"
            "examples:\n"
            "  ctxcache calibrate --model tiny --grid quick\n"
            "  ctxcache calibrate --model small --hardware cpu -o cpu-small.profile\n"
            "  ctxcache replay trace.h5 --capacity-blocks inf --hardware cpu-small.profile "
            "--model small\n"
            "  ctxcache calibrate --backend cuda --model llama-3-8b --hardware h100-sxm --grid full "
            "-o h100-8b.profile --json\n");
}

int cmd_calibrate(int argc, char **argv)
{
    const char *cmd = "calibrate";
    cli_engine_args ea = {.backend = "cpu", .grid = "quick"};
    const char *out = NULL;
    int json = 0, block_size = 0;
    enum { O_JSON = 1000, O_BS };
    static const struct option opts[] = {
        CLI_ENGINE_LONG_OPTS,
        {"output", required_argument, 0, 'o'},
        {"json", no_argument, 0, O_JSON},
        {"help", no_argument, 0, 'h'},
        {"block-size", required_argument, 0, O_BS},
        {0, 0, 0, 0}};
    optind = 1;
    int c;
    uint64_t v;
    while ((c = getopt_long(argc, argv, "ho:", opts, NULL)) != -1) {
        switch (c) {
        CLI_ENGINE_OPT_CASES:
            if (cli_engine_opt(cmd, c, optarg, &ea))
                return 2;
            break;
        case 'o': out = optarg; break;
        case O_JSON: json = 1; break;
        case O_BS:
            if (cli_parse_u64(cmd, "--block-size", optarg, 65536, &v))
                return 2;
            block_size = (int)v;
            break;
        case 'h': help(stdout); return 0;
        default: return cli_usage_error(cmd, "bad option");
        }
    }
    const char *backend = ea.backend, *model = ea.model, *hardware = ea.hardware, *grid = ea.grid;
    int repeats = ea.repeats;
    if (optind != argc)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
    if (!model)
        return cli_usage_error(cmd, "give --model PRESET (tiny, small, ...)");
    if (strcmp(backend, "cpu") && strcmp(backend, "cuda"))
        return cli_usage_error(cmd, "--backend: expected cpu or cuda, got '%s'", backend);
    if (!hardware)
        hardware = !strcmp(backend, "cpu") ? "cpu" : "h100-sxm";
    if (!repeats)
        repeats = !strcmp(grid, "full") ? 5 : 3;
    cli_calib cb;
    int rc = cli_calibrate_run(cmd, backend, model, hardware, grid, repeats, block_size, &cb);
    if (rc)
        return rc;
    cc_err err = {0};
    if (out && cc_calib_write_profile(out, &cb.base, cb.fitted.name, &cb.model, &cb.fit,
                                      cb.provenance, &err) != CC_OK) {
        cli_calib_free(&cb);
        return cli_fail(cmd, &err);
    }
    const cc_calib_result *f = &cb.fit;
    if (json) {
        json_t *o = json_object();
        json_object_set_new(o, "backend", json_string(backend));
        json_object_set_new(o, "model", json_string(model));
        json_object_set_new(o, "hardware", json_string(cb.base.name));
        json_object_set_new(o, "profile", out ? json_string(out) : json_null());
        json_object_set_new(o, "profile_name", json_string(cb.fitted.name));
        json_object_set_new(o, "grid", json_string(grid));
        json_object_set_new(o, "repeats", json_integer(repeats));
        json_object_set_new(o, "n_points", json_integer((json_int_t)f->n_points));
        json_object_set_new(o, "median_abs_rel_err", json_real(f->median_abs_rel_err));
        json_object_set_new(o, "p95_abs_rel_err", json_real(f->p95_abs_rel_err));
        json_object_set_new(o, "max_abs_rel_err", json_real(f->max_abs_rel_err));
        json_object_set_new(o, "r2", json_real(f->r2));
        json_t *co = json_object(), *held = json_array();
        for (int k = 0; k < CC_SIM_N_COEFFS; k++) {
            json_object_set_new(co, cc_sim_coeff_names[k],
                                json_real(*cc_sim_coeff_ptr(&cb.fitted.coeffs, k)));
            if (f->held_mask & (1u << k))
                json_array_append_new(held, json_string(cc_sim_coeff_names[k]));
        }
        json_object_set_new(o, "coeffs", co);
        json_object_set_new(o, "held", held);
        json_t *pa = json_array();
        for (size_t i = 0; i < cb.n_pts; i++) {
            const cc_calib_point *p = &cb.pts[i];
            json_array_append_new(pa, json_pack("{s:I,s:I,s:I,s:f}", "n_new", (json_int_t)p->n_new,
                                                "n_cached", (json_int_t)p->n_cached, "batch",
                                                (json_int_t)p->batch, "seconds", p->seconds));
        }
        json_object_set_new(o, "points", pa);
        char *s = json_dumps(o, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
        json_decref(o);
        if (!s) {
            cli_calib_free(&cb);
            return 3;
        }
        puts(s);
        free(s);
    } else {
        printf("calibration      %s engine, model %s, grid %s: %zu points, median of %d "
               "forwards each\n", backend, model, grid, f->n_points, repeats);
        printf("fit error        median %.4f, p95 %.4f, max %.4f (|rel err|); R^2 %.6f\n",
               f->median_abs_rel_err, f->p95_abs_rel_err, f->max_abs_rel_err, f->r2);
        printf("coefficients    ");
        for (int k = 0; k < CC_SIM_N_COEFFS; k++)
            printf(" %s %.6g%s", cc_sim_coeff_names[k], *cc_sim_coeff_ptr(&cb.fitted.coeffs, k),
                   f->held_mask & (1u << k) ? " (held)" : "");
        printf("\n");
        if (out)
            printf("profile          %s (hardware '%s', base '%s')\n", out, cb.fitted.name,
                   cb.base.name);
        else
            printf("profile          not written (give -o FILE)\n");
    }
    cli_calib_free(&cb);
    return 0;
}
