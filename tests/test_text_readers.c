/* test_text_readers.c -- the readers of text datasets (sharegpt, mtbench,
 * arena, pairs, rag): counts on the real files in shared/data against figures
 * computed independently with /usr/bin/python3 and its json module (the
 * one-liner is beside each constant), the multi-turn structure on hand-made
 * files (chunk offsets, token ranges, prefix sharing of hash chains), the
 * no-tokens mode, and the table of bad inputs every reader must reject with
 * its line and field.  Every trace read here also passes a structural check
 * against the tokenizer and cc_block_chain: each chunk's token range holds
 * exactly the tokenization of its text, and the chain is the chain of the
 * request's token ids. */
#include "testutil.h"
#include "traces/traces.h"

#define BS_DEFAULT 16

static cc_tokenizer *tk_builtin(void)
{
    static cc_tokenizer *tk;
    if (!tk)
        assert_int_equal(cc_tokenizer_builtin(&tk), CC_OK);
    return tk;
}

/* Each request: chunks tile [0, input_tokens) in order, their text lies in
 * the arena, the token ids of a chunk are the tokenization of its text, and
 * the blocks are the chain of the token ids at the trace's block size. */
static void check_structure(const cc_trace *t, int with_tokens)
{
    cc_err e = {0};
    assert_int_equal(cc_trace_validate(t, "check", &e), CC_OK);
    assert_false(t->timed);
    uint32_t *ids = NULL;
    size_t cap = 0;
    uint64_t *chain = NULL;
    size_t chain_cap = 0;
    for (size_t i = 0; i < t->n; i++) {
        cc_request r = cc_trace_get(t, i);
        assert_int_equal(r.arrival_ns, 0);
        uint32_t pos = 0;
        for (uint32_t c = 0; c < r.n_chunks; c++) {
            const cc_chunk *ch = &r.chunks[c];
            assert_int_equal(ch->token_start, pos);
            assert_true(ch->text_off + ch->text_len <= t->text_len);
            size_t n = 0;
            assert_int_equal(cc_tokenize(tk_builtin(), t->text + ch->text_off, ch->text_len, &ids,
                                         &n, &cap), CC_OK);
            assert_int_equal(n, ch->token_len);
            if (with_tokens && n)
                assert_memory_equal(ids, r.token_ids + pos, n * sizeof *ids);
            if (ch->text_len)
                assert_true(ch->chunk_hash == cc_hash_bytes(t->text + ch->text_off, ch->text_len, 0));
            pos += ch->token_len;
        }
        assert_int_equal(pos, r.input_tokens);
        assert_int_equal(r.n_token_ids, with_tokens ? r.input_tokens : 0);
        size_t nb = (r.input_tokens + t->block_size - 1) / t->block_size;
        assert_int_equal(r.n_blocks, nb);
        if (with_tokens) {
            if (nb + 1 > chain_cap) {
                chain_cap = nb + 1;
                chain = realloc(chain, chain_cap * sizeof *chain);
            }
            assert_int_equal(cc_block_chain(r.tenant, r.token_ids, r.n_token_ids, t->block_size,
                                            chain), nb);
            if (nb)
                assert_memory_equal(chain, r.blocks, nb * sizeof *chain);
        }
    }
    free(ids);
    free(chain);
}

static void read_ok(const char *path, const char *fmt, const cc_read_opts *o, cc_trace *t)
{
    cc_err e = {0};
    int rc = cc_trace_read(path, fmt, o, t, &e);
    if (rc != CC_OK) {
        cc_err_print(&e, stdout);
        fail_msg("reading %s as %s failed", path, fmt ? fmt : "(detected)");
    }
    if (fmt)
        assert_string_equal(t->source_format, fmt);
    check_structure(t, !(o && o->no_tokens));
}

static const char *detected(const char *path)
{
    cc_err e = {0};
    const cc_format *f = cc_format_detect(path, &e);
    return f ? f->name : "(none)";
}

/* n - distinct over the hashes of each request's first chunk. */
static size_t first_chunk_repeats(const cc_trace *t)
{
    cc_u64map m;
    assert_int_equal(cc_u64map_init(&m, t->n), CC_OK);
    size_t rep = 0;
    for (size_t i = 0; i < t->n; i++) {
        cc_request r = cc_trace_get(t, i);
        assert_true(r.n_chunks > 0);
        rep += cc_u64map_put(&m, r.chunks[0].chunk_hash, 0, NULL) == 0;
    }
    cc_u64map_free(&m);
    return rep;
}

/* ---- real files ------------------------------------------------------------ */

static void test_sharegpt_v3(void **state)
{
    (void)state;
    const char *p = TU_DATA_OR_SKIP("prompts/ShareGPT_V3_filtered_1000.json");
    assert_string_equal(detected(p), "sharegpt");
    cc_trace t;
    read_ok(p, NULL, NULL, &t);
    assert_string_equal(t.source_format, "sharegpt");
    /* python3 -c "import json; d=json.load(open('ShareGPT_V3_filtered_1000.json'));
     *   print(len(d), set(len(c['conversations']) for c in d), set(t['from'] for c in d
     *   for t in c['conversations']))"  -> 1000 {1} {'human'} */
    assert_int_equal(t.n, 1000);
    assert_int_equal(t.block_size, BS_DEFAULT);
    for (size_t i = 0; i < t.n; i++) {
        cc_request r = cc_trace_get(&t, i);
        assert_int_equal(r.session_id, i);
        assert_int_equal(r.turn, 0);
        assert_int_equal(r.n_chunks, 1);
        assert_int_equal(r.chunks[0].kind, CC_CHUNK_USER);
        assert_int_equal(r.output_tokens, 256); /* no answer follows: the documented default */
        assert_int_equal(r.role, CC_ROLE_QUERY);
        assert_true(r.group_id == CC_NO_GROUP);
    }
    /* v=[c['conversations'][0]['value'] for c in d]; print(len(v)-len(set(v)),
     *   sum(len(s.encode()) for s in set(v)))  -> 5 772811 */
    assert_int_equal(first_chunk_repeats(&t), 5);
    assert_int_equal(t.text_len, 772811); /* each distinct text stored once */
    cc_trace_free(&t);
}

