/* main.c: the fog command line: global options, the command table and dispatch.
 * Commands are one or two words ("add", "pin add"). --repo DIR may stand anywhere before "--";
 * otherwise $FOG_PATH, then ~/.fog. Every command answers --help. Exit codes: 0 ok, 1 the
 * command failed (one "error: ..." line on stderr), 2 the command line was wrong.
 */
#include "cli.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "fog/crypto.h"

static const cli_cmd *const commands[] = {
    &cli_cmd_init,       &cli_cmd_add,         &cli_cmd_cat,        &cli_cmd_get,
    &cli_cmd_ls,         &cli_cmd_pin_add,     &cli_cmd_pin_rm,     &cli_cmd_pin_ls,
    &cli_cmd_gc,         &cli_cmd_block_get,   &cli_cmd_block_put,  &cli_cmd_block_stat,
    &cli_cmd_block_rm,   &cli_cmd_car_export,  &cli_cmd_car_import, &cli_cmd_cid_inspect,
    &cli_cmd_repo_stat,  &cli_cmd_repo_verify, &cli_cmd_daemon,     &cli_cmd_id,
    &cli_cmd_swarm_connect, &cli_cmd_swarm_peers, &cli_cmd_ping,
    &cli_cmd_bootstrap_list, &cli_cmd_bootstrap_add, &cli_cmd_bootstrap_rm, &cli_cmd_dht_findpeer,
    &cli_cmd_dht_findprovs, &cli_cmd_dht_provide, &cli_cmd_dht_query,
    &cli_cmd_stats_bw,   &cli_cmd_key_gen,     &cli_cmd_key_list,   &cli_cmd_key_rm,
    &cli_cmd_key_rename, &cli_cmd_key_export,  &cli_cmd_key_import,
    &cli_cmd_name_inspect, &cli_cmd_dht_get, &cli_cmd_dht_put,
    &cli_cmd_name_publish, &cli_cmd_name_resolve, &cli_cmd_log, &cli_cmd_diff,
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *f)
{
    fprintf(f, "usage: fog [--repo DIR] COMMAND [options] [arguments]\n\n"
               "fog: content-addressed files, compatible with IPFS (CIDv1, UnixFS, CAR).\n\n"
               "commands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        fprintf(f, "  %-14s %s\n", commands[i]->name, commands[i]->summary);
    }
    fprintf(f, "\n'fog COMMAND --help' explains a command. The repository is --repo DIR, else "
               "$FOG_PATH, else ~/.fog.\n");
}

/* Removes "--repo DIR" / "--repo=DIR" from argv (before any "--") and returns DIR or NULL. */
static const char *take_repo(int *argc, char **argv, int *bad)
{
    const char *repo = NULL;
    int out = 1;
    bool rest = false;
    for (int i = 1; i < *argc; i++) {
        if (!rest && strcmp(argv[i], "--") == 0) {
            rest = true;
        } else if (!rest && strcmp(argv[i], "--repo") == 0) {
            if (i + 1 >= *argc) {
                *bad = 1;
                return NULL;
            }
            repo = argv[++i];
            continue;
        } else if (!rest && strncmp(argv[i], "--repo=", 7) == 0) {
            repo = argv[i] + 7;
            continue;
        }
        argv[out++] = argv[i];
    }
    *argc = out;
    return repo;
}

static const cli_cmd *find_command(int argc, char **argv, int *words)
{
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const char *name = commands[i]->name;
        const char *sp = strchr(name, ' ');
        if (sp == NULL) {
            if (strcmp(argv[1], name) == 0) {
                *words = 1;
                return commands[i];
            }
        } else if (argc > 2 && strncmp(argv[1], name, (size_t)(sp - name)) == 0 &&
                   argv[1][sp - name] == '\0' && strcmp(argv[2], sp + 1) == 0) {
            *words = 2;
            return commands[i];
        }
    }
    return NULL;
}

/* "fog pin" alone or "fog pin bogus": list the subcommands of that group. */
static int group_help(const char *group, bool asked)
{
    size_t len = strlen(group);
    bool any = false;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const char *name = commands[i]->name;
        if (strncmp(name, group, len) == 0 && name[len] == ' ') {
            if (!any) {
                fprintf(asked ? stdout : stderr, "usage: fog %s SUBCOMMAND\n\nsubcommands:\n",
                        group);
            }
            any = true;
            fprintf(asked ? stdout : stderr, "  %-14s %s\n", name, commands[i]->summary);
        }
    }
    return any ? (asked ? CLI_OK : CLI_USAGE) : -1;
}

int main(int argc, char **argv)
{
    signal(SIGPIPE, SIG_IGN);
    if (fog_crypto_init() < 0) {
        return cli_failf("the crypto library (libsodium) could not start");
    }
    int bad = 0;
    const char *repo = take_repo(&argc, argv, &bad);
    if (bad) {
        fprintf(stderr, "error: --repo needs a directory\n");
        return CLI_USAGE;
    }
    if (repo == NULL) {
        repo = fog_repo_default_path();
    }
    if (argc < 2 || strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
        strcmp(argv[1], "help") == 0) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? CLI_USAGE : CLI_OK;
    }
    if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "version") == 0) {
        printf("fog %s\n", FOG_VERSION);
        return CLI_OK;
    }
    int words = 0;
    const cli_cmd *cmd = find_command(argc, argv, &words);
    if (cmd == NULL) {
        bool asked = argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0);
        int rc = group_help(argv[1], asked || argc == 2 ? asked : false);
        if (rc >= 0) {
            if (argc > 2 && !asked) {
                fprintf(stderr, "error: unknown subcommand \"%s %s\"\n", argv[1], argv[2]);
            }
            return rc;
        }
        fprintf(stderr, "error: unknown command \"%s\" (see 'fog --help')\n", argv[1]);
        return CLI_USAGE;
    }
    cli_args args;
    int rc = cli_parse(cmd, argc - 1 - words, argv + 1 + words, &args);
    if (rc != 0) {
        return rc < 0 ? CLI_OK : rc;
    }
    return cmd->run(repo, &args);
}
