/* config.c: the repository's config file, DIR/config, and the identity it holds.
 * JSON written with jansson, in the shape kubo uses for the parts fog shares with it:
 *   {"Identity": {"PeerID": "12D3KooW...", "PrivKey": "CAESQ..."},
 *    "Datastore": {"Type": "lmdb", "MapSizeBytes": N}, "Import": {"CidProfile": "..."},
 *    "Addresses": {"Swarm": ["/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001"],
 *                  "API": "/ip4/127.0.0.1/tcp/5001"}, "Bootstrap": [], "Version": 1}
 * Addresses and Bootstrap are read by the daemon (src/cli/cmd_daemon.c), which uses these
 * defaults when a repository made before them has none. Bootstrap (kubo's key: multiaddrs with
 * /p2p) is empty on purpose: fog dials nothing by itself; `fog bootstrap add` fills it.
 * PrivKey is the libp2p PrivateKey protobuf {Type = 1 (Ed25519), Data = seed || public}
 * (PROTOCOLS.md 3.1: 08 01 12 40 then 64 bytes) in standard base64 WITH padding, as kubo writes
 * it (Go's base64.StdEncoding); multibase base64 has no padding, so padding is added and
 * stripped here.
 * The file is written atomically: a temporary file with mode 0600, fsync, rename over the old
 * name, fsync of the directory. A crash leaves either the old file, the new one, or (before the
 * first rename) none, and then the repository does not exist yet.
 * Reading checks that PeerID is the peer ID of the key, so a hand-edited config that mixes two
 * identities is refused rather than used.
 */
#include "internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "fog/mf.h"

#define CONFIG_NAME "config"
#define CONFIG_TMP_NAME "config.tmp"
#define CONFIG_MAX_BYTES (1u << 20) /* a config is a few hundred bytes; refuse anything huge */
#define PRIVKEY_PB_LEN (4 + FOG_ED25519_SECRET_LEN)
#define PRIVKEY_B64_MAX 128
#define CONFIG_VERSION 1
#define CID_PROFILE_DEFAULT "unixfs-v1-2025"

int fog__store_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        return fog_errf(FOG_ERR_LIMIT, "path %s/%s is too long", dir, name);
    }
    return 0;
}

int fog__store_fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        return fog_errf(FOG_ERR_IO, "cannot open directory %s: %s", dir, strerror(errno));
    }
    int rc = fsync(fd) < 0 ? fog_errf(FOG_ERR_IO, "fsync %s: %s", dir, strerror(errno)) : 0;
    close(fd);
    return rc;
}

int fog__store_peer_id_text(const uint8_t pub[FOG_ED25519_PUB_LEN], char *out, size_t cap)
{
    uint8_t id[FOG_PEER_ID_ED25519_LEN];
    fog_peer_id_ed25519(pub, id);
    int n = fog_peer_id_format(id, sizeof id, out, cap);
    return n < 0 ? fog_errf(n, "peer ID does not fit in %zu bytes", cap) : 0;
}

/* Standard base64 with '=' padding to a multiple of 4 characters. */
static int b64_padded(const uint8_t *data, size_t len, char *out, size_t cap)
{
    int n = fog_base_encode(FOG_BASE64, data, len, out, cap);
    if (n < 0) {
        return n;
    }
    size_t o = (size_t)n;
    while (o % 4 != 0) {
        if (o + 1 >= cap) {
            return FOG_ERR_LIMIT;
        }
        out[o++] = '=';
    }
    out[o] = '\0';
    return 0;
}

/* Decodes padded (or unpadded) standard base64: at most two '=' at the end. */
static int b64_unpad_decode(const char *in, uint8_t *out, size_t cap)
{
    size_t len = strlen(in);
    size_t pad = 0;
    while (len > 0 && in[len - 1] == '=' && pad < 2) {
        len--;
        pad++;
    }
    if (pad > 0 && (len + pad) % 4 != 0) {
        return FOG_ERR_PROTO;
    }
    return fog_base_decode(FOG_BASE64, in, len, out, cap);
}

