/* cmd_name_inspect.c: `fog name inspect [--verify NAME [--compare OTHER]] [FILE]`, kubo's
 * `ipfs name inspect`: the fields of one serialized IPNS record (ipfs/specs ipns-record.md;
 * fog/ipns.h) from FILE or stdin, and with --verify whether it is a valid record of NAME now.
 * Reading stops after FOG_IPNS_RECORD_MAX + 1 bytes, so any larger input is refused as too large
 * without reading it whole. The output follows kubo's text encoder: one "Label: value" line per
 * field (Value and the signatures' presence, the TTL in nanoseconds, the data map as compact
 * DAG-JSON), the data map's keys beyond the five of the spec by name ("Extra Keys", such as
 * fog's FogVersion history link, also shown as a CID in "Fog Version" when it holds one), then
 * "This record was not validated." or the validation results. Unlike kubo, an invalid record
 * exits 1, and each reason starts with a word that tells the kinds apart: "expired", "wrong key"
 * (the record carries a public key that is not NAME's), "bad signature" (signatureV2 does not
 * verify with NAME's key, or a V1 field differs from the signed data: a tampered record, or one
 * signed by another Ed25519 key, whose key is not in the record), "no public key",
 * "unsupported", and with --compare OTHER "lower sequence" or "older" (OTHER, a valid record of
 * NAME, is preferred by boxo's selection rules). A record too large or malformed to parse is an
 * error line (exit 1), with or without --verify.
 * Also the helpers of ipnsrec.h, which `fog dht get|put` share.
 */
#include "cli.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "dag/cbor.h"
#include "fog/crypto.h"
#include "fog/ipns.h"
#include "fog/mf.h"
#include "ipnsrec.h"

#define LABEL_W 15 /* kubo's tabwriter: the widest label, "Validity Type:", and one space */

/* --- ipnsrec.h ----------------------------------------------------------------------------- */

int cli_ipns_read(const char *path, uint8_t buf[FOG_IPNS_RECORD_MAX + 1], size_t *len_out)
{
    bool std = path == NULL || strcmp(path, "-") == 0;
    const char *what = std ? "standard input" : path;
    int fd = std ? 0 : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return cli_failf("cannot read %s: %s", what, strerror(errno));
    }
    const size_t cap = FOG_IPNS_RECORD_MAX + 1;
    size_t len = 0;
    int err = 0;
    while (len < cap) {
        ssize_t n = read(fd, buf + len, cap - len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            err = n < 0 ? errno : 0;
            break;
        }
        len += (size_t)n;
    }
    if (!std) {
        close(fd);
    }
    if (err != 0) {
        return cli_failf("cannot read %s: %s", what, strerror(err));
    }
    if (len > FOG_IPNS_RECORD_MAX) {
        return cli_failf("%s: too large: more than %d bytes, the IPNS record size limit", what,
                         FOG_IPNS_RECORD_MAX);
    }
    if (len == 0) {
        return cli_failf("%s is empty: no IPNS record", what);
    }
    *len_out = len;
    return CLI_OK;
}

size_t cli_ipns_name(const char *text, uint8_t id[FOG_PEER_ID_MAX])
{
    const size_t plen = sizeof FOG_IPNS_KEY_PREFIX - 1;
    const char *s = strncmp(text, FOG_IPNS_KEY_PREFIX, plen) == 0 ? text + plen : text;
    int n = fog_peer_id_parse(s, id);
    if (n <= 0) {
        cli_fail(n < 0 ? n : FOG_ERR_PROTO);
        return 0;
    }
    return (size_t)n;
}

