/* multiaddr.c: multiaddr binary and text forms (multiformats/multiaddr README; codes from the
 * multicodec table.csv; PROTOCOLS.md 1.5).
 * One table lists each protocol fog knows with its text name and the kind of its value: an IPv4
 * or IPv6 address, a 2-byte big-endian port, a length-prefixed name (dns, dns4, dns6, dnsaddr,
 * sni), a length-prefixed peer ID multihash (p2p), a length-prefixed multihash (certhash) or
 * nothing (quic-v1, ws, p2p-circuit...). Binary and text parsers share one rule per kind, so an
 * address accepted in one form is accepted in the other. Every value is validated when a
 * component is added, so a fog_multiaddr always holds a valid address and the accessors need no
 * error paths of their own.
 * Interop notes: go-multiaddr trims trailing slashes from text and accepts "/ipfs/" as the old
 * name of "/p2p/"; both are followed here. Names may hold any byte but '/', NUL and control
 * characters (go-multiaddr only forbids '/'; the others would make log lines lie).
 */
#include "fog/multiaddr.h"

#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>

#include "fog/mf.h"

enum { K_NONE, K_IP4, K_IP6, K_PORT, K_NAME, K_PEER, K_MHASH };

typedef struct {
    uint64_t code;
    const char *name;
    int kind;
} proto_info;

static const proto_info protos[] = {
    {FOG_MA_IP4, "ip4", K_IP4},
    {FOG_MA_TCP, "tcp", K_PORT},
    {FOG_MA_IP6, "ip6", K_IP6},
    {FOG_MA_DNS, "dns", K_NAME},
    {FOG_MA_DNS4, "dns4", K_NAME},
    {FOG_MA_DNS6, "dns6", K_NAME},
    {FOG_MA_DNSADDR, "dnsaddr", K_NAME},
    {FOG_MA_UDP, "udp", K_PORT},
    {FOG_MA_WEBRTC_DIRECT, "webrtc-direct", K_NONE},
    {FOG_MA_WEBRTC, "webrtc", K_NONE},
    {FOG_MA_P2P_CIRCUIT, "p2p-circuit", K_NONE},
    {FOG_MA_P2P, "p2p", K_PEER},
    {FOG_MA_HTTPS, "https", K_NONE},
    {FOG_MA_TLS, "tls", K_NONE},
    {FOG_MA_SNI, "sni", K_NAME},
    {FOG_MA_NOISE, "noise", K_NONE},
    {FOG_MA_QUIC, "quic", K_NONE},
    {FOG_MA_QUIC_V1, "quic-v1", K_NONE},
    {FOG_MA_WEBTRANSPORT, "webtransport", K_NONE},
    {FOG_MA_CERTHASH, "certhash", K_MHASH},
    {FOG_MA_WS, "ws", K_NONE},
    {FOG_MA_WSS, "wss", K_NONE},
    {FOG_MA_HTTP, "http", K_NONE},
};

#define NPROTOS (sizeof protos / sizeof protos[0])

static const proto_info *by_code(uint64_t code)
{
    for (size_t i = 0; i < NPROTOS; i++) {
        if (protos[i].code == code) {
            return &protos[i];
        }
    }
    return NULL;
}

static const proto_info *by_name(const char *name, size_t len)
{
    if (len == 4 && memcmp(name, "ipfs", 4) == 0) {
        return by_code(FOG_MA_P2P); /* the legacy name (go-multiaddr, js-multiaddr) */
    }
    for (size_t i = 0; i < NPROTOS; i++) {
        if (strlen(protos[i].name) == len && memcmp(protos[i].name, name, len) == 0) {
            return &protos[i];
        }
    }
    return NULL;
}

const char *fog_multiaddr_proto_name(uint64_t code)
{
    const proto_info *pi = by_code(code);
    return pi != NULL ? pi->name : NULL;
}

