/*
 * sem_store.h -- internal to core/: the semantic cache's persistence in
 * SQLite (sem_store.c).  Not part of the public surface; semantic_cache.c is
 * its only user.
 */
#ifndef CC_SEM_STORE_H
#define CC_SEM_STORE_H

#include "core.h"

#include <stddef.h>
#include <stdint.h>

typedef struct cc_sem_store cc_sem_store;

typedef struct cc_sem_row {
    uint64_t id;
    const char *tenant;
    int64_t created_ns, last_ns;
    uint32_t flags;
    const char *key;
    size_t key_len;
    const char *answer;
    size_t answer_len;
    const float *vec; /* dim floats */
} cc_sem_row;

/* Opens or creates path (WAL mode).  A file made for another dim/metric, or
 * one that is not a cache database, is CC_EFORMAT naming path. */
int cc_sem_store_open(const char *path, int dim, int metric, cc_sem_store **out, cc_err *err);
void cc_sem_store_close(cc_sem_store *s);
int cc_sem_store_begin(cc_sem_store *s, cc_err *err);
int cc_sem_store_commit(cc_sem_store *s, cc_err *err);
void cc_sem_store_rollback(cc_sem_store *s);
int cc_sem_store_put(cc_sem_store *s, const cc_sem_row *r, cc_err *err);
int cc_sem_store_del(cc_sem_store *s, uint64_t id, cc_err *err);
/* Calls fn for every row in id order, after checking its checksum and
 * shape (a torn or altered row: CC_EFORMAT naming the file and the id). */
int cc_sem_store_load(cc_sem_store *s, int (*fn)(void *ctx, const cc_sem_row *r, cc_err *err),
                      void *ctx, cc_err *err);

#endif
