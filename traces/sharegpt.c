/*
 * sharegpt.c -- ShareGPT conversations (JSON): one top-level array of
 *
 *   {"id": "wc1OQ5t_9", "conversations": [{"from": "human", "value": "..."},
 *                                          {"from": "gpt", "value": "..."}, ...]}
 *
 * `from` names the speaker: "human" (synonym "user") is a user turn, "gpt"
 * (synonyms "assistant", "chatgpt", "bard") a model answer, "system" a system
 * prompt; case is ignored; anything else is an error.  "id" and unknown
 * fields are ignored.
 *
 * Requests: one per human turn, in file order.  Conversation i (0-based
 * position in the array) is session i; its k-th human turn (0-based) is turn
 * k, and its input is every turn before it in the conversation, in order
 * (system -> SYSTEM chunk, human -> USER, gpt -> ASSISTANT), then the human
 * turn itself.  So request k+1's input starts with request k's input plus
 * the answer between them: its token ids extend k's, and its hash chain
 * starts with all of k's full blocks.  output_tokens = tokens of the model
 * answer that directly follows the human turn; when none follows (the two
 * ShareGPT files in shared/data hold first turns only) the default of the
 * answerless formats, CC_TEXT_OUTPUT_TOKENS (256).
 * A conversation without any human turn (sg90k has 16 that hold only a system
 * banner and 4 that start with a model answer) sends nothing to a model and
 * yields no request; a file where no conversation has a human turn is an
 * error.  No timestamps: arrival_ns = 0, trace->timed = false.
 *
 * Each turn's text is stored once in the arena and tokenized once; later
 * turns' chunks point at the same text.  Cost: O(file bytes + tokens of all
 * requests), the latter quadratic in a conversation's length (request k
 * repeats the k earlier turns, as a server sees them).
 */
#include "textread.h"

#include <string.h>
#include <strings.h>

static int speaker_kind(const char *from)
{
    static const struct { const char *name; int kind; } names[] = {
        {"human", CC_CHUNK_USER},          {"user", CC_CHUNK_USER},
        {"gpt", CC_CHUNK_ASSISTANT},       {"assistant", CC_CHUNK_ASSISTANT},
        {"chatgpt", CC_CHUNK_ASSISTANT},   {"bard", CC_CHUNK_ASSISTANT},
        {"system", CC_CHUNK_SYSTEM},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(from, names[i].name) == 0)
            return names[i].kind;
    return -1;
}

int cc_detect_sharegpt(const char *path, const unsigned char *head, size_t len)
{
    (void)path;
    if (cc_text_head_first(head, len) != '[' || !cc_text_head_has_key(head, len, "conversations"))
        return 0;
    return cc_text_head_has_key(head, len, "from") || cc_text_head_has_key(head, len, "value")
               ? 90 : 70;
}

/* Validates one conversation's turns and adds the ones up to the last human
 * turn as pieces; *n_pieces gets how many, *out_last the output length of the
 * last human turn (tokens of the answer after it, 0 if none). */
static int read_turns(cc_text_builder *b, const cc_json_records *it, json_t *conv,
                      size_t *n_pieces, uint32_t *out_last, cc_err *e)
{
    size_t n = json_array_size(conv);
    char field[96];
    size_t last_human = SIZE_MAX;
    /* first pass: types and speakers, so that errors come in file order */
    for (size_t k = 0; k < n; k++) {
        json_t *turn = json_array_get(conv, k);
        snprintf(field, sizeof field, "conversations[%zu]", k);
        int rc = cc_json_want_object(it, turn, field, e);
        if (rc)
            return rc;
        const char *from, *value;
        size_t from_len, value_len;
        snprintf(field, sizeof field, "conversations[%zu].from", k);
        rc = cc_json_want_string(it, json_object_get(turn, "from"), field, &from, &from_len, e);
        if (rc)
            return rc;
        int kind = speaker_kind(from);
        if (kind < 0)
            return cc_json_fail(it, e, CC_EFORMAT, field,
                                "speaker '%.40s' unknown; expected human/user, gpt/assistant/"
                                "chatgpt/bard or system", from);
        snprintf(field, sizeof field, "conversations[%zu].value", k);
        rc = cc_json_want_string(it, json_object_get(turn, "value"), field, &value, &value_len, e);
        if (rc)
            return rc;
        if (kind == CC_CHUNK_USER)
            last_human = k;
    }
    *n_pieces = last_human == SIZE_MAX ? 0 : last_human + 1;
    *out_last = 0;
    for (size_t k = 0; k < *n_pieces; k++) {
        json_t *turn = json_array_get(conv, k);
        json_t *v = json_object_get(turn, "value");
        snprintf(field, sizeof field, "conversations[%zu].value", k);
        int kind = speaker_kind(json_string_value(json_object_get(turn, "from")));
        size_t idx;
        int rc = cc_text_piece_add(b, it, kind, json_string_value(v), json_string_length(v),
                                   field, &idx, e);
        if (rc)
            return rc;
    }
    if (*n_pieces && *n_pieces < n) {
        json_t *next = json_array_get(conv, *n_pieces);
        const char *from = json_string_value(json_object_get(next, "from"));
        if (speaker_kind(from) == CC_CHUNK_ASSISTANT) {
            json_t *v = json_object_get(next, "value");
            snprintf(field, sizeof field, "conversations[%zu].value", *n_pieces);
            return cc_text_count_tokens(b, it, json_string_value(v), json_string_length(v), field,
                                        out_last, e);
        }
    }
    return CC_OK;
}

int cc_read_sharegpt(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e)
{
    cc_text_builder b;
    cc_text_file f;
    cc_json_records it;
    json_t *rec = NULL;
    memset(&f, 0, sizeof f);
    int rc = cc_text_builder_init(&b, path, "sharegpt", o, t, e);
    if (!rc)
        rc = cc_text_file_load(&f, path, e);
    if (!rc)
        rc = cc_json_records_open(&it, &f, 0, e);
    while (!rc && (rc = cc_json_records_next(&it, &rec, e)) == 1) {
        rc = CC_OK;
        cc_text_record_reset(&b);
        json_t *conv = json_object_get(rec, "conversations");
        size_t n_pieces = 0;
        uint32_t out_last = 0;
        if (!(rc = cc_json_want_array(&it, conv, "conversations", e)))
            rc = read_turns(&b, &it, conv, &n_pieces, &out_last, e);
        uint32_t human = 0;
        for (size_t k = 0; !rc && k < n_pieces; k++) {
            if (b.pieces[k].kind != CC_CHUNK_USER)
                continue;
            cc_request meta = {0};
            meta.session_id = (uint64_t)(it.index - 1);
            meta.turn = human++;
            meta.group_id = CC_NO_GROUP;
            meta.role = CC_ROLE_QUERY;
            /* the reply's length; with no reply (first-turn-only dumps such as
             * the shared ShareGPT files) the default of the answerless formats */
            meta.output_tokens = CC_TEXT_OUTPUT_TOKENS;
            if (k + 1 == n_pieces && out_last)
                meta.output_tokens = out_last;
            else if (k + 1 < n_pieces && b.pieces[k + 1].kind == CC_CHUNK_ASSISTANT)
                meta.output_tokens = b.pieces[k + 1].n_tok;
            rc = cc_text_emit(&b, &it, 0, k + 1, &meta, e);
        }
        json_decref(rec);
        rec = NULL;
    }
    if (!rc)
        rc = cc_text_finish(&b, &it, "no conversation has a human turn", e);
    cc_text_file_free(&f);
    cc_text_builder_free(&b);
    if (rc)
        cc_trace_free(t);
    return rc;
}
