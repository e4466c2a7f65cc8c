/* pb_decode.c: strict decoders for dag-pb blocks and the UnixFS v1 Data message.
 * dag-pb (ipld/ipld specs/codecs/dag-pb/spec.md, PROTOCOLS.md 2.2): PBNode holds Links (field 2,
 * repeated PBLink) and Data (field 1), both length-delimited. The rules are those of js-dag-pb
 * and go-codec-dagpb: Data may come before the Links (legacy blocks exist) or after them, but
 * Links split around Data, a second Data, any other field number or wire type are refused; in a
 * PBLink the fields Hash (1, bytes), Name (2, bytes), Tsize (3, varint) appear at most once each
 * and in that order, and Hash is required and must parse as a CID. Whether Name and Tsize were
 * present is kept, because an absent Name and an empty one are different bytes.
 * Protobuf varints may be non-minimal (protobuf allows it and both reference decoders accept
 * it); CIDs inside them are parsed strictly by fog_cid_from_bytes.
 * fog__pb_scan validates without allocating and finds the contiguous Links range, so the
 * exporter and fog_dag_links can walk links one at a time (fog__pb_links_next); fog_pbnode_decode
 * counts first and allocates exactly n_links entries.
 * UnixFS Data (ipfs/specs src/unixfs.md): decoded as boxo does (gogo protobuf, proto2): Type is
 * required, blocksizes are accepted unpacked and packed, unknown fields with wire types 0, 1, 2
 * and 5 are skipped (boxo and js-ipfs-unixfs both skip them), groups and wire types 6/7 are
 * refused, a known field with the wrong wire type is refused, a repeated scalar field keeps its
 * last value, mode keeps the low 32 bits of its varint, and mtime needs Seconds (required in
 * boxo's UnixTime; js would default it to 0).
 */
#include "fog/dag.h"

#include <stdlib.h>
#include <string.h>

#include "internal.h"

enum { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_SGROUP = 3, WT_EGROUP = 4, WT_I32 = 5 };

/* Reads a protobuf key; field number 0 is invalid in every message. */
static void pb_key(fog_reader *r, uint64_t *field, unsigned *wt)
{
    uint64_t key = 0;
    fog_reader_pbvarint(r, &key);
    *field = key >> 3;
    *wt = (unsigned)(key & 7);
    if (r->err == 0 && *field == 0) {
        fog_reader_fail(r, FOG_ERR_PROTO);
    }
}

/* A protobuf length prefix (a 10-byte varint, unlike fog_reader_lp) and the bytes it covers. */
static void pb_bytes(fog_reader *r, fog_slice *out)
{
    uint64_t n = 0;
    fog_reader_pbvarint(r, &n);
    out->p = NULL;
    out->len = 0;
    if (r->err == 0 && n > r->left) {
        fog_reader_fail(r, FOG_ERR_TRUNCATED);
    }
    if (r->err == 0) {
        fog_reader_bytes(r, (size_t)n, out);
    }
}

static int pb_fail(fog_reader *r, const char *what)
{
    int rc = r->err != 0 ? r->err : FOG_ERR_PROTO;
    return fog_errf(rc, "dag-pb: %s", what);
}

/* Parses the body of one PBLink (the bytes inside its length prefix). */
static int link_parse(const fog_slice body, fog_pblink *out)
{
    fog_reader r;
    fog_reader_init(&r, body.p, body.len);
    memset(out, 0, sizeof *out);
    bool has_hash = false;
    while (r.left > 0) {
        uint64_t field;
        unsigned wt;
        pb_key(&r, &field, &wt);
        if (r.err != 0) {
            return pb_fail(&r, "bad field key in a link");
        }
        fog_slice v;
        if (field == 1) {
            if (has_hash || out->has_name || out->has_tsize || wt != WT_LEN) {
                return pb_fail(&r, "link Hash repeated, out of order or of the wrong wire type");
            }
            pb_bytes(&r, &v);
            if (r.err != 0 || fog_cid_from_bytes(&out->cid, v.p, v.len) < 0) {
                return pb_fail(&r, "invalid Hash field found in link, expected CID");
            }
            has_hash = true;
        } else if (field == 2) {
            if (out->has_name || out->has_tsize || wt != WT_LEN) {
                return pb_fail(&r, "link Name repeated, out of order or of the wrong wire type");
            }
            pb_bytes(&r, &out->name);
            out->has_name = true;
        } else if (field == 3) {
            if (out->has_tsize || wt != WT_VARINT) {
                return pb_fail(&r, "link Tsize repeated or of the wrong wire type");
            }
            fog_reader_pbvarint(&r, &out->tsize);
            out->has_tsize = true;
        } else {
            return pb_fail(&r, "unknown field in a link");
        }
        if (r.err != 0) {
            return pb_fail(&r, "link field cut short");
        }
    }
    if (!has_hash) {
        return fog_errf(FOG_ERR_PROTO, "dag-pb: invalid Hash field found in link, expected CID");
    }
    return 0;
}

