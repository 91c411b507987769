/*
 * rag.c -- questions with retrieved passages (the shape of CacheBlend's
 * inputs/musique_s.json): one top-level JSON array of
 *
 *   {"question": "...", "answers": ["..."],
 *    "ctxs": [{"title": "...", "text": "..."}, ...]}
 *
 * "question" (string) and "ctxs" (array, may be empty) are required, each
 * ctx an object with "text" (string) and an optional "title" (string);
 * "answers" is a non-empty array of strings, or one string.  Unknown fields
 * are ignored.
 *
 * Requests: one per question; record i (0-based) is session i, turn 0.  The
 * input is one PASSAGE chunk per ctx in the given order -- its text is the
 * title, a newline and the text, or the text alone when the title is empty
 * or absent -- then one QUESTION chunk.  A passage retrieved for several
 * questions is stored once in the arena and has the same chunk_hash wherever
 * it sits, so the blend tier can find it at a new position (where the prefix
 * tier cannot).  output_tokens = tokens of the first answer, at least 1.  No
 * timestamps: arrival_ns = 0, trace->timed = false.
 * Cost: O(file bytes + tokens); one record decoded at a time.
 */
#include "textread.h"

#include <stdlib.h>
#include <string.h>

int cc_detect_rag(const char *path, const unsigned char *head, size_t len)
{
    (void)path;
    if (cc_text_head_first(head, len) != '[' || !cc_text_head_has_key(head, len, "ctxs"))
        return 0;
    return cc_text_head_has_key(head, len, "text") || cc_text_head_has_key(head, len, "question")
               ? 90 : 70;
}

/* The passage text of one ctx into *buf (title "\n" text, or text). */
static int read_ctx(cc_text_builder *b, const cc_json_records *it, json_t *ctx, size_t k,
                    char **buf, size_t *cap, cc_err *e)
{
    char field[48];
    const char *text, *title = "";
    size_t text_len, title_len = 0, idx;
    int rc;
    snprintf(field, sizeof field, "ctxs[%zu]", k);
    if ((rc = cc_json_want_object(it, ctx, field, e)))
        return rc;
    snprintf(field, sizeof field, "ctxs[%zu].text", k);
    if ((rc = cc_json_want_string(it, json_object_get(ctx, "text"), field, &text, &text_len, e)))
        return rc;
    json_t *t = json_object_get(ctx, "title");
    if (t) {
        snprintf(field, sizeof field, "ctxs[%zu].title", k);
        if ((rc = cc_json_want_string(it, t, field, &title, &title_len, e)))
            return rc;
    }
    snprintf(field, sizeof field, "ctxs[%zu].text", k);
    if (title_len == 0)
        return cc_text_piece_add(b, it, CC_CHUNK_PASSAGE, text, text_len, field, &idx, e);
    if (cc_grow((void **)buf, cap, title_len + 1 + text_len + 1, 1))
        return cc_err_set(e, CC_ENOMEM, b->path, 0, NULL, "out of memory");
    memcpy(*buf, title, title_len);
    (*buf)[title_len] = '\n';
    memcpy(*buf + title_len + 1, text, text_len);
    return cc_text_piece_add(b, it, CC_CHUNK_PASSAGE, *buf, title_len + 1 + text_len, field,
                             &idx, e);
}

static int read_question(cc_text_builder *b, const cc_json_records *it, json_t *rec,
                         char **buf, size_t *cap, cc_err *e)
{
    const char *q, *a;
    size_t q_len, a_len, idx;
    int rc;
    json_t *ctxs = json_object_get(rec, "ctxs");
    json_t *answers = json_object_get(rec, "answers");
    if ((rc = cc_json_want_string(it, json_object_get(rec, "question"), "question", &q, &q_len, e)) ||
        (rc = cc_json_want_array(it, ctxs, "ctxs", e)))
        return rc;
    const char *afield = "answers";
    if (!answers)
        return cc_json_fail(it, e, CC_EFORMAT, "answers", "missing field 'answers'; expected "
                            "an array of strings (or one string)");
    if (json_is_array(answers)) {
        if (json_array_size(answers) == 0)
            return cc_json_fail(it, e, CC_EFORMAT, "answers",
                                "'answers' is empty; expected at least one answer string");
        answers = json_array_get(answers, 0);
        afield = "answers[0]";
    }
    if ((rc = cc_json_want_string(it, answers, afield, &a, &a_len, e)))
        return rc;
    for (size_t k = 0; k < json_array_size(ctxs); k++)
        if ((rc = read_ctx(b, it, json_array_get(ctxs, k), k, buf, cap, e)))
            return rc;
    if ((rc = cc_text_piece_add(b, it, CC_CHUNK_QUESTION, q, q_len, "question", &idx, e)))
        return rc;
    uint32_t out;
    if ((rc = cc_text_count_tokens(b, it, a, a_len, afield, &out, e)))
        return rc;
    cc_request meta = {0};
    meta.session_id = (uint64_t)(it->index - 1);
    meta.output_tokens = out ? out : 1;
    meta.group_id = CC_NO_GROUP;
    meta.role = CC_ROLE_QUERY;
    return cc_text_emit(b, it, 0, b->n_pieces, &meta, e);
}

int cc_read_rag(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e)
{
    cc_text_builder b;
    cc_text_file f;
    cc_json_records it;
    json_t *rec = NULL;
    char *buf = NULL;
    size_t cap = 0;
    memset(&f, 0, sizeof f);
    int rc = cc_text_builder_init(&b, path, "rag", o, t, e);
    if (!rc)
        rc = cc_text_file_load(&f, path, e);
    if (!rc)
        rc = cc_json_records_open(&it, &f, 0, e);
    while (!rc && (rc = cc_json_records_next(&it, &rec, e)) == 1) {
        cc_text_record_reset(&b);
        rc = read_question(&b, &it, rec, &buf, &cap, e);
        json_decref(rec);
        rec = NULL;
    }
    if (!rc)
        rc = cc_text_finish(&b, &it, "the array holds no question", e);
    free(buf);
    cc_text_file_free(&f);
    cc_text_builder_free(&b);
    if (rc)
        cc_trace_free(t);
    return rc;
}
