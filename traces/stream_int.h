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
                      uint32_t *block_size, char *source_format, size_t fmt_len,
                      char *source, size_t src_len, cc_err *err);
/* Requests [first, first + count) into w's columns (allocated by the caller
 * for count requests; blocks grown here as needed via *cap_blocks), with
 * cc_read_h5's per-request checks of those columns. */
int cc_h5_window_read(cc_h5_window_reader *r, uint64_t first, size_t count, cc_trace *w,
                      size_t *cap_blocks, cc_err *err);
void cc_h5_window_close(cc_h5_window_reader *r);
/* The length of the file's /blocks column (its block accesses). */
uint64_t cc_h5_window_blocks(const cc_h5_window_reader *r);

/* Mooncake JSONL (mooncake.c) line by line, with every check of
 * cc_read_mooncake in the same order and words; the whole-file reader is
 * this loop appending to a trace.  next: *got = 1 and a record (its blocks
 * valid until the next call), or *got = 0 at the end (an error for a file
 * without records).  Memory: the longest line and the map of distinct ids. */
typedef struct cc_mc_record {
    int64_t arrival_ns;
    uint32_t input_tokens, output_tokens, n_blocks;
    const uint64_t *blocks;
    long line;
} cc_mc_record;
typedef struct cc_mc_reader cc_mc_reader;
int cc_mc_reader_open(const char *path, const cc_read_opts *o, cc_mc_reader **out, cc_err *e);
int cc_mc_reader_next(cc_mc_reader *r, cc_mc_record *rec, int *got, cc_err *e);
size_t cc_mc_reader_map_bytes(const cc_mc_reader *r);
void cc_mc_reader_close(cc_mc_reader *r);


#endif
