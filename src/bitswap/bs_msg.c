/* bs_msg.c: the bitswap message codec (ipfs/specs src/bitswap-protocol.md; PROTOCOLS.md 3.8;
 * schema in proto/bitswap.proto, as boxo bitswap/message/pb/message.proto).
 * Reading is a protobuf walk with fog_pb_next (src/util/pb.c), as in src/net/identify.c, run twice
 * over the same body: the first pass checks every rule and every limit and sizes the result, the
 * second fills one block sized by the first. Wants and presences follow boxo's newMessageFromProto:
 * a CID that is absent or does not parse fails the whole message (boxo's pb.Cid.Unmarshal fails
 * protobuf decoding); so does a payload prefix that does not parse. Blocks are never taken with a
 * CID from the wire: the CID is rebuilt by hashing the data with the prefix's hash function (boxo:
 * cid.Prefix.Sum), so a block that leaves here matches its CID by construction. Where boxo would
 * fail the whole message because go-multihash cannot compute a hash, fog skips only that block and
 * counts it (it computes fewer hashes than go, and the wants next to such a block still matter).
 * The first pass only parses prefixes; hashing happens once, in the second, so the block is sized
 * for every block with a valid prefix and skipped ones leave their room unused.
 * Protobuf rules kept: unknown fields skipped, a repeated singular field's last value wins, a
 * repeated "wantlist" merges (entries concatenated, the last "full" wins); a known field with a
 * wrong wire type is refused, as gogo-protobuf refuses it.
 * Writing: fields in field-number order, zero values left out (what boxo's proto3 writer does);
 * sizes are computed first, so that a message past 4 MiB is refused before a byte is written.
 */
#include "fog/bitswap.h"

#include <stdlib.h>
#include <string.h>

#include "fog/mf.h"

/* Field numbers: Message, Wantlist, Entry, Block, BlockPresence. */
enum { M_WANTLIST = 1, M_BLOCKS = 2, M_PAYLOAD = 3, M_PRESENCES = 4, M_PENDING = 5 };
enum { WL_ENTRIES = 1, WL_FULL = 2 };
enum { E_BLOCK = 1, E_PRIORITY = 2, E_CANCEL = 3, E_WANT_TYPE = 4, E_SEND_DONT_HAVE = 5 };
enum { B_PREFIX = 1, B_DATA = 2 };
enum { P_CID = 1, P_TYPE = 2 };
_Static_assert(E_BLOCK == 1 && P_CID == 1, "an entry and a presence carry their CID in field 1");

/* ---- protobuf helpers ---- */

static int expect(const fog_pb_field *f, uint8_t wt, const char *what)
{
    if (f->wt != wt) {
        return fog_errf(FOG_ERR_PROTO, "bitswap: %s has wire type %u", what, (unsigned)f->wt);
    }
    return 0;
}

/* protobuf int32: the low 32 bits of the varint, two's complement (negative values are written
 * sign-extended to 64 bits). */
static int32_t to_i32(uint64_t v)
{
    uint32_t u = (uint32_t)(v & UINT32_MAX);
    return u <= INT32_MAX ? (int32_t)u : (int32_t)(u - 0x80000000u) + INT32_MIN;
}

static int cid_field(fog_cid *out, bool present, fog_slice v, const char *what)
{
    if (!present) {
        return fog_errf(FOG_ERR_PROTO, "bitswap: %s without a CID", what);
    }
    if (fog_cid_from_bytes(out, v.p, v.len) < 0) {
        return fog_errf(FOG_ERR_PROTO, "bitswap: %s with a bad CID", what);
    }
    return 0;
}

/* ---- reading: one item each ---- */

static int entry_num(void *item, const fog_pb_field *f)
{
    fog_bitswap_entry *e = item;
    switch (f->field) {
    case E_PRIORITY:
        e->priority = to_i32(f->num);
        break;
    case E_CANCEL:
        e->cancel = f->num != 0;
        break;
    case E_WANT_TYPE:
        if (f->num > FOG_BITSWAP_WANT_HAVE) {
            return fog_errf(FOG_ERR_PROTO, "bitswap: want type %llu",
                            (unsigned long long)f->num);
        }
        e->want_type = f->num == 0 ? FOG_BITSWAP_WANT_BLOCK : FOG_BITSWAP_WANT_HAVE;
        break;
    default:
        e->send_dont_have = f->num != 0;
        break;
    }
    return 0;
}

