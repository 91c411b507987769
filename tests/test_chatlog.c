/* test_chatlog.c -- the chat-completions request log reader (traces/chatlog.c):
 * hand-made logs whose expected requests are written out here (texts of the
 * chunks, kinds, sessions, turns, arrivals, output tokens from responses,
 * tenants from the model), bare bodies, a directory of one file per
 * session, detection by content, the HDF5 round trip, the counted warnings
 * and the table of bad inputs with the line and field each must name.
 * Every trace read is also checked structurally against the tokenizer and
 * cc_block_chain (chunks tile the token ids; each chunk's ids are its text's
 * tokenization; the chain is the chain of the ids). */
#include "testutil.h"
#include "traces/traces.h"

#include <sys/stat.h>

static cc_tokenizer *tk(void)
{
    static cc_tokenizer *t;
    if (!t)
        assert_int_equal(cc_tokenizer_builtin(&t), CC_OK);
    return t;
}

static uint32_t ntok(const char *s)
{
    uint32_t *ids = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(cc_tokenize(tk(), s, strlen(s), &ids, &n, &cap), CC_OK);
    free(ids);
    return (uint32_t)n;
}

static void check_structure(const cc_trace *t)
{
    cc_err e = {0};
    assert_int_equal(cc_trace_validate(t, "check", &e), CC_OK);
    uint32_t *ids = NULL;
    size_t cap = 0;
    for (size_t i = 0; i < t->n; i++) {
        cc_request r = cc_trace_get(t, i);
        uint32_t pos = 0;
        for (uint32_t c = 0; c < r.n_chunks; c++) {
            const cc_chunk *ch = &r.chunks[c];
            assert_int_equal(ch->token_start, pos);
            size_t n = 0;
            assert_int_equal(cc_tokenize(tk(), t->text + ch->text_off, ch->text_len, &ids, &n,
                                         &cap), CC_OK);
            assert_int_equal(n, ch->token_len);
            if (n)
                assert_memory_equal(ids, r.token_ids + pos, n * sizeof *ids);
            pos += ch->token_len;
        }
        assert_int_equal(pos, r.input_tokens);
        assert_int_equal(r.n_token_ids, r.input_tokens);
        uint64_t chain[256];
        size_t nb = (r.input_tokens + t->block_size - 1) / t->block_size;
        assert_true(nb <= 256);
        assert_int_equal(cc_block_chain(r.tenant, r.token_ids, r.n_token_ids, t->block_size, chain),
                         nb);
        if (nb)
            assert_memory_equal(chain, r.blocks, nb * sizeof *chain);
    }
    free(ids);
}

static void chunk_is(const cc_trace *t, const cc_request *r, uint32_t c, int kind, const char *s)
{
    assert_true(c < r->n_chunks);
    const cc_chunk *ch = &r->chunks[c];
    assert_int_equal(ch->kind, kind);
    assert_int_equal(ch->text_len, strlen(s));
    assert_memory_equal(t->text + ch->text_off, s, ch->text_len);
}

static const char *tmpfile_with(const char *name, const char *text)
{
    static char path[8][512];
    static int k;
    char *p = path[k++ % 8];
    tu_write_tmp(p, 512, name, text, strlen(text));
    return p;
}

static void read_ok(const char *path, const char *fmt, cc_trace *t)
{
    cc_err e = {0};
    if (cc_trace_read(path, fmt, NULL, t, &e) != CC_OK) {
        cc_err_print(&e, stdout);
        fail_msg("reading %s failed", path);
    }
    assert_string_equal(t->source_format, "chatlog");
    check_structure(t);
}

/* Two sessions by key, times out of file order (ISO strings, a number of
 * seconds), responses before and after their request, one unmatched, an
 * unknown role, content parts with an image, a tool call and a tool result.
 *   line 1  r1 alice 03:04:05.5  system + user           response line 2: 9 tokens
 *   line 3  r2 bob   03:04:05.0  user (two text parts)   response line 6 (before? no: after)
 *   line 4  r3 alice 03:04:07.0  5 messages, one 'critic' (left out)
 *   line 5  response 'nope' -> no request (warning)
 *   line 6  response r2: 0 completion tokens -> 1
 * Order by time: r2 (bob, turn 0), r1 (alice, turn 0), r3 (alice, turn 1). */