size_t cli_ipns_key(const char *text, uint8_t key[CLI_IPNS_KEY_MAX])
{
    const size_t plen = sizeof FOG_IPNS_KEY_PREFIX - 1;
    if (strncmp(text, FOG_IPNS_KEY_PREFIX, plen) != 0) {
        cli_failf("invalid key \"%s\": fog's DHT keys are /ipns/NAME", text);
        return 0;
    }
    uint8_t id[FOG_PEER_ID_MAX];
    size_t n = cli_ipns_name(text + plen, id);
    if (n == 0) {
        return 0;
    }
    memcpy(key, FOG_IPNS_KEY_PREFIX, plen);
    memcpy(key + plen, id, n);
    return plen + n;
}

/* --- The data map as DAG-JSON -------------------------------------------------------------- */

static json_t *item_json(fog_reader *r, unsigned depth);

/* Bytes as DAG-JSON writes them: {"/": {"bytes": unpadded standard base64}}. */
static json_t *bytes_json(fog_slice s)
{
    size_t cap = s.len / 3 * 4 + 8;
    char *b64 = malloc(cap);
    if (b64 == NULL || fog_base_encode(FOG_BASE64, s.p, s.len, b64, cap) < 0) {
        free(b64);
        return NULL;
    }
    json_t *v = json_pack("{s:{s:s}}", "/", "bytes", b64);
    free(b64);
    return v;
}

/* An integer too large for json_int_t, as a (rounded) number. */
static json_t *int_json(bool negative, uint64_t arg)
{
    if (arg <= (uint64_t)INT64_MAX) {
        return json_integer(negative ? -1 - (json_int_t)arg : (json_int_t)arg);
    }
    return json_real(negative ? -1.0 - (double)arg : (double)arg);
}

static json_t *container_json(fog_reader *r, const fog__cbor_head *h, unsigned depth)
{
    if (h->arg > r->left) {
        fog_reader_fail(r, FOG_ERR_TRUNCATED); /* each item takes a byte at least */
        return NULL;
    }
    bool map = h->major == FOG__CBOR_MAP;
    json_t *v = map ? json_object() : json_array();
    fog_slice prev = {0};
    for (uint64_t i = 0; i < h->arg && r->err == 0 && v != NULL; i++) {
        fog_slice key = {0};
        if (map) {
            fog__cbor_key_read(r, &prev, i == 0, &key);
        }
        json_t *item = r->err == 0 ? item_json(r, depth + 1) : NULL;
        int rc = item == NULL ? -1
                 : map        ? json_object_setn_new(v, (const char *)key.p, key.len, item)
                              : json_array_append_new(v, item);
        if (rc < 0) {
            json_decref(v);
            v = NULL;
        }
    }
    return v;
}

static json_t *simple_json(const fog__cbor_head *h)
{
    switch (h->info) {
    case 20:
        return json_false();
    case 21:
        return json_true();
    case 22:
        return json_null();
    case 27: {
        double d;
        memcpy(&d, &h->arg, sizeof d);
        return json_real(d);
    }
    default:
        return NULL;
    }
}

/* One DAG-CBOR item (already checked by fog_ipns_parse) as DAG-JSON; NULL on failure. */
static json_t *item_json(fog_reader *r, unsigned depth)
{
    if (depth > FOG_IPNS_CBOR_DEPTH_MAX) {
        fog_reader_fail(r, FOG_ERR_LIMIT);
        return NULL;
    }
    fog_reader at = *r; /* a link is read again from its tag */
    fog__cbor_head h;
    fog__cbor_head_read(r, &h);
    if (r->err != 0) {
        return NULL;
    }
    fog_slice s = {0};
    fog_cid c;
    switch (h.major) {
    case FOG__CBOR_UINT:
    case FOG__CBOR_NEGINT:
        return int_json(h.major == FOG__CBOR_NEGINT, h.arg);
    case FOG__CBOR_BYTES:
    case FOG__CBOR_TEXT:
        fog__cbor_string(r, &h, &s);
        if (r->err != 0) {
            return NULL;
        }
        return h.major == FOG__CBOR_BYTES ? bytes_json(s) : json_stringn((const char *)s.p, s.len);
    case FOG__CBOR_ARRAY:
    case FOG__CBOR_MAP:
        return container_json(r, &h, depth);
    case FOG__CBOR_TAG:
        *r = at;
        fog__cbor_link_read(r, &c);
        return r->err != 0 ? NULL : json_pack("{s:s}", "/", fog_cid_str(&c));
    default:
        return simple_json(&h);
    }
}

