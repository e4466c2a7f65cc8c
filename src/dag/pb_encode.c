/* pb_encode.c: the canonical dag-pb encoder and the UnixFS v1 Data encoder, written by hand.
 * dag-pb (ipld/ipld specs/codecs/dag-pb/spec.md): every PBLink (field 2) comes before Data
 * (field 1), and inside a link the fields go Hash (1), Name (2), Tsize (3). A Name or Tsize is
 * written only when the link has one: an absent Name and an empty Name are different bytes, and
 * boxo and js-ipfs-unixfs write Name "" and Tsize on every chunk link (PROTOCOLS.md 2.2).
 * UnixFS Data (ipfs/specs src/unixfs.md): fields in number order, blocksizes unpacked (one tag
 * and varint per entry, as boxo and js write them even though the js .proto is proto3), and
 * filesize whenever has_filesize, even when 0 (the empty file QmbFMke1... depends on it).
 * Both encoders size the output first and reserve it once, so a failure (FOG_ERR_NOMEM,
 * FOG_ERR_LIMIT) leaves the output buffer exactly as it was.
 */
#include "fog/dag.h"

#include <string.h>

#include "internal.h"

/* Protobuf tags: (field << 3) | wire type. */
enum {
    TAG_PB_DATA = 0x0a,  /* PBNode.Data, bytes */
    TAG_PB_LINKS = 0x12, /* PBNode.Links, message */
    TAG_LINK_HASH = 0x0a,
    TAG_LINK_NAME = 0x12,
    TAG_LINK_TSIZE = 0x18,
    TAG_FS_TYPE = 0x08,
    TAG_FS_DATA = 0x12,
    TAG_FS_FILESIZE = 0x18,
    TAG_FS_BLOCKSIZE = 0x20,
    TAG_FS_HASHTYPE = 0x28,
    TAG_FS_FANOUT = 0x30,
    TAG_FS_MODE = 0x38,
    TAG_FS_MTIME = 0x42,
    TAG_TIME_SECONDS = 0x08,
    TAG_TIME_NANOS = 0x15, /* fixed32 */
};

/* A writer into space already reserved in a fog_buf: it cannot fail. */
typedef struct {
    fog_buf *b;
} wr;

static void put_u8(wr *w, uint8_t v)
{
    w->b->p[w->b->len++] = v;
}

static void put_varint(wr *w, uint64_t v)
{
    w->b->len += fog_uvarint_put(w->b->p + w->b->len, v);
}

static void put_bytes(wr *w, const uint8_t *p, size_t n)
{
    if (n > 0) {
        memcpy(w->b->p + w->b->len, p, n);
    }
    w->b->len += n;
}

static void put_lp(wr *w, uint8_t tag, const uint8_t *p, size_t n)
{
    put_u8(w, tag);
    put_varint(w, n);
    put_bytes(w, p, n);
}

/* Bytes of a length-delimited field holding n bytes: tag, length varint, payload. */
static size_t lp_size(size_t n)
{
    return 1 + fog_uvarint_len(n) + n;
}

/* The PBLink message itself (without the PBNode tag and length around it). */
static size_t link_body_size(const fog_pblink *l)
{
    size_t n = lp_size(l->cid.len);
    if (l->has_name) {
        n += lp_size(l->name.len);
    }
    if (l->has_tsize) {
        n += 1 + fog_uvarint_len(l->tsize);
    }
    return n;
}

size_t fog__pb_link_size(size_t name_len, size_t cid_len, uint64_t tsize)
{
    size_t body = lp_size(cid_len) + lp_size(name_len) + 1 + fog_uvarint_len(tsize);
    return lp_size(body);
}

