/*
 * progress.c -- the progress line of core/progress.h.  State is one global
 * record: an active flag, the total, an atomic count, the start and last
 * print times.  Printing is rate-limited to 4 lines a second by comparing
 * CLOCK_MONOTONIC with the last print; only the thread that wins a trylock
 * prints.  Each print is one fprintf of < 160 bytes; between prints an
 * update is an atomic store (or add) and a clock read.
 */
#include "progress.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define PRINT_INTERVAL_S 0.25

static struct {
    atomic_int active;
    atomic_uint_fast64_t done;
    uint64_t total;
    char label[48];
    double t0, last;
    int printed;
    pthread_mutex_t mu;
} P = {.mu = PTHREAD_MUTEX_INITIALIZER};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

int cc_progress_enabled(void)
{
    const char *f = getenv("CC_PROGRESS");
    if (f && !strcmp(f, "0"))
        return 0;
    if (f && !strcmp(f, "1"))
        return 1;
    const char *ci = getenv("CI");
    if (ci && *ci && strcmp(ci, "0") && strcmp(ci, "false"))
        return 0;
    return isatty(2);
}

static void print_line(uint64_t done, double t)
{
    double el = t - P.t0;
    if (P.total)
        fprintf(stderr, "\r%s %llu/%llu %5.1f%% %.0fs ", P.label, (unsigned long long)done,
                (unsigned long long)P.total, 100.0 * (done > P.total ? P.total : done) / P.total,
                el);
    else
        fprintf(stderr, "\r%s %llu %.0fs ", P.label, (unsigned long long)done, el);
    fflush(stderr);
    P.printed = 1;
    P.last = t;
}

void cc_progress_begin(const char *label, uint64_t total)
{
    if (!cc_progress_enabled())
        return;
    pthread_mutex_lock(&P.mu);
    snprintf(P.label, sizeof P.label, "%s", label ? label : "");
    P.total = total;
    atomic_store(&P.done, 0);
    P.t0 = P.last = now_s();
    P.printed = 0;
    print_line(0, P.t0);
    atomic_store(&P.active, 1);
    pthread_mutex_unlock(&P.mu);
}

static void maybe_print(void)
{
    double t = now_s();
    if (t - P.last < PRINT_INTERVAL_S)
        return;
    if (pthread_mutex_trylock(&P.mu) != 0)
        return;
    if (atomic_load(&P.active) && t - P.last >= PRINT_INTERVAL_S)
        print_line(atomic_load(&P.done), t);
    pthread_mutex_unlock(&P.mu);
}

void cc_progress_update(uint64_t done)
{
    if (!atomic_load_explicit(&P.active, memory_order_relaxed))
        return;
    uint_fast64_t cur = atomic_load(&P.done);
    while (done > cur && !atomic_compare_exchange_weak(&P.done, &cur, done))
        ;
    maybe_print();
}

void cc_progress_add(uint64_t n)
{
    if (!atomic_load_explicit(&P.active, memory_order_relaxed))
        return;
    atomic_fetch_add(&P.done, n);
    maybe_print();
}

void cc_progress_end(void)
{
    if (!atomic_load(&P.active))
        return;
    pthread_mutex_lock(&P.mu);
    atomic_store(&P.active, 0);
    if (P.printed)
        fprintf(stderr, "\r%*s\r", (int)strlen(P.label) + 40, "");
    fflush(stderr);
    pthread_mutex_unlock(&P.mu);
}
