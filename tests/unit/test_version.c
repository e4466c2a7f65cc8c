/* test_version.c: version nodes (src/names/version.c): the canonical bytes, written out in this
 * file from the DAG-CBOR rules (ipld/ipld specs/codecs/dag-cbor/spec.md), every refusal of the
 * strict decoder, the chain walks over a real repository in a temporary folder, and the DAG
 * size read from one block, checked against the importer's own cumulative sizes and against the
 * sum of the block lengths of the whole DAG.
 * Expected bytes are built from hex written here with the binary CIDs spliced in ("R" stands for
 * the root link d8 2a 58 25 00 <36 bytes>, "P" for the prev link).
 */
#include "testlib.h"

#include <ctype.h>
#include <fcntl.h>

#include "dag/internal.h"
#include "fog/crypto.h"
#include "fog/store.h"
#include "fog/unixfs.h"
#include "fog/version.h"

/* Two CIDs known from PROTOCOLS.md 2.3: the empty UnixFS directory and "hello world" raw. */
#define EMPTY_DIR "bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354"
#define HELLO_RAW "bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e"

static fog_cid cid_of(const char *s)
{
    fog_cid c;
    assert_int_equal(fog_cid_parse(&c, s), 0);
    return c;
}

/* Appends the bytes of spec: hex pairs, spaces ignored, 'R' / 'P' a link to root / prev. */
static void build(fog_buf *b, const char *spec, const fog_cid *root, const fog_cid *prev)
{
    for (const char *s = spec; *s != '\0'; s++) {
        if (*s == ' ') {
            continue;
        }
        if (*s == 'R' || *s == 'P') {
            const fog_cid *c = *s == 'R' ? root : prev;
            uint8_t hd[4] = {0xd8, 0x2a, 0x58, (uint8_t)(c->len + 1)};
            assert_int_equal(fog_buf_append(b, hd, sizeof hd), 0);
            assert_int_equal(fog_buf_u8(b, 0), 0);
            assert_int_equal(fog_buf_append(b, c->bytes, c->len), 0);
            continue;
        }
        assert_true(isxdigit((unsigned char)s[0]) && isxdigit((unsigned char)s[1]));
        uint8_t v;
        assert_int_equal(fog_hex_decode(s, 2, &v, 1), 1);
        assert_int_equal(fog_buf_u8(b, v), 0);
        s++;
    }
}

/* Keys as CBOR text: "n" 61 6e, "v" 61 76, "msg" 63 6d 73 67, "prev" 64 70 72 65 76,
 * "root" 64 72 6f 6f 74, "size" 64 73 69 7a 65, "time" 64 74 69 6d 65. */
#define K_N    "616e"
#define K_V    "6176"
#define K_MSG  "636d7367"
#define K_PREV "6470726576"
#define K_ROOT "64726f6f74"
#define K_SIZE "6473697a65"
#define K_TIME "6474696d65"

