/* test_util.c: error table, buffers, varints, the bounds-checked reader, the protobuf wire
 * reader and length-prefixed framing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "fog/util.h"
#include "testlib.h"

static void test_util_err_table(void **state)
{
    (void)state;
    assert_string_equal(fog_err_name(FOG_ERR_PROTO), "FOG_ERR_PROTO");
    assert_string_equal(fog_strerror(FOG_ERR_NOT_FOUND), "not found");
    assert_string_equal(fog_strerror(12345), "unknown error");
    assert_int_equal(fog_errf(FOG_ERR_IO, "disk %d", 7), FOG_ERR_IO);
    assert_string_equal(fog_err_detail(FOG_ERR_IO), "disk 7");
    assert_string_equal(fog_err_detail(FOG_ERR_PROTO), "malformed input");
    fog_err_clear();
    assert_string_equal(fog_err_detail(FOG_ERR_IO), "input/output error");
}

/* The examples of the unsigned-varint README, read from shared/vectors when present. */
static void test_util_uvarint_vectors(void **state)
{
    (void)state;
    char path[1024];
    FILE *f = tl_vec_fopen("multiformats-unsigned-varint/examples.csv", path, sizeof path);
    if (f == NULL) {
        skip();
    }
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f)) {
        unsigned long long v;
        char hex[64];
        if (sscanf(line, "%llu,%63s", &v, hex) != 2) {
            continue;
        }
        uint8_t want[16];
        int wn = fog_hex_decode(hex, strlen(hex), want, sizeof want);
        assert_true(wn > 0);
        uint8_t got[FOG_UVARINT_MAX];
        size_t gn = fog_uvarint_put(got, v);
        assert_int_equal(gn, (size_t)wn);
        assert_memory_equal(got, want, gn);
        assert_int_equal(fog_uvarint_len(v), gn);
        fog_reader r;
        fog_reader_init(&r, want, (size_t)wn);
        uint64_t back;
        fog_reader_uvarint(&r, &back);
        assert_true(fog_reader_done(&r));
        assert_int_equal(back, v);
        n++;
    }
    fclose(f);
    assert_true(n >= 6);
}

