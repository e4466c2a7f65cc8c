/* ipns.c: IPNS records: the IpnsEntry protobuf, validation, selection and creation.
 * Spec: ipfs/specs src/ipns/ipns-record.md ("Record Serialization Format", "Record Creation",
 * "Record Verification"); behaviour where the spec is silent from boxo ipns/record.go and
 * validation.go. The protobuf is read with fog_pb_next: fields 1..9 each at most once with the
 * wire type the spec's proto gives them (a repeated field would let two readers see two
 * records; Go keeps the last, fog refuses), unknown fields skipped as protobuf wants. Validation
 * runs in the spec's order and stops at the first failure. The V1 fields are compared with the
 * signed data exactly as boxo's validateCborDataMatchesPbData does: when signatureV1 or value is
 * present, all five must match, absent ones reading as empty or 0. Creation writes what boxo's
 * NewRecord writes by default: V1 fields and signatureV1 for old readers, then signatureV2 and
 * data; Go's proto.Marshal emits fields in number order, and so does this file.
 */
#include "fog/ipns.h"

#include <string.h>

#include "fog/crypto.h"
#include "fog/mf.h"
#include "names/internal.h"

#define PREFIX_LEN (sizeof FOG_IPNS_SIG_PREFIX - 1)

static int pb_field(fog_ipns_record *rec, const fog_pb_field *f)
{
    static const uint8_t wire[10] = {0,          FOG_PB_LEN,    FOG_PB_LEN,    FOG_PB_VARINT,
                                     FOG_PB_LEN, FOG_PB_VARINT, FOG_PB_VARINT, FOG_PB_LEN,
                                     FOG_PB_LEN, FOG_PB_LEN};
    if (f->wt != wire[f->field]) {
        return fog_errf(FOG_ERR_PROTO, "IPNS record: field %u has the wrong wire type", f->field);
    }
    switch (f->field) {
    case 1:
        rec->pb_value = f->v;
        break;
    case 2:
        rec->sig_v1 = f->v;
        break;
    case 3:
        rec->has_pb_validity_type = true;
        rec->pb_validity_type = f->num;
        break;
    case 4:
        rec->has_pb_validity = true;
        rec->pb_validity = f->v;
        break;
    case 5:
        rec->has_pb_sequence = true;
        rec->pb_sequence = f->num;
        break;
    case 6:
        rec->has_pb_ttl = true;
        rec->pb_ttl = f->num;
        break;
    case 7:
        rec->pub_key = f->v;
        break;
    case 8:
        rec->has_sig_v2 = true;
        rec->sig_v2 = f->v;
        break;
    default:
        rec->data = f->v;
        break;
    }
    return 0;
}

static int pb_parse(fog_ipns_record *rec, const uint8_t *in, size_t len)
{
    fog_reader r;
    fog_reader_init(&r, in, len);
    fog_pb_field f;
    unsigned seen = 0;
    while (fog_pb_next(&r, &f)) {
        if (f.field > 9) {
            continue;
        }
        if (seen & (1u << f.field)) {
            return fog_errf(FOG_ERR_PROTO, "IPNS record: field %u appears twice", f.field);
        }
        seen |= 1u << f.field;
        int rc = pb_field(rec, &f);
        if (rc < 0) {
            return rc;
        }
    }
    int rc = fog_pb_end(&r, "IPNS record");
    if (rc == 0 && rec->data.len == 0) {
        rc = fog_errf(FOG_ERR_PROTO, "IPNS record: no data (a V1-only record?)");
    }
    return rc;
}

int fog_ipns_parse(fog_ipns_record *out, const uint8_t *in, size_t len)
{
    memset(out, 0, sizeof *out);
    if (len > FOG_IPNS_RECORD_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "IPNS record: %zu bytes, more than %d", len,
                        FOG_IPNS_RECORD_MAX);
    }
    int rc = pb_parse(out, in, len);
    if (rc == 0) {
        rc = fog__ipns_data_decode(out);
    }
    if (rc == 0 && out->validity_type == FOG_IPNS_VALIDITY_EOL &&
        fog_ipns_time_parse(out->validity.p, out->validity.len, &out->eol) < 0) {
        rc = fog_errf(FOG_ERR_PROTO, "IPNS record: Validity is not an RFC 3339 time");
    }
    if (rc < 0) {
        memset(out, 0, sizeof *out);
    }
    return rc;
}

/* boxo validateCborDataMatchesPbData: every V1 field, absent read as empty or zero. */
static int v1_matches(const fog_ipns_record *rec)
{
    if (rec->sig_v1.len == 0 && rec->pb_value.len == 0) {
        return 0;
    }
    if (!fog_slice_eq(rec->pb_value, rec->value) ||
        !fog_slice_eq(rec->pb_validity, rec->validity) ||
        rec->pb_validity_type != rec->validity_type || rec->pb_sequence != rec->sequence ||
        rec->pb_ttl != rec->ttl_ns) {
        return fog_errf(FOG_ERR_AUTH, "IPNS record: a V1 field differs from the signed data");
    }
    return 0;
}