/* {n: 2, v: 1, msg: "hi", prev, root, size: 1000, time: 1700000000 = 0x6553f100}. */
static void test_version_encode_bytes(void **state)
{
    (void)state;
    fog_cid root = cid_of(EMPTY_DIR), prev = cid_of(HELLO_RAW);
    assert_int_equal(root.len, 36);
    fog_buf want = {0}, got = {0};
    build(&want,
          "a7 " K_N " 02 " K_V " 01 " K_MSG " 62 6869 " K_PREV " P " K_ROOT " R " K_SIZE
          " 19 03e8 " K_TIME " 1a 6553f100",
          &root, &prev);
    fog_version v = {.n = 2,
                     .root = root,
                     .has_prev = true,
                     .prev = prev,
                     .time = 1700000000,
                     .size = 1000,
                     .msg = fog_slice_make("hi", 2)};
    assert_int_equal(fog_version_encode(&v, &got), 0);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.p, want.p, want.len);

    /* The first version: five keys, CIDv0 root (34 bytes: 58 23), size and time 0. */
    fog_cid v0 = cid_of("QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn");
    fog_buf_reset(&want);
    fog_buf_reset(&got);
    build(&want, "a5 " K_N " 01 " K_V " 01 " K_ROOT " R " K_SIZE " 00 " K_TIME " 00", &v0, NULL);
    fog_version first = {.n = 1, .root = v0};
    assert_int_equal(fog_version_encode(&first, &got), 0);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.p, want.p, want.len);

    /* Big integers take their shortest heads: 2^32 needs 1b and eight bytes. */
    fog_buf_reset(&want);
    fog_buf_reset(&got);
    build(&want,
          "a5 " K_N " 01 " K_V " 01 " K_ROOT " R " K_SIZE " 1b 0000000100000000 " K_TIME
          " 1b ffffffffffffffff",
          &v0, NULL);
    first.size = 1ull << 32;
    first.time = UINT64_MAX;
    assert_int_equal(fog_version_encode(&first, &got), 0);
    assert_int_equal(got.len, want.len);
    assert_memory_equal(got.p, want.p, want.len);

    /* The node is DAG-CBOR the general strict walker accepts, linking prev then root. */
    fog_cid c;
    assert_int_equal(fog_version_cid(got.p, got.len, &c), 0);
    assert_int_equal(c.version, 1);
    assert_int_equal(c.codec, FOG_MC_DAG_CBOR);
    assert_int_equal(c.mh_code, FOG_MC_SHA2_256);
    assert_int_equal(fog__cbor_walk(got.p, got.len, true, NULL, NULL), 0);
    fog_buf_clear(&want);
    fog_buf_clear(&got);
}

typedef struct {
    fog_cid v[4];
    size_t n;
} cid_list;

static int collect(void *ctx, const fog_cid *c)
{
    cid_list *l = ctx;
    assert_true(l->n < 4);
    l->v[l->n++] = *c;
    return 0;
}

static void test_version_roundtrip(void **state)
{
    (void)state;
    const char *msgs[] = {"", "x", "fix: caf\xc3\xa9 \xf0\x9f\x8c\xab"};
    for (size_t i = 0; i < 3; i++) {
        fog_version v = {.n = 7 + i,
                         .root = cid_of(HELLO_RAW),
                         .has_prev = true,
                         .prev = cid_of(EMPTY_DIR),
                         .time = 12345 * i,
                         .size = 99 + i,
                         .msg = fog_slice_make(msgs[i], strlen(msgs[i]))};
        fog_buf b = {0};
        assert_int_equal(fog_version_encode(&v, &b), 0);
        fog_version d;
        assert_int_equal(fog_version_decode(&d, b.p, b.len), 0);
        assert_int_equal(d.n, v.n);
        assert_true(d.has_prev);
        assert_true(fog_cid_eq(&d.prev, &v.prev));
        assert_true(fog_cid_eq(&d.root, &v.root));
        assert_int_equal(d.time, v.time);
        assert_int_equal(d.size, v.size);
        assert_true(fog_slice_eq(d.msg, v.msg));
        /* msg borrows the block. */
        assert_true(d.msg.len == 0 || (d.msg.p > b.p && d.msg.p < b.p + b.len));
        /* fog_dag_links (what pins and gc follow) sees prev, then root. */
        fog_cid c;
        assert_int_equal(fog_version_cid(b.p, b.len, &c), 0);
        cid_list l = {0};
        assert_int_equal(fog_dag_links(&c, fog_slice_make(b.p, b.len), collect, &l), 0);
        assert_int_equal(l.n, 2);
        assert_true(fog_cid_eq(&l.v[0], &v.prev));
        assert_true(fog_cid_eq(&l.v[1], &v.root));
        fog_buf_clear(&b);
    }
}

