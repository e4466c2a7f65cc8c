/* peerid_parse.c: peer IDs from text, and their CIDv1 text (libp2p/specs peer-ids/peer-ids.md,
 * "String representation"; PROTOCOLS.md 3.1).
 * The spec's decoding rule: text starting '1' or "Qm" is a bare base58btc multihash (the legacy
 * form every implementation prints: "12D3KooW..." for inlined Ed25519 keys, "Qm..." for hashed
 * RSA keys); anything else is a multibase CIDv1 whose codec must be libp2p-key (0x72), and the
 * peer ID is its multihash. Either way the multihash must be identity over at most 42 bytes of
 * PublicKey protobuf or sha2-256 with a 32-byte digest: the only two forms the spec produces.
 * go-libp2p (peer.Decode) follows the same split; it accepts any multihash function, fog does
 * not, because no conforming key derivation makes another one.
 */
#include "fog/mf.h"

#include <string.h>

int fog_peer_id_check(const uint8_t *id, size_t len)
{
    fog_reader r;
    fog_reader_init(&r, id, len);
    fog_mh mh;
    fog_mh_read(&r, &mh);
    if (r.err < 0) {
        return r.err == FOG_ERR_LIMIT ? FOG_ERR_PROTO : r.err;
    }
    if (r.left != 0) {
        return FOG_ERR_PROTO;
    }
    if (mh.code == FOG_MC_IDENTITY) {
        bool ok = mh.digest.len > 0 && mh.digest.len <= FOG_PEER_ID_INLINE_MAX;
        return ok ? 0 : FOG_ERR_PROTO;
    }
    if (mh.code == FOG_MC_SHA2_256) {
        return mh.digest.len == 32 ? 0 : FOG_ERR_PROTO;
    }
    return FOG_ERR_UNSUPPORTED;
}

static int fail(int rc, const char *s, size_t len, const char *why)
{
    int shown = len > 80 ? 80 : (int)len;
    return fog_errf(rc, "invalid peer ID \"%.*s%s\": %s", shown, s, len > 80 ? "..." : "", why);
}

static const char *check_reason(int rc)
{
    if (rc == FOG_ERR_UNSUPPORTED) {
        return "the multihash is neither identity nor sha2-256";
    }
    return "not a valid peer ID multihash";
}

static int parse_cid(const char *s, size_t len, uint8_t out[FOG_PEER_ID_MAX])
{
    fog_cid c;
    int rc = fog_cid_parse(&c, s);
    if (rc < 0) {
        return fail(rc, s, len, "neither base58btc nor a multibase CID");
    }
    if (c.version != 1 || c.codec != FOG_MC_LIBP2P_KEY) {
        return fail(FOG_ERR_PROTO, s, len, "a CID that is not CIDv1 libp2p-key (0x72)");
    }
    fog_slice mh = fog_cid_mh(&c);
    if ((rc = fog_peer_id_check(mh.p, mh.len)) < 0) {
        return fail(rc, s, len, check_reason(rc));
    }
    memcpy(out, mh.p, mh.len);
    return (int)mh.len;
}

int fog_peer_id_parse(const char *s, uint8_t out[FOG_PEER_ID_MAX])
{
    size_t len = strnlen(s, FOG_PEER_ID_TEXT_MAX + 1);
    if (len > FOG_PEER_ID_TEXT_MAX) {
        return fail(FOG_ERR_LIMIT, s, len, "too long");
    }
    if (len == 0) {
        return fail(FOG_ERR_PROTO, s, len, "empty");
    }
    if (s[0] != '1' && !(s[0] == 'Q' && s[1] == 'm')) {
        return parse_cid(s, len, out);
    }
    int n = fog_base_decode(FOG_BASE58BTC, s, len, out, FOG_PEER_ID_MAX);
    if (n < 0) {
        return fail(n == FOG_ERR_LIMIT ? FOG_ERR_PROTO : n, s, len,
                    n == FOG_ERR_LIMIT ? "longer than any peer ID" : "bad base58btc");
    }
    int rc = fog_peer_id_check(out, (size_t)n);
    if (rc < 0) {
        return fail(rc, s, len, check_reason(rc));
    }
    return n;
}

int fog_peer_id_format_cid(const uint8_t *id, size_t len, int base, char *out, size_t cap)
{
    int rc = fog_peer_id_check(id, len);
    if (rc < 0) {
        return rc;
    }
    uint8_t bin[2 + FOG_PEER_ID_MAX] = {1, FOG_MC_LIBP2P_KEY}; /* version 1, codec 0x72 */
    memcpy(bin + 2, id, len);
    fog_cid c;
    if ((rc = fog_cid_from_bytes(&c, bin, 2 + len)) < 0) {
        return rc;
    }
    return fog_cid_format(&c, base == 0 ? FOG_BASE36 : base, out, cap);
}