/* The fixed size of a value, or 0 for a length-prefixed one (K_NONE has no value at all). */
static size_t fixed_size(int kind)
{
    switch (kind) {
    case K_IP4:
        return 4;
    case K_IP6:
        return 16;
    case K_PORT:
        return 2;
    default:
        return 0;
    }
}

static bool is_lp(int kind)
{
    return kind == K_NAME || kind == K_PEER || kind == K_MHASH;
}

static int name_check(const uint8_t *p, size_t len)
{
    if (len == 0 || len > FOG_MULTIADDR_NAME_MAX) {
        return FOG_ERR_PROTO;
    }
    for (size_t i = 0; i < len; i++) {
        if (p[i] == '/' || p[i] < 0x20 || p[i] == 0x7f) {
            return FOG_ERR_PROTO;
        }
    }
    return 0;
}

static int mhash_check(const uint8_t *p, size_t len)
{
    fog_reader r;
    fog_reader_init(&r, p, len);
    fog_mh mh;
    fog_mh_read(&r, &mh);
    if (r.err < 0) {
        return r.err == FOG_ERR_UNSUPPORTED ? r.err : FOG_ERR_PROTO;
    }
    return r.left == 0 ? 0 : FOG_ERR_PROTO;
}

/* The rules a value must meet, whichever form it came from. */
static int value_check(const proto_info *pi, const uint8_t *p, size_t len)
{
    size_t fixed = fixed_size(pi->kind);
    if (fixed != 0 || pi->kind == K_NONE) {
        return len == fixed ? 0 : FOG_ERR_PROTO;
    }
    switch (pi->kind) {
    case K_NAME:
        return name_check(p, len);
    case K_PEER: {
        int rc = fog_peer_id_check(p, len);
        return rc == FOG_ERR_TRUNCATED ? FOG_ERR_PROTO : rc;
    }
    default:
        return mhash_check(p, len);
    }
}

/* Appends code and value to ma after the checks; ma is unchanged on failure. */
static int append(fog_multiaddr *ma, const proto_info *pi, const uint8_t *value, size_t len)
{
    int rc = value_check(pi, value, len);
    if (rc < 0) {
        return rc;
    }
    uint8_t head[2 * FOG_UVARINT_MAX];
    size_t hn = fog_uvarint_put(head, pi->code);
    if (is_lp(pi->kind)) {
        hn += fog_uvarint_put(head + hn, len);
    }
    if (hn + len > FOG_MULTIADDR_MAX - ma->len) {
        return FOG_ERR_LIMIT;
    }
    memcpy(ma->bytes + ma->len, head, hn);
    if (len > 0) {
        memcpy(ma->bytes + ma->len + hn, value, len);
    }
    ma->len += hn + len;
    return 0;
}

int fog_multiaddr_push(fog_multiaddr *ma, uint64_t code, const uint8_t *value, size_t value_len)
{
    const proto_info *pi = by_code(code);
    if (pi == NULL) {
        return FOG_ERR_UNSUPPORTED;
    }
    return append(ma, pi, value, value_len);
}

/* Reads one component from r; errors on r->err. */
static void component_read(fog_reader *r, fog_ma_component *c)
{
    fog_reader_uvarint(r, &c->code);
    if (r->err < 0) {
        return;
    }
    const proto_info *pi = by_code(c->code);
    if (pi == NULL) {
        fog_reader_fail(r, FOG_ERR_UNSUPPORTED);
        return;
    }
    uint64_t n = fixed_size(pi->kind);
    if (is_lp(pi->kind)) {
        fog_reader_uvarint(r, &n);
        if (r->err == 0 && n > r->left) {
            fog_reader_fail(r, FOG_ERR_TRUNCATED);
        }
    }
    fog_reader_bytes(r, (size_t)n, &c->value);
    if (r->err == 0) {
        int rc = value_check(pi, c->value.p, c->value.len);
        if (rc < 0) {
            fog_reader_fail(r, rc);
        }
    }
}

