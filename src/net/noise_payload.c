/* noise_payload.c: the libp2p handshake payload carried inside Noise messages 2 and 3
 * (libp2p/specs noise/README.md, "The libp2p Handshake Payload"), and the inlined muxer choice
 * (libp2p/specs connections/inlined-muxer-negotiation.md).
 * The payload binds the sender's libp2p identity to its Noise static key: identity_key is a
 * serialized PublicKey (proto/keys.proto), identity_sig its signature over the ASCII bytes
 * "noise-libp2p-static-key:" followed by the 32-byte X25519 static key. A receiver checks the
 * signature against the static key the handshake authenticated, then derives the peer ID from
 * the key. Only Ed25519 identities are handled so far; RSA, secp256k1 and ECDSA remotes get
 * FOG_ERR_UNSUPPORTED. Muxer rule: when both lists are non-empty the first entry of the
 * initiator's list that the responder also lists wins, and no common entry fails the handshake;
 * when either list is empty, the caller negotiates with multistream-select.
 */
#include "net/noise_internal.h"

#include <string.h>

#include "fog/crypto.h"
#include "fog/mf.h"
#include "proto/keys.pb-c.h"
#include "proto/noise.pb-c.h"

#define PREFIX_LEN (sizeof FOG__NOISE_SIG_PREFIX - 1)
#define IDENTITY_KEY_MAX 4096 /* a serialized PublicKey; RSA-4096 DER is about 550 bytes */

static void sig_msg(const uint8_t s_pub[32], uint8_t out[PREFIX_LEN + 32])
{
    memcpy(out, FOG__NOISE_SIG_PREFIX, PREFIX_LEN);
    memcpy(out + PREFIX_LEN, s_pub, 32);
}

int fog__noise_payload_make(const uint8_t secret[64], const uint8_t s_pub[32],
                            const char *const *muxers, size_t muxer_count, fog_buf *out)
{
    uint8_t pub[32], key[64], msg[PREFIX_LEN + 32], sig[FOG_ED25519_SIG_LEN];
    memcpy(pub, secret + 32, 32);
    PublicKey pk = PUBLIC_KEY__INIT;
    pk.type = KEY_TYPE__Ed25519;
    pk.data.data = pub;
    pk.data.len = sizeof pub;
    size_t key_len = public_key__pack(&pk, key); /* 2 + 2 + 32: fits key */
    sig_msg(s_pub, msg);
    fog_ed25519_sign(secret, msg, sizeof msg, sig);

    NoiseHandshakePayload p = NOISE_HANDSHAKE_PAYLOAD__INIT;
    NoiseExtensions ext = NOISE_EXTENSIONS__INIT;
    p.has_identity_key = 1;
    p.identity_key.data = key;
    p.identity_key.len = key_len;
    p.has_identity_sig = 1;
    p.identity_sig.data = sig;
    p.identity_sig.len = sizeof sig;
    if (muxer_count > 0) {
        /* protobuf-c's pack only reads the strings; its struct lacks const. */
        ext.stream_muxers = (char **)(uintptr_t)muxers;
        ext.n_stream_muxers = muxer_count;
        p.extensions = &ext;
    }
    size_t len = noise_handshake_payload__get_packed_size(&p);
    int rc = fog_buf_reserve(out, len);
    if (rc < 0) {
        return rc;
    }
    out->len += noise_handshake_payload__pack(&p, out->p + out->len);
    return 0;
}