static const char log_a[] =
    "{\"type\": \"request\", \"request_id\": \"r1\", \"session_id\": \"alice\", \"timestamp\": \"2025-01-02T03:04:05.5Z\", \"body\": {\"model\": \"llama-3-8b\", \"messages\": [{\"role\": \"system\", \"content\": \"You are terse.\"}, {\"role\": \"user\", \"content\": \"What is a cache?\"}]}}\n"
    "{\"type\": \"response\", \"request_id\": \"r1\", \"body\": {\"id\": \"chatcmpl-1\", \"usage\": {\"prompt_tokens\": 20, \"completion_tokens\": 9}}}\n"
    "{\"type\": \"request\", \"request_id\": \"r2\", \"session_id\": \"bob\", \"timestamp\": \"2025-01-02 04:04:05+01:00\", \"body\": {\"model\": \"qwen\", \"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"Look at this\"}, {\"type\": \"image_url\", \"image_url\": {\"url\": \"x\"}}, \"and say.\"]}]}}\n"
    "{\"type\": \"request\", \"request_id\": \"r3\", \"session_id\": \"alice\", \"timestamp\": 1735787047.0, \"body\": {\"model\": \"llama-3-8b\", \"messages\": [{\"role\": \"system\", \"content\": \"You are terse.\"}, {\"role\": \"user\", \"content\": \"What is a cache?\"}, {\"role\": \"assistant\", \"content\": null, \"tool_calls\": [{\"id\": \"c1\", \"type\": \"function\", \"function\": {\"name\": \"search\", \"arguments\": \"{\\\"q\\\": 1}\"}}]}, {\"role\": \"critic\", \"content\": \"meh\"}, {\"role\": \"tool\", \"tool_call_id\": \"c1\", \"content\": \"A cache keeps results.\"}]}}\n"
    "{\"type\": \"response\", \"request_id\": \"nope\", \"usage\": {\"completion_tokens\": 3}}\n"
    "{\"type\": \"response\", \"request_id\": \"r2\", \"usage\": {\"completion_tokens\": 0}}\n";

