/* cli.h: what the fog subcommands share: option parsing, repository opening, error printing,
 * output helpers and the progress line. Internal to src/cli.
 */
#ifndef FOG_CLI_H
#define FOG_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "fog/mf.h"
#include "fog/multiaddr.h"
#include "fog/store.h"
#include "fog/util.h"

/* Exit codes: 0 success, 1 the command failed, 2 the command line was wrong. */
enum { CLI_OK = 0, CLI_FAIL = 1, CLI_USAGE = 2 };

enum {
    OPT_FLAG,  /* --name or -x; no value */
    OPT_BOOL,  /* --name, --name=true, --name=false */
    OPT_VALUE, /* --name V, --name=V, -x V */
};
typedef struct {
    const char *name; /* long name without dashes */
    char short_name;  /* 0 when none */
    int kind;
    const char *arg;  /* value placeholder for --help ("N", "DIR") */
    const char *help;
} cli_opt;

#define CLI_MAX_OPTS 24
#define CLI_MAX_POS 256
typedef struct {
    const cli_opt *opts;
    size_t n_opts;
    bool set[CLI_MAX_OPTS];
    const char *value[CLI_MAX_OPTS]; /* OPT_VALUE text; OPT_BOOL "true"/"false" */
    const char *pos[CLI_MAX_POS];
    size_t n_pos;
} cli_args;

typedef struct {
    const char *name;    /* "add", "pin add" */
    const char *usage;   /* "[options] PATH..." */
    const char *summary; /* one line */
    const char *details; /* more lines for --help, or NULL */
    const cli_opt *opts;
    size_t n_opts;
    int (*run)(const char *repo, cli_args *a);
} cli_cmd;

/* Parses argv (after the command words) against cmd's options. Prints the help and returns
 * -1 for --help/-h (exit 0), prints an error and returns CLI_USAGE on a bad line, 0 otherwise. */
int cli_parse(const cli_cmd *cmd, int argc, char **argv, cli_args *out);
void cli_help(const cli_cmd *cmd, FILE *f);
bool cli_has(const cli_args *a, const char *name);
const char *cli_value(const cli_args *a, const char *name);
/* OPT_BOOL value: def when absent. */
bool cli_bool(const cli_args *a, const char *name, bool def);
/* Parses an unsigned decimal option into *out; prints an error and returns CLI_USAGE on junk. */
int cli_u64(const cli_args *a, const char *name, uint64_t *out);
/* Checks the positional count; prints usage and returns CLI_USAGE when outside [min, max]. */
int cli_need_pos(const cli_cmd *cmd, const cli_args *a, size_t min, size_t max);

/* Prints "error: <detail of rc>" (the thread's detail line when set) and returns CLI_FAIL. */
int cli_fail(int rc);
/* Prints "error: <formatted>" and returns CLI_FAIL. */
int cli_failf(const char *fmt, ...) FOG_PRINTF(1, 2);

/* Opens the repository with a clear error on failure (printed); returns 0 or CLI_FAIL. */
int cli_open(const char *repo, int mode, fog_store **out);

/* Parses "CID" or "/ipfs/CID"; prints the error and returns CLI_FAIL when it is not a CID. */
int cli_parse_cid(const char *arg, fog_cid *out);
/* For commands that act on a list of CIDs (pin add, pin rm, block rm): checks there is at
 * least one, opens the repository for writing, and calls fn for each CID in order, stopping at
 * the first failure (fn prints its own error and returns CLI_FAIL). */
typedef int (*cli_cid_fn)(fog_store *s, const fog_cid *c, const char *arg, cli_args *a);
int cli_each_cid(const cli_cmd *cmd, const char *repo, cli_args *a, cli_cid_fn fn);

/* Writes all bytes to fd 1; a closed pipe ends quietly (FOG_ERR_CANCELLED). */
int cli_write_stdout(void *ctx, const uint8_t *p, size_t len);

/* A progress line on stderr, shown only when stderr is a terminal and enabled. */
typedef struct {
    bool on;
    uint64_t total; /* 0 when unknown */
    uint64_t done;
    fog_ms start_ms;
    fog_ms last_ms;
    const char *label;
} cli_progress;
void cli_progress_start(cli_progress *p, bool enabled, uint64_t total, const char *label);
void cli_progress_update(cli_progress *p, uint64_t done);
void cli_progress_end(cli_progress *p);
fog_ms cli_now_ms(void);
/* "1.5 MiB" into buf. */
const char *cli_human_bytes(uint64_t n, char *buf, size_t cap);

/* The command tables of each file. */
extern const cli_cmd cli_cmd_init, cli_cmd_add, cli_cmd_cat, cli_cmd_get, cli_cmd_ls;
extern const cli_cmd cli_cmd_pin_add, cli_cmd_pin_rm, cli_cmd_pin_ls, cli_cmd_gc;
extern const cli_cmd cli_cmd_block_get, cli_cmd_block_put, cli_cmd_block_stat, cli_cmd_block_rm;
extern const cli_cmd cli_cmd_car_export, cli_cmd_car_import, cli_cmd_cid_inspect;
extern const cli_cmd cli_cmd_repo_stat, cli_cmd_repo_verify;
extern const cli_cmd cli_cmd_daemon, cli_cmd_id, cli_cmd_swarm_connect, cli_cmd_swarm_peers;
extern const cli_cmd cli_cmd_ping;
extern const cli_cmd cli_cmd_bootstrap_list, cli_cmd_bootstrap_add, cli_cmd_bootstrap_rm;
extern const cli_cmd cli_cmd_key_gen, cli_cmd_key_list, cli_cmd_key_rm, cli_cmd_key_rename;
extern const cli_cmd cli_cmd_key_export, cli_cmd_key_import;
extern const cli_cmd cli_cmd_name_inspect, cli_cmd_dht_get, cli_cmd_dht_put;
extern const cli_cmd cli_cmd_stats_bw;
extern const cli_cmd cli_cmd_dht_findpeer, cli_cmd_dht_findprovs, cli_cmd_dht_provide;
extern const cli_cmd cli_cmd_dht_query;
extern const cli_cmd cli_cmd_name_publish, cli_cmd_name_resolve, cli_cmd_log, cli_cmd_diff;

/* A name path ("NAME@N/path", "/ipns/NAME/path"; fog_name_path_is) resolved to "/ipfs/CID/path"
 * in out (cmd_name.c): through the daemon when one runs, else from the local repository. CLI_OK
 * or CLI_FAIL (printed). */
int cli_name_path(const char *repo, const char *arg, char *out, size_t cap);

/* Bootstrap peers (cmd_bootstrap.c): the config's Bootstrap list, each a TCP multiaddr with
 * /p2p. cli_bootstrap_read fills out[0..*n_out) (none when the key is absent); CLI_FAIL after
 * printing the error (no repository, a malformed entry, more than max). */
#define CLI_BOOTSTRAP_MAX 64
int cli_bootstrap_read(const char *repo, fog_multiaddr *out, size_t max, size_t *n_out);

#endif