static bool is_spec_key(const char *k)
{
    static const char *const keys[] = {"TTL", "Value", "Sequence", "Validity", "ValidityType"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        if (strcmp(k, keys[i]) == 0) {
            return true;
        }
    }
    return false;
}

/* "Data:" (compact DAG-JSON, keys sorted as kubo's encoder sorts them) and "Extra Keys:". */
static void print_data(const fog_ipns_record *rec)
{
    fog_reader r;
    fog_reader_init(&r, rec->data.p, rec->data.len);
    json_t *v = item_json(&r, 0);
    char *text = v != NULL ? json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    printf("%-*s%s\n", LABEL_W, "Data:", text != NULL ? text : "(not shown)");
    free(text);
    const char *k;
    json_t *item;
    bool any = false;
    json_object_foreach(v, k, item) {
        if (is_spec_key(k)) {
            continue;
        }
        if (!any) {
            printf("%-*s%s", LABEL_W, "Extra Keys:", k);
        } else {
            printf(", %s", k);
        }
        any = true;
    }
    if (any) {
        printf("\n");
    }
    json_decref(v);
}

/* --- The fields ---------------------------------------------------------------------------- */

/* s as Go's %q shows a string: quoted, '"' and '\' escaped, bytes outside printable ASCII as
 * \xNN. */
static void print_quoted(fog_slice s)
{
    putchar('"');
    for (size_t i = 0; i < s.len; i++) {
        uint8_t c = s.p[i];
        if (c == '"' || c == '\\') {
            printf("\\%c", c);
        } else if (c >= 0x20 && c < 0x7f) {
            putchar(c);
        } else {
            printf("\\x%02x", c);
        }
    }
    printf("\"\n");
}

/* The peer ID of a libp2p PublicKey protobuf (libp2p/specs peer-ids: identity multihash when at
 * most 42 bytes, else sha2-256) as base58btc into out; false when it is too long to show. */
static bool key_peer_id(fog_slice pub, char *out, size_t cap)
{
    uint8_t id[2 + 64];
    size_t n;
    if (pub.len <= FOG_PEER_ID_INLINE_MAX) {
        id[0] = 0x00;
        id[1] = (uint8_t)pub.len;
        memcpy(id + 2, pub.p, pub.len);
        n = 2 + pub.len;
    } else {
        id[0] = 0x12;
        id[1] = FOG_SHA256_LEN;
        fog_sha256(pub.p, pub.len, id + 2);
        n = 2 + FOG_SHA256_LEN;
    }
    return fog_peer_id_format(id, n, out, cap) > 0;
}

static void print_presence(const char *label, bool present, size_t len)
{
    if (present) {
        printf("%-*spresent, %zu bytes\n", LABEL_W, label, len);
    } else {
        printf("%-*sabsent\n", LABEL_W, label);
    }
}

