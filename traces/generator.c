/*
 * generator.c -- synthetic workloads from a spec (ctxcache gen).
 *
 * What a workload is.  New sessions arrive by an arrival process (Poisson;
 * gamma inter-arrivals with a mean rate and coefficient of variation; a
 * diurnal Poisson process whose rate follows a sinusoid, drawn by thinning;
 * or the inter-arrival times of a real trace, cycled).  Each session is of
 * one kind, drawn by the [mix] weights, and served by one tenant, drawn by
 * the [tenants] weights; it may start with a shared system prompt, drawn by
 * Zipf popularity:
 *   chat        multi-turn: turn k+1 = turn k's prompt + turn k's answer +
 *               a new user message, arriving a think time after turn k, so
 *               its block chain extends turn k's;
 *   doc         a shared document (Zipf) and a question about it;
 *   rag         several passages from a corpus (Zipf, distinct, shuffled or
 *               by rank) and a question: the same passage appears at many
 *               positions (PASSAGE chunks with equal chunk_hash);
 *   paraphrase  a question from a paraphrase group (Zipf): requests of one
 *               group share group_id and word it differently (gentext.c),
 *               except the exact groups, which repeat one wording.
 * Requests come out in arrival order: new sessions and the next turns of
 * open sessions (a min-heap keyed by arrival) are merged; generation stops
 * at [workload] requests, cutting the sessions still open.
 *
 * Tokens.  Shared content (system prompt i, document i, passage i) has token
 * ids drawn from an mt19937 seeded with (entity base + global entity index),
 * generated at first use and cached, so the same entity has the same tokens
 * in every request; content seen once (user messages, answers, questions)
 * comes from a sequential content stream.  Paraphrase questions are real
 * English, tokenized with the built-in tokenizer.  Text (text = shared: the
 * shared content and paraphrases; all: every chunk) renders synthetic ids as
 * pseudo-words.  A chunk without text gets chunk_hash = hash of its tokens.
 *
 * Randomness.  One gsl_rng (mt19937) seeded with the seed; it draws the
 * seeds of the sub-streams (arrivals, session choices, lengths, picks,
 * content, entity base), each its own mt19937, so a change to one part of a
 * spec (say the mix) leaves the arrival times alone.  Same spec + seed =>
 * identical trace.
 *
 * Cost: O(total tokens of new content + block hashes) time; a chat turn
 * hashes only its new blocks (the earlier full blocks are copied).  Memory:
 * the trace itself (token ids, when kept, grow with each turn's context),
 * the cached shared entities, and per open session ~56 bytes plus, without
 * token ids, the tokens of its last partial block.
 */
#include "gen_int.h"

#include <errno.h>
#include <gsl/gsl_randist.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define NO_ENTITY UINT64_MAX
#define MAX_T_S 9.2e9 /* seconds: arrival_ns must stay below 2^63 */

/* ---- distributions and Zipf ------------------------------------------------- */

double cc_gen_draw(const cc_gen_dist *d, gsl_rng *r)
{
    double x = d->p1;
    switch (d->kind) {
    case CC_GEN_D_FIXED: x = d->p1; break;
    case CC_GEN_D_UNIFORM:
        x = d->is_int ? d->p1 + (double)gsl_rng_uniform_int(r, (unsigned long)(d->p2 - d->p1) + 1)
                      : gsl_ran_flat(r, d->p1, d->p2);
        break;
    case CC_GEN_D_LOGNORMAL: x = gsl_ran_lognormal(r, d->p1, d->p2); break;
    case CC_GEN_D_EXPONENTIAL: x = gsl_ran_exponential(r, d->p1); break;
    case CC_GEN_D_GEOMETRIC: x = gsl_ran_geometric(r, d->p1); break;
    }
    if (d->is_int)
        x = floor(x + 0.5);
    if (x < d->lo)
        x = d->lo;
    if (x > d->hi)
        x = d->hi;
    return x;
}

/* Zipf over ranks 0..n-1 (rank k has weight (k+1)^-s): inverse CDF over the
 * precomputed cumulative weights, binary search.  8 bytes per rank, O(log n)
 * per draw. */
typedef struct zipf {
    double *cdf;
    size_t n;
} zipf;

static int zipf_init(zipf *z, size_t n, double s)
{
    z->n = n;
    z->cdf = malloc((n ? n : 1) * sizeof *z->cdf);
    if (!z->cdf)
        return CC_ENOMEM;
    double acc = 0;
    for (size_t k = 0; k < n; k++) {
        acc += pow((double)(k + 1), -s);
        z->cdf[k] = acc;
    }
    for (size_t k = 0; k < n; k++)
        z->cdf[k] /= acc;
    if (n)
        z->cdf[n - 1] = 1.0;
    return CC_OK;
}

