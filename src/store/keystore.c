/* keystore.c: named Ed25519 keys in DIR/keystore (include/fog/keystore.h has the layout and the
 * export format). "self" is read from the config (fog__store_config_read), never from a file.
 * Key files are read through fog__store_privkey_parse, which checks the public half against the
 * seed, so a damaged or hand-edited file is refused rather than used to sign.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fog/crypto.h"
#include "fog/keystore.h"
#include "fog/mf.h"

#define KS_DIR "keystore"
#define KS_PREFIX "key_"
#define PB_LEN 68 /* 08 01 12 40 + 64 bytes */
#define MAGIC "FOGKEY01"
#define MEMLIMIT_MAX (1024u * 1024u) /* KiB: 1 GiB */
#define OPS_DEFAULT crypto_pwhash_OPSLIMIT_INTERACTIVE
#define MEM_DEFAULT crypto_pwhash_MEMLIMIT_INTERACTIVE

static int check_name(const char *name, bool new_key)
{
    size_t n = strlen(name);
    if (n == 0 || n > FOG_KEY_NAME_MAX) {
        return fog_errf(FOG_ERR_INVALID, "a key name has 1 to %d characters", FOG_KEY_NAME_MAX);
    }
    for (size_t i = 0; i < n; i++) {
        if (name[i] < 0x21 || name[i] > 0x7e || name[i] == '/') {
            return fog_errf(FOG_ERR_INVALID,
                            "key name \"%s\": printable characters only, no spaces or '/'", name);
        }
    }
    if (new_key && strcmp(name, "self") == 0) {
        return fog_errf(FOG_ERR_INVALID, "\"self\" is the node's own key");
    }
    return 0;
}

/* DIR/keystore/key_<base32 name> into out. */
static int key_path(char *out, size_t cap, const char *dir, const char *name)
{
    char enc[2 * FOG_KEY_NAME_MAX + 8];
    int n = fog_base_encode(FOG_BASE32, (const uint8_t *)name, strlen(name), enc, sizeof enc);
    if (n < 0) {
        return n;
    }
    int w = snprintf(out, cap, "%s/" KS_DIR "/" KS_PREFIX "%s", dir, enc);
    return w < 0 || (size_t)w >= cap ? FOG_ERR_LIMIT : 0;
}

static void fill(fog_key *k, const char *name, const uint8_t secret[64])
{
    snprintf(k->name, sizeof k->name, "%s", name);
    memcpy(k->secret, secret, 64);
    fog_peer_id_ed25519(secret + 32, k->id);
}

static int read_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return errno == ENOENT ? FOG_ERR_NOT_FOUND
                               : fog_errf(FOG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    }
    ssize_t n = read(fd, buf, cap);
    close(fd);
    if (n < 0) {
        return fog_errf(FOG_ERR_IO, "cannot read %s: %s", path, strerror(errno));
    }
    *len = (size_t)n;
    return 0;
}

int fog_key_get(const char *dir, const char *name, fog_key *out)
{
    int rc = check_name(name, false);
    uint8_t secret[64];
    if (rc == 0 && strcmp(name, "self") == 0) {
        char id[STORE_PEER_ID_MAX];
        uint64_t map;
        rc = fog__store_config_read(dir, secret, id, &map);
    } else if (rc == 0) {
        char path[4096];
        uint8_t pb[PB_LEN + 1];
        size_t len = 0;
        if ((rc = key_path(path, sizeof path, dir, name)) == 0 &&
            (rc = read_file(path, pb, sizeof pb, &len)) == 0) {
            rc = fog__store_privkey_parse(pb, len, secret);
            rc = rc < 0 ? fog_errf(FOG_ERR_STORE, "key file %s is not an Ed25519 key", path) : 0;
        }
        fog_memzero(pb, sizeof pb);
        if (rc == FOG_ERR_NOT_FOUND) {
            rc = fog_errf(FOG_ERR_NOT_FOUND, "no key called \"%s\"", name);
        }
    }
    if (rc == 0) {
        fill(out, name, secret);
    }
    fog_memzero(secret, sizeof secret);
    return rc;
}