static void print_fields(const fog_ipns_record *rec)
{
    printf("%-*s", LABEL_W, "Value:");
    print_quoted(rec->value);
    if (rec->validity_type == FOG_IPNS_VALIDITY_EOL) {
        char t[FOG_IPNS_TIME_STR_MAX];
        printf("%-*s\"EOL\"\n", LABEL_W, "Validity Type:");
        printf("%-*s%s\n", LABEL_W, "Validity:",
               fog_ipns_time_format(rec->eol, t) > 0 ? t : "(out of range)");
    } else {
        printf("%-*s%" PRIu64 "\n", LABEL_W, "Validity Type:", rec->validity_type);
    }
    printf("%-*s%" PRIu64 "\n", LABEL_W, "Sequence:", rec->sequence);
    printf("%-*s%" PRIu64 "\n", LABEL_W, "TTL:", rec->ttl_ns);
    char id[128];
    if (rec->pub_key.len == 0) {
        printf("%-*sabsent (the name inlines its key)\n", LABEL_W, "PublicKey:");
    } else if (key_peer_id(rec->pub_key, id, sizeof id)) {
        printf("%-*s%s\n", LABEL_W, "PublicKey:", id);
    } else {
        printf("%-*spresent, %zu bytes\n", LABEL_W, "PublicKey:", rec->pub_key.len);
    }
    print_presence("Signature V1:", rec->sig_v1.len > 0, rec->sig_v1.len);
    print_presence("Signature V2:", rec->sig_v2.len > 0, rec->sig_v2.len);
    print_data(rec);
    if (rec->has_version) {
        printf("%-*s%s\n", LABEL_W, "Fog Version:", fog_cid_str(&rec->version));
    }
}

/* --- Validation ---------------------------------------------------------------------------- */

static fog_ipns_time wall_now(void)
{
    return fog_ipns_time_from_ns(fog_wall_ns());
}

/* The reason line of a fog_ipns_validate failure, its kind first. */
static void reason_text(int rc, const fog_ipns_record *rec, char *out, size_t cap)
{
    const char *detail = fog_err_detail(rc);
    char id[128];
    switch (rc) {
    case FOG_ERR_EXPIRED:
        snprintf(out, cap, "expired: %s", detail);
        break;
    case FOG_ERR_WRONG_KEY:
        snprintf(out, cap, "wrong key: the record is signed by %s, not by the name's key",
                 key_peer_id(rec->pub_key, id, sizeof id) ? id : "another key");
        break;
    case FOG_ERR_AUTH:
        snprintf(out, cap, "bad signature: %s (tampered, or signed by another key)", detail);
        break;
    case FOG_ERR_NOT_FOUND:
        snprintf(out, cap, "no public key: %s", detail);
        break;
    case FOG_ERR_UNSUPPORTED:
        snprintf(out, cap, "unsupported: %s", detail);
        break;
    default:
        snprintf(out, cap, "malformed: %s", detail);
        break;
    }
}

typedef struct {
    uint8_t id[FOG_PEER_ID_MAX];
    size_t id_len;
    const char *compare; /* OTHER's path, or NULL */
} verify_args;

/* rec (bytes in) against OTHER's record: "" when rec is preferred or equal, else the reason.
 * CLI_FAIL (printed) when OTHER cannot be read or is not a valid record of the name. */
static int compare_other(const verify_args *va, const fog_ipns_record *rec, fog_slice in,
                         char *reason, size_t cap)
{
    static uint8_t buf[FOG_IPNS_RECORD_MAX + 1];
    size_t len = 0;
    if (cli_ipns_read(va->compare, buf, &len) != CLI_OK) {
        return CLI_FAIL;
    }
    fog_ipns_record other;
    int rc = fog_ipns_parse(&other, buf, len);
    rc = rc < 0 ? rc : fog_ipns_validate(&other, va->id, va->id_len, wall_now());
    if (rc < 0) {
        return cli_failf("--compare %s: not a valid record of the name: %s", va->compare,
                         fog_err_detail(rc));
    }
    const size_t plen = sizeof FOG_IPNS_KEY_PREFIX - 1;
    uint8_t key[CLI_IPNS_KEY_MAX];
    memcpy(key, FOG_IPNS_KEY_PREFIX, plen);
    memcpy(key + plen, va->id, va->id_len);
    fog_slice both[2] = {in, fog_slice_make(buf, len)};
    size_t best = 0;
    if ((rc = fog_ipns_dht_select(key, plen + va->id_len, both, 2, &best)) < 0) {
        return cli_fail(rc);
    }
    reason[0] = '\0';
    if (best == 1 && !fog_slice_eq(both[0], both[1])) {
        if (rec->sequence < other.sequence) {
            snprintf(reason, cap, "lower sequence: %" PRIu64 " < %" PRIu64 " in %s",
                     rec->sequence, other.sequence, va->compare);
        } else {
            snprintf(reason, cap, "older: %s is preferred (sequence %" PRIu64 ", later or equal "
                     "validity)", va->compare, other.sequence);
        }
    }
    return CLI_OK;
}

