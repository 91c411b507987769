/*
 * formats.c -- the one table of trace formats, and detection by content.
 *
 * Adding a format: write traces/<name>.c with its reader (and writer) and add
 * one line to cc_formats[].  Detection reads the first 4 KiB and asks every
 * detector for a score; the highest wins, the file name breaks ties (a
 * detector may look at the extension itself).
 */
#include "traces.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const cc_format cc_formats[] = {
    /* name, description, detect, read, write -- one line per format */
    {"mooncake", "Mooncake JSONL: timestamp (ms), lengths, hash_ids of 512-token blocks", cc_detect_mooncake, cc_read_mooncake, cc_write_mooncake},
    {"azure", "Azure LLM inference CSV: TIMESTAMP,ContextTokens,GeneratedTokens", cc_detect_azure, cc_read_azure, cc_write_azure},
    {"sharegpt", "ShareGPT JSON conversations: a request per human turn with the turns before it", cc_detect_sharegpt, cc_read_sharegpt, NULL},
    {"mtbench", "MT-bench JSONL questions: a request per turn, placeholder answers", cc_detect_mtbench, cc_read_mtbench, NULL},
    {"arena", "Arena-hard JSONL prompts: one single-turn request each", cc_detect_arena, cc_read_arena, NULL},
    {"pairs", "question pairs JSON (text_a/text_b/label or origin/similar): seed + query, groups", cc_detect_pairs, cc_read_pairs, NULL},
    {"rag", "RAG JSON (question, answers, ctxs): passages then the question", cc_detect_rag, cc_read_rag, NULL},
    {"chatlog", "chat-completions request logs (JSONL, or a directory of them): messages as chunks", cc_detect_chatlog, cc_read_chatlog, NULL},
    {"lcs-csv", "libCacheSim csv: timestamp,obj_id,obj_size per block access", cc_detect_lcs_csv, cc_read_lcs_csv, cc_write_lcs_csv},
    {"lcs-oracle", "libCacheSim oracleGeneral binary (24-byte records)", cc_detect_lcs_oracle, cc_read_lcs_oracle, cc_write_lcs_oracle},
    {"h5", "ctxcache native HDF5 trace (columns; schema in docs/trace-format.md)", cc_detect_h5, cc_read_h5, cc_write_h5},
    {NULL, NULL, NULL, NULL, NULL},
};
const size_t cc_n_formats = sizeof cc_formats / sizeof cc_formats[0] - 1;

const cc_format *cc_format_find(const char *name)
{
    for (size_t i = 0; i < cc_n_formats; i++)
        if (strcmp(cc_formats[i].name, name) == 0)
            return &cc_formats[i];
    return NULL;
}

static void list_formats(char *buf, size_t len, int writable_only)
{
    buf[0] = '\0';
    for (size_t i = 0; i < cc_n_formats; i++) {
        if (writable_only && !cc_formats[i].write)
            continue;
        size_t used = strlen(buf);
        snprintf(buf + used, len - used, "%s%s", used ? ", " : "", cc_formats[i].name);
    }
}

/* A directory (a log of one file per session) is detected from its first
 * regular file by name; *buf gets that file's path, malloc'd. */
static const char *first_file_of_dir(const char *path, char **buf)
{
    struct stat st;
    *buf = NULL;
    if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode))
        return path;
    DIR *d = opendir(path);
    if (!d)
        return path;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        size_t n = strlen(path) + strlen(de->d_name) + 2;
        char *full = malloc(n);
        if (!full)
            break;
        snprintf(full, n, "%s/%s", path, de->d_name);
        if (stat(full, &st) == 0 && S_ISREG(st.st_mode) &&
            (!*buf || strcmp(full, *buf) < 0)) {
            free(*buf);
            *buf = full;
        } else {
            free(full);
        }
    }
    closedir(d);
    return *buf ? *buf : path;
}