int fog_multiaddr_from_bytes(fog_multiaddr *out, const uint8_t *p, size_t len)
{
    if (len == 0) {
        return FOG_ERR_PROTO;
    }
    if (len > FOG_MULTIADDR_MAX) {
        return FOG_ERR_LIMIT;
    }
    fog_reader r;
    fog_reader_init(&r, p, len);
    while (r.err == 0 && r.left > 0) {
        fog_ma_component c;
        component_read(&r, &c);
    }
    if (r.err < 0) {
        return r.err;
    }
    out->len = len;
    memcpy(out->bytes, p, len);
    return 0;
}

int fog_multiaddr_next(const fog_multiaddr *ma, size_t *off, fog_ma_component *c)
{
    if (*off >= ma->len) {
        return 0;
    }
    fog_reader r;
    fog_reader_init(&r, ma->bytes + *off, ma->len - *off);
    component_read(&r, c);
    if (r.err < 0) {
        return 0; /* not reached for a fog_multiaddr filled by this file */
    }
    *off = ma->len - r.left;
    return 1;
}

bool fog_multiaddr_eq(const fog_multiaddr *a, const fog_multiaddr *b)
{
    return a->len == b->len && memcmp(a->bytes, b->bytes, a->len) == 0;
}

bool fog_multiaddr_find(const fog_multiaddr *ma, uint64_t code, fog_slice *value_out)
{
    size_t off = 0;
    fog_ma_component c;
    while (fog_multiaddr_next(ma, &off, &c) == 1) {
        if (c.code == code) {
            *value_out = c.value;
            return true;
        }
    }
    return false;
}

int fog_multiaddr_ip(const fog_multiaddr *ma, int *family_out, uint8_t ip_out[16])
{
    size_t off = 0;
    fog_ma_component c;
    while (fog_multiaddr_next(ma, &off, &c) == 1) {
        if (c.code == FOG_MA_IP4 || c.code == FOG_MA_IP6) {
            *family_out = c.code == FOG_MA_IP4 ? 4 : 6;
            memcpy(ip_out, c.value.p, c.value.len);
            return 0;
        }
    }
    return FOG_ERR_NOT_FOUND;
}

int fog_multiaddr_port(const fog_multiaddr *ma, uint64_t code, uint16_t *port_out)
{
    fog_slice v;
    if ((code != FOG_MA_TCP && code != FOG_MA_UDP) || !fog_multiaddr_find(ma, code, &v)) {
        return FOG_ERR_NOT_FOUND;
    }
    *port_out = (uint16_t)((unsigned)v.p[0] << 8 | v.p[1]);
    return 0;
}

int fog_multiaddr_peer_id(const fog_multiaddr *ma, fog_slice *id_out)
{
    size_t off = 0;
    fog_ma_component c;
    bool found = false;
    while (fog_multiaddr_next(ma, &off, &c) == 1) {
        if (c.code == FOG_MA_P2P) {
            *id_out = c.value;
            found = true;
        }
    }
    return found ? 0 : FOG_ERR_NOT_FOUND;
}

int fog_multiaddr_ip_tcp(fog_multiaddr *out, int family, const uint8_t *ip, uint16_t port)
{
    if (family != 4 && family != 6) {
        return FOG_ERR_INVALID;
    }
    fog_multiaddr ma = {0};
    uint8_t be[2] = {(uint8_t)(port >> 8), (uint8_t)(port & 0xff)};
    int rc = fog_multiaddr_push(&ma, family == 4 ? FOG_MA_IP4 : FOG_MA_IP6, ip,
                                family == 4 ? 4 : 16);
    if (rc < 0 || (rc = fog_multiaddr_push(&ma, FOG_MA_TCP, be, 2)) < 0) {
        return rc;
    }
    *out = ma;
    return 0;
}

/* ---- text ---- */

