/* The version string this build of ctxcache reports (--version, results and
 * trace files): CC_VERSION_BASE from core/core.h, plus "+" and the output of
 * `git describe --tags --always --dirty` when the Makefile found a git
 * checkout at build time (it passes it as CC_GIT_VERSION to this one file
 * only, and rebuilds it when the value changes).  A constant per build, so
 * results stay byte-identical for the same build.  O(1). */
#include "core/core.h"

#ifdef CC_GIT_VERSION
#define CC_VERSION_FULL CC_VERSION_BASE "+" CC_GIT_VERSION
#else
#define CC_VERSION_FULL CC_VERSION_BASE
#endif

const char *cc_version(void)
{
    return CC_VERSION_FULL;
}
