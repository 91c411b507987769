/*
 * textread.h -- machinery shared by the readers of text datasets (sharegpt,
 * mtbench, arena, pairs, rag); internal to traces/, not part of the public
 * surface (traces.h).
 *
 * Three parts:
 *  - cc_text_file + cc_json_records: the whole file in memory, walked one
 *    record at a time, either the elements of one top-level JSON array or the
 *    lines of a JSON Lines file.  Each record is decoded on its own by
 *    jansson (so a 16 MB array never becomes one 16 MB tree) and the iterator
 *    knows the line where the record starts: syntax errors get jansson's
 *    line/column made absolute, semantic errors get the record's first line.
 *  - cc_text_builder: turns texts into requests.  A text becomes a "piece":
 *    stored once in the trace's text arena (identical texts anywhere in the
 *    file share one copy, found by hash and confirmed by memcmp), tokenized
 *    once per record.  A request is a run of consecutive pieces of the
 *    current record: its chunks point at the pieces' arena offsets, its token
 *    ids are the pieces' ids concatenated, its hash chain is cc_block_chain
 *    over those ids with the request's tenant.
 *  - small helpers for typed field access with errors that name the line,
 *    the field and what was expected, and for the content detectors.
 *
 * Costs: reading is O(file bytes) plus tokenization; per request the chain
 * and the token copy cost O(input tokens); scratch arrays grow by doubling
 * and are reused, so there is no allocation per request once warm (jansson
 * allocates for each decoded record).  Memory: the file, the trace, and one
 * u64 map entry (<= 32 bytes) per distinct text.
 */
#ifndef CC_TEXTREAD_H
#define CC_TEXTREAD_H

#include "traces.h"

#include <jansson.h>

#define CC_TEXT_BLOCK_SIZE 16      /* default tokens per block for text formats */
#define CC_TEXT_OUTPUT_TOKENS 256  /* output length when a dataset gives no answer */

/* ---- the file and its records ------------------------------------------ */
typedef struct cc_text_file {
    const char *path;
    char *buf;  /* whole file, NUL-terminated (the NUL is not part of len) */
    size_t len;
} cc_text_file;

/* Reads path whole.  CC_EIO when it cannot be read; CC_EFORMAT (line 1,
 * field "record") when it is empty or holds a NUL byte (binary data). */
int cc_text_file_load(cc_text_file *f, const char *path, cc_err *e);
void cc_text_file_free(cc_text_file *f);

typedef struct cc_json_records {
    const cc_text_file *f;
    int jsonl;          /* 1: one object per line; 0: one top-level array */
    size_t pos;         /* next unread byte */
    long line;          /* line of pos, 1-based */
    size_t line_start;  /* offset of the first byte of that line */
    int state;          /* 0 first element next, 1 after an element, 2 done */
    long first_blank;   /* jsonl: first blank line seen (blank lines only at the end) */
    long index;         /* records returned so far */
    long rec_line;      /* line where the current record starts */
} cc_json_records;

/* jsonl = 0: the file must be '[' record, ... ']' (whitespace around);
 * jsonl = 1: one JSON object per line, blank lines only at the end. */
int cc_json_records_open(cc_json_records *it, const cc_text_file *f, int jsonl, cc_err *e);
/* 1: *rec is the next record, an object (caller json_decref's it);
 * 0: no more records; < 0: error (syntax, or a record that is not an object). */
int cc_json_records_next(cc_json_records *it, json_t **rec, cc_err *e);

/* ---- typed field access --------------------------------------------------
 * v is the value found (NULL = absent); field names it in the error
 * ("conversations[2].value"); the error gives the current record's line and
 * "record N" in the message. */
const char *cc_json_type_name(const json_t *v);
int cc_json_want_string(const cc_json_records *it, const json_t *v, const char *field,
                        const char **s, size_t *len, cc_err *e);
int cc_json_want_array(const cc_json_records *it, const json_t *v, const char *field,
                       cc_err *e);
int cc_json_want_object(const cc_json_records *it, const json_t *v, const char *field,
                        cc_err *e);