static int presence_num(void *item, const fog_pb_field *f)
{
    fog_bitswap_presence *p = item;
    if (f->num > FOG_BITSWAP_DONT_HAVE) {
        return fog_errf(FOG_ERR_PROTO, "bitswap: presence type %llu", (unsigned long long)f->num);
    }
    p->type = f->num == 0 ? FOG_BITSWAP_HAVE : FOG_BITSWAP_DONT_HAVE;
    return 0;
}

/* A wantlist entry or a block presence: the CID in field 1 (required, bytes), varints in fields
 * 2..last handed to on_num as they come, higher fields skipped as unknown. */
static int cid_item_read(fog_slice v, uint32_t last, int (*on_num)(void *, const fog_pb_field *),
                         void *item, fog_cid *cid_out, const char *what)
{
    fog_reader r;
    fog_reader_init(&r, v.p, v.len);
    bool has_cid = false;
    fog_slice cid = {NULL, 0};
    fog_pb_field f;
    int rc = 0;
    while (rc == 0 && fog_pb_next(&r, &f)) {
        if (f.field == E_BLOCK) { /* == P_CID */
            rc = expect(&f, FOG_PB_LEN, what);
            has_cid = true;
            cid = f.v;
        } else if (f.field <= last) {
            rc = expect(&f, FOG_PB_VARINT, what);
            rc = rc < 0 ? rc : on_num(item, &f);
        }
    }
    rc = rc < 0 ? rc : fog_pb_end(&r, "bitswap");
    return rc < 0 ? rc : cid_field(cid_out, has_cid, cid, what);
}

static int entry_read(fog_bitswap_entry *e, fog_slice v)
{
    memset(e, 0, sizeof *e);
    return cid_item_read(v, E_SEND_DONT_HAVE, entry_num, e, &e->cid, "a wantlist entry");
}

static int presence_read(fog_bitswap_presence *p, fog_slice v)
{
    memset(p, 0, sizeof *p);
    return cid_item_read(v, P_TYPE, presence_num, p, &p->cid, "a block presence");
}

typedef struct {
    uint64_t version, codec, mh_code, digest_len;
} prefix;

/* A CID prefix: four minimal uvarints and nothing after them (go-cid PrefixFromBytes; the
 * version-0 rule is go-cid Prefix.Sum's). */
static int prefix_read(prefix *px, fog_slice v)
{
    fog_reader r;
    fog_reader_init(&r, v.p, v.len);
    fog_reader_uvarint(&r, &px->version);
    fog_reader_uvarint(&r, &px->codec);
    fog_reader_uvarint(&r, &px->mh_code);
    fog_reader_uvarint(&r, &px->digest_len);
    bool ok = fog_reader_done(&r);
    if (ok && px->version == 0) {
        ok = px->codec == FOG_MC_DAG_PB && px->mh_code == FOG_MC_SHA2_256 && px->digest_len == 32;
    } else if (ok) {
        ok = px->version == 1;
    }
    return ok ? 0 : fog_errf(FOG_ERR_PROTO, "bitswap: a block with a bad CID prefix");
}

/* Block.prefix and Block.data, the last of each winning. */
static int payload_read(prefix *px, fog_slice *data, fog_slice v)
{
    fog_reader r;
    fog_reader_init(&r, v.p, v.len);
    bool has_prefix = false;
    fog_slice pfx = {NULL, 0};
    *data = fog_slice_make(NULL, 0);
    fog_pb_field f;
    int rc = 0;
    while (rc == 0 && fog_pb_next(&r, &f)) {
        if (f.field == B_PREFIX || f.field == B_DATA) {
            rc = expect(&f, FOG_PB_LEN, "a block field");
            if (f.field == B_PREFIX) {
                has_prefix = true;
                pfx = f.v;
            } else {
                *data = f.v;
            }
        }
    }
    if ((rc = rc < 0 ? rc : fog_pb_end(&r, "bitswap")) < 0) {
        return rc;
    }
    if (!has_prefix) {
        return fog_errf(FOG_ERR_PROTO, "bitswap: a block without a prefix");
    }
    return prefix_read(px, pfx);
}

/* ---- reading: the walk ---- */

/* What the walk gathers. Pass 1 (fill == false) counts; pass 2 fills room sized by pass 1. */
typedef struct {
    bool fill;
    bool full;
    int32_t pending;
    size_t n_entries, n_blocks, n_presences; /* pass 1: seen; pass 2: written */
    size_t data_bytes;                       /* pass 1: data of every block seen */
    size_t skipped;                          /* pass 2: blocks whose CID fog cannot rebuild */
    fog_bitswap_entry *entries;
    fog_bitswap_block *blocks;
    fog_bitswap_presence *presences;
    uint8_t *data;
    size_t data_off;
} walk;