static void test_wrapped_log(void **state)
{
    (void)state;
    const char *p = tmpfile_with("a.jsonl", log_a);
    cc_trace t;
    read_ok(p, NULL, &t); /* detected */
    assert_int_equal(t.n, 3);
    assert_true(t.timed);
    /* 2025-01-02T03:04:05Z = 1735787045 s (date -u -d 2025-01-02T03:04:05Z +%s) */
    assert_int_equal(t.epoch_ns, INT64_C(1735787045) * 1000000000);
    cc_request r2 = cc_trace_get(&t, 0), r1 = cc_trace_get(&t, 1), r3 = cc_trace_get(&t, 2);
    assert_int_equal(r2.arrival_ns, 0);
    assert_int_equal(r1.arrival_ns, 500000000);
    assert_int_equal(r3.arrival_ns, INT64_C(2000000000));
    assert_int_equal(r1.session_id, 0); /* alice seen first in the file */
    assert_int_equal(r3.session_id, 0);
    assert_int_equal(r2.session_id, 1);
    assert_int_equal(r2.turn, 0);
    assert_int_equal(r1.turn, 0);
    assert_int_equal(r3.turn, 1);
    assert_int_equal(r1.output_tokens, 9);
    assert_int_equal(r2.output_tokens, 1);   /* 0 completion tokens: at least 1 */
    assert_int_equal(r3.output_tokens, 256); /* no response: the default */
    assert_string_equal(t.tenants[r1.tenant], "llama-3-8b");
    assert_string_equal(t.tenants[r2.tenant], "qwen");
    assert_int_equal(r1.tenant, r3.tenant);

    assert_int_equal(r1.n_chunks, 2);
    chunk_is(&t, &r1, 0, CC_CHUNK_SYSTEM, "You are terse.");
    chunk_is(&t, &r1, 1, CC_CHUNK_USER, "What is a cache?");
    assert_int_equal(r2.n_chunks, 1);
    chunk_is(&t, &r2, 0, CC_CHUNK_USER, "Look at this\nand say.");
    assert_int_equal(r3.n_chunks, 4);
    chunk_is(&t, &r3, 0, CC_CHUNK_SYSTEM, "You are terse.");
    chunk_is(&t, &r3, 1, CC_CHUNK_USER, "What is a cache?");
    chunk_is(&t, &r3, 2, CC_CHUNK_ASSISTANT, "search({\"q\": 1})");
    chunk_is(&t, &r3, 3, CC_CHUNK_TOOL, "A cache keeps results.");
    assert_int_equal(r3.input_tokens, ntok("You are terse.") + ntok("What is a cache?") +
                                          ntok("search({\"q\": 1})") +
                                          ntok("A cache keeps results."));
    /* r3 repeats r1's messages: same text in the arena, same leading tokens */
    assert_int_equal(r3.chunks[0].text_off, r1.chunks[0].text_off);
    assert_memory_equal(r3.token_ids, r1.token_ids, r1.input_tokens * sizeof(uint32_t));

    /* two warnings: the 'critic' message, the response 'nope' */
    assert_int_equal(t.read_warnings, 2);
    assert_non_null(strstr(t.read_warning, ":4: field 'messages[3].role'"));
    assert_non_null(strstr(t.read_warning, "critic"));
    cc_trace_free(&t);
}

/* Bare bodies, no ids, no times, no keys: one session, file order, and the
 * "developer" and "function" roles. */
static void test_bare_bodies(void **state)
{
    (void)state;
    const char *p = tmpfile_with("b.jsonl",
        "{\"model\": \"m\", \"messages\": [{\"role\": \"developer\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi\"}]}\n"
        "{\"model\": \"m\", \"messages\": [{\"role\": \"developer\", \"content\": \"Be brief.\"}, {\"role\": \"user\", \"content\": \"Hi\"}, {\"role\": \"assistant\", \"content\": \"Hello.\", \"function_call\": {\"name\": \"f\", \"arguments\": \"{}\"}}, {\"role\": \"function\", \"name\": \"f\", \"content\": \"42\"}, {\"role\": \"user\", \"content\": \"Thanks\"}]}\n"
        "\n");
    cc_trace t;
    read_ok(p, "chatlog", &t);
    assert_int_equal(t.n, 2);
    assert_false(t.timed);
    assert_int_equal(t.read_warnings, 0);
    for (size_t i = 0; i < 2; i++) {
        cc_request r = cc_trace_get(&t, i);
        assert_int_equal(r.session_id, 0);
        assert_int_equal(r.turn, i);
        assert_int_equal(r.arrival_ns, 0);
        assert_int_equal(r.output_tokens, 256);
    }
    cc_request r = cc_trace_get(&t, 1);
    assert_int_equal(r.n_chunks, 5);
    chunk_is(&t, &r, 0, CC_CHUNK_SYSTEM, "Be brief.");
    chunk_is(&t, &r, 2, CC_CHUNK_ASSISTANT, "Hello.\nf({})");
    chunk_is(&t, &r, 3, CC_CHUNK_TOOL, "42");
    chunk_is(&t, &r, 4, CC_CHUNK_USER, "Thanks");
    /* the second request's chain starts with the first one's full blocks */
    cc_request r0 = cc_trace_get(&t, 0);
    for (uint32_t j = 0; j < r0.input_tokens / t.block_size; j++)
        assert_true(r.blocks[j] == r0.blocks[j]);
    cc_trace_free(&t);
}

/* A directory, one file per session (no keys), times interleaved across the
 * files: requests come out in time order, each file its own session. */