static size_t zipf_draw(const zipf *z, gsl_rng *r)
{
    double u = gsl_rng_uniform(r); /* [0, 1) */
    size_t lo = 0, hi = z->n - 1;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (z->cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* ---- generator state --------------------------------------------------------- */

/* Shared content of one kind: entity i is generated at first use. */
typedef struct entity_set {
    size_t n;
    uint32_t seed_base;       /* entity i's stream seed: seed_base + i (mod 2^32) */
    const cc_gen_dist *len;
    uint32_t chunk_kind;
    uint64_t *tok_off;        /* into gen.ent_tok; NO_ENTITY until generated */
    uint32_t *tok_len;
    uint64_t *text_off;       /* into the trace's text arena */
    uint32_t *text_len;
    uint64_t *hash;           /* chunk hash of the whole entity */
} entity_set;

/* The next turn of an open chat session. */
typedef struct pending {
    int64_t at_ns;
    uint64_t session;
    uint64_t prev_row;        /* the session's previous request in the trace */
    uint64_t tail_off;        /* without token ids: the previous prompt's partial */
    uint32_t tail_len;        /*   last block, in gen.tails */
    uint32_t turn, turns, tenant;
} pending;

/* The prompt being built.  tok holds tokens from absolute position base on
 * (the whole prompt when token ids are kept); blk holds the chain up to
 * hash_from, a block boundary; finish() hashes the rest. */
typedef struct prompt {
    uint32_t *tok;
    size_t ntok, cap_tok;
    uint64_t base, hash_from;
    uint64_t *blk;
    size_t nblk, cap_blk;
    cc_chunk *ch;
    size_t nch, cap_ch;
} prompt;

typedef struct gen {
    const cc_gen_spec *s;
    cc_trace *t;
    cc_err *err;
    gsl_rng *r_arr, *r_sess, *r_len, *r_pick, *r_content, *r_ent;
    gsl_ran_discrete_t *mix, *tenants;
    zipf z_sys, z_doc, z_rag, z_para;
    entity_set sys, doc, pas;
    uint32_t *ent_tok;
    size_t ent_tok_len, ent_tok_cap;
    /* arrivals */
    double t_s;
    int64_t trace_t_ns;
    int64_t *gaps_ns;
    size_t n_gaps, next_gap;
    bool first_arrival;
    /* open chat sessions */
    pending *heap;
    size_t heap_n, heap_cap;
    uint32_t *tails;
    size_t tails_len, tails_cap, tails_live;
    uint64_t next_session;
    /* scratch */
    prompt p;
    char *tbuf;
    size_t tbuf_len, tbuf_cap;
    uint64_t *rag_ids;
    size_t rag_cap;
    uint64_t *rag_mark;       /* per passage: stamp of the last request that took it */
    char *pbuf;               /* a paraphrase question's text ... */
    size_t pbuf_len, pbuf_cap;
    uint32_t *qtok;           /* ... and its tokens */
    size_t qtok_cap;
    /* paraphrases */
    cc_tokenizer *tk;
    uint8_t *para_exact;
    cc_u64map para_text;      /* text hash -> offset in the arena (dedup of wordings) */
    bool para_text_init;
} gen;

static int oom(gen *g)
{
    return cc_err_set(g->err, CC_ENOMEM, g->s->name, 0, NULL, "out of memory while generating");
}

/* ---- arrivals ---------------------------------------------------------------- */

static int arrival_next(gen *g, int64_t *at)
{
    const cc_gen_spec *s = g->s;
    switch (s->process) {
    case CC_GEN_ARR_POISSON: g->t_s += gsl_ran_exponential(g->r_arr, 1.0 / s->rate); break;
    case CC_GEN_ARR_GAMMA: {
        double k = 1.0 / (s->cv * s->cv);
        g->t_s += gsl_ran_gamma(g->r_arr, k, 1.0 / (s->rate * k));
        break;
    }
    case CC_GEN_ARR_DIURNAL: {
        /* thinning (Lewis & Shedler): candidates at the peak rate, each kept
         * with probability rate(t) / peak rate */
        double lmax = s->rate * (1 + s->amplitude);
        for (;;) {
            g->t_s += gsl_ran_exponential(g->r_arr, 1.0 / lmax);
            double phase = 2 * M_PI * (g->t_s - s->peak_s) / s->period_s;
            double lt = s->rate * (1 + s->amplitude * cos(phase));
            if (gsl_rng_uniform(g->r_arr) * lmax < lt || g->t_s > MAX_T_S)
                break;
        }
        break;
    }
    case CC_GEN_ARR_TRACE: {
        if (g->first_arrival) {
            g->first_arrival = false;
            *at = 0;
            return CC_OK;
        }
        int64_t gap = g->gaps_ns[g->next_gap];
        g->next_gap = (g->next_gap + 1) % g->n_gaps; /* cycled when the trace is shorter */
        if (s->time_scale != 1.0)
            gap = llround((double)gap * s->time_scale);
        if (g->trace_t_ns > INT64_MAX - gap)
            return cc_err_set(g->err, CC_ERANGE, s->name, s->line_of[K_PROCESS],
                              "arrival.process", "arrival times passed 2^63 ns (292 years) "
                              "after %zu requests", g->t->n);
        g->trace_t_ns += gap;
        *at = g->trace_t_ns;
        return CC_OK;
    }
    }
    if (g->t_s > MAX_T_S)
        return cc_err_set(g->err, CC_ERANGE, s->name, s->line_of[K_RATE], "arrival.rate",
                          "arrival times passed 2^63 ns (292 years) after %zu requests; "
                          "expected a higher rate", g->t->n);
    *at = llround(g->t_s * 1e9);
    return CC_OK;
}

static int arrival_init_trace(gen *g)
{
    const cc_gen_spec *s = g->s;
    cc_trace src;
    int rc = cc_trace_read(s->trace_path, s->trace_format[0] ? s->trace_format : NULL, NULL,
                           &src, g->err);
    if (rc != CC_OK) {
        if (g->err) {
            size_t u = strlen(g->err->msg);
            snprintf(g->err->msg + u, sizeof g->err->msg - u,
                     " (the arrival trace of %s, line %ld)", s->name, s->line_of[K_PROCESS]);
        }
        return rc;
    }
    if (!src.timed || src.n < 2) {
        cc_trace_free(&src);
        return cc_err_set(g->err, CC_EFORMAT, s->name, s->line_of[K_PROCESS], "arrival.process",
                          "%s: %s; expected a trace with arrival times and at least 2 requests",
                          s->trace_path, src.timed ? "fewer than 2 requests" : "no arrival times");
    }
    g->n_gaps = src.n - 1;
    g->gaps_ns = malloc(g->n_gaps * sizeof *g->gaps_ns);
    if (!g->gaps_ns) {
        cc_trace_free(&src);
        return oom(g);
    }
    for (size_t i = 0; i < g->n_gaps; i++)
        g->gaps_ns[i] = src.arrival_ns[i + 1] - src.arrival_ns[i];
    cc_trace_free(&src);
    g->first_arrival = true;
    return CC_OK;
}

/* ---- heap of open sessions ------------------------------------------------------ */

static bool before(const pending *a, const pending *b)
{
    return a->at_ns < b->at_ns || (a->at_ns == b->at_ns && a->session < b->session);
}

static int heap_push(gen *g, const pending *x)
{
    if (cc_grow((void **)&g->heap, &g->heap_cap, g->heap_n + 1, sizeof *g->heap))
        return CC_ENOMEM;
    size_t i = g->heap_n++;
    while (i && before(x, &g->heap[(i - 1) / 2])) {
        g->heap[i] = g->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    g->heap[i] = *x;
    return CC_OK;
}

static pending heap_pop(gen *g)
{
    pending top = g->heap[0], last = g->heap[--g->heap_n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= g->heap_n)
            break;
        if (c + 1 < g->heap_n && before(&g->heap[c + 1], &g->heap[c]))
            c++;
        if (!before(&g->heap[c], &last))
            break;
        g->heap[i] = g->heap[c];
        i = c;
    }
    if (g->heap_n)
        g->heap[i] = last;
    return top;
}

/* Stores a session's partial last block (without token ids); compacts the
 * store when less than half of it is live. */
static int tail_store(gen *g, const uint32_t *tok, uint32_t n, uint64_t *off)
{
    if (g->tails_len > 2 * g->tails_live + 65536) {
        uint32_t *fresh = malloc((g->tails_live + 1) * sizeof *fresh);
        if (!fresh)
            return CC_ENOMEM;
        size_t pos = 0;
        for (size_t i = 0; i < g->heap_n; i++) {
            memcpy(fresh + pos, g->tails + g->heap[i].tail_off,
                   g->heap[i].tail_len * sizeof *fresh);
            g->heap[i].tail_off = pos;
            pos += g->heap[i].tail_len;
        }
        free(g->tails);
        g->tails = fresh;
        g->tails_cap = g->tails_live + 1;
        g->tails_len = pos;
    }
    if (cc_grow((void **)&g->tails, &g->tails_cap, g->tails_len + n + 1, sizeof *g->tails))
        return CC_ENOMEM;
    memcpy(g->tails + g->tails_len, tok, n * sizeof *tok);
    *off = g->tails_len;
    g->tails_len += n;
    g->tails_live += n;
    return CC_OK;
}

/* ---- prompts ------------------------------------------------------------------------ */

static void prompt_reset(prompt *p)
{
    p->ntok = p->nblk = p->nch = 0;
    p->base = p->hash_from = 0;
}

static uint64_t prompt_len(const prompt *p)
{
    return p->base + p->ntok;
}

static int prompt_reserve(prompt *p, size_t more)
{
    return cc_grow((void **)&p->tok, &p->cap_tok, p->ntok + more, sizeof *p->tok);
}

static int add_chunk(prompt *p, uint32_t kind, uint64_t start, uint32_t len, uint64_t text_off,
                     uint32_t text_len, uint64_t hash)
{
    if (cc_grow((void **)&p->ch, &p->cap_ch, p->nch + 1, sizeof *p->ch))
        return CC_ENOMEM;
    cc_chunk *c = &p->ch[p->nch++];
    c->text_off = text_off;
    c->text_len = text_len;
    c->kind = kind;
    c->token_start = (uint32_t)start;
    c->token_len = len;
    c->chunk_hash = hash; /* of the text, or of the tokens for a chunk without text */
    return CC_OK;
}

/* Text (when wanted) and hash of tokens tok[0..n) just rendered fresh. */
static int text_and_hash(gen *g, const uint32_t *tok, size_t n, bool with_text, uint64_t *off,
                         uint32_t *len, uint64_t *hash)
{
    *off = 0;
    *len = 0;
    if (!with_text) {
        *hash = cc_hash_bytes(tok, n * sizeof *tok, 0);
        return CC_OK;
    }
    g->tbuf_len = 0;
    if (cc_gen_words(tok, n, &g->tbuf, &g->tbuf_len, &g->tbuf_cap) ||
        cc_trace_add_text(g->t, g->tbuf, g->tbuf_len, off))
        return CC_ENOMEM;
    *len = (uint32_t)g->tbuf_len;
    *hash = cc_hash_bytes(g->tbuf, g->tbuf_len, 0);
    return CC_OK;
}

static int entity_ensure(gen *g, entity_set *es, size_t i)
{
    if (es->tok_off[i] != NO_ENTITY)
        return CC_OK;
    gsl_rng_set(g->r_ent, (unsigned long)(uint32_t)(es->seed_base + (uint32_t)i));
    uint32_t n = (uint32_t)cc_gen_draw(es->len, g->r_ent);
    if (cc_grow((void **)&g->ent_tok, &g->ent_tok_cap, g->ent_tok_len + n, sizeof *g->ent_tok))
        return CC_ENOMEM;
    uint32_t *tok = g->ent_tok + g->ent_tok_len;
    for (uint32_t j = 0; j < n; j++)
        tok[j] = (uint32_t)gsl_rng_uniform_int(g->r_ent, g->s->vocab_size);
    es->tok_off[i] = g->ent_tok_len;
    es->tok_len[i] = n;
    g->ent_tok_len += n;
    return text_and_hash(g, tok, n, g->s->text != CC_GEN_TEXT_NONE, &es->text_off[i],
                         &es->text_len[i], &es->hash[i]);
}

/* Appends entity i, cut to its first max_tokens tokens when longer (a cut
 * entity gets the text and hash of what is left).  whole_only: leave it out
 * instead of cutting it. */
static int add_entity(gen *g, entity_set *es, size_t i, uint64_t max_tokens, bool whole_only)
{
    prompt *p = &g->p;
    if (entity_ensure(g, es, i))
        return CC_ENOMEM;
    uint32_t full = es->tok_len[i];
    uint32_t n = full <= max_tokens ? full : (uint32_t)max_tokens;
    if (n == 0 || (whole_only && n < full))
        return CC_OK;
    if (prompt_reserve(p, n))
        return CC_ENOMEM;
    uint64_t start = prompt_len(p);
    memcpy(p->tok + p->ntok, g->ent_tok + es->tok_off[i], n * sizeof *p->tok);
    p->ntok += n;
    if (n == full)
        return add_chunk(p, es->chunk_kind, start, n, es->text_off[i], es->text_len[i],
                         es->hash[i]);
    uint64_t off, hash;
    uint32_t len;
    if (text_and_hash(g, p->tok + p->ntok - n, n, g->s->text != CC_GEN_TEXT_NONE, &off, &len,
                      &hash))
        return CC_ENOMEM;
    return add_chunk(p, es->chunk_kind, start, n, off, len, hash);
}

/* Appends n tokens of fresh content (a user message, an answer, a question). */
static int add_fresh(gen *g, uint32_t n, uint32_t kind)
{
    prompt *p = &g->p;
    if (n == 0)
        return CC_OK;
    if (prompt_reserve(p, n))
        return CC_ENOMEM;
    uint64_t start = prompt_len(p);
    uint32_t *tok = p->tok + p->ntok;
    for (uint32_t j = 0; j < n; j++)
        tok[j] = (uint32_t)gsl_rng_uniform_int(g->r_content, g->s->vocab_size);
    p->ntok += n;
    uint64_t off, hash;
    uint32_t len;
    if (text_and_hash(g, tok, n, g->s->text == CC_GEN_TEXT_ALL, &off, &len, &hash))
        return CC_ENOMEM;
    return add_chunk(p, kind, start, n, off, len, hash);
}

/* Hashes the blocks from hash_from to the end and appends the request. */
static int finish(gen *g, int64_t at_ns, uint64_t session, uint32_t turn, uint32_t tenant,
                  uint32_t output_tokens, uint64_t group)
{
    prompt *p = &g->p;
    uint32_t bs = g->s->block_size;
    uint64_t total = prompt_len(p);
    size_t need = p->nblk + (size_t)((total - p->hash_from + bs - 1) / bs);
    if (cc_grow((void **)&p->blk, &p->cap_blk, need + 1, sizeof *p->blk))
        return CC_ENOMEM;
    uint64_t h = p->nblk ? p->blk[p->nblk - 1] : CC_BLOCK_HASH_ROOT;
    for (uint64_t pos = p->hash_from; pos < total; pos += bs) {
        uint64_t len = total - pos < bs ? total - pos : bs;
        h = cc_block_hash(h, tenant, p->tok + (pos - p->base), (size_t)len);
        p->blk[p->nblk++] = h;
    }
    cc_request r;
    memset(&r, 0, sizeof r);
    r.arrival_ns = at_ns;
    r.session_id = session;
    r.turn = turn;
    r.tenant = tenant;
    r.input_tokens = (uint32_t)total;
    r.output_tokens = output_tokens;
    r.group_id = group;
    r.role = CC_ROLE_QUERY;
    r.n_blocks = (uint32_t)p->nblk;
    r.blocks = p->blk;
    if (g->s->token_ids) {
        r.n_token_ids = (uint32_t)p->ntok;
        r.token_ids = p->tok;
    }
    r.n_chunks = (uint32_t)p->nch;
    r.chunks = p->ch;
    return cc_trace_append(g->t, &r) ? CC_ENOMEM : CC_OK;
}

/* After a chat turn: schedule the next one, if the session has one. */
static int schedule_next(gen *g, const pending *cur)
{
    const cc_gen_spec *s = g->s;
    if (cur->turn + 1 >= cur->turns)
        return CC_OK;
    double think = cc_gen_draw(&s->think_s, g->r_sess);
    int64_t think_ns = llround(think * 1e9);
    if (cur->at_ns > INT64_MAX - think_ns)
        return cc_err_set(g->err, CC_ERANGE, s->name, s->line_of[K_THINK],
                          "sessions.think_time_s", "arrival times passed 2^63 ns (292 years) "
                          "after %zu requests", g->t->n);
    pending nx = *cur;
    nx.at_ns = cur->at_ns + think_ns;
    nx.turn = cur->turn + 1;
    nx.prev_row = g->t->n - 1;
    nx.tail_len = 0;
    nx.tail_off = 0;
    if (!s->token_ids) {
        const prompt *p = &g->p;
        uint32_t tail = (uint32_t)(prompt_len(p) % s->block_size);
        if (tail && tail_store(g, p->tok + p->ntok - tail, tail, &nx.tail_off))
            return CC_ENOMEM;
        nx.tail_len = tail;
    }
    return heap_push(g, &nx) ? CC_ENOMEM : CC_OK;
}

/* ---- request kinds ------------------------------------------------------------------- */

static uint64_t draw_len(gen *g, const cc_gen_dist *d)
{
    return (uint64_t)cc_gen_draw(d, g->r_len);
}

/* System prompt (maybe), cut to leave room for `reserve` tokens. */
static int add_system(gen *g, uint64_t sys, uint64_t reserve)
{
    if (sys == NO_ENTITY)
        return CC_OK;
    uint64_t room = g->s->max_context_tokens - reserve;
    return add_entity(g, &g->sys, sys, room, false);
}

static int start_chat(gen *g, int64_t at, uint64_t sid, uint32_t tenant, uint64_t sys)
{
    const cc_gen_spec *s = g->s;
    uint32_t turns = (uint32_t)cc_gen_draw(&s->turns, g->r_sess);
    uint32_t user = (uint32_t)draw_len(g, &s->user_tokens);
    uint32_t out = (uint32_t)draw_len(g, &s->chat_output);
    int rc;
    if ((rc = add_system(g, sys, user)) || (rc = add_fresh(g, user, CC_CHUNK_USER)) ||
        (rc = finish(g, at, sid, 0, tenant, out, CC_NO_GROUP)))
        return rc;
    pending cur = {.at_ns = at, .session = sid, .turn = 0, .turns = turns, .tenant = tenant};
    return schedule_next(g, &cur);
}

static int continue_chat(gen *g, pending *cur)
{
    const cc_gen_spec *s = g->s;
    cc_trace *t = g->t;
    prompt *p = &g->p;
    uint64_t prev = cur->prev_row;
    uint64_t L = t->input_tokens[prev], answer = t->output_tokens[prev];
    uint32_t user = (uint32_t)draw_len(g, &s->user_tokens);
    g->tails_live -= cur->tail_len;
    if (L + answer + user > s->max_context_tokens)
        return CC_OK; /* the conversation no longer fits: the session ends */
    uint32_t out = (uint32_t)draw_len(g, &s->chat_output);
    uint64_t nfull = L / s->block_size;
    prompt_reset(p);
    if (s->token_ids) {
        if (prompt_reserve(p, L))
            return CC_ENOMEM;
        memcpy(p->tok, t->token_ids + t->token_off[prev], L * sizeof *p->tok);
        p->ntok = L;
    } else {
        if (prompt_reserve(p, cur->tail_len))
            return CC_ENOMEM;
        memcpy(p->tok, g->tails + cur->tail_off, cur->tail_len * sizeof *p->tok);
        p->ntok = cur->tail_len;
        p->base = nfull * s->block_size;
    }
    size_t nch = t->chunk_off[prev + 1] - t->chunk_off[prev];
    if (cc_grow((void **)&p->blk, &p->cap_blk, nfull + 1, sizeof *p->blk) ||
        cc_grow((void **)&p->ch, &p->cap_ch, nch + 2, sizeof *p->ch))
        return CC_ENOMEM;
    memcpy(p->blk, t->blocks + t->block_off[prev], nfull * sizeof *p->blk);
    p->nblk = nfull;
    p->hash_from = nfull * s->block_size;
    memcpy(p->ch, t->chunks + t->chunk_off[prev], nch * sizeof *p->ch);
    p->nch = nch;
    int rc;
    if ((rc = add_fresh(g, (uint32_t)answer, CC_CHUNK_ASSISTANT)) ||
        (rc = add_fresh(g, user, CC_CHUNK_USER)) ||
        (rc = finish(g, cur->at_ns, cur->session, cur->turn, cur->tenant, out, CC_NO_GROUP)))
        return rc;
    return schedule_next(g, cur);
}

static int gen_doc(gen *g, int64_t at, uint64_t sid, uint32_t tenant, uint64_t sys)
{
    const cc_gen_spec *s = g->s;
    size_t d = zipf_draw(&g->z_doc, g->r_pick);
    uint32_t q = (uint32_t)draw_len(g, &s->doc_question);
    uint32_t out = (uint32_t)draw_len(g, &s->doc_output);
    int rc;
    if ((rc = add_system(g, sys, q)))
        return rc;
    uint64_t room = s->max_context_tokens - q - prompt_len(&g->p);
    if ((rc = add_entity(g, &g->doc, d, room, false)) ||
        (rc = add_fresh(g, q, CC_CHUNK_QUESTION)))
        return rc;
    return finish(g, at, sid, 0, tenant, out, CC_NO_GROUP);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static int gen_rag(gen *g, int64_t at, uint64_t sid, uint32_t tenant, uint64_t sys)
{
    const cc_gen_spec *s = g->s;
    size_t k = (size_t)cc_gen_draw(&s->rag_passages, g->r_pick);
    if (cc_grow((void **)&g->rag_ids, &g->rag_cap, k, sizeof *g->rag_ids))
        return CC_ENOMEM;
    /* k distinct passages by popularity: redraw a repeat a few times, then
     * take the next free rank (so a steep Zipf over a small corpus ends) */
    uint64_t stamp = g->t->n + 1;
    for (size_t i = 0; i < k; i++) {
        size_t id = zipf_draw(&g->z_rag, g->r_pick);
        for (int tries = 0; g->rag_mark[id] == stamp && tries < 16; tries++)
            id = zipf_draw(&g->z_rag, g->r_pick);
        while (g->rag_mark[id] == stamp)
            id = (id + 1) % s->rag_corpus;
        g->rag_mark[id] = stamp;
        g->rag_ids[i] = id;
    }
    if (s->rag_order == CC_GEN_ORDER_RANDOM)
        gsl_ran_shuffle(g->r_pick, g->rag_ids, k, sizeof *g->rag_ids);
    else
        qsort(g->rag_ids, k, sizeof *g->rag_ids, cmp_u64);
    uint32_t q = (uint32_t)draw_len(g, &s->rag_question);
    uint32_t out = (uint32_t)draw_len(g, &s->rag_output);
    int rc;
    if ((rc = add_system(g, sys, q)))
        return rc;
    for (size_t i = 0; i < k; i++) {
        uint64_t room = s->max_context_tokens - q - prompt_len(&g->p);
        if ((rc = add_entity(g, &g->pas, g->rag_ids[i], room, true)))
            return rc;
    }
    if ((rc = add_fresh(g, q, CC_CHUNK_QUESTION)))
        return rc;
    return finish(g, at, sid, 0, tenant, out, CC_NO_GROUP);
}

static int gen_para(gen *g, int64_t at, uint64_t sid, uint32_t tenant, uint64_t sys)
{
    const cc_gen_spec *s = g->s;
    prompt *p = &g->p;
    size_t grp = zipf_draw(&g->z_para, g->r_pick);
    g->pbuf_len = 0;
    if (cc_gen_para_text(grp, g->para_exact[grp] ? NULL : g->r_pick, &g->pbuf, &g->pbuf_len,
                         &g->pbuf_cap))
        return CC_ENOMEM;
    uint32_t out = (uint32_t)draw_len(g, &s->para_output);
    /* the question's tokens go in after the system prompt */
    size_t qn = 0;
    int rc = cc_tokenize(g->tk, g->pbuf, g->pbuf_len, &g->qtok, &qn, &g->qtok_cap);
    if (rc)
        return rc;
    if (qn > s->max_context_tokens)
        qn = s->max_context_tokens;
    if ((rc = add_system(g, sys, qn)))
        return rc;
    if (prompt_reserve(p, qn))
        return CC_ENOMEM;
    uint64_t start = prompt_len(p);
    memcpy(p->tok + p->ntok, g->qtok, qn * sizeof *p->tok);
    p->ntok += qn;
    uint64_t off = 0, hash;
    uint32_t len = 0;
    if (s->text != CC_GEN_TEXT_NONE)
        hash = cc_hash_bytes(g->pbuf, g->pbuf_len, 0);
    else
        hash = cc_hash_bytes(p->tok + p->ntok - qn, qn * sizeof *p->tok, 0);
    if (s->text != CC_GEN_TEXT_NONE) {
        /* one copy of each wording in the arena */
        uint64_t *slot;
        int ins = cc_u64map_put(&g->para_text, hash, g->t->text_len, &slot);
        if (ins < 0)
            return CC_ENOMEM;
        if (ins == 0 && (*slot + g->pbuf_len > g->t->text_len ||
                         memcmp(g->t->text + *slot, g->pbuf, g->pbuf_len) != 0))
            ins = 1; /* a 64-bit collision: keep this wording apart */
        if (ins == 1) {
            if (cc_trace_add_text(g->t, g->pbuf, g->pbuf_len, &off))
                return CC_ENOMEM;
        } else {
            off = *slot;
        }
        len = (uint32_t)g->pbuf_len;
    }
    if ((rc = add_chunk(p, CC_CHUNK_USER, start, (uint32_t)qn, off, len, hash)))
        return rc;
    return finish(g, at, sid, 0, tenant, out, grp);
}

static int start_session(gen *g, int64_t at)
{
    const cc_gen_spec *s = g->s;
    uint64_t sid = g->next_session++;
    int kind = (int)gsl_ran_discrete(g->r_sess, g->mix);
    uint32_t tenant = s->n_tenants > 1 ? (uint32_t)gsl_ran_discrete(g->r_sess, g->tenants) : 0;
    uint64_t sys = NO_ENTITY;
    if (s->sys_count && (s->sys_fraction >= 1 || gsl_rng_uniform(g->r_sess) < s->sys_fraction))
        sys = zipf_draw(&g->z_sys, g->r_sess);
    prompt_reset(&g->p);
    switch (kind) {
    case CC_GEN_CHAT: return start_chat(g, at, sid, tenant, sys);
    case CC_GEN_DOC: return gen_doc(g, at, sid, tenant, sys);
    case CC_GEN_RAG: return gen_rag(g, at, sid, tenant, sys);
    default: return gen_para(g, at, sid, tenant, sys);
    }
}

/* ---- setup and the main loop ------------------------------------------------------------ */

static int entity_init(entity_set *es, size_t n, uint32_t seed_base, const cc_gen_dist *len,
                       uint32_t chunk_kind)
{
    memset(es, 0, sizeof *es);
    es->n = n;
    es->seed_base = seed_base;
    es->len = len;
    es->chunk_kind = chunk_kind;
    size_t m = n ? n : 1;
    es->tok_off = malloc(m * sizeof *es->tok_off);
    es->tok_len = malloc(m * sizeof *es->tok_len);
    es->text_off = malloc(m * sizeof *es->text_off);
    es->text_len = malloc(m * sizeof *es->text_len);
    es->hash = malloc(m * sizeof *es->hash);
    if (!es->tok_off || !es->tok_len || !es->text_off || !es->text_len || !es->hash)
        return CC_ENOMEM;
    for (size_t i = 0; i < n; i++)
        es->tok_off[i] = NO_ENTITY;
    return CC_OK;
}

static void entity_free(entity_set *es)
{
    free(es->tok_off);
    free(es->tok_len);
    free(es->text_off);
    free(es->text_len);
    free(es->hash);
}

/* A 64-bit mix (splitmix64's finaliser), to fold the whole seed into the
 * sub-stream seeds: mt19937 itself takes 32 bits and treats 0 as 4357. */
static uint64_t mix64(uint64_t x)
{
    return cc_mix64(x + UINT64_C(0x9E3779B97F4A7C15));
}

static int setup(gen *g, uint64_t seed)
{
    const cc_gen_spec *s = g->s;
    cc_trace *t = g->t;
    t->block_size = s->block_size;
    t->timed = true;
    t->seed = seed;
    snprintf(t->source_format, sizeof t->source_format, "generator");
    snprintf(t->source, sizeof t->source, "%s", s->name);
    for (size_t i = 0; i < s->n_tenants; i++) {
        uint32_t idx;
        if (cc_trace_tenant(t, s->tenant_names[i], &idx))
            return CC_ENOMEM;
    }

    gsl_rng *master = gsl_rng_alloc(gsl_rng_mt19937);
    if (!master)
        return CC_ENOMEM;
    gsl_rng_set(master, (unsigned long)(seed & 0xffffffffu));
    gsl_rng **subs[] = {&g->r_arr, &g->r_sess, &g->r_len, &g->r_pick, &g->r_content, &g->r_ent};
    uint32_t sub_seed[6];
    for (size_t i = 0; i < 6; i++)
        sub_seed[i] = (uint32_t)(gsl_rng_get(master) ^ mix64(seed + i));
    uint32_t entity_base = (uint32_t)(gsl_rng_get(master) ^ mix64(seed + 6));
    gsl_rng_free(master);
    for (size_t i = 0; i < 6; i++) {
        if (!(*subs[i] = gsl_rng_alloc(gsl_rng_mt19937)))
            return CC_ENOMEM;
        gsl_rng_set(*subs[i], sub_seed[i]);
    }

    double tw[CC_GEN_MAX_TENANTS];
    for (size_t i = 0; i < s->n_tenants; i++)
        tw[i] = s->tenant_weights[i];
    if (!(g->mix = gsl_ran_discrete_preproc(CC_GEN_KINDS, s->mix)) ||
        !(g->tenants = gsl_ran_discrete_preproc(s->n_tenants, tw)))
        return CC_ENOMEM;

    /* entities are numbered across kinds so that every one has its own seed */
    uint32_t sys_base = entity_base;
    uint32_t doc_base = sys_base + (uint32_t)s->sys_count;
    uint32_t pas_base = doc_base + (uint32_t)s->doc_count;
    bool need_doc = s->mix[CC_GEN_DOC] > 0, need_rag = s->mix[CC_GEN_RAG] > 0,
         need_para = s->mix[CC_GEN_PARA] > 0;
    if (entity_init(&g->sys, s->sys_count, sys_base, &s->sys_tokens, CC_CHUNK_SYSTEM) ||
        entity_init(&g->doc, need_doc ? s->doc_count : 0, doc_base, &s->doc_tokens,
                    CC_CHUNK_PASSAGE) ||
        entity_init(&g->pas, need_rag ? s->rag_corpus : 0, pas_base, &s->rag_passage_tokens,
                    CC_CHUNK_PASSAGE))
        return CC_ENOMEM;
    if (zipf_init(&g->z_sys, s->sys_count, s->sys_zipf) ||
        zipf_init(&g->z_doc, need_doc ? s->doc_count : 0, s->doc_zipf) ||
        zipf_init(&g->z_rag, need_rag ? s->rag_corpus : 0, s->rag_zipf) ||
        zipf_init(&g->z_para, need_para ? s->para_groups : 0, s->para_zipf))
        return CC_ENOMEM;
    if (need_rag) {
        if (!(g->rag_mark = calloc(s->rag_corpus, sizeof *g->rag_mark)))
            return CC_ENOMEM;
    }
    if (need_para) {
        if (cc_tokenizer_builtin(&g->tk) || cc_u64map_init(&g->para_text, 1024))
            return CC_ENOMEM;
        g->para_text_init = true;
        if (!(g->para_exact = malloc(s->para_groups)))
            return CC_ENOMEM;
        for (size_t i = 0; i < s->para_groups; i++)
            g->para_exact[i] = gsl_rng_uniform(g->r_pick) < s->para_exact;
    }
    return CC_OK;
}

static void teardown(gen *g)
{
    gsl_rng *rs[] = {g->r_arr, g->r_sess, g->r_len, g->r_pick, g->r_content, g->r_ent};
    for (size_t i = 0; i < 6; i++)
        if (rs[i])
            gsl_rng_free(rs[i]);
    if (g->mix)
        gsl_ran_discrete_free(g->mix);
    if (g->tenants)
        gsl_ran_discrete_free(g->tenants);
    free(g->z_sys.cdf);
    free(g->z_doc.cdf);
    free(g->z_rag.cdf);
    free(g->z_para.cdf);
    entity_free(&g->sys);
    entity_free(&g->doc);
    entity_free(&g->pas);
    free(g->ent_tok);
    free(g->gaps_ns);
    free(g->heap);
    free(g->tails);
    free(g->p.tok);
    free(g->p.blk);
    free(g->p.ch);
    free(g->tbuf);
    free(g->rag_ids);
    free(g->rag_mark);
    free(g->qtok);
    free(g->pbuf);
    cc_tokenizer_free(g->tk);
    free(g->para_exact);
    if (g->para_text_init)
        cc_u64map_free(&g->para_text);
}

static int generate(const cc_gen_spec *s, uint64_t seed, cc_trace *out, cc_err *err)
{
    gen g;
    memset(&g, 0, sizeof g);
    g.s = s;
    g.t = out;
    g.err = err;
    cc_trace_init(out);
    int rc = setup(&g, seed);
    if (rc == CC_OK && s->process == CC_GEN_ARR_TRACE)
        rc = arrival_init_trace(&g);
    int64_t next_new = 0;
    if (rc == CC_OK)
        rc = arrival_next(&g, &next_new);
    while (rc == CC_OK && out->n < s->requests) {
        if (g.heap_n && g.heap[0].at_ns <= next_new) {
            pending cur = heap_pop(&g);
            rc = continue_chat(&g, &cur);
        } else {
            rc = start_session(&g, next_new);
            if (rc == CC_OK)
                rc = arrival_next(&g, &next_new);
        }
    }
    teardown(&g);
    if (rc == CC_ENOMEM && (!err || err->code != CC_ENOMEM))
        rc = cc_err_set(err, CC_ENOMEM, s->name, 0, NULL, "out of memory while generating");
    if (rc == CC_OK)
        rc = cc_trace_validate(out, s->name, err); /* the generator's own invariants */
    if (rc != CC_OK)
        cc_trace_free(out);
    return rc;
}

/* ---- entry points ---------------------------------------------------------------------- */

int cc_gen_from_spec_string_limited(const char *spec, const char *name, uint64_t seed,
                                    const cc_gen_limits *lim, cc_trace *out, cc_err *err)
{
    cc_gen_spec *s = malloc(sizeof *s);
    if (!s) {
        cc_trace_init(out);
        return cc_err_set(err, CC_ENOMEM, name, 0, NULL, "out of memory");
    }
    int rc = cc_gen_spec_parse(spec, strlen(spec), name ? name : "spec", NULL, lim, s, err);
    if (rc == CC_OK)
        rc = generate(s, seed, out, err);
    else
        cc_trace_init(out);
    free(s);
    return rc;
}

int cc_gen_from_spec_string(const char *spec, const char *name, uint64_t seed, cc_trace *out,
                            cc_err *err)
{
    return cc_gen_from_spec_string_limited(spec, name, seed, NULL, out, err);
}

#define SPEC_FILE_MAX (1 << 20)

int cc_gen_from_spec_file(const char *spec_path, uint64_t seed, cc_trace *out, cc_err *err)
{
    cc_trace_init(out);
    FILE *f = fopen(spec_path, "rb");
    if (!f)
        return cc_err_set(err, CC_EIO, spec_path, 0, NULL, "cannot open the spec: %s",
                          strerror(errno));
    char *buf = malloc(SPEC_FILE_MAX + 1);
    if (!buf) {
        fclose(f);
        return cc_err_set(err, CC_ENOMEM, spec_path, 0, NULL, "out of memory");
    }
    size_t n = fread(buf, 1, SPEC_FILE_MAX + 1, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        free(buf);
        return cc_err_set(err, CC_EIO, spec_path, 0, NULL, "read failed");
    }
    if (n > SPEC_FILE_MAX) {
        free(buf);
        return cc_err_set(err, CC_ERANGE, spec_path, 0, NULL,
                          "larger than %d bytes; expected a short text spec", SPEC_FILE_MAX);
    }
    /* a relative trace path is relative to the spec's folder */
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", spec_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        dir[0] = '\0';
    cc_gen_spec *s = malloc(sizeof *s);
    int rc = s ? cc_gen_spec_parse(buf, n, spec_path, slash ? (dir[0] ? dir : "/") : NULL, NULL,
                                   s, err)
               : cc_err_set(err, CC_ENOMEM, spec_path, 0, NULL, "out of memory");
    free(buf);
    if (rc == CC_OK)
        rc = generate(s, seed, out, err);
    free(s);
    return rc;
}

/* ---- the built-in default workload ---------------------------------------------------------- */

const char cc_gen_default_spec[] =
    "# ctxcache's built-in default workload (`ctxcache gen default`, `make run`):\n"
    "# a mixed service with two tenants -- multi-turn chat with shared system\n"
    "# prompts, questions over shared documents, RAG over a passage corpus, and\n"
    "# paraphrased FAQ-style questions.  docs/workload-spec.md explains each key.\n"
    "\n"
    "[workload]\n"
    "requests = 4000\n"
    "block_size = 16\n"
    "token_ids = true\n"
    "text = shared\n"
    "max_context_tokens = 32768\n"
    "\n"
    "[arrival]\n"
    "process = gamma        # bursty: inter-arrival CV above 1\n"
    "rate = 2               # new sessions per second\n"
    "cv = 1.5\n"
    "\n"
    "[tenants]\n"
    "names = llama-3.1-8b-instruct@2024-07, qwen2.5-7b-instruct@2024-09\n"
    "weights = 0.7, 0.3\n"
    "\n"
    "[mix]                  # kind of each new session\n"
    "chat = 0.45\n"
    "rag = 0.2\n"
    "doc = 0.1\n"
    "paraphrase = 0.25\n"
    "\n"
    "[system_prompts]\n"
    "count = 12\n"
    "zipf_s = 1.2\n"
    "tokens = lognormal(mean=500, cv=0.6)\n"
    "fraction = 0.9\n"
    "\n"
    "[sessions]\n"
    "turns = geometric(mean=4, max=30)\n"
    "think_time_s = lognormal(mean=30, cv=1.2)\n"
    "user_tokens = lognormal(mean=90, cv=1.2)\n"
    "output_tokens = lognormal(mean=220, cv=0.8)\n"
    "\n"
    "[documents]\n"
    "count = 60\n"
    "zipf_s = 1.0\n"
    "tokens = lognormal(mean=2500, cv=0.6)\n"
    "question_tokens = lognormal(mean=30, cv=0.5)\n"
    "output_tokens = lognormal(mean=180, cv=0.7)\n"
    "\n"
    "[rag]\n"
    "corpus = 1500\n"
    "zipf_s = 0.9\n"
    "passages = uniform(3, 6)\n"
    "passage_tokens = lognormal(mean=140, cv=0.3)\n"
    "question_tokens = lognormal(mean=25, cv=0.5)\n"
    "output_tokens = lognormal(mean=150, cv=0.7)\n"
    "order = random\n"
    "\n"
    "[paraphrase]\n"
    "groups = 300\n"
    "zipf_s = 1.0\n"
    "exact_fraction = 0.25\n"
    "output_tokens = lognormal(mean=120, cv=0.8)\n";