/* Writes the key file atomically; an existing file is replaced only with replace. */
static int key_write(const char *dir, const char *name, const uint8_t secret[64], bool replace)
{
    char ks[4096], path[4096], tmp[4200];
    int rc = fog__store_path(ks, sizeof ks, dir, KS_DIR);
    if (rc < 0 || (rc = key_path(path, sizeof path, dir, name)) < 0) {
        return rc;
    }
    if (mkdir(ks, 0700) < 0 && errno != EEXIST) {
        return fog_errf(FOG_ERR_IO, "cannot make %s: %s", ks, strerror(errno));
    }
    if (!replace && access(path, F_OK) == 0) {
        return fog_errf(FOG_ERR_EXISTS, "a key called \"%s\" exists already", name);
    }
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    uint8_t pb[PB_LEN] = {0x08, 0x01, 0x12, 0x40};
    memcpy(pb + 4, secret, 64);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, pb, sizeof pb) == (ssize_t)sizeof pb &&
              fsync(fd) == 0;
    fog_memzero(pb, sizeof pb);
    if (fd >= 0 && close(fd) < 0) {
        ok = false;
    }
    if (!ok || rename(tmp, path) < 0) {
        rc = fog_errf(FOG_ERR_IO, "cannot write %s: %s", path, strerror(errno));
        unlink(tmp);
        return rc;
    }
    return fog__store_fsync_dir(ks);
}

int fog_key_gen(const char *dir, const char *name, fog_key *out)
{
    int rc = check_name(name, true);
    uint8_t pub[32], secret[64];
    if (rc == 0) {
        fog_ed25519_keypair(pub, secret);
        rc = key_write(dir, name, secret, false);
    }
    if (rc == 0) {
        fill(out, name, secret);
    }
    fog_memzero(secret, sizeof secret);
    return rc;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(((const fog_key *)a)->name, ((const fog_key *)b)->name);
}

/* The key named by a keystore file name, or false when the file is not a key file. */
static bool file_key(const char *dir, const char *file, fog_key *out)
{
    size_t n = strlen(file);
    if (strncmp(file, KS_PREFIX, strlen(KS_PREFIX)) != 0 || n > strlen(KS_PREFIX) + 128 ||
        (n > 4 && strcmp(file + n - 4, ".tmp") == 0)) {
        return false;
    }
    char name[FOG_KEY_NAME_MAX + 1];
    int len = fog_base_decode(FOG_BASE32, file + strlen(KS_PREFIX), n - strlen(KS_PREFIX),
                              (uint8_t *)name, FOG_KEY_NAME_MAX);
    if (len <= 0) {
        return false;
    }
    name[len] = '\0';
    return check_name(name, true) == 0 && fog_key_get(dir, name, out) == 0;
}

