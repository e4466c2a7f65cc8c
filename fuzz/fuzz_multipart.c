/* fuzz_multipart.c: the API's multipart/form-data reader (src/http/multipart.c:
 * fog__api_multipart_first) on arbitrary input: the first line (up to a '\n', at most 200
 * bytes) is the Content-Type, the rest the body. Seed with "multipart/form-data; boundary=B\n"
 * followed by "--B\r\n\r\nx\r\n--B--".
 * Properties: an accepted body yields content that lies inside the body and is followed there by
 * CRLF "--" and the boundary; a refused one leaves FOG_ERR_PROTO with a detail; and wrapping any
 * bytes without that delimiter in a well-formed body gives exactly those bytes back.
 */
#include <stdio.h>
#include <string.h>

#include "fuzzlib.h"
#include "http/internal.h"

static bool has(const uint8_t *p, size_t len, const char *needle, size_t n)
{
    for (size_t i = 0; len >= n && i <= len - n; i++) {
        if (memcmp(p + i, needle, n) == 0) {
            return true;
        }
    }
    return false;
}

/* Wraps data in a body with boundary "fuzzB" and checks it comes back. */
static void roundtrip(const uint8_t *data, size_t size)
{
    static const char ct[] = "multipart/form-data; boundary=fuzzB";
    if (size > 4096 || has(data, size, "\r\n--fuzzB", 9)) {
        return;
    }
    static uint8_t body[4096 + 64];
    size_t o = 0;
    memcpy(body, "--fuzzB\r\n\r\n", 11);
    o = 11;
    memcpy(body + o, data, size);
    o += size;
    memcpy(body + o, "\r\n--fuzzB--\r\n", 13);
    o += 13;
    fog_slice out;
    CHECK(fog__api_multipart_first(fog_slice_make(ct, sizeof ct - 1), fog_slice_make(body, o),
                                   &out) == 0);
    CHECK(out.len == size && (size == 0 || memcmp(out.p, data, size) == 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t nl = 0;
    while (nl < size && nl < 200 && data[nl] != '\n') {
        nl++;
    }
    if (nl >= size || data[nl] != '\n') {
        roundtrip(data, size);
        return 0;
    }
    fog_slice ct = fog_slice_make(data, nl);
    fog_slice body = fog_slice_make(data + nl + 1, size - nl - 1);
    fog_slice out = {0};
    fog_err_clear();
    int rc = fog__api_multipart_first(ct, body, &out);
    if (rc < 0) {
        CHECK(rc == FOG_ERR_PROTO && fog_err_detail(rc)[0] != '\0');
    } else {
        CHECK(out.p >= body.p && out.len <= body.len);
        size_t off = (size_t)(out.p - body.p);
        CHECK(off <= body.len - out.len);
        size_t after = off + out.len;
        CHECK(body.len - after >= 4 && memcmp(body.p + after, "\r\n--", 4) == 0);
    }
    roundtrip(body.p, body.len);
    return 0;
}