static void test_version_encode_refusals(void **state)
{
    (void)state;
    char big[FOG_VERSION_MSG_MAX + 1];
    memset(big, 'a', sizeof big);
    fog_version bad[] = {
        {.n = 0, .root = cid_of(HELLO_RAW)},
        {.n = 1, .root = cid_of(HELLO_RAW), .has_prev = true, .prev = cid_of(EMPTY_DIR)},
        {.n = 2, .root = cid_of(HELLO_RAW)},
        {.n = 1, .root = cid_of(HELLO_RAW), .msg = fog_slice_make(big, sizeof big)},
        {.n = 1, .root = cid_of(HELLO_RAW), .msg = fog_slice_make("a\0b", 3)},
        {.n = 1, .root = cid_of(HELLO_RAW), .msg = fog_slice_make("\xc3\x28", 2)},
        {.n = 1, .root = cid_of(HELLO_RAW), .msg = fog_slice_make("\xed\xa0\x80", 3)},
    };
    fog_buf b = {0};
    assert_int_equal(fog_buf_append(&b, "keep", 4), 0);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(fog_version_encode(&bad[i], &b), FOG_ERR_INVALID);
        assert_int_equal(b.len, 4); /* unchanged */
    }
    /* Exactly FOG_VERSION_MSG_MAX bytes is fine. */
    fog_version ok = {
        .n = 1, .root = cid_of(HELLO_RAW), .msg = fog_slice_make(big, sizeof big - 1)};
    assert_int_equal(fog_version_encode(&ok, &b), 0);
    fog_version d;
    assert_int_equal(fog_version_decode(&d, b.p + 4, b.len - 4), 0);
    assert_int_equal(d.msg.len, FOG_VERSION_MSG_MAX);
    fog_buf_clear(&b);
}

#define ZERO32    "0000000000000000000000000000000000000000000000000000000000000000 "
#define BASE_TAIL K_ROOT " R " K_SIZE " 00 " K_TIME " 00"

static void expect_decode(const char *spec, int want)
{
    fog_cid root = cid_of(HELLO_RAW), prev = cid_of(EMPTY_DIR);
    fog_buf b = {0};
    build(&b, spec, &root, &prev);
    fog_version v;
    int rc = fog_version_decode(&v, b.p, b.len);
    if (rc != want) {
        print_message("spec %s: got %d (%s), want %d\n", spec, rc, fog_err_detail(rc), want);
    }
    assert_int_equal(rc, want);
    fog_buf_clear(&b);
}

static void test_version_decode_refusals(void **state)
{
    (void)state;
    /* The baseline decodes. */
    expect_decode("a5 " K_N " 01 " K_V " 01 " BASE_TAIL, 0);
    expect_decode("a6 " K_N " 02 " K_V " 01 " K_PREV " P " BASE_TAIL, 0);
    /* An unknown key, sorted in its place ("x" after "v"). */
    expect_decode("a6 " K_N " 01 " K_V " 01 6178 01 " BASE_TAIL, FOG_ERR_PROTO);
    /* Keys out of order, and repeated. */
    expect_decode("a5 " K_V " 01 " K_N " 01 " BASE_TAIL, FOG_ERR_PROTO);
    expect_decode("a5 " K_N " 01 " K_N " 01 " BASE_TAIL, FOG_ERR_PROTO);
    expect_decode("a5 " K_N " 01 " K_V " 01 " K_SIZE " 00 " K_ROOT " R " K_TIME " 00",
                  FOG_ERR_PROTO);
    /* Non-minimal integers and lengths. */
    expect_decode("a5 " K_N " 1801 " K_V " 01 " BASE_TAIL, FOG_ERR_PROTO);
    expect_decode("a5 " K_N " 01 " K_V " 01 " K_ROOT " R " K_SIZE " 1900ff " K_TIME " 00",
                  FOG_ERR_PROTO);
    expect_decode("a5 7801 6e 01 " K_V " 01 " BASE_TAIL, FOG_ERR_PROTO);
    /* A missing root: four keys, or five with msg instead of root. */
    expect_decode("a4 " K_N " 01 " K_V " 01 " K_SIZE " 00 " K_TIME " 00", FOG_ERR_PROTO);
    expect_decode("a5 " K_N " 01 " K_V " 01 " K_MSG " 6161 " K_SIZE " 00 " K_TIME " 00",
                  FOG_ERR_PROTO);
    /* prev with n 1; n 2 without prev; n 0. */
    expect_decode("a6 " K_N " 01 " K_V " 01 " K_PREV " P " BASE_TAIL, FOG_ERR_PROTO);
    expect_decode("a5 " K_N " 02 " K_V " 01 " BASE_TAIL, FOG_ERR_PROTO);
    expect_decode("a5 " K_N " 00 " K_V " 01 " BASE_TAIL, FOG_ERR_PROTO);
    /* Format 2 and format 0 are not this format. */
    expect_decode("a5 " K_N " 01 " K_V " 02 " BASE_TAIL, FOG_ERR_UNSUPPORTED);
    expect_decode("a5 " K_N " 01 " K_V " 00 " BASE_TAIL, FOG_ERR_UNSUPPORTED);
}

