/* buf.c: slices, growable buffers, varint writing and hex.
 * fog_buf grows by doubling; every size computation is overflow-checked, and a failed append
 * leaves the buffer as it was.
 */
#include "fog/util.h"

#include <stdlib.h>
#include <string.h>

bool fog_slice_eq(fog_slice a, fog_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

void fog_buf_init(fog_buf *b)
{
    b->p = NULL;
    b->len = 0;
    b->cap = 0;
}

void fog_buf_clear(fog_buf *b)
{
    free(b->p);
    fog_buf_init(b);
}

int fog_buf_reserve(fog_buf *b, size_t extra)
{
    size_t need;
    if (fog_add_size(b->len, extra, &need) < 0) {
        return FOG_ERR_LIMIT;
    }
    if (need <= b->cap) {
        return 0;
    }
    size_t cap = b->cap < 64 ? 64 : b->cap;
    while (cap < need) {
        if (fog_mul_size(cap, 2, &cap) < 0) {
            cap = need;
            break;
        }
    }
    uint8_t *p = realloc(b->p, cap);
    if (p == NULL) {
        return FOG_ERR_NOMEM;
    }
    b->p = p;
    b->cap = cap;
    return 0;
}

int fog_buf_append(fog_buf *b, const void *p, size_t len)
{
    int rc = fog_buf_reserve(b, len);
    if (rc < 0) {
        return rc;
    }
    if (len > 0) {
        memcpy(b->p + b->len, p, len);
    }
    b->len += len;
    return 0;
}

int fog_buf_u8(fog_buf *b, uint8_t v)
{
    return fog_buf_append(b, &v, 1);
}

int fog_buf_uvarint(fog_buf *b, uint64_t v)
{
    uint8_t tmp[FOG_UVARINT_MAX];
    return fog_buf_append(b, tmp, fog_uvarint_put(tmp, v));
}

int fog_buf_str(fog_buf *b, const char *s)
{
    size_t n = strlen(s);
    int rc = fog_buf_reserve(b, n + 1);
    if (rc < 0) {
        return rc;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
    return 0;
}

size_t fog_uvarint_len(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

size_t fog_uvarint_put(uint8_t *out, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        out[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    out[n++] = (uint8_t)v;
    return n;
}

void fog_hex_encode(const uint8_t *in, size_t len, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < len; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * len] = '\0';
}

int fog_hex_digit(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

int fog_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t cap)
{
    if (in_len % 2 != 0) {
        return FOG_ERR_PROTO;
    }
    if (in_len / 2 > cap) {
        return FOG_ERR_LIMIT;
    }
    for (size_t i = 0; i < in_len / 2; i++) {
        int hi = fog_hex_digit((unsigned char)in[2 * i]);
        int lo = fog_hex_digit((unsigned char)in[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return FOG_ERR_PROTO;
        }
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return (int)(in_len / 2);
}
