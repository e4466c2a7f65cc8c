/* test_mss.c: multistream-select 1.0 cores (src/net/mss.c).
 * Two cores talk through an in-memory pipe with a fake clock, whole or in 1-byte fragments.
 * Expected wire bytes are written out by hand from the spec's framing rule (uvarint of the
 * length including '\n', the text, '\n'): "/multistream/1.0.0" is 18 characters, so its frame
 * starts with 0x13; "na" is 03 6e 61 0a (PROTOCOLS.md 3.2).
 */
#include "testlib.h"

#include "fog/mss.h"

#define HDR "\x13/multistream/1.0.0\n"
#define HDR_LEN 20

static const char *const NOISE_ONLY[] = {"/noise"};
static const char *const TLS_NOISE[] = {"/tls/1.0.0", "/noise"};

static fog_mss *mk(bool dialer, const char *const *ids, size_t n, bool pipeline)
{
    fog_mss_config cfg;
    fog_mss_config_default(&cfg);
    cfg.is_dialer = dialer;
    cfg.protocols = ids;
    cfg.n_protocols = n;
    cfg.pipeline = pipeline;
    fog_mss *m = NULL;
    assert_int_equal(fog_mss_new(&m, &cfg), 0);
    assert_non_null(m);
    return m;
}

/* Pulls everything pending from m into out (appending). */
static void drain(fog_mss *m, fog_buf *out)
{
    uint8_t tmp[7]; /* small, so that pull is called with a cap below the pending size */
    size_t n;
    do {
        assert_int_equal(fog_mss_pull(m, tmp, sizeof tmp, &n, 0), 0);
        assert_int_equal(fog_buf_append(out, tmp, n), 0);
    } while (n > 0);
    assert_false(fog_mss_want_write(m));
}

/* Feeds in to m in pieces of frag bytes (0: all at once); returns the first error or 0. */
static int feed_frag(fog_mss *m, const uint8_t *in, size_t len, size_t frag, fog_ms *now)
{
    size_t off = 0;
    while (off < len) {
        size_t n = frag == 0 || len - off < frag ? len - off : frag;
        int rc = fog_mss_feed(m, in + off, n, (*now)++);
        if (rc < 0) {
            return rc;
        }
        off += n;
    }
    return 0;
}

/* Moves output both ways until neither side has any left. */
static void pump(fog_mss *a, fog_mss *b, size_t frag)
{
    fog_ms now = 1000;
    for (int round = 0; round < 100; round++) {
        fog_buf ab, ba;
        fog_buf_init(&ab);
        fog_buf_init(&ba);
        drain(a, &ab);
        drain(b, &ba);
        bool idle = ab.len == 0 && ba.len == 0;
        assert_int_equal(feed_frag(b, ab.p, ab.len, frag, &now), 0);
        assert_int_equal(feed_frag(a, ba.p, ba.len, frag, &now), 0);
        fog_buf_clear(&ab);
        fog_buf_clear(&ba);
        if (idle) {
            return;
        }
    }
    fail_msg("negotiation did not settle");
}

static void expect_negotiated(fog_mss *m, const char *id, size_t index)
{
    fog_mss_event ev;
    assert_true(fog_mss_poll_event(m, &ev));
    assert_int_equal(ev.kind, FOG_MSS_EV_NEGOTIATED);
    assert_string_equal(ev.protocol, id);
    assert_int_equal(ev.protocol_len, strlen(id));
    assert_int_equal(ev.index, index);
    assert_false(fog_mss_poll_event(m, &ev));
    assert_true(fog_mss_done(m));
}

static void test_mss_dialer_wire_bytes(void **state)
{
    (void)state;
    static const uint8_t want[] = HDR "\x07/noise\n";
    fog_mss *d = mk(true, NOISE_ONLY, 1, true);
    fog_buf out;
    fog_buf_init(&out);
    drain(d, &out);
    assert_int_equal(out.len, sizeof want - 1);
    assert_memory_equal(out.p, want, sizeof want - 1);
    fog_buf_clear(&out);
    fog_mss_free(d);

    /* Not pipelined: only the header until the listener's header arrives. */
    d = mk(true, NOISE_ONLY, 1, false);
    fog_buf_init(&out);
    drain(d, &out);
    assert_int_equal(out.len, HDR_LEN);
    assert_memory_equal(out.p, HDR, HDR_LEN);
    fog_buf_reset(&out);
    assert_int_equal(fog_mss_feed(d, (const uint8_t *)HDR, HDR_LEN, 0), 0);
    drain(d, &out);
    assert_int_equal(out.len, 8);
    assert_memory_equal(out.p, "\x07/noise\n", 8);
    fog_buf_clear(&out);
    fog_mss_free(d);
}

