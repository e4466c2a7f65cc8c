/* pb.c: the protobuf wire reader and the uvarint-length-prefixed frame splitter.
 * One walker for every protobuf fog decodes from peers (identify, Kademlia, bitswap), following
 * the wire format of protobuf.dev/programming-guides/encoding: a key varint (field << 3 | wire
 * type), then a varint, 8 or 4 little-endian bytes, or a length and that many bytes. Keys and
 * lengths are 32-bit varints of at most 5 bytes, as protobuf-c reads them (go reads longer
 * non-minimal forms, but no encoder writes them). Groups are refused: no schema fog reads has
 * them, and skipping one would need a nesting walk. The meaning of a field (which wire type a
 * field number wants, whether it may repeat) stays with each decoder.
 * The frame splitter is the msgio varint framing of go-libp2p (kad, bitswap, identify): a minimal
 * uvarint length then the body, the length checked against the caller's cap before any of the
 * body is waited for.
 */
#include "fog/util.h"

/* A field key or a length: a 32-bit varint of at most 5 bytes, non-minimal forms accepted. */
static uint32_t varint32(fog_reader *r)
{
    size_t before = r->left;
    uint64_t v;
    fog_reader_pbvarint(r, &v);
    if (r->err == 0 && (before - r->left > 5 || v > UINT32_MAX)) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    return r->err == 0 ? (uint32_t)v : 0;
}

bool fog_pb_next(fog_reader *r, fog_pb_field *f)
{
    f->field = 0;
    f->wt = 0;
    f->num = 0;
    f->v = fog_slice_make(NULL, 0);
    if (r->err != 0 || r->left == 0) {
        return false;
    }
    uint32_t key = varint32(r);
    f->field = key >> 3;
    f->wt = (uint8_t)(key & 7);
    if (r->err == 0 && f->field == 0) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
    uint32_t u32;
    switch (f->wt) {
    case FOG_PB_VARINT:
        fog_reader_pbvarint(r, &f->num);
        break;
    case FOG_PB_I64:
        fog_reader_le64(r, &f->num);
        break;
    case FOG_PB_I32:
        fog_reader_le32(r, &u32);
        f->num = u32;
        break;
    case FOG_PB_LEN:
        u32 = varint32(r);
        fog_reader_bytes(r, u32, &f->v);
        break;
    default:
        fog_reader_fail(r, FOG_ERR_PROTO); /* groups (3, 4) and wire types 6, 7 */
        break;
    }
    if (r->err != 0) {
        f->num = 0;
        f->v = fog_slice_make(NULL, 0);
        return false;
    }
    return true;
}

int fog_pb_end(const fog_reader *r, const char *who)
{
    if (r->err == 0) {
        return 0;
    }
    return fog_errf(r->err, "%s: a %s protobuf field", who,
                    r->err == FOG_ERR_TRUNCATED ? "cut-short" : "malformed");
}

int fog_lp_frame(const uint8_t *in, size_t len, size_t max, fog_slice *body, size_t *used)
{
    fog_reader r;
    fog_reader_init(&r, in, len);
    fog_reader_lp(&r, max, body); /* the prefix, checked against max, then the body */
    *used = r.err == 0 ? len - r.left : 0;
    switch (r.err) {
    case 0:
        return 1;
    case FOG_ERR_TRUNCATED:
        return 0; /* the prefix or the body is not complete yet */
    case FOG_ERR_LIMIT:
        return fog_errf(FOG_ERR_LIMIT, "a message length prefix announces more than %zu bytes",
                        max);
    default:
        return fog_errf(r.err, "a non-minimal or over-long message length prefix");
    }
}
