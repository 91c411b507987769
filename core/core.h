/*
 * core.h -- public surface of core/: the error record every fallible call
 * fills, the u64 hash map the caches and statistics share, and block hashing.
 *
 * Errors are values (SQLite style): a call that can fail returns a negative
 * CC_E* status and, when given a cc_err, fills it with where the problem is
 * (file, line or HDF5 path, field) and what was expected.  abort()/assert are
 * kept for broken internal invariants only, never for input.
 */
#ifndef CC_CORE_H
#define CC_CORE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The release version, and the one a build reports: CC_VERSION_BASE plus
 * "+GIT-DESCRIBE" when built in a git checkout (core/version.c). */
#define CC_VERSION_BASE "0.1.0"
const char *cc_version(void);
#define CC_VERSION cc_version()

/* splitmix64's finaliser: a bijective 64-bit mix, for hashing keys that are
 * often sequential ids (hash tables) and for folding seeds. */
static inline uint64_t cc_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

/* ---- status codes ------------------------------------------------------ */
enum {
    CC_OK = 0,
    CC_EIO = -1,      /* file missing, unreadable, write failed */
    CC_EFORMAT = -2,  /* malformed input: syntax, wrong type, missing field */
    CC_ERANGE = -3,   /* well-formed but absurd value (negative length, ...) */
    CC_ENOMEM = -4,   /* allocation failed */
    CC_EARG = -5,     /* bad parameter from the command line or an API caller */
    CC_EUNSUP = -6,   /* feature not available in this build or this format */
};

typedef struct cc_err {
    int code;          /* one of CC_E*, 0 when clear */
    char file[512];    /* input file, or "" */
    long line;         /* 1-based line (or record number for binary formats); 0 = n/a */
    char field[128];   /* field name, HDF5 path or option name; "" = n/a */
    char msg[512];     /* what was found and what was expected */
} cc_err;

/* Fill *e (when non-NULL) and return code, so callers can write
 *   return cc_err_set(e, CC_EFORMAT, path, line, "hash_ids", "expected ...");
 * msg is printf-style. */
int cc_err_set(cc_err *e, int code, const char *file, long line,
               const char *field, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));
void cc_err_clear(cc_err *e);
/* "file:line: field 'x': msg" (parts that are n/a are left out). */
void cc_err_print(const cc_err *e, FILE *out);
const char *cc_status_name(int code);

/* ---- u64 -> u64 hash map (open addressing, linear probing) ---------------
 * Keys are arbitrary 64-bit values (block hashes, object ids); one key value
 * (CC_U64MAP_EMPTY) is reserved and stored out of line so every key works.
 * Memory: 16 bytes per slot, load factor <= 0.5 => <= 32 bytes per entry
 * right after growth.  Lookups and inserts are O(1) expected; the table
 * doubles when half full.  Deletion uses backward-shift (no tombstones), so
 * long runs of insert/delete do not degrade probing. */
#define CC_U64MAP_EMPTY UINT64_MAX
typedef struct cc_u64map {
    uint64_t *keys;
    uint64_t *vals;
    size_t cap;       /* power of two */
    size_t count;     /* entries, including the out-of-line one */
    int has_empty_key;
    uint64_t empty_key_val;
} cc_u64map;

int cc_u64map_init(cc_u64map *m, size_t expected);
void cc_u64map_free(cc_u64map *m);
void cc_u64map_clear(cc_u64map *m);
/* Returns a pointer to the value of key, or NULL. Valid until next insert. */
uint64_t *cc_u64map_get(const cc_u64map *m, uint64_t key);
/* Inserts key (value val) if absent. *slot gets the value pointer.
 * Returns 1 if inserted, 0 if it existed, CC_ENOMEM on failure. */
int cc_u64map_put(cc_u64map *m, uint64_t key, uint64_t val, uint64_t **slot);
/* Returns 1 if removed, 0 if absent. */
int cc_u64map_del(cc_u64map *m, uint64_t key);
/* A hint: starts loading the slot where key lives or would go, for a lookup
 * some accesses later (streams known ahead).  No effect on any result. */
void cc_u64map_prefetch(const cc_u64map *m, uint64_t key);

/* ---- block hashing --------------------------------------------------------
 * A block's hash names the whole prefix up to and including it (as Mooncake's
 * hash_ids and vLLM's block hashes do): h_i = XXH3_64(parent h_{i-1}, tenant,
 * tokens of block i), h_{-1} = a tenant-independent root.  Equal hashes mean
 * equal prefixes under the same tenant.  The last block may be partial (the
 * Mooncake convention: ceil(input_tokens / block_size) blocks per request);
 * a partial block hashes differently from any full block it is a prefix of. */
uint64_t cc_block_hash(uint64_t parent, uint32_t tenant, const uint32_t *tokens,
                       size_t n_tokens);
#define CC_BLOCK_HASH_ROOT UINT64_C(0x6363616368650001) /* "ccache\0\1" */
/* Hashes tokens[0..n) in blocks of block_size into out (must hold
 * ceil(n/block_size) entries). Returns the number of blocks written. */
size_t cc_block_chain(uint32_t tenant, const uint32_t *tokens, size_t n_tokens,
                      uint32_t block_size, uint64_t *out);
/* 64-bit hash of bytes (XXH3), for text chunks and names. */
uint64_t cc_hash_bytes(const void *data, size_t len, uint64_t seed);

/* ---- atomic output files ---------------------------------------------------
 * Every writer of a result or trace file goes through this: the data goes to
 * a temporary sibling of path, renamed over path only on success. */
/* The temporary of PATH is PATH.tmp, or PATH.tmp.1 ... PATH.tmp.7 while
 * other live runs hold the first ones: a writer holds an open-file-description
 * lock on its temporary until it is renamed or removed, so a later run tells a
 * temporary left by a killed run (unlocked) from a live one, and reuses or
 * removes it.  A claimed temporary is registered so that cc_tmpout_remove_all
 * (async-signal-safe: the CLI's SIGINT/SIGTERM handler calls it) removes it. */
typedef struct cc_tmpout {
    char path[4096 + 32];
    int lock_fd; /* -1 when nothing is claimed */
    int slot;    /* in the signal handler's table */
} cc_tmpout;
/* Creates (or takes over and truncates) PATH's temporary; t->path names it. */
int cc_tmpout_claim(cc_tmpout *t, const char *path, cc_err *e);
/* Unregisters and unlocks; unlinks the temporary first when remove_file. */
void cc_tmpout_release(cc_tmpout *t, int remove_file);
/* Unlinks every claimed temporary; only async-signal-safe calls. */
void cc_tmpout_remove_all(void);

typedef struct cc_outfile {
    FILE *f; /* write here between open and close */
    cc_tmpout tmp;
} cc_outfile;
int cc_outfile_open(cc_outfile *o, const char *path, cc_err *e);
/* Pass the status of the writing so far as rc: on CC_OK the file is flushed
 * and renamed into place, otherwise (or if that fails) the temporary is
 * removed.  Returns the final status. */
int cc_outfile_close(cc_outfile *o, const char *path, int rc, cc_err *e);

/* ---- small shared helpers ---------------------------------------------- */
/* Grow *buf (element size elem) so that it holds at least need elements;
 * capacity doubles. Returns CC_OK or CC_ENOMEM. */
int cc_grow(void **buf, size_t *cap, size_t need, size_t elem);

#endif
