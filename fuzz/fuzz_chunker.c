/* fuzz_chunker.c: the importer's chunkers and the --chunker parser on arbitrary input (libFuzzer).
 * First byte even: the rest is a --chunker value; whatever fog_import_set_chunker accepts must
 * satisfy the limits it promises (1 <= size <= FOG__CHUNK_LIMIT; 16 <= min < avg < max <=
 * FOG__CHUNK_LIMIT). First byte odd: six bytes pick rabin (or fixed) sizes and the rest is file
 * data; the cuts must not depend on how the data is split into pieces (the importer feeds the
 * chunker whatever read() returns), and every chunk but the last must be min..max bytes long.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "dag/internal.h"
#include "fuzzlib.h"

#define MAX_CUTS 4096

static void parse_case(const uint8_t *p, size_t n)
{
    char *spec = malloc(n + 1);
    CHECK(spec != NULL);
    memcpy(spec, p, n);
    spec[n] = '\0';
    fog_import_opts o;
    CHECK(fog_import_profile(&o, "unixfs-v1-2025") == 0);
    if (fog_import_set_chunker(&o, spec) == 0) {
        if (o.chunker == FOG_CHUNKER_FIXED) {
            CHECK(o.chunk_size >= 1 && o.chunk_size <= FOG__CHUNK_LIMIT);
        } else {
            CHECK(o.chunker == FOG_CHUNKER_RABIN);
            CHECK(o.rabin_min >= 16 && o.rabin_min < o.rabin_avg && o.rabin_avg < o.rabin_max);
            CHECK(o.rabin_max <= FOG__CHUNK_LIMIT);
        }
    }
    free(spec);
}

/* Cut positions (chunk ends) of data fed in pieces of 1 + (step_seed-driven) bytes. */
static size_t cuts(const fog_import_opts *o, const uint8_t *p, size_t n, uint32_t seed, size_t *out)
{
    fog__chunker ch;
    fog__chunker_init(&ch, o);
    size_t k = 0;
    size_t pos = 0;
    while (pos < n && k < MAX_CUTS) {
        size_t piece = n - pos;
        if (seed != 0) {
            seed = seed * 1103515245u + 12345u;
            size_t want = 1 + (seed >> 16) % 3000;
            piece = piece < want ? piece : want;
        }
        size_t cut = fog__chunker_scan(&ch, p + pos, piece);
        pos += cut ? cut : piece;
        if (cut) {
            out[k++] = pos;
        }
    }
    return k;
}

static void chunk_case(const uint8_t *p, size_t n)
{
    if (n < 7) {
        return;
    }
    fog_import_opts o;
    CHECK(fog_import_profile(&o, "unixfs-v1-2025") == 0);
    size_t a = (size_t)p[1] << 8 | p[2];
    size_t b = (size_t)p[3] << 8 | p[4];
    size_t c = (size_t)p[5] << 8 | p[6];
    if (p[0] & 2) {
        o.chunker = FOG_CHUNKER_FIXED;
        o.chunk_size = 1 + a % 5000;
    } else {
        o.chunker = FOG_CHUNKER_RABIN;
        o.rabin_min = 16 + a % 2000;
        o.rabin_avg = o.rabin_min + 1 + b % 4000;
        o.rabin_max = o.rabin_avg + 1 + c % 8000;
    }
    p += 7;
    n -= 7;
    static size_t whole[MAX_CUTS], split[MAX_CUTS];
    size_t k1 = cuts(&o, p, n, 0, whole);
    size_t k2 = cuts(&o, p, n, (uint32_t)n * 2654435761u + 1, split);
    CHECK(k1 == k2 && (k1 == 0 || memcmp(whole, split, k1 * sizeof *whole) == 0));
    size_t lo = o.chunker == FOG_CHUNKER_FIXED ? o.chunk_size : o.rabin_min;
    size_t hi = o.chunker == FOG_CHUNKER_FIXED ? o.chunk_size : o.rabin_max;
    size_t prev = 0;
    for (size_t i = 0; i < k1; i++) {
        CHECK(whole[i] - prev >= lo && whole[i] - prev <= hi);
        prev = whole[i];
    }
    CHECK(k1 == MAX_CUTS || n - prev < hi);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0) {
        return 0;
    }
    if ((data[0] & 1) == 0) {
        parse_case(data + 1, size - 1);
    } else {
        chunk_case(data, size);
    }
    return 0;
}
