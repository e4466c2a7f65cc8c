/* multibase.c: the multibase encodings fog speaks (multiformats/multibase README, multibase.csv).
 * Two families. Base16, base32 and base64 have a power-of-two radix: bits are packed into
 * characters high bit first (RFC 4648), without padding, as multibase's 'b', 'f', 'm' and 'u'
 * require. Their decoders are strict like js-multiformats: a trailing group that cannot hold a
 * whole byte, or leftover bits that are not zero, is FOG_ERR_PROTO, so every accepted string is
 * the canonical one (up to letter case). Base58btc and base36 treat the bytes as one big-endian
 * number and convert it digit by digit; each leading zero byte becomes one leading zero digit
 * ('1' in base58btc, '0' in base36), the classic base-x rule. That conversion costs O(n^2), so
 * both directions refuse more than FOG_BASEX_MAX significant bytes (and decoding more than
 * 2 * FOG_BASEX_MAX significant characters) with FOG_ERR_LIMIT before doing the work.
 * No allocation: big-number digits are built in place inside the caller's output buffer, so
 * the output's content is unspecified after an error.
 */
#include "fog/mf.h"

#include <limits.h>
#include <string.h>

static const char B16_LOWER[] = "0123456789abcdef";
static const char B16_UPPER[] = "0123456789ABCDEF";
static const char B32_LOWER[] = "abcdefghijklmnopqrstuvwxyz234567";
static const char B32_UPPER[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
static const char B36_LOWER[] = "0123456789abcdefghijklmnopqrstuvwxyz";
static const char B36_UPPER[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
static const char B58_BTC[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
static const char B64_STD[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char B64_URL[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* Character values, -1 for a character outside the alphabet. */
static int b32_val(unsigned char c)
{
    if (c >= 'a' && c <= 'z') {
        return c - 'a';
    }
    if (c >= 'A' && c <= 'Z') {
        return c - 'A';
    }
    if (c >= '2' && c <= '7') {
        return c - '2' + 26;
    }
    return -1;
}

static int b36_val(unsigned char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'z') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'Z') {
        return c - 'A' + 10;
    }
    return -1;
}

static int b58_val(unsigned char c)
{
    const char *hit = c != 0 ? memchr(B58_BTC, c, sizeof B58_BTC - 1) : NULL;
    return hit != NULL ? (int)(hit - B58_BTC) : -1;
}

static int b64_val(unsigned char c)
{
    const char *hit = c != 0 ? memchr(B64_STD, c, sizeof B64_STD - 1) : NULL;
    return hit != NULL ? (int)(hit - B64_STD) : -1;
}

static int b64url_val(unsigned char c)
{
    const char *hit = c != 0 ? memchr(B64_URL, c, sizeof B64_URL - 1) : NULL;
    return hit != NULL ? (int)(hit - B64_URL) : -1;
}

/* RFC 4648 bit packing with `bits` bits per character and no padding. */
static int bits_encode(const char *alpha, unsigned bits, const uint8_t *data, size_t len, char *out,
                       size_t cap)
{
    if (len > (size_t)INT_MAX / 8) {
        return FOG_ERR_LIMIT;
    }
    size_t n = (len * 8 + bits - 1) / bits;
    if (n >= cap) {
        return FOG_ERR_LIMIT; /* room for the NUL too */
    }
    uint32_t mask = (1u << bits) - 1;
    uint32_t acc = 0;
    unsigned have = 0;
    size_t o = 0;
    for (size_t i = 0; i < len; i++) {
        acc = (acc << 8) | data[i];
        have += 8;
        while (have >= bits) {
            have -= bits;
            out[o++] = alpha[(acc >> have) & mask];
        }
        acc &= (1u << have) - 1;
    }
    if (have > 0) {
        out[o++] = alpha[(acc << (bits - have)) & mask];
    }
    out[o] = '\0';
    return (int)o;
}

static int bits_decode(int (*val)(unsigned char), unsigned bits, const char *in, size_t in_len,
                       uint8_t *out, size_t cap)
{
    if (in_len > (size_t)INT_MAX) {
        return FOG_ERR_LIMIT;
    }
    uint32_t acc = 0;
    unsigned have = 0;
    size_t o = 0;
    for (size_t i = 0; i < in_len; i++) {
        int v = val((unsigned char)in[i]);
        if (v < 0) {
            return FOG_ERR_PROTO;
        }
        acc = (acc << bits) | (uint32_t)v;
        have += bits;
        if (have >= 8) {
            have -= 8;
            if (o >= cap) {
                return FOG_ERR_LIMIT;
            }
            out[o++] = (uint8_t)(acc >> have);
            acc &= (1u << have) - 1;
        }
    }
    /* A final character that carries no whole byte, or non-zero pad bits, is not canonical. */
    if (have >= bits || acc != 0) {
        return FOG_ERR_PROTO;
    }
    return (int)o;
}

static void reverse(uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n / 2; i++) {
        uint8_t t = p[i];
        p[i] = p[n - 1 - i];
        p[n - 1 - i] = t;
    }
}

/* Big-number conversion of bytes to radix digits. The digits are accumulated least significant
 * first, as values, in out[zeros..]; then reversed and mapped to the alphabet. */
static int big_encode(const char *alpha, uint32_t radix, const uint8_t *data, size_t len, char *out,
                      size_t cap)
{
    size_t zeros = 0;
    while (zeros < len && data[zeros] == 0) {
        zeros++;
    }
    if (len - zeros > FOG_BASEX_MAX || len > (size_t)INT_MAX / 2) {
        return FOG_ERR_LIMIT;
    }
    if (zeros >= cap) {
        return FOG_ERR_LIMIT;
    }
    uint8_t *dig = (uint8_t *)out;
    size_t room = cap - 1 - zeros; /* keeps one byte for the NUL */
    size_t nd = 0;
    for (size_t i = zeros; i < len; i++) {
        uint32_t carry = data[i];
        for (size_t j = 0; j < nd; j++) {
            carry += (uint32_t)dig[zeros + j] << 8;
            dig[zeros + j] = (uint8_t)(carry % radix);
            carry /= radix;
        }
        while (carry > 0) {
            if (nd >= room) {
                return FOG_ERR_LIMIT;
            }
            dig[zeros + nd++] = (uint8_t)(carry % radix);
            carry /= radix;
        }
    }
    memset(out, alpha[0], zeros);
    if (nd > 1) {
        reverse(dig + zeros, nd);
    }
    for (size_t j = 0; j < nd; j++) {
        out[zeros + j] = alpha[dig[zeros + j]];
    }
    out[zeros + nd] = '\0';
    return (int)(zeros + nd);
}

/* The reverse: the number is built least significant byte first in out[zeros..]. */
static int big_decode(int (*val)(unsigned char), char zero, uint32_t radix, const char *in,
                      size_t in_len, uint8_t *out, size_t cap)
{
    size_t zeros = 0;
    while (zeros < in_len && in[zeros] == zero) {
        zeros++;
    }
    if (in_len - zeros > 2 * (size_t)FOG_BASEX_MAX || in_len > (size_t)INT_MAX) {
        return FOG_ERR_LIMIT;
    }
    if (zeros > cap) {
        return FOG_ERR_LIMIT;
    }
    size_t room = cap - zeros;
    size_t nb = 0;
    for (size_t i = zeros; i < in_len; i++) {
        int v = val((unsigned char)in[i]);
        if (v < 0) {
            return FOG_ERR_PROTO;
        }
        uint32_t carry = (uint32_t)v;
        for (size_t j = 0; j < nb; j++) {
            carry += (uint32_t)out[zeros + j] * radix;
            out[zeros + j] = (uint8_t)carry;
            carry >>= 8;
        }
        while (carry > 0) {
            if (nb >= room || nb >= FOG_BASEX_MAX) {
                return FOG_ERR_LIMIT;
            }
            out[zeros + nb++] = (uint8_t)carry;
            carry >>= 8;
        }
    }
    if (zeros > 0) {
        memset(out, 0, zeros);
    }
    if (nb > 1) {
        reverse(out + zeros, nb);
    }
    return (int)(zeros + nb);
}

int fog_base_encode(int base, const uint8_t *data, size_t len, char *out, size_t cap)
{
    switch (base) {
    case FOG_BASE16:
        return bits_encode(B16_LOWER, 4, data, len, out, cap);
    case FOG_BASE16_UPPER:
        return bits_encode(B16_UPPER, 4, data, len, out, cap);
    case FOG_BASE32:
        return bits_encode(B32_LOWER, 5, data, len, out, cap);
    case FOG_BASE32_UPPER:
        return bits_encode(B32_UPPER, 5, data, len, out, cap);
    case FOG_BASE64:
        return bits_encode(B64_STD, 6, data, len, out, cap);
    case FOG_BASE64URL:
        return bits_encode(B64_URL, 6, data, len, out, cap);
    case FOG_BASE58BTC:
        return big_encode(B58_BTC, 58, data, len, out, cap);
    case FOG_BASE36:
        return big_encode(B36_LOWER, 36, data, len, out, cap);
    case FOG_BASE36_UPPER:
        return big_encode(B36_UPPER, 36, data, len, out, cap);
    default:
        return FOG_ERR_UNSUPPORTED;
    }
}

int fog_base_decode(int base, const char *in, size_t in_len, uint8_t *out, size_t cap)
{
    switch (base) {
    case FOG_BASE16:
    case FOG_BASE16_UPPER:
        return bits_decode(fog_hex_digit, 4, in, in_len, out, cap);
    case FOG_BASE32:
    case FOG_BASE32_UPPER:
        return bits_decode(b32_val, 5, in, in_len, out, cap);
    case FOG_BASE64:
        return bits_decode(b64_val, 6, in, in_len, out, cap);
    case FOG_BASE64URL:
        return bits_decode(b64url_val, 6, in, in_len, out, cap);
    case FOG_BASE58BTC:
        return big_decode(b58_val, '1', 58, in, in_len, out, cap);
    case FOG_BASE36:
    case FOG_BASE36_UPPER:
        return big_decode(b36_val, '0', 36, in, in_len, out, cap);
    default:
        return FOG_ERR_UNSUPPORTED;
    }
}

static bool base_known(int base)
{
    switch (base) {
    case FOG_BASE16:
    case FOG_BASE16_UPPER:
    case FOG_BASE32:
    case FOG_BASE32_UPPER:
    case FOG_BASE36:
    case FOG_BASE36_UPPER:
    case FOG_BASE58BTC:
    case FOG_BASE64:
    case FOG_BASE64URL:
        return true;
    default:
        return false;
    }
}

int fog_multibase_encode(int base, const uint8_t *data, size_t len, char *out, size_t cap)
{
    if (!base_known(base)) {
        return FOG_ERR_UNSUPPORTED;
    }
    if (cap < 2) {
        return FOG_ERR_LIMIT;
    }
    int rc = fog_base_encode(base, data, len, out + 1, cap - 1);
    if (rc < 0) {
        return rc;
    }
    out[0] = (char)base;
    return rc + 1;
}

int fog_multibase_decode(const char *in, size_t in_len, uint8_t *out, size_t cap, int *base_out)
{
    if (in_len == 0) {
        return FOG_ERR_PROTO; /* not even a prefix */
    }
    int base = (unsigned char)in[0];
    int rc = fog_base_decode(base, in + 1, in_len - 1, out, cap);
    if (rc >= 0 && base_out != NULL) {
        *base_out = base;
    }
    return rc;
}
