/*
 * chatlog.c -- request logs of OpenAI-compatible chat-completions servers,
 * the format proxies and gateways write (`--format chatlog`).
 *
 * The input is a JSON Lines file, or a directory of them (its regular files
 * whose names do not start with '.', read in name order).  Each line is one
 * of:
 *   - a request body: {"model": "...", "messages": [...], ...}
 *   - a request record that wraps one:
 *       {"type": "request", "request_id": "r1", "session_id": "s7",
 *        "timestamp": "2025-01-02T03:04:05.25Z", "body": {"model", "messages"}}
 *   - a response record: {"type": "response", "request_id": "r1",
 *       "body": {"usage": {"prompt_tokens": 812, "completion_tokens": 95}}}
 *     (usage may also sit on the record itself), or a bare response object
 *     ({"object": "chat.completion", "id": ..., "usage": ...}).
 *   Other fields are ignored.
 *
 * Fields of a request (on the wrapping record; a bare body is its own
 * record):
 *   request_id, else id      string or integer; optional; responses name it
 *   session_id, else session string or integer; else body.metadata.session_id
 *   timestamp                seconds since 1970 (number) or an ISO 8601 / RFC
 *                            3339 UTC time ("2025-01-02T03:04:05.123Z", a
 *                            space for the T, an offset +hh:mm or none = UTC);
 *                            or timestamp_ms / timestamp_us / timestamp_ns
 *                            (numbers in those units)
 *   body.model               the tenant (unless --tenant names one)
 *   body.messages            non-empty array of {"role", "content", ...}
 * Either every request has a time or none has (then timed = false and every
 * arrival is 0, in file order).
 *
 * Messages become chunks in order: role system or developer -> SYSTEM, user
 * -> USER, assistant -> ASSISTANT, tool or function -> TOOL.  content is a
 * string, null/absent, or a list of parts: strings, or objects whose "type"
 * is text / input_text / output_text with a "text" string (other parts --
 * images, audio, files -- carry no text and are left out); parts are joined
 * by "\n".  Tool calls count as text: each of an assistant message's
 * tool_calls[k].function (and a legacy function_call) adds a line
 * "NAME(ARGUMENTS)" after the content.  No chat template is added: the
 * prompt is the messages' texts in order, each tokenized on its own.
 *
 * Sessions: requests with the same session key (anywhere in the input) are
 * one session; requests without a key belong to their file's own session
 * (one file per session, or a directory of such files).  Session ids are
 * numbered 0.. in order of first appearance; turns 0.. in arrival order
 * within each session.  Requests are ordered by time (stable: file order
 * breaks ties, and files come in name order).
 *
 * Responses: usage.completion_tokens (an integer >= 0; at least 1 is
 * recorded) becomes the matched request's output_tokens; without a
 * response it is CC_TEXT_OUTPUT_TOKENS.  usage.prompt_tokens is checked (an
 * integer >= 0) but the input length is always the tokenizer's count, so
 * that chunks tile the token ids.  A response may come before or after its
 * request.
 *
 * Errors (file, line, field): a line that is not JSON or not an object; an
 * unknown "type"; a request without messages or with a message that is not
 * an object, lacks a string role, or has content of another type; a part
 * or tool call of the wrong shape; a bad timestamp or one missing while
 * others have one; a request id used twice; a second response for one
 * request; a response without an id.  Counted warnings (trace.read_warnings,
 * the first one's text in trace.read_warning; `trace stats` prints them)
 * instead of errors: a message of an unknown role (the message is left
 * out; a request left with no message is skipped too) and a response that
 * matches no request.  Ids are compared by their 64-bit hash.
 *
 * Cost: O(file bytes + tokens), as the other text readers (each distinct
 * message text stored and tokenized once per request; token ids stored per
 * request, so quadratic in a session's length as a server sees it), plus a
 * copy of the columns when the log is not in time order.
 */
#include "textread.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

int cc_detect_chatlog(const char *path, const unsigned char *head, size_t len)
{
    (void)path;
    if (cc_text_head_first(head, len) != '{')
        return 0;
    if (cc_text_head_value_at(head, len, "messages") &&
        head[cc_text_head_value_at(head, len, "messages")] == '[')
        return 92;
    if (cc_text_head_has_key(head, len, "type") && cc_text_head_has_key(head, len, "body"))
        return 80;
    return 0;
}

