/*
 * pairs.c -- labelled question pairs, for the semantic tier (GPTCache's
 * benchmark data).  One top-level JSON array in either shape, told apart by
 * the first record's keys (every record must then have that shape):
 *
 *   {"text_a": "...", "text_b": "...", "label": 1}   (Quora QQP; label 1 =
 *                                                      same question, 0 = not)
 *   {"origin": "...", "similar": "..."}              (paraphrase pairs: always
 *                                                      the same question)
 *
 * label must be the integer 0 or 1 (another integer: CC_ERANGE).  Unknown
 * fields are ignored.
 *
 * Requests: two per pair, in file order: first text_a / origin with role
 * CC_ROLE_SEED (it fills the cache), then text_b / similar with role
 * CC_ROLE_QUERY.  Pair p (0-based) gives sessions 2p and 2p+1 (each a
 * single-turn session) and groups: the seed gets group 2p, the query group 2p
 * when the two ask the same thing (origin/similar, or label 1) and 2p+1 when
 * not (label 0).  Groups are per pair: the same text in two pairs gets two
 * groups (pair labels need not be transitive, so they are not merged).  Each
 * request is one USER chunk; identical texts share one copy in the arena.
 * The data has no answers: output_tokens = CC_TEXT_OUTPUT_TOKENS = 256.
 * No timestamps: arrival_ns = 0, trace->timed = false.
 * Cost: O(file bytes + tokens); jansson holds one pair at a time.
 */
#include "textread.h"

#include <string.h>

enum { SHAPE_QQP = 1, SHAPE_ORIGIN = 2 };

int cc_detect_pairs(const char *path, const unsigned char *head, size_t len)
{
    (void)path;
    if (cc_text_head_first(head, len) != '[')
        return 0;
    if (cc_text_head_has_key(head, len, "text_a") && cc_text_head_has_key(head, len, "text_b"))
        return 90;
    if (cc_text_head_has_key(head, len, "origin") && cc_text_head_has_key(head, len, "similar"))
        return 90;
    return 0;
}

static int read_pair(cc_text_builder *b, const cc_json_records *it, json_t *rec, int *shape,
                     cc_err *e)
{
    if (!*shape) {
        if (json_object_get(rec, "text_a"))
            *shape = SHAPE_QQP;
        else if (json_object_get(rec, "origin"))
            *shape = SHAPE_ORIGIN;
        else
            return cc_json_fail(it, e, CC_EFORMAT, "text_a", "missing field 'text_a' (or "
                                "'origin'); expected {\"text_a\", \"text_b\", \"label\"} or "
                                "{\"origin\", \"similar\"}");
    }
    const char *ka = *shape == SHAPE_QQP ? "text_a" : "origin";
    const char *kb = *shape == SHAPE_QQP ? "text_b" : "similar";
    const char *sa, *sb;
    size_t la, lb, idx;
    int rc;
    if ((rc = cc_json_want_string(it, json_object_get(rec, ka), ka, &sa, &la, e)) ||
        (rc = cc_json_want_string(it, json_object_get(rec, kb), kb, &sb, &lb, e)))
        return rc;
    int same = 1;
    if (*shape == SHAPE_QQP) {
        json_t *label = json_object_get(rec, "label");
        if (!label)
            return cc_json_fail(it, e, CC_EFORMAT, "label",
                                "missing field 'label'; expected 0 or 1");
        if (!json_is_integer(label))
            return cc_json_fail(it, e, CC_EFORMAT, "label", "'label' is %s; expected 0 or 1",
                                cc_json_type_name(label));
        json_int_t v = json_integer_value(label);
        if (v != 0 && v != 1)
            return cc_json_fail(it, e, CC_ERANGE, "label",
                                "label %" JSON_INTEGER_FORMAT "; expected 0 or 1", v);
        same = v == 1;
    }
    if ((rc = cc_text_piece_add(b, it, CC_CHUNK_USER, sa, la, ka, &idx, e)) ||
        (rc = cc_text_piece_add(b, it, CC_CHUNK_USER, sb, lb, kb, &idx, e)))
        return rc;
    uint64_t p = (uint64_t)(it->index - 1);
    cc_request meta = {0};
    meta.output_tokens = CC_TEXT_OUTPUT_TOKENS;
    meta.session_id = 2 * p;
    meta.group_id = 2 * p;
    meta.role = CC_ROLE_SEED;
    if ((rc = cc_text_emit(b, it, 0, 1, &meta, e)))
        return rc;
    meta.session_id = 2 * p + 1;
    meta.group_id = same ? 2 * p : 2 * p + 1;
    meta.role = CC_ROLE_QUERY;
    return cc_text_emit(b, it, 1, 1, &meta, e);
}

int cc_read_pairs(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e)
{
    cc_text_builder b;
    cc_text_file f;
    cc_json_records it;
    json_t *rec = NULL;
    int shape = 0;
    memset(&f, 0, sizeof f);
    int rc = cc_text_builder_init(&b, path, "pairs", o, t, e);
    if (!rc)
        rc = cc_text_file_load(&f, path, e);
    if (!rc)
        rc = cc_json_records_open(&it, &f, 0, e);
    while (!rc && (rc = cc_json_records_next(&it, &rec, e)) == 1) {
        cc_text_record_reset(&b);
        rc = read_pair(&b, &it, rec, &shape, e);
        json_decref(rec);
        rec = NULL;
    }
    if (!rc)
        rc = cc_text_finish(&b, &it, "the array holds no pair", e);
    cc_text_file_free(&f);
    cc_text_builder_free(&b);
    if (rc)
        cc_trace_free(t);
    return rc;
}
