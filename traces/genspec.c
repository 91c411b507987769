/*
 * genspec.c -- the workload spec reader: INI-like text into a cc_gen_spec.
 *
 * Format (docs/workload-spec.md lists every key, its default and range):
 *
 *   # a comment (also after a value, when preceded by a space or tab)
 *   [workload]
 *   requests = 5000
 *   [arrival]
 *   process = gamma
 *   rate = 4            # new sessions per second
 *   cv = 2
 *   [sessions]
 *   user_tokens = lognormal(mean=120, cv=1.2)
 *
 * Sections: workload, arrival, tenants, mix, system_prompts, sessions,
 * documents, rag, paraphrase; each at most once.  Keys are lowercase and
 * belong to one section (one table below says where, what type, what range).
 * Distributions are written N, fixed(N), uniform(A, B), lognormal(mean=M,
 * cv=C), lognormal(median=M, cv=C), exponential(mean=M) or geometric(mean=M);
 * the last three and lognormal take optional min=, max= clamps.
 *
 * Strictness is the point: an unknown section or key, a key set twice, a
 * value of the wrong type or outside its range, a key that does not apply
 * to the chosen arrival process, a missing `requests`, binary data or bad
 * UTF-8 are errors naming the spec, the line and the key ("arrival.rate")
 * with what was expected.  Cost: O(bytes) time, no allocation.
 */
#include "gen_int.h"
#include "tokenizer_int.h" /* cc_utf8_next */

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#define LINE_MAX_BYTES 4096
#define FORMAT_MAX_REQUESTS 100000000.0
#define FORMAT_MAX_CONTEXT 16777216.0
#define FORMAT_MAX_ENTITIES 10000000.0

typedef enum { T_UINT, T_REAL, T_BOOL, T_CHOICE, T_PROCESS, T_DIST, T_NAMES, T_WEIGHTS,
               T_STRING } vtype;

enum { S_WORKLOAD, S_ARRIVAL, S_TENANTS, S_MIX, S_SYS, S_SESSIONS, S_DOCS, S_RAG, S_PARA,
       N_SECTIONS };
static const char *const section_names[N_SECTIONS] = {
    "workload", "arrival", "tenants", "mix", "system_prompts", "sessions", "documents", "rag",
    "paraphrase",
};

#define P_POISSON (1u << CC_GEN_ARR_POISSON)
#define P_GAMMA (1u << CC_GEN_ARR_GAMMA)
#define P_DIURNAL (1u << CC_GEN_ARR_DIURNAL)
#define P_TRACE (1u << CC_GEN_ARR_TRACE)

#define D_FIXED (1u << CC_GEN_D_FIXED)
#define D_UNIFORM (1u << CC_GEN_D_UNIFORM)
#define D_LOGNORMAL (1u << CC_GEN_D_LOGNORMAL)
#define D_EXPONENTIAL (1u << CC_GEN_D_EXPONENTIAL)
#define D_GEOMETRIC (1u << CC_GEN_D_GEOMETRIC)
#define D_TOKENS (D_FIXED | D_UNIFORM | D_LOGNORMAL)

typedef struct key_def {
    int id;             /* K_* */
    int section;        /* S_* */
    const char *name;   /* "section.key" */
    vtype type;
    size_t off;         /* into cc_gen_spec */
    double min, max;    /* numbers; distribution values */
    unsigned dists;     /* T_DIST: allowed kinds */
    bool is_int;        /* T_DIST: integer quantity */
    const char *choices; /* T_CHOICE: '|'-separated, index = stored value */
    unsigned procs;     /* arrival processes it applies to (0 = not an arrival key) */
} key_def;

