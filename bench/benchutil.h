/*
 * benchutil.h -- shared bits of the benchmarks: a monotonic clock (timing
 * only; never in result files), peak RSS, the shared data path, and a
 * best-of-N timer.  Each bench prints one JSON object on stdout (its named
 * figures) and a readable summary on stderr; bench/run.sh merges them.
 */
#ifndef CC_BENCHUTIL_H
#define CC_BENCHUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static inline double bu_now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static inline double bu_peak_rss_mb(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss / 1024.0;
}

static inline const char *bu_data(char *buf, size_t len, const char *rel)
{
    const char *d = getenv("CC_SHARED_DATA");
    snprintf(buf, len, "%s/%s", d ? d : "../shared/data", rel);
    return access(buf, R_OK) == 0 ? buf : NULL;
}

static inline long bu_file_size(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

#endif