static void test_version_decode_refusals_msg(void **state)
{
    (void)state;
    char msg_long[2 * (FOG_VERSION_MSG_MAX + 1) + 256];
    /* Messages: too long (1025 bytes: 79 0401), empty, with NUL, not UTF-8, not text. */
    int off = snprintf(msg_long, sizeof msg_long, "a6 " K_N " 01 " K_V " 01 " K_MSG " 790401 ");
    for (int i = 0; i <= FOG_VERSION_MSG_MAX; i++) {
        off += snprintf(msg_long + off, sizeof msg_long - (size_t)off, "61");
    }
    snprintf(msg_long + off, sizeof msg_long - (size_t)off, " %s", BASE_TAIL);
    expect_decode(msg_long, FOG_ERR_PROTO);
    expect_decode("a6 " K_N " 01 " K_V " 01 " K_MSG " 60 " BASE_TAIL, FOG_ERR_PROTO);
    expect_decode("a6 " K_N " 01 " K_V " 01 " K_MSG " 62 6100 " BASE_TAIL, FOG_ERR_PROTO);
    expect_decode("a6 " K_N " 01 " K_V " 01 " K_MSG " 61 ff " BASE_TAIL, FOG_ERR_PROTO);
    expect_decode("a6 " K_N " 01 " K_V " 01 " K_MSG " 41 61 " BASE_TAIL, FOG_ERR_PROTO);
}

static void test_version_decode_refusals_form_and_links(void **state)
{
    (void)state;
    /* Trailing bytes; input cut short; not a map; an indefinite map; too many keys. */
    expect_decode("a5 " K_N " 01 " K_V " 01 " BASE_TAIL " 00", FOG_ERR_PROTO);
    expect_decode("a5 " K_N " 01 " K_V " 01 " K_ROOT " R " K_SIZE " 00 " K_TIME, FOG_ERR_TRUNCATED);
    expect_decode("", FOG_ERR_TRUNCATED);
    expect_decode("85 01 02 03 04 05", FOG_ERR_PROTO);
    expect_decode("bf " K_N " 01 " K_V " 01 " BASE_TAIL " ff", FOG_ERR_PROTO);
    expect_decode("a8 " K_N " 01 " K_V " 01 " BASE_TAIL, FOG_ERR_PROTO);
    /* Links: a long-form tag 42, another tag, a missing 0x00, a CID that does not parse. */
    expect_decode("a5 " K_N " 01 " K_V " 01 " K_ROOT " d9002a 42 0001 " K_SIZE " 00 " K_TIME " 00",
                  FOG_ERR_PROTO);
    expect_decode("a5 " K_N " 01 " K_V " 01 " K_ROOT " d82a 5825 00 01551220" ZERO32 K_SIZE
                  " 00 " K_TIME " 00",
                  0);
    expect_decode("a5 " K_N " 01 " K_V " 01 " K_ROOT " d82b 5825 00 01551220" ZERO32 K_SIZE
                  " 00 " K_TIME " 00",
                  FOG_ERR_PROTO);
    expect_decode("a5 " K_N " 01 " K_V " 01 " K_ROOT " d82a 5824 01551220" ZERO32 K_SIZE
                  " 00 " K_TIME " 00",
                  FOG_ERR_PROTO);
    expect_decode("a5 " K_N " 01 " K_V " 01 " K_ROOT " d82a 43 000155 " K_SIZE " 00 " K_TIME " 00",
                  FOG_ERR_PROTO);
    /* Negative integers are not unsigned. */
    expect_decode("a5 " K_N " 01 " K_V " 01 " K_ROOT " R " K_SIZE " 20 " K_TIME " 00",
                  FOG_ERR_PROTO);
}