static void test_util_uvarint_rejects(void **state)
{
    (void)state;
    const uint8_t nonminimal[] = {0x80, 0x00};
    const uint8_t ten[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    const uint8_t cut[] = {0x80};
    uint64_t v;
    fog_reader r;
    fog_reader_init(&r, nonminimal, sizeof nonminimal);
    fog_reader_uvarint(&r, &v);
    assert_int_equal(r.err, FOG_ERR_PROTO);
    assert_int_equal(r.left, sizeof nonminimal); /* nothing consumed */
    fog_reader_init(&r, ten, sizeof ten);
    fog_reader_uvarint(&r, &v);
    assert_int_equal(r.err, FOG_ERR_PROTO);
    fog_reader_init(&r, ten, sizeof ten);
    fog_reader_pbvarint(&r, &v); /* protobuf allows 10 bytes */
    assert_int_equal(r.err, 0);
    assert_int_equal(v, UINT64_MAX);
    fog_reader_init(&r, cut, sizeof cut);
    fog_reader_uvarint(&r, &v);
    assert_int_equal(r.err, FOG_ERR_TRUNCATED);
}

static void test_util_reader_sticky(void **state)
{
    (void)state;
    const uint8_t in[] = {1, 2, 3, 4, 5};
    fog_reader r;
    fog_reader_init(&r, in, sizeof in);
    uint32_t a;
    fog_reader_be32(&r, &a);
    assert_int_equal(a, 0x01020304);
    uint16_t b;
    fog_reader_be16(&r, &b); /* one byte left: fails */
    assert_int_equal(r.err, FOG_ERR_TRUNCATED);
    assert_int_equal(b, 0);
    uint8_t c;
    fog_reader_u8(&r, &c); /* sticky: even a read that would fit yields 0 */
    assert_int_equal(c, 0);
    assert_int_equal(r.left, 1);
    fog_slice s;
    const uint8_t lp[] = {3, 'a', 'b'};
    fog_reader_init(&r, lp, sizeof lp);
    fog_reader_lp(&r, 16, &s);
    assert_int_equal(r.err, FOG_ERR_TRUNCATED);
    const uint8_t big[] = {0x20, 'a'};
    fog_reader_init(&r, big, sizeof big);
    fog_reader_lp(&r, 16, &s);
    assert_int_equal(r.err, FOG_ERR_LIMIT);
}

/* The examples of the protobuf encoding guide (protobuf.dev/programming-guides/encoding: 150 as
 * 96 01, "testing" as 07 74 65 73 74 69 6e 67), then each other wire type and a key written in
 * five bytes where one would do. */
static void test_util_pb_fields(void **state)
{
    (void)state;
    const uint8_t in[] = {
        0x08, 0x96, 0x01,                                     /* 1: varint 150 */
        0x12, 0x07, 't', 'e', 's', 't', 'i', 'n', 'g',        /* 2: "testing" */
        0x19, 0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01, /* 3: fixed64 */
        0x25, 0x04, 0x03, 0x02, 0x01,                         /* 4: fixed32 */
        0x2a, 0x00,                                           /* 5: empty bytes */
        0xb0, 0x80, 0x80, 0x80, 0x00, 0x01,                   /* 6: varint 1, 5-byte key */
        0xf8, 0xff, 0xff, 0xff, 0x0f, 0x00,                   /* 2^29 - 1: varint 0 */
    };
    const struct {
        uint32_t field;
        uint8_t wt;
        uint64_t num;
        size_t len;
    } want[] = {
        {1, FOG_PB_VARINT, 150, 0},
        {2, FOG_PB_LEN, 0, 7},
        {3, FOG_PB_I64, 0x0102030405060708ull, 0},
        {4, FOG_PB_I32, 0x01020304, 0},
        {5, FOG_PB_LEN, 0, 0},
        {6, FOG_PB_VARINT, 1, 0},
        {(1u << 29) - 1, FOG_PB_VARINT, 0, 0},
    };
    fog_reader r;
    fog_reader_init(&r, in, sizeof in);
    fog_pb_field f;
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        assert_true(fog_pb_next(&r, &f));
        assert_int_equal(f.field, want[i].field);
        assert_int_equal(f.wt, want[i].wt);
        assert_int_equal(f.num, want[i].num);
        assert_int_equal(f.v.len, want[i].len);
    }
    assert_false(fog_pb_next(&r, &f)); /* the end: no error */
    assert_int_equal(r.err, 0);
    assert_int_equal(f.field, 0);
    assert_int_equal(fog_pb_end(&r, "t"), 0);
    fog_reader_init(&r, in, sizeof in);
    assert_true(fog_pb_next(&r, &f) && fog_pb_next(&r, &f));
    assert_memory_equal(f.v.p, "testing", 7);
}

/* Runs fog_pb_next over in until it stops; returns r.err and leaves the last field in *f. */
static int pb_walk(const uint8_t *in, size_t len, fog_pb_field *f)
{
    fog_reader r;
    fog_reader_init(&r, in, len);
    while (fog_pb_next(&r, f)) {
    }
    int err = r.err;
    size_t left = r.left;
    assert_false(fog_pb_next(&r, f)); /* sticky: nothing more is read */
    assert_int_equal(r.err, err);
    assert_int_equal(r.left, left);
    return err;
}