static void test_directory(void **state)
{
    (void)state;
    char dir[512];
    tu_tmp_path(dir, sizeof dir, "logdir");
    mkdir(dir, 0755);
    char p[600];
    snprintf(p, sizeof p, "%s/s1.jsonl", dir);
    FILE *f = fopen(p, "w");
    fputs("{\"type\": \"request\", \"timestamp_ms\": 1000, \"body\": {\"messages\": [{\"role\": \"user\", \"content\": \"one\"}]}}\n"
          "{\"type\": \"request\", \"timestamp_ms\": 3000, \"body\": {\"messages\": [{\"role\": \"user\", \"content\": \"one\"}, {\"role\": \"user\", \"content\": \"three\"}]}}\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/s2.jsonl", dir);
    f = fopen(p, "w");
    fputs("{\"type\": \"request\", \"timestamp_ms\": 2000, \"body\": {\"messages\": [{\"role\": \"user\", \"content\": \"two\"}]}}\n", f);
    fclose(f);
    snprintf(p, sizeof p, "%s/.hidden", dir); /* dot files are not logs */
    f = fopen(p, "w");
    fputs("garbage\n", f);
    fclose(f);

    cc_err e = {0};
    const cc_format *fmt = cc_format_detect(dir, &e);
    assert_non_null(fmt);
    assert_string_equal(fmt->name, "chatlog");
    cc_trace t;
    read_ok(dir, NULL, &t);
    assert_int_equal(t.n, 3);
    int64_t want_arr[3] = {0, 1000000000, 2000000000};
    uint64_t want_sess[3] = {0, 1, 0};
    uint32_t want_turn[3] = {0, 0, 1};
    for (size_t i = 0; i < 3; i++) {
        cc_request r = cc_trace_get(&t, i);
        assert_int_equal(r.arrival_ns, want_arr[i]);
        assert_int_equal(r.session_id, want_sess[i]);
        assert_int_equal(r.turn, want_turn[i]);
    }
    assert_int_equal(t.epoch_ns, 1000000000);
    cc_request r = cc_trace_get(&t, 1);
    chunk_is(&t, &r, 0, CC_CHUNK_USER, "two");
    cc_trace_free(&t);
    snprintf(p, sizeof p, "rm -rf '%s'", dir);
    assert_int_equal(system(p), 0);
}

/* Written to HDF5 and read back: the same columns and chunks. */
static void test_h5_round_trip(void **state)
{
    (void)state;
    const char *p = tmpfile_with("rt.jsonl", log_a);
    cc_trace a, b;
    read_ok(p, "chatlog", &a);
    char h5[512];
    tu_tmp_path(h5, sizeof h5, "rt.h5");
    cc_err e = {0};
    assert_int_equal(cc_trace_write(&a, h5, "h5", &e), CC_OK);
    assert_int_equal(cc_trace_read(h5, NULL, NULL, &b, &e), CC_OK);
    assert_int_equal(b.n, a.n);
    assert_int_equal(b.epoch_ns, a.epoch_ns);
    for (size_t i = 0; i < a.n; i++) {
        cc_request x = cc_trace_get(&a, i), y = cc_trace_get(&b, i);
        assert_int_equal(x.arrival_ns, y.arrival_ns);
        assert_int_equal(x.session_id, y.session_id);
        assert_int_equal(x.turn, y.turn);
        assert_int_equal(x.output_tokens, y.output_tokens);
        assert_string_equal(a.tenants[x.tenant], b.tenants[y.tenant]);
        assert_int_equal(x.n_chunks, y.n_chunks);
        for (uint32_t c = 0; c < x.n_chunks; c++) {
            assert_int_equal(x.chunks[c].kind, y.chunks[c].kind);
            assert_true(x.chunks[c].chunk_hash == y.chunks[c].chunk_hash);
            assert_memory_equal(a.text + x.chunks[c].text_off, b.text + y.chunks[c].text_off,
                                x.chunks[c].text_len);
        }
        assert_memory_equal(x.token_ids, y.token_ids, x.n_token_ids * sizeof(uint32_t));
    }
    cc_trace_free(&a);
    cc_trace_free(&b);
    unlink(h5);
}