/* ---- reader state ------------------------------------------------------------ */

typedef struct response {
    uint64_t id;
    uint32_t completion; /* UINT32_MAX: no usage */
    uint32_t file;
    long line;
} response;

typedef struct chatlog {
    cc_text_builder b;
    const cc_read_opts *o;
    char **files;        /* paths read, in order */
    size_t n_files;
    uint32_t file;       /* index of the file being read */
    uint32_t base_tenant; /* --tenant, or "default": for requests that name no model */
    int timed;           /* -1 unknown yet, 0 no, 1 yes */
    int64_t *ts;         /* per request (absolute ns) */
    long *line;          /* per request: line of its record */
    uint32_t *req_file;  /* per request: file index */
    uint8_t *answered;   /* per request: a response was matched */
    size_t cap_ts, cap_line, cap_rf, cap_ans;
    cc_u64map ids;       /* request id hash -> request index */
    cc_u64map sessions;  /* session key hash -> session id */
    uint64_t next_session;
    response *resp;
    size_t n_resp, cap_resp;
    char *text;          /* the message being assembled */
    size_t text_len, cap_text;
    uint64_t warnings;
    char warning[320];
} chatlog;

static int oom(const chatlog *c, cc_err *e)
{
    return cc_err_set(e, CC_ENOMEM, c->b.path, 0, NULL, "out of memory");
}

static void warn(chatlog *c, const char *file, long line, const char *field, const char *fmt,
                 ...) __attribute__((format(printf, 5, 6)));
static void warn(chatlog *c, const char *file, long line, const char *field, const char *fmt, ...)
{
    if (c->warnings++ == 0) {
        char msg[240];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(msg, sizeof msg, fmt, ap);
        va_end(ap);
        snprintf(c->warning, sizeof c->warning, "%s:%ld: field '%s': %s", file, line, field, msg);
    }
}

static int text_add(chatlog *c, const char *s, size_t n)
{
    if (cc_grow((void **)&c->text, &c->cap_text, c->text_len + n + 1, 1))
        return CC_ENOMEM;
    memcpy(c->text + c->text_len, s, n);
    c->text_len += n;
    return CC_OK;
}

/* A line break between pieces of one message's text. */
static int text_sep(chatlog *c)
{
    return c->text_len ? text_add(c, "\n", 1) : CC_OK;
}

/* The 64-bit key of an id or session value (string or integer); 1 if set,
 * 0 when absent, < 0 on a wrong type. */
static int key_of(const cc_json_records *it, const json_t *v, const char *field, uint64_t *key,
                  char *shown, size_t shown_len, cc_err *e)
{
    if (!v)
        return 0;
    if (json_is_string(v)) {
        *key = cc_hash_bytes(json_string_value(v), json_string_length(v), 0x6964);
        snprintf(shown, shown_len, "%s", json_string_value(v));
        return 1;
    }
    if (json_is_integer(v)) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%lld", (long long)json_integer_value(v));
        *key = cc_hash_bytes(buf, (size_t)n, 0x6964); /* 7 and "7" name the same id */
        snprintf(shown, shown_len, "%s", buf);
        return 1;
    }
    return cc_json_fail(it, e, CC_EFORMAT, field, "'%s' is %s; expected a string or an integer",
                        field, cc_json_type_name(v));
}

/* ---- timestamps ------------------------------------------------------------------ */

