/* multihash.c: reading a multihash (multiformats/multihash README): uvarint hash code, uvarint
 * digest length, digest. Varints must be minimal and at most 9 bytes (the reader enforces the
 * unsigned-varint spec). The length is checked against FOG_DIGEST_MAX, and identity digests
 * against FOG_IDENTITY_MAX (boxo verifcid's default), before the digest is borrowed, so a length
 * from the wire never sizes anything. Truncated digests (a sha2-256 with 20 bytes) are valid
 * multihashes and are accepted; whether a hash is acceptable for content is the caller's choice.
 */
#include "fog/mf.h"

void fog_mh_read(fog_reader *r, fog_mh *out)
{
    uint64_t code = 0;
    uint64_t len = 0;
    out->code = 0;
    out->digest = fog_slice_make(NULL, 0);
    fog_reader_uvarint(r, &code);
    fog_reader_uvarint(r, &len);
    if (r->err != 0) {
        return;
    }
    if (len > FOG_DIGEST_MAX || (code == FOG_MC_IDENTITY && len > FOG_IDENTITY_MAX)) {
        fog_reader_fail(r, FOG_ERR_LIMIT);
        return;
    }
    fog_slice digest;
    fog_reader_bytes(r, (size_t)len, &digest);
    if (r->err != 0) {
        return;
    }
    out->code = code;
    out->digest = digest;
}
