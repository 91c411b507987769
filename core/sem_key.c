/*
 * sem_key.c -- the text a semantic cache keys a request by.
 *
 * A multi-turn request carries its whole conversation as chunks (system
 * prompt, user and assistant turns, passages, question; traces.h).  What
 * decides whether two requests "ask the same thing" is a choice:
 *   last_user  the last user turn (or RAG question) alone: a follow-up like
 *              "and in French?" then matches any other "and in French?"
 *              (GPTCache's default, which keys by the last message);
 *   all        system prompt + every turn: safest, fewest hits;
 *   last_k     the last k turns (user and assistant), no system prompt:
 *              ModelCache's middle ground.
 * Pieces are joined with '\n' into a caller-owned buffer that grows by
 * doubling and is reused, so keys cost no allocation once warm.  O(key
 * bytes) per request.
 */
#include "semantic_cache.h"

#include <stdlib.h>
#include <string.h>

int cc_sem_key_mode_parse(const char *s, cc_sem_key_mode *mode, uint32_t *k, cc_err *err)
{
    if (!strcmp(s, "last_user") || !strcmp(s, "last-user")) {
        *mode = CC_SEM_KEY_LAST_USER;
        *k = 1;
        return CC_OK;
    }
    if (!strcmp(s, "all")) {
        *mode = CC_SEM_KEY_ALL;
        *k = 0;
        return CC_OK;
    }
    unsigned long v;
    char *end;
    if (!strncmp(s, "last", 4) && s[4] >= '1' && s[4] <= '9') {
        v = strtoul(s + 4, &end, 10);
        if (!*end && v >= 1 && v <= 1000) {
            *mode = CC_SEM_KEY_LAST_K;
            *k = (uint32_t)v;
            return CC_OK;
        }
    }
    return cc_err_set(err, CC_EARG, NULL, 0, "key", "'%s'; expected last_user, all or lastK "
                      "(K turns, e.g. last3)", s);
}

uint32_t cc_sem_count_words(const char *text, size_t len)
{
    uint32_t n = 0;
    int in = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)text[i];
        int w = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
                ch >= 0x80;
        if (w && !in)
            n++;
        in = w;
    }
    return n;
}

static int append(char **buf, size_t *cap, size_t *len, const char *s, size_t n)
{
    if (cc_grow((void **)buf, cap, *len + n + 2, 1))
        return CC_ENOMEM;
    if (*len)
        (*buf)[(*len)++] = '\n';
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[*len] = 0;
    return CC_OK;
}

int cc_sem_request_key(const cc_trace *t, size_t i, cc_sem_key_mode mode, uint32_t k,
                       char **buf, size_t *cap, size_t *len, cc_err *err)
{
    *len = 0;
    cc_request r = cc_trace_get(t, i);
    if (r.n_chunks == 0)
        return cc_err_set(err, CC_EUNSUP, t->source, (long)i + 1, "chunks",
                          "request %zu has no text (a hash-only trace): the semantic tier "
                          "needs text, or --embedder precomputed with vectors in the trace", i);
    size_t first = 0, last = r.n_chunks; /* chunks [first, last) taken */
    int only_turns = 0;
    if (mode == CC_SEM_KEY_LAST_USER) {
        size_t j = r.n_chunks;
        while (j > 0 && r.chunks[j - 1].kind != CC_CHUNK_USER &&
               r.chunks[j - 1].kind != CC_CHUNK_QUESTION)
            j--;
        if (j == 0)
            j = r.n_chunks; /* no user turn: the last piece of text */
        first = j - 1;
        last = j;
    } else if (mode == CC_SEM_KEY_LAST_K) {
        only_turns = 1;
        size_t j = r.n_chunks, turns = 0;
        while (j > 0 && turns < k) {
            uint32_t kd = r.chunks[j - 1].kind;
            if (kd == CC_CHUNK_USER || kd == CC_CHUNK_ASSISTANT || kd == CC_CHUNK_QUESTION)
                turns++;
            j--;
        }
        first = j;
    }
    for (size_t j = first; j < last; j++) {
        const cc_chunk *ch = &r.chunks[j];
        if (only_turns && ch->kind != CC_CHUNK_USER && ch->kind != CC_CHUNK_ASSISTANT &&
            ch->kind != CC_CHUNK_QUESTION)
            continue;
        if (append(buf, cap, len, t->text + ch->text_off, ch->text_len))
            return cc_err_set(err, CC_ENOMEM, NULL, 0, NULL, "out of memory (key)");
    }
    if (*len == 0 && cc_grow((void **)buf, cap, 1, 1) == 0)
        (*buf)[0] = 0;
    return CC_OK;
}