static int digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* "YYYY-MM-DD[T ]hh:mm:ss[.frac][Z|+hh:mm|-hh:mm]" -> ns since 1970. */
static int parse_iso(const char *s, size_t n, int64_t *ns)
{
    int Y, M, D, h, m, sec;
    if (n < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ' && s[10] != 't') ||
        s[13] != ':' || s[16] != ':' || digits(s, 4, &Y) || digits(s + 5, 2, &M) ||
        digits(s + 8, 2, &D) || digits(s + 11, 2, &h) || digits(s + 14, 2, &m) ||
        digits(s + 17, 2, &sec))
        return -1;
    if (M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60 || Y < 1970)
        return -1;
    size_t i = 19;
    int64_t frac_ns = 0, scale = 100000000;
    if (i < n && s[i] == '.') {
        i++;
        if (i >= n || s[i] < '0' || s[i] > '9')
            return -1;
        while (i < n && s[i] >= '0' && s[i] <= '9') {
            frac_ns += (s[i] - '0') * scale;
            scale /= 10;
            i++;
        }
    }
    int64_t off_s = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (n - i != 6 || s[i + 3] != ':' || digits(s + i + 1, 2, &oh) || digits(s + i + 4, 2, &om) ||
            oh > 23 || om > 59)
            return -1;
        off_s = (oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
        i += 6;
    }
    if (i != n)
        return -1;
    struct tm tm = {0};
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    time_t t = timegm(&tm);
    if (tm.tm_mday != D || tm.tm_mon != M - 1) /* Feb 30 and the like */
        return -1;
    int64_t secs = (int64_t)t - off_s;
    if (secs < 0 || secs > INT64_C(9000000000))
        return -1;
    *ns = secs * INT64_C(1000000000) + frac_ns;
    return 0;
}

/* *ns, *has from the record's timestamp fields. */
static int read_time(const cc_json_records *it, json_t *rec, int64_t *ns, int *has, cc_err *e)
{
    static const struct { const char *key; double to_ns; } keys[] = {
        {"timestamp", 1e9}, {"timestamp_ms", 1e6}, {"timestamp_us", 1e3}, {"timestamp_ns", 1},
    };
    *has = 0;
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
        json_t *v = json_object_get(rec, keys[k].key);
        if (!v)
            continue;
        *has = 1;
        if (json_is_string(v) && k == 0) {
            if (parse_iso(json_string_value(v), json_string_length(v), ns))
                return cc_json_fail(it, e, CC_EFORMAT, "timestamp",
                                    "'%.60s' is not a time; expected ISO 8601 UTC "
                                    "(2025-01-02T03:04:05.25Z) or seconds since 1970",
                                    json_string_value(v));
            return CC_OK;
        }
        if (!json_is_number(v))
            return cc_json_fail(it, e, CC_EFORMAT, keys[k].key, "'%s' is %s; expected a number%s",
                                keys[k].key, cc_json_type_name(v),
                                k == 0 ? " of seconds or an ISO 8601 string" : "");
        if (json_is_integer(v) && keys[k].to_ns == 1) {
            json_int_t x = json_integer_value(v);
            if (x < 0)
                return cc_json_fail(it, e, CC_ERANGE, keys[k].key,
                                    "'%s' is negative; expected a time since 1970", keys[k].key);
            *ns = (int64_t)x;
            return CC_OK;
        }
        double x = json_number_value(v) * keys[k].to_ns;
        if (!(x >= 0) || x > 9.0e18)
            return cc_json_fail(it, e, CC_ERANGE, keys[k].key,
                                "'%s' = %g is out of range; expected a time since 1970 in %s",
                                keys[k].key, json_number_value(v),
                                k == 0 ? "seconds" : k == 1 ? "ms" : k == 2 ? "us" : "ns");
        *ns = (int64_t)llround(x);
        return CC_OK;
    }
    return CC_OK;
}

/* ---- messages ---------------------------------------------------------------------- */

static int role_kind(const char *role)
{
    static const struct { const char *name; int kind; } roles[] = {
        {"system", CC_CHUNK_SYSTEM},       {"developer", CC_CHUNK_SYSTEM},
        {"user", CC_CHUNK_USER},           {"assistant", CC_CHUNK_ASSISTANT},
        {"tool", CC_CHUNK_TOOL},           {"function", CC_CHUNK_TOOL},
    };
    for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
        if (strcmp(role, roles[i].name) == 0)
            return roles[i].kind;
    return -1;
}

