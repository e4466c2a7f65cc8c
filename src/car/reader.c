/* reader.c: the streaming CARv1 reader (ipld/ipld specs/transport/car/carv1, "Data").
 * Bytes come from a read function into one buffer that holds at most one section (plus what the
 * last read brought past it): it starts at READ_CHUNK bytes and grows only to the size of the
 * section being read, which is checked against FOG_CAR_SECTION_MAX first, so a hostile length
 * costs an error, never memory. Consumed bytes are dropped by moving the rest to the front
 * before the next read. Each section is parsed through fog_reader: uvarint length (not 0: go-car
 * and @ipld/car refuse zero-length sections by default), a CID (v0 or v1, fog_cid_read), the
 * block. Every block is checked with fog_cid_verify before it is returned.
 */
#include "fog/car.h"

#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

#define READ_CHUNK (64u << 10)
#define BUF_MAX ((size_t)FOG_UVARINT_MAX + (size_t)FOG_CAR_SECTION_MAX)

struct fog_car_reader {
    fog_read_fn read_fn;
    void *ctx;
    uint8_t *buf;
    size_t cap;      /* bytes allocated at buf, at most BUF_MAX */
    size_t pos;      /* first unconsumed byte; pos <= end <= cap */
    size_t end;      /* end of the bytes read so far */
    uint64_t offset; /* input offset of buf[pos] */
    bool eof;        /* read_fn returned 0 */
    int err;         /* sticky: the first error of fog_car_reader_next */
    fog_cid *roots;  /* owned */
    size_t n_roots;
    fog_car_section last;
};

static size_t avail(const fog_car_reader *r)
{
    return r->end - r->pos;
}

/* Makes room for need unconsumed bytes: moves them to the front and grows the buffer. */
static int make_room(fog_car_reader *r, size_t need)
{
    assert(need <= BUF_MAX);
    if (r->cap - r->pos >= need) {
        return 0;
    }
    size_t have = avail(r);
    if (have > 0 && r->pos > 0) {
        memmove(r->buf, r->buf + r->pos, have);
    }
    r->pos = 0;
    r->end = have;
    if (r->cap >= need) {
        return 0;
    }
    size_t cap = r->cap * 2 > need ? r->cap * 2 : need;
    cap = cap > BUF_MAX ? BUF_MAX : cap;
    uint8_t *p = realloc(r->buf, cap);
    if (p == NULL) {
        return FOG_ERR_NOMEM;
    }
    r->buf = p;
    r->cap = cap;
    return 0;
}

/* Reads until need bytes are unconsumed or the input ends (then fewer are there). */
static int fill(fog_car_reader *r, size_t need)
{
    if (avail(r) >= need || r->eof) {
        return 0;
    }
    int rc = make_room(r, need);
    while (rc == 0 && avail(r) < need && !r->eof) {
        size_t room = r->cap - r->end;
        room = room > INT_MAX ? INT_MAX : room;
        int n = r->read_fn(r->ctx, r->buf + r->end, room);
        if (n < 0) {
            return n;
        }
        assert((size_t)n <= room); /* read_fn wrote past what it was given */
        r->eof = n == 0;
        r->end += (size_t)n;
    }
    return rc;
}

static void consume(fog_car_reader *r, size_t n)
{
    r->pos += n;
    r->offset += n;
}

/* Reads the uvarint that opens the header or a section. *len_out = 0 and *vlen_out = 0 at a
 * clean end of input (nothing left at all). */
static int read_length(fog_car_reader *r, const char *what, uint64_t *len_out, size_t *vlen_out)
{
    *len_out = 0;
    *vlen_out = 0;
    int rc = fill(r, 9); /* fog_reader_uvarint reads at most 9 bytes */
    if (rc < 0 || avail(r) == 0) {
        return rc;
    }
    fog_reader rd;
    fog_reader_init(&rd, r->buf + r->pos, avail(r));
    fog_reader_uvarint(&rd, len_out);
    if (rd.err == FOG_ERR_TRUNCATED) {
        return fog_errf(FOG_ERR_TRUNCATED, "the CAR ends inside the length of the %s at offset "
                        "%llu", what, (unsigned long long)r->offset);
    }
    if (rd.err < 0) {
        return fog_errf(FOG_ERR_PROTO, "the length of the %s at offset %llu is not a minimal "
                        "varint", what, (unsigned long long)r->offset);
    }
    *vlen_out = avail(r) - rd.left;
    return 0;
}

/* Makes the whole length-prefixed item (vlen + len bytes) available at buf[pos]. */
static int need_item(fog_car_reader *r, const char *what, size_t vlen, uint64_t len)
{
    size_t total = vlen + (size_t)len; /* len is below a limit checked by the caller */
    int rc = fill(r, total);
    if (rc == 0 && avail(r) < total) {
        rc = fog_errf(FOG_ERR_TRUNCATED, "the CAR ends inside the %s at offset %llu (%zu of %zu "
                      "bytes present)", what, (unsigned long long)r->offset, avail(r), total);
    }
    return rc;
}

