/*
 * sem_store.c -- persistence of the semantic cache in SQLite, the embedded
 * default (as CodeFuse-ModelCache offers).
 *
 * Schema (one file):
 *   meta(key TEXT PRIMARY KEY, value TEXT)   format, dim, metric
 *   entries(id INTEGER PRIMARY KEY, tenant TEXT, created_ns, last_ns, flags,
 *           key BLOB, answer BLOB, vec BLOB, checksum INTEGER)
 * The vector is a BLOB beside its answer in the same row (dim little-endian
 * floats), so an entry is written by one statement and is either wholly in
 * the file or not at all; the checksum (XXH3 over id, tenant, key, answer
 * and vector) catches rows altered outside SQLite.
 *
 * Durability: WAL journal with synchronous=NORMAL.  Every insert (with the
 * evictions it causes) is one transaction; once COMMIT returns, the entry
 * survives the writer being killed (SIGKILL: the WAL is in the OS's page
 * cache and is replayed at the next open); a transaction cut short leaves
 * nothing.  A power loss may lose the last commits (synchronous=FULL would
 * keep them at one fsync per insert).  A hit's sliding-TTL refresh is not
 * written (that would make every query a write): after a restart an entry's
 * time counts from its last write.
 *
 * Costs: one prepared statement per operation, reused; insert = one row
 * write (O(log n) B-tree), load = one scan in id order.
 */
#include "sem_store.h"

#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

#define CC_SEM_STORE_FORMAT "ctxcache-semantic-1"

struct cc_sem_store {
    sqlite3 *db;
    char path[512];
    int dim;
    sqlite3_stmt *put, *del, *begin, *commit, *rollback;
};

static int db_fail(cc_sem_store *s, cc_err *err, const char *field, const char *what)
{
    const char *m = s->db ? sqlite3_errmsg(s->db) : "cannot open";
    int code = s->db ? sqlite3_errcode(s->db) : SQLITE_CANTOPEN;
    int cc = (code == SQLITE_NOTADB || code == SQLITE_CORRUPT) ? CC_EFORMAT : CC_EIO;
    return cc_err_set(err, cc, s->path, 0, field, "%s: %s%s", what, m,
                      cc == CC_EFORMAT ? " (not a ctxcache semantic cache database, or damaged)"
                                       : "");
}

static int exec(cc_sem_store *s, const char *sql, cc_err *err)
{
    if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return db_fail(s, err, NULL, sql);
    return CC_OK;
}

static uint64_t row_checksum(const cc_sem_row *r, int dim)
{
    uint64_t h = cc_hash_bytes(&r->id, sizeof r->id, 0x73656d);
    h = cc_hash_bytes(r->tenant, strlen(r->tenant), h);
    h = cc_hash_bytes(r->key, r->key_len, h);
    h = cc_hash_bytes(r->answer, r->answer_len, h);
    return cc_hash_bytes(r->vec, sizeof(float) * (size_t)dim, h);
}

/* Reads meta key into buf ("" when absent). */
static int meta_get(cc_sem_store *s, const char *key, char *buf, size_t cap, cc_err *err)
{
    sqlite3_stmt *st;
    buf[0] = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL))
        return db_fail(s, err, "meta", "reading the meta table");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const unsigned char *v = sqlite3_column_text(st, 0);
        snprintf(buf, cap, "%s", v ? (const char *)v : "");
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE)
        return db_fail(s, err, "meta", "reading the meta table");
    return CC_OK;
}

static int meta_put(cc_sem_store *s, const char *key, const char *value, cc_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db, "INSERT INTO meta(key, value) VALUES (?1, ?2)", -1, &st, NULL))
        return db_fail(s, err, "meta", "writing the meta table");
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, value, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, err, "meta", "writing the meta table");
    return CC_OK;
}

void cc_sem_store_close(cc_sem_store *s)
{
    if (!s)
        return;
    sqlite3_finalize(s->put);
    sqlite3_finalize(s->del);
    sqlite3_finalize(s->begin);
    sqlite3_finalize(s->commit);
    sqlite3_finalize(s->rollback);
    sqlite3_close(s->db);
    free(s);
}

