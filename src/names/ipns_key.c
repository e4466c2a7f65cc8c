/* ipns_key.c: the public key that signs an IPNS record, found, tied to its name and used.
 * Keys are libp2p PublicKey protobufs {Type = 1, Data = 2} (libp2p/specs peer-ids/peer-ids.md;
 * PROTOCOLS.md 3.1). A record carries its key in pubKey (RSA and ECDSA keys, too big to inline),
 * and then the key's peer ID must be the name, as in boxo ipns.ExtractPublicKey: the ID is the
 * identity multihash of the key's canonical encoding when that is at most 42 bytes, else its
 * sha2-256 multihash. Go computes it from the key re-encoded (Type, then Data), so this file does
 * too, which keeps a key sent with extra or repeated fields equal to Go's reading of it. Without
 * pubKey the name must be an identity multihash whose digest is the key (Ed25519).
 * Verification: Ed25519 through libsodium (fog_ed25519_verify); RSA PKCS#1 v1.5, ECDSA and
 * secp256k1 (ASN.1 DER signatures) over SHA-256 through OpenSSL's EVP interface, as go-libp2p
 * core/crypto signs them. go-libp2p refuses RSA keys under 2048 or over 8192 bits; so does fog.
 * OpenSSL is called here rather than through fog/crypto.h because only record verification
 * needs these key types so far; the calls would move to the crypto layer if the host needs them.
 */
#include "names/internal.h"

#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "fog/crypto.h"
#include "fog/mf.h"

enum { KEY_RSA = 0, KEY_ED25519 = 1, KEY_SECP256K1 = 2, KEY_ECDSA = 3 };
#define RSA_BITS_MIN 2048 /* go-libp2p core/crypto MinRsaKeyBits */
#define RSA_BITS_MAX 8192 /* go-libp2p core/crypto maxRsaKeyBits */

typedef struct {
    uint64_t type;
    fog_slice data;
} pubkey;

/* Reads a PublicKey protobuf as Go's proto2 decoder does: both fields required, later
 * occurrences win, unknown fields skipped. */
static int pubkey_parse(fog_slice in, pubkey *k)
{
    fog_reader r;
    fog_reader_init(&r, in.p, in.len);
    fog_pb_field f;
    bool has_type = false, has_data = false;
    while (fog_pb_next(&r, &f)) {
        if (f.field == 1 && f.wt == FOG_PB_VARINT) {
            k->type = f.num;
            has_type = true;
        } else if (f.field == 2 && f.wt == FOG_PB_LEN) {
            k->data = f.v;
            has_data = true;
        } else if (f.field <= 2) {
            return fog_errf(FOG_ERR_PROTO, "IPNS public key: a field of the wrong type");
        }
    }
    int rc = fog_pb_end(&r, "IPNS public key");
    if (rc == 0 && (!has_type || !has_data)) {
        rc = fog_errf(FOG_ERR_PROTO, "IPNS public key: Type or Data is missing");
    }
    return rc;
}

/* The peer ID of k, from its canonical encoding, compared with name. */
static int pubkey_matches(const pubkey *k, fog_slice name)
{
    fog_buf enc;
    fog_buf_init(&enc);
    int rc = fog_buf_u8(&enc, 0x08);
    rc = rc < 0 ? rc : fog_buf_uvarint(&enc, k->type);
    rc = rc < 0 ? rc : fog_buf_u8(&enc, 0x12);
    rc = rc < 0 ? rc : fog_buf_uvarint(&enc, k->data.len);
    rc = rc < 0 ? rc : fog_buf_append(&enc, k->data.p, k->data.len);
    if (rc < 0) {
        fog_buf_clear(&enc);
        return rc;
    }
    uint8_t id[2 + FOG_SHA256_LEN];
    size_t id_len;
    bool same;
    if (enc.len <= FOG_PEER_ID_INLINE_MAX) {
        same = name.len == 2 + enc.len && name.p[0] == FOG_MC_IDENTITY && name.p[1] == enc.len &&
               memcmp(name.p + 2, enc.p, enc.len) == 0;
    } else {
        id[0] = FOG_MC_SHA2_256;
        id[1] = FOG_SHA256_LEN;
        fog_sha256(enc.p, enc.len, id + 2);
        id_len = sizeof id;
        same = name.len == id_len && memcmp(name.p, id, id_len) == 0;
    }
    fog_buf_clear(&enc);
    return same ? 0 : fog_errf(FOG_ERR_WRONG_KEY, "IPNS record: its public key is not the name's");
}