static int text_fail(int rc, const char *s, size_t len, const char *why)
{
    int shown = len > 120 ? 120 : (int)len;
    return fog_errf(rc, "invalid multiaddr \"%.*s%s\": %s", shown, s, len > 120 ? "..." : "", why);
}

/* Decimal 0..65535, digits only. */
static int port_parse(const char *t, size_t len, uint8_t out[2])
{
    if (len == 0 || len > 5) {
        return FOG_ERR_PROTO;
    }
    unsigned v = 0;
    for (size_t i = 0; i < len; i++) {
        if (t[i] < '0' || t[i] > '9') {
            return FOG_ERR_PROTO;
        }
        v = v * 10 + (unsigned)(t[i] - '0');
    }
    if (v > 65535) {
        return FOG_ERR_PROTO;
    }
    out[0] = (uint8_t)(v >> 8);
    out[1] = (uint8_t)(v & 0xff);
    return 0;
}

/* The binary value of one text value token; returns its length. */
static int value_parse(const proto_info *pi, const char *t, size_t len, uint8_t *out, size_t cap)
{
    char z[FOG_PEER_ID_TEXT_MAX + 1]; /* a NUL-terminated copy for inet_pton and the mf parsers */
    if (pi->kind != K_NAME && pi->kind != K_PORT) {
        if (len >= sizeof z) {
            return FOG_ERR_PROTO;
        }
        memcpy(z, t, len);
        z[len] = '\0';
    }
    switch (pi->kind) {
    case K_IP4:
        return inet_pton(AF_INET, z, out) == 1 ? 4 : FOG_ERR_PROTO;
    case K_IP6:
        return inet_pton(AF_INET6, z, out) == 1 ? 16 : FOG_ERR_PROTO;
    case K_PORT:
        return port_parse(t, len, out) < 0 ? FOG_ERR_PROTO : 2;
    case K_NAME:
        if (len > cap) {
            return FOG_ERR_PROTO;
        }
        memcpy(out, t, len);
        return (int)len;
    case K_PEER:
        return fog_peer_id_parse(z, out);
    default: {
        int n = fog_multibase_decode(z, len, out, cap, NULL);
        return n == FOG_ERR_LIMIT ? FOG_ERR_PROTO : n;
    }
    }
}

/* The token from s[*pos] to the next '/' or end; *pos moves past it and its '/'. */
static void token(const char *s, size_t end, size_t *pos, const char **t, size_t *tlen)
{
    *t = s + *pos;
    size_t i = *pos;
    while (i < end && s[i] != '/') {
        i++;
    }
    *tlen = i - *pos;
    *pos = i < end ? i + 1 : end;
}

/* Parses one "name[/value]" starting at *pos into ma. */
static int text_component(fog_multiaddr *ma, const char *s, size_t end, size_t *pos)
{
    const char *t;
    size_t tlen;
    token(s, end, pos, &t, &tlen);
    if (tlen == 0) {
        return text_fail(FOG_ERR_PROTO, s, end, "empty protocol name");
    }
    const proto_info *pi = by_name(t, tlen);
    if (pi == NULL) {
        char why[96];
        snprintf(why, sizeof why, "unknown protocol \"%.*s\"", tlen > 40 ? 40 : (int)tlen, t);
        return text_fail(FOG_ERR_UNSUPPORTED, s, end, why);
    }
    uint8_t value[FOG_MULTIADDR_MAX];
    int n = 0;
    if (pi->kind != K_NONE) {
        bool last = *pos >= end; /* the name ended the text: trailing slashes were trimmed */
        token(s, end, pos, &t, &tlen);
        if (last || tlen == 0) {
            return text_fail(FOG_ERR_PROTO, s, end, "a protocol without its value");
        }
        n = value_parse(pi, t, tlen, value, sizeof value);
        if (n < 0) {
            char why[96];
            snprintf(why, sizeof why, "bad /%s value \"%.*s\"", pi->name,
                     tlen > 60 ? 60 : (int)tlen, t);
            return text_fail(FOG_ERR_PROTO, s, end, why);
        }
    }
    int rc = append(ma, pi, value, (size_t)n);
    if (rc < 0) {
        return text_fail(rc, s, end, rc == FOG_ERR_LIMIT ? "too long" : "bad value");
    }
    return 0;
}