static void test_sharegpt_sg90k(void **state)
{
    (void)state;
    const char *p = TU_DATA_OR_SKIP("prompts/sharegpt_sg90k_part1_first_sampled_sorted.json");
    assert_string_equal(detected(p), "sharegpt");
    cc_trace t;
    read_ok(p, "sharegpt", NULL, &t);
    /* d=json.load(open('sharegpt_sg90k_part1_first_sampled_sorted.json'));
     * h=[c for c in d if any(x['from']=='human' for x in c['conversations'])];
     * print(len(d), len(h))  -> 2978 2958: 20 conversations have no human turn
     * (16 system banners, 4 starting with a model answer) and yield no request */
    assert_int_equal(t.n, 2958);
    size_t prev = 0, gaps = 0;
    for (size_t i = 0; i < t.n; i++) {
        cc_request r = cc_trace_get(&t, i);
        assert_int_equal(r.turn, 0);
        assert_true(i == 0 || r.session_id > prev);
        gaps += r.session_id - (i ? prev + 1 : 0);
        prev = r.session_id;
    }
    gaps += 2978 - (prev + 1);
    assert_int_equal(gaps, 20); /* sessions are conversation positions in the file */
    /* PROVENANCE's 110 exact repeats count every record's first turn:
     * v=[c['conversations'][0]['value'] for c in d]; print(len(v)-len(set(v)))  -> 110
     * among the requests (human turns):
     * v=[c['conversations'][0]['value'] for c in h]; print(len(v)-len(set(v)),
     *   sum(len(s.encode()) for s in set(v)))  -> 96 1472777
     * (the other 14 are the 16 system banners, which have 2 distinct texts) */
    assert_int_equal(first_chunk_repeats(&t), 96);
    assert_int_equal(t.text_len, 1472777);
    cc_trace_free(&t);
}

static void test_mtbench_real(void **state)
{
    (void)state;
    const char *p = TU_DATA_OR_SKIP("prompts/mt_bench_question.jsonl");
    assert_string_equal(detected(p), "mtbench");
    cc_trace t;
    read_ok(p, "mtbench", NULL, &t);
    /* d=[json.loads(l) for l in open('mt_bench_question.jsonl')];
     * print(len(d), set(len(x['turns']) for x in d))  -> 80 {2} */
    assert_int_equal(t.n, 160);
    uint64_t user_bytes = 0, placeholder_bytes = 0;
    for (size_t q = 0; q < 80; q++) {
        cc_request r0 = cc_trace_get(&t, 2 * q), r1 = cc_trace_get(&t, 2 * q + 1);
        assert_int_equal(r0.session_id, q);
        assert_int_equal(r1.session_id, q);
        assert_int_equal(r0.turn, 0);
        assert_int_equal(r1.turn, 1);
        assert_int_equal(r0.output_tokens, 256);
        assert_int_equal(r1.output_tokens, 256);
        assert_int_equal(r0.n_chunks, 1);
        assert_int_equal(r1.n_chunks, 3);
        assert_int_equal(r1.chunks[0].kind, CC_CHUNK_USER);
        assert_int_equal(r1.chunks[1].kind, CC_CHUNK_ASSISTANT);
        assert_int_equal(r1.chunks[2].kind, CC_CHUNK_USER);
        assert_int_equal(r1.chunks[1].token_len, 256); /* placeholder = the 256-token answer */
        assert_int_equal(r1.chunks[0].text_off, r0.chunks[0].text_off); /* stored once */
        /* turn 1 extends turn 0: every full block of turn 0 is shared */
        uint32_t full = r0.input_tokens / t.block_size;
        assert_memory_equal(r0.blocks, r1.blocks, full * sizeof *r0.blocks);
        assert_memory_equal(r0.token_ids, r1.token_ids, r0.input_tokens * sizeof *r0.token_ids);
        user_bytes += r0.chunks[0].text_len + r1.chunks[0].text_len + r1.chunks[2].text_len;
        placeholder_bytes += r1.chunks[1].text_len;
        /* the placeholder names its question: no reuse across questions */
        char want[32];
        snprintf(want, sizeof want, "question %zu, turn 1", 81 + q);
        assert_non_null(memmem(t.text + r1.chunks[1].text_off, r1.chunks[1].text_len, want,
                               strlen(want)));
    }
    /* print(sum(len(t.encode())*(len(x['turns'])-k) for x in d for k,t in
     *   enumerate(x['turns'])), sum(len(s.encode()) for s in set(t for x in d
     *   for t in x['turns'])))  -> 56404 32399 */
    assert_int_equal(user_bytes, 56404);
    assert_int_equal(t.text_len, 32399 + placeholder_bytes);
    cc_trace_free(&t);
}

static void test_arena_real(void **state)
{
    (void)state;
    const char *p = TU_DATA_OR_SKIP("prompts/arena-hard-v0.1_question.jsonl");
    assert_string_equal(detected(p), "arena");
    cc_trace t;
    read_ok(p, "arena", NULL, &t);
    /* d=[json.loads(l) for l in open('arena-hard-v0.1_question.jsonl')];
     * v=[x['prompt'] for x in d]; print(len(d), len(set(v)),
     *   sum(len(s.encode()) for s in set(v)))  -> 500 500 203755 */
    assert_int_equal(t.n, 500);
    assert_int_equal(first_chunk_repeats(&t), 0);
    assert_int_equal(t.text_len, 203755);
    for (size_t i = 0; i < t.n; i++) {
        cc_request r = cc_trace_get(&t, i);
        assert_int_equal(r.session_id, i);
        assert_int_equal(r.n_chunks, 1);
        assert_int_equal(r.output_tokens, 256);
    }
    cc_trace_free(&t);
}