/* One more item in a list: pass 1 counts it against the limit, pass 2 (which meets the same
 * items) steps through the room pass 1 made. */
static int count(size_t *n, const char *what)
{
    if (*n == FOG_BITSWAP_MAX_ENTRIES) {
        return fog_errf(FOG_ERR_LIMIT, "bitswap: more than %d %s", FOG_BITSWAP_MAX_ENTRIES,
                        what);
    }
    (*n)++;
    return 0;
}

static int on_block(walk *w, const prefix *px, fog_slice data)
{
    if (data.len > FOG_BITSWAP_BLOCK_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "bitswap: a block of %zu bytes passes %u", data.len,
                        FOG_BITSWAP_BLOCK_MAX);
    }
    if (!w->fill) {
        w->data_bytes += data.len; /* bounded by the body's length */
        return count(&w->n_blocks, "blocks");
    }
    fog_cid cid;
    if (fog_cid_of(&cid, px->version, px->codec, px->mh_code, data.p, data.len) < 0 ||
        cid.digest_len != px->digest_len) {
        w->skipped++;
        return 0;
    }
    uint8_t *at = w->data + w->data_off;
    if (data.len > 0) {
        memcpy(at, data.p, data.len);
    }
    w->data_off += data.len;
    fog_bitswap_block *b = &w->blocks[w->n_blocks++];
    b->cid = cid;
    b->data = fog_slice_make(at, data.len);
    return 0;
}

static int on_wantlist(walk *w, fog_slice v)
{
    fog_reader r;
    fog_reader_init(&r, v.p, v.len);
    fog_pb_field f;
    int rc = 0;
    while (rc == 0 && fog_pb_next(&r, &f)) {
        if (f.field == WL_ENTRIES) {
            fog_bitswap_entry scratch; /* pass 1 reads into it, pass 2 into its room */
            rc = expect(&f, FOG_PB_LEN, "a wantlist entry");
            rc = rc < 0 ? rc : entry_read(w->fill ? &w->entries[w->n_entries] : &scratch, f.v);
            rc = rc < 0 ? rc : count(&w->n_entries, "wantlist entries");
        } else if (f.field == WL_FULL) {
            rc = expect(&f, FOG_PB_VARINT, "wantlist.full");
            w->full = f.num != 0;
        }
    }
    return rc < 0 ? rc : fog_pb_end(&r, "bitswap");
}

static int on_field(walk *w, const fog_pb_field *f)
{
    int rc = expect(f, f->field == M_PENDING ? FOG_PB_VARINT : FOG_PB_LEN, "a message field");
    if (rc < 0) {
        return rc;
    }
    prefix px = {0, FOG_MC_DAG_PB, FOG_MC_SHA2_256, 32}; /* what a 1.0.0 block is */
    fog_slice data = f->v;
    fog_bitswap_presence scratch;
    switch (f->field) {
    case M_WANTLIST:
        return on_wantlist(w, f->v);
    case M_BLOCKS:
        return on_block(w, &px, data);
    case M_PAYLOAD:
        rc = payload_read(&px, &data, f->v);
        return rc < 0 ? rc : on_block(w, &px, data);
    case M_PRESENCES:
        rc = presence_read(w->fill ? &w->presences[w->n_presences] : &scratch, f->v);
        return rc < 0 ? rc : count(&w->n_presences, "block presences");
    default:
        w->pending = to_i32(f->num);
        return 0;
    }
}

static int walk_body(walk *w, const uint8_t *in, size_t len)
{
    fog_reader r;
    fog_reader_init(&r, in, len);
    fog_pb_field f;
    int rc = 0;
    while (rc == 0 && fog_pb_next(&r, &f)) {
        if (f.field >= M_WANTLIST && f.field <= M_PENDING) {
            rc = on_field(w, &f);
        }
    }
    return rc < 0 ? rc : fog_pb_end(&r, "bitswap");
}

/* Lays out one block: entries, blocks, presences (each struct's size is a multiple of its
 * alignment, so the arrays stay aligned), then the blocks' data. */