int fog_multiaddr_parse(fog_multiaddr *out, const char *s)
{
    size_t len = strnlen(s, FOG_MULTIADDR_STR_MAX);
    if (len >= FOG_MULTIADDR_STR_MAX) {
        return text_fail(FOG_ERR_LIMIT, s, len, "too long");
    }
    if (len == 0 || s[0] != '/') {
        return text_fail(FOG_ERR_PROTO, s, len, "does not start with '/'");
    }
    size_t end = len;
    while (end > 0 && s[end - 1] == '/') {
        end--;
    }
    if (end == 0) {
        return text_fail(FOG_ERR_PROTO, s, len, "empty");
    }
    fog_multiaddr ma = {0};
    size_t pos = 1;
    while (pos < end) {
        int rc = text_component(&ma, s, end, &pos);
        if (rc < 0) {
            return rc;
        }
    }
    *out = ma;
    return 0;
}

/* A bounded string builder: overflow is remembered, never written past cap. */
typedef struct {
    char *p;
    size_t cap;
    size_t len;
    bool over;
} sbuf;

static void put(sbuf *b, const char *s, size_t n)
{
    if (b->over || n >= b->cap - b->len) {
        b->over = true;
        return;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void put_value(sbuf *b, const fog_ma_component *c, int kind)
{
    char tmp[FOG_MULTIADDR_MAX * 2 + 8];
    const uint8_t *v = c->value.p;
    int n = 0;
    switch (kind) {
    case K_IP4:
        n = snprintf(tmp, sizeof tmp, "%u.%u.%u.%u", v[0], v[1], v[2], v[3]);
        break;
    case K_IP6:
        n = inet_ntop(AF_INET6, v, tmp, sizeof tmp) != NULL ? (int)strlen(tmp) : -1;
        break;
    case K_PORT:
        n = snprintf(tmp, sizeof tmp, "%u", (unsigned)v[0] << 8 | v[1]);
        break;
    case K_NAME:
        put(b, (const char *)v, c->value.len);
        return;
    case K_PEER:
        n = fog_peer_id_format(v, c->value.len, tmp, sizeof tmp);
        break;
    default:
        n = fog_multibase_encode(FOG_BASE64URL, v, c->value.len, tmp, sizeof tmp);
        break;
    }
    if (n < 0) {
        b->over = true; /* not reached: tmp holds any value of a valid address */
        return;
    }
    put(b, tmp, (size_t)n);
}

int fog_multiaddr_format(const fog_multiaddr *ma, char *out, size_t cap)
{
    if (cap == 0) {
        return FOG_ERR_LIMIT;
    }
    sbuf b = {out, cap, 0, false};
    out[0] = '\0';
    size_t off = 0;
    fog_ma_component c;
    while (fog_multiaddr_next(ma, &off, &c) == 1) {
        const proto_info *pi = by_code(c.code);
        put(&b, "/", 1);
        put(&b, pi->name, strlen(pi->name));
        if (pi->kind != K_NONE) {
            put(&b, "/", 1);
            put_value(&b, &c, pi->kind);
        }
    }
    if (b.over) {
        out[0] = '\0';
        return FOG_ERR_LIMIT;
    }
    return (int)b.len;
}

const char *fog_multiaddr_str(const fog_multiaddr *ma)
{
    static _Thread_local char buf[FOG_MULTIADDR_STR_MAX];
    if (fog_multiaddr_format(ma, buf, sizeof buf) < 0 || ma->len == 0) {
        snprintf(buf, sizeof buf, "<empty multiaddr>");
    }
    return buf;
}