/* Checks the pair structure; returns how many queries share their seed's group. */
static size_t check_pairs(const cc_trace *t)
{
    assert_int_equal(t->n % 2, 0);
    size_t same = 0;
    for (size_t p = 0; p < t->n / 2; p++) {
        cc_request s = cc_trace_get(t, 2 * p), q = cc_trace_get(t, 2 * p + 1);
        assert_int_equal(s.role, CC_ROLE_SEED);
        assert_int_equal(q.role, CC_ROLE_QUERY);
        assert_int_equal(s.group_id, 2 * p);
        assert_true(q.group_id == 2 * p || q.group_id == 2 * p + 1);
        assert_int_equal(s.session_id, 2 * p);
        assert_int_equal(q.session_id, 2 * p + 1);
        assert_int_equal(s.output_tokens, 256);
        assert_int_equal(s.n_chunks, 1);
        assert_int_equal(q.n_chunks, 1);
        same += q.group_id == s.group_id;
    }
    return same;
}

static void test_pairs_real(void **state)
{
    (void)state;
    const char *p = TU_DATA_OR_SKIP("qqp/similiar_qqp_full.json");
    assert_string_equal(detected(p), "pairs");
    cc_trace t;
    read_ok(p, "pairs", NULL, &t);
    /* d=json.load(open('similiar_qqp_full.json')); s=set(x['text_a'] for x in d)|
     * set(x['text_b'] for x in d); print(len(d), sum(x['label'] for x in d),
     *   sum(len(x.encode()) for x in s))  -> 80854 30141 8333820 */
    assert_int_equal(t.n, 2 * 80854);
    assert_int_equal(check_pairs(&t), 30141);
    assert_int_equal(t.text_len, 8333820);
    cc_trace_free(&t);

    p = TU_DATA_OR_SKIP("qqp/mock_data.json");
    assert_string_equal(detected(p), "pairs");
    read_ok(p, "pairs", NULL, &t);
    /* d=json.load(open('mock_data.json')); s=set(x['origin'] for x in d)|
     * set(x['similar'] for x in d); print(len(d), sum(len(x.encode()) for x in s))
     *   -> 999 255975 */
    assert_int_equal(t.n, 2 * 999);
    assert_int_equal(check_pairs(&t), 999);
    assert_int_equal(t.text_len, 255975);
    cc_trace_free(&t);
}

static void test_rag_real(void **state)
{
    (void)state;
    const char *p = TU_DATA_OR_SKIP("rag/musique_s.json");
    assert_string_equal(detected(p), "rag");
    cc_trace t;
    read_ok(p, "rag", NULL, &t);
    /* d=json.load(open('musique_s.json')); print(len(d), set(len(x['ctxs']) for x in d)) */
    assert_int_equal(t.n, 150);
    /* every passage occurrence: (hash, request, position) */
    struct occ { uint64_t h; size_t q, pos; } *o = calloc(1500, sizeof *o);
    size_t n = 0;
    for (size_t i = 0; i < t.n; i++) {
        cc_request r = cc_trace_get(&t, i);
        assert_int_equal(r.n_chunks, 11);
        for (uint32_t c = 0; c < 10; c++) {
            assert_int_equal(r.chunks[c].kind, CC_CHUNK_PASSAGE);
            o[n++] = (struct occ){r.chunks[c].chunk_hash, i, c};
        }
        assert_int_equal(r.chunks[10].kind, CC_CHUNK_QUESTION);
        assert_true(r.output_tokens >= 1);
    }
    /* brute force over the occurrences (1500^2 comparisons) */
    size_t distinct = 0, in_several = 0, at_several_pos = 0, later = 0, later_moved = 0;
    for (size_t a = 0; a < n; a++) {
        int first = 1, other_q = 0, other_pos = 0, seen_same_pos = 0;
        for (size_t b = 0; b < n; b++) {
            if (o[b].h != o[a].h || b == a)
                continue;
            if (b < a) {
                first = 0;
                seen_same_pos |= o[b].pos == o[a].pos;
            }
            other_q |= o[b].q != o[a].q;
            other_pos |= o[b].pos != o[a].pos;
        }
        if (first) {
            distinct++;
            in_several += other_q;
            at_several_pos += other_pos;
        } else {
            later++;
            later_moved += !seen_same_pos;
        }
    }
    free(o);
    /* occ={}; [occ.setdefault(c['title']+c['text'],[]).append((i,j)) for i,x in
     *   enumerate(d) for j,c in enumerate(x['ctxs'])];
     * print(len(occ), sum(len({q for q,_ in v})>1 for v in occ.values()),
     *   sum(len({q for q,_ in v})>1 and len({p for _,p in v})>1 for v in occ.values()),
     *   sum(len(v)-1 for v in occ.values()))  -> 1255 203 184 245
     * seen={}; n=0
     * for i,x in enumerate(d):
     *   for j,c in enumerate(x['ctxs']):
     *     k=c['title']+c['text']; n+= k in seen and j not in seen[k]; seen.setdefault(k,set()).add(j)
     * print(n)  -> 214 */
    assert_int_equal(distinct, 1255);
    assert_int_equal(in_several, 203); /* PROVENANCE: 203 passages recur across questions */
    assert_int_equal(at_several_pos, 184);
    assert_int_equal(later, 245);
    assert_int_equal(later_moved, 214);
    /* t=set((c['title']+'\n'+c['text'] if c['title'] else c['text']) for x in d for c
     *   in x['ctxs'])|set(x['question'] for x in d); print(sum(len(s.encode()) for s in t))
     *   -> 3011498 */
    assert_int_equal(t.text_len, 3011498);
    cc_trace_free(&t);
}

/* On the first 4 KiB of every shared file, exactly the right text detector
 * claims it (and none claims the hash traces). */