/* The chatlog detector claims none of the shared datasets, and no other
 * detector claims a chat log. */
static void test_detection(void **state)
{
    (void)state;
    static const char *const rel[] = {
        "prompts/ShareGPT_V3_filtered_1000.json", "prompts/mt_bench_question.jsonl",
        "prompts/arena-hard-v0.1_question.jsonl", "qqp/similiar_qqp_full.json",
        "rag/musique_s.json", "mooncake/conversation_trace.jsonl",
        "azure/AzureLLMInferenceTrace_conv.csv",
    };
    for (size_t i = 0; i < sizeof rel / sizeof rel[0]; i++) {
        char path[1024];
        tu_data_path(path, sizeof path, rel[i]);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        unsigned char head[4096];
        size_t n = fread(head, 1, sizeof head, f);
        fclose(f);
        assert_int_equal(cc_detect_chatlog(path, head, n), 0);
    }
    const char *heads[] = {
        log_a,
        "{\"model\": \"m\", \"messages\": [{\"role\": \"user\", \"content\": \"x\"}]}\n",
        "{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\", \"text\": \"prompt\"}]}]}\n",
    };
    for (size_t i = 0; i < sizeof heads / sizeof heads[0]; i++) {
        const char *p = tmpfile_with("det.jsonl", heads[i]);
        cc_err e = {0};
        const cc_format *fmt = cc_format_detect(p, &e);
        assert_non_null(fmt);
        assert_string_equal(fmt->name, "chatlog");
    }
}

/* ---- bad inputs ---------------------------------------------------------------- */

#define OK1 "{\"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}"
#define W(body) "{\"type\": \"request\", \"request_id\": \"x\", " body "}"
typedef struct bad_case {
    const char *what, *data;
    size_t len;
    int code;
    long line;
    const char *field;
} bad_case;
#define BAD(what, data, code, line, field) {what, data, sizeof(data) - 1, code, line, field}

