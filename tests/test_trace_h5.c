/* test_trace_h5.c -- the native HDF5 trace format: round trips of a rich and
 * an empty trace, an independent read of the file by h5py, a file written by
 * h5py from the documented schema alone, byte-identical rewrites, atomic
 * output, detection, the CLI convert round trip, and a table of bad files
 * (made with the HDF5 C API from a good one) that must each fail with the
 * right status, HDF5 path and row. */
#include "testutil.h"
#include "traces/traces.h"

#include <hdf5.h>
#include <sys/stat.h>

#define PY "/usr/bin/python3"

/* ---- a rich trace built with the builder ----------------------------------- */

static const char *const texts[] = {
    "You are a helpful assistant.",   /* 0 system, shared */
    "Wie spät ist es? \xE2\x9C\x93",  /* 1 user, non-ASCII */
    "It is noon.",                    /* 2 assistant */
    "And tomorrow?",                  /* 3 user */
    "Paris is the capital of France.", /* 4 passage */
    "The Seine flows through Paris.", /* 5 passage */
    "What river flows through the capital?", /* 6 question */
};

static void add_req(cc_trace *t, int64_t at_ns, uint64_t session, uint32_t turn, uint32_t tenant,
                    uint32_t n_tok, uint32_t tok_base, uint32_t out, uint64_t group, uint32_t role,
                    const cc_chunk *ch, uint32_t nch, const float *emb)
{
    uint32_t toks[64];
    uint64_t blocks[16];
    for (uint32_t i = 0; i < n_tok; i++)
        toks[i] = tok_base + i * 7;
    cc_request r = {0};
    r.arrival_ns = at_ns;
    r.session_id = session;
    r.turn = turn;
    r.tenant = tenant;
    r.input_tokens = n_tok;
    r.output_tokens = out;
    r.group_id = group;
    r.role = role;
    r.token_ids = toks;
    r.n_token_ids = n_tok;
    r.n_blocks = (uint32_t)cc_block_chain(tenant, toks, n_tok, t->block_size, blocks);
    r.blocks = blocks;
    r.chunks = ch;
    r.n_chunks = nch;
    r.embedding = emb;
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
}

static void build_rich(cc_trace *t)
{
    cc_trace_init(t);
    t->block_size = 4;
    t->timed = true;
    t->epoch_ns = INT64_C(1700000000123456789);
    t->seed = UINT64_C(0xFEEDFACECAFEBEEF);
    t->embedding_dim = 3;
    snprintf(t->source_format, sizeof t->source_format, "generator");
    snprintf(t->source, sizeof t->source, "unit:rich");
    uint32_t d, a, b;
    assert_int_equal(cc_trace_tenant(t, "default", &d), CC_OK);
    assert_int_equal(cc_trace_tenant(t, "llama-3-8b@v1", &a), CC_OK);
    assert_int_equal(cc_trace_tenant(t, "qwen2@2024-06", &b), CC_OK);
    uint64_t off[7];
    for (int i = 0; i < 7; i++)
        assert_int_equal(cc_trace_add_text(t, texts[i], strlen(texts[i]), &off[i]), CC_OK);
#define CH(i, k, ts, tl) {off[i], (uint32_t)strlen(texts[i]), k, ts, tl, 0}
    cc_chunk c0[] = {CH(0, CC_CHUNK_SYSTEM, 0, 4), CH(1, CC_CHUNK_USER, 4, 6)};
    cc_chunk c1[] = {CH(0, CC_CHUNK_SYSTEM, 0, 4), CH(1, CC_CHUNK_USER, 4, 6),
                     CH(2, CC_CHUNK_ASSISTANT, 10, 3), CH(3, CC_CHUNK_USER, 13, 2)};
    cc_chunk c2[] = {CH(4, CC_CHUNK_PASSAGE, 0, 2), CH(5, CC_CHUNK_PASSAGE, 2, 2),
                     CH(6, CC_CHUNK_QUESTION, 4, 2)};
#undef CH
    const float e0[3] = {0.5f, -1.25f, 3.0f}, e1[3] = {0.25f, 0.0f, -2.5f},
                e2[3] = {1.0f, 2.0f, 4.0f};
    add_req(t, 0, 7, 0, a, 10, 100, 20, 5, CC_ROLE_SEED, c0, 2, e0);
    add_req(t, 1500000, 7, 1, a, 15, 100, 30, 5, CC_ROLE_QUERY, c1, 4, e1);
    add_req(t, 1500000, 9, 0, b, 6, 900, 40, CC_NO_GROUP, CC_ROLE_QUERY, c2, 3, e2);
    /* a hash-only request (no token ids, no chunks) and an empty one */
    uint64_t hb[3] = {UINT64_C(0xDEADBEEF00000001), 2, UINT64_MAX - 1};
    cc_request r = {.arrival_ns = 4000000000, .session_id = UINT64_MAX, .tenant = d,
                    .input_tokens = 9, .output_tokens = 1, .group_id = 0, .blocks = hb,
                    .n_blocks = 3};
    assert_int_equal(cc_trace_append(t, &r), CC_OK);
    cc_request z = {.arrival_ns = 4000000001, .session_id = 10, .tenant = b,
                    .group_id = CC_NO_GROUP};
    assert_int_equal(cc_trace_append(t, &z), CC_OK);
    cc_err e = {0};
    assert_int_equal(cc_trace_validate(t, "rich", &e), CC_OK);
}

#define COL_EQ(a, b, count)                                                       \
    do {                                                                          \
        if ((count) > 0)                                                          \
            assert_memory_equal((a), (b), (count) * sizeof *(a));                 \
    } while (0)