static void test_detectors_exclusive(void **state)
{
    (void)state;
    static const struct { const char *rel, *want; } files[] = {
        {"prompts/ShareGPT_V3_filtered_1000.json", "sharegpt"},
        {"prompts/sharegpt_sg90k_part1_first_sampled_sorted.json", "sharegpt"},
        {"prompts/mt_bench_question.jsonl", "mtbench"},
        {"prompts/arena-hard-v0.1_question.jsonl", "arena"},
        {"qqp/similiar_qqp_full.json", "pairs"},
        {"qqp/mock_data.json", "pairs"},
        {"rag/musique_s.json", "rag"},
        {"mooncake/conversation_trace.jsonl", ""},
        {"azure/AzureLLMInferenceTrace_conv.csv", ""},
    };
    static const struct { const char *name; int (*fn)(const char *, const unsigned char *, size_t); } det[] = {
        {"sharegpt", cc_detect_sharegpt}, {"mtbench", cc_detect_mtbench}, {"arena", cc_detect_arena},
        {"pairs", cc_detect_pairs}, {"rag", cc_detect_rag},
    };
    int checked = 0;
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[1024];
        tu_data_path(path, sizeof path, files[i].rel);
        FILE *f = fopen(path, "rb");
        if (!f)
            continue;
        unsigned char head[4096];
        size_t n = fread(head, 1, sizeof head, f);
        fclose(f);
        for (size_t d = 0; d < sizeof det / sizeof det[0]; d++) {
            int score = det[d].fn(path, head, n);
            if (strcmp(det[d].name, files[i].want) == 0)
                assert_true(score > 0);
            else if (score != 0)
                fail_msg("%s: detector %s scores %d", files[i].rel, det[d].name, score);
        }
        checked++;
    }
    if (!checked) {
        printf("skipped: shared data not present\n");
        skip();
    }
}

/* ---- hand-made files ---------------------------------------------------------- */

/* Conversation 0: system, human, gpt, human, gpt, human (3 requests);
 * conversation 1: a model answer only (no request);
 * conversation 2: user/ChatGPT synonyms and an answer that repeats text from
 * conversation 0 (stored once). */
static const char sharegpt_tiny[] =
    "[\n"
    "  {\"id\": \"a\", \"conversations\": [\n"
    "    {\"from\": \"system\", \"value\": \"You are terse.\"},\n"
    "    {\"from\": \"human\", \"value\": \"What is a cache?\"},\n"
    "    {\"from\": \"gpt\", \"value\": \"A store of recent results, kept close.\"},\n"
    "    {\"from\": \"human\", \"value\": \"And a prefix cache?\"},\n"
    "    {\"from\": \"gpt\", \"value\": \"One keyed by token prefixes.\"},\n"
    "    {\"from\": \"human\", \"value\": \"Thanks!\"}]},\n"
    "  {\"id\": \"b\", \"conversations\": [{\"from\": \"gpt\", \"value\": \"Hello.\"}]},\n"
    "  {\"id\": \"c\", \"conversations\": [\n"
    "    {\"from\": \"User\", \"value\": \"What is a cache?\"},\n"
    "    {\"from\": \"chatgpt\", \"value\": \"Hello.\"}]}\n"
    "]\n";

static uint32_t ntok(const char *s)
{
    uint32_t *ids = NULL;
    size_t n = 0, cap = 0;
    assert_int_equal(cc_tokenize(tk_builtin(), s, strlen(s), &ids, &n, &cap), CC_OK);
    free(ids);
    return (uint32_t)n;
}

static void assert_chunk_text(const cc_trace *t, const cc_chunk *c, const char *s)
{
    assert_int_equal(c->text_len, strlen(s));
    assert_memory_equal(t->text + c->text_off, s, c->text_len);
}

static void test_sharegpt_multiturn(void **state)
{
    (void)state;
    char path[512];
    tu_write_tmp(path, sizeof path, "sg_tiny.json", sharegpt_tiny, sizeof sharegpt_tiny - 1);
    assert_string_equal(detected(path), "sharegpt");
    cc_read_opts o = {0};
    o.block_size = 4;
    cc_trace t;
    read_ok(path, "sharegpt", &o, &t);
    assert_int_equal(t.block_size, 4);
    assert_int_equal(t.n, 4);
    const char *txt[] = {"You are terse.", "What is a cache?", "A store of recent results, kept close.",
                         "And a prefix cache?", "One keyed by token prefixes.", "Thanks!"};
    const int kind[] = {CC_CHUNK_SYSTEM, CC_CHUNK_USER, CC_CHUNK_ASSISTANT, CC_CHUNK_USER,
                        CC_CHUNK_ASSISTANT, CC_CHUNK_USER};
    const uint32_t out[] = {ntok(txt[2]), ntok(txt[4]), 256}; /* last: no answer, default 256 */
    for (uint32_t k = 0; k < 3; k++) {
        cc_request r = cc_trace_get(&t, k);
        assert_int_equal(r.session_id, 0);
        assert_int_equal(r.turn, k);
        assert_int_equal(r.n_chunks, 2 * k + 2);
        assert_int_equal(r.output_tokens, out[k]);
        uint32_t start = 0;
        for (uint32_t c = 0; c < r.n_chunks; c++) {
            assert_int_equal(r.chunks[c].kind, kind[c]);
            assert_chunk_text(&t, &r.chunks[c], txt[c]);
            assert_int_equal(r.chunks[c].token_start, start);
            assert_int_equal(r.chunks[c].token_len, ntok(txt[c]));
            start += ntok(txt[c]);
        }
        assert_int_equal(r.input_tokens, start);
        if (k) {
            /* the earlier turn's chunks point at the same arena text, and the
             * chain starts with all its full blocks */
            cc_request p = cc_trace_get(&t, k - 1);
            for (uint32_t c = 0; c < p.n_chunks; c++)
                assert_int_equal(r.chunks[c].text_off, p.chunks[c].text_off);
            uint32_t full = p.input_tokens / 4;
            assert_true(full >= 1);
            assert_memory_equal(p.blocks, r.blocks, full * sizeof *p.blocks);
            if (p.input_tokens % 4) /* a partial block differs from the full one */
                assert_true(p.blocks[full] != r.blocks[full]);
        }
    }
    cc_request c2 = cc_trace_get(&t, 3);
    assert_int_equal(c2.session_id, 2);
    assert_int_equal(c2.turn, 0);
    assert_int_equal(c2.n_chunks, 1);
    assert_int_equal(c2.chunks[0].kind, CC_CHUNK_USER);
    assert_int_equal(c2.output_tokens, ntok("Hello."));
    cc_request r0 = cc_trace_get(&t, 0);
    assert_int_equal(c2.chunks[0].text_off, r0.chunks[1].text_off); /* same text, one copy */
    assert_int_equal(c2.chunks[0].chunk_hash, r0.chunks[1].chunk_hash);
    /* the arena holds the six texts of conversation 0 once each; "Hello." is
     * never part of an input */
    size_t want = 0;
    for (int i = 0; i < 6; i++)
        want += strlen(txt[i]);
    assert_int_equal(t.text_len, want);
    cc_trace_free(&t);
}