static void test_util_pb_rejects(void **state)
{
    (void)state;
    static const struct {
        uint8_t in[14];
        size_t len;
        int err;
    } cases[] = {
        {{0x02, 0x00}, 2, FOG_ERR_PROTO},                             /* field number 0 */
        {{0x0b, 0x0c}, 2, FOG_ERR_PROTO},                             /* start/end group */
        {{0x0c}, 1, FOG_ERR_PROTO},                                   /* a lone end group */
        {{0x0e}, 1, FOG_ERR_PROTO},                                   /* wire type 6 */
        {{0x0f}, 1, FOG_ERR_PROTO},                                   /* wire type 7 */
        {{0x88, 0x80, 0x80, 0x80, 0x80, 0x00, 0x01}, 7, FOG_ERR_PROTO}, /* 6-byte key */
        {{0xff, 0xff, 0xff, 0xff, 0x1f, 0x00}, 6, FOG_ERR_PROTO},       /* key past 32 bits */
        {{0x12, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00}, 7, FOG_ERR_PROTO}, /* 6-byte length */
        {{0x12, 0xff, 0xff, 0xff, 0xff, 0x1f}, 6, FOG_ERR_PROTO},       /* length past 32 bits */
        {{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 12,
         FOG_ERR_PROTO},                                          /* an 11-byte varint */
        {{0x08, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02}, 11,
         FOG_ERR_PROTO},                                          /* a varint past 64 bits */
        {{0x08}, 1, FOG_ERR_TRUNCATED},                           /* a key, no value */
        {{0x12, 0x05, 0x41}, 3, FOG_ERR_TRUNCATED},               /* a length past the end */
        {{0x25, 0x01, 0x02, 0x03}, 4, FOG_ERR_TRUNCATED},         /* fixed32 cut short */
        {{0x88}, 1, FOG_ERR_TRUNCATED},                           /* a key cut short */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fog_pb_field f;
        int err = pb_walk(cases[i].in, cases[i].len, &f);
        if (err != cases[i].err) {
            fail_msg("case %zu: %s, not %s", i, fog_err_name(err), fog_err_name(cases[i].err));
        }
    }
    /* a fixed64 cut short after a good field: the key that failed is still in f */
    const uint8_t cut[] = {0x08, 0x01, 0x19, 0x01, 0x02};
    fog_reader r;
    fog_reader_init(&r, cut, sizeof cut);
    fog_pb_field f;
    assert_true(fog_pb_next(&r, &f));
    assert_false(fog_pb_next(&r, &f));
    assert_int_equal(r.err, FOG_ERR_TRUNCATED);
    assert_int_equal(f.field, 3);
    assert_int_equal(f.wt, FOG_PB_I64);
    assert_int_equal(fog_pb_end(&r, "who"), FOG_ERR_TRUNCATED);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_TRUNCATED), "who: "));
}

static void test_util_lp_frame(void **state)
{
    (void)state;
    fog_slice body;
    size_t used = 99;
    assert_int_equal(fog_lp_frame(NULL, 0, 8, &body, &used), 0);
    assert_int_equal(used, 0);
    const uint8_t two[] = {0x03, 'a', 'b', 'c', 0x00, 0x05};
    assert_int_equal(fog_lp_frame(two, 3, 8, &body, &used), 0); /* body not all there */
    assert_int_equal(used, 0);
    assert_null(body.p);
    assert_int_equal(fog_lp_frame(two, sizeof two, 3, &body, &used), 1); /* max itself is fine */
    assert_int_equal(used, 4);
    assert_int_equal(body.len, 3);
    assert_memory_equal(body.p, "abc", 3);
    assert_int_equal(fog_lp_frame(&two[4], 2, 8, &body, &used), 1); /* an empty message */
    assert_int_equal(used, 1);
    assert_int_equal(body.len, 0);
    /* past max: refused on the prefix alone, before any body */
    assert_int_equal(fog_lp_frame(two, 1, 2, &body, &used), FOG_ERR_LIMIT);
    assert_non_null(strstr(fog_err_detail(FOG_ERR_LIMIT), "2 bytes"));
    const uint8_t big[] = {0x80, 0x80, 0x80, 0x80, 0x01}; /* 2^28 */
    assert_int_equal(fog_lp_frame(big, 4, SIZE_MAX, &body, &used), 0); /* prefix incomplete */
    assert_int_equal(fog_lp_frame(big, 4, 1u << 22, &body, &used), 0);
    assert_int_equal(fog_lp_frame(big, 5, 1u << 22, &body, &used), FOG_ERR_LIMIT);
    assert_int_equal(fog_lp_frame(big, 5, (size_t)1 << 28, &body, &used), 0);
    const uint8_t nonmin[] = {0x83, 0x00, 'a', 'b', 'c'};
    assert_int_equal(fog_lp_frame(nonmin, sizeof nonmin, 8, &body, &used), FOG_ERR_PROTO);
    const uint8_t ten[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    assert_int_equal(fog_lp_frame(ten, sizeof ten, SIZE_MAX, &body, &used), FOG_ERR_PROTO);
}

static void test_util_buf_and_hex(void **state)
{
    (void)state;
    fog_buf b;
    fog_buf_init(&b);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(fog_buf_u8(&b, (uint8_t)i), 0);
    }
    assert_int_equal(b.len, 1000);
    assert_int_equal(fog_buf_reserve(&b, SIZE_MAX), FOG_ERR_LIMIT);
    assert_int_equal(b.len, 1000);
    fog_buf_clear(&b);
    char hex[9];
    const uint8_t d[] = {0xde, 0xad, 0xbe, 0xef};
    fog_hex_encode(d, 4, hex);
    assert_string_equal(hex, "deadbeef");
    uint8_t back[4];
    assert_int_equal(fog_hex_decode("DEADbeef", 8, back, 4), 4);
    assert_memory_equal(back, d, 4);
    assert_int_equal(fog_hex_decode("abc", 3, back, 4), FOG_ERR_PROTO);
    assert_int_equal(fog_hex_decode("zz", 2, back, 4), FOG_ERR_PROTO);
    assert_int_equal(fog_hex_decode("0011223344", 10, back, 4), FOG_ERR_LIMIT);
}

