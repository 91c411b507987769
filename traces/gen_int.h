/*
 * gen_int.h -- private to the synthetic workload generator (traces/gen*.c):
 * the parsed workload spec (genspec.c fills it from the INI-like text),
 * value distributions, and the text helpers (gentext.c: paraphrase templates
 * and the pseudo-words that render synthetic token ids as text).
 */
#ifndef CC_GEN_INT_H
#define CC_GEN_INT_H

#include "traces.h"

#include <gsl/gsl_rng.h>

enum { CC_GEN_TEXT_NONE, CC_GEN_TEXT_SHARED, CC_GEN_TEXT_ALL };
enum { CC_GEN_ARR_POISSON, CC_GEN_ARR_GAMMA, CC_GEN_ARR_DIURNAL, CC_GEN_ARR_TRACE };
enum { CC_GEN_CHAT, CC_GEN_RAG, CC_GEN_DOC, CC_GEN_PARA, CC_GEN_KINDS };
enum { CC_GEN_ORDER_RANDOM, CC_GEN_ORDER_RANK };

/* A distribution of a length, a count or a time. */
enum { CC_GEN_D_FIXED, CC_GEN_D_UNIFORM, CC_GEN_D_LOGNORMAL, CC_GEN_D_EXPONENTIAL,
       CC_GEN_D_GEOMETRIC };
typedef struct cc_gen_dist {
    int kind;
    bool is_int;   /* integer quantity: draws are rounded to nearest */
    double p1, p2; /* fixed: value; uniform: lo, hi; lognormal: mu, sigma of log;
                      exponential: mean; geometric: success probability */
    double lo, hi; /* every draw is clamped to [lo, hi] */
} cc_gen_dist;

/* One draw (rounded to an integer first when d->is_int), clamped. */
double cc_gen_draw(const cc_gen_dist *d, gsl_rng *r);

#define CC_GEN_MAX_TENANTS 64
#define CC_GEN_TENANT_NAME_MAX 128

/* Every key of the format; line_of[] remembers where each was set. */
enum {
    K_REQUESTS, K_BLOCK_SIZE, K_TOKEN_IDS, K_TEXT, K_VOCAB, K_MAX_CONTEXT,
    K_PROCESS, K_RATE, K_CV, K_PERIOD, K_AMPLITUDE, K_PEAK, K_TRACE_FORMAT, K_TIME_SCALE,
    K_TENANT_NAMES, K_TENANT_WEIGHTS,
    K_MIX_CHAT, K_MIX_RAG, K_MIX_DOC, K_MIX_PARA,
    K_SYS_COUNT, K_SYS_ZIPF, K_SYS_TOKENS, K_SYS_FRACTION,
    K_TURNS, K_THINK, K_USER_TOKENS, K_CHAT_OUTPUT,
    K_DOC_COUNT, K_DOC_ZIPF, K_DOC_TOKENS, K_DOC_QUESTION, K_DOC_OUTPUT,
    K_RAG_CORPUS, K_RAG_ZIPF, K_RAG_PASSAGES, K_RAG_PASSAGE_TOKENS, K_RAG_QUESTION,
    K_RAG_OUTPUT, K_RAG_ORDER,
    K_PARA_GROUPS, K_PARA_ZIPF, K_PARA_EXACT, K_PARA_OUTPUT,
    CC_GEN_N_KEYS
};

typedef struct cc_gen_spec {
    char name[512];      /* spec file or name, for messages */
    /* [workload] */
    uint64_t requests;
    uint32_t block_size;
    bool token_ids;
    int text;            /* CC_GEN_TEXT_* */
    uint32_t vocab_size;
    uint32_t max_context_tokens;
    /* [arrival] */
    int process;         /* CC_GEN_ARR_* */
    double rate, cv, period_s, amplitude, peak_s, time_scale;
    char trace_path[1024];
    char trace_format[32];
    /* [tenants] */
    size_t n_tenants, n_weights;
    char tenant_names[CC_GEN_MAX_TENANTS][CC_GEN_TENANT_NAME_MAX];
    double tenant_weights[CC_GEN_MAX_TENANTS];
    /* [mix] weights of each new session's kind */
    double mix[CC_GEN_KINDS];
    /* [system_prompts] */
    uint64_t sys_count;
    double sys_zipf, sys_fraction;
    cc_gen_dist sys_tokens;
    /* [sessions] (chat) */
    cc_gen_dist turns, think_s, user_tokens, chat_output;
    /* [documents] */
    uint64_t doc_count;
    double doc_zipf;
    cc_gen_dist doc_tokens, doc_question, doc_output;
    /* [rag] */
    uint64_t rag_corpus;
    double rag_zipf;
    cc_gen_dist rag_passages, rag_passage_tokens, rag_question, rag_output;
    int rag_order;       /* CC_GEN_ORDER_* */
    /* [paraphrase] */
    uint64_t para_groups;
    double para_zipf, para_exact;
    cc_gen_dist para_output;

    long line_of[CC_GEN_N_KEYS]; /* 0 = not set (default) */
    long workload_line;          /* line of the [workload] header, 0 if none */
} cc_gen_spec;

/* Parses text[0..len) into *s (defaults for what it does not set, then
 * cross-checks).  name labels errors; base_dir (NULL = working directory)
 * resolves a relative trace path.  lim may be NULL. */
int cc_gen_spec_parse(const char *text, size_t len, const char *name, const char *base_dir,
                      const cc_gen_limits *lim, cc_gen_spec *s, cc_err *err);
/* "section.key" of key index k. */
const char *cc_gen_key_name(int k);

/* ---- text (gentext.c) ---------------------------------------------------- */
/* Number of distinct paraphrase meanings (template x topic x context). */
size_t cc_gen_para_meanings(void);
/* Appends to *buf (cc_grow'd, *len bytes used; NUL-terminated) a question
 * of meaning m (< cc_gen_para_meanings()): the canonical wording when r is
 * NULL, else synonyms drawn from r. */
int cc_gen_para_text(size_t m, gsl_rng *r, char **buf, size_t *len, size_t *cap);
/* Appends the pseudo-words of ids[0..n) (one word per id, distinct ids give
 * distinct words, space-separated) to *buf. */
int cc_gen_words(const uint32_t *ids, size_t n, char **buf, size_t *len, size_t *cap);

#endif
