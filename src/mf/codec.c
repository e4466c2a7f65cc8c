/* codec.c: names of the multicodec codes fog knows (multiformats/multicodec table.csv).
 * Only the codes declared in mf.h are named; anything else is NULL so that a caller can print
 * the number instead. The names are the table's `name` column, byte for byte.
 */
#include "fog/mf.h"

const char *fog_mc_name(uint64_t code)
{
    switch (code) {
    case FOG_MC_IDENTITY:
        return "identity";
    case FOG_MC_SHA1:
        return "sha1";
    case FOG_MC_SHA2_256:
        return "sha2-256";
    case FOG_MC_SHA2_512:
        return "sha2-512";
    case FOG_MC_SHA3_512:
        return "sha3-512";
    case FOG_MC_MURMUR3_X64_64:
        return "murmur3-x64-64";
    case FOG_MC_RAW:
        return "raw";
    case FOG_MC_DAG_PB:
        return "dag-pb";
    case FOG_MC_DAG_CBOR:
        return "dag-cbor";
    case FOG_MC_LIBP2P_KEY:
        return "libp2p-key";
    case FOG_MC_DAG_JSON:
        return "dag-json";
    case FOG_MC_BLAKE2B_256:
        return "blake2b-256";
    default:
        return NULL;
    }
}