/* The Ed25519 public key inside a serialized PublicKey, checked. */
static int identity_key(ProtobufCBinaryData kb, uint8_t pub[32])
{
    if (kb.len > IDENTITY_KEY_MAX) {
        return fog_errf(FOG_ERR_PROTO, "noise: identity key of %zu bytes", kb.len);
    }
    PublicKey *pk = public_key__unpack(NULL, kb.len, kb.data);
    if (pk == NULL) {
        return fog_errf(FOG_ERR_PROTO, "noise: remote identity key is not a PublicKey");
    }
    int rc = 0;
    if (pk->type != KEY_TYPE__Ed25519) {
        rc = fog_errf(FOG_ERR_UNSUPPORTED,
                      "noise: remote identity key type %d is not supported (Ed25519 only)",
                      (int)pk->type);
    } else if (pk->data.len != 32) {
        rc = fog_errf(FOG_ERR_PROTO, "noise: Ed25519 identity key of %zu bytes", pk->data.len);
    } else {
        memcpy(pub, pk->data.data, 32);
    }
    public_key__free_unpacked(pk, NULL);
    return rc;
}

static int check_msg(const NoiseHandshakePayload *m, const uint8_t rs[32], fog__noise_remote *out)
{
    if (!m->has_identity_key || !m->has_identity_sig) {
        return fog_errf(FOG_ERR_PROTO, "noise: handshake payload lacks identity key or signature");
    }
    uint8_t pub[32];
    int rc = identity_key(m->identity_key, pub);
    if (rc < 0) {
        return rc;
    }
    if (m->identity_sig.len != FOG_ED25519_SIG_LEN) {
        return fog_errf(FOG_ERR_AUTH, "noise: identity signature of %zu bytes",
                        m->identity_sig.len);
    }
    uint8_t msg[PREFIX_LEN + 32];
    sig_msg(rs, msg);
    if (fog_ed25519_verify(pub, msg, sizeof msg, m->identity_sig.data) < 0) {
        return fog_errf(FOG_ERR_AUTH, "noise: identity signature does not match the static key");
    }
    fog_peer_id_ed25519(pub, out->peer_id);
    out->peer_id_len = FOG_PEER_ID_ED25519_LEN;
    if (m->extensions != NULL) {
        out->muxers = (const char *const *)m->extensions->stream_muxers;
        out->muxer_count = m->extensions->n_stream_muxers;
    }
    return 0;
}

int fog__noise_payload_check(const uint8_t *p, size_t len, const uint8_t rs[32],
                             fog__noise_remote *out)
{
    memset(out, 0, sizeof *out);
    /* len is at most one Noise message (65535 bytes), so protobuf-c's allocations are bounded. */
    NoiseHandshakePayload *m = noise_handshake_payload__unpack(NULL, len, p);
    if (m == NULL) {
        return fog_errf(FOG_ERR_PROTO, "noise: malformed handshake payload (%zu bytes)", len);
    }
    int rc = check_msg(m, rs, out);
    if (rc < 0) {
        noise_handshake_payload__free_unpacked(m, NULL);
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->msg = m;
    return 0;
}

void fog__noise_remote_clear(fog__noise_remote *r)
{
    if (r->msg != NULL) {
        noise_handshake_payload__free_unpacked(r->msg, NULL);
    }
    memset(r, 0, sizeof *r);
}

static bool listed(const char *name, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(name, list[i]) == 0) {
            return true;
        }
    }
    return false;
}

int fog__noise_muxer_choose(bool we_initiate, const char *const *ours, size_t ours_n,
                            const char *const *theirs, size_t theirs_n, size_t *idx_out)
{
    if (ours_n == 0 || theirs_n == 0) {
        return 0;
    }
    const char *const *init = we_initiate ? ours : theirs;
    size_t init_n = we_initiate ? ours_n : theirs_n;
    const char *const *resp = we_initiate ? theirs : ours;
    size_t resp_n = we_initiate ? theirs_n : ours_n;
    for (size_t i = 0; i < init_n; i++) {
        if (!listed(init[i], resp, resp_n)) {
            continue;
        }
        for (size_t j = 0; j < ours_n; j++) {
            if (strcmp(init[i], ours[j]) == 0) {
                *idx_out = j;
                return 1;
            }
        }
    }
    return fog_errf(FOG_ERR_PROTO, "noise: no stream muxer in common with the remote");
}