static void test_no_tokens_and_tenant(void **state)
{
    (void)state;
    char path[512];
    tu_write_tmp(path, sizeof path, "sg_tiny2.json", sharegpt_tiny, sizeof sharegpt_tiny - 1);
    cc_trace a, b, c;
    cc_read_opts o = {0};
    read_ok(path, "sharegpt", &o, &a);
    o.no_tokens = true;
    read_ok(path, "sharegpt", &o, &b);
    assert_int_equal(a.n, b.n);
    assert_int_equal(cc_trace_n_tokens_total(&b), 0);
    assert_null(b.token_ids);
    assert_int_equal(cc_trace_n_blocks_total(&a), cc_trace_n_blocks_total(&b));
    assert_memory_equal(a.blocks, b.blocks, cc_trace_n_blocks_total(&a) * sizeof *a.blocks);
    assert_int_equal(cc_trace_n_chunks_total(&a), cc_trace_n_chunks_total(&b));
    assert_memory_equal(a.chunks, b.chunks, cc_trace_n_chunks_total(&a) * sizeof *a.chunks);
    assert_memory_equal(a.input_tokens, b.input_tokens, a.n * sizeof *a.input_tokens);
    assert_memory_equal(a.output_tokens, b.output_tokens, a.n * sizeof *a.output_tokens);

    o.no_tokens = false;
    o.tenant = "llama3@8b";
    read_ok(path, "sharegpt", &o, &c);
    assert_int_equal(c.n_tenants, 2);
    assert_string_equal(c.tenants[0], "default");
    assert_string_equal(c.tenants[1], "llama3@8b");
    cc_request ra = cc_trace_get(&a, 0), rc = cc_trace_get(&c, 0);
    assert_int_equal(ra.tenant, 0);
    assert_int_equal(rc.tenant, 1);
    assert_memory_equal(ra.token_ids, rc.token_ids, ra.n_token_ids * sizeof *ra.token_ids);
    assert_true(ra.blocks[0] != rc.blocks[0]); /* tenants never share KV */
    cc_trace_free(&a);
    cc_trace_free(&b);
    cc_trace_free(&c);
}

static void test_mtbench_tiny(void **state)
{
    (void)state;
    static const char src[] =
        "{\"question_id\": 7, \"category\": \"x\", \"turns\": [\"One?\", \"Two?\", \"Three?\"]}\n"
        "{\"turns\": [\"Alone.\"], \"reference\": [\"r\"]}\n"
        "\n";
    char path[512];
    tu_write_tmp(path, sizeof path, "mtb.jsonl", src, sizeof src - 1);
    assert_string_equal(detected(path), "mtbench");
    cc_trace t;
    read_ok(path, "mtbench", NULL, &t);
    assert_int_equal(t.n, 4);
    cc_request r2 = cc_trace_get(&t, 2);
    assert_int_equal(r2.turn, 2);
    assert_int_equal(r2.n_chunks, 5);
    assert_chunk_text(&t, &r2.chunks[0], "One?");
    assert_chunk_text(&t, &r2.chunks[2], "Two?");
    assert_chunk_text(&t, &r2.chunks[4], "Three?");
    assert_int_equal(r2.chunks[1].token_len, 256);
    assert_int_equal(r2.chunks[3].token_len, 256);
    assert_true(r2.chunks[1].chunk_hash != r2.chunks[3].chunk_hash);
    assert_non_null(memmem(t.text + r2.chunks[3].text_off, r2.chunks[3].text_len,
                           "question 7, turn 2", 18));
    assert_int_equal(r2.input_tokens, 512 + ntok("One?") + ntok("Two?") + ntok("Three?"));
    cc_request r1 = cc_trace_get(&t, 1);
    assert_memory_equal(r1.blocks, r2.blocks, (r1.input_tokens / 16) * sizeof *r1.blocks);
    cc_request r3 = cc_trace_get(&t, 3);
    assert_int_equal(r3.session_id, 1);
    assert_int_equal(r3.turn, 0);
    assert_int_equal(r3.n_chunks, 1);
    assert_int_equal(r3.output_tokens, 256);
    cc_trace_free(&t);
}

static void test_arena_tiny(void **state)
{
    (void)state;
    static const char src[] =
        "{\"question_id\": \"q1\", \"cluster\": \"c\", \"turns\": [{\"content\": \"Hi there\"}]}\n"
        "{\"question_id\": \"q2\", \"turns\": [{\"content\": \"A\"}, {\"content\": \"B\"}]}\n";
    char path[512];
    tu_write_tmp(path, sizeof path, "arena_old.jsonl", src, sizeof src - 1);
    assert_string_equal(detected(path), "arena");
    cc_trace t;
    read_ok(path, "arena", NULL, &t);
    assert_int_equal(t.n, 2);
    cc_request r = cc_trace_get(&t, 1);
    assert_int_equal(r.n_chunks, 2);
    assert_chunk_text(&t, &r.chunks[0], "A");
    assert_chunk_text(&t, &r.chunks[1], "B");
    assert_int_equal(r.session_id, 1);
    cc_trace_free(&t);
}