static json_t *config_build(const uint8_t secret[FOG_ED25519_SECRET_LEN], const char *peer_id)
{
    uint8_t pb[PRIVKEY_PB_LEN] = {0x08, 0x01, 0x12, FOG_ED25519_SECRET_LEN};
    memcpy(pb + 4, secret, FOG_ED25519_SECRET_LEN);
    char b64[PRIVKEY_B64_MAX];
    int rc = b64_padded(pb, sizeof pb, b64, sizeof b64);
    fog_memzero(pb, sizeof pb);
    if (rc < 0) {
        return NULL;
    }
    json_t *root = json_pack("{s:{s:s,s:s},s:{s:s,s:I},s:{s:s},s:{s:[s,s],s:s},s:[],s:i}",
                             "Identity",
                             "PeerID", peer_id, "PrivKey", b64, "Datastore", "Type", "lmdb",
                             "MapSizeBytes", (json_int_t)STORE_MAP_SIZE_DEFAULT, "Import",
                             "CidProfile", CID_PROFILE_DEFAULT, "Addresses", "Swarm",
                             "/ip4/0.0.0.0/tcp/4001", "/ip6/::/tcp/4001", "API",
                             "/ip4/127.0.0.1/tcp/5001", "Bootstrap", "Version", CONFIG_VERSION);
    fog_memzero(b64, sizeof b64);
    return root;
}

static int write_all(int fd, const char *p, size_t len)
{
    size_t off = 0;
    while (off < len) {
        ssize_t n = write(fd, p + off, len - off);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return -1;
        }
        off += (size_t)n;
    }
    return 0;
}

/* Writes text to DIR/config through DIR/config.tmp (mode 0600), fsync, rename, fsync DIR. */
int fog_repo_config_replace(const char *dir, const char *text)
{
    char tmp[4096];
    char dst[4096];
    int rc = fog__store_path(tmp, sizeof tmp, dir, CONFIG_TMP_NAME);
    if (rc < 0 || (rc = fog__store_path(dst, sizeof dst, dir, CONFIG_NAME)) < 0) {
        return rc;
    }
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        return fog_errf(FOG_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    }
    /* The umask cannot widen 0600, but a stale config.tmp from a crash keeps its old mode. */
    if (fchmod(fd, 0600) < 0 || write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
        rc = fog_errf(FOG_ERR_IO, "cannot write %s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        return rc;
    }
    if (close(fd) < 0 || rename(tmp, dst) < 0) {
        rc = fog_errf(FOG_ERR_IO, "cannot write %s: %s", dst, strerror(errno));
        unlink(tmp);
        return rc;
    }
    return fog__store_fsync_dir(dir);
}

int fog__store_config_write(const char *dir, const uint8_t secret[FOG_ED25519_SECRET_LEN],
                            const char *peer_id)
{
    json_t *root = config_build(secret, peer_id);
    if (root == NULL) {
        return fog_errf(FOG_ERR_NOMEM, "cannot build the config of %s", dir);
    }
    char *text = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (text == NULL) {
        return fog_errf(FOG_ERR_NOMEM, "cannot build the config of %s", dir);
    }
    size_t len = strlen(text);
    int rc = fog_repo_config_replace(dir, text);
    fog_memzero(text, len); /* it holds the private key */
    free(text);
    return rc;
}

/* PrivateKey pb {Type = 1, Data = 64 bytes} -> secret, with the public half checked. */
int fog__store_privkey_parse(const uint8_t *pb, size_t len,
                             uint8_t secret[FOG_ED25519_SECRET_LEN])
{
    fog_reader r;
    fog_reader_init(&r, pb, len);
    uint8_t tag_type = 0, tag_data = 0;
    uint64_t type = 0, data_len = 0;
    fog_slice data = {0};
    fog_reader_u8(&r, &tag_type);
    fog_reader_pbvarint(&r, &type);
    fog_reader_u8(&r, &tag_data);
    fog_reader_pbvarint(&r, &data_len);
    if (r.err < 0 || tag_type != 0x08 || type != 1 || tag_data != 0x12 ||
        data_len != FOG_ED25519_SECRET_LEN) {
        return FOG_ERR_PROTO; /* fog keeps only Ed25519 identities */
    }
    fog_reader_bytes(&r, FOG_ED25519_SECRET_LEN, &data);
    if (!fog_reader_done(&r)) {
        return FOG_ERR_PROTO;
    }
    uint8_t pub[FOG_ED25519_PUB_LEN];
    fog_ed25519_from_seed(data.p, pub, secret);
    if (memcmp(pub, data.p + FOG_ED25519_SEED_LEN, FOG_ED25519_PUB_LEN) != 0) {
        fog_memzero(secret, FOG_ED25519_SECRET_LEN);
        return FOG_ERR_PROTO; /* the stored public half is not the seed's */
    }
    return 0;
}

static int identity_read(const char *path, json_t *root, uint8_t secret[FOG_ED25519_SECRET_LEN],
                         char peer_id[STORE_PEER_ID_MAX])
{
    const char *want = NULL, *key = NULL;
    if (json_unpack(root, "{s:{s:s,s:s}}", "Identity", "PeerID", &want, "PrivKey", &key) < 0) {
        return fog_errf(FOG_ERR_STORE, "config %s has no Identity.PeerID and Identity.PrivKey",
                        path);
    }
    uint8_t pb[PRIVKEY_B64_MAX];
    int n = b64_unpad_decode(key, pb, sizeof pb);
    int rc = n < 0 ? n : fog__store_privkey_parse(pb, (size_t)n, secret);
    fog_memzero(pb, sizeof pb);
    if (rc < 0) {
        return fog_errf(FOG_ERR_STORE, "config %s: Identity.PrivKey is not an Ed25519 key", path);
    }
    if ((rc = fog__store_peer_id_text(secret + FOG_ED25519_SEED_LEN, peer_id,
                                      STORE_PEER_ID_MAX)) < 0) {
        return rc;
    }
    if (strcmp(peer_id, want) != 0) {
        return fog_errf(FOG_ERR_STORE, "config %s: Identity.PeerID %s is not the key's ID %s",
                        path, want, peer_id);
    }
    return 0;
}

static int map_size_read(const char *path, json_t *root, uint64_t *out)
{
    *out = STORE_MAP_SIZE_DEFAULT;
    json_t *v = json_object_get(json_object_get(root, "Datastore"), "MapSizeBytes");
    if (v == NULL) {
        return 0;
    }
    /* At least 1 MiB: LMDB needs room for its meta pages and the sub-database roots. */
    if (!json_is_integer(v) || json_integer_value(v) < (1 << 20)) {
        return fog_errf(FOG_ERR_STORE, "config %s: Datastore.MapSizeBytes is not a size", path);
    }
    *out = (uint64_t)json_integer_value(v);
    return 0;
}

int fog__store_config_parse(const char *path, const char *text, size_t len,
                            uint8_t secret_out[FOG_ED25519_SECRET_LEN],
                            char peer_id_out[STORE_PEER_ID_MAX], uint64_t *map_size_out)
{
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        return fog_errf(FOG_ERR_STORE, "config %s line %d: %s", path, jerr.line, jerr.text);
    }
    int rc = json_is_object(root) ? 0
                                  : fog_errf(FOG_ERR_STORE, "config %s is not a JSON object", path);
    if (rc == 0) {
        rc = identity_read(path, root, secret_out, peer_id_out);
    }
    if (rc == 0) {
        rc = map_size_read(path, root, map_size_out);
    }
    json_decref(root);
    return rc;
}

