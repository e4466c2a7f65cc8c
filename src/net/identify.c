/* identify.c: the libp2p identify message codec (libp2p/specs identify/README.md; PROTOCOLS.md
 * 3.5; schema in proto/identify.proto).
 * Writing: fields in field-number order with a uvarint length prefix, as go-libp2p writes them;
 * a signed peer record that would push the message past 2 KiB goes alone in a second message
 * (go-libp2p writeChunkedIdentifyMsg), and no message fog writes passes 4 KiB (what
 * rust-libp2p reads).
 * Reading follows go-libp2p readAllIDMessages and consumeMessage: up to 10 length-prefixed
 * messages of at most 8 KiB, merged as proto.Merge does (repeated fields concatenated, a later
 * singular field replacing an earlier one), then listen addresses parsed one by one, those that
 * do not parse skipped (go logs and continues), and an unparsable observed address dropped.
 * The decoder is a protobuf walk with fog_pb_next (src/util/pb.c) rather than protobuf-c, so that
 * limits are checked before anything is allocated and strings with NUL bytes cannot be cut short
 * silently. It runs twice over the same bytes: the first pass checks every rule and sizes the
 * result, the second copies the repeated fields into one block sized by the first. Unknown fields
 * are skipped, as protobuf requires; a known field with the wrong wire type is an error.
 */
#include "fog/identify.h"

#include <stdlib.h>
#include <string.h>

#include "fog/mf.h"

enum {
    F_PUBLIC_KEY = 1,
    F_LISTEN_ADDRS = 2,
    F_PROTOCOLS = 3,
    F_OBSERVED_ADDR = 4,
    F_PROTOCOL_VERSION = 5,
    F_AGENT_VERSION = 6,
    F_SIGNED_PEER_RECORD = 8,
};

/* ---- writing ---- */

static int put_field(fog_buf *b, uint64_t field, const void *p, size_t len)
{
    int rc = fog_buf_uvarint(b, field << 3 | FOG_PB_LEN);
    if (rc == 0) {
        rc = fog_buf_uvarint(b, len);
    }
    if (rc == 0 && len > 0) {
        rc = fog_buf_append(b, p, len);
    }
    return rc;
}

static int put_str(fog_buf *b, uint64_t field, const char *s)
{
    if (s == NULL) {
        return 0;
    }
    size_t len = strnlen(s, FOG_IDENTIFY_STR_MAX + 1);
    if (len > FOG_IDENTIFY_STR_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "identify: a string longer than %d bytes",
                        FOG_IDENTIFY_STR_MAX);
    }
    return put_field(b, field, s, len);
}

/* The fields before observedAddr, in field-number order. */
static int body_head(const fog_identify_msg *m, fog_buf *b)
{
    int rc = 0;
    if (m->public_key.len > 0) {
        rc = put_field(b, F_PUBLIC_KEY, m->public_key.p, m->public_key.len);
    }
    for (size_t i = 0; rc == 0 && i < m->n_listen_addrs; i++) {
        rc = put_field(b, F_LISTEN_ADDRS, m->listen_addrs[i].bytes, m->listen_addrs[i].len);
    }
    for (size_t i = 0; rc == 0 && i < m->n_protocols; i++) {
        rc = put_str(b, F_PROTOCOLS, m->protocols[i]);
    }
    return rc;
}

static int body(const fog_identify_msg *m, bool with_spr, fog_buf *b)
{
    int rc = body_head(m, b);
    if (rc == 0 && m->observed_addr != NULL && m->observed_addr->len > 0) {
        rc = put_field(b, F_OBSERVED_ADDR, m->observed_addr->bytes, m->observed_addr->len);
    }
    if (rc == 0) {
        rc = put_str(b, F_PROTOCOL_VERSION, m->protocol_version);
    }
    if (rc == 0) {
        rc = put_str(b, F_AGENT_VERSION, m->agent_version);
    }
    if (rc == 0 && with_spr && m->signed_peer_record.len > 0) {
        rc = put_field(b, F_SIGNED_PEER_RECORD, m->signed_peer_record.p,
                       m->signed_peer_record.len);
    }
    return rc;
}

