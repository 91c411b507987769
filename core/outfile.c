/*
 * outfile.c -- atomic output files: write to a temporary sibling, rename it
 * over the destination only when everything reached the disk, remove it
 * otherwise.  A failed write never leaves a partial file, and never destroys
 * a file that was already at the destination.  Temporaries are named after
 * the destination and locked while written (core.h, cc_tmpout): SIGINT and
 * SIGTERM remove them (the CLI's handler), and a run killed outright leaves
 * one that the next run writing the same file reuses or removes.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- temporaries ------------------------------------------------------------
 * The table of claimed temporaries is the one piece of process-wide mutable
 * state: a signal handler can reach nothing else.  A slot goes 0 (free) ->
 * 1 (being filled, by CAS) -> 2 (path valid: the handler may unlink it) -> 0.
 * 32 slots: a run writes a few files at a time. */
enum { TMP_SLOTS = 32, TMP_NAMES = 8 };
static struct {
    volatile sig_atomic_t state;
    char path[sizeof ((cc_tmpout *)0)->path];
} tmp_table[TMP_SLOTS];

void cc_tmpout_remove_all(void)
{
    for (int i = 0; i < TMP_SLOTS; i++)
        if (tmp_table[i].state == 2)
            unlink(tmp_table[i].path);
}

static int tmp_register(const char *path)
{
    for (int i = 0; i < TMP_SLOTS; i++) {
        sig_atomic_t free_state = 0;
        if (__atomic_compare_exchange_n(&tmp_table[i].state, &free_state, 1, 0,
                                        __ATOMIC_ACQ_REL, __ATOMIC_RELAXED)) {
            snprintf(tmp_table[i].path, sizeof tmp_table[i].path, "%s", path);
            __atomic_store_n(&tmp_table[i].state, 2, __ATOMIC_RELEASE);
            return i;
        }
    }
    return -1; /* more than TMP_SLOTS at once: written, but not removed on a signal */
}

static void tmp_name(char *out, size_t len, const char *path, int k)
{
    if (k == 0)
        snprintf(out, len, "%s.tmp", path);
    else
        snprintf(out, len, "%s.tmp.%d", path, k);
}

/* Locks fd's whole file for writing (an OFD lock: owned by this open file
 * description, so it neither conflicts with nor is dropped by other
 * descriptors of this process, HDF5's among them).  0 on success. */
static int lock_fd(int fd)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    return fcntl(fd, F_OFD_SETLK, &fl);
}

/* Whether fd is still the file at name (not unlinked by a cleaner between
 * our open and our lock). */
static int same_file(int fd, const char *name)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && stat(name, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

int cc_tmpout_claim(cc_tmpout *t, const char *path, cc_err *e)
{
    t->lock_fd = -1;
    t->slot = -1;
    if (strlen(path) + 8 >= sizeof t->path)
        return cc_err_set(e, CC_EARG, path, 0, NULL, "output path too long");
    /* no SIGINT/SIGTERM between creating the file and registering it */
    sigset_t block, old;
    sigemptyset(&block);
    sigaddset(&block, SIGINT);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &block, &old);
    int mine = -1, rc = CC_OK;
    for (int k = 0; k < TMP_NAMES && mine < 0 && rc == CC_OK; k++) {
        for (int again = 0; again < 4; again++) {
            tmp_name(t->path, sizeof t->path, path, k);
            int fd = open(t->path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
            if (fd < 0) {
                rc = cc_err_set(e, CC_EIO, path, 0, NULL, "cannot create %s: %s", t->path,
                                strerror(errno));
                break;
            }
            if (lock_fd(fd) != 0) { /* a live run writes this one */
                close(fd);
                break;
            }
            if (!same_file(fd, t->path)) { /* removed as litter meanwhile */
                close(fd);
                continue;
            }
            if (ftruncate(fd, 0) != 0) {
                rc = cc_err_set(e, CC_EIO, path, 0, NULL, "cannot truncate %s: %s", t->path,
                                strerror(errno));
                close(fd);
                break;
            }
            t->lock_fd = fd;
            mine = k;
            break;
        }
    }
    if (mine >= 0)
        t->slot = tmp_register(t->path);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != CC_OK)
        return rc;
    if (mine < 0)
        return cc_err_set(e, CC_EIO, path, 0, NULL,
                          "%d other runs are writing it now (%s.tmp*)", TMP_NAMES, path);
    /* litter of killed runs: the other unlocked temporaries */
    for (int k = 0; k < TMP_NAMES; k++) {
        char other[sizeof t->path];
        if (k == mine)
            continue;
        tmp_name(other, sizeof other, path, k);
        int fd = open(other, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            continue;
        if (lock_fd(fd) == 0 && same_file(fd, other))
            unlink(other);
        close(fd);
    }
    return CC_OK;
}

void cc_tmpout_release(cc_tmpout *t, int remove_file)
{
    if (t->lock_fd < 0)
        return;
    if (remove_file)
        unlink(t->path);
    if (t->slot >= 0)
        __atomic_store_n(&tmp_table[t->slot].state, 0, __ATOMIC_RELEASE);
    close(t->lock_fd); /* unlocks */
    t->lock_fd = -1;
    t->slot = -1;
}

/* ---- atomic output files ------------------------------------------------- */

int cc_outfile_open(cc_outfile *o, const char *path, cc_err *e)
{
    o->f = NULL;
    int rc = cc_tmpout_claim(&o->tmp, path, e);
    if (rc != CC_OK)
        return rc;
    /* a second descriptor of the same description: fclose leaves the lock */
    int fd = dup(o->tmp.lock_fd);
    o->f = fd >= 0 ? fdopen(fd, "wb") : NULL;
    if (!o->f) {
        int er = errno;
        if (fd >= 0)
            close(fd);
        cc_tmpout_release(&o->tmp, 1);
        return cc_err_set(e, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(er));
    }
    return CC_OK;
}

int cc_outfile_close(cc_outfile *o, const char *path, int rc, cc_err *e)
{
    if (!o->f)
        return rc;
    int saved = errno;
    int werr = ferror(o->f);
    int cerr = fclose(o->f);
    o->f = NULL;
    if (rc == CC_OK && (werr || cerr))
        rc = cc_err_set(e, CC_EIO, path, 0, NULL, "write failed: %s",
                        strerror(cerr ? errno : saved ? saved : EIO));
    else if (rc != CC_OK && e && !e->code) /* a caller that saw ferror() and said no more */
        rc = cc_err_set(e, rc, path, 0, NULL, "write failed: %s",
                        strerror(cerr ? errno : saved ? saved : EIO));
    if (rc == CC_OK && rename(o->tmp.path, path) != 0)
        rc = cc_err_set(e, CC_EIO, path, 0, NULL,
                        "cannot rename the finished file into place: %s", strerror(errno));
    cc_tmpout_release(&o->tmp, rc != CC_OK);
    return rc;
}
