/* kad_msg.c: the Kademlia DHT message codec (/ipfs/kad/1.0.0; libp2p/specs kad-dht/README.md,
 * ipfs/specs src/routing/kad-dht.md; PROTOCOLS.md 3.7; schema in proto/kad.proto).
 * Framing: each message is uvarint(length) then that many bytes of protobuf, at most 4 MiB (go
 * reads with msgio.NewVarintReaderSize(s, network.MessageSizeMax)). The framer is fog_lp_frame,
 * which refuses a prefix past 4 MiB as soon as the prefix is complete; a prefix that needs a
 * fifth byte (2^28 and more) is refused here as soon as its fourth byte arrives, so no body is
 * ever waited for or buffered.
 * Writing: a size pass, then the prefix and the fields in field-number order, zero values left
 * out as go's proto3 writer leaves them out; the output is the same bytes go would write.
 * Reading is a protobuf walk with fog_pb_next (src/util/pb.c), run twice over the same bytes as
 * in src/net/identify.c: the first pass checks every rule and counts, the second copies into one
 * block sized by the first. Where go-libp2p-kad-dht is lenient about the content of a peer entry
 * fog is too (a bad peer ID drops that peer, an address that does not parse is skipped, extra
 * addresses and providers are dropped, a connection value outside the enum reads as
 * NOT_CONNECTED); the protobuf itself is read strictly (wrong wire types and repeated singular
 * fields are errors, which no conforming writer produces). Unknown fields are skipped.
 */
#include "fog/kad.h"

#include <stdlib.h>
#include <string.h>

#include "fog/mf.h"

enum { M_TYPE = 1, M_KEY = 2, M_RECORD = 3, M_CLOSER = 8, M_PROVIDERS = 9, M_CLUSTER = 10 };
enum { R_KEY = 1, R_VALUE = 2, R_TIME = 5 };
enum { P_ID = 1, P_ADDRS = 2, P_CONN = 3 };

const char *fog_kad_type_name(fog_kad_type t)
{
    switch (t) {
    case FOG_KAD_PUT_VALUE:
        return "PUT_VALUE";
    case FOG_KAD_GET_VALUE:
        return "GET_VALUE";
    case FOG_KAD_ADD_PROVIDER:
        return "ADD_PROVIDER";
    case FOG_KAD_GET_PROVIDERS:
        return "GET_PROVIDERS";
    case FOG_KAD_FIND_NODE:
        return "FIND_NODE";
    case FOG_KAD_PING:
        return "PING";
    }
    return "UNKNOWN";
}

/* ---- framing ---- */

int fog_kad_frame_next(const uint8_t *in, size_t len, fog_slice *msg_out, size_t *used_out)
{
    /* FOG_KAD_MSG_MAX is 2^22: a prefix whose fourth byte still continues announces 2^28 or
     * more, refused here before a fifth byte is waited for (fog_lp_frame would wait for it). */
    fog_reader r;
    fog_reader_init(&r, in, len < 4 ? len : 4);
    uint64_t n;
    fog_reader_uvarint(&r, &n);
    if (r.err == FOG_ERR_TRUNCATED && len >= 4) {
        return fog_errf(FOG_ERR_LIMIT, "kad: message length prefix passes %u bytes",
                        FOG_KAD_MSG_MAX);
    }
    fog_slice body;
    size_t used;
    int rc = fog_lp_frame(in, len, FOG_KAD_MSG_MAX, &body, &used);
    if (rc == 1) {
        *msg_out = body;
        *used_out = used;
    }
    return rc;
}

/* ---- protobuf fields ---- */

/* A known field: its wire type must be wt, and a singular one (bit set in singular) may come
 * once; seen keeps the singular fields met so far (field numbers < 32). */
static int known(const fog_pb_field *f, uint8_t wt, bool singular, uint32_t *seen,
                 const char *what)
{
    if (f->wt != wt) {
        return fog_errf(FOG_ERR_PROTO, "kad: %s has wire type %u", what, (unsigned)f->wt);
    }
    if (singular) {
        uint32_t bit = 1u << f->field;
        if ((*seen & bit) != 0) {
            return fog_errf(FOG_ERR_PROTO, "kad: %s given twice", what);
        }
        *seen |= bit;
    }
    return 0;
}