/* Prints the validation results; CLI_OK when valid, CLI_FAIL otherwise. */
static int verify(const verify_args *va, const fog_ipns_record *rec, fog_slice in)
{
    char reason[512] = "";
    int rc = fog_ipns_validate(rec, va->id, va->id_len, wall_now());
    if (rc < 0) {
        reason_text(rc, rec, reason, sizeof reason);
    } else if (va->compare != NULL &&
               compare_other(va, rec, in, reason, sizeof reason) != CLI_OK) {
        return CLI_FAIL;
    }
    char name[FOG_CID_STR_MAX];
    if (fog_peer_id_format_cid(va->id, va->id_len, 0, name, sizeof name) < 0) {
        snprintf(name, sizeof name, "?");
    }
    printf("\nValidation results:\n");
    printf("\t%-11s%s\n", "Valid:", reason[0] == '\0' ? "true" : "false");
    if (reason[0] != '\0') {
        printf("\t%-11s%s\n", "Reason:", reason);
    }
    printf("\t%-11s%s\n", "Name:", name);
    fflush(stdout);
    return reason[0] == '\0' ? CLI_OK : CLI_FAIL;
}

static int run_inspect(const char *repo, cli_args *a)
{
    (void)repo;
    int rc = cli_need_pos(&cli_cmd_name_inspect, a, 0, 1);
    if (rc != 0) {
        return rc;
    }
    verify_args va = {.compare = cli_value(a, "compare")};
    const char *name = cli_value(a, "verify");
    if (va.compare != NULL && name == NULL) {
        fprintf(stderr, "error: --compare needs --verify NAME\n");
        return CLI_USAGE;
    }
    if (name != NULL && (va.id_len = cli_ipns_name(name, va.id)) == 0) {
        return CLI_FAIL;
    }
    static uint8_t buf[FOG_IPNS_RECORD_MAX + 1];
    size_t len = 0;
    if (cli_ipns_read(a->n_pos > 0 ? a->pos[0] : NULL, buf, &len) != CLI_OK) {
        return CLI_FAIL;
    }
    fog_ipns_record rec;
    if ((rc = fog_ipns_parse(&rec, buf, len)) < 0) {
        return cli_fail(rc);
    }
    print_fields(&rec);
    if (name == NULL) {
        printf("\nThis record was not validated.\n");
        return CLI_OK;
    }
    return verify(&va, &rec, fog_slice_make(buf, len));
}

static const cli_opt inspect_opts[] = {
    {"verify", 0, OPT_VALUE, "NAME", "check the record as NAME's (k51..., 12D3KooW..., /ipns/..)"},
    {"compare", 0, OPT_VALUE, "OTHER", "with --verify: also invalid when the record in file OTHER "
                                       "is preferred (a higher sequence)"},
};

const cli_cmd cli_cmd_name_inspect = {
    "name inspect", "[--verify NAME [--compare OTHER]] [FILE]",
    "show the fields of a serialized IPNS record, and check it",
    "Reads one IPNS record (at most 10240 bytes) from FILE or standard input, as 'fog dht get\n"
    "/ipns/NAME' writes it, and prints its fields. With --verify NAME it also checks the record\n"
    "as NAME's at the current time and prints \"Valid: true\", or \"Valid: false\" and the reason\n"
    "(expired, wrong key, bad signature, ...; with --compare OTHER also a lower sequence than\n"
    "OTHER's), exiting 1 when it is not valid.",
    inspect_opts, sizeof inspect_opts / sizeof inspect_opts[0], run_inspect};