static int put_message(fog_buf *out, const fog_buf *b)
{
    if (b->len > FOG_IDENTIFY_OWN_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "identify: own message of %zu bytes passes %d", b->len,
                        FOG_IDENTIFY_OWN_MAX);
    }
    int rc = fog_buf_uvarint(out, b->len);
    return rc == 0 ? fog_buf_append(out, b->p, b->len) : rc;
}

int fog_identify_encode(const fog_identify_msg *m, fog_buf *out)
{
    size_t start = out->len;
    fog_buf b;
    fog_buf_init(&b);
    int rc = body(m, true, &b);
    if (rc == 0 && m->signed_peer_record.len > 0 && b.len > FOG_IDENTIFY_SPLIT_SIZE) {
        fog_buf_reset(&b);
        rc = body(m, false, &b);
        if (rc == 0) {
            rc = put_message(out, &b);
        }
        fog_buf_reset(&b);
        if (rc == 0) {
            rc = put_field(&b, F_SIGNED_PEER_RECORD, m->signed_peer_record.p,
                           m->signed_peer_record.len);
        }
    }
    if (rc == 0) {
        rc = put_message(out, &b);
    }
    fog_buf_clear(&b);
    if (rc < 0) {
        out->len = start;
    }
    return rc;
}

/* ---- reading ---- */

/* What the walk gathers. Pass 1 (fill == false) counts and remembers the last singular values
 * (slices into the input, which outlives the parse); pass 2 copies the repeated fields. */
typedef struct {
    bool fill;
    size_t n_addrs;    /* accepted listen addresses */
    size_t n_skipped;  /* listen addresses that did not parse */
    size_t n_protos;
    size_t str_bytes;  /* protocol IDs, with their NULs */
    fog_slice key, observed, pv, av, spr;
    bool has_observed, has_pv, has_av;
    fog_multiaddr *addrs; /* pass 2: room for n_addrs */
    const char **protos;  /* pass 2: room for n_protos */
    char *strs;           /* pass 2: room for str_bytes */
    size_t i_addr, i_proto, i_str;
} walk;

/* RFC 3629 UTF-8: no overlongs, no surrogates, nothing past U+10FFFF; NUL refused as well,
 * because the strings are handed out NUL-terminated. */
static bool utf8_ok(const uint8_t *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = p[i];
        if (c < 0x80) {
            if (c == 0) {
                return false;
            }
            i++;
            continue;
        }
        size_t n;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0) {
            n = 1, cp = c & 0x1fu, min = 0x80;
        } else if ((c & 0xf0) == 0xe0) {
            n = 2, cp = c & 0x0fu, min = 0x800;
        } else if ((c & 0xf8) == 0xf0) {
            n = 3, cp = c & 0x07u, min = 0x10000;
        } else {
            return false;
        }
        if (n >= len - i) {
            return false; /* the sequence runs past the end */
        }
        for (size_t k = 1; k <= n; k++) {
            if ((p[i + k] & 0xc0) != 0x80) {
                return false;
            }
            cp = cp << 6 | (p[i + k] & 0x3fu);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
            return false;
        }
        i += n + 1;
    }
    return true;
}

static int str_check(fog_slice v, const char *what)
{
    if (v.len > FOG_IDENTIFY_STR_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "identify: %s of %zu bytes passes %d", what, v.len,
                        FOG_IDENTIFY_STR_MAX);
    }
    if (!utf8_ok(v.p, v.len)) {
        return fog_errf(FOG_ERR_PROTO, "identify: %s is not UTF-8 without NUL", what);
    }
    return 0;
}

static int on_addr(walk *w, fog_slice v)
{
    fog_multiaddr ma;
    if (fog_multiaddr_from_bytes(&ma, v.p, v.len) < 0) {
        w->n_skipped += w->fill ? 0 : 1;
        return 0;
    }
    if (w->fill) {
        w->addrs[w->i_addr++] = ma;
        return 0;
    }
    if (w->n_addrs == FOG_IDENTIFY_MAX_ADDRS) {
        return fog_errf(FOG_ERR_LIMIT, "identify: more than %d listen addresses",
                        FOG_IDENTIFY_MAX_ADDRS);
    }
    w->n_addrs++;
    return 0;
}