/* Appends "NAME(ARGUMENTS)" of a {"name", "arguments"} object. */
static int add_call(chatlog *c, const cc_json_records *it, json_t *fn, const char *field,
                    cc_err *e)
{
    char f[112];
    const char *name, *args = "";
    size_t name_len, args_len = 0;
    int rc = cc_json_want_object(it, fn, field, e);
    if (rc)
        return rc;
    snprintf(f, sizeof f, "%s.name", field);
    if ((rc = cc_json_want_string(it, json_object_get(fn, "name"), f, &name, &name_len, e)))
        return rc;
    json_t *a = json_object_get(fn, "arguments");
    if (a && !json_is_null(a)) {
        snprintf(f, sizeof f, "%s.arguments", field);
        if ((rc = cc_json_want_string(it, a, f, &args, &args_len, e)))
            return rc;
    }
    if (text_sep(c) || text_add(c, name, name_len) || text_add(c, "(", 1) ||
        text_add(c, args, args_len) || text_add(c, ")", 1))
        return oom(c, e);
    return CC_OK;
}

/* The text of message k into c->text. */
static int message_text(chatlog *c, const cc_json_records *it, json_t *msg, size_t k, cc_err *e)
{
    char field[96];
    int rc;
    c->text_len = 0;
    json_t *content = json_object_get(msg, "content");
    snprintf(field, sizeof field, "messages[%zu].content", k);
    if (json_is_string(content)) {
        if (text_add(c, json_string_value(content), json_string_length(content)))
            return oom(c, e);
    } else if (json_is_array(content)) {
        for (size_t p = 0; p < json_array_size(content); p++) {
            json_t *part = json_array_get(content, p);
            snprintf(field, sizeof field, "messages[%zu].content[%zu]", k, p);
            if (json_is_string(part)) {
                if (text_sep(c) || text_add(c, json_string_value(part), json_string_length(part)))
                    return oom(c, e);
                continue;
            }
            if ((rc = cc_json_want_object(it, part, field, e)))
                return rc;
            json_t *type = json_object_get(part, "type");
            snprintf(field, sizeof field, "messages[%zu].content[%zu].type", k, p);
            const char *ty;
            size_t ty_len;
            if ((rc = cc_json_want_string(it, type, field, &ty, &ty_len, e)))
                return rc;
            if (strcmp(ty, "text") && strcmp(ty, "input_text") && strcmp(ty, "output_text"))
                continue; /* images, audio, files: no text */
            const char *s;
            size_t n;
            snprintf(field, sizeof field, "messages[%zu].content[%zu].text", k, p);
            if ((rc = cc_json_want_string(it, json_object_get(part, "text"), field, &s, &n, e)))
                return rc;
            if (text_sep(c) || text_add(c, s, n))
                return oom(c, e);
        }
    } else if (content && !json_is_null(content)) {
        return cc_json_fail(it, e, CC_EFORMAT, field,
                            "'%s' is %s; expected a string, a list of parts or null", field,
                            cc_json_type_name(content));
    }
    json_t *calls = json_object_get(msg, "tool_calls");
    if (calls && !json_is_null(calls)) {
        snprintf(field, sizeof field, "messages[%zu].tool_calls", k);
        if ((rc = cc_json_want_array(it, calls, field, e)))
            return rc;
        for (size_t j = 0; j < json_array_size(calls); j++) {
            json_t *call = json_array_get(calls, j);
            snprintf(field, sizeof field, "messages[%zu].tool_calls[%zu]", k, j);
            if ((rc = cc_json_want_object(it, call, field, e)))
                return rc;
            snprintf(field, sizeof field, "messages[%zu].tool_calls[%zu].function", k, j);
            if ((rc = add_call(c, it, json_object_get(call, "function"), field, e)))
                return rc;
        }
    }
    json_t *fc = json_object_get(msg, "function_call");
    if (fc && !json_is_null(fc)) {
        snprintf(field, sizeof field, "messages[%zu].function_call", k);
        if ((rc = add_call(c, it, fc, field, e)))
            return rc;
    }
    return CC_OK;
}

/* ---- records ---------------------------------------------------------------------- */

static int grow_per_request(chatlog *c, size_t n)
{
    return cc_grow((void **)&c->ts, &c->cap_ts, n, sizeof *c->ts) ||
           cc_grow((void **)&c->line, &c->cap_line, n, sizeof *c->line) ||
           cc_grow((void **)&c->req_file, &c->cap_rf, n, sizeof *c->req_file) ||
           cc_grow((void **)&c->answered, &c->cap_ans, n, sizeof *c->answered);
}

