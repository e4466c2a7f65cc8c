/* noise_internal.h: the raw Noise layer under fog_noise, shared by the files of src/net/noise*.c
 * and the unit test (which checks it against the cacophony test vectors).
 * Noise_XX_25519_ChaChaPoly_SHA256 only (Noise framework rev 34, sections 5 and 7): CipherState,
 * SymmetricState and the XX HandshakeState, with the prologue as a parameter (libp2p uses an
 * empty one). No allocation, no randomness: the static and ephemeral private keys are given.
 */
#ifndef FOG_NET_NOISE_INTERNAL_H
#define FOG_NET_NOISE_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/util.h"

#define FOG__NOISE_KEY_LEN 32
#define FOG__NOISE_TAG_LEN 16
#define FOG__NOISE_HASH_LEN 32

/* A CipherState (Noise section 5.1): key k when has_key, nonce counter n. */
typedef struct {
    uint8_t k[FOG__NOISE_KEY_LEN];
    uint64_t n;
    bool has_key;
} fog__noise_cipher;

/* EncryptWithAd: writes pt_len + 16 bytes to out (pt_len bytes when no key: plaintext copied).
 * out may equal pt. FOG_ERR_LIMIT when the nonce is exhausted (n = 2^64-1 is reserved). */
FOG_NODISCARD int fog__noise_encrypt(fog__noise_cipher *c, const uint8_t *ad, size_t ad_len,
                                     const uint8_t *pt, size_t pt_len, uint8_t *out);
/* DecryptWithAd: writes ct_len - 16 bytes to out (ct_len when no key). out may equal ct.
 * FOG_ERR_PROTO (shorter than the tag), FOG_ERR_AUTH (bad tag; n unchanged), FOG_ERR_LIMIT. */
FOG_NODISCARD int fog__noise_decrypt(fog__noise_cipher *c, const uint8_t *ad, size_t ad_len,
                                     const uint8_t *ct, size_t ct_len, uint8_t *out);

/* The XX HandshakeState with its SymmetricState. step counts the handshake messages done (0..3);
 * even steps are the initiator's to write. */
typedef struct {
    fog__noise_cipher cs;
    uint8_t ck[FOG__NOISE_HASH_LEN];
    uint8_t h[FOG__NOISE_HASH_LEN];
    uint8_t s_priv[32], s_pub[32];
    uint8_t e_priv[32], e_pub[32];
    uint8_t rs[32], re[32];
    bool initiator;
    int step;
} fog__noise_hs;

/* Initialize("Noise_XX_25519_ChaChaPoly_SHA256", initiator, prologue, s, e). */
void fog__noise_hs_init(fog__noise_hs *hs, bool initiator, const uint8_t *prologue,
                        size_t prologue_len, const uint8_t s_priv[32], const uint8_t e_priv[32]);
/* True when the next handshake message is ours to write. */
bool fog__noise_hs_our_turn(const fog__noise_hs *hs);
static inline bool fog__noise_hs_done(const fog__noise_hs *hs)
{
    return hs->step >= 3;
}
/* The wire length of the next message we write with a payload of payload_len bytes. */
size_t fog__noise_hs_write_len(const fog__noise_hs *hs, size_t payload_len);
/* WriteMessage: the next message into out (cap bytes; see fog__noise_hs_write_len), its length
 * in *out_len. FOG_ERR_INVALID when it is not our turn or out is too small, FOG_ERR_AUTH when a
 * DH gives the all-zero output, FOG_ERR_LIMIT. */
FOG_NODISCARD int fog__noise_hs_write(fog__noise_hs *hs, const uint8_t *payload,
                                      size_t payload_len, uint8_t *out, size_t cap,
                                      size_t *out_len);
/* ReadMessage: the peer's next message (untrusted); its payload into payload_out (room for
 * msg_len bytes), the length in *payload_len. FOG_ERR_TRUNCATED, FOG_ERR_PROTO, FOG_ERR_AUTH,
 * FOG_ERR_INVALID (not the peer's turn). A failed read leaves hs unusable. */
FOG_NODISCARD int fog__noise_hs_read(fog__noise_hs *hs, const uint8_t *msg, size_t msg_len,
                                     uint8_t *payload_out, size_t *payload_len);
/* Split: the transport ciphers for our direction of travel (send) and the peer's (recv). Only
 * after step 3. */
void fog__noise_hs_split(const fog__noise_hs *hs, fog__noise_cipher *send,
                         fog__noise_cipher *recv);
void fog__noise_hs_wipe(fog__noise_hs *hs);

/* The libp2p payload side (noise_payload.c). */
#define FOG__NOISE_SIG_PREFIX "noise-libp2p-static-key:"

/* Our NoiseHandshakePayload: identity key of secret, its signature over the prefix and s_pub,
 * and the muxer list when muxer_count > 0. Appended to out. 0 or FOG_ERR_NOMEM. */
FOG_NODISCARD int fog__noise_payload_make(const uint8_t secret[64], const uint8_t s_pub[32],
                                          const char *const *muxers, size_t muxer_count,
                                          fog_buf *out);

/* What a checked remote payload says: its peer ID (Ed25519: 38 bytes) and its muxer list. */
typedef struct {
    uint8_t peer_id[64];
    size_t peer_id_len;
    void *msg; /* the unpacked NoiseHandshakePayload, freed by fog__noise_remote_clear */
    const char *const *muxers; /* point into msg */
    size_t muxer_count;
} fog__noise_remote;

/* Decodes and verifies a remote payload (untrusted) against the remote static key rs: Ed25519
 * identity key, signature, peer ID. FOG_ERR_PROTO, FOG_ERR_UNSUPPORTED, FOG_ERR_AUTH,
 * FOG_ERR_NOMEM; on success clear *out with fog__noise_remote_clear. */
FOG_NODISCARD int fog__noise_payload_check(const uint8_t *p, size_t len, const uint8_t rs[32],
                                           fog__noise_remote *out);
void fog__noise_remote_clear(fog__noise_remote *r);

/* Inlined muxer negotiation: 1 with the index in ours of the chosen muxer in *idx_out, 0 when
 * either list is empty (fall back to multistream-select), FOG_ERR_PROTO when both list muxers
 * but none in common. */
FOG_NODISCARD int fog__noise_muxer_choose(bool we_initiate, const char *const *ours,
                                          size_t ours_n, const char *const *theirs,
                                          size_t theirs_n, size_t *idx_out);

#endif
