/*
 * tokcount.c -- developer tool behind tools/tokenizer_compare.py: tokenizes
 * a stream of texts with the built-in tokenizer or a tokenizer.json and
 * prints one line per text.  Not used by tests or the build.
 *
 *   build/tools/tokcount [--ids] [TOKENIZER.json] < records
 *
 * Input: records "<byte length>\n<bytes>" back to back.  Output per record:
 * the token count (or, with --ids, the ids separated by spaces), or
 * "ERR <status>" when the text is rejected.  Cost: that of cc_tokenize.
 */
#include "traces/traces.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
    int print_ids = 0;
    const char *json = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ids"))
            print_ids = 1;
        else
            json = argv[i];
    }
    cc_tokenizer *tk = NULL;
    cc_err err = {0};
    int rc = json ? cc_tokenizer_load_hf(json, &tk, &err) : cc_tokenizer_builtin(&tk);
    if (rc != CC_OK) {
        cc_err_print(&err, stderr);
        return 1;
    }
    char *text = NULL;
    size_t text_cap = 0, len;
    uint32_t *ids = NULL;
    size_t ids_cap = 0;
    while (fscanf(stdin, "%zu", &len) == 1 && fgetc(stdin) == '\n') {
        if (cc_grow((void **)&text, &text_cap, len + 1, 1) != CC_OK ||
            fread(text, 1, len, stdin) != len) {
            fprintf(stderr, "tokcount: short record\n");
            return 1;
        }
        size_t n = 0;
        rc = cc_tokenize(tk, text, len, &ids, &n, &ids_cap);
        if (rc != CC_OK) {
            printf("ERR %s\n", cc_status_name(rc));
        } else if (print_ids) {
            for (size_t i = 0; i < n; i++)
                printf(i ? " %u" : "%u", ids[i]);
            putchar('\n');
        } else {
            printf("%zu\n", n);
        }
    }
    free(text);
    free(ids);
    cc_tokenizer_free(tk);
    return 0;
}
