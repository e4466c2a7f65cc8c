/* chunker.c: where a file is cut into leaves: fixed size, or Rabin content-defined chunks.
 * Fixed: every chunk is chunk_size bytes but the last (boxo and js fixed-size splitters).
 * Rabin: the content-defined chunker of js-ipfs-unixfs (`chunker: rabin(...)`, which runs the
 * rabin-wasm module), so that the same settings give the same CIDs as the JS importer. Its
 * algorithm, as implemented here from its description: a Rabin fingerprint over a sliding
 * window of 16 bytes in GF(2)[x] modulo the degree-53 polynomial 0x3DA3358B4DC173. Two tables
 * of 256 entries make each byte O(1): out[b] removes byte b as it leaves the window (b followed
 * by 15 zero bytes, reduced), mod[b] reduces the 8 bits shifted past degree 53. A chunk ends
 * after its count-th byte when count >= min and (fingerprint & mask) == 0, with
 * mask = 2^floor(log2(avg)) - 1, or when count reaches max. After each cut the window is
 * cleared and the byte 1 slid in, so every chunk starts from the same state. kubo's rabin (the
 * go chunker package) uses another polynomial and gives other chunks: fog matches the JS one.
 * The state lives in fog__chunker, so the input may arrive in pieces of any size.
 */
#include <pthread.h>
#include <string.h>

#include "internal.h"

#define RABIN_POLY   0x3DA3358B4DC173ULL
#define RABIN_DEGREE 53
#define RABIN_SHIFT  (RABIN_DEGREE - 8)

static uint64_t mod_table[256];
static uint64_t out_table[256];
static pthread_once_t tables_once = PTHREAD_ONCE_INIT;

/* Degree of a polynomial over GF(2) held in the bits of x; -1 for the zero polynomial. */
static int degree(uint64_t x)
{
    return x == 0 ? -1 : 63 - __builtin_clzll(x);
}

/* x mod p over GF(2): subtract (xor) shifted copies of p until deg(x) < deg(p). */
static uint64_t poly_mod(uint64_t x, uint64_t p)
{
    int dp = degree(p);
    int shift;
    while ((shift = degree(x) - dp) >= 0) {
        x ^= p << shift;
    }
    return x;
}

static uint64_t append_byte(uint64_t h, uint8_t b)
{
    return poly_mod((h << 8) | b, RABIN_POLY);
}

static void tables_init(void)
{
    for (unsigned b = 0; b < 256; b++) {
        uint64_t h = append_byte(0, (uint8_t)b);
        for (unsigned i = 0; i + 1 < FOG__RABIN_WINDOW; i++) {
            h = append_byte(h, 0);
        }
        out_table[b] = h;
        uint64_t bk = (uint64_t)b << RABIN_DEGREE;
        mod_table[b] = poly_mod(bk, RABIN_POLY) | bk;
    }
}

static void rabin_slide(fog__chunker *c, uint8_t b)
{
    uint8_t out = c->window[c->wpos];
    c->window[c->wpos] = b;
    c->digest ^= out_table[out];
    c->wpos = (c->wpos + 1) % FOG__RABIN_WINDOW;
    uint64_t top = c->digest >> RABIN_SHIFT;
    c->digest = ((c->digest << 8) | b) ^ mod_table[top];
}

static void rabin_reset(fog__chunker *c)
{
    memset(c->window, 0, sizeof c->window);
    c->wpos = 0;
    c->digest = 0;
    c->count = 0;
    rabin_slide(c, 1);
}

void fog__chunker_init(fog__chunker *c, const fog_import_opts *o)
{
    memset(c, 0, sizeof *c);
    c->kind = o->chunker;
    if (c->kind != FOG_CHUNKER_RABIN) {
        c->min = c->max = o->chunk_size;
        return;
    }
    (void)pthread_once(&tables_once, tables_init); /* only fails for an invalid once object */
    c->min = o->rabin_min;
    c->max = o->rabin_max;
    int bits = degree(o->rabin_avg); /* floor(log2(avg)); avg >= 16 was checked */
    c->mask = (1ULL << bits) - 1;
    rabin_reset(c);
}

size_t fog__chunker_max(const fog__chunker *c)
{
    return c->max;
}

size_t fog__chunker_scan(fog__chunker *c, const uint8_t *p, size_t len)
{
    if (c->kind != FOG_CHUNKER_RABIN) {
        size_t want = c->max - c->count;
        if (len < want) {
            c->count += len;
            return 0;
        }
        c->count = 0;
        return want;
    }
    for (size_t i = 0; i < len; i++) {
        rabin_slide(c, p[i]);
        c->count++;
        if ((c->count >= c->min && (c->digest & c->mask) == 0) || c->count >= c->max) {
            rabin_reset(c);
            return i + 1;
        }
    }
    return 0;
}

size_t fog__chunker_pending(const fog__chunker *c)
{
    return c->count;
}