static int on_protocol(walk *w, fog_slice v)
{
    if (w->fill) {
        char *s = w->strs + w->i_str;
        memcpy(s, v.p, v.len);
        s[v.len] = '\0';
        w->protos[w->i_proto++] = s;
        w->i_str += v.len + 1;
        return 0;
    }
    int rc = str_check(v, "a protocol ID");
    if (rc < 0) {
        return rc;
    }
    if (w->n_protos == FOG_IDENTIFY_MAX_PROTOCOLS) {
        return fog_errf(FOG_ERR_LIMIT, "identify: more than %d protocols",
                        FOG_IDENTIFY_MAX_PROTOCOLS);
    }
    w->n_protos++;
    w->str_bytes += v.len + 1; /* bounded: 256 strings of at most 1 KiB */
    return 0;
}

/* A singular field: the last one wins (protobuf merge). Checked in pass 1 only. */
static int on_single(walk *w, uint32_t field, fog_slice v)
{
    int rc = 0;
    switch (field) {
    case F_PUBLIC_KEY:
        w->key = v;
        break;
    case F_OBSERVED_ADDR:
        w->observed = v;
        w->has_observed = true;
        break;
    case F_PROTOCOL_VERSION:
        rc = str_check(v, "protocolVersion");
        w->pv = v;
        w->has_pv = true;
        break;
    case F_AGENT_VERSION:
        rc = str_check(v, "agentVersion");
        w->av = v;
        w->has_av = true;
        break;
    default:
        w->spr = v;
        break;
    }
    return rc;
}

static int on_field(walk *w, uint32_t field, fog_slice v)
{
    switch (field) {
    case F_LISTEN_ADDRS:
        return on_addr(w, v);
    case F_PROTOCOLS:
        return on_protocol(w, v);
    case F_PUBLIC_KEY:
    case F_OBSERVED_ADDR:
    case F_PROTOCOL_VERSION:
    case F_AGENT_VERSION:
    case F_SIGNED_PEER_RECORD:
        return w->fill ? 0 : on_single(w, field, v);
    default:
        return 0; /* unknown field: skipped */
    }
}

static bool known(uint32_t field)
{
    return (field >= F_PUBLIC_KEY && field <= F_AGENT_VERSION) || field == F_SIGNED_PEER_RECORD;
}

/* Every known field is length-delimited. Judged on the key alone, so a known field with another
 * wire type is FOG_ERR_PROTO even when its value is also cut short. */
static int key_check(const fog_pb_field *f)
{
    if (known(f->field) && f->wt != FOG_PB_LEN) {
        return fog_errf(FOG_ERR_PROTO, "identify: field %u has wire type %u", (unsigned)f->field,
                        (unsigned)f->wt);
    }
    return 0;
}

/* Reads one message's fields; unknown ones are skipped. */
static int fields_read(walk *w, fog_slice m)
{
    fog_reader r;
    fog_reader_init(&r, m.p, m.len);
    fog_pb_field f;
    int rc = 0;
    while (rc == 0 && fog_pb_next(&r, &f)) {
        rc = key_check(&f);
        rc = rc < 0 ? rc : on_field(w, f.field, f.v);
    }
    rc = rc < 0 ? rc : key_check(&f); /* a field that failed: f still holds its key */
    return rc < 0 ? rc : fog_pb_end(&r, "identify");
}

/* Walks every length-prefixed message of the stream. */
static int walk_stream(walk *w, const uint8_t *in, size_t len, size_t *n_msgs)
{
    fog_reader r;
    fog_reader_init(&r, in, len);
    size_t n = 0;
    while (r.left > 0) {
        if (n == FOG_IDENTIFY_MAX_MESSAGES) {
            return fog_errf(FOG_ERR_LIMIT, "identify: more than %d messages",
                            FOG_IDENTIFY_MAX_MESSAGES);
        }
        fog_slice m;
        fog_reader_lp(&r, FOG_IDENTIFY_MSG_MAX, &m);
        if (r.err < 0) {
            return fog_errf(r.err, "identify: message %zu passes %d bytes, is cut short or is "
                            "badly prefixed", n + 1, FOG_IDENTIFY_MSG_MAX);
        }
        int rc = fields_read(w, m);
        if (rc < 0) {
            return rc;
        }
        n++;
    }
    *n_msgs = n;
    return 0;
}

