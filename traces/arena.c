/*
 * arena.c -- Arena-hard questions (lmarena/arena-hard-auto, JSON Lines):
 *
 *   {"uid": "328c...", "category": "arena-hard-v0.1", "cluster": "...",
 *    "prompt": "Use ABC notation to write a melody ..."}
 *
 * and the older shape {"question_id": ..., "turns": [{"content": "..."}]}.
 * One object a line; the text is "prompt" (a string) when present, else
 * every "turns"[i]."content" (strings, at least one), each its own USER
 * chunk of the same request.  Other fields are ignored.  Blank lines only
 * at the end.
 *
 * Requests: one single-turn request per line; line i (0-based record) is
 * session i, turn 0.  The dataset has no answers: output_tokens =
 * CC_TEXT_OUTPUT_TOKENS = 256.  No timestamps: arrival_ns = 0,
 * trace->timed = false.  Cost: O(file bytes + tokens).
 */
#include "textread.h"

#include <string.h>

int cc_detect_arena(const char *path, const unsigned char *head, size_t len)
{
    (void)path;
    if (cc_text_head_first(head, len) != '{')
        return 0;
    if (cc_text_head_has_key(head, len, "prompt"))
        return cc_text_head_has_key(head, len, "uid") || cc_text_head_has_key(head, len, "cluster")
                   ? 90 : 50;
    size_t v = cc_text_head_value_at(head, len, "turns");
    if (v && head[v] == '[' && cc_text_head_first(head + v + 1, len - v - 1) == '{' &&
        cc_text_head_has_key(head, len, "content"))
        return 85;
    return 0;
}

/* Adds the record's text(s) as pieces. */
static int read_prompt(cc_text_builder *b, const cc_json_records *it, json_t *rec, cc_err *e)
{
    const char *s;
    size_t len, idx;
    int rc;
    json_t *prompt = json_object_get(rec, "prompt");
    json_t *turns = json_object_get(rec, "turns");
    if (prompt || !turns) {
        if (!prompt)
            return cc_json_fail(it, e, CC_EFORMAT, "prompt", "missing field 'prompt'; expected a "
                                "string 'prompt' (or 'turns': [{\"content\": string}, ...])");
        if ((rc = cc_json_want_string(it, prompt, "prompt", &s, &len, e)))
            return rc;
        return cc_text_piece_add(b, it, CC_CHUNK_USER, s, len, "prompt", &idx, e);
    }
    if ((rc = cc_json_want_array(it, turns, "turns", e)))
        return rc;
    if (json_array_size(turns) == 0)
        return cc_json_fail(it, e, CC_EFORMAT, "turns",
                            "'turns' is empty; expected at least one {\"content\": string}");
    for (size_t k = 0; k < json_array_size(turns); k++) {
        char field[48];
        json_t *turn = json_array_get(turns, k);
        snprintf(field, sizeof field, "turns[%zu]", k);
        if ((rc = cc_json_want_object(it, turn, field, e)))
            return rc;
        snprintf(field, sizeof field, "turns[%zu].content", k);
        if ((rc = cc_json_want_string(it, json_object_get(turn, "content"), field, &s, &len, e)) ||
            (rc = cc_text_piece_add(b, it, CC_CHUNK_USER, s, len, field, &idx, e)))
            return rc;
    }
    return CC_OK;
}

int cc_read_arena(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e)
{
    cc_text_builder b;
    cc_text_file f;
    cc_json_records it;
    json_t *rec = NULL;
    memset(&f, 0, sizeof f);
    int rc = cc_text_builder_init(&b, path, "arena", o, t, e);
    if (!rc)
        rc = cc_text_file_load(&f, path, e);
    if (!rc)
        rc = cc_json_records_open(&it, &f, 1, e);
    while (!rc && (rc = cc_json_records_next(&it, &rec, e)) == 1) {
        cc_text_record_reset(&b);
        rc = read_prompt(&b, &it, rec, e);
        if (!rc) {
            cc_request meta = {0};
            meta.session_id = (uint64_t)(it.index - 1);
            meta.output_tokens = CC_TEXT_OUTPUT_TOKENS;
            meta.group_id = CC_NO_GROUP;
            meta.role = CC_ROLE_QUERY;
            rc = cc_text_emit(&b, &it, 0, b.n_pieces, &meta, e);
        }
        json_decref(rec);
        rec = NULL;
    }
    if (!rc)
        rc = cc_text_finish(&b, &it, "the file holds no prompt", e);
    cc_text_file_free(&f);
    cc_text_builder_free(&b);
    if (rc)
        cc_trace_free(t);
    return rc;
}