const cc_format *cc_format_detect(const char *path, cc_err *err)
{
    char *first = NULL;
    const char *head_path = first_file_of_dir(path, &first);
    struct stat st;
    if (!first && stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
        cc_err_set(err, CC_EFORMAT, path, 0, NULL,
                   "a directory without files; expected a trace file, or a directory of "
                   "chat logs (one JSON Lines file per session)");
        return NULL;
    }
    FILE *f = fopen(head_path, "rb");
    free(first);
    if (!f) {
        cc_err_set(err, CC_EIO, path, 0, NULL, "cannot open: %s", strerror(errno));
        return NULL;
    }
    unsigned char head[4096];
    size_t n = fread(head, 1, sizeof head, f);
    int rerr = ferror(f);
    fclose(f);
    if (rerr) {
        cc_err_set(err, CC_EIO, path, 0, NULL, "read failed");
        return NULL;
    }
    if (n == 0) {
        cc_err_set(err, CC_EFORMAT, path, 1, NULL,
                   "file is empty; expected a trace in one of the known formats");
        return NULL;
    }
    const cc_format *best = NULL;
    int best_score = 0;
    for (size_t i = 0; i < cc_n_formats; i++) {
        int s = cc_formats[i].detect ? cc_formats[i].detect(path, head, n) : 0;
        if (s > best_score) {
            best_score = s;
            best = &cc_formats[i];
        }
    }
    if (!best) {
        char names[512];
        list_formats(names, sizeof names, 0);
        cc_err_set(err, CC_EFORMAT, path, 1, NULL,
                   "cannot tell the format from the content; name it with --format (one of: %s)",
                   names);
    }
    return best;
}

int cc_trace_read(const char *path, const char *fmt_name, const cc_read_opts *opts,
                  cc_trace *out, cc_err *err)
{
    cc_read_opts defaults = {0};
    const cc_format *fmt;
    cc_trace_init(out);
    if (fmt_name) {
        fmt = cc_format_find(fmt_name);
        if (!fmt) {
            char names[512];
            list_formats(names, sizeof names, 0);
            return cc_err_set(err, CC_EARG, NULL, 0, "--format",
                              "unknown format '%s'; expected one of: %s", fmt_name, names);
        }
    } else if (!(fmt = cc_format_detect(path, err))) {
        return err ? err->code : CC_EFORMAT;
    }
    int rc = fmt->read(path, opts ? opts : &defaults, out, err);
    if (rc == CC_OK)
        rc = cc_trace_validate(out, path, err);
    if (rc != CC_OK) {
        cc_trace_free(out); /* never hand back a partial trace */
        return rc;
    }
    if (!out->source[0])
        snprintf(out->source, sizeof out->source, "%s", path);
    if (!out->source_format[0])
        snprintf(out->source_format, sizeof out->source_format, "%s", fmt->name);
    return CC_OK;
}

int cc_trace_write(const cc_trace *t, const char *path, const char *fmt_name, cc_err *err)
{
    const cc_format *fmt = cc_format_find(fmt_name);
    if (!fmt || !fmt->write) {
        char names[512];
        list_formats(names, sizeof names, 1);
        return cc_err_set(err, CC_EARG, NULL, 0, "--to",
                          "cannot write format '%s'; writable formats: %s", fmt_name, names);
    }
    return fmt->write(t, path, err);
}

const char *cc_format_for_path(const char *path)
{
    static const struct { const char *ext, *format; } by_ext[] = {
        {".h5", "h5"}, {".hdf5", "h5"}, {".jsonl", "mooncake"}, {".csv", "lcs-csv"},
        {".oracleGeneral", "lcs-oracle"}, {".bin", "lcs-oracle"},
    };
    const char *dot = strrchr(path, '.');
    if (!dot)
        return NULL;
    for (size_t i = 0; i < sizeof by_ext / sizeof by_ext[0]; i++)
        if (strcmp(dot, by_ext[i].ext) == 0)
            return by_ext[i].format;
    return NULL;
}
