/* keystore.h: a repository's named signing keys (issue 6 "Keys"), for IPNS names.
 * Layout, as kubo keeps its keystore: DIR/keystore/ (mode 0700) holds one file per key, named
 * "key_" + the key's name in base32 lower without padding (any name is a safe file name), mode
 * 0600, holding the libp2p PrivateKey protobuf {Type = 1 (Ed25519), Data = seed || public}
 * (PROTOCOLS.md 3.1). Files are written atomically (temporary file, fsync, rename, directory
 * fsync) and a rename never replaces an existing key unless asked.
 * The key "self" is the node's identity (the config's Identity.PrivKey): it is listed first, can
 * be exported, and cannot be made, removed, renamed or imported over.
 * Names: 1..FOG_KEY_NAME_MAX bytes of printable ASCII without spaces or '/', not "self" for a new
 * key.
 * Export files (fog's own format; kubo exports keys in clear): the passphrase is stretched with
 * Argon2id (libsodium crypto_pwhash, a random 16-byte salt, the limits stored in the file), the
 * protobuf sealed with XSalsa20-Poly1305 (crypto_secretbox, a random nonce):
 *   "FOGKEY01" | opslimit u32 BE | memlimit KiB u32 BE | salt 16 | nonce 24 | sealed (68 + 16)
 * Import refuses a file whose limits are outside libsodium's range or above 1 GiB of memory,
 * a wrong passphrase (FOG_ERR_AUTH), and a key whose public half does not match its seed.
 * Everything here works offline on the files, beside a running daemon.
 */
#ifndef FOG_KEYSTORE_H
#define FOG_KEYSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/util.h"

#define FOG_KEY_NAME_MAX 64
#define FOG_KEY_EXPORT_LEN (8 + 4 + 4 + 16 + 24 + 68 + 16)

typedef struct {
    char name[FOG_KEY_NAME_MAX + 1];
    uint8_t secret[64]; /* Ed25519 seed || public (wiped by fog_key_list_free) */
    uint8_t id[38];     /* the key's peer ID (identity multihash) */
} fog_key;

/* A new Ed25519 key called name; FOG_ERR_EXISTS when the name is taken, FOG_ERR_INVALID for a
 * bad name (detail line says why). */
FOG_NODISCARD int fog_key_gen(const char *dir, const char *name, fog_key *out);
/* Every key, "self" first, then by name; *out freed with fog_key_list_free. */
FOG_NODISCARD int fog_key_list(const char *dir, fog_key **out, size_t *n);
void fog_key_list_free(fog_key *keys, size_t n);
/* The key called name (FOG_ERR_NOT_FOUND when there is none). */
FOG_NODISCARD int fog_key_get(const char *dir, const char *name, fog_key *out);
FOG_NODISCARD int fog_key_rm(const char *dir, const char *name);
/* Renames; an existing key called to is replaced only with force (else FOG_ERR_EXISTS). */
FOG_NODISCARD int fog_key_rename(const char *dir, const char *from, const char *to, bool force);
/* The export file of key name, sealed with the passphrase, into out (FOG_KEY_EXPORT_LEN). */
FOG_NODISCARD int fog_key_export(const char *dir, const char *name, const char *pass,
                                 size_t pass_len, uint8_t out[FOG_KEY_EXPORT_LEN]);
/* Opens an export file (no repository involved): its key's secret into secret_out. Errors:
 * FOG_ERR_PROTO (not an export file, limits out of range, not an Ed25519 key), FOG_ERR_AUTH
 * (wrong passphrase or damaged file), FOG_ERR_NOMEM (the limits' memory is not available). */
FOG_NODISCARD int fog_key_open(const uint8_t *file, size_t len, const char *pass,
                               size_t pass_len, uint8_t secret_out[64]);
/* Opens an export file and stores its key as name (FOG_ERR_EXISTS when taken). Errors:
 * FOG_ERR_PROTO (not an export file), FOG_ERR_AUTH (wrong passphrase or damaged file). */
FOG_NODISCARD int fog_key_import(const char *dir, const char *name, const uint8_t *file,
                                 size_t len, const char *pass, size_t pass_len, fog_key *out);

#endif