#define O(f) offsetof(cc_gen_spec, f)
static const key_def keys[] = {
    {K_REQUESTS, S_WORKLOAD, "workload.requests", T_UINT, O(requests),
     1, FORMAT_MAX_REQUESTS, 0, 0, 0, 0},
    {K_BLOCK_SIZE, S_WORKLOAD, "workload.block_size", T_UINT, O(block_size),
     1, 1048576, 0, 0, 0, 0},
    {K_TOKEN_IDS, S_WORKLOAD, "workload.token_ids", T_BOOL, O(token_ids), 0, 0, 0, 0, 0, 0},
    {K_TEXT, S_WORKLOAD, "workload.text", T_CHOICE, O(text), 0, 0, 0, 0, "none|shared|all", 0},
    {K_VOCAB, S_WORKLOAD, "workload.vocab_size", T_UINT, O(vocab_size), 256, 16777216, 0, 0, 0, 0},
    {K_MAX_CONTEXT, S_WORKLOAD, "workload.max_context_tokens", T_UINT, O(max_context_tokens), 64,
     FORMAT_MAX_CONTEXT, 0, 0, 0, 0},

    {K_PROCESS, S_ARRIVAL, "arrival.process", T_PROCESS, O(process), 0, 0, 0, 0, 0,
     P_POISSON | P_GAMMA | P_DIURNAL | P_TRACE},
    {K_RATE, S_ARRIVAL, "arrival.rate", T_REAL, O(rate), 1e-6, 1e9, 0, 0, 0,
     P_POISSON | P_GAMMA | P_DIURNAL},
    {K_CV, S_ARRIVAL, "arrival.cv", T_REAL, O(cv), 0.01, 100, 0, 0, 0, P_GAMMA},
    {K_PERIOD, S_ARRIVAL, "arrival.period_s", T_REAL, O(period_s), 1e-3, 1e9, 0, 0, 0, P_DIURNAL},
    {K_AMPLITUDE, S_ARRIVAL, "arrival.amplitude", T_REAL, O(amplitude), 0, 1, 0, 0, 0, P_DIURNAL},
    {K_PEAK, S_ARRIVAL, "arrival.peak_s", T_REAL, O(peak_s), 0, 1e9, 0, 0, 0, P_DIURNAL},
    {K_TRACE_FORMAT, S_ARRIVAL, "arrival.trace_format", T_STRING, O(trace_format), 0, 0, 0, 0, 0,
     P_TRACE},
    {K_TIME_SCALE, S_ARRIVAL, "arrival.time_scale", T_REAL, O(time_scale),
     1e-6, 1e6, 0, 0, 0, P_TRACE},

    {K_TENANT_NAMES, S_TENANTS, "tenants.names", T_NAMES, 0, 0, 0, 0, 0, 0, 0},
    {K_TENANT_WEIGHTS, S_TENANTS, "tenants.weights", T_WEIGHTS, 0, 0, 1e9, 0, 0, 0, 0},

    {K_MIX_CHAT, S_MIX, "mix.chat", T_REAL, O(mix[CC_GEN_CHAT]), 0, 1e9, 0, 0, 0, 0},
    {K_MIX_RAG, S_MIX, "mix.rag", T_REAL, O(mix[CC_GEN_RAG]), 0, 1e9, 0, 0, 0, 0},
    {K_MIX_DOC, S_MIX, "mix.doc", T_REAL, O(mix[CC_GEN_DOC]), 0, 1e9, 0, 0, 0, 0},
    {K_MIX_PARA, S_MIX, "mix.paraphrase", T_REAL, O(mix[CC_GEN_PARA]), 0, 1e9, 0, 0, 0, 0},

    {K_SYS_COUNT, S_SYS, "system_prompts.count", T_UINT, O(sys_count),
     0, FORMAT_MAX_ENTITIES, 0, 0, 0, 0},
    {K_SYS_ZIPF, S_SYS, "system_prompts.zipf_s", T_REAL, O(sys_zipf), 0, 20, 0, 0, 0, 0},
    {K_SYS_TOKENS, S_SYS, "system_prompts.tokens", T_DIST, O(sys_tokens),
     1, FORMAT_MAX_CONTEXT, D_TOKENS, 1, 0, 0},
    {K_SYS_FRACTION, S_SYS, "system_prompts.fraction", T_REAL, O(sys_fraction), 0, 1, 0, 0, 0, 0},

    {K_TURNS, S_SESSIONS, "sessions.turns", T_DIST, O(turns), 1, 100000,
     D_FIXED | D_UNIFORM | D_LOGNORMAL | D_GEOMETRIC, 1, 0, 0},
    {K_THINK, S_SESSIONS, "sessions.think_time_s", T_DIST, O(think_s), 0, 1e7,
     D_FIXED | D_UNIFORM | D_LOGNORMAL | D_EXPONENTIAL, 0, 0, 0},
    {K_USER_TOKENS, S_SESSIONS, "sessions.user_tokens", T_DIST, O(user_tokens),
     1, FORMAT_MAX_CONTEXT,
     D_TOKENS, 1, 0, 0},
    {K_CHAT_OUTPUT, S_SESSIONS, "sessions.output_tokens", T_DIST, O(chat_output),
     1, FORMAT_MAX_CONTEXT,
     D_TOKENS, 1, 0, 0},

    {K_DOC_COUNT, S_DOCS, "documents.count", T_UINT, O(doc_count),
     0, FORMAT_MAX_ENTITIES, 0, 0, 0, 0},
    {K_DOC_ZIPF, S_DOCS, "documents.zipf_s", T_REAL, O(doc_zipf), 0, 20, 0, 0, 0, 0},
    {K_DOC_TOKENS, S_DOCS, "documents.tokens", T_DIST, O(doc_tokens),
     1, FORMAT_MAX_CONTEXT, D_TOKENS, 1, 0, 0},
    {K_DOC_QUESTION, S_DOCS, "documents.question_tokens", T_DIST, O(doc_question),
     1, FORMAT_MAX_CONTEXT,
     D_TOKENS, 1, 0, 0},
    {K_DOC_OUTPUT, S_DOCS, "documents.output_tokens", T_DIST, O(doc_output), 1, FORMAT_MAX_CONTEXT,
     D_TOKENS, 1, 0, 0},

    {K_RAG_CORPUS, S_RAG, "rag.corpus", T_UINT, O(rag_corpus), 0, FORMAT_MAX_ENTITIES, 0, 0, 0, 0},
    {K_RAG_ZIPF, S_RAG, "rag.zipf_s", T_REAL, O(rag_zipf), 0, 20, 0, 0, 0, 0},
    {K_RAG_PASSAGES, S_RAG, "rag.passages", T_DIST, O(rag_passages), 1, 10000,
     D_FIXED | D_UNIFORM | D_LOGNORMAL | D_GEOMETRIC, 1, 0, 0},
    {K_RAG_PASSAGE_TOKENS, S_RAG, "rag.passage_tokens", T_DIST, O(rag_passage_tokens), 1,
     FORMAT_MAX_CONTEXT, D_TOKENS, 1, 0, 0},
    {K_RAG_QUESTION, S_RAG, "rag.question_tokens", T_DIST, O(rag_question), 1, FORMAT_MAX_CONTEXT,
     D_TOKENS, 1, 0, 0},
    {K_RAG_OUTPUT, S_RAG, "rag.output_tokens", T_DIST, O(rag_output), 1, FORMAT_MAX_CONTEXT,
     D_TOKENS, 1, 0, 0},
    {K_RAG_ORDER, S_RAG, "rag.order", T_CHOICE, O(rag_order), 0, 0, 0, 0, "random|rank", 0},

    {K_PARA_GROUPS, S_PARA, "paraphrase.groups", T_UINT, O(para_groups),
     0, FORMAT_MAX_ENTITIES, 0, 0, 0, 0},
    {K_PARA_ZIPF, S_PARA, "paraphrase.zipf_s", T_REAL, O(para_zipf), 0, 20, 0, 0, 0, 0},
    {K_PARA_EXACT, S_PARA, "paraphrase.exact_fraction", T_REAL, O(para_exact), 0, 1, 0, 0, 0, 0},
    {K_PARA_OUTPUT, S_PARA, "paraphrase.output_tokens", T_DIST, O(para_output),
     1, FORMAT_MAX_CONTEXT,
     D_TOKENS, 1, 0, 0},
};
#undef O
#define N_KEYDEFS (sizeof keys / sizeof keys[0])

