/* cmd_key.c: `fog key gen|list|rm|rename|export|import`: the repository's named keys
 * (include/fog/keystore.h), which sign IPNS names. Output follows kubo's: a key is shown by its
 * IPNS name (the CIDv1 libp2p-key of its peer ID in base36, "k51..."); `list` prints names, with
 * -l "ID NAME"; `rename` prints "Key ID renamed to NEW". These commands work offline on the files,
 * beside a running daemon.
 * Export files are sealed with a passphrase: from --passphrase-file (its first line), else the
 * environment variable FOG_KEY_PASSPHRASE, else asked on the terminal (twice for export).
 */
#include "cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fog/crypto.h"
#include "fog/keystore.h"
#include "fog/mf.h"

#define PASS_MAX 1024

static int key_fail(int rc)
{
    return rc == FOG_ERR_NOMEM ? cli_failf("out of memory") : cli_fail(rc);
}

/* The key's IPNS name into out. */
static void key_id(const fog_key *k, char *out, size_t cap)
{
    if (fog_peer_id_format_cid(k->id, sizeof k->id, 0, out, cap) < 0) {
        snprintf(out, cap, "?");
    }
}

/* Prints k's IPNS name (gen, import) and wipes k. */
static int print_id(fog_key *k)
{
    char id[FOG_CID_STR_MAX];
    key_id(k, id, sizeof id);
    fog_memzero(k, sizeof *k);
    printf("%s\n", id);
    return CLI_OK;
}

static int run_gen(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_key_gen, a, 1, 1);
    fog_key k;
    if (rc != 0) {
        return rc;
    }
    if ((rc = fog_key_gen(repo, a->pos[0], &k)) < 0) {
        return key_fail(rc);
    }
    return print_id(&k);
}

static int run_list(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_key_list, a, 0, 0);
    fog_key *keys = NULL;
    size_t n = 0;
    if (rc != 0) {
        return rc;
    }
    if ((rc = fog_key_list(repo, &keys, &n)) < 0) {
        return key_fail(rc);
    }
    bool l = cli_has(a, "l");
    for (size_t i = 0; i < n; i++) {
        char id[FOG_CID_STR_MAX];
        key_id(&keys[i], id, sizeof id);
        if (l) {
            printf("%s %s\n", id, keys[i].name);
        } else {
            printf("%s\n", keys[i].name);
        }
    }
    fog_key_list_free(keys, n);
    return CLI_OK;
}

static int run_rm(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_key_rm, a, 1, CLI_MAX_POS);
    for (size_t i = 0; rc == 0 && i < a->n_pos; i++) {
        fog_key k;
        if ((rc = fog_key_get(repo, a->pos[i], &k)) == 0 &&
            (rc = fog_key_rm(repo, a->pos[i])) == 0) {
            char id[FOG_CID_STR_MAX];
            key_id(&k, id, sizeof id);
            if (cli_has(a, "l")) {
                printf("%s %s\n", id, k.name);
            } else {
                printf("%s\n", k.name);
            }
        }
        fog_memzero(&k, sizeof k);
        rc = rc < 0 ? key_fail(rc) : CLI_OK;
    }
    return rc;
}

static int run_rename(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_key_rename, a, 2, 2);
    fog_key k;
    if (rc != 0) {
        return rc;
    }
    if ((rc = fog_key_get(repo, a->pos[0], &k)) < 0 ||
        (rc = fog_key_rename(repo, a->pos[0], a->pos[1], cli_has(a, "force"))) < 0) {
        fog_memzero(&k, sizeof k);
        return key_fail(rc);
    }
    char id[FOG_CID_STR_MAX];
    key_id(&k, id, sizeof id);
    fog_memzero(&k, sizeof k);
    printf("Key %s renamed to %s\n", id, a->pos[1]);
    return CLI_OK;
}

/* The first line of path, without its newline. */
static int pass_from_file(const char *path, char *out, size_t cap, size_t *len)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return cli_failf("cannot read %s: %s", path, strerror(errno));
    }
    bool ok = fgets(out, (int)cap, f) != NULL;
    fclose(f);
    *len = ok ? strcspn(out, "\r\n") : 0;
    out[*len] = '\0';
    return CLI_OK;
}

/* The passphrase: --passphrase-file, FOG_KEY_PASSPHRASE, or the terminal (confirm: twice). */
static int passphrase(cli_args *a, bool confirm, char *out, size_t cap, size_t *len)
{
    const char *file = cli_value(a, "passphrase-file");
    const char *env = getenv("FOG_KEY_PASSPHRASE");
    if (file != NULL) {
        return pass_from_file(file, out, cap, len);
    }
    if (env != NULL) {
        snprintf(out, cap, "%s", env);
        *len = strlen(out);
        return CLI_OK;
    }
    if (!isatty(STDIN_FILENO)) {
        return cli_failf("no passphrase: give --passphrase-file or set FOG_KEY_PASSPHRASE");
    }
    char *p = getpass("passphrase: ");
    snprintf(out, cap, "%s", p != NULL ? p : "");
    *len = strlen(out);
    if (confirm) {
        p = getpass("passphrase again: ");
        if (p == NULL || strcmp(p, out) != 0) {
            return cli_failf("the passphrases differ");
        }
    }
    return CLI_OK;
}