/* RFC 3629 UTF-8 without NUL (go's proto3 reader refuses invalid UTF-8 in string fields). */
static bool utf8_ok(fog_slice s)
{
    fog_reader r;
    fog_reader_init(&r, s.p, s.len);
    while (r.left > 0) {
        uint8_t c;
        fog_reader_u8(&r, &c);
        size_t n = c < 0x80 ? 0 : (c & 0xe0) == 0xc0 ? 1 : (c & 0xf0) == 0xe0 ? 2 : 3;
        uint32_t cp = n == 0 ? c : n == 1 ? c & 0x1fu : n == 2 ? c & 0x0fu : c & 0x07u;
        if (c == 0 || (n == 3 && (c & 0xf8) != 0xf0) || (c >= 0x80 && c < 0xc0)) {
            return false;
        }
        for (size_t k = 0; k < n; k++) {
            uint8_t d = 0;
            fog_reader_u8(&r, &d);
            if (r.err != 0 || (d & 0xc0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (d & 0x3fu);
        }
        static const uint32_t min[4] = {0, 0x80, 0x800, 0x10000};
        if (cp < min[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
    }
    return true;
}

/* ---- reading ---- */

/* What one pass counts. */
typedef struct {
    uint32_t seen;        /* singular Message fields met */
    size_t closer_seen;   /* closerPeers entries on the wire */
    size_t prov_seen;     /* providerPeers entries on the wire */
    size_t n_closer;      /* kept */
    size_t n_prov;        /* kept */
    size_t n_addrs;       /* kept, over all kept peers */
    size_t id_bytes;      /* kept peers' ID bytes */
    size_t peers_bad, peers_dropped, addrs_skipped, addrs_dropped;
} tally;

typedef struct {
    bool fill;        /* pass 2: copy into the arrays below */
    tally t;
    fog_kad_msg m;    /* singular fields, borrowed from the input until copied */
    fog_kad_peer *closer, *prov; /* pass 2: room for the pass 1 counts */
    fog_multiaddr *addrs;
    uint8_t *ids;
} walk;

/* The ID and connection of a peer entry, and the check of its wire format. */
static int peer_head(fog_slice body, fog_slice *id, fog_kad_conn *conn)
{
    fog_reader r;
    fog_reader_init(&r, body.p, body.len);
    uint32_t seen = 0;
    *id = fog_slice_make(NULL, 0);
    *conn = FOG_KAD_NOT_CONNECTED;
    fog_pb_field f;
    int rc = 0;
    while (rc == 0 && fog_pb_next(&r, &f)) {
        if (f.field == P_ID) {
            rc = known(&f, FOG_PB_LEN, true, &seen, "Peer.id");
            *id = f.v;
        } else if (f.field == P_ADDRS) {
            rc = known(&f, FOG_PB_LEN, false, &seen, "Peer.addrs");
        } else if (f.field == P_CONN) {
            rc = known(&f, FOG_PB_VARINT, true, &seen, "Peer.connection");
            /* go: an open enum; Connectedness() maps unknown values to NotConnected */
            *conn = f.num <= FOG_KAD_CANNOT_CONNECT ? (fog_kad_conn)f.num : FOG_KAD_NOT_CONNECTED;
        }
    }
    return rc < 0 ? rc : fog_pb_end(&r, "kad");
}

/* The addresses of a kept peer: parsed in order, the first FOG_KAD_ADDRS_MAX that parse kept
 * (pass 2: written from addrs[t.n_addrs] on). Wire format already checked by peer_head. */
static int peer_addrs(walk *w, fog_slice body)
{
    fog_reader r;
    fog_reader_init(&r, body.p, body.len);
    size_t n = 0;
    fog_pb_field f;
    while (fog_pb_next(&r, &f)) {
        if (f.field != P_ADDRS) {
            continue;
        }
        if (n == FOG_KAD_ADDRS_MAX) {
            w->t.addrs_dropped++;
            continue;
        }
        fog_multiaddr scratch;
        fog_multiaddr *dst = w->fill ? &w->addrs[w->t.n_addrs] : &scratch;
        if (fog_multiaddr_from_bytes(dst, f.v.p, f.v.len) < 0) {
            w->t.addrs_skipped++;
            continue;
        }
        n++;
        w->t.n_addrs++;
    }
    return fog_pb_end(&r, "kad");
}

static int on_peer(walk *w, fog_slice body, bool is_closer)
{
    fog_slice id;
    fog_kad_conn conn;
    int rc = peer_head(body, &id, &conn);
    if (rc < 0) {
        return rc;
    }
    if (is_closer && w->t.closer_seen == FOG_KAD_PEERS_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "kad: more than %d closerPeers", FOG_KAD_PEERS_MAX);
    }
    size_t *seen = is_closer ? &w->t.closer_seen : &w->t.prov_seen;
    (*seen)++;
    if (!is_closer && *seen > FOG_KAD_PROVIDERS_MAX) {
        w->t.peers_dropped++;
        return 0;
    }
    if (fog_peer_id_check(id.p, id.len) < 0) {
        w->t.peers_bad++;
        return 0;
    }
    size_t first_addr = w->t.n_addrs;
    if ((rc = peer_addrs(w, body)) < 0) {
        return rc;
    }
    size_t *kept = is_closer ? &w->t.n_closer : &w->t.n_prov;
    if (w->fill) {
        fog_kad_peer *p = is_closer ? &w->closer[*kept] : &w->prov[*kept];
        memcpy(w->ids + w->t.id_bytes, id.p, id.len); /* a valid peer ID is never empty */
        p->id = fog_slice_make(w->ids + w->t.id_bytes, id.len);
        p->addrs = &w->addrs[first_addr];
        p->n_addrs = w->t.n_addrs - first_addr;
        p->connection = conn;
    }
    (*kept)++;
    w->t.id_bytes += id.len;
    return 0;
}

static int on_record_field(fog_kad_record *rec, const fog_pb_field *f, uint32_t *seen)
{
    int rc = 0;
    switch (f->field) {
    case R_KEY:
        rc = known(f, FOG_PB_LEN, true, seen, "Record.key");
        if (rc == 0 && f->v.len > FOG_KAD_KEY_MAX) {
            rc = fog_errf(FOG_ERR_LIMIT, "kad: record key of %zu bytes passes %d", f->v.len,
                          FOG_KAD_KEY_MAX);
        }
        rec->key = f->v;
        break;
    case R_VALUE:
        rc = known(f, FOG_PB_LEN, true, seen, "Record.value");
        rec->value = f->v;
        break;
    case R_TIME:
        rc = known(f, FOG_PB_LEN, true, seen, "Record.timeReceived");
        if (rc == 0 && f->v.len > FOG_KAD_TIME_MAX) {
            rc = fog_errf(FOG_ERR_LIMIT, "kad: timeReceived of %zu bytes passes %d", f->v.len,
                          FOG_KAD_TIME_MAX);
        } else if (rc == 0 && !utf8_ok(f->v)) {
            rc = fog_errf(FOG_ERR_PROTO, "kad: timeReceived is not UTF-8 without NUL");
        }
        rec->time_received = f->v;
        break;
    default:
        break; /* author (3) and signature (4) were removed upstream: skipped as unknown */
    }
    return rc;
}

static int on_record(walk *w, fog_slice body)
{
    fog_reader r;
    fog_reader_init(&r, body.p, body.len);
    uint32_t seen = 0;
    fog_kad_record rec;
    memset(&rec, 0, sizeof rec);
    fog_pb_field f;
    int rc = 0;
    while (rc == 0 && fog_pb_next(&r, &f)) {
        rc = on_record_field(&rec, &f, &seen);
    }
    if ((rc = rc < 0 ? rc : fog_pb_end(&r, "kad")) < 0) {
        return rc;
    }
    w->m.has_record = true;
    w->m.record = rec;
    return 0;
}

/* int32 on the wire: a varint of the value sign-extended to 64 bits. */
static bool int32_ok(uint64_t v)
{
    return v <= (uint64_t)INT32_MAX || v >= (uint64_t)(int64_t)INT32_MIN;
}

static int on_field(walk *w, const fog_pb_field *f)
{
    uint32_t *seen = &w->t.seen;
    int rc = 0;
    switch (f->field) {
    case M_TYPE:
        rc = known(f, FOG_PB_VARINT, true, seen, "Message.type");
        if (rc == 0 && f->num > FOG_KAD_PING) {
            return fog_errf(FOG_ERR_PROTO, "kad: unknown message type %llu",
                            (unsigned long long)f->num);
        }
        w->m.type = (fog_kad_type)f->num;
        return rc;
    case M_KEY:
        rc = known(f, FOG_PB_LEN, true, seen, "Message.key");
        if (rc == 0 && f->v.len > FOG_KAD_KEY_MAX) {
            return fog_errf(FOG_ERR_LIMIT, "kad: key of %zu bytes passes %d", f->v.len,
                            FOG_KAD_KEY_MAX);
        }
        w->m.key = f->v;
        return rc;
    case M_RECORD:
        rc = known(f, FOG_PB_LEN, true, seen, "Message.record");
        return rc < 0 ? rc : on_record(w, f->v);
    case M_CLOSER:
    case M_PROVIDERS:
        rc = known(f, FOG_PB_LEN, false, seen, "a peer list");
        return rc < 0 ? rc : on_peer(w, f->v, f->field == M_CLOSER);
    case M_CLUSTER:
        rc = known(f, FOG_PB_VARINT, true, seen, "clusterLevelRaw");
        if (rc == 0 && !int32_ok(f->num)) {
            return fog_errf(FOG_ERR_PROTO, "kad: clusterLevelRaw is not an int32");
        }
        w->m.cluster_level_raw = (int32_t)(int64_t)f->num; /* in range: checked above */
        return rc;
    default:
        return 0;
    }
}

static int walk_msg(walk *w, const uint8_t *in, size_t len)
{
    memset(&w->t, 0, sizeof w->t);
    fog_reader r;
    fog_reader_init(&r, in, len);
    fog_pb_field f;
    int rc = 0;
    while (rc == 0 && fog_pb_next(&r, &f)) {
        rc = on_field(w, &f);
    }
    return rc < 0 ? rc : fog_pb_end(&r, "kad");
}

static fog_slice copy_to(uint8_t **at, fog_slice s)
{
    fog_slice out = fog_slice_make(*at, s.len);
    if (s.len > 0) {
        memcpy(*at, s.p, s.len);
        *at += s.len;
    }
    return out;
}

/* Lays out one block: peers, addresses, peer IDs, then the singular byte fields. */
static int fill(fog_kad_parsed *out, walk *w, const uint8_t *in, size_t len)
{
    tally t = w->t;
    fog_kad_msg m = w->m;
    size_t n_peers = t.n_closer + t.n_prov; /* <= 320 */
    size_t peers_sz = n_peers * sizeof(fog_kad_peer);
    size_t addrs_sz = t.n_addrs * sizeof(fog_multiaddr); /* <= 320 * 32 * 264 bytes */
    size_t bytes = 1, total = 0; /* one spare byte: the block is never empty */
    int rc = fog_add_size(t.id_bytes, m.key.len, &bytes);
    rc = rc < 0 ? rc : fog_add_size(bytes, m.record.key.len + m.record.time_received.len, &bytes);
    rc = rc < 0 ? rc : fog_add_size(bytes, m.record.value.len + 1, &bytes);
    rc = rc < 0 ? rc : fog_add_size(peers_sz + addrs_sz, bytes, &total);
    uint8_t *mem = rc < 0 ? NULL : malloc(total);
    if (mem == NULL) {
        return rc < 0 ? rc : FOG_ERR_NOMEM;
    }
    w->fill = true;
    w->closer = (fog_kad_peer *)(void *)mem;
    w->prov = w->closer + t.n_closer;
    w->addrs = (fog_multiaddr *)(void *)(mem + peers_sz);
    w->ids = mem + peers_sz + addrs_sz;
    if ((rc = walk_msg(w, in, len)) < 0) { /* same bytes, same result: cannot fail now */
        free(mem);
        return rc;
    }
    uint8_t *at = w->ids + t.id_bytes;
    m.key = copy_to(&at, m.key);
    m.record.key = copy_to(&at, m.record.key);
    m.record.value = copy_to(&at, m.record.value);
    m.record.time_received = copy_to(&at, m.record.time_received);
    m.closer = w->closer;
    m.n_closer = t.n_closer;
    m.providers = w->prov;
    m.n_providers = t.n_prov;
    out->msg = m;
    out->peers_bad = t.peers_bad;
    out->peers_dropped = t.peers_dropped;
    out->addrs_skipped = t.addrs_skipped;
    out->addrs_dropped = t.addrs_dropped;
    out->mem = mem;
    return 0;
}

int fog_kad_parse(fog_kad_parsed *out, const uint8_t *in, size_t len)
{
    memset(out, 0, sizeof *out);
    if (len > FOG_KAD_MSG_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "kad: message of %zu bytes passes %u", len,
                        FOG_KAD_MSG_MAX);
    }
    walk w;
    memset(&w, 0, sizeof w);
    int rc = walk_msg(&w, in, len);
    if (rc == 0) {
        rc = fill(out, &w, in, len);
    }
    if (rc < 0) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}

void fog_kad_parsed_clear(fog_kad_parsed *p)
{
    if (p == NULL) {
        return;
    }
    free(p->mem);
    memset(p, 0, sizeof *p);
}

/* ---- writing ---- */

/* Every tag of the schema has a field number below 16: one byte. */
static size_t lf_size(size_t len)
{
    return 1 + fog_uvarint_len(len) + len;
}

static size_t peer_size(const fog_kad_peer *p)
{
    size_t s = p->id.len > 0 ? lf_size(p->id.len) : 0;
    for (size_t i = 0; i < p->n_addrs; i++) {
        s += lf_size(p->addrs[i].len);
    }
    return s + (p->connection != FOG_KAD_NOT_CONNECTED ? 2 : 0);
}

static size_t record_size(const fog_kad_record *r)
{
    size_t s = r->key.len > 0 ? lf_size(r->key.len) : 0;
    s += r->value.len > 0 ? lf_size(r->value.len) : 0;
    return s + (r->time_received.len > 0 ? lf_size(r->time_received.len) : 0);
}

static int check_peers(const fog_kad_peer *ps, size_t n, size_t max, const char *what)
{
    if (n > max) {
        return fog_errf(FOG_ERR_LIMIT, "kad: %zu %s to write, more than %zu", n, what, max);
    }
    for (size_t i = 0; i < n; i++) {
        if (ps[i].id.len > FOG_KAD_KEY_MAX || ps[i].n_addrs > FOG_KAD_ADDRS_MAX) {
            return fog_errf(FOG_ERR_LIMIT, "kad: a peer to write has an over-long ID or more "
                                           "than %d addresses", FOG_KAD_ADDRS_MAX);
        }
        if ((unsigned)ps[i].connection > FOG_KAD_CANNOT_CONNECT) {
            return fog_errf(FOG_ERR_INVALID, "kad: connection type %d", (int)ps[i].connection);
        }
    }
    return 0;
}

/* Checks what the size pass relies on, so that no sum below can overflow. */
static int check_msg(const fog_kad_msg *m)
{
    if ((unsigned)m->type > FOG_KAD_PING) {
        return fog_errf(FOG_ERR_INVALID, "kad: message type %d", (int)m->type);
    }
    const fog_kad_record *r = &m->record;
    if (m->key.len > FOG_KAD_KEY_MAX || (m->has_record && r->key.len > FOG_KAD_KEY_MAX)) {
        return fog_errf(FOG_ERR_LIMIT, "kad: a key to write passes %d bytes", FOG_KAD_KEY_MAX);
    }
    if (m->has_record && (r->time_received.len > FOG_KAD_TIME_MAX ||
                          r->value.len > FOG_KAD_MSG_MAX)) {
        return fog_errf(FOG_ERR_LIMIT, "kad: a record to write is too large");
    }
    int rc = check_peers(m->closer, m->n_closer, FOG_KAD_PEERS_MAX, "closerPeers");
    return rc < 0 ? rc : check_peers(m->providers, m->n_providers, FOG_KAD_PROVIDERS_MAX,
                                     "providerPeers");
}

static size_t body_size(const fog_kad_msg *m)
{
    size_t s = m->type != FOG_KAD_PUT_VALUE ? 2 : 0;
    s += m->key.len > 0 ? lf_size(m->key.len) : 0;
    s += m->has_record ? lf_size(record_size(&m->record)) : 0;
    for (size_t i = 0; i < m->n_closer; i++) {
        s += lf_size(peer_size(&m->closer[i]));
    }
    for (size_t i = 0; i < m->n_providers; i++) {
        s += lf_size(peer_size(&m->providers[i]));
    }
    if (m->cluster_level_raw != 0) {
        s += 1 + fog_uvarint_len((uint64_t)(int64_t)m->cluster_level_raw);
    }
    return s;
}

static int put_varint(fog_buf *b, unsigned field, uint64_t v)
{
    int rc = fog_buf_u8(b, (uint8_t)(field << 3 | FOG_PB_VARINT));
    return rc < 0 ? rc : fog_buf_uvarint(b, v);
}

static int put_head(fog_buf *b, unsigned field, size_t len)
{
    int rc = fog_buf_u8(b, (uint8_t)(field << 3 | FOG_PB_LEN));
    return rc < 0 ? rc : fog_buf_uvarint(b, len);
}

/* A bytes field, left out when empty (proto3). */
static int put_bytes(fog_buf *b, unsigned field, fog_slice s)
{
    if (s.len == 0) {
        return 0;
    }
    int rc = put_head(b, field, s.len);
    return rc < 0 ? rc : fog_buf_append(b, s.p, s.len);
}

static int put_peer(fog_buf *b, unsigned field, const fog_kad_peer *p)
{
    int rc = put_head(b, field, peer_size(p));
    rc = rc < 0 ? rc : put_bytes(b, P_ID, p->id);
    for (size_t i = 0; rc == 0 && i < p->n_addrs; i++) {
        rc = put_bytes(b, P_ADDRS, fog_slice_make(p->addrs[i].bytes, p->addrs[i].len));
    }
    if (rc == 0 && p->connection != FOG_KAD_NOT_CONNECTED) {
        rc = put_varint(b, P_CONN, (uint64_t)p->connection);
    }
    return rc;
}

static int put_body(fog_buf *b, const fog_kad_msg *m)
{
    int rc = 0;
    if (m->type != FOG_KAD_PUT_VALUE) {
        rc = put_varint(b, M_TYPE, (uint64_t)m->type);
    }
    rc = rc < 0 ? rc : put_bytes(b, M_KEY, m->key);
    if (rc == 0 && m->has_record) {
        rc = put_head(b, M_RECORD, record_size(&m->record));
        rc = rc < 0 ? rc : put_bytes(b, R_KEY, m->record.key);
        rc = rc < 0 ? rc : put_bytes(b, R_VALUE, m->record.value);
        rc = rc < 0 ? rc : put_bytes(b, R_TIME, m->record.time_received);
    }
    for (size_t i = 0; rc == 0 && i < m->n_closer; i++) {
        rc = put_peer(b, M_CLOSER, &m->closer[i]);
    }
    for (size_t i = 0; rc == 0 && i < m->n_providers; i++) {
        rc = put_peer(b, M_PROVIDERS, &m->providers[i]);
    }
    if (rc == 0 && m->cluster_level_raw != 0) {
        rc = put_varint(b, M_CLUSTER, (uint64_t)(int64_t)m->cluster_level_raw);
    }
    return rc;
}

int fog_kad_encode(const fog_kad_msg *m, fog_buf *out)
{
    int rc = check_msg(m);
    if (rc < 0) {
        return rc;
    }
    size_t size = body_size(m); /* bounded by the checks: no overflow */
    if (size > FOG_KAD_MSG_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "kad: message of %zu bytes to write passes %u", size,
                        FOG_KAD_MSG_MAX);
    }
    size_t start = out->len;
    rc = fog_buf_reserve(out, fog_uvarint_len(size) + size);
    rc = rc < 0 ? rc : fog_buf_uvarint(out, size);
    rc = rc < 0 ? rc : put_body(out, m);
    if (rc < 0) {
        out->len = start;
    }
    return rc;
}