int cc_sem_store_open(const char *path, int dim, int metric, cc_sem_store **out, cc_err *err)
{
    *out = NULL;
    cc_sem_store *s = calloc(1, sizeof *s);
    if (!s)
        return cc_err_set(err, CC_ENOMEM, path, 0, NULL, "out of memory");
    snprintf(s->path, sizeof s->path, "%s", path);
    s->dim = dim;
    int rc;
    if (sqlite3_open_v2(path, &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                          SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        rc = db_fail(s, err, NULL, "cannot open");
        goto fail;
    }
    sqlite3_busy_timeout(s->db, 5000);
    if ((rc = exec(s, "PRAGMA journal_mode=WAL", err)) ||
        (rc = exec(s, "PRAGMA synchronous=NORMAL", err)) ||
        (rc = exec(s, "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT)", err)) ||
        (rc = exec(s, "CREATE TABLE IF NOT EXISTS entries(id INTEGER PRIMARY KEY, tenant TEXT "
                      "NOT NULL, created_ns INTEGER, last_ns INTEGER, flags INTEGER, key BLOB, "
                      "answer BLOB, vec BLOB, checksum INTEGER)", err)))
        goto fail;
    char fmt[64], sdim[32], smetric[32], want_dim[32];
    const char *want_metric = metric ? "l2" : "cosine";
    snprintf(want_dim, sizeof want_dim, "%d", dim);
    if ((rc = meta_get(s, "format", fmt, sizeof fmt, err)))
        goto fail;
    if (!fmt[0]) {
        if ((rc = meta_put(s, "format", CC_SEM_STORE_FORMAT, err)) ||
            (rc = meta_put(s, "dim", want_dim, err)) ||
            (rc = meta_put(s, "metric", want_metric, err)))
            goto fail;
    } else {
        if (strcmp(fmt, CC_SEM_STORE_FORMAT)) {
            rc = cc_err_set(err, CC_EFORMAT, path, 0, "meta.format", "'%s'; expected '%s'", fmt,
                            CC_SEM_STORE_FORMAT);
            goto fail;
        }
        if ((rc = meta_get(s, "dim", sdim, sizeof sdim, err)) ||
            (rc = meta_get(s, "metric", smetric, sizeof smetric, err)))
            goto fail;
        if (strcmp(sdim, want_dim)) {
            rc = cc_err_set(err, CC_EFORMAT, path, 0, "meta.dim",
                            "the cache holds vectors of dimension %s; the embedder gives %d",
                            sdim, dim);
            goto fail;
        }
        if (strcmp(smetric, want_metric)) {
            rc = cc_err_set(err, CC_EFORMAT, path, 0, "meta.metric",
                            "the cache was made with metric %s; asked for %s", smetric,
                            want_metric);
            goto fail;
        }
    }
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO entries(id, tenant, created_ns, last_ns, flags, key, "
                           "answer, vec, checksum) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9)",
                           -1, &s->put, NULL) ||
        sqlite3_prepare_v2(s->db, "DELETE FROM entries WHERE id = ?1", -1, &s->del, NULL) ||
        sqlite3_prepare_v2(s->db, "BEGIN IMMEDIATE", -1, &s->begin, NULL) ||
        sqlite3_prepare_v2(s->db, "COMMIT", -1, &s->commit, NULL) ||
        sqlite3_prepare_v2(s->db, "ROLLBACK", -1, &s->rollback, NULL)) {
        rc = db_fail(s, err, NULL, "preparing statements");
        goto fail;
    }
    *out = s;
    return CC_OK;
fail:
    cc_sem_store_close(s);
    return rc;
}

static int step_reset(cc_sem_store *s, sqlite3_stmt *st, cc_err *err, const char *what)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE)
        return db_fail(s, err, NULL, what);
    return CC_OK;
}

int cc_sem_store_begin(cc_sem_store *s, cc_err *err)
{
    return step_reset(s, s->begin, err, "BEGIN");
}
int cc_sem_store_commit(cc_sem_store *s, cc_err *err)
{
    return step_reset(s, s->commit, err, "COMMIT");
}
void cc_sem_store_rollback(cc_sem_store *s)
{
    sqlite3_step(s->rollback);
    sqlite3_reset(s->rollback);
}