static void run_pair(bool pipeline, size_t frag)
{
    fog_mss *d = mk(true, NOISE_ONLY, 1, pipeline);
    fog_mss *l = mk(false, TLS_NOISE, 2, false);
    pump(d, l, frag);
    expect_negotiated(d, "/noise", 0);
    expect_negotiated(l, "/noise", 1);
    assert_int_equal(fog_mss_leftover(d).len, 0);
    assert_int_equal(fog_mss_leftover(l).len, 0);
    fog_mss_free(d);
    fog_mss_free(l);
}

static void test_mss_pipe_negotiates(void **state)
{
    (void)state;
    run_pair(true, 0);
    run_pair(false, 0);
}

static void test_mss_one_byte_fragments(void **state)
{
    (void)state;
    run_pair(true, 1);
    run_pair(false, 1);
    run_pair(true, 3);
}

/* go-libp2p's lazy dialer: header, proposal and the first Noise bytes in one read. */
static void test_mss_listener_pipelined_input(void **state)
{
    (void)state;
    static const uint8_t in[] = HDR "\x07/noise\n"
                                    "\x00\x20noise-msg-1";
    fog_mss *l = mk(false, TLS_NOISE, 2, false);
    assert_int_equal(fog_mss_feed(l, in, sizeof in - 1, 5), 0);
    expect_negotiated(l, "/noise", 1);
    fog_slice rest = fog_mss_leftover(l);
    assert_int_equal(rest.len, 13);
    assert_memory_equal(rest.p, "\x00\x20noise-msg-1", 13);
    static const uint8_t want[] = HDR "\x07/noise\n";
    fog_buf out;
    fog_buf_init(&out);
    drain(l, &out);
    assert_int_equal(out.len, sizeof want - 1);
    assert_memory_equal(out.p, want, sizeof want - 1);
    fog_buf_clear(&out);
    fog_mss_leftover_clear(l);
    assert_int_equal(fog_mss_leftover(l).len, 0);
    fog_mss_free(l);
}

static void test_mss_na_then_second_proposal(void **state)
{
    (void)state;
    fog_mss *d = mk(true, TLS_NOISE, 2, true);
    fog_mss *l = mk(false, NOISE_ONLY, 1, false);
    fog_buf dl, ld;
    fog_buf_init(&dl);
    fog_buf_init(&ld);
    drain(d, &dl);
    assert_int_equal(fog_mss_feed(l, dl.p, dl.len, 0), 0);
    drain(l, &ld);
    static const uint8_t want_na[] = HDR "\x03na\n";
    assert_int_equal(ld.len, sizeof want_na - 1);
    assert_memory_equal(ld.p, want_na, sizeof want_na - 1);
    assert_int_equal(fog_mss_feed(d, ld.p, ld.len, 0), 0);
    fog_buf_reset(&dl);
    drain(d, &dl);
    assert_int_equal(dl.len, 8);
    assert_memory_equal(dl.p, "\x07/noise\n", 8);
    assert_int_equal(fog_mss_feed(l, dl.p, dl.len, 0), 0);
    fog_buf_clear(&dl);
    fog_buf_clear(&ld);
    pump(d, l, 1);
    expect_negotiated(d, "/noise", 1);
    expect_negotiated(l, "/noise", 0);
    fog_mss_free(d);
    fog_mss_free(l);
}

static void test_mss_no_common_protocol(void **state)
{
    (void)state;
    static const char *const other[] = {"/mplex/6.7.0"};
    fog_mss *d = mk(true, TLS_NOISE, 2, true);
    fog_mss *l = mk(false, other, 1, false);
    pump(d, l, 0);
    fog_mss_event ev;
    assert_true(fog_mss_poll_event(d, &ev));
    assert_int_equal(ev.kind, FOG_MSS_EV_FAILED);
    assert_null(ev.protocol);
    assert_true(fog_mss_done(d));
    assert_false(fog_mss_poll_event(l, &ev));
    assert_false(fog_mss_done(l));
    fog_mss_free(d);
    fog_mss_free(l);
}