/* The set against a model too simple to be wrong: a linear list of what was added. */
static void test_util_set_model(void **state)
{
    (void)state;
    fog_set s;
    fog_set_init(&s);
    uint8_t keys[500][9];
    for (int i = 0; i < 500; i++) {
        for (int j = 0; j < 9; j++) {
            keys[i][j] = (uint8_t)((i * 31 + j * 7) % 251);
        }
        keys[i][0] = (uint8_t)i;
        keys[i][1] = (uint8_t)(i >> 8);
    }
    for (int i = 0; i < 500; i++) {
        size_t len = (size_t)(1 + i % 9);
        int fresh = 1;
        for (int j = 0; j < i; j++) {
            if ((size_t)(1 + j % 9) == len && memcmp(keys[j], keys[i], len) == 0) {
                fresh = 0;
            }
        }
        assert_int_equal(fog_set_add(&s, keys[i], len), fresh);
        assert_true(fog_set_has(&s, keys[i], len));
        assert_int_equal(fog_set_add(&s, keys[i], len), 0);
    }
    const uint8_t absent[3] = {0xff, 0xff, 0xff};
    assert_false(fog_set_has(&s, absent, 3));
    fog_set_clear(&s);
    assert_false(fog_set_has(&s, keys[0], 1));
}

typedef struct {
    int calls;
    char last[300];
} log_rec;

static void log_fn(void *ctx, int level, const char *module, const char *msg)
{
    log_rec *r = ctx;
    r->calls++;
    snprintf(r->last, sizeof r->last, "%d %s %s", level, module, msg);
}

static void test_util_logf_levels(void **state)
{
    (void)state;
    log_rec r = {0};
    fog_log_sink sink = {log_fn, &r, FOG_LOG_INFO};
    fog_logf(&sink, FOG_LOG_DEBUG, "x", "dropped %d", 1);
    assert_int_equal(r.calls, 0);
    fog_logf(&sink, FOG_LOG_WARN, "yamux", "window %u", 7u);
    assert_int_equal(r.calls, 1);
    assert_string_equal(r.last, "1 yamux window 7");
    char big[400];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    fog_logf(&sink, FOG_LOG_ERROR, "m", "%s", big); /* cut to one 255-byte line */
    assert_int_equal(strlen(r.last), strlen("0 m ") + 255);
    fog_logf(NULL, FOG_LOG_ERROR, "m", "no sink");
    fog_log_sink none = {NULL, NULL, FOG_LOG_DEBUG};
    fog_logf(&none, FOG_LOG_ERROR, "m", "no fn");
    assert_int_equal(r.calls, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util_err_table),
        cmocka_unit_test(test_util_uvarint_vectors),
        cmocka_unit_test(test_util_uvarint_rejects),
        cmocka_unit_test(test_util_reader_sticky),
        cmocka_unit_test(test_util_pb_fields),
        cmocka_unit_test(test_util_pb_rejects),
        cmocka_unit_test(test_util_lp_frame),
        cmocka_unit_test(test_util_buf_and_hex),
        cmocka_unit_test(test_util_set_model),
        cmocka_unit_test(test_util_logf_levels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
