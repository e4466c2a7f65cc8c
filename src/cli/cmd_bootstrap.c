/* cmd_bootstrap.c: `fog bootstrap list|add|rm`: the DHT's bootstrap peers, kept as kubo keeps
 * them, in the "Bootstrap" array of $REPO/config (multiaddr strings ending in /p2p/<peer ID>).
 * The default list is empty on purpose: fog dials nothing by itself. These commands work
 * offline on the config file; the daemon reads the list once, at start (cli_bootstrap_read).
 * A repository made before the key existed has no "Bootstrap": that is an empty list.
 * Addresses are checked (a TCP multiaddr with /p2p) and stored in canonical text; an address
 * already present (same canonical form) is not added twice. Output follows kubo's: "added ADDR"
 * and "removed ADDR" lines, `list` one address per line.
 * The config is rewritten as fog init writes it: a temporary file (mode 0600: it holds the
 * private key), fsync, rename over the old name, fsync of the directory.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "fog/crypto.h"
#include "fog/multiaddr.h"

/* --- The config file ----------------------------------------------------------------------- */

/* $REPO/config parsed, or CLI_FAIL after printing why. */
static int config_load(const char *repo, json_t **out)
{
    if (repo == NULL) {
        return cli_failf("no repository path: set $FOG_PATH, $HOME or pass --repo DIR");
    }
    char path[4096];
    snprintf(path, sizeof path, "%s/config", repo);
    if (access(path, F_OK) < 0) {
        return cli_failf("no fog repository at %s (run 'fog init')", repo);
    }
    json_error_t jerr;
    *out = json_load_file(path, 0, &jerr);
    if (!json_is_object(*out)) {
        json_decref(*out);
        return cli_failf("config %s: %s", path, jerr.text[0] != '\0' ? jerr.text : "not an object");
    }
    return CLI_OK;
}

/* The Bootstrap array of root (made when absent or null); NULL after printing an error. */
static json_t *bootstrap_array(json_t *root, const char *repo)
{
    json_t *arr = json_object_get(root, "Bootstrap");
    if (arr == NULL || json_is_null(arr)) {
        arr = json_array();
        json_object_set_new(root, "Bootstrap", arr);
    }
    if (!json_is_array(arr)) {
        cli_failf("config %s/config: Bootstrap must be an array of multiaddrs", repo);
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(arr); i++) {
        if (!json_is_string(json_array_get(arr, i))) {
            cli_failf("config %s/config: Bootstrap must be an array of multiaddrs", repo);
            return NULL;
        }
    }
    return arr;
}

static int config_save(const char *repo, json_t *root)
{
    char *text = json_dumps(root, JSON_INDENT(2));
    if (text == NULL) {
        return cli_failf("out of memory");
    }
    size_t len = strlen(text);
    char *full = malloc(len + 2);
    int rc = CLI_FAIL;
    if (full == NULL) {
        rc = cli_failf("out of memory");
    } else {
        memcpy(full, text, len);
        memcpy(full + len, "\n", 2);
        rc = fog_repo_config_replace(repo, full);
        rc = rc < 0 ? cli_fail(rc) : CLI_OK;
        fog_memzero(full, len + 1); /* the text holds the private key */
        free(full);
    }
    fog_memzero(text, len);
    free(text);
    return rc;
}

/* --- Addresses ----------------------------------------------------------------------------- */

/* A bootstrap address: parses, and must carry /tcp and /p2p. Prints the error (CLI_FAIL). */
static int parse_bootstrap(fog_multiaddr *out, const char *text)
{
    int rc = fog_multiaddr_parse(out, text);
    if (rc < 0) {
        return cli_failf("invalid bootstrap address \"%s\": %s", text, fog_err_detail(rc));
    }
    uint16_t port;
    fog_slice id;
    if (fog_multiaddr_port(out, FOG_MA_TCP, &port) < 0) {
        return cli_failf("invalid bootstrap address \"%s\": not a TCP address", text);
    }
    if (fog_multiaddr_peer_id(out, &id) < 0) {
        return cli_failf("invalid bootstrap address \"%s\": no /p2p/<peer ID>", text);
    }
    return CLI_OK;
}

/* Index of ma in arr (by canonical form), or -1. */
static long find_addr(json_t *arr, const fog_multiaddr *ma)
{
    for (size_t i = 0; i < json_array_size(arr); i++) {
        fog_multiaddr other;
        const char *s = json_string_value(json_array_get(arr, i));
        if (fog_multiaddr_parse(&other, s) == 0 && fog_multiaddr_eq(&other, ma)) {
            return (long)i;
        }
    }
    return -1;
}

int cli_bootstrap_read(const char *repo, fog_multiaddr *out, size_t max, size_t *n_out)
{
    json_t *root = NULL;
    *n_out = 0;
    if (config_load(repo, &root) != CLI_OK) {
        return CLI_FAIL;
    }
    json_t *arr = bootstrap_array(root, repo);
    int rc = arr == NULL ? CLI_FAIL : CLI_OK;
    for (size_t i = 0; rc == CLI_OK && i < json_array_size(arr); i++) {
        if (*n_out == max) {
            rc = cli_failf("config: at most %zu Bootstrap addresses", max);
        } else if (parse_bootstrap(&out[*n_out], json_string_value(json_array_get(arr, i))) ==
                   CLI_OK) {
            (*n_out)++;
        } else {
            rc = CLI_FAIL;
        }
    }
    json_decref(root);
    return rc;
}