static int read_request(chatlog *c, const cc_json_records *it, json_t *rec, json_t *body,
                        cc_err *e)
{
    int rc;
    cc_text_builder *b = &c->b;
    cc_trace *t = b->t;
    /* id and session first: they are checked whether or not the request
     * keeps any message */
    uint64_t id = 0, skey = 0;
    char shown[96];
    const char *id_field = json_object_get(rec, "request_id") ? "request_id" : "id";
    int has_id = key_of(it, json_object_get(rec, id_field), id_field, &id, shown, sizeof shown, e);
    if (has_id < 0)
        return has_id;
    const char *s_field = json_object_get(rec, "session_id") ? "session_id" : "session";
    json_t *sv = json_object_get(rec, s_field);
    json_t *meta = json_object_get(body, "metadata");
    if (!sv && json_is_object(meta) && json_object_get(meta, "session_id")) {
        sv = json_object_get(meta, "session_id");
        s_field = "metadata.session_id";
    }
    char sshown[96];
    int has_skey = key_of(it, sv, s_field, &skey, sshown, sizeof sshown, e);
    if (has_skey < 0)
        return has_skey;
    if (!has_skey) /* the file's own session */
        skey = cc_mix64(UINT64_C(0x66696c6500000000) + c->file);
    else
        skey = cc_mix64(skey ^ UINT64_C(0x7365737300000000));
    int64_t ns = 0;
    int has_ts;
    if ((rc = read_time(it, rec, &ns, &has_ts, e)))
        return rc;
    if (c->timed < 0)
        c->timed = has_ts;
    else if (c->timed != has_ts)
        return cc_json_fail(it, e, CC_EFORMAT, "timestamp",
                            has_ts ? "this request has a time but the first request of the log "
                                     "had none; expected all requests with a time or none"
                                   : "missing field 'timestamp'; the first request of the log "
                                     "had one, so every request needs one");

    /* tenant */
    uint32_t tenant = c->base_tenant;
    json_t *model = json_object_get(body, "model");
    if (model && !json_is_null(model)) {
        const char *m;
        size_t m_len;
        if ((rc = cc_json_want_string(it, model, "model", &m, &m_len, e)))
            return rc;
        if (!c->o->tenant && m_len && cc_trace_tenant(t, m, &tenant))
            return oom(c, e);
    }

    json_t *msgs = json_object_get(body, "messages");
    if ((rc = cc_json_want_array(it, msgs, "messages", e)))
        return rc;
    if (json_array_size(msgs) == 0)
        return cc_json_fail(it, e, CC_EFORMAT, "messages",
                            "'messages' is empty; expected at least one message");
    cc_text_record_reset(b);
    for (size_t k = 0; k < json_array_size(msgs); k++) {
        json_t *msg = json_array_get(msgs, k);
        char field[96];
        snprintf(field, sizeof field, "messages[%zu]", k);
        if ((rc = cc_json_want_object(it, msg, field, e)))
            return rc;
        const char *role;
        size_t role_len;
        snprintf(field, sizeof field, "messages[%zu].role", k);
        if ((rc = cc_json_want_string(it, json_object_get(msg, "role"), field, &role, &role_len, e)))
            return rc;
        int kind = role_kind(role);
        if (kind < 0) {
            warn(c, it->f->path, it->rec_line, field,
                 "role '%.40s' unknown; message left out (expected system, developer, user, "
                 "assistant, tool or function)", role);
            continue;
        }
        if ((rc = message_text(c, it, msg, k, e)))
            return rc;
        size_t idx;
        snprintf(field, sizeof field, "messages[%zu].content", k);
        if ((rc = cc_text_piece_add(b, it, kind, c->text, c->text_len, field, &idx, e)))
            return rc;
    }
    if (b->n_pieces == 0) {
        warn(c, it->f->path, it->rec_line, "messages",
             "no message of a known role; request skipped");
        return CC_OK;
    }

    size_t i = t->n;
    if (has_id) {
        uint64_t *slot;
        int put = cc_u64map_put(&c->ids, id, i, &slot);
        if (put < 0)
            return oom(c, e);
        if (put == 0)
            return cc_json_fail(it, e, CC_EFORMAT, id_field,
                                "request id '%.60s' used twice (first at %s:%ld); expected "
                                "unique ids", shown, c->files[c->req_file[*slot]],
                                c->line[*slot]);
    }
    uint64_t *sid;
    int sput = cc_u64map_put(&c->sessions, skey, c->next_session, &sid);
    if (sput < 0)
        return oom(c, e);
    if (sput == 1)
        c->next_session++;
    cc_request m = {0};
    m.session_id = *sid;
    m.output_tokens = CC_TEXT_OUTPUT_TOKENS;
    m.group_id = CC_NO_GROUP;
    m.role = CC_ROLE_QUERY;
    b->tenant = tenant;
    rc = cc_text_emit(b, it, 0, b->n_pieces, &m, e);
    if (rc)
        return rc;
    if (grow_per_request(c, i + 1))
        return oom(c, e);
    c->ts[i] = ns;
    c->line[i] = it->rec_line;
    c->req_file[i] = c->file;
    c->answered[i] = 0;
    return CC_OK;
}

