/*
 * stream_int.h -- traces/ internals: the HDF5 side of streamed reading
 * (stream.c drives it, trace_h5.c implements it with its own checks).
 */
#ifndef CC_TRACES_STREAM_INT_H
#define CC_TRACES_STREAM_INT_H

#include "traces.h"

typedef struct cc_h5_window_reader cc_h5_window_reader;
/* Opens a ctxcache HDF5 trace for reading in windows: the root attributes
 * and the five columns a replay needs are checked as cc_read_h5 checks
 * them (identity, version, types, lengths); *n = requests, *block_size;
 * CC_EUNSUP for a trace without block hashes. */
int cc_h5_window_open(const char *path, cc_h5_window_reader **out, uint64_t *n,
                      uint32_t *block_size, char *source_format, size_t fmt_len, cc_err *err);
/* Requests [first, first + count) into w's columns (allocated by the caller
 * for count requests; blocks grown here as needed via *cap_blocks), with
 * cc_read_h5's per-request checks of those columns. */
int cc_h5_window_read(cc_h5_window_reader *r, uint64_t first, size_t count, cc_trace *w,
                      size_t *cap_blocks, cc_err *err);
void cc_h5_window_close(cc_h5_window_reader *r);
/* Adler-32 of n bytes continuing adler (1 to start): zlib's adler32(), 16
 * bytes a step; the window reader checks inflated chunks with it. */
uint32_t cc_adler32(uint32_t adler, const unsigned char *p, size_t n);

#endif
