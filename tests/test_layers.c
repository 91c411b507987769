/* test_layers.c -- the layering rule of ARCHITECTURE.md: arrows point down
 * only, and core/ (the caches) never includes a header of sim/, gpu/,
 * analysis/ or cli/.  Every #include "..." line of the .c and .h files of core/ is
 * read (the tests run from the repository root) and its path split into
 * components; a component naming one of those folders is a violation.  The
 * scanner is first shown a folder of hand-written files, with the
 * violations the test knows are there, so that a scanner that finds
 * nothing cannot pass for a clean core/. */
#include "testutil.h"

#include <dirent.h>
#include <sys/stat.h>

static const char *const above_core[] = {"sim", "gpu", "analysis", "cli"};

/* 1 when the quoted include path names a folder above core/. */
static int names_upper_layer(const char *path)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *tok = strtok(buf, "/"); tok; tok = strtok(NULL, "/"))
        for (size_t k = 0; k < sizeof above_core / sizeof above_core[0]; k++)
            if (!strcmp(tok, above_core[k]))
                return 1;
    return 0;
}

/* Scans dir's *.c and *.h; prints each violation; *files gets the number
 * of files read.  Returns the number of violations. */
static int scan(const char *dir, int *files)
{
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("cannot open %s (run the tests from the repository root)", dir);
    int bad = 0;
    *files = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t len = strlen(de->d_name);
        if (len < 3 || de->d_name[len - 2] != '.' ||
            (de->d_name[len - 1] != 'c' && de->d_name[len - 1] != 'h'))
            continue;
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
        FILE *f = fopen(path, "r");
        if (!f)
            fail_msg("cannot read %s", path);
        (*files)++;
        char line[1024];
        for (int ln = 1; fgets(line, sizeof line, f); ln++) {
            const char *p = line;
            while (*p == ' ' || *p == '\t')
                p++;
            if (*p != '#')
                continue;
            p++;
            while (*p == ' ' || *p == '\t')
                p++;
            if (strncmp(p, "include", 7))
                continue;
            const char *q = strchr(p + 7, '"');
            const char *e = q ? strchr(q + 1, '"') : NULL;
            if (!e)
                continue; /* <system> headers */
            char inc[512];
            snprintf(inc, sizeof inc, "%.*s", (int)(e - q - 1), q + 1);
            if (names_upper_layer(inc)) {
                printf("  %s:%d includes \"%s\" (core/ depends on nothing above it)\n", path,
                       ln, inc);
                bad++;
            }
        }
        fclose(f);
    }
    closedir(d);
    return bad;
}

static void put(const char *dir, const char *name, const char *text)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        fail_msg("cannot create %s", path);
    fputs(text, f);
    fclose(f);
}

static void test_scanner_finds_violations(void **state)
{
    (void)state;
    char dir[512];
    tu_tmp_path(dir, sizeof dir, "layers");
    mkdir(dir, 0755);
    put(dir, "a.c",
        "#include \"core.h\"\n"
        "#include \"../sim/sim.h\"\n"            /* 1 */
        "  #  include \"../analysis/results.h\"\n" /* 2 */
        "#include <sim/sim.h>\n"                 /* system form: not ours */
        "/* #include is mentioned here */\n"
        "#include \"../traces/traces.h\"\n");
    put(dir, "b.h", "#include \"../policies/policy.h\"\n#include \"gpu/engine.h\"\n"); /* 3 */
    put(dir, "c.txt", "#include \"../cli/cli.h\"\n");  /* not a source file */
    put(dir, "d.c", "#include \"../simulate.h\"\n#include \"../cli/cli.h\"\n"); /* 4 */
    int files = 0;
    assert_int_equal(scan(dir, &files), 4);
    assert_int_equal(files, 3);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

static void test_core_includes_nothing_above(void **state)
{
    (void)state;
    int files = 0;
    int bad = scan("core", &files);
    assert_true(files >= 10); /* core/ was found and read */
    assert_int_equal(bad, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scanner_finds_violations),
        cmocka_unit_test(test_core_includes_nothing_above),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