static const key_def *key_by_id(int id)
{
    for (size_t i = 0; i < N_KEYDEFS; i++)
        if (keys[i].id == id)
            return &keys[i];
    return NULL;
}

const char *cc_gen_key_name(int k)
{
    const key_def *d = key_by_id(k);
    return d ? d->name : "?";
}

/* The key part of a key's "section.key" name. */
static const char *key_part(const key_def *k)
{
    return k->name + strlen(section_names[k->section]) + 1;
}

static void field_name(char *buf, size_t n, int section, const char *key)
{
    snprintf(buf, n, "%s.%s", section_names[section], key);
}

/* ---- defaults ----------------------------------------------------------- */

static cc_gen_dist lognormal_mean(double mean, double cv, double lo, double hi)
{
    double s2 = log1p(cv * cv);
    return (cc_gen_dist){CC_GEN_D_LOGNORMAL, true, log(mean) - s2 / 2, sqrt(s2), lo, hi};
}

static void set_defaults(cc_gen_spec *s)
{
    memset(s, 0, sizeof *s);
    s->block_size = 16;
    s->token_ids = true;
    s->text = CC_GEN_TEXT_SHARED;
    s->vocab_size = 128256;
    s->max_context_tokens = 32768;
    s->process = CC_GEN_ARR_POISSON;
    s->rate = 1.0;
    s->cv = 1.0;
    s->period_s = 86400;
    s->amplitude = 0.5;
    s->time_scale = 1.0;
    s->n_tenants = 1;
    snprintf(s->tenant_names[0], CC_GEN_TENANT_NAME_MAX, "default");
    s->sys_count = 10;
    s->sys_zipf = 1.0;
    s->sys_fraction = 1.0;
    s->sys_tokens = lognormal_mean(600, 0.5, 1, FORMAT_MAX_CONTEXT);
    s->turns = (cc_gen_dist){CC_GEN_D_GEOMETRIC, true, 1.0 / 3, 0, 1, 100000};
    s->think_s = (cc_gen_dist){CC_GEN_D_EXPONENTIAL, false, 30, 0, 0, 1e7};
    s->user_tokens = lognormal_mean(100, 1.0, 1, FORMAT_MAX_CONTEXT);
    s->chat_output = lognormal_mean(250, 0.8, 1, FORMAT_MAX_CONTEXT);
    s->doc_count = 100;
    s->doc_zipf = 1.0;
    s->doc_tokens = lognormal_mean(3000, 0.6, 1, FORMAT_MAX_CONTEXT);
    s->doc_question = lognormal_mean(30, 0.5, 1, FORMAT_MAX_CONTEXT);
    s->doc_output = lognormal_mean(200, 0.8, 1, FORMAT_MAX_CONTEXT);
    s->rag_corpus = 2000;
    s->rag_zipf = 0.8;
    s->rag_passages = (cc_gen_dist){CC_GEN_D_UNIFORM, true, 3, 6, 1, 10000};
    s->rag_passage_tokens = lognormal_mean(150, 0.4, 1, FORMAT_MAX_CONTEXT);
    s->rag_question = lognormal_mean(25, 0.5, 1, FORMAT_MAX_CONTEXT);
    s->rag_output = lognormal_mean(150, 0.8, 1, FORMAT_MAX_CONTEXT);
    s->rag_order = CC_GEN_ORDER_RANDOM;
    s->para_groups = 200;
    s->para_zipf = 1.0;
    s->para_exact = 0.2;
    s->para_output = lognormal_mean(120, 0.8, 1, FORMAT_MAX_CONTEXT);
}

/* ---- values --------------------------------------------------------------- */

/* A whole string as a finite number. */
static int parse_number(const char *v, double *out)
{
    if (!*v || isspace((unsigned char)*v))
        return -1;
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno == ERANGE || !isfinite(x))
        return -1;
    /* strtod also takes hex floats and "infinity"; we want plain decimals */
    for (const char *p = v; *p; p++)
        if (!strchr("0123456789+-.eE", *p))
            return -1;
    *out = x;
    return 0;
}

static void fmt_range(char *buf, size_t n, double lo, double hi, bool integer)
{
    if (integer)
        snprintf(buf, n, "%s in %.0f..%.0f", "an integer", lo, hi);
    else
        snprintf(buf, n, "a number in %g..%g", lo, hi);
}

