/* fuzz_car.c: the CARv1 reader over arbitrary bytes.
 * The first input byte picks how many bytes the read function hands out per call (low nibble;
 * 0 = as many as asked), so the buffer's refill and compaction paths are exercised as much as
 * the parsers; the rest is the CAR stream, read section by section until the end or an error.
 * When the header parses, writing it again and parsing that must give the same roots.
 * Seed corpus: the .car files under shared/vectors (each prefixed with one byte, 0x00).
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "car/internal.h"
#include "fog/car.h"
#include "fog/crypto.h"

typedef struct {
    const uint8_t *p;
    size_t len;
    size_t pos;
    size_t chunk;
} input;

static int feed(void *ctx, uint8_t *p, size_t cap)
{
    input *in = ctx;
    size_t n = in->len - in->pos;
    n = n < cap ? n : cap;
    n = in->chunk > 0 && n > in->chunk ? in->chunk : n;
    memcpy(p, in->p + in->pos, n);
    in->pos += n;
    return (int)n;
}

static void header_roundtrip(const fog_car_reader *r)
{
    size_t n = fog_car_reader_n_roots(r);
    if (n == 0) {
        return;
    }
    fog_buf b;
    fog_buf_init(&b);
    if (fog__car_header_write(&b, fog_car_reader_root(r, 0), n) < 0) {
        abort();
    }
    fog_reader rd;
    fog_reader_init(&rd, b.p, b.len);
    uint64_t len = 0;
    fog_reader_uvarint(&rd, &len);
    fog_cid *roots = NULL;
    size_t n2 = 0;
    if (rd.err != 0 || len != rd.left || fog__car_header_parse(rd.p, rd.left, &roots, &n2) < 0 ||
        n2 != n) {
        abort();
    }
    for (size_t i = 0; i < n; i++) {
        if (!fog_cid_eq(&roots[i], fog_car_reader_root(r, i))) {
            abort();
        }
    }
    free(roots);
    fog_buf_clear(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static bool ready;
    if (!ready) {
        if (fog_crypto_init() < 0) {
            abort();
        }
        ready = true;
    }
    if (size == 0) {
        return 0;
    }
    input in = {data + 1, size - 1, 0, data[0] & 0x0f};
    fog_car_reader *r = NULL;
    if (fog_car_reader_new(&r, feed, &in) < 0) {
        return 0;
    }
    header_roundtrip(r);
    fog_cid c;
    fog_slice block;
    int rc;
    while ((rc = fog_car_reader_next(r, &c, &block)) == 1) {
        if (block.len > FOG_BLOCK_MAX || fog_cid_verify(&c, block.p, block.len) != 0) {
            abort(); /* the reader returned a block it should have refused */
        }
    }
    if (rc == 0 && fog_car_reader_next(r, &c, &block) != 0) {
        abort(); /* the end stays the end */
    }
    fog_car_reader_free(r);
    return 0;
}