static int fill(fog_bitswap_parsed *out, walk *w, const uint8_t *in, size_t len)
{
    size_t se = w->n_entries * sizeof(fog_bitswap_entry);
    size_t sb = w->n_blocks * sizeof(fog_bitswap_block);
    size_t sp = w->n_presences * sizeof(fog_bitswap_presence);
    size_t total = se + sb + sp + w->data_bytes + 1; /* bounded: 3 * 8192 structs + 4 MiB */
    uint8_t *mem = malloc(total);
    if (mem == NULL) {
        return fog_errf(FOG_ERR_NOMEM, "bitswap: no memory for a %zu-byte message", len);
    }
    walk w2;
    memset(&w2, 0, sizeof w2);
    w2.fill = true;
    w2.entries = (fog_bitswap_entry *)(void *)mem;
    w2.blocks = (fog_bitswap_block *)(void *)(mem + se);
    w2.presences = (fog_bitswap_presence *)(void *)(mem + se + sb);
    w2.data = mem + se + sb + sp;
    int rc = walk_body(&w2, in, len); /* same bytes, same result: cannot fail now */
    if (rc < 0) {
        free(mem);
        return rc;
    }
    fog_bitswap_msg *m = &out->msg;
    m->full = w2.full;
    m->pending_bytes = w2.pending;
    m->entries = w2.entries;
    m->n_entries = w2.n_entries;
    m->blocks = w2.blocks;
    m->n_blocks = w2.n_blocks;
    m->presences = w2.presences;
    m->n_presences = w2.n_presences;
    out->blocks_skipped = w2.skipped;
    out->mem = mem;
    return 0;
}

int fog_bitswap_parse(fog_bitswap_parsed *out, const uint8_t *in, size_t len)
{
    memset(out, 0, sizeof *out);
    if (len > FOG_BITSWAP_MSG_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "bitswap: message of %zu bytes passes %u", len,
                        FOG_BITSWAP_MSG_MAX);
    }
    walk w;
    memset(&w, 0, sizeof w);
    int rc = walk_body(&w, in, len);
    if (rc == 0) {
        rc = fill(out, &w, in, len);
    }
    if (rc < 0) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}

void fog_bitswap_parsed_clear(fog_bitswap_parsed *p)
{
    if (p == NULL) {
        return;
    }
    free(p->mem);
    memset(p, 0, sizeof *p);
}

bool fog_bitswap_block_matches(const fog_cid *want, const fog_bitswap_block *b)
{
    return fog_cid_eq(want, &b->cid);
}

/* ---- writing ---- */

/* The wire form of an int32: sign-extended to 64 bits, as protobuf writes it. */
static uint64_t i32_wire(int32_t v)
{
    return (uint64_t)(int64_t)v;
}

/* Bytes of a field with a varint value (0 when the value is 0 and so left out). */
static size_t varint_field_size(uint64_t v)
{
    return v == 0 ? 0 : 1 + fog_uvarint_len(v);
}

/* Bytes of a length-delimited field (key under 16, so one key byte). */
static size_t len_field_size(size_t len)
{
    return 1 + fog_uvarint_len(len) + len;
}

/* A block's prefix: the CID up to its digest (go-cid Prefix.Bytes). */
static size_t prefix_put(const fog_cid *c, uint8_t out[4 * FOG_UVARINT_MAX])
{
    size_t n = fog_uvarint_put(out, c->version);
    n += fog_uvarint_put(out + n, c->codec);
    n += fog_uvarint_put(out + n, c->mh_code);
    n += fog_uvarint_put(out + n, c->digest_len);
    return n;
}

static size_t entry_size(const fog_bitswap_entry *e)
{
    return len_field_size(e->cid.len) + varint_field_size(i32_wire(e->priority)) +
           varint_field_size(e->cancel) + varint_field_size((uint64_t)e->want_type) +
           varint_field_size(e->send_dont_have);
}

static size_t payload_size(const fog_bitswap_block *b)
{
    uint8_t px[4 * FOG_UVARINT_MAX];
    return len_field_size(prefix_put(&b->cid, px)) +
           (b->data.len > 0 ? len_field_size(b->data.len) : 0);
}

static size_t presence_size(const fog_bitswap_presence *p)
{
    return len_field_size(p->cid.len) + varint_field_size((uint64_t)p->type);
}