static char *copy_str(char **at, fog_slice v)
{
    char *s = *at;
    if (v.len > 0) {
        memcpy(s, v.p, v.len);
    }
    s[v.len] = '\0';
    *at += v.len + 1;
    return s;
}

/* Lays out one block: addresses, observed address, protocol pointers, then bytes. */
static int fill(fog_identify_parsed *out, walk *w, const uint8_t *in, size_t len)
{
    fog_multiaddr obs;
    bool obs_ok = w->has_observed &&
                  fog_multiaddr_from_bytes(&obs, w->observed.p, w->observed.len) == 0;
    size_t n_ma = w->n_addrs + 1;
    size_t bytes = w->str_bytes + w->key.len + w->spr.len + w->pv.len + w->av.len + 2;
    size_t total = n_ma * sizeof(fog_multiaddr) + w->n_protos * sizeof(char *) + bytes;
    uint8_t *mem = malloc(total); /* bounded: 257 addresses, 256 pointers, < 160 KiB of bytes */
    if (mem == NULL) {
        return FOG_ERR_NOMEM;
    }
    w->fill = true;
    w->addrs = (fog_multiaddr *)(void *)mem;
    w->protos = (const char **)(void *)(mem + n_ma * sizeof(fog_multiaddr));
    w->strs = (char *)(mem + n_ma * sizeof(fog_multiaddr) + w->n_protos * sizeof(char *));
    size_t n_msgs = 0;
    int rc = walk_stream(w, in, len, &n_msgs); /* same bytes, same result: cannot fail now */
    if (rc < 0) {
        free(mem);
        return rc;
    }
    fog_identify_msg *m = &out->msg;
    char *at = w->strs + w->str_bytes;
    memcpy(at, w->key.p != NULL ? w->key.p : (const uint8_t *)"", w->key.len);
    m->public_key = fog_slice_make(at, w->key.len);
    at += w->key.len;
    memcpy(at, w->spr.p != NULL ? w->spr.p : (const uint8_t *)"", w->spr.len);
    m->signed_peer_record = fog_slice_make(at, w->spr.len);
    at += w->spr.len;
    m->protocol_version = w->has_pv ? copy_str(&at, w->pv) : NULL;
    m->agent_version = w->has_av ? copy_str(&at, w->av) : NULL;
    m->listen_addrs = w->addrs;
    m->n_listen_addrs = w->n_addrs;
    m->protocols = w->protos;
    m->n_protocols = w->n_protos;
    if (obs_ok) {
        w->addrs[w->n_addrs] = obs;
        m->observed_addr = &w->addrs[w->n_addrs];
    }
    out->observed_skipped = w->has_observed && !obs_ok;
    out->mem = mem;
    return 0;
}

int fog_identify_parse(fog_identify_parsed *out, const uint8_t *in, size_t len)
{
    memset(out, 0, sizeof *out);
    if (len > FOG_IDENTIFY_STREAM_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "identify: stream of %zu bytes passes %d", len,
                        FOG_IDENTIFY_STREAM_MAX);
    }
    walk w;
    memset(&w, 0, sizeof w);
    size_t n_msgs = 0;
    int rc = walk_stream(&w, in, len, &n_msgs);
    if (rc == 0) {
        rc = fill(out, &w, in, len);
    }
    if (rc < 0) {
        memset(out, 0, sizeof *out);
        return rc;
    }
    out->n_messages = n_msgs;
    out->addrs_skipped = w.n_skipped;
    return 0;
}

void fog_identify_parsed_clear(fog_identify_parsed *p)
{
    if (p == NULL) {
        return;
    }
    free(p->mem);
    memset(p, 0, sizeof *p);
}