static const char *dist_forms(unsigned kinds, char *buf, size_t n)
{
    buf[0] = '\0';
    struct { unsigned bit; const char *form; } f[] = {
        {D_FIXED, "N or fixed(N)"},
        {D_UNIFORM, "uniform(A, B)"},
        {D_LOGNORMAL, "lognormal(mean=M, cv=C) or lognormal(median=M, cv=C)"},
        {D_EXPONENTIAL, "exponential(mean=M)"},
        {D_GEOMETRIC, "geometric(mean=M)"},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (kinds & f[i].bit) {
            size_t used = strlen(buf);
            snprintf(buf + used, n - used, "%s%s", used ? ", " : "", f[i].form);
        }
    return buf;
}

/* Parses a distribution; on failure writes what was wrong into why. */
static int parse_dist(const char *v, const key_def *k, cc_gen_dist *d, char *why, size_t wn)
{
    char forms[256], range[96];
    dist_forms(k->dists, forms, sizeof forms);
    fmt_range(range, sizeof range, k->min, k->max, k->is_int);
    const char *p = v;
    char kind_name[16] = "";
    double pos[3];
    int npos = 0;
    struct { const char *name; double v; bool set; } named[] = {
        {"mean", 0, 0}, {"median", 0, 0}, {"cv", 0, 0}, {"min", 0, 0}, {"max", 0, 0},
    };
    enum { A_MEAN, A_MEDIAN, A_CV, A_MIN, A_MAX, A_N };

    if (isdigit((unsigned char)*p) || *p == '.' || *p == '-' || *p == '+') {
        if (parse_number(p, &pos[0])) {
            snprintf(why, wn, "expected a distribution (%s); got '%s'", forms, v);
            return CC_EFORMAT;
        }
        npos = 1;
        snprintf(kind_name, sizeof kind_name, "fixed");
    } else {
        size_t n = 0;
        while (islower((unsigned char)p[n]) && n < sizeof kind_name - 1)
            n++;
        memcpy(kind_name, p, n);
        kind_name[n] = '\0';
        p += n;
        while (isspace((unsigned char)*p))
            p++;
        if (*p != '(') {
            snprintf(why, wn, "expected a distribution (%s); got '%s'", forms, v);
            return CC_EFORMAT;
        }
        p++;
        const char *close = strchr(p, ')');
        if (!close || close[1] != '\0') {
            snprintf(why, wn, "expected a distribution (%s) with its arguments in parentheses "
                     "and nothing after them; got '%s'", forms, v);
            return CC_EFORMAT;
        }
        /* arguments: [name =] number, separated by commas */
        while (p < close) {
            char arg[128];
            const char *comma = memchr(p, ',', (size_t)(close - p));
            const char *end = comma ? comma : close;
            size_t an = (size_t)(end - p);
            if (an >= sizeof arg) {
                snprintf(why, wn, "argument too long in '%s'", v);
                return CC_EFORMAT;
            }
            memcpy(arg, p, an);
            arg[an] = '\0';
            char *a = arg;
            while (isspace((unsigned char)*a))
                a++;
            for (char *e = a + strlen(a); e > a && isspace((unsigned char)e[-1]);)
                *--e = '\0';
            char *eq = strchr(a, '=');
            double x;
            if (eq) {
                *eq = '\0';
                char *an_end = eq;
                while (an_end > a && isspace((unsigned char)an_end[-1]))
                    *--an_end = '\0';
                char *val = eq + 1;
                while (isspace((unsigned char)*val))
                    val++;
                int which = -1;
                for (int i = 0; i < A_N; i++)
                    if (!strcmp(a, named[i].name))
                        which = i;
                if (which < 0) {
                    snprintf(why, wn, "unknown argument '%s' in '%s'; expected %s", a, v, forms);
                    return CC_EFORMAT;
                }
                if (named[which].set) {
                    snprintf(why, wn, "argument '%s' given twice in '%s'", a, v);
                    return CC_EFORMAT;
                }
                if (parse_number(val, &x)) {
                    snprintf(why, wn, "argument '%s' in '%s': expected a number, got '%s'", a,
                             v, val);
                    return CC_EFORMAT;
                }
                named[which].v = x;
                named[which].set = true;
            } else {
                if (parse_number(a, &x) || npos >= 3) {
                    snprintf(why, wn, "expected a distribution (%s); got '%s'", forms, v);
                    return CC_EFORMAT;
                }
                pos[npos++] = x;
            }
            p = comma ? comma + 1 : close;
        }
    }

    static const char *const kind_names[] = {"fixed", "uniform", "lognormal", "exponential",
                                             "geometric"};
    int kind = -1;
    for (int i = 0; i < 5; i++)
        if (!strcmp(kind_name, kind_names[i]))
            kind = i;
    if (kind < 0 || !(k->dists & (1u << kind))) {
        snprintf(why, wn, "'%s' is not a distribution this key takes; expected %s", v, forms);
        return CC_EFORMAT;
    }
    bool has_named = false;
    for (int i = 0; i < A_N; i++)
        has_named |= named[i].set;
    bool bad_shape = false;
    switch (kind) {
    case CC_GEN_D_FIXED: bad_shape = npos != 1 || has_named; break;
    case CC_GEN_D_UNIFORM: bad_shape = npos != 2 || has_named; break;
    case CC_GEN_D_LOGNORMAL:
        bad_shape = npos || named[A_MEAN].set == named[A_MEDIAN].set || !named[A_CV].set;
        break;
    case CC_GEN_D_EXPONENTIAL:
    case CC_GEN_D_GEOMETRIC:
        bad_shape = npos || !named[A_MEAN].set || named[A_MEDIAN].set || named[A_CV].set;
        break;
    }
    if (bad_shape) {
        snprintf(why, wn, "wrong arguments in '%s'; expected %s (lognormal, exponential and "
                 "geometric also take min= and max=)", v, forms);
        return CC_EFORMAT;
    }
    double lo = k->min, hi = k->max;
    if (named[A_MIN].set || named[A_MAX].set) {
        if (named[A_MIN].set)
            lo = named[A_MIN].v;
        if (named[A_MAX].set)
            hi = named[A_MAX].v;
        if (lo < k->min || hi > k->max || lo > hi ||
            (k->is_int && (lo != floor(lo) || hi != floor(hi)))) {
            snprintf(why, wn, "min and max in '%s' must be %s with min <= max", v, range);
            return CC_ERANGE;
        }
    }
    d->kind = kind;
    d->is_int = k->is_int;
    d->lo = lo;
    d->hi = hi;
    switch (kind) {
    case CC_GEN_D_FIXED:
    case CC_GEN_D_UNIFORM: {
        for (int i = 0; i < npos; i++)
            if (pos[i] < k->min || pos[i] > k->max || (k->is_int && pos[i] != floor(pos[i]))) {
                snprintf(why, wn, "'%s': values must be %s", v, range);
                return CC_ERANGE;
            }
        if (kind == CC_GEN_D_UNIFORM && pos[0] > pos[1]) {
            snprintf(why, wn, "'%s': expected uniform(A, B) with A <= B", v);
            return CC_ERANGE;
        }
        d->p1 = pos[0];
        d->p2 = kind == CC_GEN_D_UNIFORM ? pos[1] : pos[0];
        break;
    }
    case CC_GEN_D_LOGNORMAL: {
        double m = named[A_MEAN].set ? named[A_MEAN].v : named[A_MEDIAN].v;
        double cv = named[A_CV].v;
        if (!(m > 0) || m < k->min || m > k->max) {
            snprintf(why, wn, "'%s': the %s must be %s and above 0", v,
                     named[A_MEAN].set ? "mean" : "median", range);
            return CC_ERANGE;
        }
        if (!(cv > 0) || cv > 100) {
            snprintf(why, wn, "'%s': cv must be above 0 and at most 100", v);
            return CC_ERANGE;
        }
        double s2 = log1p(cv * cv);
        d->p1 = named[A_MEAN].set ? log(m) - s2 / 2 : log(m);
        d->p2 = sqrt(s2);
        break;
    }
    case CC_GEN_D_EXPONENTIAL:
    case CC_GEN_D_GEOMETRIC: {
        double m = named[A_MEAN].v;
        bool geo = kind == CC_GEN_D_GEOMETRIC;
        if ((geo ? !(m >= 1) : !(m > 0)) || m > k->max) {
            snprintf(why, wn, "'%s': the mean must be %s and at most %g", v,
                     geo ? "at least 1" : "above 0", k->max);
            return CC_ERANGE;
        }
        d->p1 = kind == CC_GEN_D_GEOMETRIC ? 1.0 / m : m;
        d->p2 = 0;
        break;
    }
    }
    return CC_OK;
}

/* Comma-separated items into an array of strings / numbers. */
static int parse_names(const char *v, cc_gen_spec *s, char *why, size_t wn)
{
    size_t n = 0;
    const char *p = v;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);
        while (p < end && isspace((unsigned char)*p))
            p++;
        const char *e = end;
        while (e > p && isspace((unsigned char)e[-1]))
            e--;
        size_t len = (size_t)(e - p);
        if (len == 0) {
            snprintf(why, wn, "empty tenant name in '%s'; expected names like model@version "
                     "separated by commas", v);
            return CC_EFORMAT;
        }
        if (len >= CC_GEN_TENANT_NAME_MAX) {
            snprintf(why, wn, "tenant name longer than %d bytes", CC_GEN_TENANT_NAME_MAX - 1);
            return CC_ERANGE;
        }
        for (const char *c = p; c < e; c++)
            if ((unsigned char)*c <= ' ' || *c == 0x7f) {
                snprintf(why, wn, "tenant name '%.*s' contains a space or control character",
                         (int)len, p);
                return CC_EFORMAT;
            }
        if (n >= CC_GEN_MAX_TENANTS) {
            snprintf(why, wn, "more than %d tenants", CC_GEN_MAX_TENANTS);
            return CC_ERANGE;
        }
        memcpy(s->tenant_names[n], p, len);
        s->tenant_names[n][len] = '\0';
        for (size_t i = 0; i < n; i++)
            if (!strcmp(s->tenant_names[i], s->tenant_names[n])) {
                snprintf(why, wn, "tenant '%s' named twice", s->tenant_names[n]);
                return CC_EFORMAT;
            }
        n++;
        if (!comma)
            break;
        p = comma + 1;
    }
    s->n_tenants = n;
    return CC_OK;
}