static int check_msg(const fog_bitswap_msg *m)
{
    if (m->n_entries > FOG_BITSWAP_MAX_ENTRIES || m->n_blocks > FOG_BITSWAP_MAX_ENTRIES ||
        m->n_presences > FOG_BITSWAP_MAX_ENTRIES) {
        return fog_errf(FOG_ERR_LIMIT, "bitswap: a list of more than %d items",
                        FOG_BITSWAP_MAX_ENTRIES);
    }
    for (size_t i = 0; i < m->n_entries; i++) {
        if ((unsigned)m->entries[i].want_type > FOG_BITSWAP_WANT_HAVE) {
            return fog_errf(FOG_ERR_INVALID, "bitswap: want type %d", m->entries[i].want_type);
        }
    }
    for (size_t i = 0; i < m->n_blocks; i++) {
        if (m->blocks[i].data.len > FOG_BITSWAP_BLOCK_MAX) {
            return fog_errf(FOG_ERR_LIMIT, "bitswap: a block of %zu bytes passes %u",
                            m->blocks[i].data.len, FOG_BITSWAP_BLOCK_MAX);
        }
    }
    for (size_t i = 0; i < m->n_presences; i++) {
        if ((unsigned)m->presences[i].type > FOG_BITSWAP_DONT_HAVE) {
            return fog_errf(FOG_ERR_INVALID, "bitswap: presence type %d", m->presences[i].type);
        }
    }
    return 0;
}

/* The wantlist body's size, and the whole body's; with the limits above nothing can overflow
 * (8192 blocks of 2 MiB stay far below SIZE_MAX on the 64-bit hosts fog targets; 32-bit hosts
 * are covered by the checked additions). */
static int sizes(const fog_bitswap_msg *m, size_t *wl_out, size_t *body_out)
{
    size_t wl = m->full ? 2 : 0;
    for (size_t i = 0; i < m->n_entries; i++) {
        wl += len_field_size(entry_size(&m->entries[i]));
    }
    size_t body = wl > 0 ? len_field_size(wl) : 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < m->n_blocks; i++) {
        rc = fog_add_size(body, len_field_size(payload_size(&m->blocks[i])), &body);
    }
    for (size_t i = 0; rc == 0 && i < m->n_presences; i++) {
        rc = fog_add_size(body, len_field_size(presence_size(&m->presences[i])), &body);
    }
    body += varint_field_size(i32_wire(m->pending_bytes));
    if (rc < 0 || body > FOG_BITSWAP_MSG_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "bitswap: message body passes %u bytes",
                        FOG_BITSWAP_MSG_MAX);
    }
    *wl_out = wl;
    *body_out = body;
    return 0;
}

static int put_key(fog_buf *b, uint64_t field, uint64_t wt)
{
    return fog_buf_uvarint(b, field << 3 | wt);
}

static int put_varint(fog_buf *b, uint64_t field, uint64_t v)
{
    if (v == 0) {
        return 0;
    }
    int rc = put_key(b, field, FOG_PB_VARINT);
    return rc < 0 ? rc : fog_buf_uvarint(b, v);
}

/* A length-delimited field's key and length; the caller appends the value. */
static int put_len_hd(fog_buf *b, uint64_t field, size_t len)
{
    int rc = put_key(b, field, FOG_PB_LEN);
    return rc < 0 ? rc : fog_buf_uvarint(b, len);
}

static int put_bytes(fog_buf *b, uint64_t field, const uint8_t *p, size_t len)
{
    int rc = put_len_hd(b, field, len);
    return rc < 0 || len == 0 ? rc : fog_buf_append(b, p, len);
}

static int put_entry(fog_buf *b, const fog_bitswap_entry *e)
{
    int rc = put_len_hd(b, WL_ENTRIES, entry_size(e));
    rc = rc < 0 ? rc : put_bytes(b, E_BLOCK, e->cid.bytes, e->cid.len);
    rc = rc < 0 ? rc : put_varint(b, E_PRIORITY, i32_wire(e->priority));
    rc = rc < 0 ? rc : put_varint(b, E_CANCEL, e->cancel);
    rc = rc < 0 ? rc : put_varint(b, E_WANT_TYPE, (uint64_t)e->want_type);
    return rc < 0 ? rc : put_varint(b, E_SEND_DONT_HAVE, e->send_dont_have);
}

/* ins NULL: the block's data is copied into b; else only its field header is, and *ins says
 * where the data goes (fog_bitswap_encode_gather). */
static int put_block(fog_buf *b, const fog_bitswap_block *blk, fog_bitswap_insert *ins)
{
    uint8_t px[4 * FOG_UVARINT_MAX];
    size_t px_len = prefix_put(&blk->cid, px);
    int rc = put_len_hd(b, M_PAYLOAD, payload_size(blk));
    rc = rc < 0 ? rc : put_bytes(b, B_PREFIX, px, px_len);
    if (rc == 0 && blk->data.len > 0) {
        rc = ins == NULL ? put_bytes(b, B_DATA, blk->data.p, blk->data.len)
                         : put_len_hd(b, B_DATA, blk->data.len);
    }
    if (ins != NULL) {
        ins->at = b->len;
        ins->data = blk->data.len > 0 ? blk->data : fog_slice_make(NULL, 0);
    }
    return rc;
}

