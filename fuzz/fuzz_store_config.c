/* fuzz_store_config.c: the repository config parser (JSON, padded base64, the libp2p PrivateKey
 * protobuf and the PeerID check) on arbitrary bytes. It must return 0 or a fog_err code and
 * never crash, leak or read out of bounds; on success the peer ID is NUL-terminated text.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "store/internal.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int ready;
    if (!ready) {
        if (fog_crypto_init() < 0) {
            return 0;
        }
        ready = 1;
    }
    uint8_t secret[FOG_ED25519_SECRET_LEN];
    char peer[STORE_PEER_ID_MAX];
    uint64_t map_size = 0;
    int rc = fog__store_config_parse("fuzz", (const char *)data, size, secret, peer, &map_size);
    if (rc == 0 && (strlen(peer) >= sizeof peer || map_size < (1u << 20))) {
        __builtin_trap();
    }
    return 0;
}