/* An OpenSSL key of the expected kind from DER SubjectPublicKeyInfo, or from a secp256k1 point. */
static EVP_PKEY *evp_key(const pubkey *k)
{
    if (k->type == KEY_SECP256K1) {
        OSSL_PARAM params[3];
        params[0] =
            OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)"secp256k1", 0);
        params[1] = OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)k->data.p,
                                                      k->data.len);
        params[2] = OSSL_PARAM_construct_end();
        EVP_PKEY *pkey = NULL;
        EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
        if (ctx == NULL || EVP_PKEY_fromdata_init(ctx) != 1 ||
            EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) != 1) {
            pkey = NULL;
        }
        EVP_PKEY_CTX_free(ctx);
        return pkey;
    }
    if (k->data.len > INT32_MAX) {
        return NULL;
    }
    const unsigned char *p = k->data.p;
    EVP_PKEY *pkey = d2i_PUBKEY(NULL, &p, (long)k->data.len);
    int want = k->type == KEY_RSA ? EVP_PKEY_RSA : EVP_PKEY_EC;
    if (pkey != NULL &&
        ((size_t)(p - k->data.p) != k->data.len || EVP_PKEY_get_base_id(pkey) != want ||
         (want == EVP_PKEY_RSA &&
          (EVP_PKEY_get_bits(pkey) < RSA_BITS_MIN || EVP_PKEY_get_bits(pkey) > RSA_BITS_MAX)))) {
        EVP_PKEY_free(pkey);
        pkey = NULL;
    }
    return pkey;
}

static int evp_verify(const pubkey *k, const uint8_t *msg, size_t msg_len, fog_slice sig)
{
    EVP_PKEY *pkey = evp_key(k);
    if (pkey == NULL) {
        return fog_errf(FOG_ERR_PROTO, "IPNS public key: not a usable %s key",
                        k->type == KEY_RSA     ? "RSA"
                        : k->type == KEY_ECDSA ? "ECDSA"
                                               : "secp256k1");
    }
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    int ok = ctx != NULL && EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, pkey) == 1 &&
             EVP_DigestVerify(ctx, sig.p, sig.len, msg, msg_len) == 1;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(pkey);
    return ok ? 0 : fog_errf(FOG_ERR_AUTH, "IPNS record: signatureV2 does not verify");
}

static int key_verify(const pubkey *k, const uint8_t *msg, size_t msg_len, fog_slice sig)
{
    switch (k->type) {
    case KEY_ED25519:
        if (k->data.len != FOG_ED25519_PUB_LEN) {
            return fog_errf(FOG_ERR_PROTO, "IPNS public key: an Ed25519 key is 32 bytes");
        }
        if (sig.len != FOG_ED25519_SIG_LEN || fog_ed25519_verify(k->data.p, msg, msg_len, sig.p)) {
            return fog_errf(FOG_ERR_AUTH, "IPNS record: signatureV2 does not verify");
        }
        return 0;
    case KEY_RSA:
    case KEY_SECP256K1:
    case KEY_ECDSA:
        return evp_verify(k, msg, msg_len, sig);
    default:
        return fog_errf(FOG_ERR_UNSUPPORTED, "IPNS public key: unknown key type %llu",
                        (unsigned long long)k->type);
    }
}

int fog__ipns_verify(fog_slice pub_key, fog_slice name, const uint8_t *msg, size_t msg_len,
                     fog_slice sig)
{
    if (fog_peer_id_check(name.p, name.len) != 0) {
        return fog_errf(FOG_ERR_PROTO, "IPNS name: not a peer ID multihash");
    }
    pubkey k = {0};
    int rc;
    if (pub_key.len > 0) {
        if ((rc = pubkey_parse(pub_key, &k)) < 0 || (rc = pubkey_matches(&k, name)) < 0) {
            return rc;
        }
    } else {
        if (name.p[0] != FOG_MC_IDENTITY) {
            return fog_errf(FOG_ERR_NOT_FOUND, "IPNS record: no public key in the record or name");
        }
        /* fog_peer_id_check made it identity code, one length byte, then that many bytes. */
        if ((rc = pubkey_parse(fog_slice_make(name.p + 2, name.len - 2), &k)) < 0) {
            return rc;
        }
    }
    return key_verify(&k, msg, msg_len, sig);
}
