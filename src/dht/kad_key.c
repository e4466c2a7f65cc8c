/* kad_key.c: the Kademlia key space (libp2p/specs kad-dht/README.md "Distance"; ipfs/specs
 * src/routing/kad-dht.md; PROTOCOLS.md 3.7).
 * Every key is placed at SHA-256 of its bytes, and the distance between two places is their XOR
 * read as a 256-bit big-endian number (go-libp2p-kbucket keyspace.XORKeySpace). A peer's key is
 * its binary peer ID, content's key the multihash of its CID (not the CID bytes), a record's its
 * key bytes. The common prefix length of two places is the index of the routing table bucket
 * one falls in as seen from the other.
 */
#include "fog/kad.h"

#include "fog/crypto.h"

void fog_kad_key(const uint8_t *p, size_t len, uint8_t out[FOG_KAD_KEY_LEN])
{
    fog_sha256(p, len, out);
}

void fog_kad_key_for_peer(const uint8_t *id, size_t len, uint8_t out[FOG_KAD_KEY_LEN])
{
    fog_sha256(id, len, out);
}

void fog_kad_key_for_mh(const uint8_t *mh, size_t len, uint8_t out[FOG_KAD_KEY_LEN])
{
    fog_sha256(mh, len, out);
}

void fog_kad_distance(const uint8_t a[FOG_KAD_KEY_LEN], const uint8_t b[FOG_KAD_KEY_LEN],
                      uint8_t out[FOG_KAD_KEY_LEN])
{
    for (size_t i = 0; i < FOG_KAD_KEY_LEN; i++) {
        out[i] = (uint8_t)(a[i] ^ b[i]);
    }
}

int fog_kad_cmp_distance(const uint8_t target[FOG_KAD_KEY_LEN], const uint8_t a[FOG_KAD_KEY_LEN],
                         const uint8_t b[FOG_KAD_KEY_LEN])
{
    for (size_t i = 0; i < FOG_KAD_KEY_LEN; i++) {
        uint8_t da = (uint8_t)(target[i] ^ a[i]);
        uint8_t db = (uint8_t)(target[i] ^ b[i]);
        if (da != db) {
            return da < db ? -1 : 1;
        }
    }
    return 0;
}

unsigned fog_kad_common_prefix_len(const uint8_t a[FOG_KAD_KEY_LEN],
                                   const uint8_t b[FOG_KAD_KEY_LEN])
{
    for (unsigned i = 0; i < FOG_KAD_KEY_LEN; i++) {
        unsigned x = (unsigned)(a[i] ^ b[i]);
        if (x != 0) {
            unsigned bits = 0;
            while ((x & 0x80u) == 0) {
                x <<= 1;
                bits++;
            }
            return i * 8 + bits;
        }
    }
    return FOG_KAD_KEY_LEN * 8;
}