static int parse_weights(const char *v, cc_gen_spec *s, char *why, size_t wn)
{
    size_t n = 0;
    const char *p = v;
    double sum = 0;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        char item[64];
        while (len && isspace((unsigned char)*p))
            p++, len--;
        while (len && isspace((unsigned char)p[len - 1]))
            len--;
        double x;
        if (len >= sizeof item || n >= CC_GEN_MAX_TENANTS) {
            snprintf(why, wn, "expected at most %d weights, each a number", CC_GEN_MAX_TENANTS);
            return CC_ERANGE;
        }
        memcpy(item, p, len);
        item[len] = '\0';
        if (parse_number(item, &x) || x < 0 || x > 1e9) {
            snprintf(why, wn, "weight '%s': expected a number in 0..1e9 (weights are "
                     "separated by commas)", item);
            return CC_ERANGE;
        }
        s->tenant_weights[n++] = x;
        sum += x;
        if (!comma)
            break;
        p = comma + 1;
    }
    if (!(sum > 0)) {
        snprintf(why, wn, "the weights add up to 0; expected at least one above 0");
        return CC_ERANGE;
    }
    s->n_weights = n;
    return CC_OK;
}

/* CC_OK, or CC_EFORMAT (wrong type or syntax) / CC_ERANGE (a value outside
 * its range) with the reason in why. */