/* ---- chains over a real repository ---- */

typedef tl_repo tmp_repo;

/* Encodes v, stores it, returns its CID. */
static fog_cid put_version(fog_store *st, const fog_version *v)
{
    fog_buf b = {0};
    assert_int_equal(fog_version_encode(v, &b), 0);
    fog_cid c;
    assert_int_equal(fog_version_cid(b.p, b.len, &c), 0);
    assert_int_equal(fog_store_put(st, &c, b.p, b.len), 0);
    fog_buf_clear(&b);
    return c;
}

static fog_cid put_raw(fog_store *st, const char *text)
{
    fog_cid c;
    assert_int_equal(
        fog_cid_of(&c, 1, FOG_MC_RAW, FOG_MC_SHA2_256, (const uint8_t *)text, strlen(text)), 0);
    assert_int_equal(fog_store_put(st, &c, (const uint8_t *)text, strlen(text)), 0);
    return c;
}

typedef struct {
    fog_cid c[8];
    uint64_t n[8];
    char msg[8][16];
    size_t count;
    size_t stop_after; /* 0: never */
} log_rec;

static int log_fn(void *ud, const fog_cid *c, const fog_version *v)
{
    log_rec *l = ud;
    assert_true(l->count < 8);
    l->c[l->count] = *c;
    l->n[l->count] = v->n;
    snprintf(l->msg[l->count], sizeof l->msg[0], "%.*s", (int)v->msg.len, (const char *)v->msg.p);
    l->count++;
    return l->stop_after != 0 && l->count == l->stop_after ? 42 : 0;
}

typedef struct {
    fog_store_view *v;
    fog_blocksource src;
} view_src;

static void view_open(tmp_repo *t, view_src *vs)
{
    assert_int_equal(fog_store_view_begin(t->st, &vs->v), 0);
    fog_blocksource_from_view(&vs->src, vs->v);
}

