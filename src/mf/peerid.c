/* peerid.c: libp2p peer IDs of Ed25519 keys (libp2p/specs peer-ids/peer-ids.md).
 * A peer ID is the multihash of the key's PublicKey protobuf {Type = 1 (Ed25519), Data = key}.
 * Keys whose protobuf is at most 42 bytes are "inlined" with the identity multihash rather than
 * hashed, and an Ed25519 PublicKey is 36 bytes (08 01 12 20 + 32), so its peer ID is
 * 00 24 08 01 12 20 <key>: 38 bytes, whose base58btc form starts "12D3KooW". The text form is
 * bare base58btc (the legacy form every libp2p implementation prints), not a multibase CID.
 */
#include "fog/mf.h"

#include <string.h>

void fog_peer_id_ed25519(const uint8_t pub[32], uint8_t out[FOG_PEER_ID_ED25519_LEN])
{
    /* Multihash identity with a 36-byte digest; PublicKey.Type (field 1, varint) = 1 (Ed25519);
     * PublicKey.Data (field 2, bytes) of 32 bytes. */
    static const uint8_t head[6] = {FOG_MC_IDENTITY, 36, 0x08, 0x01, 0x12, 0x20};
    memcpy(out, head, sizeof head);
    memcpy(out + sizeof head, pub, 32);
}

int fog_peer_id_format(const uint8_t *id, size_t len, char *out, size_t cap)
{
    return fog_base_encode(FOG_BASE58BTC, id, len, out, cap);
}