int fog_pbnode_encode(const fog_pbnode *n, fog_buf *out)
{
    size_t total = n->has_data ? lp_size(n->data.len) : 0;
    for (size_t i = 0; i < n->n_links; i++) {
        if (fog_add_size(total, lp_size(link_body_size(&n->links[i])), &total) < 0) {
            return FOG_ERR_LIMIT;
        }
    }
    int rc = fog_buf_reserve(out, total);
    if (rc < 0) {
        return rc;
    }
    wr w = {out};
    for (size_t i = 0; i < n->n_links; i++) {
        const fog_pblink *l = &n->links[i];
        put_u8(&w, TAG_PB_LINKS);
        put_varint(&w, link_body_size(l));
        put_lp(&w, TAG_LINK_HASH, l->cid.bytes, l->cid.len);
        if (l->has_name) {
            put_lp(&w, TAG_LINK_NAME, l->name.p, l->name.len);
        }
        if (l->has_tsize) {
            put_u8(&w, TAG_LINK_TSIZE);
            put_varint(&w, l->tsize);
        }
    }
    if (n->has_data) {
        put_lp(&w, TAG_PB_DATA, n->data.p, n->data.len);
    }
    return 0;
}

/* UnixTime { Seconds int64 = 1; FractionalNanoseconds fixed32 = 2 }. A negative int64 is a
 * ten-byte varint of its two's complement, as protobuf writes it. */
static size_t mtime_body_size(const fog_unixfs *u)
{
    size_t n = 1 + fog_uvarint_len((uint64_t)u->mtime_sec);
    return u->has_mtime_nsec ? n + 5 : n;
}

static size_t varint_field(bool has, uint64_t v)
{
    return has ? 1 + fog_uvarint_len(v) : 0;
}

static size_t unixfs_size(const fog_unixfs *u)
{
    size_t n = 1 + fog_uvarint_len(u->type);
    n += u->has_data ? lp_size(u->data.len) : 0;
    n += varint_field(u->has_filesize, u->filesize);
    for (size_t i = 0; i < u->n_blocksizes; i++) {
        n += 1 + fog_uvarint_len(u->blocksizes[i]);
    }
    n += varint_field(u->has_hashtype, u->hashtype);
    n += varint_field(u->has_fanout, u->fanout);
    n += varint_field(u->has_mode, u->mode);
    n += u->has_mtime ? lp_size(mtime_body_size(u)) : 0;
    return n;
}

static void put_varint_field(wr *w, bool has, uint8_t tag, uint64_t v)
{
    if (has) {
        put_u8(w, tag);
        put_varint(w, v);
    }
}

int fog_unixfs_encode(const fog_unixfs *u, fog_buf *out)
{
    /* Every field is bounded by its input, and the blocksizes by the array the caller holds;
     * 11 bytes per entry cannot overflow a size_t that already indexes 8-byte entries. */
    int rc = fog_buf_reserve(out, unixfs_size(u));
    if (rc < 0) {
        return rc;
    }
    wr w = {out};
    put_varint_field(&w, true, TAG_FS_TYPE, u->type);
    if (u->has_data) {
        put_lp(&w, TAG_FS_DATA, u->data.p, u->data.len);
    }
    put_varint_field(&w, u->has_filesize, TAG_FS_FILESIZE, u->filesize);
    for (size_t i = 0; i < u->n_blocksizes; i++) {
        put_varint_field(&w, true, TAG_FS_BLOCKSIZE, u->blocksizes[i]);
    }
    put_varint_field(&w, u->has_hashtype, TAG_FS_HASHTYPE, u->hashtype);
    put_varint_field(&w, u->has_fanout, TAG_FS_FANOUT, u->fanout);
    put_varint_field(&w, u->has_mode, TAG_FS_MODE, u->mode);
    if (u->has_mtime) {
        put_u8(&w, TAG_FS_MTIME);
        put_varint(&w, mtime_body_size(u));
        put_varint_field(&w, true, TAG_TIME_SECONDS, (uint64_t)u->mtime_sec);
        if (u->has_mtime_nsec) {
            uint8_t le[4] = {(uint8_t)u->mtime_nsec, (uint8_t)(u->mtime_nsec >> 8),
                             (uint8_t)(u->mtime_nsec >> 16), (uint8_t)(u->mtime_nsec >> 24)};
            put_u8(&w, TAG_TIME_NANOS);
            put_bytes(&w, le, sizeof le);
        }
    }
    return 0;
}