/* Tracks where the Links section starts and ends while scanning. */
typedef struct {
    const uint8_t *links_start;
    size_t links_left_at_start; /* r.left when the first link began */
    size_t links_left_at_end;   /* r.left after the last link */
    bool links_closed;          /* a link then Data was seen: no more links */
} scan_state;

/* Reads one PBLink; key_at and key_left are where its key began. */
static int scan_link(fog_reader *r, fog__pb_info *info, scan_state *st, const uint8_t *key_at,
                     size_t key_left)
{
    if (st->links_closed) {
        return fog_errf(FOG_ERR_PROTO, "dag-pb: duplicate Links section (Links split by Data)");
    }
    if (info->n_links == 0) {
        st->links_start = key_at;
        st->links_left_at_start = key_left;
    }
    fog_slice body;
    pb_bytes(r, &body);
    if (r->err != 0) {
        return pb_fail(r, "link cut short");
    }
    fog_pblink l;
    int rc = link_parse(body, &l);
    if (rc < 0) {
        return rc;
    }
    info->n_links++;
    st->links_left_at_end = r->left;
    return 0;
}

int fog__pb_scan(fog__pb_info *info, const uint8_t *p, size_t len)
{
    fog_reader r;
    fog_reader_init(&r, p, len);
    memset(info, 0, sizeof *info);
    scan_state st = {0};
    while (r.left > 0) {
        uint64_t field;
        unsigned wt;
        const uint8_t *key_at = r.p;
        size_t key_left = r.left;
        pb_key(&r, &field, &wt);
        if (r.err != 0) {
            return pb_fail(&r, "bad field key in a node");
        }
        if (wt != WT_LEN || (field != 1 && field != 2)) {
            return fog_errf(FOG_ERR_PROTO, "dag-pb: unknown field %llu (wire type %u) in a node",
                            (unsigned long long)field, wt);
        }
        if (field == 2) {
            int rc = scan_link(&r, info, &st, key_at, key_left);
            if (rc < 0) {
                return rc;
            }
            continue;
        }
        if (info->has_data) {
            return fog_errf(FOG_ERR_PROTO, "dag-pb: duplicate Data section");
        }
        pb_bytes(&r, &info->data);
        if (r.err != 0) {
            return pb_fail(&r, "Data cut short");
        }
        info->has_data = true;
        st.links_closed = info->n_links > 0;
    }
    if (info->n_links > 0) {
        info->links = fog_slice_make(st.links_start, st.links_left_at_start - st.links_left_at_end);
    }
    return 0;
}

void fog__pb_links_init(fog__pb_links *it, const fog__pb_info *info)
{
    fog_reader_init(&it->r, info->links.p, info->links.len);
}

bool fog__pb_links_next(fog__pb_links *it, fog_pblink *out)
{
    if (it->r.left == 0 || it->r.err != 0) {
        return false;
    }
    uint64_t key = 0;
    fog_slice body;
    fog_reader_pbvarint(&it->r, &key);
    pb_bytes(&it->r, &body);
    /* The range was validated by fog__pb_scan, so this parse cannot fail. */
    return it->r.err == 0 && link_parse(body, out) == 0;
}