static const bad_case bad_cases[] = {
    BAD("a line that is not JSON", OK1 "\nnot json\n", CC_EFORMAT, 2, "record"),
    BAD("truncated last line", OK1 "\n{\"messages\": [{\"role\": \"user\", \"content\": \"h", CC_EFORMAT, 2,
     "messages[0].content"),
    BAD("a line that is an array", OK1 "\n[1]\n", CC_EFORMAT, 2, "record"),
    BAD("blank line inside", OK1 "\n\n" OK1 "\n", CC_EFORMAT, 2, "record"),
    BAD("empty file", "", CC_EFORMAT, 1, "record"),
    BAD("binary file", "\x7f" "ELF\x02\x01\x01\x00\x00", CC_EFORMAT, 1, "record"),
    BAD("invalid UTF-8", OK1 "\n{\"messages\": [{\"role\": \"user\", \"content\": \"\xc3\x28\"}]}\n", CC_EFORMAT, 2,
     "messages[0].content"),
    BAD("neither request nor response", OK1 "\n{\"model\": \"m\"}\n", CC_EFORMAT, 2, "messages"),
    BAD("unknown type", OK1 "\n{\"type\": \"error\", \"body\": {}}\n", CC_EFORMAT, 2, "type"),
    BAD("type not a string", OK1 "\n{\"type\": 3}\n", CC_EFORMAT, 2, "type"),
    BAD("request without body", OK1 "\n{\"type\": \"request\"}\n", CC_EFORMAT, 2, "body"),
    BAD("messages not an array", OK1 "\n{\"messages\": {}}\n", CC_EFORMAT, 2, "messages"),
    BAD("messages empty", OK1 "\n{\"messages\": []}\n", CC_EFORMAT, 2, "messages"),
    BAD("message not an object", OK1 "\n{\"messages\": [\"hi\"]}\n", CC_EFORMAT, 2, "messages[0]"),
    BAD("message without role", OK1 "\n{\"messages\": [{\"content\": \"hi\"}]}\n", CC_EFORMAT, 2,
     "messages[0].role"),
    BAD("role not a string", OK1 "\n{\"messages\": [{\"role\": 1, \"content\": \"hi\"}]}\n", CC_EFORMAT, 2,
     "messages[0].role"),
    BAD("content a number", OK1 "\n{\"messages\": [{\"role\": \"user\", \"content\": 5}]}\n", CC_EFORMAT, 2,
     "messages[0].content"),
    BAD("part without type", OK1 "\n{\"messages\": [{\"role\": \"user\", \"content\": [{\"text\": \"a\"}]}]}\n",
     CC_EFORMAT, 2, "messages[0].content[0].type"),
    BAD("text part without text", OK1 "\n{\"messages\": [{\"role\": \"user\", \"content\": [{\"type\": \"text\"}]}]}\n",
     CC_EFORMAT, 2, "messages[0].content[0].text"),
    BAD("part a number", OK1 "\n{\"messages\": [{\"role\": \"user\", \"content\": [\"a\", 7]}]}\n", CC_EFORMAT, 2,
     "messages[0].content[1]"),
    BAD("tool_calls not an array", OK1 "\n{\"messages\": [{\"role\": \"assistant\", \"tool_calls\": {}}]}\n",
     CC_EFORMAT, 2, "messages[0].tool_calls"),
    BAD("tool call without function name",
     OK1 "\n{\"messages\": [{\"role\": \"assistant\", \"tool_calls\": [{\"function\": {\"arguments\": \"{}\"}}]}]}\n",
     CC_EFORMAT, 2, "messages[0].tool_calls[0].function.name"),
    BAD("tool call arguments not a string",
     OK1 "\n{\"messages\": [{\"role\": \"assistant\", \"tool_calls\": [{\"function\": {\"name\": \"f\", \"arguments\": {}}}]}]}\n",
     CC_EFORMAT, 2, "messages[0].tool_calls[0].function.arguments"),
    BAD("model not a string", OK1 "\n{\"model\": 3, \"messages\": [{\"role\": \"user\", \"content\": \"hi\"}]}\n",
     CC_EFORMAT, 2, "model"),
    BAD("session id an object", OK1 "\n" W("\"session_id\": {}, \"body\": " OK1) "\n", CC_EFORMAT, 2, "session_id"),
    BAD("request id a real number", OK1 "\n{\"type\": \"request\", \"request_id\": 1.5, \"body\": " OK1 "}\n",
     CC_EFORMAT, 2, "request_id"),
    BAD("request id used twice", W("\"body\": " OK1) "\n" OK1 "\n" W("\"body\": " OK1) "\n", CC_EFORMAT, 3,
     "request_id"),
    BAD("bad ISO time", W("\"timestamp\": \"2025-02-30T00:00:00Z\", \"body\": " OK1) "\n", CC_EFORMAT, 1,
     "timestamp"),
    BAD("time a boolean", W("\"timestamp\": true, \"body\": " OK1) "\n", CC_EFORMAT, 1, "timestamp"),
    BAD("negative time", W("\"timestamp_ms\": -5, \"body\": " OK1) "\n", CC_ERANGE, 1, "timestamp_ms"),
    BAD("time missing after one had it",
     W("\"timestamp\": 5, \"body\": " OK1) "\n{\"type\": \"request\", \"body\": " OK1 "}\n", CC_EFORMAT, 2,
     "timestamp"),
    BAD("time present after one had none", OK1 "\n{\"type\": \"request\", \"timestamp\": 5, \"body\": " OK1 "}\n",
     CC_EFORMAT, 2, "timestamp"),
    BAD("response without id", W("\"body\": " OK1) "\n{\"type\": \"response\", \"usage\": {}}\n", CC_EFORMAT, 2,
     "request_id"),
    BAD("usage not an object", W("\"body\": " OK1) "\n{\"type\": \"response\", \"request_id\": \"x\", \"usage\": 3}\n",
     CC_EFORMAT, 2, "usage"),
    BAD("completion tokens a string",
     W("\"body\": " OK1) "\n{\"type\": \"response\", \"request_id\": \"x\", \"usage\": {\"completion_tokens\": \"9\"}}\n",
     CC_EFORMAT, 2, "usage.completion_tokens"),
    BAD("negative prompt tokens",
     W("\"body\": " OK1) "\n{\"type\": \"response\", \"request_id\": \"x\", \"usage\": {\"prompt_tokens\": -1}}\n",
     CC_ERANGE, 2, "usage.prompt_tokens"),
    BAD("second response for one request",
     W("\"body\": " OK1) "\n{\"type\": \"response\", \"request_id\": \"x\"}\n{\"type\": \"response\", \"request_id\": \"x\"}\n",
     CC_EFORMAT, 3, "request_id"),
    BAD("only unknown roles: no request", "{\"messages\": [{\"role\": \"critic\", \"content\": \"x\"}]}\n", CC_EFORMAT,
     1, "messages"),
    BAD("only responses", "{\"type\": \"response\", \"request_id\": \"x\"}\n", CC_EFORMAT, 1, "messages"),
};

