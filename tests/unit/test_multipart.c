/* test_multipart.c: the first part of a multipart/form-data body (src/http/multipart.c), what
 * the API's routing/put reads a file argument with. Bodies are written here by hand after RFC
 * 2046 section 5.1 and RFC 7578 (the forms kubo's Go client, curl -F and fog's CLI send): the
 * expected content is the bytes placed between the part's blank line and CRLF "--boundary".
 */
#include "testlib.h"

#include "http/internal.h"

static int first(const char *ctype, const char *body, size_t body_len, fog_slice *out)
{
    return fog__api_multipart_first(fog_slice_make(ctype, strlen(ctype)),
                                    fog_slice_make(body, body_len), out);
}

static void expect_content(const char *ctype, const char *body, const char *want)
{
    fog_slice out = {0};
    assert_int_equal(first(ctype, body, strlen(body), &out), 0);
    assert_int_equal(out.len, strlen(want));
    assert_memory_equal(out.p, want, out.len);
}

static void test_multipart_curl_form(void **state)
{
    (void)state;
    expect_content("multipart/form-data; boundary=------------------------4ebf00fbcf09",
                   "--------------------------4ebf00fbcf09\r\n"
                   "Content-Disposition: form-data; name=\"file\"; filename=\"rec\"\r\n"
                   "Content-Type: application/octet-stream\r\n"
                   "\r\n"
                   "record bytes\r\nwith a CRLF inside\r\n"
                   "--------------------------4ebf00fbcf09--\r\n",
                   "record bytes\r\nwith a CRLF inside");
}

static void test_multipart_quoted_boundary_and_case(void **state)
{
    (void)state;
    expect_content("Multipart/Form-Data; charset=utf-8; BOUNDARY=\"a b:c\"",
                   "--a b:c\r\nContent-Type: application/octet-stream\r\n\r\nxyz\r\n--a b:c--",
                   "xyz");
}

static void test_multipart_preamble_padding_no_headers(void **state)
{
    (void)state;
    /* a preamble before the first delimiter; transport padding after it; no header lines */
    expect_content("multipart/form-data; boundary=B",
                   "ignored preamble\r\n--B \t\r\n\r\nbody\r\n--B\r\nsecond part\r\n--B--",
                   "body");
}

static void test_multipart_binary_and_empty(void **state)
{
    (void)state;
    static const char body[] = "--X\r\n\r\n\0\1\2--X\r\n--X--";
    fog_slice out = {0};
    assert_int_equal(first("multipart/form-data; boundary=X", body, sizeof body - 1, &out), 0);
    assert_int_equal(out.len, 6); /* "\0\1\2--X" is content: a delimiter needs CRLF first */
    assert_memory_equal(out.p, "\0\1\2--X", 6);
    expect_content("multipart/form-data; boundary=X", "--X\r\n\r\n\r\n--X--", "");
}

static void test_multipart_refused(void **state)
{
    (void)state;
    fog_slice out = {0};
    static const char *const bad[][2] = {
        {"multipart/form-data", "--B\r\n\r\nx\r\n--B--"},          /* no boundary */
        {"multipart/form-data; boundary=", "--\r\n\r\nx\r\n----"}, /* empty boundary */
        {"multipart/form-data; boundary=\"B", "--B\r\n\r\nx\r\n--B--"}, /* open quote */
        {"multipart/form-data; boundary=B", ""},                     /* empty body */
        {"multipart/form-data; boundary=B", "x\r\n\r\nx\r\n--C--"},  /* no delimiter */
        {"multipart/form-data; boundary=B", "--B--\r\n"},           /* closed at once */
        {"multipart/form-data; boundary=B", "--B\r\nContent-Type: x\r\n"}, /* headers cut */
        {"multipart/form-data; boundary=B", "--B\r\n\r\nunterminated"},   /* no end */
        {"multipart/form-data; boundary=B", "--Bx\r\n\r\ny\r\n--B--"},    /* longer delimiter */
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        fog_err_clear();
        int rc = first(bad[i][0], bad[i][1], strlen(bad[i][1]), &out);
        assert_int_equal(rc, FOG_ERR_PROTO);
        assert_true(strncmp(fog_err_detail(rc), "multipart body: ", 16) == 0);
    }
    /* a boundary of 71 characters is past RFC 2046's 70 */
    char ct[128];
    snprintf(ct, sizeof ct, "multipart/form-data; boundary=%071d", 0);
    assert_int_equal(first(ct, "x", 1, &out), FOG_ERR_PROTO);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multipart_curl_form),
        cmocka_unit_test(test_multipart_quoted_boundary_and_case),
        cmocka_unit_test(test_multipart_preamble_padding_no_headers),
        cmocka_unit_test(test_multipart_binary_and_empty),
        cmocka_unit_test(test_multipart_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