int fog_pbnode_decode(fog_pbnode *out, const uint8_t *p, size_t len)
{
    memset(out, 0, sizeof *out);
    fog__pb_info info;
    int rc = fog__pb_scan(&info, p, len);
    if (rc < 0) {
        return rc;
    }
    fog_pblink *links = NULL;
    if (info.n_links > 0) {
        size_t bytes;
        if (fog_mul_size(info.n_links, sizeof *links, &bytes) < 0 ||
            (links = malloc(bytes)) == NULL) {
            return fog_errf(FOG_ERR_NOMEM, "dag-pb: no memory for %zu links", info.n_links);
        }
    }
    fog__pb_links it;
    fog__pb_links_init(&it, &info);
    size_t n = 0;
    while (n < info.n_links && fog__pb_links_next(&it, &links[n])) {
        n++;
    }
    out->links = links;
    out->n_links = n;
    out->has_data = info.has_data;
    out->data = info.data;
    return 0;
}

void fog_pbnode_clear(fog_pbnode *n)
{
    if (n == NULL) {
        return;
    }
    free(n->links);
    memset(n, 0, sizeof *n);
}

/* ---- UnixFS Data ---- */

static int ufs_fail(fog_reader *r, const char *what)
{
    int rc = r->err != 0 ? r->err : FOG_ERR_PROTO;
    return fog_errf(rc, "UnixFS Data: %s", what);
}

/* Skips the value of an unknown field as protobuf does; groups are refused. */
static void pb_skip(fog_reader *r, unsigned wt)
{
    uint64_t v;
    fog_slice s;
    switch (wt) {
    case WT_VARINT:
        fog_reader_pbvarint(r, &v);
        break;
    case WT_I64:
        fog_reader_skip(r, 8);
        break;
    case WT_LEN:
        pb_bytes(r, &s);
        break;
    case WT_I32:
        fog_reader_skip(r, 4);
        break;
    default:
        fog_reader_fail(r, FOG_ERR_PROTO);
        break;
    }
}

static int mtime_parse(fog_slice body, fog_unixfs *u)
{
    fog_reader r;
    fog_reader_init(&r, body.p, body.len);
    bool has_sec = false;
    while (r.left > 0) {
        uint64_t field, v;
        unsigned wt;
        pb_key(&r, &field, &wt);
        if (r.err == 0 && field == 1) {
            if (wt != WT_VARINT) {
                return ufs_fail(&r, "mtime Seconds has the wrong wire type");
            }
            fog_reader_pbvarint(&r, &v);
            u->mtime_sec = (int64_t)v; /* int64 on the wire: two's complement in 64 bits */
            has_sec = true;
        } else if (r.err == 0 && field == 2) {
            uint32_t ns;
            if (wt != WT_I32) {
                return ufs_fail(&r, "mtime FractionalNanoseconds has the wrong wire type");
            }
            fog_reader_le32(&r, &ns);
            u->mtime_nsec = ns;
            u->has_mtime_nsec = true;
        } else {
            pb_skip(&r, wt);
        }
        if (r.err != 0) {
            return ufs_fail(&r, "bad mtime field");
        }
    }
    if (!has_sec && !u->has_mtime) {
        return fog_errf(FOG_ERR_PROTO, "UnixFS Data: mtime without Seconds");
    }
    u->has_mtime = true;
    return 0;
}

/* Packed blocksizes: varints back to back inside one length-delimited field. */
static int blocksizes_packed(fog_slice body, fog_unixfs *u, size_t *count)
{
    fog_reader r;
    fog_reader_init(&r, body.p, body.len);
    while (r.left > 0) {
        uint64_t v;
        fog_reader_pbvarint(&r, &v);
        if (r.err != 0) {
            return ufs_fail(&r, "bad packed blocksizes");
        }
        if (u->blocksizes != NULL) {
            u->blocksizes[*count] = v;
        }
        (*count)++;
    }
    return 0;
}

static int blocksize_field(fog_reader *r, unsigned wt, fog_unixfs *u, size_t *count)
{
    if (wt == WT_VARINT) {
        uint64_t v;
        fog_reader_pbvarint(r, &v);
        if (r->err == 0 && u->blocksizes != NULL) {
            u->blocksizes[*count] = v;
        }
        (*count)++;
        return 0;
    }
    if (wt != WT_LEN) {
        return ufs_fail(r, "blocksizes has the wrong wire type");
    }
    fog_slice body;
    pb_bytes(r, &body);
    return r->err != 0 ? 0 : blocksizes_packed(body, u, count);
}

