/*
 * outfile.c -- atomic output files: write to a temporary sibling, rename it
 * over the destination only when everything reached the disk, remove it
 * otherwise.  A failed write never leaves a partial file, and never destroys
 * a file that was already at the destination.
 */
#include "core.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

int cc_outfile_open(cc_outfile *o, const char *path, cc_err *e)
{
    static unsigned counter;
    o->f = NULL;
    for (int attempt = 0; attempt < 100; attempt++) {
        snprintf(o->tmp, sizeof o->tmp, "%s.tmp.%ld.%u", path, (long)getpid(), counter++);
        int fd = open(o->tmp, O_WRONLY | O_CREAT | O_EXCL, 0666);
        if (fd < 0 && errno == EEXIST)
            continue;
        if (fd < 0)
            return cc_err_set(e, CC_EIO, path, 0, NULL, "cannot create: %s", strerror(errno));
        o->f = fdopen(fd, "wb");
        if (!o->f) {
            close(fd);
            unlink(o->tmp);
            return cc_err_set(e, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(errno));
        }
        return CC_OK;
    }
    return cc_err_set(e, CC_EIO, path, 0, NULL, "cannot create a temporary file beside it");
}

int cc_outfile_close(cc_outfile *o, const char *path, int rc, cc_err *e)
{
    if (!o->f)
        return rc;
    int werr = ferror(o->f);
    int cerr = fclose(o->f);
    o->f = NULL;
    if (rc == CC_OK && (werr || cerr))
        rc = cc_err_set(e, CC_EIO, path, 0, NULL, "write failed: %s",
                        strerror(errno ? errno : EIO));
    if (rc == CC_OK && rename(o->tmp, path) != 0)
        rc = cc_err_set(e, CC_EIO, path, 0, NULL,
                        "cannot rename the finished file into place: %s", strerror(errno));
    if (rc != CC_OK)
        unlink(o->tmp);
    return rc;
}