static int put_presence(fog_buf *b, const fog_bitswap_presence *p)
{
    int rc = put_len_hd(b, M_PRESENCES, presence_size(p));
    rc = rc < 0 ? rc : put_bytes(b, P_CID, p->cid.bytes, p->cid.len);
    return rc < 0 ? rc : put_varint(b, P_TYPE, (uint64_t)p->type);
}

static int put_body(fog_buf *b, const fog_bitswap_msg *m, size_t wl, fog_bitswap_insert *ins)
{
    int rc = 0;
    if (wl > 0) {
        rc = put_len_hd(b, M_WANTLIST, wl);
        for (size_t i = 0; rc == 0 && i < m->n_entries; i++) {
            rc = put_entry(b, &m->entries[i]);
        }
        rc = rc < 0 ? rc : put_varint(b, WL_FULL, m->full);
    }
    for (size_t i = 0; rc == 0 && i < m->n_blocks; i++) {
        rc = put_block(b, &m->blocks[i], ins == NULL ? NULL : &ins[i]);
    }
    for (size_t i = 0; rc == 0 && i < m->n_presences; i++) {
        rc = put_presence(b, &m->presences[i]);
    }
    return rc < 0 ? rc : put_varint(b, M_PENDING, i32_wire(m->pending_bytes));
}

static int encode(const fog_bitswap_msg *m, fog_buf *out, fog_bitswap_insert *ins)
{
    size_t start = out->len, wl = 0, body = 0;
    int rc = check_msg(m);
    rc = rc < 0 ? rc : sizes(m, &wl, &body);
    size_t data = 0;
    for (size_t i = 0; rc == 0 && ins != NULL && i < m->n_blocks; i++) {
        data += m->blocks[i].data.len; /* bounded: check_msg and sizes passed */
    }
    rc = rc < 0 ? rc : fog_buf_reserve(out, fog_uvarint_len(body) + body - data);
    rc = rc < 0 ? rc : fog_buf_uvarint(out, body);
    rc = rc < 0 ? rc : put_body(out, m, wl, ins);
    if (rc < 0) {
        out->len = start;
    }
    return rc;
}

int fog_bitswap_encode(const fog_bitswap_msg *m, fog_buf *out)
{
    return encode(m, out, NULL);
}

int fog_bitswap_encode_gather(const fog_bitswap_msg *m, fog_buf *head, fog_bitswap_insert *ins)
{
    return encode(m, head, ins);
}

/* ---- framing ---- */

int fog_bitswap_frame(const uint8_t *in, size_t len, fog_slice *body_out, size_t *consumed_out)
{
    return fog_lp_frame(in, len, FOG_BITSWAP_MSG_MAX, body_out, consumed_out);
}

void fog_bitswap_framer_init(fog_bitswap_framer *f)
{
    memset(f, 0, sizeof *f);
    fog_buf_init(&f->buf);
}

void fog_bitswap_framer_clear(fog_bitswap_framer *f)
{
    if (f == NULL) {
        return;
    }
    fog_buf_clear(&f->buf);
    memset(f, 0, sizeof *f);
}

int fog_bitswap_framer_feed(fog_bitswap_framer *f, const uint8_t *in, size_t len)
{
    if (f->err < 0) {
        return f->err;
    }
    if (f->off > 0) {
        size_t rest = f->buf.len - f->off;
        if (rest > 0) {
            memmove(f->buf.p, f->buf.p + f->off, rest);
        }
        f->buf.len = rest;
        f->off = 0;
    }
    return len > 0 ? fog_buf_append(&f->buf, in, len) : 0;
}

int fog_bitswap_framer_next(fog_bitswap_framer *f, fog_slice *body_out)
{
    *body_out = fog_slice_make(NULL, 0);
    if (f->err < 0) {
        return f->err;
    }
    size_t used = 0;
    int rc = fog_bitswap_frame(f->buf.len > f->off ? f->buf.p + f->off : NULL,
                               f->buf.len - f->off, body_out, &used);
    if (rc < 0) {
        f->err = rc;
        return rc;
    }
    f->off += used;
    return rc;
}
