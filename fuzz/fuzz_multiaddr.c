/* fuzz_multiaddr.c: the multiaddr and peer ID parsers on arbitrary input (libFuzzer).
 * The input is tried as a binary multiaddr, as multiaddr text and as peer ID text. Whatever
 * parses must be canonical both ways: the text fog writes for a binary address parses back to
 * the same bytes, the component walk covers every byte, and a parsed peer ID survives its
 * base58btc and CIDv1 (base36, base32) text forms.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fog/mf.h"
#include "fog/multiaddr.h"
#include "fuzzlib.h"

static void check_addr(const fog_multiaddr *ma)
{
    CHECK(ma->len > 0 && ma->len <= FOG_MULTIADDR_MAX);
    size_t off = 0, count = 0;
    fog_ma_component c;
    while (fog_multiaddr_next(ma, &off, &c) == 1) {
        CHECK(fog_multiaddr_proto_name(c.code) != NULL);
        count++;
    }
    CHECK(off == ma->len && count > 0);
    char text[FOG_MULTIADDR_STR_MAX];
    int n = fog_multiaddr_format(ma, text, sizeof text);
    CHECK(n > 0 && (size_t)n == strlen(text));
    fog_multiaddr back;
    CHECK(fog_multiaddr_parse(&back, text) == 0);
    CHECK(fog_multiaddr_eq(&back, ma));
    fog_slice id;
    if (fog_multiaddr_peer_id(ma, &id) == 0) {
        CHECK(fog_peer_id_check(id.p, id.len) == 0);
    }
}

static void check_peer(const uint8_t *id, size_t len)
{
    static const int bases[] = {0, 'b', 'z', 'f'};
    CHECK(len <= FOG_PEER_ID_MAX && fog_peer_id_check(id, len) == 0);
    char text[FOG_CID_STR_MAX];
    uint8_t back[FOG_PEER_ID_MAX];
    CHECK(fog_peer_id_format(id, len, text, sizeof text) > 0);
    CHECK(fog_peer_id_parse(text, back) == (int)len && memcmp(back, id, len) == 0);
    for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++) {
        CHECK(fog_peer_id_format_cid(id, len, bases[i], text, sizeof text) > 0);
        CHECK(fog_peer_id_parse(text, back) == (int)len && memcmp(back, id, len) == 0);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fog_multiaddr ma;
    if (fog_multiaddr_from_bytes(&ma, data, size) == 0) {
        CHECK(ma.len == size && memcmp(ma.bytes, data, size) == 0);
        check_addr(&ma);
    }
    char *s = malloc(size + 1);
    if (s == NULL) {
        return 0;
    }
    memcpy(s, data, size);
    s[size] = '\0';
    if (fog_multiaddr_parse(&ma, s) == 0) {
        check_addr(&ma);
    }
    uint8_t id[FOG_PEER_ID_MAX];
    int n = fog_peer_id_parse(s, id);
    if (n >= 0) {
        check_peer(id, (size_t)n);
    }
    free(s);
    return 0;
}
