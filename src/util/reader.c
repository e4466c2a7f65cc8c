/* reader.c: the bounds-checked reader (STYLE.md section 6).
 * Every read compares the wanted count with `left`, never pointers, so no pointer past the input
 * is ever formed. The first error sticks; afterwards reads yield zero and consume nothing.
 */
#include "fog/util.h"

void fog_reader_fail(fog_reader *r, int err)
{
    if (r->err == 0) {
        r->err = err;
    }
}

static const uint8_t *take(fog_reader *r, size_t n)
{
    if (r->err != 0) {
        return NULL;
    }
    if (n > r->left) {
        r->err = FOG_ERR_TRUNCATED;
        return NULL;
    }
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

void fog_reader_u8(fog_reader *r, uint8_t *out)
{
    const uint8_t *p = take(r, 1);
    *out = p ? p[0] : 0;
}

void fog_reader_be16(fog_reader *r, uint16_t *out)
{
    const uint8_t *p = take(r, 2);
    *out = 0;
    if (p != NULL) {
        *out = (uint16_t)((unsigned)p[0] << 8 | p[1]);
    }
}

void fog_reader_be32(fog_reader *r, uint32_t *out)
{
    const uint8_t *p = take(r, 4);
    *out = p ? (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3] : 0;
}

void fog_reader_be64(fog_reader *r, uint64_t *out)
{
    const uint8_t *p = take(r, 8);
    uint64_t v = 0;
    for (int i = 0; p != NULL && i < 8; i++) {
        v = v << 8 | p[i];
    }
    *out = v;
}

void fog_reader_le32(fog_reader *r, uint32_t *out)
{
    const uint8_t *p = take(r, 4);
    *out = p ? (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0] : 0;
}

void fog_reader_le64(fog_reader *r, uint64_t *out)
{
    const uint8_t *p = take(r, 8);
    uint64_t v = 0;
    for (int i = 7; p != NULL && i >= 0; i--) {
        v = v << 8 | p[i];
    }
    *out = v;
}

/* Reads a base-128 varint of at most max_bytes; minimal demands the shortest form. */
static void varint(fog_reader *r, uint64_t *out, size_t max_bytes, bool minimal)
{
    *out = 0;
    if (r->err != 0) {
        return;
    }
    uint64_t v = 0;
    size_t i = 0;
    for (;;) {
        if (i >= r->left) {
            r->err = FOG_ERR_TRUNCATED;
            return;
        }
        if (i >= max_bytes) {
            r->err = FOG_ERR_PROTO;
            return;
        }
        uint8_t b = r->p[i];
        if (i == 9 && b > 1) {
            r->err = FOG_ERR_PROTO; /* more than 64 bits */
            return;
        }
        v |= (uint64_t)(b & 0x7f) << (7 * i);
        i++;
        if ((b & 0x80) == 0) {
            if (minimal && b == 0 && i > 1) {
                r->err = FOG_ERR_PROTO; /* a trailing zero group: not the shortest form */
                return;
            }
            break;
        }
    }
    r->p += i;
    r->left -= i;
    *out = v;
}

void fog_reader_uvarint(fog_reader *r, uint64_t *out)
{
    varint(r, out, 9, true);
}

void fog_reader_pbvarint(fog_reader *r, uint64_t *out)
{
    varint(r, out, 10, false);
}

void fog_reader_bytes(fog_reader *r, size_t n, fog_slice *out)
{
    const uint8_t *p = take(r, n);
    out->p = p;
    out->len = p ? n : 0;
}

void fog_reader_skip(fog_reader *r, size_t n)
{
    (void)take(r, n);
}

void fog_reader_lp(fog_reader *r, size_t max, fog_slice *out)
{
    uint64_t n;
    fog_reader_uvarint(r, &n);
    out->p = NULL;
    out->len = 0;
    if (r->err != 0) {
        return;
    }
    if (n > max) {
        r->err = FOG_ERR_LIMIT;
        return;
    }
    fog_reader_bytes(r, (size_t)n, out);
}
