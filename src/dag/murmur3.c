/* murmur3.c: the HAMT hash of UnixFS sharded directories, murmur3-x64-64 (multicodec 0x22).
 * It is MurmurHash3_x64_128 (Austin Appleby's public-domain algorithm) with seed 0, keeping only
 * the first 64-bit half h1, written big-endian: boxo uses spaolacci/murmur3 New64 (Sum appends
 * h1 big-endian) and js-ipfs-unixfs takes the first 8 bytes of the 128-bit output reversed "for
 * parity with Go" (PROTOCOLS.md 2.3). The unixfs.md example: "470.txt" -> 006e88df5847e67c.
 * Written from the algorithm description: 16-byte blocks read little-endian as two lanes k1, k2,
 * mixed with c1/c2 multiplies and rotations, then the 0..15 tail bytes, the length, and fmix64.
 */
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

#define C1 0x87c37b91114253d5ULL
#define C2 0x4cf5ad432745937fULL

static uint64_t rotl(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static uint64_t fmix(uint64_t k)
{
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return k;
}

/* n (0..8) bytes at p as a little-endian integer. */
static uint64_t le_bytes(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t i = n; i > 0; i--) {
        v = (v << 8) | p[i - 1];
    }
    return v;
}

static uint64_t mix_k1(uint64_t k1)
{
    return rotl(k1 * C1, 31) * C2;
}

static uint64_t mix_k2(uint64_t k2)
{
    return rotl(k2 * C2, 33) * C1;
}

void fog__murmur3_x64_64(const uint8_t *p, size_t len, uint8_t out[8])
{
    uint64_t h1 = 0;
    uint64_t h2 = 0;
    size_t nblocks = len / 16;
    for (size_t i = 0; i < nblocks; i++) {
        h1 ^= mix_k1(le_bytes(p + i * 16, 8));
        h1 = rotl(h1, 27) + h2;
        h1 = h1 * 5 + 0x52dce729;
        h2 ^= mix_k2(le_bytes(p + i * 16 + 8, 8));
        h2 = rotl(h2, 31) + h1;
        h2 = h2 * 5 + 0x38495ab5;
    }
    size_t tail = len - nblocks * 16;
    if (tail > 0) {
        const uint8_t *t = p + nblocks * 16;
        if (tail > 8) {
            h2 ^= mix_k2(le_bytes(t + 8, tail - 8));
        }
        h1 ^= mix_k1(le_bytes(t, tail > 8 ? 8 : tail));
    }
    h1 ^= (uint64_t)len;
    h2 ^= (uint64_t)len;
    h1 += h2;
    h2 += h1;
    h1 = fmix(h1);
    h2 = fmix(h2);
    h1 += h2;
    for (int i = 0; i < 8; i++) {
        out[i] = (uint8_t)(h1 >> (56 - 8 * i));
    }
}