/* --- Commands ------------------------------------------------------------------------------ */

static int run_list(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_bootstrap_list, a, 0, 0);
    json_t *root = NULL;
    if (rc != 0 || (rc = config_load(repo, &root)) != CLI_OK) {
        return rc;
    }
    json_t *arr = bootstrap_array(root, repo);
    for (size_t i = 0; arr != NULL && i < json_array_size(arr); i++) {
        printf("%s\n", json_string_value(json_array_get(arr, i)));
    }
    json_decref(root);
    return arr != NULL ? CLI_OK : CLI_FAIL;
}

static int run_add(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_bootstrap_add, a, 1, CLI_MAX_POS);
    if (rc != 0) {
        return rc;
    }
    fog_multiaddr *ma = calloc(a->n_pos, sizeof *ma);
    if (ma == NULL) {
        return cli_failf("out of memory");
    }
    for (size_t i = 0; i < a->n_pos && rc == CLI_OK; i++) {
        rc = parse_bootstrap(&ma[i], a->pos[i]);
    }
    json_t *root = NULL;
    json_t *arr = NULL;
    if (rc == CLI_OK && (rc = config_load(repo, &root)) == CLI_OK &&
        (arr = bootstrap_array(root, repo)) == NULL) {
        rc = CLI_FAIL;
    }
    bool changed = false;
    for (size_t i = 0; rc == CLI_OK && i < a->n_pos; i++) {
        if (find_addr(arr, &ma[i]) < 0 && json_array_size(arr) >= CLI_BOOTSTRAP_MAX) {
            rc = cli_failf("at most %d bootstrap addresses", CLI_BOOTSTRAP_MAX);
        } else if (find_addr(arr, &ma[i]) < 0) {
            json_array_append_new(arr, json_string(fog_multiaddr_str(&ma[i])));
            changed = true;
        }
    }
    if (rc == CLI_OK && changed) {
        rc = config_save(repo, root);
    }
    for (size_t i = 0; rc == CLI_OK && i < a->n_pos; i++) {
        printf("added %s\n", fog_multiaddr_str(&ma[i]));
    }
    json_decref(root);
    free(ma);
    return rc;
}

/* Removes the given addresses (or all with --all) from arr, moving them to removed. */
static int remove_addrs(json_t *arr, cli_args *a, bool all, json_t *removed)
{
    if (all) {
        json_array_extend(removed, arr);
        json_array_clear(arr);
        return CLI_OK;
    }
    for (size_t i = 0; i < a->n_pos; i++) {
        fog_multiaddr ma;
        int rc = parse_bootstrap(&ma, a->pos[i]);
        if (rc != CLI_OK) {
            return rc;
        }
        long at = find_addr(arr, &ma);
        if (at >= 0) {
            json_array_append(removed, json_array_get(arr, (size_t)at));
            json_array_remove(arr, (size_t)at);
        }
    }
    return CLI_OK;
}

static int run_rm(const char *repo, cli_args *a)
{
    bool all = cli_has(a, "all");
    if (all == (a->n_pos > 0)) {
        fprintf(stderr, "error: give addresses to remove or --all, not both\n");
        cli_help(&cli_cmd_bootstrap_rm, stderr);
        return CLI_USAGE;
    }
    for (size_t i = 0; i < a->n_pos; i++) {
        fog_multiaddr ma;
        if (parse_bootstrap(&ma, a->pos[i]) != CLI_OK) {
            return CLI_FAIL;
        }
    }
    json_t *root = NULL;
    json_t *removed = json_array();
    int rc = config_load(repo, &root);
    json_t *arr = rc == CLI_OK ? bootstrap_array(root, repo) : NULL;
    if (rc == CLI_OK && arr == NULL) {
        rc = CLI_FAIL;
    }
    if (rc == CLI_OK) {
        rc = remove_addrs(arr, a, all, removed);
    }
    if (rc == CLI_OK && json_array_size(removed) > 0) {
        rc = config_save(repo, root);
    }
    for (size_t i = 0; rc == CLI_OK && i < json_array_size(removed); i++) {
        printf("removed %s\n", json_string_value(json_array_get(removed, i)));
    }
    json_decref(removed);
    json_decref(root);
    return rc;
}

const cli_cmd cli_cmd_bootstrap_list = {
    "bootstrap list", "", "show the DHT's bootstrap peers (config Bootstrap)",
    "Prints the multiaddrs of the Bootstrap list of the config, one per line.\n"
    "The list is empty by default: fog dials nothing by itself.",
    NULL, 0, run_list};
const cli_cmd cli_cmd_bootstrap_add = {
    "bootstrap add", "MULTIADDR...", "add bootstrap peers to the config",
    "Each MULTIADDR is a TCP address ending in /p2p/<peer ID>, e.g.\n"
    "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooW... Addresses already listed are not added again.\n"
    "The daemon reads the list when it starts.",
    NULL, 0, run_add};
static const cli_opt rm_opts[] = {
    {"all", 0, OPT_FLAG, NULL, "remove every bootstrap peer"},
};
const cli_cmd cli_cmd_bootstrap_rm = {
    "bootstrap rm", "MULTIADDR...|--all", "remove bootstrap peers from the config",
    "Removes the given addresses (those not listed are ignored), or all with --all.", rm_opts, 1,
    run_rm};