static void test_version_log_and_find(void **state)
{
    tmp_repo *t = *state;
    fog_cid roots[3] = {put_raw(t->st, "one"), put_raw(t->st, "two"), put_raw(t->st, "three")};
    const char *msgs[3] = {"first", "", "third"};
    fog_cid c[3];
    for (int i = 0; i < 3; i++) {
        fog_version v = {.n = (uint64_t)i + 1,
                         .root = roots[i],
                         .has_prev = i > 0,
                         .time = 1000 + (uint64_t)i,
                         .size = 3,
                         .msg = fog_slice_make(msgs[i], strlen(msgs[i]))};
        if (i > 0) {
            v.prev = c[i - 1];
        }
        c[i] = put_version(t->st, &v);
    }
    view_src vs;
    view_open(t, &vs);
    log_rec l = {0};
    assert_int_equal(fog_version_log(&vs.src, &c[2], log_fn, &l), 0);
    assert_int_equal(l.count, 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(l.n[i], 3 - i);
        assert_true(fog_cid_eq(&l.c[i], &c[2 - i]));
        assert_string_equal(l.msg[i], msgs[2 - i]);
    }
    /* A non-zero return stops the walk and comes back. */
    log_rec stop = {.stop_after = 2};
    assert_int_equal(fog_version_log(&vs.src, &c[2], log_fn, &stop), 42);
    assert_int_equal(stop.count, 2);
    /* Every version can be found; hold keeps msg alive after the walk. */
    fog_buf hold = {0};
    for (uint64_t n = 1; n <= 3; n++) {
        fog_version v;
        fog_cid at;
        assert_int_equal(fog_version_find(&vs.src, &c[2], n, &v, &at, &hold), 0);
        assert_int_equal(v.n, n);
        assert_true(fog_cid_eq(&at, &c[n - 1]));
        assert_true(fog_cid_eq(&v.root, &roots[n - 1]));
        assert_int_equal(v.time, 999 + n);
        assert_true(v.msg.len == 0 || (v.msg.p >= hold.p && v.msg.p < hold.p + hold.len));
        assert_int_equal(v.msg.len, strlen(msgs[n - 1]));
    }
    fog_version v;
    assert_int_equal(fog_version_find(&vs.src, &c[1], 2, &v, NULL, &hold), 0);
    assert_int_equal(fog_version_find(&vs.src, &c[2], 4, &v, NULL, &hold), FOG_ERR_NOT_FOUND);
    assert_string_equal(fog_err_detail(FOG_ERR_NOT_FOUND), "version 4 not found: the latest is 3");
    assert_int_equal(fog_version_find(&vs.src, &c[2], 0, &v, NULL, &hold), FOG_ERR_NOT_FOUND);
    fog_buf_clear(&hold);
    fog_store_view_end(vs.v);
}

static void test_version_broken_chains(void **state)
{
    tmp_repo *t = *state;
    fog_cid r = put_raw(t->st, "content");
    fog_version v1 = {.n = 1, .root = r};
    fog_cid c1 = put_version(t->st, &v1);
    /* n jumps from 5 to 1. */
    fog_version jump = {.n = 5, .root = r, .has_prev = true, .prev = c1};
    fog_cid cj = put_version(t->st, &jump);
    /* prev names a block the repository does not hold. */
    fog_version ghost_v = {.n = 1, .root = r, .time = 77};
    fog_buf gb = {0};
    assert_int_equal(fog_version_encode(&ghost_v, &gb), 0);
    fog_cid ghost;
    assert_int_equal(fog_version_cid(gb.p, gb.len, &ghost), 0);
    fog_buf_clear(&gb);
    fog_version orphan = {.n = 2, .root = r, .has_prev = true, .prev = ghost};
    fog_cid co = put_version(t->st, &orphan);
    /* prev is a raw block, not a version node. */
    fog_version rawprev = {.n = 2, .root = r, .has_prev = true, .prev = r};
    fog_cid cr = put_version(t->st, &rawprev);

    view_src vs;
    view_open(t, &vs);
    log_rec l = {0};
    assert_int_equal(fog_version_log(&vs.src, &cj, log_fn, &l), FOG_ERR_PROTO);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_PROTO), "is broken at"));
    assert_non_null(strstr(fog_err_detail(FOG_ERR_PROTO), fog_cid_str(&c1)));
    assert_int_equal(l.count, 1); /* the head was reported before the break showed */
    l.count = 0;
    assert_int_equal(fog_version_log(&vs.src, &co, log_fn, &l), FOG_ERR_NOT_FOUND);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_NOT_FOUND), fog_cid_str(&ghost)));
    l.count = 0;
    assert_int_equal(fog_version_log(&vs.src, &cr, log_fn, &l), FOG_ERR_PROTO);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_PROTO), "dag-cbor"));
    /* A head that is missing, or not a version node at all. */
    l.count = 0;
    assert_int_equal(fog_version_log(&vs.src, &ghost, log_fn, &l), FOG_ERR_NOT_FOUND);
    fog_cid wrong;
    assert_int_equal(
        fog_cid_of(&wrong, 1, FOG_MC_DAG_CBOR, FOG_MC_SHA2_256, (const uint8_t *)"\xa0", 1), 0);
    assert_int_equal(fog_store_put(t->st, &wrong, (const uint8_t *)"\xa0", 1), 0);
    fog_store_view_end(vs.v);
    view_open(t, &vs);
    assert_int_equal(fog_version_log(&vs.src, &wrong, log_fn, &l), FOG_ERR_PROTO);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_PROTO), fog_cid_str(&wrong)));
    fog_store_view_end(vs.v);
}