static int read_header(fog_car_reader *r)
{
    uint64_t len;
    size_t vlen;
    int rc = read_length(r, "header", &len, &vlen);
    if (rc < 0) {
        return rc;
    }
    if (vlen == 0) {
        return fog_errf(FOG_ERR_TRUNCATED, "the input is empty: not a CAR");
    }
    if (len == 0) {
        return fog_errf(FOG_ERR_PROTO, "the CAR header has length zero");
    }
    if (len > FOG_CAR_HEADER_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "the CAR header claims %llu bytes, more than the limit "
                        "of %u", (unsigned long long)len, FOG_CAR_HEADER_MAX);
    }
    if ((rc = need_item(r, "header", vlen, len)) < 0) {
        return rc;
    }
    rc = fog__car_header_parse(r->buf + r->pos + vlen, (size_t)len, &r->roots, &r->n_roots);
    if (rc == 0) {
        consume(r, vlen + (size_t)len);
    }
    return rc;
}

int fog_car_reader_new(fog_car_reader **out, fog_read_fn read_fn, void *ctx)
{
    fog_car_reader *r = calloc(1, sizeof *r);
    if (r == NULL) {
        return FOG_ERR_NOMEM;
    }
    r->read_fn = read_fn;
    r->ctx = ctx;
    r->buf = malloc(READ_CHUNK);
    r->cap = READ_CHUNK;
    int rc = r->buf == NULL ? FOG_ERR_NOMEM : read_header(r);
    if (rc < 0) {
        fog_car_reader_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

void fog_car_reader_free(fog_car_reader *r)
{
    if (r == NULL) {
        return;
    }
    free(r->buf);
    free(r->roots);
    free(r);
}

size_t fog_car_reader_n_roots(const fog_car_reader *r)
{
    return r->n_roots;
}

const fog_cid *fog_car_reader_root(const fog_car_reader *r, size_t i)
{
    assert(i < r->n_roots);
    return &r->roots[i];
}

void fog_car_reader_section(const fog_car_reader *r, fog_car_section *out)
{
    *out = r->last;
}

static int verify(const fog_cid *c, const uint8_t *data, size_t len)
{
    int rc = fog_cid_verify(c, data, len);
    if (rc == FOG_ERR_HASH_MISMATCH) {
        return fog_errf(rc, "block %s in the CAR does not match its CID", fog_cid_str(c));
    }
    if (rc == FOG_ERR_UNSUPPORTED) {
        const char *name = fog_mc_name(c->mh_code);
        if (name == NULL) {
            return fog_errf(rc, "block %s in the CAR uses hash function 0x%llx, which fog cannot "
                            "verify", fog_cid_str(c), (unsigned long long)c->mh_code);
        }
        return fog_errf(rc, "block %s in the CAR uses hash function %s, which fog cannot verify",
                        fog_cid_str(c), name);
    }
    return rc;
}

/* Parses the section whose len bytes follow a vlen-byte varint at buf[pos]. */
static int parse_section(fog_car_reader *r, size_t vlen, size_t len, fog_cid *c, fog_slice *data)
{
    fog_reader rd;
    fog_reader_init(&rd, r->buf + r->pos + vlen, len);
    fog_cid_read(&rd, c);
    if (rd.err == FOG_ERR_LIMIT) {
        return fog_errf(FOG_ERR_LIMIT, "the CID of the section at offset %llu has a digest "
                        "over the limit", (unsigned long long)r->offset);
    }
    if (rd.err < 0) {
        return fog_errf(FOG_ERR_PROTO, "the section at offset %llu does not start with a valid "
                        "CID", (unsigned long long)r->offset);
    }
    if (rd.left > FOG_BLOCK_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "block %s in the CAR has %zu bytes, more than the limit "
                        "of %u", fog_cid_str(c), rd.left, FOG_BLOCK_MAX);
    }
    fog_reader_bytes(&rd, rd.left, data);
    int rc = verify(c, data->p, data->len);
    if (rc < 0) {
        return rc;
    }
    r->last.offset = r->offset;
    r->last.length = vlen + len;
    r->last.block_offset = r->offset + vlen + c->len;
    r->last.block_length = data->len;
    consume(r, vlen + len); /* the bytes stay in buf until the next call */
    return 1;
}

static int next_section(fog_car_reader *r, fog_cid *c, fog_slice *data)
{
    uint64_t len;
    size_t vlen;
    int rc = read_length(r, "section", &len, &vlen);
    if (rc < 0 || vlen == 0) {
        return rc; /* an error, or 0 at the clean end */
    }
    if (len == 0) {
        return fog_errf(FOG_ERR_PROTO, "the section at offset %llu has length zero",
                        (unsigned long long)r->offset);
    }
    if (len > FOG_CAR_SECTION_MAX) {
        return fog_errf(FOG_ERR_LIMIT, "the section at offset %llu claims %llu bytes, more "
                        "than the limit of %llu", (unsigned long long)r->offset,
                        (unsigned long long)len, (unsigned long long)FOG_CAR_SECTION_MAX);
    }
    if ((rc = need_item(r, "section", vlen, len)) < 0) {
        return rc;
    }
    return parse_section(r, vlen, (size_t)len, c, data);
}

int fog_car_reader_next(fog_car_reader *r, fog_cid *c, fog_slice *data)
{
    if (r->err < 0) {
        return r->err;
    }
    int rc = next_section(r, c, data);
    if (rc < 0) {
        r->err = rc;
    }
    return rc;
}