static int sig_v2_verify(const fog_ipns_record *rec, fog_slice name)
{
    size_t msg_len;
    if (fog_add_size(PREFIX_LEN, rec->data.len, &msg_len) < 0) {
        return FOG_ERR_LIMIT;
    }
    fog_buf msg;
    fog_buf_init(&msg);
    int rc = fog_buf_append(&msg, FOG_IPNS_SIG_PREFIX, PREFIX_LEN);
    if (rc == 0) {
        rc = fog_buf_append(&msg, rec->data.p, rec->data.len);
    }
    if (rc == 0) {
        rc = fog__ipns_verify(rec->pub_key, name, msg.p, msg.len, rec->sig_v2);
    }
    fog_buf_clear(&msg);
    return rc;
}

int fog_ipns_validate(const fog_ipns_record *rec, const uint8_t *name, size_t name_len,
                      fog_ipns_time now)
{
    if (rec->sig_v2.len == 0 || rec->data.len == 0) {
        return fog_errf(FOG_ERR_AUTH, "IPNS record: no signatureV2");
    }
    int rc = sig_v2_verify(rec, fog_slice_make(name, name_len));
    if (rc == 0) {
        rc = v1_matches(rec);
    }
    if (rc < 0) {
        return rc;
    }
    if (rec->validity_type != FOG_IPNS_VALIDITY_EOL) {
        return fog_errf(FOG_ERR_UNSUPPORTED, "IPNS record: validity type %llu",
                        (unsigned long long)rec->validity_type);
    }
    if (fog_ipns_time_cmp(now, rec->eol) > 0) {
        return fog_errf(FOG_ERR_EXPIRED, "IPNS record: expired at %.*s", (int)rec->validity.len,
                        (const char *)rec->validity.p);
    }
    return 0;
}

int fog_ipns_compare(const fog_ipns_record *a, const fog_ipns_record *b)
{
    if (a->has_sig_v2 != b->has_sig_v2) {
        return a->has_sig_v2 ? 1 : -1;
    }
    if (a->sequence != b->sequence) {
        return a->sequence > b->sequence ? 1 : -1;
    }
    return fog_ipns_time_cmp(a->eol, b->eol);
}

/* Appends one protobuf field: a varint (wt 0) or bytes (wt 2). */
static int put_varint(fog_buf *b, uint32_t field, uint64_t v)
{
    int rc = fog_buf_uvarint(b, (uint64_t)field << 3);
    return rc < 0 ? rc : fog_buf_uvarint(b, v);
}

static int put_bytes(fog_buf *b, uint32_t field, const uint8_t *p, size_t n)
{
    int rc = fog_buf_uvarint(b, (uint64_t)field << 3 | FOG_PB_LEN);
    rc = rc < 0 ? rc : fog_buf_uvarint(b, n);
    return rc < 0 || n == 0 ? rc : fog_buf_append(b, p, n);
}

/* Signs the concatenation of parts with the Ed25519 secret. */
static int sign_parts(const uint8_t secret[64], const fog_slice *parts, size_t n,
                      uint8_t sig[FOG_ED25519_SIG_LEN])
{
    fog_buf msg;
    fog_buf_init(&msg);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = parts[i].len == 0 ? 0 : fog_buf_append(&msg, parts[i].p, parts[i].len);
    }
    if (rc == 0) {
        fog_ed25519_sign(secret, msg.p, msg.len, sig);
    }
    fog_buf_clear(&msg);
    return rc;
}

typedef struct {
    const uint8_t *value;
    size_t value_len;
    char validity[FOG_IPNS_TIME_STR_MAX];
    size_t validity_len;
    uint64_t sequence;
    uint64_t ttl_ns;
    const fog_cid *version;
} create_args;

static int record_write(fog_buf *out, const uint8_t secret[64], const create_args *a, fog_buf *data)
{
    const uint8_t *vt = (const uint8_t *)a->validity;
    int rc = fog_ipns_data_encode(data, a->value, a->value_len, vt, a->validity_len, a->sequence,
                                  a->ttl_ns, a->version);
    uint8_t sig1[FOG_ED25519_SIG_LEN], sig2[FOG_ED25519_SIG_LEN];
    /* V1 signs value + validity + the validity type as Go prints the enum: "EOL". */
    const fog_slice v1[3] = {fog_slice_make(a->value, a->value_len),
                             fog_slice_make(vt, a->validity_len), fog_slice_make("EOL", 3)};
    rc = rc < 0 ? rc : sign_parts(secret, v1, 3, sig1);
    const fog_slice v2[2] = {fog_slice_make(FOG_IPNS_SIG_PREFIX, PREFIX_LEN),
                             fog_slice_make(data->p, data->len)};
    rc = rc < 0 ? rc : sign_parts(secret, v2, 2, sig2);
    rc = rc < 0 ? rc : put_bytes(out, 1, a->value, a->value_len);
    rc = rc < 0 ? rc : put_bytes(out, 2, sig1, sizeof sig1);
    rc = rc < 0 ? rc : put_varint(out, 3, FOG_IPNS_VALIDITY_EOL);
    rc = rc < 0 ? rc : put_bytes(out, 4, vt, a->validity_len);
    rc = rc < 0 ? rc : put_varint(out, 5, a->sequence);
    rc = rc < 0 ? rc : put_varint(out, 6, a->ttl_ns);
    rc = rc < 0 ? rc : put_bytes(out, 8, sig2, sizeof sig2);
    rc = rc < 0 ? rc : put_bytes(out, 9, data->p, data->len);
    return rc;
}