int fog_key_list(const char *dir, fog_key **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    size_t cap = 8;
    fog_key *keys = calloc(cap, sizeof *keys);
    if (keys == NULL) {
        return FOG_ERR_NOMEM;
    }
    int rc = fog_key_get(dir, "self", &keys[0]);
    size_t count = rc == 0 ? 1 : 0;
    char ks[4096];
    DIR *d = rc == 0 && fog__store_path(ks, sizeof ks, dir, KS_DIR) == 0 ? opendir(ks) : NULL;
    for (struct dirent *e; rc == 0 && d != NULL && (e = readdir(d)) != NULL;) {
        if (count == cap) {
            fog_key *nk = realloc(keys, 2 * cap * sizeof *keys);
            if (nk == NULL) {
                rc = FOG_ERR_NOMEM;
                break;
            }
            keys = nk;
            cap *= 2;
        }
        if (file_key(dir, e->d_name, &keys[count])) {
            count++;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    if (rc < 0) {
        fog_key_list_free(keys, count);
        return rc;
    }
    qsort(keys + 1, count - 1, sizeof *keys, by_name);
    *out = keys;
    *n = count;
    return 0;
}

void fog_key_list_free(fog_key *keys, size_t n)
{
    if (keys != NULL) {
        fog_memzero(keys, n * sizeof *keys);
    }
    free(keys);
}

int fog_key_rm(const char *dir, const char *name)
{
    char path[4096];
    int rc = check_name(name, true);
    if (rc < 0 || (rc = key_path(path, sizeof path, dir, name)) < 0) {
        return rc;
    }
    if (unlink(path) < 0) {
        return errno == ENOENT ? fog_errf(FOG_ERR_NOT_FOUND, "no key called \"%s\"", name)
                               : fog_errf(FOG_ERR_IO, "cannot remove %s: %s", path, strerror(errno));
    }
    char ks[4096];
    return fog__store_path(ks, sizeof ks, dir, KS_DIR) == 0 ? fog__store_fsync_dir(ks) : 0;
}

int fog_key_rename(const char *dir, const char *from, const char *to, bool force)
{
    char src[4096], dst[4096];
    int rc = check_name(from, true);
    if (rc < 0 || (rc = check_name(to, true)) < 0 ||
        (rc = key_path(src, sizeof src, dir, from)) < 0 ||
        (rc = key_path(dst, sizeof dst, dir, to)) < 0) {
        return rc;
    }
    if (access(src, F_OK) < 0) {
        return fog_errf(FOG_ERR_NOT_FOUND, "no key called \"%s\"", from);
    }
    if (strcmp(from, to) == 0) {
        return 0;
    }
    if (!force && access(dst, F_OK) == 0) {
        return fog_errf(FOG_ERR_EXISTS, "a key called \"%s\" exists already (--force replaces it)",
                        to);
    }
    if (rename(src, dst) < 0) {
        return fog_errf(FOG_ERR_IO, "cannot rename %s: %s", src, strerror(errno));
    }
    char ks[4096];
    return fog__store_path(ks, sizeof ks, dir, KS_DIR) == 0 ? fog__store_fsync_dir(ks) : 0;
}

static void be32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* The secretbox key from the passphrase and the file's salt and limits. */
static int stretch(uint8_t key[crypto_secretbox_KEYBYTES], const char *pass, size_t pass_len,
                   const uint8_t salt[16], uint32_t ops, uint32_t mem_kib)
{
    if (crypto_pwhash(key, crypto_secretbox_KEYBYTES, pass, pass_len, salt, ops,
                      (size_t)mem_kib * 1024u, crypto_pwhash_ALG_ARGON2ID13) != 0) {
        return fog_errf(FOG_ERR_NOMEM, "not enough memory to stretch the passphrase");
    }
    return 0;
}

int fog_key_export(const char *dir, const char *name, const char *pass, size_t pass_len,
                   uint8_t out[FOG_KEY_EXPORT_LEN])
{
    fog_key k;
    int rc = fog_key_get(dir, name, &k);
    if (rc < 0) {
        return rc;
    }
    uint32_t ops = (uint32_t)OPS_DEFAULT, mem = (uint32_t)(MEM_DEFAULT / 1024u);
    memcpy(out, MAGIC, 8);
    be32(out + 8, ops);
    be32(out + 12, mem);
    uint8_t *salt = out + 16, *nonce = out + 32, *sealed = out + 56;
    fog_random_bytes(salt, 16);
    fog_random_bytes(nonce, 24);
    uint8_t key[crypto_secretbox_KEYBYTES];
    uint8_t pb[PB_LEN] = {0x08, 0x01, 0x12, 0x40};
    memcpy(pb + 4, k.secret, 64);
    rc = stretch(key, pass, pass_len, salt, ops, mem);
    if (rc == 0) {
        crypto_secretbox_easy(sealed, pb, sizeof pb, nonce, key);
    }
    fog_memzero(key, sizeof key);
    fog_memzero(pb, sizeof pb);
    fog_memzero(&k, sizeof k);
    return rc;
}

int fog_key_open(const uint8_t *file, size_t len, const char *pass, size_t pass_len,
                 uint8_t secret_out[64])
{
    fog_reader r;
    fog_slice magic, salt, nonce, sealed;
    uint32_t ops = 0, mem = 0;
    fog_reader_init(&r, file, len);
    fog_reader_bytes(&r, 8, &magic);
    fog_reader_be32(&r, &ops);
    fog_reader_be32(&r, &mem);
    fog_reader_bytes(&r, 16, &salt);
    fog_reader_bytes(&r, 24, &nonce);
    fog_reader_bytes(&r, PB_LEN + crypto_secretbox_MACBYTES, &sealed);
    if (!fog_reader_done(&r) || memcmp(magic.p, MAGIC, 8) != 0) {
        return fog_errf(FOG_ERR_PROTO, "not a fog key export file");
    }
    if (ops < crypto_pwhash_OPSLIMIT_MIN || ops > crypto_pwhash_OPSLIMIT_SENSITIVE ||
        (size_t)mem * 1024u < crypto_pwhash_MEMLIMIT_MIN || mem > MEMLIMIT_MAX) {
        return fog_errf(FOG_ERR_PROTO, "key export file: passphrase limits out of range");
    }
    uint8_t key[crypto_secretbox_KEYBYTES], pb[PB_LEN];
    int rc = stretch(key, pass, pass_len, salt.p, ops, mem);
    if (rc == 0 && crypto_secretbox_open_easy(pb, sealed.p, sealed.len, nonce.p, key) != 0) {
        rc = fog_errf(FOG_ERR_AUTH, "wrong passphrase, or a damaged key file");
    }
    if (rc == 0 && fog__store_privkey_parse(pb, sizeof pb, secret_out) < 0) {
        rc = fog_errf(FOG_ERR_PROTO, "key export file: not an Ed25519 key");
    }
    fog_memzero(key, sizeof key);
    fog_memzero(pb, sizeof pb);
    return rc;
}

int fog_key_import(const char *dir, const char *name, const uint8_t *file, size_t len,
                   const char *pass, size_t pass_len, fog_key *out)
{
    uint8_t secret[64];
    int rc = check_name(name, true);
    if (rc == 0 && (rc = fog_key_open(file, len, pass, pass_len, secret)) == 0 &&
        (rc = key_write(dir, name, secret, false)) == 0) {
        fill(out, name, secret);
    }
    fog_memzero(secret, sizeof secret);
    return rc;
}