/* An untrusted source lending bytes that do not match the CID asked for. */
static int liar_get(void *ctx, const fog_cid *c, fog_slice *out)
{
    (void)c;
    *out = *(const fog_slice *)ctx;
    return 0;
}

static void test_version_untrusted_source(void **state)
{
    (void)state;
    fog_version a = {.n = 1, .root = cid_of(HELLO_RAW), .time = 1};
    fog_version b = {.n = 1, .root = cid_of(HELLO_RAW), .time = 2};
    fog_buf ba = {0}, bb = {0};
    assert_int_equal(fog_version_encode(&a, &ba), 0);
    assert_int_equal(fog_version_encode(&b, &bb), 0);
    fog_cid ca;
    assert_int_equal(fog_version_cid(ba.p, ba.len, &ca), 0);
    fog_slice lent = fog_slice_make(bb.p, bb.len);
    fog_blocksource src = {liar_get, &lent, false};
    log_rec l = {0};
    assert_int_equal(fog_version_log(&src, &ca, log_fn, &l), FOG_ERR_HASH_MISMATCH);
    assert_int_equal(l.count, 0);
    uint64_t size;
    assert_int_equal(fog_version_dag_size(&src, &ca, &size), FOG_ERR_HASH_MISMATCH);
    src.trusted = true; /* a trusted source is believed */
    assert_int_equal(fog_version_log(&src, &ca, log_fn, &l), 0);
    assert_int_equal(l.count, 1);
    fog_buf_clear(&ba);
    fog_buf_clear(&bb);
}

/* ---- cumulative DAG size ---- */

typedef struct {
    uint64_t root_size;
    char root_name[32];
    uint64_t sum;
    size_t blocks;
} size_rec;

static void on_entry(void *ctx, const char *path, const fog_cid *c, uint64_t size)
{
    (void)c;
    size_rec *s = ctx;
    if (strcmp(path, s->root_name) == 0) {
        s->root_size = size;
    }
}

static int sum_visit(void *ctx, const fog_cid *c, fog_slice data)
{
    (void)c;
    size_rec *s = ctx;
    s->sum += data.len;
    s->blocks++;
    return 0;
}

static void write_bytes(const char *path, size_t len, uint8_t seed)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    assert_true(fd >= 0);
    uint8_t buf[4096];
    for (size_t off = 0; off < len;) {
        size_t n = len - off < sizeof buf ? len - off : sizeof buf;
        for (size_t i = 0; i < n; i++) {
            buf[i] = (uint8_t)((off + i) * 31 + seed + (off + i) / 251);
        }
        assert_int_equal(write(fd, buf, n), (ssize_t)n);
        off += n;
    }
    close(fd);
}

static int batch_put(void *ctx, const fog_cid *c, const uint8_t *data, size_t len)
{
    return fog_store_put(ctx, c, data, len);
}

