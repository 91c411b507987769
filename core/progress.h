/*
 * progress.h -- a progress line for long runs (replay, mrc, sweep,
 * calibrate): "label  done/total  pct%  elapsed" rewritten in place with \r
 * on stderr, at most about 4 times a second, and only when stderr is a
 * terminal; nothing at all when stderr is a file or a pipe, when the
 * environment has CI set to a non-empty value other than "0"/"false", or
 * when CC_PROGRESS=0.  CC_PROGRESS=1 forces it on even without a terminal
 * (for tests).  The line is erased by cc_progress_end.
 *
 * One progress line per process (a global): begin, any number of updates,
 * end.  cc_progress_update is safe to call from several threads (a trylock
 * guards the print; a call that loses the race prints nothing) and costs a
 * relaxed atomic load when the line is off, one clock read when on.
 * Wall-clock time appears only on the terminal, never in results.
 */
#ifndef CC_PROGRESS_H
#define CC_PROGRESS_H

#include <stdint.h>

/* Starts a progress line "label" over total units (0 = unknown total). */
void cc_progress_begin(const char *label, uint64_t total);
/* done units so far (monotone; a smaller value than before is ignored). */
void cc_progress_update(uint64_t done);
/* Adds n units to the count (for worker threads each finishing some). */
void cc_progress_add(uint64_t n);
/* Erases the line. */
void cc_progress_end(void);
/* 1 when cc_progress_begin would print (stderr a terminal, not CI, ...). */
int cc_progress_enabled(void);

#endif