static int usage_int(const cc_json_records *it, json_t *usage, const char *key, uint32_t *out,
                     cc_err *e)
{
    char field[48];
    snprintf(field, sizeof field, "usage.%s", key);
    json_t *v = json_object_get(usage, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v))
        return cc_json_fail(it, e, CC_EFORMAT, field, "'%s' is %s; expected an integer", field,
                            cc_json_type_name(v));
    json_int_t x = json_integer_value(v);
    if (x < 0 || x > UINT32_MAX - 1)
        return cc_json_fail(it, e, CC_ERANGE, field, "'%s' = %lld; expected 0 .. %u", field,
                            (long long)x, UINT32_MAX - 1);
    *out = (uint32_t)x;
    return 1;
}

static int read_response(chatlog *c, const cc_json_records *it, json_t *rec, cc_err *e)
{
    json_t *body = json_object_get(rec, "body");
    uint64_t id;
    char shown[96];
    const char *id_field = json_object_get(rec, "request_id") ? "request_id" : "id";
    int has = key_of(it, json_object_get(rec, id_field), id_field, &id, shown, sizeof shown, e);
    if (has < 0)
        return has;
    if (!has)
        return cc_json_fail(it, e, CC_EFORMAT, "request_id",
                            "a response without 'request_id' or 'id'; expected the id of the "
                            "request it answers");
    json_t *usage = json_object_get(rec, "usage");
    if (!usage && json_is_object(body))
        usage = json_object_get(body, "usage");
    uint32_t completion = UINT32_MAX, prompt = 0;
    if (usage && !json_is_null(usage)) {
        int rc = cc_json_want_object(it, usage, "usage", e);
        if (rc)
            return rc;
        if ((rc = usage_int(it, usage, "prompt_tokens", &prompt, e)) < 0 ||
            (rc = usage_int(it, usage, "completion_tokens", &completion, e)) < 0)
            return rc;
    }
    if (cc_grow((void **)&c->resp, &c->cap_resp, c->n_resp + 1, sizeof *c->resp))
        return oom(c, e);
    c->resp[c->n_resp++] = (response){id, completion, c->file, it->rec_line};
    return CC_OK;
}

static int read_record(chatlog *c, const cc_json_records *it, json_t *rec, cc_err *e)
{
    json_t *type = json_object_get(rec, "type");
    if (type) {
        const char *ty;
        size_t n;
        int rc = cc_json_want_string(it, type, "type", &ty, &n, e);
        if (rc)
            return rc;
        if (!strcmp(ty, "response"))
            return read_response(c, it, rec, e);
        if (strcmp(ty, "request"))
            return cc_json_fail(it, e, CC_EFORMAT, "type",
                                "'type' is '%.40s'; expected \"request\" or \"response\"", ty);
        json_t *body = json_object_get(rec, "body");
        if ((rc = cc_json_want_object(it, body, "body", e)))
            return rc;
        return read_request(c, it, rec, body, e);
    }
    if (json_object_get(rec, "messages"))
        return read_request(c, it, rec, rec, e);
    json_t *obj = json_object_get(rec, "object");
    if (json_object_get(rec, "usage") ||
        (json_is_string(obj) && !strcmp(json_string_value(obj), "chat.completion")))
        return read_response(c, it, rec, e);
    return cc_json_fail(it, e, CC_EFORMAT, "messages",
                        "missing field 'messages'; expected a chat-completions request body "
                        "({\"model\", \"messages\"}), a {\"type\": \"request\", \"body\": ...} "
                        "record or a response with \"usage\"");
}

