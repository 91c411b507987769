/*
 * cmd_policies.c -- `ctxcache policies [NAME] [--json]`: every eviction
 * policy of the registry with its parameters (key, default, meaning) and
 * what it needs, from the policy tables themselves, so the list cannot
 * drift from the code.
 */
#include "cli.h"
#include "policies/policy.h"

#include <getopt.h>
#include <jansson.h>
#include <string.h>

static const char *const policies_help =
    "usage: ctxcache policies [NAME] [--json]\n"
    "\n"
    "Lists the eviction policies (all of them, or NAME) with their parameters,\n"
    "defaults and meaning, and what each needs.  A policy with parameters is\n"
    "given as NAME(key=value,...), e.g. --policy 's3fifo(small=0.1,ghost_check=before)'.\n"
    "\n"
    "  --json   one JSON object: {\"policies\": [{\"name\", \"summary\", \"notes\",\n"
    "           \"bytes_per_slot\", \"params\": [{\"key\", \"default\", \"meaning\"}]}]}\n"
    "\n"
    "examples:\n"
    "  ctxcache policies\n"
    "  ctxcache policies slru\n"
    "  ctxcache replay trace.h5 --capacity-blocks 20000 --policy 'slru(layout=lcs)'\n";

static json_t *policy_json(const cc_policy_ops *p)
{
    json_t *o = json_object(), *ps = json_array();
    json_object_set_new(o, "name", json_string(p->name));
    json_object_set_new(o, "summary", json_string(p->summary));
    json_object_set_new(o, "notes", p->notes ? json_string(p->notes) : json_null());
    json_object_set_new(o, "bytes_per_slot", json_integer(p->bytes_per_slot));
    for (const cc_policy_param_doc *d = p->params; d && d->key; d++) {
        json_t *e = json_object();
        json_object_set_new(e, "key", json_string(d->key));
        json_object_set_new(e, "default", json_string(d->def));
        json_object_set_new(e, "meaning", json_string(d->meaning));
        json_array_append_new(ps, e);
    }
    json_object_set_new(o, "params", ps);
    return o;
}

/* Text wrapped at about 78 columns after an indent. */
static void wrapped(FILE *out, const char *text, int indent)
{
    int col = indent;
    fprintf(out, "%*s", indent, "");
    const char *s = text;
    while (*s) {
        const char *e = strchr(s, ' ');
        int w = e ? (int)(e - s) : (int)strlen(s);
        if (col > indent && col + 1 + w > 78) {
            fprintf(out, "\n%*s", indent, "");
            col = indent;
        } else if (col > indent) {
            fputc(' ', out);
            col++;
        }
        fwrite(s, 1, (size_t)w, out);
        col += w;
        s += w;
        while (*s == ' ')
            s++;
    }
    fputc('\n', out);
}

void cli_print_policy(FILE *out, const cc_policy_ops *p)
{
    fprintf(out, "  %-8s %s\n", p->name, p->summary);
    for (const cc_policy_param_doc *d = p->params; d && d->key; d++) {
        char head[96];
        snprintf(head, sizeof head, "%s=%s", d->key, d->def);
        fprintf(out, "           %-24s", head);
        if (strlen(head) > 24)
            fprintf(out, "\n           %-24s", "");
        /* the meaning after the column, wrapped */
        const char *s = d->meaning;
        int col = 35;
        while (*s) {
            const char *e = strchr(s, ' ');
            int w = e ? (int)(e - s) : (int)strlen(s);
            if (col > 35 && col + 1 + w > 78) {
                fprintf(out, "\n%35s", "");
                col = 35;
            } else if (col > 35) {
                fputc(' ', out);
                col++;
            }
            fwrite(s, 1, (size_t)w, out);
            col += w;
            s += w;
            while (*s == ' ')
                s++;
        }
        fputc('\n', out);
    }
    if (p->notes)
        wrapped(out, p->notes, 11);
}

int cmd_policies(int argc, char **argv)
{
    const char *cmd = "policies";
    static const struct option opts[] = {
        {"json", no_argument, 0, 'j'}, {"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
    int json = 0, c;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        switch (c) {
        case 'j': json = 1; break;
        case 'h': fputs(policies_help, stdout); return 0;
        default: return cli_usage_error(cmd, "bad option");
        }
    }
    if (argc - optind > 1)
        return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind + 1]);
    const char *only = optind < argc ? argv[optind] : NULL;
    if (only && !cc_policy_find(only)) {
        cc_err err = {0};
        const cc_policy_ops *ops;
        cc_policy_params pp;
        cc_policy_parse(only, &ops, &pp, &err); /* names the known ones */
        return cli_usage_error(cmd, "%s", err.msg);
    }
    if (json) {
        json_t *arr = json_array();
        for (size_t i = 0; i < cc_policy_count(); i++)
            if (!only || !strcmp(only, cc_policy_at(i)->name))
                json_array_append_new(arr, policy_json(cc_policy_at(i)));
        json_t *o = json_object();
        json_object_set_new(o, "policies", arr);
        int wr = json_dumpf(o, stdout, JSON_INDENT(2));
        json_decref(o);
        fputc('\n', stdout);
        if (wr || fflush(stdout) || ferror(stdout)) {
            fprintf(stderr, "ctxcache %s: cannot write to standard output\n", cmd);
            return 3;
        }
        return 0;
    }
    printf("eviction policies (--policy NAME or NAME(key=value,...)):\n");
    for (size_t i = 0; i < cc_policy_count(); i++)
        if (!only || !strcmp(only, cc_policy_at(i)->name))
            cli_print_policy(stdout, cc_policy_at(i));
    if (fflush(stdout) || ferror(stdout)) {
        fprintf(stderr, "ctxcache %s: cannot write to standard output\n", cmd);
        return 3;
    }
    return 0;
}
