/* fuzz_cid.c: the CID parsers on arbitrary input (libFuzzer).
 * The input is tried as a binary CID (fog_cid_from_bytes), as a stream of binary CIDs
 * (fog_cid_read until it fails) and as text (fog_cid_parse). Whatever parses must be canonical:
 * binary input is exactly the bytes fog would write, and every text form fog writes for it
 * (each supported base) parses back to the same CID.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/mf.h"
#include "fuzzlib.h"

static void round_trip(const fog_cid *c)
{
    static const int bases[] = {0, 'b', 'B', 'z', 'f', 'F', 'k', 'K', 'm', 'u'};
    CHECK(c->len <= FOG_CID_MAX && c->digest_off + c->digest_len == c->len);
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        char text[FOG_CID_STR_MAX];
        int n = fog_cid_format(c, bases[i], text, sizeof text);
        if (c->version == 0 && bases[i] != 0 && bases[i] != 'z') {
            CHECK(n == FOG_ERR_INVALID);
            continue;
        }
        CHECK(n > 0 && (size_t)n == strlen(text));
        fog_cid back;
        CHECK(fog_cid_parse(&back, text) == 0);
        CHECK(fog_cid_eq(&back, c));
        CHECK(back.version == c->version && back.codec == c->codec);
        CHECK(back.mh_code == c->mh_code && back.digest_len == c->digest_len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fog_cid c;
    if (fog_cid_from_bytes(&c, data, size) == 0) {
        CHECK(c.len == size && memcmp(c.bytes, data, size) == 0);
        round_trip(&c);
    }
    fog_reader r;
    fog_reader_init(&r, data, size);
    while (r.err == 0 && r.left > 0) {
        size_t before = r.left;
        fog_cid_read(&r, &c);
        CHECK(r.err != 0 || r.left < before);
    }
    char *s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    if (fog_cid_parse(&c, s) == 0) {
        round_trip(&c);
    }
    free(s);
    return 0;
}