static int read_file(chatlog *c, const char *path, cc_err *e)
{
    cc_text_file f;
    cc_json_records it;
    json_t *rec = NULL;
    int rc = cc_text_file_load(&f, path, e);
    if (!rc)
        rc = cc_json_records_open(&it, &f, 1, e);
    while (!rc && (rc = cc_json_records_next(&it, &rec, e)) == 1) {
        rc = read_record(c, &it, rec, e);
        json_decref(rec);
        rec = NULL;
    }
    cc_text_file_free(&f);
    return rc;
}

/* ---- the whole log ---------------------------------------------------------------- */

static int cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int list_inputs(chatlog *c, const char *path, cc_err *e)
{
    struct stat st;
    size_t cap = 0;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode)) {
        if (cc_grow((void **)&c->files, &cap, 1, sizeof *c->files) || !(c->files[0] = strdup(path)))
            return oom(c, e);
        c->n_files = 1;
        return CC_OK;
    }
    DIR *d = opendir(path);
    if (!d)
        return cc_err_set(e, CC_EIO, path, 0, NULL, "cannot open the directory: %s",
                          strerror(errno));
    struct dirent *de;
    int rc = CC_OK;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        size_t n = strlen(path) + strlen(de->d_name) + 2;
        char *full = malloc(n);
        if (!full) {
            rc = oom(c, e);
            break;
        }
        snprintf(full, n, "%s/%s", path, de->d_name);
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(full);
            continue;
        }
        if (cc_grow((void **)&c->files, &cap, c->n_files + 1, sizeof *c->files)) {
            free(full);
            rc = oom(c, e);
            break;
        }
        c->files[c->n_files++] = full;
    }
    closedir(d);
    if (!rc && c->n_files == 0)
        rc = cc_err_set(e, CC_EFORMAT, path, 0, NULL,
                        "the directory holds no file; expected one JSON Lines log per session");
    if (!rc)
        qsort(c->files, c->n_files, sizeof *c->files, cmp_name);
    return rc;
}

typedef struct order_key {
    int64_t ts;
    size_t i;
} order_key;

static int cmp_order(const void *a, const void *b)
{
    const order_key *x = a, *y = b;
    if (x->ts != y->ts)
        return x->ts < y->ts ? -1 : 1;
    return x->i < y->i ? -1 : x->i > y->i;
}

/* Copies src's requests into dst in the order ord (dst takes src's text
 * arena and tenants). */
static int reorder(cc_trace *src, const order_key *ord, cc_trace *dst)
{
    cc_trace_init(dst);
    dst->block_size = src->block_size;
    dst->text = src->text;
    dst->text_len = src->text_len;
    dst->cap_text = src->cap_text;
    src->text = NULL;
    src->text_len = src->cap_text = 0;
    dst->tenants = src->tenants;
    dst->n_tenants = src->n_tenants;
    dst->cap_tenants = src->cap_tenants;
    src->tenants = NULL;
    src->n_tenants = src->cap_tenants = 0;
    memcpy(dst->source_format, src->source_format, sizeof dst->source_format);
    memcpy(dst->source, src->source, sizeof dst->source);
    for (size_t k = 0; k < src->n; k++) {
        cc_request r = cc_trace_get(src, ord[k].i);
        if (cc_trace_append(dst, &r))
            return CC_ENOMEM;
    }
    return CC_OK;
}