static void assert_traces_equal(const cc_trace *x, const cc_trace *y)
{
    assert_int_equal(x->n, y->n);
    assert_int_equal(x->block_size, y->block_size);
    assert_int_equal(x->timed, y->timed);
    assert_true(x->epoch_ns == y->epoch_ns);
    assert_true(x->seed == y->seed);
    assert_string_equal(x->source_format, y->source_format);
    assert_string_equal(x->source, y->source);
    assert_int_equal(x->embedding_dim, y->embedding_dim);
    size_t n = x->n;
    COL_EQ(x->arrival_ns, y->arrival_ns, n);
    COL_EQ(x->session_id, y->session_id, n);
    COL_EQ(x->turn, y->turn, n);
    COL_EQ(x->tenant, y->tenant, n);
    COL_EQ(x->input_tokens, y->input_tokens, n);
    COL_EQ(x->output_tokens, y->output_tokens, n);
    COL_EQ(x->group_id, y->group_id, n);
    COL_EQ(x->role, y->role, n);
    if (n) {
        COL_EQ(x->block_off, y->block_off, n + 1);
        COL_EQ(x->token_off, y->token_off, n + 1);
        COL_EQ(x->chunk_off, y->chunk_off, n + 1);
    }
    assert_int_equal(cc_trace_n_blocks_total(x), cc_trace_n_blocks_total(y));
    assert_int_equal(cc_trace_n_tokens_total(x), cc_trace_n_tokens_total(y));
    assert_int_equal(cc_trace_n_chunks_total(x), cc_trace_n_chunks_total(y));
    COL_EQ(x->blocks, y->blocks, cc_trace_n_blocks_total(x));
    COL_EQ(x->token_ids, y->token_ids, cc_trace_n_tokens_total(x));
    for (size_t c = 0; c < cc_trace_n_chunks_total(x); c++) {
        const cc_chunk *p = &x->chunks[c], *q = &y->chunks[c];
        assert_true(p->text_off == q->text_off && p->text_len == q->text_len &&
                    p->kind == q->kind && p->token_start == q->token_start &&
                    p->token_len == q->token_len && p->chunk_hash == q->chunk_hash);
    }
    assert_int_equal(x->text_len, y->text_len);
    COL_EQ(x->text, y->text, x->text_len);
    COL_EQ(x->embeddings, y->embeddings, n * x->embedding_dim);
    assert_int_equal(x->n_tenants, y->n_tenants);
    for (size_t i = 0; i < x->n_tenants; i++)
        assert_string_equal(x->tenants[i], y->tenants[i]);
}

static long file_size(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 ? (long)st.st_size : -1;
}


static int have_h5py(void)
{
    return tu_run(PY " -c 'import h5py, numpy'", NULL) == 0;
}

/* ---- round trips ---------------------------------------------------------- */

static void test_round_trip_rich(void **state)
{
    (void)state;
    cc_trace t, u;
    build_rich(&t);
    char path[512];
    tu_tmp_path(path, sizeof path, "rich.h5");
    cc_err e = {0};
    assert_int_equal(cc_write_h5(&t, path, &e), CC_OK);
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    assert_int_equal(access(tmp, F_OK), -1); /* the temporary is gone */
    assert_int_equal(cc_read_h5(path, NULL, &u, &e), CC_OK);
    assert_traces_equal(&t, &u);
    /* the read trace is a normal builder trace: it can grow */
    cc_request r = {.arrival_ns = 5000000000, .tenant = 1, .group_id = CC_NO_GROUP};
    assert_int_equal(cc_trace_append(&u, &r), CC_OK);
    uint64_t off;
    assert_int_equal(cc_trace_add_text(&u, "more", 4, &off), CC_OK);
    assert_int_equal(off, t.text_len);
    assert_int_equal(cc_trace_validate(&u, "grown", &e), CC_OK);
    cc_trace_free(&u);

    /* through the format table, with detection */
    assert_int_equal(cc_trace_read(path, NULL, NULL, &u, &e), CC_OK);
    assert_traces_equal(&t, &u);
    cc_trace_free(&u);
    cc_trace_free(&t);
    remove(path);
}

static void test_round_trip_empty_and_hash_only(void **state)
{
    (void)state;
    cc_trace t, u;
    cc_err e = {0};
    char path[512];
    tu_tmp_path(path, sizeof path, "empty.h5");

    cc_trace_init(&t); /* no requests, no tenants, nothing */
    assert_int_equal(cc_write_h5(&t, path, &e), CC_OK);
    assert_int_equal(cc_read_h5(path, NULL, &u, &e), CC_OK);
    assert_int_equal(u.n, 0);
    assert_int_equal(u.n_tenants, 0);
    assert_int_equal(u.text_len, 0);
    assert_traces_equal(&t, &u);
    cc_trace_free(&u);

    /* an empty trace that still has tenants and an embedding width */
    uint32_t idx;
    assert_int_equal(cc_trace_tenant(&t, "m@1", &idx), CC_OK);
    t.embedding_dim = 8;
    assert_int_equal(cc_write_h5(&t, path, &e), CC_OK);
    assert_int_equal(cc_read_h5(path, NULL, &u, &e), CC_OK);
    assert_traces_equal(&t, &u);
    cc_trace_free(&u);
    cc_trace_free(&t);

    /* Mooncake-like: blocks only, so /tokens/id, /chunks/... and /text are empty */
    cc_trace_init(&t);
    t.block_size = 512;
    t.timed = true;
    for (int i = 0; i < 300; i++) {
        uint64_t b[3] = {0, (uint64_t)i + 1, (uint64_t)i * 1000 + 7};
        cc_request r = {.arrival_ns = (int64_t)i * 1000000, .input_tokens = 1100 + i,
                        .output_tokens = 10, .group_id = CC_NO_GROUP, .blocks = b, .n_blocks = 3};
        assert_int_equal(cc_trace_append(&t, &r), CC_OK);
    }
    assert_int_equal(cc_write_h5(&t, path, &e), CC_OK);
    assert_int_equal(cc_read_h5(path, NULL, &u, &e), CC_OK);
    assert_traces_equal(&t, &u);
    assert_null(u.token_ids);
    assert_null(u.chunks);
    cc_trace_free(&u);
    cc_trace_free(&t);
    remove(path);
}