static void test_bad_inputs(void **state)
{
    (void)state;
    int failures = 0;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        char path[512], name[32];
        snprintf(name, sizeof name, "badlog_%zu.jsonl", i);
        tu_write_tmp(path, sizeof path, name, c->data, c->len);
        cc_trace t;
        cc_err e = {0};
        int rc = cc_trace_read(path, "chatlog", NULL, &t, &e);
        if (getenv("TU_VERBOSE"))
            printf("%s: %s:%ld: field %s: %s\n", c->what, e.file, e.line, e.field, e.msg);
        if (rc != c->code || e.line != c->line || strcmp(e.field, c->field) != 0 || !e.msg[0] ||
            strcmp(e.file, path) != 0) {
            printf("case %s: got %d line %ld field '%s' file '%s' (%s); expected %d line %ld "
                   "field '%s'\n", c->what, rc, e.line, e.field, e.file, e.msg, c->code, c->line,
                   c->field);
            failures++;
        }
        assert_int_equal(t.n, 0); /* nothing partial handed back */
        unlink(path);
    }
    assert_int_equal(failures, 0);
}

static void test_missing_and_empty_dir(void **state)
{
    (void)state;
    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_trace_read("/nonexistent/dir/x.jsonl", "chatlog", NULL, &t, &e), CC_EIO);
    assert_string_equal(e.file, "/nonexistent/dir/x.jsonl");
    char dir[512];
    tu_tmp_path(dir, sizeof dir, "emptydir");
    mkdir(dir, 0755);
    assert_int_equal(cc_trace_read(dir, "chatlog", NULL, &t, &e), CC_EFORMAT);
    assert_string_equal(e.file, dir);
    assert_non_null(strstr(e.msg, "no file"));
    cc_err_clear(&e);
    assert_null(cc_format_detect(dir, &e)); /* nothing to detect from */
    assert_int_equal(e.code, CC_EFORMAT);
    assert_non_null(strstr(e.msg, "directory"));
    rmdir(dir);
}

/* --tenant overrides the model names. */
static void test_tenant_option(void **state)
{
    (void)state;
    const char *p = tmpfile_with("ten.jsonl", log_a);
    cc_read_opts o = {0};
    o.tenant = "fixed@1";
    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_trace_read(p, "chatlog", &o, &t, &e), CC_OK);
    for (size_t i = 0; i < t.n; i++)
        assert_string_equal(t.tenants[t.tenant[i]], "fixed@1");
    cc_trace_free(&t);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_wrapped_log),
        cmocka_unit_test(test_bare_bodies),
        cmocka_unit_test(test_directory),
        cmocka_unit_test(test_h5_round_trip),
        cmocka_unit_test(test_detection),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_missing_and_empty_dir),
        cmocka_unit_test(test_tenant_option),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
