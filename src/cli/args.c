/* args.c: the option parser and the --help printer shared by every subcommand.
 * kubo's spellings are accepted: --name V, --name=V, -x V, --flag, --bool=false; options may
 * stand anywhere among the positionals, and "--" ends the options. Anything unknown is a usage
 * error naming the option, never ignored.
 */
#include "cli.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int find_long(const cli_cmd *cmd, const char *name, size_t len)
{
    for (size_t i = 0; i < cmd->n_opts; i++) {
        if (strlen(cmd->opts[i].name) == len && strncmp(cmd->opts[i].name, name, len) == 0) {
            return (int)i;
        }
    }
    return -1;
}

static int find_short(const cli_cmd *cmd, char c)
{
    for (size_t i = 0; i < cmd->n_opts; i++) {
        if (cmd->opts[i].short_name == c) {
            return (int)i;
        }
    }
    return -1;
}

static int usage_error(const cli_cmd *cmd, const char *fmt, const char *what)
{
    fprintf(stderr, "error: ");
    fprintf(stderr, fmt, what);
    fprintf(stderr, "\nusage: fog %s %s (see 'fog %s --help')\n", cmd->name, cmd->usage,
            cmd->name);
    return CLI_USAGE;
}

/* Stores the value of option i; inline is the text after '=' or NULL. Returns the number of
 * extra argv words consumed (0 or 1) or -CLI_USAGE. */
static int take_value(const cli_cmd *cmd, cli_args *out, int i, const char *inline_val,
                      int argc, char **argv, int at)
{
    const cli_opt *o = &cmd->opts[i];
    out->set[i] = true;
    if (o->kind == OPT_FLAG) {
        if (inline_val != NULL) {
            return -usage_error(cmd, "option --%s takes no value", o->name);
        }
        return 0;
    }
    if (o->kind == OPT_BOOL) {
        if (inline_val == NULL || strcmp(inline_val, "true") == 0) {
            out->value[i] = "true";
        } else if (strcmp(inline_val, "false") == 0) {
            out->value[i] = "false";
        } else {
            return -usage_error(cmd, "option --%s takes true or false", o->name);
        }
        return 0;
    }
    if (inline_val != NULL) {
        out->value[i] = inline_val;
        return 0;
    }
    if (at + 1 >= argc) {
        return -usage_error(cmd, "option --%s needs a value", o->name);
    }
    out->value[i] = argv[at + 1];
    return 1;
}

static int parse_word(const cli_cmd *cmd, cli_args *out, int argc, char **argv, int at)
{
    const char *w = argv[at];
    if (w[1] == '-') {
        const char *name = w + 2;
        const char *eq = strchr(name, '=');
        size_t len = eq ? (size_t)(eq - name) : strlen(name);
        int i = find_long(cmd, name, len);
        if (i < 0) {
            return -usage_error(cmd, "unknown option %s", w);
        }
        return take_value(cmd, out, i, eq ? eq + 1 : NULL, argc, argv, at);
    }
    /* A group of short flags (-rq); a short option with a value must come last. */
    for (const char *c = w + 1; *c != '\0'; c++) {
        int i = find_short(cmd, *c);
        if (i < 0) {
            char bad[3] = {'-', *c, '\0'};
            return -usage_error(cmd, "unknown option %s", bad);
        }
        if (cmd->opts[i].kind == OPT_VALUE) {
            if (c[1] != '\0') {
                return take_value(cmd, out, i, c + 1, argc, argv, at);
            }
            return take_value(cmd, out, i, NULL, argc, argv, at);
        }
        out->set[i] = true;
        out->value[i] = "true";
    }
    return 0;
}

int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *out)
{
    memset(out, 0, sizeof *out);
    out->opts = cmd->opts;
    out->n_opts = cmd->n_opts;
    bool only_pos = false;
    for (int at = 0; at < argc; at++) {
        const char *w = argv[at];
        if (!only_pos && (strcmp(w, "--help") == 0 || strcmp(w, "-h") == 0)) {
            cli_help(cmd, stdout);
            return -1;
        }
        if (!only_pos && strcmp(w, "--") == 0) {
            only_pos = true;
            continue;
        }
        if (only_pos || w[0] != '-' || w[1] == '\0') {
            if (out->n_pos == CLI_MAX_POS) {
                return usage_error(cmd, "too many arguments%s", "");
            }
            out->pos[out->n_pos++] = w;
            continue;
        }
        int used = parse_word(cmd, out, argc, argv, at);
        if (used < 0) {
            return -used;
        }
        at += used;
    }
    return 0;
}

void cli_help(const cli_cmd *cmd, FILE *f)
{
    fprintf(f, "usage: fog %s %s\n\n%s\n", cmd->name, cmd->usage, cmd->summary);
    if (cmd->details != NULL) {
        fprintf(f, "\n%s\n", cmd->details);
    }
    fprintf(f, "\noptions:\n");
    for (size_t i = 0; i < cmd->n_opts; i++) {
        const cli_opt *o = &cmd->opts[i];
        char left[64];
        const char *arg = o->kind == OPT_VALUE ? o->arg : (o->kind == OPT_BOOL ? "[=false]" : "");
        const char *sep = o->kind == OPT_VALUE ? " " : "";
        if (o->short_name != 0) {
            snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name, sep, arg);
        } else {
            snprintf(left, sizeof left, "    --%s%s%s", o->name, sep, arg);
        }
        fprintf(f, "  %-30s %s\n", left, o->help);
    }
    fprintf(f, "  %-30s %s\n", "-h, --help", "show this help");
    fprintf(f, "\nglobal: --repo DIR (or $FOG_PATH; default ~/.fog)\n");
}

static int opt_index(const cli_args *a, const char *name)
{
    for (size_t i = 0; i < a->n_opts; i++) {
        if (strcmp(a->opts[i].name, name) == 0) {
            return (int)i;
        }
    }
    return -1;
}

bool cli_has(const cli_args *a, const char *name)
{
    int i = opt_index(a, name);
    return i >= 0 && a->set[i];
}

const char *cli_value(const cli_args *a, const char *name)
{
    int i = opt_index(a, name);
    return i >= 0 && a->set[i] ? a->value[i] : NULL;
}

bool cli_bool(const cli_args *a, const char *name, bool def)
{
    const char *v = cli_value(a, name);
    return v == NULL ? def : strcmp(v, "false") != 0;
}

int cli_u64(const cli_args *a, const char *name, uint64_t *out)
{
    const char *v = cli_value(a, name);
    if (v == NULL) {
        return 0;
    }
    char *end = NULL;
    errno = 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (v[0] < '0' || v[0] > '9' || *end != '\0' || errno != 0) {
        fprintf(stderr, "error: option --%s needs a whole number, not \"%s\"\n", name, v);
        return CLI_USAGE;
    }
    *out = n;
    return 0;
}

int cli_need_pos(const cli_cmd *cmd, const cli_args *a, size_t min, size_t max)
{
    if (a->n_pos < min) {
        return usage_error(cmd, "missing argument%s", "");
    }
    if (a->n_pos > max) {
        return usage_error(cmd, "unexpected argument \"%s\"", a->pos[max]);
    }
    return 0;
}