static void test_deterministic_bytes(void **state)
{
    (void)state;
    cc_trace t;
    build_rich(&t);
    char p1[512], p2[512];
    tu_tmp_path(p1, sizeof p1, "det1.h5");
    tu_tmp_path(p2, sizeof p2, "det2.h5");
    cc_err e = {0};
    assert_int_equal(cc_write_h5(&t, p1, &e), CC_OK);
    assert_int_equal(cc_write_h5(&t, p2, &e), CC_OK);
    size_t n1, n2;
    unsigned char *b1 = (unsigned char *)tu_slurp(p1, &n1), *b2 = (unsigned char *)tu_slurp(p2, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    free(b1);
    free(b2);
    cc_trace_free(&t);
    remove(p1);
    remove(p2);
}

/* Failures leave no output: an invalid trace creates nothing, and a failure
 * after the temporary exists (the final rename onto a directory) removes it
 * and leaves the target as it was. */
static void test_atomic_write(void **state)
{
    (void)state;
    cc_trace t;
    build_rich(&t);
    cc_err e = {0};
    char path[512], tmp[600], cmd[1300];
    tu_tmp_path(path, sizeof path, "atomic.h5");
    snprintf(tmp, sizeof tmp, "%s.tmp", path);

    t.tenant[1] = 77; /* out of range: the writer validates first */
    assert_int_equal(cc_write_h5(&t, path, &e), CC_ERANGE);
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(access(tmp, F_OK), -1);
    t.tenant[1] = 1;

    snprintf(cmd, sizeof cmd, "mkdir -p '%s'", path);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(cc_write_h5(&t, path, &e), CC_EIO);
    assert_non_null(strstr(e.msg, "rename"));
    assert_int_equal(access(tmp, F_OK), -1);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    rmdir(path);

    assert_int_equal(cc_write_h5(&t, "/nonexistent-dir/x.h5", &e), CC_EIO);
    assert_string_equal(e.file, "/nonexistent-dir/x.h5");
    assert_int_equal(access("/nonexistent-dir/x.h5.tmp", F_OK), -1);
    cc_trace_free(&t);
}

static void test_detect(void **state)
{
    (void)state;
    cc_trace t;
    build_rich(&t);
    cc_err e = {0};
    char path[512], ub[512];
    tu_tmp_path(path, sizeof path, "detect.h5");
    assert_int_equal(cc_write_h5(&t, path, &e), CC_OK);
    const cc_format *f = cc_format_detect(path, &e);
    assert_non_null(f);
    assert_string_equal(f->name, "h5");
    assert_ptr_equal(cc_format_find("h5"), f);
    assert_non_null(f->write);
    cc_trace_free(&t);
    remove(path);

    /* a file with a 512-byte user block: the signature sits at 512 */
    tu_tmp_path(ub, sizeof ub, "userblock.h5");
    hid_t fcpl = H5Pcreate(H5P_FILE_CREATE);
    assert_true(H5Pset_userblock(fcpl, 512) >= 0);
    hid_t file = H5Fcreate(ub, H5F_ACC_TRUNC, fcpl, H5P_DEFAULT);
    assert_true(file >= 0);
    H5Fclose(file);
    H5Pclose(fcpl);
    size_t n;
    unsigned char *head = (unsigned char *)tu_slurp(ub, &n);
    assert_true(n > 520);
    assert_int_equal(cc_detect_h5(ub, head, n), 100);
    assert_int_equal(cc_detect_h5(ub, head, 512), 0); /* head too short to see it */
    free(head);
    remove(ub);
    const unsigned char text[] = "{\"timestamp\": 0}\n";
    assert_int_equal(cc_detect_h5("x.jsonl", text, sizeof text - 1), 0);
}

/* ---- independent readers: h5py ---------------------------------------------- */

static const char py_dump[] =
    "import sys, h5py, numpy as np\n"
    "f = h5py.File(sys.argv[1], 'r')\n"
    "a = f.attrs\n"
    "for k in ['format', 'source_format', 'source', 'ctxcache_version']:\n"
    "    v = a[k]\n"
    "    print(k, v.decode() if isinstance(v, bytes) else v)\n"
    "for k in ['schema_version', 'block_size', 'timed', 'epoch_ns', 'seed', 'embedding_dim']:\n"
    "    print(k, int(a[k]))\n"
    "req = {k: f['requests'][k][()] for k in f['requests']}\n"  /* the pandas idiom */
    "assert len({len(v) for v in req.values()}) == 1\n"
    "for k in sorted(req):\n"
    "    print(k, str(req[k].dtype), ' '.join(str(int(x)) for x in req[k]))\n"
    "for p in ['index/block_offset', 'index/token_offset', 'index/chunk_offset', 'blocks/hash',\n"
    "          'tokens/id', 'chunks/kind', 'chunks/token_start', 'chunks/token_len']:\n"
    "    d = f[p][()]\n"
    "    print(p, str(d.dtype), ' '.join(str(int(x)) for x in d))\n"
    "text = f['text'][()].tobytes()\n"
    "for o, n in zip(f['chunks/text_offset'][()], f['chunks/text_len'][()]):\n"
    "    print('chunk', text[o:o + n].decode('utf-8'))\n"
    "names = [x.decode() if isinstance(x, bytes) else x for x in f['tenants/name'][()]]\n"
    "print('tenants', ' '.join(names))\n"
    "if 'embeddings' in f:\n"
    "    e = f['embeddings'][()]\n"
    "    print('embeddings', e.shape[0], e.shape[1], ' '.join('%.4f' % x for x in e.ravel()))\n";

static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void append(char **buf, size_t *len, size_t *cap, const char *fmt, ...)
{
    va_list ap;
    for (;;) {
        va_start(ap, fmt);
        int k = vsnprintf(*buf + *len, *cap - *len, fmt, ap);
        va_end(ap);
        if ((size_t)k < *cap - *len) {
            *len += (size_t)k;
            return;
        }
        *cap *= 2;
        *buf = realloc(*buf, *cap);
    }
}

#define U64COL(label, dtype, arr, count)                                          \
    do {                                                                          \
        append(&x, &len, &cap, "%s %s", label, dtype);                            \
        for (size_t i_ = 0; i_ < (size_t)(count); i_++)                           \
            append(&x, &len, &cap, " %llu", (unsigned long long)(arr)[i_]); \
        append(&x, &len, &cap, "%s\n", (count) ? "" : " ");                      \
    } while (0)

/* What py_dump must print for t, composed here from the trace we wrote. */
static char *expected_dump(const cc_trace *t)
{
    size_t len = 0, cap = 4096;
    char *x = malloc(cap);
    x[0] = '\0';
    append(&x, &len, &cap,
           "format ctxcache-trace\nsource_format %s\nsource %s\nctxcache_version %s\n",
           t->source_format, t->source, CC_VERSION);
    append(&x, &len, &cap, "schema_version 1\nblock_size %u\ntimed %d\nepoch_ns %lld\nseed %llu\n"
           "embedding_dim %u\n", t->block_size, t->timed, (long long)t->epoch_ns,
           (unsigned long long)t->seed, t->embedding_dim);
    size_t n = t->n;
    append(&x, &len, &cap, "arrival_ns int64");
    for (size_t i = 0; i < n; i++)
        append(&x, &len, &cap, " %lld", (long long)t->arrival_ns[i]);
    append(&x, &len, &cap, "%s\n", n ? "" : " ");
    U64COL("group_id", "uint64", t->group_id, n);
    U64COL("input_tokens", "uint32", t->input_tokens, n);
    U64COL("output_tokens", "uint32", t->output_tokens, n);
    U64COL("role", "uint8", t->role, n);
    U64COL("session_id", "uint64", t->session_id, n);
    U64COL("tenant", "uint32", t->tenant, n);
    U64COL("turn", "uint32", t->turn, n);
    static const uint64_t zero[1] = {0};
    U64COL("index/block_offset", "uint64", n ? t->block_off : zero, n + 1);
    U64COL("index/token_offset", "uint64", n ? t->token_off : zero, n + 1);
    U64COL("index/chunk_offset", "uint64", n ? t->chunk_off : zero, n + 1);
    U64COL("blocks/hash", "uint64", t->blocks, cc_trace_n_blocks_total(t));
    U64COL("tokens/id", "uint32", t->token_ids, cc_trace_n_tokens_total(t));
    size_t nc = cc_trace_n_chunks_total(t);
    append(&x, &len, &cap, "chunks/kind uint8");
    for (size_t i = 0; i < nc; i++)
        append(&x, &len, &cap, " %u", t->chunks[i].kind);
    append(&x, &len, &cap, "%s\nchunks/token_start uint32", nc ? "" : " ");
    for (size_t i = 0; i < nc; i++)
        append(&x, &len, &cap, " %u", t->chunks[i].token_start);
    append(&x, &len, &cap, "%s\nchunks/token_len uint32", nc ? "" : " ");
    for (size_t i = 0; i < nc; i++)
        append(&x, &len, &cap, " %u", t->chunks[i].token_len);
    append(&x, &len, &cap, "%s\n", nc ? "" : " ");
    for (size_t i = 0; i < nc; i++)
        append(&x, &len, &cap, "chunk %.*s\n", (int)t->chunks[i].text_len,
               t->text + t->chunks[i].text_off);
    append(&x, &len, &cap, "tenants");
    for (size_t i = 0; i < t->n_tenants; i++)
        append(&x, &len, &cap, " %s", t->tenants[i]);
    append(&x, &len, &cap, "%s\n", t->n_tenants ? "" : " ");
    if (t->embedding_dim) {
        append(&x, &len, &cap, "embeddings %zu %u", n, t->embedding_dim);
        for (size_t i = 0; i < n * t->embedding_dim; i++)
            append(&x, &len, &cap, " %.4f", t->embeddings[i]);
        append(&x, &len, &cap, "%s\n", n ? "" : " ");
    }
    return x;
}

static void check_py_dump(const cc_trace *t, const char *h5path)
{
    char script[512], cmd[1200];
    tu_write_tmp(script, sizeof script, "dump.py", py_dump, strlen(py_dump));
    snprintf(cmd, sizeof cmd, "PYTHONIOENCODING=utf-8 " PY " '%s' '%s'", script, h5path);
    char *out;
    int st = tu_run(cmd, &out);
    char *want = expected_dump(t);
    if (st != 0 || strcmp(out, want) != 0)
        fail_msg("h5py read of %s differs (exit %d)\n--- h5py:\n%s\n--- expected:\n%s", h5path,
                 st, out, want);
    free(out);
    free(want);
    remove(script);
}

static void test_h5py_reads_it(void **state)
{
    (void)state;
    if (!have_h5py()) {
        printf("skipped: " PY " has no h5py/numpy (install python3-h5py)\n");
        skip();
    }
    cc_trace t;
    build_rich(&t);
    cc_err e = {0};
    char path[512];
    tu_tmp_path(path, sizeof path, "py.h5");
    assert_int_equal(cc_write_h5(&t, path, &e), CC_OK);
    check_py_dump(&t, path);
    cc_trace_free(&t);

    cc_trace_init(&t); /* empty: zero-length datasets, no embeddings */
    assert_int_equal(cc_write_h5(&t, path, &e), CC_OK);
    check_py_dump(&t, path);
    cc_trace_free(&t);
    remove(path);
}

/* A trace written by h5py from docs/trace-format.md alone (the way a user
 * would make one), with h5py's default types for attributes (int64, str). */
static const char py_write[] =
    "import sys, h5py, numpy as np\n"
    "with h5py.File(sys.argv[1], 'w') as f:\n"
    "    f.attrs['format'] = 'ctxcache-trace'\n"
    "    f.attrs['schema_version'] = int(sys.argv[2])\n"
    "    f.attrs['block_size'] = 512\n"
    "    f.attrs['timed'] = 1\n"
    "    f.attrs['embedding_dim'] = 0\n"
    "    f.attrs['source'] = 'python'\n"
    "    r = f.create_group('requests')\n"
    "    r['arrival_ns'] = np.array([0, 1000, 1000], dtype='i8')\n"
    "    r['session_id'] = np.array([1, 1, 2], dtype='u8')\n"
    "    r['turn'] = np.array([0, 1, 0], dtype='u4')\n"
    "    r['tenant'] = np.array([0, 0, 1], dtype='u4')\n"
    "    r['input_tokens'] = np.array([600, 1100, 10], dtype='u4')\n"
    "    r['output_tokens'] = np.array([5, 6, 7], dtype='u4')\n"
    "    r['group_id'] = np.full(3, 2**64 - 1, dtype='u8')\n"
    "    r['role'] = np.zeros(3, dtype='u1')\n"
    "    i = f.create_group('index')\n"
    "    i['block_offset'] = np.array([0, 2, 5, 6], dtype='u8')\n"
    "    i['token_offset'] = np.zeros(4, dtype='u8')\n"
    "    i['chunk_offset'] = np.zeros(4, dtype='u8')\n"
    "    f['blocks/hash'] = np.array([11, 12, 11, 12, 13, 99], dtype='u8')\n"
    "    f.create_dataset('tokens/id', shape=(0,), dtype='u4')\n"
    "    for k, t in [('text_offset', 'u8'), ('text_len', 'u4'), ('kind', 'u1'),\n"
    "                 ('token_start', 'u4'), ('token_len', 'u4'), ('chunk_hash', 'u8')]:\n"
    "        f.create_dataset('chunks/' + k, shape=(0,), dtype=t)\n"
    "    f.create_dataset('text', shape=(0,), dtype='u1')\n"
    "    f['tenants/name'] = np.array(['default', 'm@2'], dtype=h5py.string_dtype())\n";

static void test_h5py_writes_it(void **state)
{
    (void)state;
    if (!have_h5py()) {
        printf("skipped: " PY " has no h5py/numpy (install python3-h5py)\n");
        skip();
    }
    char script[512], path[512], cmd[1200];
    tu_write_tmp(script, sizeof script, "write.py", py_write, strlen(py_write));
    tu_tmp_path(path, sizeof path, "from_py.h5");
    snprintf(cmd, sizeof cmd, PY " '%s' '%s' 1", script, path);
    assert_int_equal(tu_run(cmd, NULL), 0);
    cc_trace t;
    cc_err e = {0};
    assert_int_equal(cc_read_h5(path, NULL, &t, &e), CC_OK);
    assert_int_equal(t.n, 3);
    assert_int_equal(t.block_size, 512);
    assert_true(t.timed);
    assert_string_equal(t.source, "python");
    assert_string_equal(t.source_format, ""); /* optional attribute absent */
    assert_int_equal(t.n_tenants, 2);
    assert_string_equal(t.tenants[1], "m@2");
    cc_request r = cc_trace_get(&t, 1);
    assert_int_equal(r.n_blocks, 3);
    assert_true(r.blocks[2] == 13);
    assert_true(r.group_id == CC_NO_GROUP);
    assert_int_equal(r.n_token_ids, 0);
    cc_trace_free(&t);

    /* the same file from a newer major version is refused, clearly */
    snprintf(cmd, sizeof cmd, PY " '%s' '%s' 2", script, path);
    assert_int_equal(tu_run(cmd, NULL), 0);
    assert_int_equal(cc_read_h5(path, NULL, &t, &e), CC_EUNSUP);
    assert_string_equal(e.field, "/@schema_version");
    assert_non_null(strstr(e.msg, "upgrade"));
    remove(script);
    remove(path);
}

/* ---- bad files ---------------------------------------------------------------- */

static void del(hid_t f, const char *path)
{
    assert_true(H5Ldelete(f, path, H5P_DEFAULT) >= 0);
}

/* Replaces the dataset at path by a contiguous one of type ftype, rank 1
 * (dims[1] == 0) or 2, holding data (NULL: never written). */
static void put(hid_t f, const char *path, hid_t ftype, hid_t mtype, hsize_t d0, hsize_t d1,
                const void *data)
{
    if (H5Lexists(f, path, H5P_DEFAULT) > 0)
        del(f, path);
    hsize_t dims[2] = {d0, d1};
    hid_t sp = H5Screate_simple(d1 ? 2 : 1, dims, NULL);
    hid_t ds = H5Dcreate2(f, path, ftype, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(ds >= 0);
    if (data)
        assert_true(H5Dwrite(ds, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(ds);
    H5Sclose(sp);
}

/* Writes one element of an existing numeric dataset in place. */
static void poke(hid_t f, const char *path, hid_t mtype, hsize_t at, const void *val)
{
    hid_t ds = H5Dopen2(f, path, H5P_DEFAULT);
    assert_true(ds >= 0);
    hid_t fs = H5Dget_space(ds);
    hsize_t one = 1;
    assert_true(H5Sselect_hyperslab(fs, H5S_SELECT_SET, &at, NULL, &one, NULL) >= 0);
    hid_t ms = H5Screate_simple(1, &one, NULL);
    assert_true(H5Dwrite(ds, mtype, ms, fs, H5P_DEFAULT, val) >= 0);
    H5Sclose(ms);
    H5Sclose(fs);
    H5Dclose(ds);
}

static void poke_u64(hid_t f, const char *p, hsize_t at, uint64_t v)
{
    poke(f, p, H5T_NATIVE_UINT64, at, &v);
}
static void poke_i64(hid_t f, const char *p, hsize_t at, int64_t v)
{
    poke(f, p, H5T_NATIVE_INT64, at, &v);
}
static void poke_u32(hid_t f, const char *p, hsize_t at, uint32_t v)
{
    poke(f, p, H5T_NATIVE_UINT32, at, &v);
}
static void poke_u8(hid_t f, const char *p, hsize_t at, uint8_t v)
{
    poke(f, p, H5T_NATIVE_UINT8, at, &v);
}

static void set_attr(hid_t f, const char *name, hid_t ftype, hid_t mtype, const void *val)
{
    if (H5Aexists(f, name) > 0)
        assert_true(H5Adelete(f, name) >= 0);
    hid_t sp = H5Screate(H5S_SCALAR);
    hid_t a = H5Acreate2(f, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT);
    assert_true(a >= 0);
    assert_true(H5Awrite(a, mtype, val) >= 0);
    H5Aclose(a);
    H5Sclose(sp);
}

static void set_attr_i64(hid_t f, const char *name, int64_t v)
{
    set_attr(f, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

static void set_attr_str(hid_t f, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    set_attr(f, name, t, t, &s);
    H5Tclose(t);
}

/* The rich trace has 5 requests, 3 tenants, 9 chunks, 31 token ids,
 * 3+4+2+3+0 = 12 blocks, 3-wide embeddings. */
static void m_missing_dataset(hid_t f) { del(f, "/requests/turn"); }
static void m_missing_group(hid_t f) { del(f, "/chunks"); }
static void m_wrong_dtype(hid_t f)
{
    int32_t v[5] = {10, 15, 6, 9, 0};
    put(f, "/requests/input_tokens", H5T_STD_I32LE, H5T_NATIVE_INT32, 5, 0, v);
}
static void m_float_hashes(hid_t f)
{
    double v[12] = {0};
    put(f, "/blocks/hash", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 12, 0, v);
}
static void m_short_column(hid_t f)
{
    uint32_t v[4] = {0};
    put(f, "/requests/output_tokens", H5T_STD_U32LE, H5T_NATIVE_UINT32, 4, 0, v);
}
static void m_long_tokens(hid_t f)
{
    uint32_t v[32] = {0};
    put(f, "/tokens/id", H5T_STD_U32LE, H5T_NATIVE_UINT32, 32, 0, v);
}
static void m_decreasing_offsets(hid_t f) { poke_u64(f, "/index/token_offset", 3, 0); }
static void m_offsets_not_from_zero(hid_t f) { poke_u64(f, "/index/chunk_offset", 0, 1); }
static void m_offsets_past_data(hid_t f) { poke_u64(f, "/index/block_offset", 5, 13); }
static void m_2d_role(hid_t f)
{
    uint8_t v[5] = {0};
    put(f, "/requests/role", H5T_STD_U8LE, H5T_NATIVE_UINT8, 5, 1, v);
}
static void m_text_is_group(hid_t f)
{
    del(f, "/text");
    hid_t g = H5Gcreate2(f, "/text", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    H5Gclose(g);
}
static void m_huge_unwritten(hid_t f)
{
    put(f, "/text", H5T_STD_U8LE, H5T_NATIVE_UINT8, (hsize_t)1 << 40, 0, NULL);
}
static void m_tenant_range(hid_t f) { poke_u32(f, "/requests/tenant", 2, 99); }
static void m_role(hid_t f) { poke_u8(f, "/requests/role", 0, 7); }
static void m_backwards(hid_t f) { poke_i64(f, "/requests/arrival_ns", 2, 5); }
static void m_negative_arrival(hid_t f) { poke_i64(f, "/requests/arrival_ns", 0, -5); }
static void m_chunk_kind(hid_t f) { poke_u8(f, "/chunks/kind", 1, 9); }
static void m_chunk_text(hid_t f) { poke_u64(f, "/chunks/text_offset", 0, UINT64_MAX - 2); }
static void m_chunk_tokens(hid_t f) { poke_u32(f, "/chunks/token_len", 0, 1000); }
static void m_block_count(hid_t f) { poke_u32(f, "/requests/input_tokens", 0, 100); }
static void m_bad_utf8(hid_t f) { poke_u8(f, "/text", 1, 0xFF); }
static void m_schema_newer(hid_t f) { set_attr_i64(f, "schema_version", 2); }
static void m_schema_zero(hid_t f) { set_attr_i64(f, "schema_version", 0); }
static void m_format_other(hid_t f) { set_attr_str(f, "format", "results"); }
static void m_format_missing(hid_t f) { assert_true(H5Adelete(f, "format") >= 0); }
static void m_timed_absurd(hid_t f) { set_attr_i64(f, "timed", 5); }
static void m_block_size_string(hid_t f) { set_attr_str(f, "block_size", "512"); }
static void m_block_size_missing(hid_t f) { assert_true(H5Adelete(f, "block_size") >= 0); }
static void m_emb_shape(hid_t f)
{
    float v[10] = {0};
    put(f, "/embeddings", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 5, 2, v);
}
static void m_emb_without_dim(hid_t f) { set_attr_i64(f, "embedding_dim", 0); }
static void m_emb_missing(hid_t f) { del(f, "/embeddings"); }
static void m_dup_tenants(hid_t f)
{
    const char *v[3] = {"a", "b", "a"};
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    put(f, "/tenants/name", t, t, 3, 0, v);
    H5Tclose(t);
}
static void m_tenants_not_strings(hid_t f)
{
    uint32_t v[3] = {1, 2, 3};
    put(f, "/tenants/name", H5T_STD_U32LE, H5T_NATIVE_UINT32, 3, 0, v);
}

static const struct bad_case {
    const char *name;
    void (*mutate)(hid_t f);
    int code;
    const char *field;
    long line; /* -1: not checked */
} bad_cases[] = {
    {"missing dataset", m_missing_dataset, CC_EFORMAT, "/requests/turn", 0},
    {"missing group", m_missing_group, CC_EFORMAT, "/chunks/text_offset", 0},
    {"wrong dtype (int32 for uint32)", m_wrong_dtype, CC_EFORMAT, "/requests/input_tokens", 0},
    {"wrong dtype (float64 hashes)", m_float_hashes, CC_EFORMAT, "/blocks/hash", 0},
    {"column shorter than n", m_short_column, CC_EFORMAT, "/requests/output_tokens", 0},
    {"data longer than its offsets", m_long_tokens, CC_EFORMAT, "/tokens/id", 0},
    {"decreasing offsets", m_decreasing_offsets, CC_EFORMAT, "/index/token_offset", 4},
    {"offsets not from 0", m_offsets_not_from_zero, CC_EFORMAT, "/index/chunk_offset", 1},
    {"offsets exceed the data", m_offsets_past_data, CC_EFORMAT, "/blocks/hash", 0},
    {"2-D where 1-D expected", m_2d_role, CC_EFORMAT, "/requests/role", 0},
    {"a group where a dataset belongs", m_text_is_group, CC_EFORMAT, "/text", 0},
    {"absurd size, never written", m_huge_unwritten, CC_EFORMAT, "/text", 0},
    {"tenant index out of range", m_tenant_range, CC_ERANGE, "/requests/tenant", 3},
    {"unknown role", m_role, CC_ERANGE, "/requests/role", 1},
    {"arrival goes backwards", m_backwards, CC_ERANGE, "/requests/arrival_ns", 3},
    {"negative arrival", m_negative_arrival, CC_ERANGE, "/requests/arrival_ns", 1},
    {"unknown chunk kind", m_chunk_kind, CC_ERANGE, "/chunks/kind", 2},
    {"chunk outside the text (overflow)", m_chunk_text, CC_EFORMAT, "/chunks/text_offset", 1},
    {"chunk outside its tokens", m_chunk_tokens, CC_EFORMAT, "/chunks/token_start", 1},
    {"blocks do not match input length", m_block_count, CC_EFORMAT, "/index/block_offset", 1},
    {"invalid UTF-8 text", m_bad_utf8, CC_EFORMAT, "/text", 2},
    {"newer schema version", m_schema_newer, CC_EUNSUP, "/@schema_version", 0},
    {"schema version 0", m_schema_zero, CC_EFORMAT, "/@schema_version", 0},
    {"another HDF5 format", m_format_other, CC_EFORMAT, "/@format", 0},
    {"no format attribute", m_format_missing, CC_EFORMAT, "/@format", 0},
    {"timed is 5", m_timed_absurd, CC_ERANGE, "/@timed", 0},
    {"block_size is a string", m_block_size_string, CC_EFORMAT, "/@block_size", 0},
    {"block_size missing", m_block_size_missing, CC_EFORMAT, "/@block_size", 0},
    {"embeddings of the wrong width", m_emb_shape, CC_EFORMAT, "/embeddings", 0},
    {"embeddings but embedding_dim 0", m_emb_without_dim, CC_EFORMAT, "/embeddings", 0},
    {"embedding_dim but no embeddings", m_emb_missing, CC_EFORMAT, "/embeddings", 0},
    {"duplicate tenant names", m_dup_tenants, CC_EFORMAT, "/tenants/name", 3},
    {"tenant names not strings", m_tenants_not_strings, CC_EFORMAT, "/tenants/name", 0},
};

static void copy_file(const char *from, const char *to)
{
    size_t n;
    unsigned char *b = (unsigned char *)tu_slurp(from, &n);
    FILE *f = fopen(to, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(b, 1, n, f), n);
    fclose(f);
    free(b);
}

/* build_rich's trace written to a temporary file of that name. */
static void rich_file(char *path, size_t len, const char *name)
{
    cc_trace t;
    build_rich(&t);
    cc_err e = {0};
    tu_tmp_path(path, len, name);
    assert_int_equal(cc_write_h5(&t, path, &e), CC_OK);
    cc_trace_free(&t);
}

/* bad = a copy of good with mutate applied. */
static void mutated_copy(const char *good, const char *bad, void (*mutate)(hid_t f))
{
    copy_file(good, bad);
    hid_t f = H5Fopen(bad, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(f >= 0);
    mutate(f);
    assert_true(H5Fclose(f) >= 0);
}

static void test_bad_files(void **state)
{
    (void)state;
    cc_trace u;
    cc_err e = {0};
    char good[512], bad[512];
    rich_file(good, sizeof good, "good.h5");
    tu_tmp_path(bad, sizeof bad, "bad.h5");
    for (size_t i = 0; i < sizeof bad_cases / sizeof bad_cases[0]; i++) {
        const struct bad_case *c = &bad_cases[i];
        mutated_copy(good, bad, c->mutate);
        cc_err_clear(&e);
        int rc = cc_read_h5(bad, NULL, &u, &e);
        if (rc != c->code || strcmp(e.field, c->field) != 0 || (c->line >= 0 && e.line != c->line))
            fail_msg("case '%s': got %s, field '%s', line %ld (%s); expected %s, field '%s', "
                     "line %ld", c->name, cc_status_name(rc), e.field, e.line, e.msg,
                     cc_status_name(c->code), c->field, c->line);
        assert_string_equal(e.file, bad);
        assert_true(strlen(e.msg) > 10);
        assert_int_equal(u.n, 0); /* no partial trace */
        assert_null(u.arrival_ns);
    }
    remove(bad);
    remove(good);
}

/* The window reader (traces/stream.c over trace_h5.c) checks each request
 * as the whole reader does: a file with one bad request fails streamed with
 * the whole read's code, field and line, whatever window the request falls
 * in (windows of 1, 2 and 1,000 requests), and nothing before it is lost. */
static void m_arrival_past_max(hid_t f) /* the last request's (no later one goes backwards) */
{
    hid_t ds = H5Dopen2(f, "/requests/arrival_ns", H5P_DEFAULT), sp = H5Dget_space(ds);
    hsize_t n = 0;
    assert_int_equal(H5Sget_simple_extent_dims(sp, &n, NULL), 1);
    H5Sclose(sp);
    H5Dclose(ds);
    assert_true(n >= 2);
    poke_i64(f, "/requests/arrival_ns", n - 1, INT64_C(1) << 62 | 1);
}
static void m_block_offsets_down(hid_t f) { poke_u64(f, "/index/block_offset", 2, 1); }
static void m_block_count_short(hid_t f) { poke_u32(f, "/requests/input_tokens", 1, 1); }

static void test_bad_files_streamed(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        void (*mutate)(hid_t f);
    } cases[] = {
        {"arrival goes backwards", m_backwards},
        {"negative arrival", m_negative_arrival},
        {"arrival past 2^62 ns", m_arrival_past_max},
        {"blocks do not match input length", m_block_count},
        {"fewer input tokens than blocks", m_block_count_short},
        {"block offsets go down", m_block_offsets_down},
    };
    cc_trace u;
    cc_err e = {0}, s = {0};
    char good[512], bad[512];
    rich_file(good, sizeof good, "good_st.h5");
    tu_tmp_path(bad, sizeof bad, "bad_st.h5");
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        mutated_copy(good, bad, cases[i].mutate);
        cc_err_clear(&e);
        int whole = cc_read_h5(bad, NULL, &u, &e);
        if (whole == CC_OK)
            fail_msg("case '%s': the whole read accepts it", cases[i].name);
        size_t windows[] = {1, 2, 1000};
        for (size_t k = 0; k < 3; k++) {
            cc_trace_stream *ts;
            cc_err_clear(&s);
            assert_int_equal(cc_trace_stream_open(bad, NULL, NULL, windows[k], &ts, &s), CC_OK);
            const cc_trace *w;
            int rc;
            uint64_t seen = 0;
            while ((rc = cc_trace_stream_next(ts, &w, &s)) == CC_OK && w->n)
                seen += w->n;
            cc_trace_stream_close(ts);
            /* (where the whole read names no line -- its range check of
             * arrivals runs over the trace after the per-request ones --
             * the streamed one must still name the request's) */
            if (rc != whole || strcmp(s.field, e.field) != 0 ||
                (e.line > 0 ? s.line != e.line || strcmp(s.msg, e.msg) != 0 : s.line < 1))
                fail_msg("case '%s', window %zu: streamed %s field '%s' line %ld (%s); whole "
                         "%s field '%s' line %ld (%s)", cases[i].name, windows[k],
                         cc_status_name(rc), s.field, s.line, s.msg, cc_status_name(whole),
                         e.field, e.line, e.msg);
            /* the windows before the faulty request's came through */
            assert_true(seen + windows[k] >= (uint64_t)s.line - 1);
        }
    }
    remove(bad);
    remove(good);
}

/* Not HDF5, empty, truncated at several points, bytes overwritten: each a
 * clean error (or, for harmless damage, a trace that validates), never a
 * crash; a missing file is CC_EIO. */
static void test_not_hdf5_truncated_corrupt(void **state)
{
    (void)state;
    cc_trace t, u;
    build_rich(&t);
    cc_err e = {0};
    char good[512], bad[512];
    tu_tmp_path(good, sizeof good, "good2.h5");
    tu_tmp_path(bad, sizeof bad, "bad2.h5");
    assert_int_equal(cc_write_h5(&t, good, &e), CC_OK);
    cc_trace_free(&t);

    const char text[] = "{\"timestamp\": 0, \"input_length\": 1}\n";
    tu_write_tmp(bad, sizeof bad, "bad2.h5", text, sizeof text - 1);
    assert_int_equal(cc_read_h5(bad, NULL, &u, &e), CC_EFORMAT);
    assert_string_equal(e.field, "/");
    assert_non_null(strstr(e.msg, "HDF5"));
    tu_write_tmp(bad, sizeof bad, "bad2.h5", "", 0);
    assert_int_equal(cc_read_h5(bad, NULL, &u, &e), CC_EFORMAT);
    assert_string_equal(e.field, "/");

    size_t n;
    unsigned char *img = (unsigned char *)tu_slurp(good, &n);
    size_t cuts[] = {8, 100, 512, n / 3, n / 2, n - 1000, n - 1};
    for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
        tu_write_tmp(bad, sizeof bad, "bad2.h5", img, cuts[i]);
        cc_err_clear(&e);
        int rc = cc_read_h5(bad, NULL, &u, &e);
        if (rc != CC_EFORMAT || e.field[0] != '/')
            fail_msg("cut at %zu of %zu: got %s field '%s': %s", cuts[i], n,
                     cc_status_name(rc), e.field, e.msg);
    }
    /* overwrite 4 bytes at many places: metadata, compressed chunks, data */
    int errors = 0, accepted = 0;
    for (size_t at = 0; at + 4 <= n; at += 97) {
        unsigned char *c = malloc(n);
        memcpy(c, img, n);
        memset(c + at, 0xA5, 4);
        tu_write_tmp(bad, sizeof bad, "bad2.h5", c, n);
        free(c);
        cc_err_clear(&e);
        int rc = cc_read_h5(bad, NULL, &u, &e);
        if (rc == CC_OK) {
            assert_int_equal(cc_trace_validate(&u, bad, &e), CC_OK);
            cc_trace_free(&u);
            accepted++;
        } else {
            if (e.msg[0] == '\0' || e.field[0] != '/')
                fail_msg("damage at %zu: %s without a path or message", at, cc_status_name(rc));
            errors++;
        }
    }
    printf("corruption sweep: %d rejected, %d harmless of %zu bytes\n", errors, accepted, n);
    assert_true(errors > 0);
    free(img);

    assert_int_equal(cc_read_h5("build/tmp/no-such-file.h5", NULL, &u, &e), CC_EIO);
    assert_string_equal(e.file, "build/tmp/no-such-file.h5");
    remove(bad);
    remove(good);
}

/* ---- the command -------------------------------------------------------------- */

static void test_cli_convert_round_trip(void **state)
{
    (void)state;
    cc_trace t, u;
    build_rich(&t);
    cc_err e = {0};
    char x[512], y[512], cmd[2200];
    tu_tmp_path(x, sizeof x, "cli_x.h5");
    tu_tmp_path(y, sizeof y, "cli_y.h5");
    assert_int_equal(cc_write_h5(&t, x, &e), CC_OK);
    char *out;
    snprintf(cmd, sizeof cmd, "%s trace convert '%s' '%s'", tu_bin(), x, y);
    int st = tu_run(cmd, &out);
    if (st != 0)
        fail_msg("%s: exit %d: %s", cmd, st, out);
    free(out);
    assert_int_equal(cc_read_h5(y, NULL, &u, &e), CC_OK);
    assert_traces_equal(&t, &u);
    cc_trace_free(&u);
    /* same trace, same bytes, also through the command */
    size_t n1, n2;
    unsigned char *b1 = (unsigned char *)tu_slurp(x, &n1), *b2 = (unsigned char *)tu_slurp(y, &n2);
    assert_int_equal(n1, n2);
    assert_memory_equal(b1, b2, n1);
    free(b1);
    free(b2);

    snprintf(cmd, sizeof cmd, "%s trace stats '%s' --json", tu_bin(), y);
    st = tu_run(cmd, &out);
    assert_int_equal(st, 0);
    assert_non_null(strstr(out, "\"requests\": 5"));
    free(out);

    /* a damaged file: exit 1, our message, none of HDF5's own diagnostics */
    FILE *f = fopen(y, "r+b");
    assert_non_null(f);
    assert_int_equal(ftruncate(fileno(f), file_size(y) / 2), 0);
    fclose(f);
    snprintf(cmd, sizeof cmd, "%s trace stats '%s'", tu_bin(), y);
    st = tu_run(cmd, &out);
    assert_int_equal(st, 1);
    assert_non_null(strstr(out, "field '/'"));
    assert_null(strstr(out, "HDF5-DIAG"));
    free(out);
    cc_trace_free(&t);
    remove(x);
    remove(y);
}

/* The memory bound (traces.h): the reader holds the file image and takes
 * each column as it reads it.  Counted by hand for a hash-only trace of n
 * requests and 3n blocks: the image (its size on disk), 41 bytes a request
 * of fixed columns (arrival 8, session 8, turn 4, tenant 4, input 4, output
 * 4, group 8, role 1), three offset columns of n + 1 u64, 8 a block hash,
 * and one byte for the (empty) text arena's NUL.  That bound fits; a byte
 * less fails at /text, the last thing taken; the first column fails when
 * only the image fits, and the file itself when it alone is too large. */
static void test_memory_bound(void **state)
{
    (void)state;
    const uint64_t n = 300;
    cc_trace t, u;
    cc_err e = {0};
    char path[512];
    tu_tmp_path(path, sizeof path, "bound.h5");
    cc_trace_init(&t);
    t.block_size = 512;
    t.timed = true;
    for (uint64_t i = 0; i < n; i++) {
        uint64_t b[3] = {0, i + 1, i * 1000 + 7};
        cc_request r = {.arrival_ns = (int64_t)i * 1000000, .input_tokens = 1100,
                        .output_tokens = 10, .group_id = CC_NO_GROUP, .blocks = b, .n_blocks = 3};
        assert_int_equal(cc_trace_append(&t, &r), CC_OK);
    }
    assert_int_equal(cc_write_h5(&t, path, &e), CC_OK);
    const uint64_t image = (uint64_t)file_size(path);
    const uint64_t exact = image + 41 * n + 3 * 8 * (n + 1) + 8 * 3 * n + 1;
    cc_read_opts o = {0};
    o.max_bytes = exact;
    assert_int_equal(cc_read_h5(path, &o, &u, &e), CC_OK);
    assert_traces_equal(&t, &u);
    cc_trace_free(&u);
    o.max_bytes = exact - 1;
    assert_int_equal(cc_read_h5(path, &o, &u, &e), CC_ENOMEM);
    assert_string_equal(e.field, "/text");
    assert_non_null(strstr(e.msg, "CTXCACHE_MAX_MEMORY"));
    assert_int_equal(u.n, 0);
    o.max_bytes = image + 8 * n - 1;
    assert_int_equal(cc_read_h5(path, &o, &u, &e), CC_ENOMEM);
    assert_string_equal(e.field, "/requests/arrival_ns");
    o.max_bytes = image - 1;
    assert_int_equal(cc_read_h5(path, &o, &u, &e), CC_ENOMEM);
    assert_string_equal(e.file, path);
    assert_non_null(strstr(e.msg, "the file image"));
    cc_trace_free(&t);
    remove(path);
}

int main(void)
{
    /* The corruption sweep leaves libhdf5 1.10 unable to close a file whose
     * object header failed its checksum (its bug, not a reader's); its exit
     * handler would then print "infinite loop closing library".  Nothing here
     * needs that handler: every file is closed explicitly. */
    H5dont_atexit();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip_rich),
        cmocka_unit_test(test_round_trip_empty_and_hash_only),
        cmocka_unit_test(test_deterministic_bytes),
        cmocka_unit_test(test_atomic_write),
        cmocka_unit_test(test_detect),
        cmocka_unit_test(test_h5py_reads_it),
        cmocka_unit_test(test_h5py_writes_it),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_bad_files_streamed),
        cmocka_unit_test(test_not_hdf5_truncated_corrupt),
        cmocka_unit_test(test_cli_convert_round_trip),
        cmocka_unit_test(test_memory_bound),
    };
    return cmocka_run_group_tests_name("trace_h5", tests, NULL, NULL);
}
