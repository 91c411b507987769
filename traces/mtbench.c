/*
 * mtbench.c -- MT-bench questions (FastChat llm_judge, JSON Lines):
 *
 *   {"question_id": 81, "category": "writing", "turns": ["...", "..."]}
 *
 * one object a line; "turns" (required) is a non-empty array of strings, the
 * user's messages in order (MT-bench has 2; any number is read);
 * "question_id" (optional) must be a non-negative integer; "category",
 * "reference" and unknown fields are ignored.  Blank lines only at the end.
 *
 * Requests: one per turn.  Line i (0-based record) is session i, turn k is
 * turn k.  The dataset has no model answers, so:
 *  - every request's output_tokens is CC_TEXT_OUTPUT_TOKENS = 256;
 *  - the answer to turn k, which a server would have in turn k+1's context,
 *    is an ASSISTANT chunk of placeholder text that stands for those 256
 *    tokens: "[MT-bench gives no answer to question Q, turn K; placeholder
 *    for a 256-token answer]" followed by " answer" repeated as often as
 *    makes the chunk tokenize to exactly 256 tokens (or the fewest >= 256 the
 *    tokenizer allows; exactly 256 with the built-in one).  Q is the
 *    question_id (or "record N" without one) and K the 1-based turn answered,
 *    so no two questions share the placeholder's text and the blend tier sees
 *    no reuse that is not there.
 * So turn k's input is: user 0, answer 0, user 1, ..., user k (chunks USER,
 * ASSISTANT, USER, ...), and turn k+1's token ids extend turn k's.  (The
 * "reference" answers that 39 questions carry are judges' short reference
 * solutions, some empty; they are not used as answers.)  No timestamps:
 * arrival_ns = 0, trace->timed = false.
 *
 * Cost: O(file bytes + tokens of all requests); the placeholder is found
 * with a few tokenizations of ~1.8 KB per answer.
 */
#include "textread.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MTB_FILLER " answer"

int cc_detect_mtbench(const char *path, const unsigned char *head, size_t len)
{
    (void)path;
    size_t v = cc_text_head_value_at(head, len, "turns");
    if (cc_text_head_first(head, len) != '{' || !v || head[v] != '[')
        return 0;
    /* arena-hard's older lines have "turns": [{"content": ...}] */
    int first = cc_text_head_first(head + v + 1, len - v - 1);
    if (first != '"' && first != 0)
        return 0;
    return cc_text_head_has_key(head, len, "question_id") ? 90 : 60;
}

/* Text for the answer placeholder with `m` fillers into *buf. */
static int placeholder_text(char **buf, size_t *cap, const char *label, unsigned turn,
                            size_t m, size_t *len)
{
    char head[160];
    int hl = snprintf(head, sizeof head,
                      "[MT-bench gives no answer to question %s, turn %u; placeholder for a "
                      "%d-token answer]", label, turn, CC_TEXT_OUTPUT_TOKENS);
    size_t fl = sizeof MTB_FILLER - 1, need = (size_t)hl + m * fl;
    if (cc_grow((void **)buf, cap, need + 1, 1))
        return CC_ENOMEM;
    memcpy(*buf, head, (size_t)hl);
    for (size_t i = 0; i < m; i++)
        memcpy(*buf + hl + i * fl, MTB_FILLER, fl);
    *len = need;
    return CC_OK;
}