static int run_export(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_key_export, a, 1, 1);
    char pass[PASS_MAX];
    size_t pass_len = 0;
    if (rc != 0 || (rc = passphrase(a, true, pass, sizeof pass, &pass_len)) != CLI_OK) {
        return rc;
    }
    uint8_t file[FOG_KEY_EXPORT_LEN];
    rc = fog_key_export(repo, a->pos[0], pass, pass_len, file);
    fog_memzero(pass, sizeof pass);
    if (rc < 0) {
        return key_fail(rc);
    }
    char def[FOG_KEY_NAME_MAX + 8];
    snprintf(def, sizeof def, "%s.key", a->pos[0]);
    const char *path = cli_has(a, "output") ? cli_value(a, "output") : def;
    FILE *f = strcmp(path, "-") == 0 ? stdout : fopen(path, "wbx");
    if (f == NULL) {
        return cli_failf("cannot create %s: %s", path, strerror(errno));
    }
    bool ok = fwrite(file, 1, sizeof file, f) == sizeof file;
    ok = (f == stdout ? fflush(f) : fclose(f)) == 0 && ok;
    if (!ok) {
        return cli_failf("cannot write %s: %s", path, strerror(errno));
    }
    if (f != stdout) {
        fprintf(stderr, "exported key \"%s\" to %s\n", a->pos[0], path);
    }
    return CLI_OK;
}

static int run_import(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_key_import, a, 2, 2);
    if (rc != 0) {
        return rc;
    }
    uint8_t file[FOG_KEY_EXPORT_LEN + 1];
    FILE *f = strcmp(a->pos[1], "-") == 0 ? stdin : fopen(a->pos[1], "rb");
    if (f == NULL) {
        return cli_failf("cannot read %s: %s", a->pos[1], strerror(errno));
    }
    size_t len = fread(file, 1, sizeof file, f);
    if (f != stdin) {
        fclose(f);
    }
    char pass[PASS_MAX];
    size_t pass_len = 0;
    if ((rc = passphrase(a, false, pass, sizeof pass, &pass_len)) != CLI_OK) {
        return rc;
    }
    fog_key k;
    rc = fog_key_import(repo, a->pos[0], file, len, pass, pass_len, &k);
    fog_memzero(pass, sizeof pass);
    if (rc < 0) {
        return key_fail(rc);
    }
    return print_id(&k);
}

static const cli_opt list_opts[] = {
    {"l", 'l', OPT_FLAG, NULL, "show each key's IPNS name (k51...) before its name"},
};
static const cli_opt rm_opts[] = {
    {"l", 'l', OPT_FLAG, NULL, "show each removed key's IPNS name too"},
};
static const cli_opt rename_opts[] = {
    {"force", 'f', OPT_FLAG, NULL, "replace a key that has the new name"},
};
static const cli_opt export_opts[] = {
    {"output", 'o', OPT_VALUE, "FILE", "where to write (default NAME.key; - for stdout)"},
    {"passphrase-file", 0, OPT_VALUE, "FILE", "read the passphrase from FILE's first line"},
};
static const cli_opt import_opts[] = {
    {"passphrase-file", 0, OPT_VALUE, "FILE", "read the passphrase from FILE's first line"},
};

const cli_cmd cli_cmd_key_gen = {
    "key gen", "NAME", "make a new Ed25519 key for an IPNS name",
    "Stores the key in the repository (keystore/, owner-only) and prints its IPNS name.",
    NULL, 0, run_gen};
const cli_cmd cli_cmd_key_list = {
    "key list", "[-l]", "list the repository's keys",
    "Prints \"self\" (the node's identity) first, then the other keys by name.", list_opts, 1,
    run_list};
const cli_cmd cli_cmd_key_rm = {
    "key rm", "NAME...", "remove keys",
    "Removes the named keys (not \"self\"). A name published with a removed key can no longer\n"
    "be updated.",
    rm_opts, 1, run_rm};
const cli_cmd cli_cmd_key_rename = {
    "key rename", "OLD NEW", "rename a key", "Prints \"Key ID renamed to NEW\".", rename_opts, 1,
    run_rename};
const cli_cmd cli_cmd_key_export = {
    "key export", "NAME", "write a key to a passphrase-sealed file",
    "The file holds the key sealed with the passphrase (Argon2id, XSalsa20-Poly1305). The\n"
    "passphrase comes from --passphrase-file, $FOG_KEY_PASSPHRASE, or the terminal.",
    export_opts, 2, run_export};
const cli_cmd cli_cmd_key_import = {
    "key import", "NAME FILE", "store a key from a file made by 'fog key export'",
    "FILE may be - for stdin. The passphrase comes from --passphrase-file,\n"
    "$FOG_KEY_PASSPHRASE, or the terminal. Prints the key's IPNS name.",
    import_opts, 1, run_import};