/* Feeds in to a fresh listener whole and byte by byte; both must fail with want. */
static void listener_rejects(const uint8_t *in, size_t len, int want)
{
    for (size_t frag = 0; frag <= 1; frag++) {
        fog_mss *l = mk(false, NOISE_ONLY, 1, false);
        fog_ms now = 0;
        assert_int_equal(feed_frag(l, in, len, frag, &now), want);
        /* Dead: the same error again, and no event. */
        assert_int_equal(fog_mss_feed(l, (const uint8_t *)"x", 1, now), want);
        fog_mss_event ev;
        assert_false(fog_mss_poll_event(l, &ev));
        fog_mss_free(l);
    }
}

static void test_mss_too_long_message(void **state)
{
    (void)state;
    /* 1025 = 0x81 0x08: one byte over go-multistream's limit. */
    static const uint8_t over[] = HDR "\x81\x08/x";
    listener_rejects(over, sizeof over - 1, FOG_ERR_LIMIT);
    /* A third varint byte means a length of at least 16384. */
    static const uint8_t three[] = HDR "\x80\x80\x01";
    listener_rejects(three, sizeof three - 1, FOG_ERR_LIMIT);
    /* Exactly 1024 (0x80 0x08) is accepted: 1023 bytes of ID and '\n', answered with na. */
    uint8_t msg[HDR_LEN + 2 + 1024];
    memcpy(msg, HDR, HDR_LEN);
    msg[HDR_LEN] = 0x80;
    msg[HDR_LEN + 1] = 0x08;
    memset(msg + HDR_LEN + 2, 'a', 1023);
    msg[sizeof msg - 1] = '\n';
    fog_mss *l = mk(false, NOISE_ONLY, 1, false);
    assert_int_equal(fog_mss_feed(l, msg, sizeof msg, 0), 0);
    fog_buf out;
    fog_buf_init(&out);
    drain(l, &out);
    assert_int_equal(out.len, HDR_LEN + 4);
    assert_memory_equal(out.p + HDR_LEN, "\x03na\n", 4);
    fog_buf_clear(&out);
    fog_mss_free(l);
}

static void test_mss_bad_varints(void **state)
{
    (void)state;
    static const uint8_t non_minimal[] = "\x93\x00/multistream/1.0.0\n";
    listener_rejects(non_minimal, sizeof non_minimal - 1, FOG_ERR_PROTO);
    static const uint8_t zero[] = HDR "\x00";
    listener_rejects(zero, sizeof zero - 1, FOG_ERR_PROTO);
}

static void test_mss_missing_newline(void **state)
{
    (void)state;
    static const uint8_t hdr_no_nl[] = "\x13/multistream/1.0.0X";
    listener_rejects(hdr_no_nl, sizeof hdr_no_nl - 1, FOG_ERR_PROTO);
    static const uint8_t prop_no_nl[] = HDR "\x07/noise!";
    listener_rejects(prop_no_nl, sizeof prop_no_nl - 1, FOG_ERR_PROTO);
}

static void test_mss_wrong_header(void **state)
{
    (void)state;
    static const uint8_t v2[] = "\x13/multistream/2.0.0\n";
    listener_rejects(v2, sizeof v2 - 1, FOG_ERR_PROTO);
    /* A dialer that skips the header and proposes at once. */
    static const uint8_t no_hdr[] = "\x07/noise\n";
    listener_rejects(no_hdr, sizeof no_hdr - 1, FOG_ERR_PROTO);
}

static void test_mss_dialer_unexpected_reply(void **state)
{
    (void)state;
    static const uint8_t in[] = HDR "\x07/other\n";
    fog_mss *d = mk(true, NOISE_ONLY, 1, true);
    assert_int_equal(fog_mss_feed(d, in, sizeof in - 1, 0), FOG_ERR_PROTO);
    fog_mss_event ev;
    assert_false(fog_mss_poll_event(d, &ev));
    fog_mss_free(d);
}

/* The listener's header, its echo and the first yamux frame arrive together; the leftover is
 * exactly the yamux bytes, whole or built up from 1-byte reads, and later reads append. */
static void test_mss_leftover_exact(void **state)
{
    (void)state;
    static const uint8_t in[] = HDR "\x0d/yamux/1.0.0\n"
                                    "\x00\x01\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00";
    static const char *const yamux[] = {"/yamux/1.0.0"};
    for (size_t frag = 0; frag <= 1; frag++) {
        fog_mss *d = mk(true, yamux, 1, true);
        fog_ms now = 0;
        assert_int_equal(feed_frag(d, in, sizeof in - 1, frag, &now), 0);
        expect_negotiated(d, "/yamux/1.0.0", 0);
        fog_slice rest = fog_mss_leftover(d);
        assert_int_equal(rest.len, 12);
        assert_memory_equal(rest.p, "\x00\x01\x00\x01\x00\x00\x00\x01\x00\x00\x00\x00", 12);
        assert_int_equal(fog_mss_feed(d, (const uint8_t *)"ab", 2, now), 0);
        rest = fog_mss_leftover(d);
        assert_int_equal(rest.len, 14);
        assert_memory_equal(rest.p + 12, "ab", 2);
        fog_mss_free(d);
    }
}