/* Responses to requests, times to arrivals (sorted), turns. */
static int finish(chatlog *c, const char *path, cc_trace *t, cc_err *e)
{
    for (size_t k = 0; k < c->n_resp; k++) {
        const response *r = &c->resp[k];
        uint64_t *i = cc_u64map_get(&c->ids, r->id);
        if (!i) {
            warn(c, c->files[r->file], r->line, "request_id",
                 "a response whose id matches no request; ignored");
            continue;
        }
        if (c->answered[*i])
            return cc_err_set(e, CC_EFORMAT, c->files[r->file], r->line, "request_id",
                              "a second response for the request at %s:%ld; expected one "
                              "response per request", c->files[c->req_file[*i]], c->line[*i]);
        c->answered[*i] = 1;
        if (r->completion != UINT32_MAX)
            t->output_tokens[*i] = r->completion ? r->completion : 1;
    }
    int rc = CC_OK;
    order_key *ord = NULL;
    if (c->timed == 1 && t->n) {
        int64_t epoch = INT64_MAX;
        int sorted = 1;
        for (size_t i = 0; i < t->n; i++) {
            epoch = c->ts[i] < epoch ? c->ts[i] : epoch;
            sorted &= i == 0 || c->ts[i] >= c->ts[i - 1];
        }
        t->timed = true;
        t->epoch_ns = epoch;
        for (size_t i = 0; i < t->n; i++)
            t->arrival_ns[i] = c->ts[i] - epoch;
        if (!sorted) {
            ord = malloc(t->n * sizeof *ord);
            if (!ord)
                return oom(c, e);
            for (size_t i = 0; i < t->n; i++)
                ord[i] = (order_key){t->arrival_ns[i], i};
            qsort(ord, t->n, sizeof *ord, cmp_order);
            cc_trace sorted_t;
            rc = reorder(t, ord, &sorted_t);
            sorted_t.timed = true;
            sorted_t.epoch_ns = epoch;
            cc_trace_free(t);
            *t = sorted_t;
            free(ord);
            if (rc) {
                cc_trace_free(t);
                return oom(c, e);
            }
        }
    }
    /* turns: 0.. in arrival order within each session */
    cc_u64map turns;
    if (cc_u64map_init(&turns, c->next_session + 1))
        return oom(c, e);
    for (size_t i = 0; i < t->n; i++) {
        uint64_t *n;
        if (cc_u64map_put(&turns, t->session_id[i], 0, &n) < 0) {
            cc_u64map_free(&turns);
            return oom(c, e);
        }
        t->turn[i] = (uint32_t)(*n)++;
    }
    cc_u64map_free(&turns);
    t->read_warnings = c->warnings;
    snprintf(t->read_warning, sizeof t->read_warning, "%s", c->warning);
    snprintf(t->source, sizeof t->source, "%s", path);
    return rc;
}

int cc_read_chatlog(const char *path, const cc_read_opts *o, cc_trace *t, cc_err *e)
{
    static const cc_read_opts none;
    chatlog c;
    memset(&c, 0, sizeof c);
    c.o = o ? o : &none;
    c.timed = -1;
    int rc = cc_text_builder_init(&c.b, path, "chatlog", c.o, t, e);
    c.base_tenant = c.b.tenant;
    if (!rc && (cc_u64map_init(&c.ids, 1024) || cc_u64map_init(&c.sessions, 64)))
        rc = oom(&c, e);
    if (!rc)
        rc = list_inputs(&c, path, e);
    for (size_t k = 0; !rc && k < c.n_files; k++) {
        c.file = (uint32_t)k;
        rc = read_file(&c, c.files[k], e);
    }
    if (!rc && t->n == 0)
        rc = cc_err_set(e, CC_EFORMAT, c.n_files == 1 ? c.files[0] : path, 1, "messages",
                        "no request in the log (%llu warning%s); expected at least one request "
                        "with a message of a known role", (unsigned long long)c.warnings,
                        c.warnings == 1 ? "" : "s");
    if (!rc)
        rc = finish(&c, path, t, e);
    for (size_t k = 0; k < c.n_files; k++)
        free(c.files[k]);
    free(c.files);
    free(c.ts);
    free(c.line);
    free(c.req_file);
    free(c.answered);
    free(c.resp);
    free(c.text);
    cc_u64map_free(&c.ids);
    cc_u64map_free(&c.sessions);
    cc_text_builder_free(&c.b);
    if (rc)
        cc_trace_free(t);
    return rc;
}