/* A semantic error at the current record's line: "record N: <msg>". */
int cc_json_fail(const cc_json_records *it, cc_err *e, int code, const char *field,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* ---- building requests from texts -------------------------------------- */
typedef struct cc_text_piece {
    uint64_t text_off;  /* in the trace's arena */
    uint64_t hash;      /* cc_hash_bytes(text, len, 0) */
    uint32_t text_len;
    uint32_t kind;      /* cc_chunk_kind */
    size_t tok_off;     /* into the builder's record token scratch */
    uint32_t n_tok;
} cc_text_piece;

typedef struct cc_text_builder {
    cc_trace *t;
    const char *path;
    const cc_tokenizer *tk;
    cc_tokenizer *own_tk;     /* the built-in one when opts gave none */
    uint32_t block_size;
    uint32_t tenant;
    bool no_tokens;
    cc_u64map dedup;          /* text hash -> arena offset */
    /* pieces of the current record and their token ids */
    cc_text_piece *pieces;
    size_t n_pieces, cap_pieces;
    uint32_t *ptok;
    size_t n_ptok, cap_ptok;
    /* the request being assembled */
    uint32_t *rtok;
    size_t cap_rtok;
    cc_chunk *rch;
    size_t cap_rch;
    uint64_t *blk;
    size_t cap_blk;
    /* token counting without storing */
    uint32_t *ctok;
    size_t cap_ctok;
    /* what the emitted requests take, and the bound (cc_read_opts.max_bytes) */
    uint64_t used_bytes, max_bytes;
} cc_text_builder;

/* Bytes a request takes in a trace beside its token ids, block hashes and
 * chunks: its columns (arrival, session, turn, tenant, lengths, group, role
 * and three offsets). */
#define CC_TEXT_REQUEST_BYTES 64
/* The default bound on a text trace's requests: half the physical memory. */
uint64_t cc_text_default_max_bytes(void);

/* Sets up b and the trace t (initialised here): block size (opts or 16),
 * tenant (tenants[0] = "default", then opts->tenant), timed = false, source
 * and format name.  CC_EARG for an absurd block size. */
int cc_text_builder_init(cc_text_builder *b, const char *path, const char *format,
                         const cc_read_opts *o, cc_trace *t, cc_err *e);
void cc_text_builder_free(cc_text_builder *b);
/* Forget the pieces of the previous record. */
void cc_text_record_reset(cc_text_builder *b);
/* Adds text s[0..len) as the next piece of the current record (returns its
 * index in *idx).  Errors (at the record's line, naming field): text longer
 * than 4 GiB (CC_ERANGE), text the tokenizer rejects (CC_EFORMAT). */
int cc_text_piece_add(cc_text_builder *b, const cc_json_records *it, int kind, const char *s,
                      size_t len, const char *field, size_t *idx, cc_err *e);
/* Tokens of s[0..len) without storing anything. */
int cc_text_count_tokens(cc_text_builder *b, const cc_json_records *it, const char *s,
                         size_t len, const char *field, uint32_t *n, cc_err *e);
/* Appends one request made of pieces [first, first + count) of the current
 * record, in that order; meta gives session_id, turn, output_tokens,
 * group_id and role (everything else is filled here). */
int cc_text_emit(cc_text_builder *b, const cc_json_records *it, size_t first, size_t count,
                 const cc_request *meta, cc_err *e);
/* At the end of a read: CC_EFORMAT when the file produced no request. */
int cc_text_finish(cc_text_builder *b, const cc_json_records *it, const char *what, cc_err *e);

/* ---- detectors ------------------------------------------------------------ */
/* First byte that is not whitespace (or a UTF-8 byte-order mark), or 0. */
int cc_text_head_first(const unsigned char *head, size_t len);
/* Whether head holds "key" followed by optional whitespace and ':'. */
int cc_text_head_has_key(const unsigned char *head, size_t len, const char *key);
/* The first non-whitespace byte after `"key" :`, or 0 when absent. */
int cc_text_head_after_key(const unsigned char *head, size_t len, const char *key);
/* Offset of that byte in head, or 0 when the key is absent or ends head. */
size_t cc_text_head_value_at(const unsigned char *head, size_t len, const char *key);

#endif