static void test_pairs_tiny(void **state)
{
    (void)state;
    static const char qqp[] =
        "[{\"text_a\": \"How old is Rome?\", \"text_b\": \"What is Rome's age?\", \"label\": 1},\n"
        " {\"text_a\": \"How old is Rome?\", \"text_b\": \"How big is Rome?\", \"label\": 0}]";
    static const char origin[] =
        "[{\"origin\": \"Name a cache policy.\", \"similar\": \"Give one cache policy.\"}]";
    char path[512];
    cc_trace t;
    tu_write_tmp(path, sizeof path, "qqp.json", qqp, sizeof qqp - 1);
    assert_string_equal(detected(path), "pairs");
    read_ok(path, "pairs", NULL, &t);
    assert_int_equal(t.n, 4);
    const uint64_t groups[] = {0, 0, 2, 3};
    for (size_t i = 0; i < 4; i++)
        assert_int_equal(t.group_id[i], groups[i]);
    assert_int_equal(cc_trace_get(&t, 0).chunks[0].text_off, cc_trace_get(&t, 2).chunks[0].text_off);
    cc_trace_free(&t);
    tu_write_tmp(path, sizeof path, "origin.json", origin, sizeof origin - 1);
    assert_string_equal(detected(path), "pairs");
    read_ok(path, "pairs", NULL, &t);
    assert_int_equal(t.n, 2);
    assert_int_equal(t.group_id[0], t.group_id[1]);
    assert_int_equal(t.role[0], CC_ROLE_SEED);
    assert_int_equal(t.role[1], CC_ROLE_QUERY);
    cc_trace_free(&t);
}

static void test_rag_tiny(void **state)
{
    (void)state;
    static const char src[] =
        "[{\"question\": \"Q1?\", \"answers\": [\"Paris\", \"paris\"],\n"
        "  \"ctxs\": [{\"title\": \"France\", \"text\": \"Paris is its capital.\"},\n"
        "           {\"title\": \"\", \"text\": \"Rome is old.\"}]},\n"
        " {\"question\": \"Q2?\", \"answers\": \"\",\n"
        "  \"ctxs\": [{\"text\": \"Rome is old.\"}, {\"title\": \"France\", \"text\": \"Paris is its capital.\"}]},\n"
        " {\"question\": \"Q3?\", \"answers\": [\"x\"], \"ctxs\": []}]\n";
    char path[512];
    tu_write_tmp(path, sizeof path, "rag.json", src, sizeof src - 1);
    assert_string_equal(detected(path), "rag");
    cc_trace t;
    read_ok(path, "rag", NULL, &t);
    assert_int_equal(t.n, 3);
    cc_request a = cc_trace_get(&t, 0), b = cc_trace_get(&t, 1), c = cc_trace_get(&t, 2);
    assert_int_equal(a.n_chunks, 3);
    assert_chunk_text(&t, &a.chunks[0], "France\nParis is its capital.");
    assert_chunk_text(&t, &a.chunks[1], "Rome is old.");
    assert_chunk_text(&t, &a.chunks[2], "Q1?");
    assert_int_equal(a.chunks[2].kind, CC_CHUNK_QUESTION);
    assert_int_equal(a.output_tokens, ntok("Paris"));
    /* the same passages at swapped positions: same hash and arena text */
    assert_int_equal(b.chunks[1].chunk_hash, a.chunks[0].chunk_hash);
    assert_int_equal(b.chunks[0].chunk_hash, a.chunks[1].chunk_hash);
    assert_int_equal(b.chunks[1].text_off, a.chunks[0].text_off);
    assert_int_equal(b.chunks[1].token_start, ntok("Rome is old."));
    assert_int_equal(b.output_tokens, 1); /* empty answer: at least 1 */
    assert_int_equal(c.n_chunks, 1);
    assert_int_equal(c.session_id, 2);
    cc_trace_free(&t);
}

/* ---- bad inputs ------------------------------------------------------------------ */

typedef struct bad_case {
    const char *format;
    const char *what;
    const char *data;
    size_t len;
    int code;
    long line;
    const char *field;
} bad_case;

#define BAD(fmt, what, lit, code, line, field) {fmt, what, lit, sizeof lit - 1, code, line, field}
#define SG_OK "{\"conversations\": [{\"from\": \"human\", \"value\": \"hi\"}]}"
#define MT_OK "{\"question_id\": 1, \"turns\": [\"a\", \"b\"]}"
#define AR_OK "{\"uid\": \"a\", \"prompt\": \"hello\"}"
#define QP_OK "{\"text_a\": \"a\", \"text_b\": \"b\", \"label\": 1}"
#define RG_OK "{\"question\": \"q\", \"answers\": [\"a\"], \"ctxs\": [{\"title\": \"\", \"text\": \"p\"}]}"
#define ELF "\x7f" "ELF\x02\x01\x01\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\x00\x3e\x00"