static int parse_value(const key_def *k, const char *v, cc_gen_spec *s, const cc_gen_limits *lim,
                       char *why, size_t wn)
{
    char *base = (char *)s;
    char range[96];
    double x;
    switch (k->type) {
    case T_UINT:
        fmt_range(range, sizeof range, k->min, k->max, true);
        if (parse_number(v, &x) || x != floor(x) || x < k->min || x > k->max) {
            snprintf(why, wn, "expected %s, got '%s'", range, v);
            return parse_number(v, &x) || x != floor(x) ? CC_EFORMAT : CC_ERANGE;
        }
        if (k->id == K_BLOCK_SIZE || k->id == K_VOCAB || k->id == K_MAX_CONTEXT)
            *(uint32_t *)(base + k->off) = (uint32_t)x; /* the uint32_t fields */
        else
            *(uint64_t *)(base + k->off) = (uint64_t)x;
        return CC_OK;
    case T_REAL:
        if (parse_number(v, &x) || x < k->min || x > k->max) {
            fmt_range(range, sizeof range, k->min, k->max, false);
            snprintf(why, wn, "expected %s, got '%s'", range, v);
            return parse_number(v, &x) ? CC_EFORMAT : CC_ERANGE;
        }
        *(double *)(base + k->off) = x;
        return CC_OK;
    case T_BOOL: {
        static const char *const t[] = {"true", "yes", "on", "1"}, *const f[] = {"false", "no",
                                                                              "off", "0"};
        for (int i = 0; i < 4; i++) {
            if (!strcmp(v, t[i])) {
                *(bool *)(base + k->off) = true;
                return CC_OK;
            }
            if (!strcmp(v, f[i])) {
                *(bool *)(base + k->off) = false;
                return CC_OK;
            }
        }
        snprintf(why, wn, "expected true or false (also yes/no, on/off, 1/0), got '%s'", v);
        return CC_EFORMAT;
    }
    case T_CHOICE: {
        const char *c = k->choices;
        for (int i = 0; *c; i++) {
            size_t n = strcspn(c, "|");
            if (strlen(v) == n && !strncmp(v, c, n)) {
                *(int *)(base + k->off) = i;
                return CC_OK;
            }
            c += n + (c[n] == '|');
        }
        char list[128];
        snprintf(list, sizeof list, "%s", k->choices);
        for (char *q = list; *q; q++)
            if (*q == '|')
                *q = '/';
        snprintf(why, wn, "expected one of %s, got '%s'", list, v);
        return CC_EFORMAT;
    }
    case T_PROCESS:
        if (!strcmp(v, "poisson"))
            s->process = CC_GEN_ARR_POISSON;
        else if (!strcmp(v, "gamma"))
            s->process = CC_GEN_ARR_GAMMA;
        else if (!strcmp(v, "diurnal"))
            s->process = CC_GEN_ARR_DIURNAL;
        else if (!strncmp(v, "trace:", 6)) {
            const char *path = v + 6;
            while (isspace((unsigned char)*path))
                path++;
            if (!*path) {
                snprintf(why, wn, "expected trace:PATH with the path of a timed trace");
                return CC_EFORMAT;
            }
            if (lim && lim->no_files) {
                snprintf(why, wn, "arrivals from a trace file are not allowed here");
                return CC_EFORMAT;
            }
            if (strlen(path) >= sizeof s->trace_path) {
                snprintf(why, wn, "trace path longer than %zu bytes", sizeof s->trace_path - 1);
                return CC_ERANGE;
            }
            s->process = CC_GEN_ARR_TRACE;
            snprintf(s->trace_path, sizeof s->trace_path, "%s", path);
        } else {
            snprintf(why, wn, "expected poisson, gamma, diurnal or trace:PATH, got '%s'", v);
            return CC_EFORMAT;
        }
        return CC_OK;
    case T_DIST:
        return parse_dist(v, k, (cc_gen_dist *)(base + k->off), why, wn);
    case T_NAMES:
        return parse_names(v, s, why, wn);
    case T_WEIGHTS:
        return parse_weights(v, s, why, wn);
    case T_STRING:
        if (strlen(v) >= sizeof s->trace_format || !cc_format_find(v)) {
            snprintf(why, wn, "expected the name of a trace format (see ctxcache --help), "
                     "got '%s'", v);
            return CC_EFORMAT;
        }
        snprintf(s->trace_format, sizeof s->trace_format, "%s", v);
        return CC_OK;
    }
    return CC_EFORMAT;
}

/* ---- cross-checks after the whole spec is read ------------------------------ */

static long key_line(const cc_gen_spec *s, int k, long fallback)
{
    return s->line_of[k] ? s->line_of[k] : fallback;
}

