/* test_cli.c -- the command line as a user meets it: every command listed
 * by `ctxcache --help` has a --help with examples, exit codes for usage
 * errors, and trace commands on missing files. */
#include "testutil.h"

static void test_top_help_lists_commands_with_help(void **state)
{
    (void)state;
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s --help", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 0);
    char *sec = strstr(out, "commands:\n");
    assert_non_null(sec);
    int n = 0;
    for (char *line = strchr(sec, '\n') + 1; line && strncmp(line, "  ", 2) == 0;
         line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL) {
        char name[64];
        assert_int_equal(sscanf(line, " %63s", name), 1);
        char c2[1024], *o2 = NULL;
        snprintf(c2, sizeof c2, "%s %s --help", tu_bin(), name);
        int rc = tu_run(c2, &o2);
        if (rc != 0 || !strstr(o2, "usage:") || !strstr(o2, "example"))
            fail_msg("'%s' --help: exit %d, output:\n%s", name, rc, o2);
        free(o2);
        n++;
    }
    assert_true(n >= 3);
    free(out);
}

static void test_usage_errors(void **state)
{
    (void)state;
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s", tu_bin());
    assert_int_equal(tu_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "%s no-such-command", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "unknown command 'no-such-command'"));
    free(out);
    snprintf(cmd, sizeof cmd, "%s trace stats", tu_bin());
    assert_int_equal(tu_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "%s trace stats x --block-size -3", tu_bin());
    assert_int_equal(tu_run(cmd, NULL), 2);
    snprintf(cmd, sizeof cmd, "%s trace stats x --format no-such-format", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "unknown format 'no-such-format'"));
    free(out);
}

static void test_missing_and_empty_files(void **state)
{
    (void)state;
    char cmd[1024], *out = NULL;
    snprintf(cmd, sizeof cmd, "%s trace stats /nonexistent/trace.jsonl", tu_bin());
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "/nonexistent/trace.jsonl"));
    free(out);
    char path[512];
    tu_write_tmp(path, sizeof path, "empty.jsonl", "", 0);
    snprintf(cmd, sizeof cmd, "%s trace stats %s", tu_bin(), path);
    assert_int_equal(tu_run(cmd, &out), 1);
    assert_non_null(strstr(out, "empty"));
    free(out);
    /* convert must not leave an output file behind on failure */
    char dst[512];
    tu_tmp_path(dst, sizeof dst, "never.h5");
    snprintf(cmd, sizeof cmd, "%s trace convert /nonexistent/x.jsonl %s", tu_bin(), dst);
    assert_int_equal(tu_run(cmd, NULL), 1);
    assert_int_not_equal(access(dst, F_OK), 0);
    unlink(path);

    /* a writer that refuses (Azure rows carry no block hashes, a Mooncake
     * file needs them) leaves a file already at OUT untouched */
    static const char az[] = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
                             "2023-11-16 18:15:46.6805900,374,44\n";
    char src[512], keep[512];
    tu_write_tmp(src, sizeof src, "az.csv", az, sizeof az - 1);
    tu_write_tmp(keep, sizeof keep, "keep.jsonl", "keep", 4);
    snprintf(cmd, sizeof cmd, "%s trace convert %s %s", tu_bin(), src, keep);
    assert_int_equal(tu_run(cmd, &out), 2);
    assert_non_null(strstr(out, "hash"));
    free(out);
    FILE *f = fopen(keep, "rb");
    char got[16] = {0};
    assert_non_null(f);
    assert_int_equal(fread(got, 1, sizeof got, f), 4);
    fclose(f);
    assert_string_equal(got, "keep");
    unlink(src);
    unlink(keep);
}

/* --tokenizer through the command: a WordPiece vocabulary written here.
 * "Hello worlds!" -> hello | world ##s | ! = 4 tokens; "cache hits" ->
 * [UNK] (cache) | hit ##s = 3 tokens; total 7.  The built-in tokenizer is
 * used without the option, and a broken tokenizer.json is an error naming
 * the file. */
static void test_hf_tokenizer_option(void **state)
{
    (void)state;
    static const char tok[] =
        "{\"version\": \"1.0\", \"added_tokens\": [],"
        " \"normalizer\": {\"type\": \"BertNormalizer\", \"clean_text\": true,"
        "   \"handle_chinese_chars\": true, \"strip_accents\": null, \"lowercase\": true},"
        " \"pre_tokenizer\": {\"type\": \"BertPreTokenizer\"},"
        " \"model\": {\"type\": \"WordPiece\", \"unk_token\": \"[UNK]\","
        "   \"continuing_subword_prefix\": \"##\", \"max_input_chars_per_word\": 100,"
        "   \"vocab\": {\"[UNK]\": 0, \"hello\": 1, \"world\": 2, \"##s\": 3, \"!\": 4, \"hit\": 5}}}";
    static const char prompts[] =
        "{\"uid\": \"a\", \"category\": \"t\", \"cluster\": \"c\", \"prompt\": \"Hello worlds!\"}\n"
        "{\"uid\": \"b\", \"category\": \"t\", \"cluster\": \"c\", \"prompt\": \"cache hits\"}\n";
    char tp[512], pp[512], cmd[2048], *out = NULL;
    tu_write_tmp(tp, sizeof tp, "tok.json", tok, sizeof tok - 1);
    tu_write_tmp(pp, sizeof pp, "prompts.jsonl", prompts, sizeof prompts - 1);
    snprintf(cmd, sizeof cmd, "%s trace stats %s --tokenizer %s --json", tu_bin(), pp, tp);
    assert_int_equal(tu_run(cmd, &out), 0);
    assert_non_null(strstr(out, "\"input_tokens\": 7,"));
    assert_non_null(strstr(out, "\"requests\": 2,"));
    free(out);
    tu_write_tmp(tp, sizeof tp, "tok_bad.json", "{\"model\": 3}", 12);
    snprintf(cmd, sizeof cmd, "%s trace stats %s --tokenizer %s", tu_bin(), pp, tp);
    int rc = tu_run(cmd, &out);
    assert_int_not_equal(rc, 0);
    assert_non_null(strstr(out, tp));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_top_help_lists_commands_with_help),
        cmocka_unit_test(test_usage_errors),
        cmocka_unit_test(test_missing_and_empty_files),
        cmocka_unit_test(test_hf_tokenizer_option),
    };
    return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