/* Reads the whole file (at most CONFIG_MAX_BYTES) into a new buffer given to the caller. */
static int slurp(const char *dir, const char *path, char **text_out, size_t *len_out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        int e = errno;
        if (fd >= 0) {
            close(fd);
        }
        if (e == ENOENT || e == ENOTDIR) {
            return fog_errf(FOG_ERR_NO_REPO, "no fog repository at %s (run 'fog init')", dir);
        }
        return fog_errf(FOG_ERR_IO, "cannot read %s: %s", path, strerror(e));
    }
    char *text = NULL;
    size_t len = 0;
    int rc = 0;
    if (!S_ISREG(st.st_mode) || st.st_size > (off_t)CONFIG_MAX_BYTES) {
        rc = fog_errf(FOG_ERR_STORE, "config %s is not a small regular file", path);
    } else if ((text = malloc((size_t)st.st_size + 1)) == NULL) {
        rc = fog_errf(FOG_ERR_NOMEM, "out of memory reading %s", path);
    }
    while (rc == 0 && len < (size_t)st.st_size) {
        ssize_t n = read(fd, text + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            const char *why = n < 0 ? strerror(errno) : "file shrank while read";
            rc = fog_errf(FOG_ERR_IO, "cannot read %s: %s", path, why);
        } else {
            len += (size_t)n;
        }
    }
    close(fd);
    if (rc < 0) {
        free(text);
        return rc;
    }
    *text_out = text;
    *len_out = len;
    return 0;
}

int fog__store_config_read(const char *dir, uint8_t secret_out[FOG_ED25519_SECRET_LEN],
                           char peer_id_out[STORE_PEER_ID_MAX], uint64_t *map_size_out)
{
    char path[4096];
    char *text = NULL;
    size_t len = 0;
    int rc = fog__store_path(path, sizeof path, dir, CONFIG_NAME);
    if (rc < 0 || (rc = slurp(dir, path, &text, &len)) < 0) {
        return rc;
    }
    rc = fog__store_config_parse(path, text, len, secret_out, peer_id_out, map_size_out);
    fog_memzero(text, len); /* it holds the private key */
    free(text);
    return rc;
}