static int check_spec(cc_gen_spec *s, const cc_gen_limits *lim, const long *section_line,
                      long last_line, const char *base_dir, cc_err *err)
{
    const char *nm = s->name;
    long wl = section_line[S_WORKLOAD] ? section_line[S_WORKLOAD] : 1;
    if (!s->line_of[K_REQUESTS])
        return cc_err_set(err, CC_EFORMAT, nm, last_line ? wl : 1, "workload.requests",
                          last_line ? "missing; expected [workload] with requests = N "
                                      "(how many requests to generate, 1..100000000)"
                                    : "the spec is empty; expected at least [workload] with "
                                      "requests = N");
    if (lim && lim->max_requests && s->requests > lim->max_requests)
        return cc_err_set(err, CC_ERANGE, nm, s->line_of[K_REQUESTS], "workload.requests",
                          "%llu requests; expected at most %llu here",
                          (unsigned long long)s->requests,
                          (unsigned long long)lim->max_requests);
    /* limits lower the defaults; a value the spec sets beyond them is an error */
    if (lim && lim->max_context_tokens && !s->line_of[K_MAX_CONTEXT] &&
        s->max_context_tokens > lim->max_context_tokens)
        s->max_context_tokens = (uint32_t)lim->max_context_tokens;
    if (lim && lim->max_entities) {
        uint64_t *counts[] = {&s->sys_count, &s->doc_count, &s->rag_corpus, &s->para_groups};
        static const int ids[] = {K_SYS_COUNT, K_DOC_COUNT, K_RAG_CORPUS, K_PARA_GROUPS};
        for (int i = 0; i < 4; i++)
            if (!s->line_of[ids[i]] && *counts[i] > lim->max_entities)
                *counts[i] = lim->max_entities;
    }
    if (lim && lim->max_context_tokens && s->max_context_tokens > lim->max_context_tokens)
        return cc_err_set(err, CC_ERANGE, nm, key_line(s, K_MAX_CONTEXT, wl),
                          "workload.max_context_tokens", "%u tokens; expected at most %llu here",
                          s->max_context_tokens, (unsigned long long)lim->max_context_tokens);
    if (lim && lim->max_entities) {
        static const int counts[] = {K_SYS_COUNT, K_DOC_COUNT, K_RAG_CORPUS, K_PARA_GROUPS};
        uint64_t vals[] = {s->sys_count, s->doc_count, s->rag_corpus, s->para_groups};
        for (int i = 0; i < 4; i++)
            if (vals[i] > lim->max_entities)
                return cc_err_set(err, CC_ERANGE, nm, key_line(s, counts[i], wl),
                                  cc_gen_key_name(counts[i]), "%llu; expected at most %llu here",
                                  (unsigned long long)vals[i],
                                  (unsigned long long)lim->max_entities);
    }
    /* arrival keys that do not apply to the chosen process */
    static const char *const proc_names[] = {"poisson", "gamma", "diurnal", "trace:PATH"};
    for (size_t i = 0; i < N_KEYDEFS; i++) {
        const key_def *k = &keys[i];
        if (k->procs && s->line_of[k->id] && !(k->procs & (1u << s->process))) {
            char which[96] = "";
            for (int p = 0; p < 4; p++)
                if (k->procs & (1u << p)) {
                    size_t u = strlen(which);
                    snprintf(which + u, sizeof which - u, "%s%s", u ? ", " : "", proc_names[p]);
                }
            return cc_err_set(err, CC_EFORMAT, nm, s->line_of[k->id], cc_gen_key_name(k->id),
                              "does not apply to process = %s; it is used with: %s",
                              proc_names[s->process], which);
        }
    }
    if (s->process == CC_GEN_ARR_DIURNAL && !s->line_of[K_PEAK])
        s->peak_s = s->period_s / 2;
    if (s->process == CC_GEN_ARR_TRACE && s->trace_path[0] != '/' && base_dir && *base_dir) {
        char full[sizeof s->trace_path];
        int n = snprintf(full, sizeof full, "%s/%s", base_dir, s->trace_path);
        if (n < 0 || (size_t)n >= sizeof full)
            return cc_err_set(err, CC_ERANGE, nm, s->line_of[K_PROCESS], "arrival.process",
                              "trace path too long once joined to the spec's folder");
        memcpy(s->trace_path, full, sizeof full);
    }
    /* tenants */
    if (s->line_of[K_TENANT_WEIGHTS]) {
        if (s->n_weights != s->n_tenants)
            return cc_err_set(err, CC_EFORMAT, nm, s->line_of[K_TENANT_WEIGHTS], "tenants.weights",
                              "%zu weights for %zu tenant names; expected one weight per name",
                              s->n_weights, s->n_tenants);
    } else {
        for (size_t i = 0; i < s->n_tenants; i++)
            s->tenant_weights[i] = 1;
        s->n_weights = s->n_tenants;
    }
    /* mix: without a [mix] key everything is chat */
    bool mix_set = false;
    double mix_sum = 0;
    for (int k = K_MIX_CHAT; k <= K_MIX_PARA; k++)
        mix_set |= s->line_of[k] != 0;
    if (!mix_set)
        s->mix[CC_GEN_CHAT] = 1;
    for (int i = 0; i < CC_GEN_KINDS; i++)
        mix_sum += s->mix[i];
    if (!(mix_sum > 0))
        return cc_err_set(err, CC_ERANGE, nm, section_line[S_MIX], "mix",
                          "every weight is 0; expected at least one of chat, rag, doc, "
                          "paraphrase above 0");
    /* each kind in the mix needs something to draw from */
    if (s->mix[CC_GEN_DOC] > 0 && s->doc_count == 0)
        return cc_err_set(err, CC_ERANGE, nm, key_line(s, K_DOC_COUNT, s->line_of[K_MIX_DOC]),
                          "documents.count", "is 0 but mix.doc is above 0; expected at least 1 "
                          "document");
    if (s->mix[CC_GEN_RAG] > 0) {
        if (s->rag_corpus == 0)
            return cc_err_set(err, CC_ERANGE, nm, key_line(s, K_RAG_CORPUS, s->line_of[K_MIX_RAG]),
                              "rag.corpus", "is 0 but mix.rag is above 0; expected at least 1 "
                              "passage");
        if (s->rag_passages.lo > (double)s->rag_corpus ||
            (s->rag_passages.kind <= CC_GEN_D_UNIFORM &&
             s->rag_passages.p1 > (double)s->rag_corpus))
            return cc_err_set(err, CC_ERANGE, nm, key_line(s, K_RAG_PASSAGES, wl), "rag.passages",
                              "asks for more distinct passages than the corpus of %llu holds",
                              (unsigned long long)s->rag_corpus);
        if (s->rag_passages.hi > (double)s->rag_corpus)
            s->rag_passages.hi = (double)s->rag_corpus;
    }
    if (s->mix[CC_GEN_PARA] > 0) {
        if (s->para_groups == 0)
            return cc_err_set(err, CC_ERANGE, nm,
                              key_line(s, K_PARA_GROUPS, s->line_of[K_MIX_PARA]),
                              "paraphrase.groups", "is 0 but mix.paraphrase is above 0; "
                              "expected at least 1 group");
        if (s->para_groups > cc_gen_para_meanings())
            return cc_err_set(err, CC_ERANGE, nm, key_line(s, K_PARA_GROUPS, wl),
                              "paraphrase.groups", "%llu groups, but the templates give only "
                              "%zu distinct questions; expected at most that many",
                              (unsigned long long)s->para_groups, cc_gen_para_meanings());
    }
    /* no length above the context limit */
    cc_gen_dist *lens[] = {&s->sys_tokens, &s->user_tokens, &s->chat_output, &s->doc_tokens,
                           &s->doc_question, &s->doc_output, &s->rag_passage_tokens,
                           &s->rag_question, &s->rag_output, &s->para_output};
    for (size_t i = 0; i < sizeof lens / sizeof lens[0]; i++) {
        if (lens[i]->hi > s->max_context_tokens)
            lens[i]->hi = s->max_context_tokens;
        if (lens[i]->lo > lens[i]->hi)
            lens[i]->lo = lens[i]->hi;
    }
    return CC_OK;
}