int fog_ipns_create(fog_buf *out, const uint8_t secret[64], const uint8_t *value, size_t value_len,
                    uint64_t sequence, int64_t eol_unix_ns, uint64_t ttl_ns)
{
    return fog_ipns_create_ext(out, secret, value, value_len, sequence, eol_unix_ns, ttl_ns,
                               NULL);
}

int fog_ipns_create_ext(fog_buf *out, const uint8_t secret[64], const uint8_t *value,
                        size_t value_len, uint64_t sequence, int64_t eol_unix_ns, uint64_t ttl_ns,
                        const fog_cid *version)
{
    if (sequence > (uint64_t)INT64_MAX || ttl_ns > (uint64_t)INT64_MAX) {
        return fog_errf(FOG_ERR_INVALID, "IPNS record: sequence and TTL must fit int64");
    }
    if (value_len > FOG_IPNS_RECORD_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "IPNS record: value too long");
    }
    create_args a = {
        .value = value,
        .value_len = value_len,
        .sequence = sequence,
        .ttl_ns = ttl_ns,
        .version = version};
    int n = fog_ipns_time_format(fog_ipns_time_from_ns(eol_unix_ns), a.validity);
    if (n < 0) {
        return n;
    }
    a.validity_len = (size_t)n;
    size_t start = out->len;
    fog_buf data;
    fog_buf_init(&data);
    int rc = record_write(out, secret, &a, &data);
    fog_buf_clear(&data);
    if (rc == 0 && out->len - start > FOG_IPNS_RECORD_MAX) {
        rc = fog_errf(FOG_ERR_LIMIT, "IPNS record: more than %d bytes", FOG_IPNS_RECORD_MAX);
    }
    if (rc < 0) {
        out->len = start;
    }
    return rc;
}

/* The name inside a DHT key "/ipns/<peer ID multihash>". */
static int key_name(const uint8_t *key, size_t key_len, fog_slice *name)
{
    size_t pl = sizeof FOG_IPNS_KEY_PREFIX - 1;
    if (key_len <= pl || memcmp(key, FOG_IPNS_KEY_PREFIX, pl) != 0 ||
        fog_peer_id_check(key + pl, key_len - pl) != 0) {
        return fog_errf(FOG_ERR_PROTO, "IPNS: a DHT key is /ipns/ and a peer ID multihash");
    }
    *name = fog_slice_make(key + pl, key_len - pl);
    return 0;
}

int fog_ipns_dht_validate(const uint8_t *key, size_t key_len, const uint8_t *value,
                          size_t value_len, fog_ipns_time now)
{
    fog_slice name;
    fog_ipns_record rec;
    int rc = key_name(key, key_len, &name);
    if (rc == 0) {
        rc = fog_ipns_parse(&rec, value, value_len);
    }
    if (rc == 0) {
        rc = fog_ipns_validate(&rec, name.p, name.len, now);
    }
    return rc;
}

static int bytes_cmp(fog_slice a, fog_slice b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n > 0 ? memcmp(a.p, b.p, n) : 0;
    if (c != 0) {
        return c < 0 ? -1 : 1;
    }
    return a.len == b.len ? 0 : a.len < b.len ? -1 : 1;
}

int fog_ipns_dht_select(const uint8_t *key, size_t key_len, const fog_slice *values, size_t n,
                        size_t *index_out)
{
    fog_slice name;
    int rc = key_name(key, key_len, &name);
    if (rc < 0) {
        return rc;
    }
    if (n == 0) {
        return fog_errf(FOG_ERR_INVALID, "IPNS: no records to select from");
    }
    fog_ipns_record best, cur;
    if ((rc = fog_ipns_parse(&best, values[0].p, values[0].len)) < 0) {
        return rc;
    }
    size_t bi = 0;
    for (size_t j = 1; j < n; j++) {
        if ((rc = fog_ipns_parse(&cur, values[j].p, values[j].len)) < 0) {
            return rc;
        }
        int c = fog_ipns_compare(&best, &cur);
        if (c == 0) {
            c = bytes_cmp(values[bi], values[j]);
        }
        if (c < 0) {
            best = cur;
            bi = j;
        }
    }
    *index_out = bi;
    return 0;
}