/* Adds the placeholder answer to turn `turn` as the next piece. */
static int add_placeholder(cc_text_builder *b, const cc_json_records *it, const char *label,
                           unsigned turn, char **buf, size_t *cap, cc_err *e)
{
    const uint32_t target = CC_TEXT_OUTPUT_TOKENS;
    size_t len, m = 0;
    uint32_t n;
    int rc;
#define TRY(mm)                                                                          \
    do {                                                                                 \
        if (placeholder_text(buf, cap, label, turn, (mm), &len))                         \
            return cc_err_set(e, CC_ENOMEM, b->path, 0, NULL, "out of memory");          \
        if ((rc = cc_text_count_tokens(b, it, *buf, len, "turns", &n, e)))               \
            return rc;                                                                   \
    } while (0)
    TRY(0);
    m = n < target ? target - n : 0;
    TRY(m);
    /* the count grows with m: step to the fewest fillers giving >= target */
    for (size_t guard = 0; n < target && guard < 4u * target; guard++)
        TRY(++m);
    while (m > 0) {
        TRY(m - 1);
        if (n < target) {
            TRY(m);
            break;
        }
        m--;
    }
#undef TRY
    size_t idx;
    return cc_text_piece_add(b, it, CC_CHUNK_ASSISTANT, *buf, len, "turns", &idx, e);
}

int cc_read_mtbench(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e)
{
    cc_text_builder b;
    cc_text_file f;
    cc_json_records it;
    json_t *rec = NULL;
    char *ph = NULL;
    size_t ph_cap = 0;
    memset(&f, 0, sizeof f);
    int rc = cc_text_builder_init(&b, path, "mtbench", o, t, e);
    if (!rc)
        rc = cc_text_file_load(&f, path, e);
    if (!rc)
        rc = cc_json_records_open(&it, &f, 1, e);
    while (!rc && (rc = cc_json_records_next(&it, &rec, e)) == 1) {
        rc = CC_OK;
        cc_text_record_reset(&b);
        char label[48];
        snprintf(label, sizeof label, "record %ld", it.index);
        json_t *qid = json_object_get(rec, "question_id");
        if (qid && !json_is_integer(qid))
            rc = cc_json_fail(&it, e, CC_EFORMAT, "question_id", "'question_id' is %s; "
                              "expected a non-negative integer", cc_json_type_name(qid));
        else if (qid && json_integer_value(qid) < 0)
            rc = cc_json_fail(&it, e, CC_ERANGE, "question_id", "question_id %" JSON_INTEGER_FORMAT
                              " is negative; expected a non-negative integer",
                              json_integer_value(qid));
        else if (qid)
            snprintf(label, sizeof label, "%" JSON_INTEGER_FORMAT, json_integer_value(qid));
        json_t *turns = json_object_get(rec, "turns");
        if (!rc && !(rc = cc_json_want_array(&it, turns, "turns", e)) && json_array_size(turns) == 0)
            rc = cc_json_fail(&it, e, CC_EFORMAT, "turns",
                              "'turns' is empty; expected at least one user message");
        size_t n = rc ? 0 : json_array_size(turns);
        for (size_t k = 0; !rc && k < n; k++) {
            char field[48];
            const char *s;
            size_t len, idx;
            snprintf(field, sizeof field, "turns[%zu]", k);
            if ((rc = cc_json_want_string(&it, json_array_get(turns, k), field, &s, &len, e)))
                break;
            if ((rc = cc_text_piece_add(&b, &it, CC_CHUNK_USER, s, len, field, &idx, e)))
                break;
            cc_request meta = {0};
            meta.session_id = (uint64_t)(it.index - 1);
            meta.turn = (uint32_t)k;
            meta.output_tokens = CC_TEXT_OUTPUT_TOKENS;
            meta.group_id = CC_NO_GROUP;
            meta.role = CC_ROLE_QUERY;
            if ((rc = cc_text_emit(&b, &it, 0, idx + 1, &meta, e)))
                break;
            if (k + 1 < n)
                rc = add_placeholder(&b, &it, label, (unsigned)k + 1, &ph, &ph_cap, e);
        }
        json_decref(rec);
        rec = NULL;
    }
    if (!rc)
        rc = cc_text_finish(&b, &it, "the file holds no question", e);
    free(ph);
    cc_text_file_free(&f);
    cc_text_builder_free(&b);
    if (rc)
        cc_trace_free(t);
    return rc;
}
