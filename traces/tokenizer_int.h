/*
 * tokenizer_int.h -- private to traces/tokenizer*.c: how a tokenizer model
 * (the built-in one, a loaded tokenizer.json) plugs into the opaque
 * cc_tokenizer of traces.h, and the UTF-8 decoder they share.
 */
#ifndef CC_TOKENIZER_INT_H
#define CC_TOKENIZER_INT_H

#include "traces.h"

/* Appends the ids of text[0..len) to *ids (cc_grow'd), adding to *n. */
typedef int (*cc_tokenizer_encode_fn)(const void *model, const char *text, size_t len,
                                      uint32_t **ids, size_t *n, size_t *cap);

/* Wraps a model: the new tokenizer owns model and frees it with free_fn
 * (also on failure here).  name is truncated to 63 bytes. */
int cc_tokenizer_wrap(const char *name, uint32_t vocab_size, void *model,
                      void (*free_fn)(void *), cc_tokenizer_encode_fn encode,
                      cc_tokenizer **out);

/* Length (1..4) of the UTF-8 sequence at s, 0 when invalid (bad lead or
 * continuation byte, truncated, overlong, surrogate, above U+10FFFF);
 * *cp gets the code point. */
size_t cc_utf8_next(const unsigned char *s, size_t avail, uint32_t *cp);

#endif