int cc_sem_store_put(cc_sem_store *s, const cc_sem_row *r, cc_err *err)
{
    sqlite3_stmt *st = s->put;
    sqlite3_bind_int64(st, 1, (sqlite3_int64)r->id);
    sqlite3_bind_text(st, 2, r->tenant, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, r->created_ns);
    sqlite3_bind_int64(st, 4, r->last_ns);
    sqlite3_bind_int64(st, 5, r->flags);
    sqlite3_bind_blob(st, 6, r->key_len ? r->key : "", (int)r->key_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 7, r->answer_len ? r->answer : "", (int)r->answer_len, SQLITE_STATIC);
    sqlite3_bind_blob(st, 8, r->vec, (int)(sizeof(float) * (size_t)s->dim), SQLITE_STATIC);
    sqlite3_bind_int64(st, 9, (sqlite3_int64)row_checksum(r, s->dim));
    return step_reset(s, st, err, "writing an entry");
}

int cc_sem_store_del(cc_sem_store *s, uint64_t id, cc_err *err)
{
    sqlite3_bind_int64(s->del, 1, (sqlite3_int64)id);
    return step_reset(s, s->del, err, "deleting an entry");
}

int cc_sem_store_load(cc_sem_store *s, int (*fn)(void *ctx, const cc_sem_row *r, cc_err *err),
                      void *ctx, cc_err *err)
{
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT id, tenant, created_ns, last_ns, flags, key, answer, vec, "
                           "checksum FROM entries ORDER BY id",
                           -1, &st, NULL))
        return db_fail(s, err, "entries", "reading entries");
    int rc = CC_OK, sr;
    while ((sr = sqlite3_step(st)) == SQLITE_ROW) {
        cc_sem_row r;
        r.id = (uint64_t)sqlite3_column_int64(st, 0);
        const unsigned char *tn = sqlite3_column_text(st, 1);
        r.tenant = tn ? (const char *)tn : "";
        r.created_ns = sqlite3_column_int64(st, 2);
        r.last_ns = sqlite3_column_int64(st, 3);
        r.flags = (uint32_t)sqlite3_column_int64(st, 4);
        r.key = sqlite3_column_blob(st, 5);
        r.key_len = (size_t)sqlite3_column_bytes(st, 5);
        r.answer = sqlite3_column_blob(st, 6);
        r.answer_len = (size_t)sqlite3_column_bytes(st, 6);
        r.vec = sqlite3_column_blob(st, 7);
        size_t vbytes = (size_t)sqlite3_column_bytes(st, 7);
        uint64_t sum = (uint64_t)sqlite3_column_int64(st, 8);
        if (!r.key)
            r.key = "";
        if (!r.answer)
            r.answer = "";
        if (vbytes != sizeof(float) * (size_t)s->dim || !r.vec) {
            rc = cc_err_set(err, CC_EFORMAT, s->path, (long)r.id, "entries.vec",
                            "entry %llu has a vector of %zu bytes; expected %zu",
                            (unsigned long long)r.id, vbytes, sizeof(float) * (size_t)s->dim);
            break;
        }
        /* sqlite's blob may be unaligned for floats: copy out */
        float *v = malloc(vbytes);
        if (!v) {
            rc = cc_err_set(err, CC_ENOMEM, s->path, 0, NULL, "out of memory");
            break;
        }
        memcpy(v, r.vec, vbytes);
        r.vec = v;
        if (row_checksum(&r, s->dim) != sum) {
            free(v);
            rc = cc_err_set(err, CC_EFORMAT, s->path, (long)r.id, "entries.checksum",
                            "entry %llu does not match its checksum (altered or torn)",
                            (unsigned long long)r.id);
            break;
        }
        rc = fn(ctx, &r, err);
        free(v);
        if (rc)
            break;
    }
    if (!rc && sr != SQLITE_DONE)
        rc = db_fail(s, err, "entries", "reading entries");
    sqlite3_finalize(st);
    return rc;
}