static const bad_case bad_cases[] = {
    /* sharegpt */
    BAD("sharegpt", "truncated last record", "[\n" SG_OK ",\n{\"conversations\": [{\"from\": \"human\", \"val",
        CC_EFORMAT, 3, "conversations[0]"),
    BAD("sharegpt", "truncated before ']'", "[\n" SG_OK ",\n" SG_OK "\n", CC_EFORMAT, 4, "record"),
    BAD("sharegpt", "missing value", "[\n" SG_OK ",\n{\"conversations\": [{\"from\": \"human\"}]}]",
        CC_EFORMAT, 3, "conversations[0].value"),
    BAD("sharegpt", "missing conversations", "[\n" SG_OK ",\n{\"id\": \"x\"}]", CC_EFORMAT, 3,
        "conversations"),
    BAD("sharegpt", "wrong type from", "[\n" SG_OK ",\n{\"conversations\": [{\"from\": 5, \"value\": \"x\"}]}]",
        CC_EFORMAT, 3, "conversations[0].from"),
    BAD("sharegpt", "wrong type value, multi-line record",
        "[\n" SG_OK ",\n{\n \"conversations\": [\n  {\"from\": \"human\", \"value\": 5}\n ]\n}\n]",
        CC_EFORMAT, 3, "conversations[0].value"),
    BAD("sharegpt", "unknown speaker", "[\n" SG_OK ",\n{\"conversations\": [{\"from\": \"robot\", \"value\": \"x\"}]}]",
        CC_EFORMAT, 3, "conversations[0].from"),
    BAD("sharegpt", "duplicate key", "[\n{\"conversations\": [], \"conversations\": []}]", CC_EFORMAT, 2,
        "conversations"),
    BAD("sharegpt", "record not an object", "[\n" SG_OK ",\n 42]", CC_EFORMAT, 3, "record"),
    BAD("sharegpt", "no human turn anywhere", "[{\"conversations\": []}]", CC_EFORMAT, 1, "record"),
    BAD("sharegpt", "empty file", "", CC_EFORMAT, 1, "record"),
    BAD("sharegpt", "invalid UTF-8, line 5 of a record",
        "[\n" SG_OK ",\n{\n \"conversations\": [\n  {\"from\": \"human\", \"value\": \"x\xff\"}]}]",
        CC_EFORMAT, 5, "conversations[0].value"),
    BAD("sharegpt", "binary file", ELF, CC_EFORMAT, 1, "record"),
    BAD("sharegpt", "JSON Lines instead of an array", SG_OK "\n" SG_OK "\n", CC_EFORMAT, 1, "record"),
    BAD("sharegpt", "trailing comma", "[\n" SG_OK ",\n]", CC_EFORMAT, 3, "record"),
    /* mtbench */
    BAD("mtbench", "truncated last line", MT_OK "\n{\"question_id\": 2, \"turns\": [\"a\", \"b", CC_EFORMAT, 2,
        "turns[1]"),
    BAD("mtbench", "missing turns", MT_OK "\n{\"question_id\": 2}\n", CC_EFORMAT, 2, "turns"),
    BAD("mtbench", "wrong type turns", MT_OK "\n{\"question_id\": 2, \"turns\": \"a\"}\n", CC_EFORMAT, 2,
        "turns"),
    BAD("mtbench", "wrong type turn", MT_OK "\n{\"question_id\": 2, \"turns\": [\"a\", 3]}\n", CC_EFORMAT, 2,
        "turns[1]"),
    BAD("mtbench", "wrong type question_id", MT_OK "\n{\"question_id\": \"2\", \"turns\": [\"a\"]}\n", CC_EFORMAT,
        2, "question_id"),
    BAD("mtbench", "negative question_id", MT_OK "\n{\"question_id\": -3, \"turns\": [\"a\"]}\n", CC_ERANGE, 2,
        "question_id"),
    BAD("mtbench", "no turns", MT_OK "\n{\"question_id\": 2, \"turns\": []}\n", CC_EFORMAT, 2, "turns"),
    BAD("mtbench", "blank line inside", MT_OK "\n\n" MT_OK "\n", CC_EFORMAT, 2, "record"),
    BAD("mtbench", "empty file", "", CC_EFORMAT, 1, "record"),
    BAD("mtbench", "only blank lines", "\n \n", CC_EFORMAT, 1, "record"),
    BAD("mtbench", "invalid UTF-8", MT_OK "\n{\"question_id\": 2, \"turns\": [\"\xc3\x28\"]}\n", CC_EFORMAT, 2,
        "turns[0]"),
    BAD("mtbench", "binary file", ELF, CC_EFORMAT, 1, "record"),
    BAD("mtbench", "binary without NUL", MT_OK "\n\x89PNG\x1a\x0b\n", CC_EFORMAT, 2, "record"),
    /* arena */
    BAD("arena", "truncated last line", AR_OK "\n{\"uid\": \"b\", \"prompt\": \"hel", CC_EFORMAT, 2, "prompt"),
    BAD("arena", "missing prompt", AR_OK "\n{\"uid\": \"b\"}\n", CC_EFORMAT, 2, "prompt"),
    BAD("arena", "wrong type prompt", AR_OK "\n{\"uid\": \"b\", \"prompt\": 3}\n", CC_EFORMAT, 2, "prompt"),
    BAD("arena", "wrong type content", AR_OK "\n{\"turns\": [{\"content\": 1}]}\n", CC_EFORMAT, 2,
        "turns[0].content"),
    BAD("arena", "no turns", AR_OK "\n{\"turns\": []}\n", CC_EFORMAT, 2, "turns"),
    BAD("arena", "record is an array", AR_OK "\n[1, 2]\n", CC_EFORMAT, 2, "record"),
    BAD("arena", "empty file", "", CC_EFORMAT, 1, "record"),
    BAD("arena", "invalid UTF-8", AR_OK "\n" AR_OK "\n{\"uid\": \"c\", \"prompt\": \"\xed\xa0\x80\"}\n", CC_EFORMAT,
        3, "prompt"),
    BAD("arena", "binary file", ELF, CC_EFORMAT, 1, "record"),
    /* pairs */
    BAD("pairs", "truncated last record", "[\n" QP_OK ",\n{\"text_a\": \"a\", \"text_b\": \"b", CC_EFORMAT, 3,
        "text_b"),
    BAD("pairs", "missing label", "[\n" QP_OK ",\n{\"text_a\": \"a\", \"text_b\": \"b\"}]", CC_EFORMAT, 3, "label"),
    BAD("pairs", "missing text_b", "[\n" QP_OK ",\n{\"text_a\": \"a\", \"label\": 0}]", CC_EFORMAT, 3, "text_b"),
    BAD("pairs", "missing similar", "[\n{\"origin\": \"a\", \"similar\": \"b\"},\n{\"origin\": \"a\"}]", CC_EFORMAT,
        3, "similar"),
    BAD("pairs", "neither shape", "[\n{\"question\": \"a\"}]", CC_EFORMAT, 2, "text_a"),
    BAD("pairs", "wrong type label", "[\n" QP_OK ",\n{\"text_a\": \"a\", \"text_b\": \"b\", \"label\": \"1\"}]",
        CC_EFORMAT, 3, "label"),
    BAD("pairs", "wrong type text", "[\n" QP_OK ",\n{\"text_a\": 5, \"text_b\": \"b\", \"label\": 1}]", CC_EFORMAT,
        3, "text_a"),
    BAD("pairs", "negative label", "[\n" QP_OK ",\n{\"text_a\": \"a\", \"text_b\": \"b\", \"label\": -1}]",
        CC_ERANGE, 3, "label"),
    BAD("pairs", "absurd label", "[\n" QP_OK ",\n{\"text_a\": \"a\", \"text_b\": \"b\", \"label\": 7}]",
        CC_ERANGE, 3, "label"),
    BAD("pairs", "empty array", "[ ]", CC_EFORMAT, 1, "record"),
    BAD("pairs", "empty file", "", CC_EFORMAT, 1, "record"),
    BAD("pairs", "invalid UTF-8", "[\n" QP_OK ",\n{\"text_a\": \"a\", \"text_b\": \"\xf8\x88\x80\x80\x80\", \"label\": 1}]",
        CC_EFORMAT, 3, "text_b"),
    BAD("pairs", "binary file", ELF, CC_EFORMAT, 1, "record"),
    BAD("pairs", "data after the array", "[" QP_OK "]\nx", CC_EFORMAT, 2, "record"),
    /* rag */
    BAD("rag", "truncated last record", "[\n" RG_OK ",\n{\"question\": \"q\", \"ctxs\": [{\"text\": \"abc", CC_EFORMAT,
        3, "ctxs[0].text"),
    BAD("rag", "missing question", "[\n" RG_OK ",\n{\"answers\": [\"a\"], \"ctxs\": []}]", CC_EFORMAT, 3,
        "question"),
    BAD("rag", "missing ctx text", "[\n" RG_OK ",\n{\"question\": \"q\", \"answers\": [\"a\"], \"ctxs\": [{\"text\": \"x\"}, {\"title\": \"t\"}]}]",
        CC_EFORMAT, 3, "ctxs[1].text"),
    BAD("rag", "missing answers", "[\n" RG_OK ",\n{\"question\": \"q\", \"ctxs\": []}]", CC_EFORMAT, 3, "answers"),
    BAD("rag", "wrong type ctxs", "[\n" RG_OK ",\n{\"question\": \"q\", \"answers\": [\"a\"], \"ctxs\": {}}]",
        CC_EFORMAT, 3, "ctxs"),
    BAD("rag", "wrong type title", "[\n" RG_OK ",\n{\"question\": \"q\", \"answers\": [\"a\"], \"ctxs\": [{\"title\": 3, \"text\": \"p\"}]}]",
        CC_EFORMAT, 3, "ctxs[0].title"),
    BAD("rag", "wrong type answer", "[\n" RG_OK ",\n{\"question\": \"q\", \"answers\": [5], \"ctxs\": []}]",
        CC_EFORMAT, 3, "answers[0]"),
    BAD("rag", "no answers", "[\n" RG_OK ",\n{\"question\": \"q\", \"answers\": [], \"ctxs\": []}]", CC_EFORMAT, 3,
        "answers"),
    BAD("rag", "empty file", "", CC_EFORMAT, 1, "record"),
    BAD("rag", "invalid UTF-8", "[\n" RG_OK ",\n{\"question\": \"q\", \"answers\": [\"a\"], \"ctxs\": [{\"text\": \"\xe2\x82\"}]}]",
        CC_EFORMAT, 3, "ctxs[0].text"),
    BAD("rag", "binary file", ELF, CC_EFORMAT, 1, "record"),
};