/* ---- the reader -------------------------------------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    for (char *e = s + strlen(s); e > s && isspace((unsigned char)e[-1]);)
        *--e = '\0';
    return s;
}

int cc_gen_spec_parse(const char *text, size_t len, const char *name, const char *base_dir,
                      const cc_gen_limits *lim, cc_gen_spec *s, cc_err *err)
{
    set_defaults(s);
    snprintf(s->name, sizeof s->name, "%s", name ? name : "spec");
    const char *nm = s->name;
    long section_line[N_SECTIONS] = {0};
    int section = -1;
    long line = 0, last_content = 0;
    char buf[LINE_MAX_BYTES + 1], why[768], field[96];
    size_t pos = 0;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3))
        pos = 3; /* a UTF-8 byte-order mark */
    while (pos < len) {
        line++;
        const char *ls = text + pos;
        const char *nl = memchr(ls, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - ls) : len - pos;
        pos += ll + (nl != NULL);
        /* errors about a whole line name the section it is in */
        const char *where = section >= 0 ? section_names[section] : "spec";
        if (memchr(ls, '\0', ll))
            return cc_err_set(err, CC_EFORMAT, nm, line, where,
                              "a NUL byte: this looks like a binary file; expected a text spec "
                              "of [section] and key = value lines");
        for (size_t i = 0; i < ll;) {
            uint32_t cp;
            size_t n = cc_utf8_next((const unsigned char *)ls + i, ll - i, &cp);
            if (n == 0)
                return cc_err_set(err, CC_EFORMAT, nm, line, where,
                                  "invalid UTF-8 at byte %zu of the line; expected UTF-8 text",
                                  i + 1);
            i += n;
        }
        if (ll > LINE_MAX_BYTES)
            return cc_err_set(err, CC_ERANGE, nm, line, where,
                              "line of %zu bytes; expected at most %d", ll, LINE_MAX_BYTES);
        memcpy(buf, ls, ll);
        buf[ll] = '\0';
        /* a comment starts at '#' at the line's start or after a space or tab */
        for (char *h = strchr(buf, '#'); h; h = strchr(h + 1, '#'))
            if (h == buf || h[-1] == ' ' || h[-1] == '\t') {
                *h = '\0';
                break;
            }
        char *l = trim(buf);
        if (!*l)
            continue;
        last_content = line;
        if (*l == '[') {
            char *close = strchr(l, ']');
            if (!close || close[1] != '\0')
                return cc_err_set(err, CC_EFORMAT, nm, line, where,
                                  "expected a section header like [workload], got '%s'", l);
            *close = '\0';
            char *sn = trim(l + 1);
            section = -1;
            for (int i = 0; i < N_SECTIONS; i++)
                if (!strcmp(sn, section_names[i]))
                    section = i;
            if (section < 0)
                return cc_err_set(err, CC_EFORMAT, nm, line, sn,
                                  "unknown section [%s]; expected one of: workload, arrival, "
                                  "tenants, mix, system_prompts, sessions, documents, rag, "
                                  "paraphrase", sn);
            if (section_line[section])
                return cc_err_set(err, CC_EFORMAT, nm, line, sn,
                                  "section [%s] appears twice (first at line %ld); expected "
                                  "each section once", sn, section_line[section]);
            section_line[section] = line;
            continue;
        }
        char *eq = strchr(l, '=');
        if (!eq) {
            /* name the key the line seems to set (its first word) */
            size_t wl = strcspn(l, " \t");
            if (section >= 0)
                snprintf(field, sizeof field, "%s.%.*s", section_names[section], (int)wl, l);
            else
                snprintf(field, sizeof field, "%.*s", (int)wl, l);
            return cc_err_set(err, CC_EFORMAT, nm, line, field,
                              "expected 'key = value' or a [section] line, got '%s'", l);
        }
        *eq = '\0';
        char *key = trim(l), *val = trim(eq + 1);
        if (section < 0)
            return cc_err_set(err, CC_EFORMAT, nm, line, key,
                              "key before any section; expected a [section] line first "
                              "(e.g. [workload])");
        field_name(field, sizeof field, section, key);
        const key_def *k = NULL;
        for (size_t i = 0; i < N_KEYDEFS; i++)
            if (keys[i].section == section && !strcmp(key_part(&keys[i]), key))
                k = &keys[i];
        if (!k) {
            if (!strcmp(key, "seed"))
                return cc_err_set(err, CC_EFORMAT, nm, line, field,
                                  "the seed is not part of the spec; give it with --seed N");
            char list[512] = "";
            for (size_t i = 0; i < N_KEYDEFS; i++)
                if (keys[i].section == section) {
                    size_t u = strlen(list);
                    snprintf(list + u, sizeof list - u, "%s%s", u ? ", " : "", key_part(&keys[i]));
                }
            return cc_err_set(err, CC_EFORMAT, nm, line, field,
                              "unknown key '%s' in [%s]; expected one of: %s", key,
                              section_names[section], list);
        }
        if (s->line_of[k->id])
            return cc_err_set(err, CC_EFORMAT, nm, line, field,
                              "set twice (first at line %ld); expected each key once",
                              s->line_of[k->id]);
        if (!*val)
            return cc_err_set(err, CC_EFORMAT, nm, line, field, "no value after '='");
        int rc = parse_value(k, val, s, lim, why, sizeof why);
        if (rc != CC_OK)
            return cc_err_set(err, rc, nm, line, field, "%s", why);
        s->line_of[k->id] = line;
    }
    return check_spec(s, lim, section_line, last_content, base_dir, err);
}
