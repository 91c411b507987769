/*
 * fuzz_input.h -- the readers take a path, so each libFuzzer input is
 * written to one in-memory file (memfd, created once) and read back through
 * /proc/self/fd.  fuzz_input_path returns that path holding exactly data.
 */
#ifndef CC_FUZZ_INPUT_H
#define CC_FUZZ_INPUT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

static const char *fuzz_input_path(const uint8_t *data, size_t size)
{
    static int fd = -1;
    static char path[64];
    if (fd < 0) {
        fd = memfd_create("fuzz_input", 0);
        if (fd < 0)
            abort();
        snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    }
    if (ftruncate(fd, 0) != 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
        abort();
    return path;
}

#endif