static void test_bad_inputs(void **state)
{
    (void)state;
    char path[512];
    int failures = 0;
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const bad_case *c = &bad_cases[i];
        char name[64];
        snprintf(name, sizeof name, "bad_%zu", i);
        tu_write_tmp(path, sizeof path, name, c->data, c->len);
        cc_trace t;
        cc_err e = {0};
        int rc = cc_trace_read(path, c->format, NULL, &t, &e);
        if (getenv("TU_VERBOSE"))
            printf("%s / %s: %s:%ld: field %s: %s\n", c->format, c->what, e.file, e.line, e.field, e.msg);
        if (rc != c->code || e.line != c->line || strcmp(e.field, c->field) != 0 || !e.msg[0] ||
            strcmp(e.file, path) != 0) {
            printf("case %s / %s: got %d line %ld field '%s' file '%s' (%s); expected %d line %ld "
                   "field '%s'\n", c->format, c->what, rc, e.line, e.field, e.file, e.msg, c->code,
                   c->line, c->field);
            failures++;
        }
        assert_int_equal(t.n, 0); /* nothing partial handed back */
        unlink(path);
    }
    assert_int_equal(failures, 0);
}

static void test_missing_file(void **state)
{
    (void)state;
    const char *fmts[] = {"sharegpt", "mtbench", "arena", "pairs", "rag"};
    for (size_t i = 0; i < 5; i++) {
        cc_trace t;
        cc_err e = {0};
        assert_int_equal(cc_trace_read("/nonexistent/dir/x.json", fmts[i], NULL, &t, &e), CC_EIO);
        assert_string_equal(e.file, "/nonexistent/dir/x.json");
        assert_non_null(strstr(e.msg, "cannot open"));
    }
}

static void test_bad_block_size(void **state)
{
    (void)state;
    char path[512];
    tu_write_tmp(path, sizeof path, "bs.json", sharegpt_tiny, sizeof sharegpt_tiny - 1);
    cc_read_opts o = {0};
    o.block_size = (1u << 20) + 1;
    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_trace_read(path, "sharegpt", &o, &t, &e), CC_EARG);
    assert_string_equal(e.field, "block_size");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sharegpt_multiturn),
        cmocka_unit_test(test_no_tokens_and_tenant),
        cmocka_unit_test(test_mtbench_tiny),
        cmocka_unit_test(test_arena_tiny),
        cmocka_unit_test(test_pairs_tiny),
        cmocka_unit_test(test_rag_tiny),
        cmocka_unit_test(test_bad_inputs),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_bad_block_size),
        cmocka_unit_test(test_detectors_exclusive),
        cmocka_unit_test(test_sharegpt_v3),
        cmocka_unit_test(test_sharegpt_sg90k),
        cmocka_unit_test(test_mtbench_real),
        cmocka_unit_test(test_arena_real),
        cmocka_unit_test(test_pairs_real),
        cmocka_unit_test(test_rag_real),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    cc_tokenizer_free(tk_builtin());
    return rc;
}