static void test_mss_leftover_cap(void **state)
{
    (void)state;
    fog_mss_config cfg;
    fog_mss_config_default(&cfg);
    cfg.protocols = NOISE_ONLY;
    cfg.n_protocols = 1;
    cfg.max_leftover_bytes = 8;
    fog_mss *l = NULL;
    assert_int_equal(fog_mss_new(&l, &cfg), 0);
    static const uint8_t in[] = HDR "\x07/noise\n"
                                    "12345678";
    assert_int_equal(fog_mss_feed(l, in, sizeof in - 1, 0), 0);
    assert_int_equal(fog_mss_leftover(l).len, 8);
    assert_int_equal(fog_mss_feed(l, (const uint8_t *)"9", 1, 0), FOG_ERR_LIMIT);
    fog_mss_free(l);
}

static void test_mss_reject_cap(void **state)
{
    (void)state;
    fog_mss_config cfg;
    fog_mss_config_default(&cfg);
    cfg.protocols = NOISE_ONLY;
    cfg.n_protocols = 1;
    cfg.max_rejects = 2;
    fog_mss *l = NULL;
    assert_int_equal(fog_mss_new(&l, &cfg), 0);
    static const uint8_t in[] = HDR "\x03/a\n\x03/b\n";
    assert_int_equal(fog_mss_feed(l, in, sizeof in - 1, 0), 0);
    /* ls is not supported: it is refused like an unknown ID, and counts. */
    assert_int_equal(fog_mss_feed(l, (const uint8_t *)"\x03ls\n", 4, 0), FOG_ERR_LIMIT);
    fog_mss_free(l);
}

static void test_mss_config_invalid(void **state)
{
    (void)state;
    static const char *const bad_nl[] = {"/a\nb"};
    static const char *const bad_na[] = {"na"};
    static const char *const bad_empty[] = {""};
    char long_id[FOG_MSS_MSG_MAX + 1];
    memset(long_id, 'x', FOG_MSS_MSG_MAX);
    long_id[FOG_MSS_MSG_MAX] = '\0'; /* 1024 bytes + '\n' would be a 1025-byte message */
    const char *const bad_long[] = {long_id};
    const char *const *lists[] = {bad_nl, bad_na, bad_empty, bad_long};
    fog_mss_config cfg;
    fog_mss *m = NULL;
    for (size_t i = 0; i < 4; i++) {
        fog_mss_config_default(&cfg);
        cfg.protocols = lists[i];
        cfg.n_protocols = 1;
        assert_int_equal(fog_mss_new(&m, &cfg), FOG_ERR_INVALID);
        assert_null(m);
    }
    fog_mss_config_default(&cfg);
    cfg.is_dialer = true; /* a dialer with nothing to propose */
    assert_int_equal(fog_mss_new(&m, &cfg), FOG_ERR_INVALID);
    /* A listener with no IDs is valid: it refuses everything. */
    fog_mss_config_default(&cfg);
    assert_int_equal(fog_mss_new(&m, &cfg), 0);
    fog_mss_free(m);
    fog_mss_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mss_dialer_wire_bytes),
        cmocka_unit_test(test_mss_pipe_negotiates),
        cmocka_unit_test(test_mss_one_byte_fragments),
        cmocka_unit_test(test_mss_listener_pipelined_input),
        cmocka_unit_test(test_mss_na_then_second_proposal),
        cmocka_unit_test(test_mss_no_common_protocol),
        cmocka_unit_test(test_mss_too_long_message),
        cmocka_unit_test(test_mss_bad_varints),
        cmocka_unit_test(test_mss_missing_newline),
        cmocka_unit_test(test_mss_wrong_header),
        cmocka_unit_test(test_mss_dialer_unexpected_reply),
        cmocka_unit_test(test_mss_leftover_exact),
        cmocka_unit_test(test_mss_leftover_cap),
        cmocka_unit_test(test_mss_reject_cap),
        cmocka_unit_test(test_mss_config_invalid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