/* One scalar varint field: 3 filesize, 5 hashType, 6 fanout, 7 mode, 1 Type. */
static int varint_field(fog_reader *r, uint64_t field, unsigned wt, fog_unixfs *u)
{
    if (wt != WT_VARINT) {
        return ufs_fail(r, "a varint field has the wrong wire type");
    }
    uint64_t v;
    fog_reader_pbvarint(r, &v);
    switch (field) {
    case 1:
        u->type = v;
        break;
    case 3:
        u->filesize = v;
        u->has_filesize = true;
        break;
    case 5:
        u->hashtype = v;
        u->has_hashtype = true;
        break;
    case 6:
        u->fanout = v;
        u->has_fanout = true;
        break;
    default:
        u->mode = (uint32_t)(v & 0xffffffffu); /* uint32 field: protobuf keeps the low bits */
        u->has_mode = true;
        break;
    }
    return 0;
}

/* One pass over the message. With u->blocksizes NULL it only counts them. */
static int ufs_pass(const uint8_t *p, size_t len, fog_unixfs *u, size_t *count, bool *has_type)
{
    fog_reader r;
    fog_reader_init(&r, p, len);
    while (r.left > 0) {
        uint64_t field;
        unsigned wt;
        fog_slice body;
        int rc = 0;
        pb_key(&r, &field, &wt);
        if (r.err != 0) {
            return ufs_fail(&r, "bad field key");
        }
        if (field == 1 || field == 3 || field == 5 || field == 6 || field == 7) {
            rc = varint_field(&r, field, wt, u);
            *has_type = *has_type || field == 1;
        } else if (field == 2 || field == 8) {
            if (wt != WT_LEN) {
                return ufs_fail(&r, "Data or mtime has the wrong wire type");
            }
            pb_bytes(&r, &body);
            if (r.err == 0 && field == 2) {
                u->data = body;
                u->has_data = true;
            } else if (r.err == 0) {
                rc = mtime_parse(body, u);
            }
        } else if (field == 4) {
            rc = blocksize_field(&r, wt, u, count);
        } else {
            pb_skip(&r, wt);
        }
        if (rc < 0) {
            return rc;
        }
        if (r.err != 0) {
            return ufs_fail(&r, "field cut short or of an unknown wire type");
        }
    }
    return 0;
}

int fog_unixfs_decode(fog_unixfs *out, const uint8_t *p, size_t len)
{
    memset(out, 0, sizeof *out);
    fog_unixfs u;
    memset(&u, 0, sizeof u);
    size_t count = 0;
    bool has_type = false;
    int rc = ufs_pass(p, len, &u, &count, &has_type);
    if (rc < 0) {
        return rc;
    }
    if (!has_type) {
        return fog_errf(FOG_ERR_PROTO, "UnixFS Data: required field Type is missing");
    }
    if (count > 0) {
        /* Each blocksize takes at least one byte, so count <= len bounds the allocation. */
        size_t bytes;
        if (fog_mul_size(count, sizeof *u.blocksizes, &bytes) < 0 ||
            (u.blocksizes = malloc(bytes)) == NULL) {
            return fog_errf(FOG_ERR_NOMEM, "UnixFS Data: no memory for %zu blocksizes", count);
        }
        fog_unixfs again;
        memset(&again, 0, sizeof again);
        again.blocksizes = u.blocksizes;
        size_t n = 0;
        bool t = false;
        rc = ufs_pass(p, len, &again, &n, &t); /* the same bytes: cannot fail now */
        if (rc < 0) {
            free(u.blocksizes);
            return rc;
        }
    }
    u.n_blocksizes = count;
    *out = u;
    return 0;
}

void fog_unixfs_clear(fog_unixfs *u)
{
    if (u == NULL) {
        return;
    }
    free(u->blocksizes);
    memset(u, 0, sizeof *u);
}