static void test_version_dag_size(void **state)
{
    tmp_repo *t = *state;
    char dir[160], f[200];
    snprintf(dir, sizeof dir, "%s/tree", t->root);
    assert_int_equal(mkdir(dir, 0755), 0);
    snprintf(f, sizeof f, "%s/big.bin", dir);
    write_bytes(f, 50000, 1);
    snprintf(f, sizeof f, "%s/small.txt", dir);
    write_bytes(f, 10, 2);
    snprintf(f, sizeof f, "%s/sub", dir);
    assert_int_equal(mkdir(f, 0755), 0);
    snprintf(f, sizeof f, "%s/sub/mid.bin", dir);
    write_bytes(f, 9000, 3);

    fog_import_opts o;
    assert_int_equal(fog_import_profile(&o, "unixfs-v0-2015"), 0);
    o.chunk_size = 4096; /* dag-pb leaves, several levels (max_links 5) */
    o.max_links = 5;
    o.threads = 1;
    size_rec s = {.root_name = "tree"};
    fog_import_events ev = {on_entry, NULL, &s};
    fog_blocksink sink = {batch_put, t->st};
    fog_cid root;
    assert_int_equal(fog_import_path(dir, &o, &sink, &ev, &root), 0);
    view_src vs;
    view_open(t, &vs);
    uint64_t size = 0;
    assert_int_equal(fog_version_dag_size(&vs.src, &root, &size), 0);
    /* The importer's cumulative size of the folder, and the bytes of every block under it
     * (all distinct: no leaf repeats), are the same number. */
    assert_int_equal(fog_dag_walk(&vs.src, &root, NULL, sum_visit, &s, NULL), 0);
    assert_true(s.blocks > 20);
    assert_int_equal(size, s.root_size);
    assert_int_equal(size, s.sum);
    /* A raw block is its length; a dag-cbor block too; an identity CID its digest. */
    fog_cid r = put_raw(t->st, "seven b");
    fog_store_view_end(vs.v);
    view_open(t, &vs);
    assert_int_equal(fog_version_dag_size(&vs.src, &r, &size), 0);
    assert_int_equal(size, 7);
    fog_version v = {.n = 1, .root = r};
    fog_cid vc = put_version(t->st, &v);
    fog_store_view_end(vs.v);
    view_open(t, &vs);
    assert_int_equal(fog_version_dag_size(&vs.src, &vc, &size), 0);
    /* a5, n 1, v 1, root (key, d8 2a 58 25 00, 36 bytes), size 0, time 0 */
    assert_int_equal(size, 1 + 3 + 3 + (5 + 5 + 36) + 6 + 6);
    fog_cid id;
    assert_int_equal(fog_cid_of(&id, 1, FOG_MC_RAW, FOG_MC_IDENTITY, (const uint8_t *)"abc", 3), 0);
    assert_int_equal(fog_version_dag_size(&vs.src, &id, &size), 0);
    assert_int_equal(size, 3);
    /* A missing block is named. */
    fog_cid gone;
    assert_int_equal(fog_cid_of(&gone, 1, FOG_MC_RAW, FOG_MC_SHA2_256, (const uint8_t *)"x", 1), 0);
    assert_int_equal(fog_version_dag_size(&vs.src, &gone, &size), FOG_ERR_NOT_FOUND);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_NOT_FOUND), fog_cid_str(&gone)));
    fog_store_view_end(vs.v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_version_encode_bytes),
        cmocka_unit_test(test_version_roundtrip),
        cmocka_unit_test(test_version_encode_refusals),
        cmocka_unit_test(test_version_decode_refusals),
        cmocka_unit_test(test_version_decode_refusals_msg),
        cmocka_unit_test(test_version_decode_refusals_form_and_links),
        cmocka_unit_test_setup_teardown(test_version_log_and_find, tl_repo_setup, tl_repo_teardown),
        cmocka_unit_test_setup_teardown(test_version_broken_chains, tl_repo_setup,
                                        tl_repo_teardown),
        cmocka_unit_test(test_version_untrusted_source),
        cmocka_unit_test_setup_teardown(test_version_dag_size, tl_repo_setup, tl_repo_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
