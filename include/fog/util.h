/* util.h: the bottom layer every other fog layer stands on.
 * Error codes (one X-macro table), byte slices and growable buffers, the bounds-checked reader
 * through which every untrusted byte passes, unsigned varints (multiformats rules), the protobuf
 * wire reader and length-prefixed framing, overflow-checked size arithmetic and hex. Nothing here
 * allocates except fog_buf, and nothing reads a clock or a socket.
 */
#ifndef FOG_UTIL_H
#define FOG_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__)
#define FOG_NODISCARD __attribute__((warn_unused_result))
#define FOG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define FOG_NODISCARD
#define FOG_PRINTF(f, a)
#endif

/* Error codes: negative ints. The table is the single source of names and messages. */
#define FOG_ERR_MAP(X)                                                                             \
    X(NOMEM, -1, "out of memory")                                                                  \
    X(IO, -2, "input/output error")                                                                \
    X(TRUNCATED, -3, "input ends early")                                                           \
    X(PROTO, -4, "malformed input")                                                                \
    X(LIMIT, -5, "limit exceeded")                                                                 \
    X(INVALID, -6, "invalid argument")                                                             \
    X(NOT_FOUND, -7, "not found")                                                                  \
    X(EXISTS, -8, "already exists")                                                                \
    X(HASH_MISMATCH, -9, "data does not match its hash")                                           \
    X(UNSUPPORTED, -10, "not supported")                                                           \
    X(STORE, -11, "store error")                                                                   \
    X(STORE_FULL, -12, "store is full")                                                            \
    X(LOCKED, -13, "repository is locked by another process")                                     \
    X(NO_REPO, -14, "no repository")                                                               \
    X(AUTH, -15, "authentication failed")                                                          \
    X(CANCELLED, -16, "cancelled")                                                                 \
    X(TIMEOUT, -17, "timed out")                                                                   \
    X(EXPIRED, -18, "expired")                                                                     \
    X(WRONG_KEY, -19, "signed by another key")

enum {
#define FOG_ERR_ENUM(name, code, msg) FOG_ERR_##name = (code),
    FOG_ERR_MAP(FOG_ERR_ENUM)
#undef FOG_ERR_ENUM
};

/* The message and the name ("FOG_ERR_PROTO") of a code; "unknown error" for codes not in the
 * table. Static strings. */
const char *fog_strerror(int code);
const char *fog_err_name(int code);

/* A thread-local detail line for the last failure ("block bafy... is missing"), so that the CLI
 * can print one precise line. fog_errf sets it and returns code, so a failing site writes
 * `return fog_errf(FOG_ERR_NOT_FOUND, "block %s is missing", s);`. fog_err_detail returns the
 * detail if one was set since the last fog_err_clear, else fog_strerror(code). The string is
 * valid until the next fog_errf on this thread. */
int fog_errf(int code, const char *fmt, ...) FOG_PRINTF(2, 3);
const char *fog_err_detail(int code);
void fog_err_clear(void);

/* A read-only view of bytes owned by someone else. */
typedef struct {
    const uint8_t *p;
    size_t len;
} fog_slice;

static inline fog_slice fog_slice_make(const void *p, size_t len)
{
    fog_slice s = {(const uint8_t *)p, len};
    return s;
}
bool fog_slice_eq(fog_slice a, fog_slice b);

/* A growable byte buffer that owns its memory. Zero-initialised (or fog_buf_init) is empty;
 * fog_buf_clear frees. The append functions return 0 or FOG_ERR_NOMEM / FOG_ERR_LIMIT; after a
 * failure the buffer holds what it held before the call. */
typedef struct {
    uint8_t *p;
    size_t len;
    size_t cap;
} fog_buf;

void fog_buf_init(fog_buf *b);
void fog_buf_clear(fog_buf *b);
static inline void fog_buf_reset(fog_buf *b)
{
    b->len = 0;
}
FOG_NODISCARD int fog_buf_reserve(fog_buf *b, size_t extra);
FOG_NODISCARD int fog_buf_append(fog_buf *b, const void *p, size_t len);
FOG_NODISCARD int fog_buf_u8(fog_buf *b, uint8_t v);
FOG_NODISCARD int fog_buf_uvarint(fog_buf *b, uint64_t v);
/* Appends a NUL-terminated string without its NUL, then keeps a NUL after len (not counted). */
FOG_NODISCARD int fog_buf_str(fog_buf *b, const char *s);

/* Unsigned varint (multiformats unsigned-varint): 7 bits per byte, low group first. */
#define FOG_UVARINT_MAX 10 /* bytes a uint64 can take (protobuf); multiformats allows 9 */
size_t fog_uvarint_len(uint64_t v);
/* Writes v to out (room for FOG_UVARINT_MAX bytes) and returns the number of bytes. */
size_t fog_uvarint_put(uint8_t *out, uint64_t v);

/* The bounds-checked reader. Every read checks `n > left` before touching bytes. The first
 * failure is sticky in err: later reads yield zero and consume nothing, so a parser reads a group
 * of fields and checks err once before acting on any value. */
typedef struct {
    const uint8_t *p;
    size_t left; /* bytes remaining at p; p never moves past them */
    int err;     /* 0, or the first error (FOG_ERR_TRUNCATED, FOG_ERR_PROTO) */
} fog_reader;

static inline void fog_reader_init(fog_reader *r, const uint8_t *p, size_t len)
{
    r->p = p;
    r->left = len;
    r->err = 0;
}
void fog_reader_fail(fog_reader *r, int err); /* records err if none is recorded yet */
void fog_reader_u8(fog_reader *r, uint8_t *out);
void fog_reader_be16(fog_reader *r, uint16_t *out);
void fog_reader_be32(fog_reader *r, uint32_t *out);
void fog_reader_be64(fog_reader *r, uint64_t *out);
void fog_reader_le32(fog_reader *r, uint32_t *out);
void fog_reader_le64(fog_reader *r, uint64_t *out);
/* Multiformats unsigned varint: at most 9 bytes, minimal form only (FOG_ERR_PROTO otherwise). */
void fog_reader_uvarint(fog_reader *r, uint64_t *out);
/* Protobuf varint: at most 10 bytes, value must fit 64 bits; non-minimal forms are accepted
 * (protobuf allows them) unless a caller checks fog_uvarint_len itself. */
void fog_reader_pbvarint(fog_reader *r, uint64_t *out);
/* Borrows n bytes (no copy): out points into the reader's input. */
void fog_reader_bytes(fog_reader *r, size_t n, fog_slice *out);
void fog_reader_skip(fog_reader *r, size_t n);
/* A uvarint length prefix then that many bytes, the length checked against max first. */
void fog_reader_lp(fog_reader *r, size_t max, fog_slice *out);
static inline bool fog_reader_done(const fog_reader *r)
{
    return r->err == 0 && r->left == 0;
}

/* Protobuf wire format (protobuf.dev/programming-guides/encoding), read through a fog_reader:
 * the one walker under the identify, Kademlia and bitswap decoders. fog_pb_next reads one field:
 * its key (a varint of at most 5 bytes, <= UINT32_MAX, non-minimal forms accepted as protobuf-c
 * reads them), then its value. Field number 0, groups (wire types 3, 4) and wire types 6, 7 are
 * FOG_ERR_PROTO, so are a length past 5 bytes or UINT32_MAX and a varint value past 10 bytes or
 * 64 bits; a field cut short is FOG_ERR_TRUNCATED. What a field means (its wire type, whether it
 * may repeat) is the caller's to check. */
enum { FOG_PB_VARINT = 0, FOG_PB_I64 = 1, FOG_PB_LEN = 2, FOG_PB_I32 = 5 };
typedef struct {
    uint32_t field; /* >= 1 when read */
    uint8_t wt;     /* FOG_PB_VARINT, FOG_PB_I64, FOG_PB_LEN or FOG_PB_I32 */
    uint64_t num;   /* VARINT: the value; I64, I32: the little-endian value; LEN: 0 */
    fog_slice v;    /* LEN: the value, borrowed from the reader's input; else empty */
} fog_pb_field;
/* true with *f set when a field was read. false at the end of the input (r->err == 0) or on
 * error (r->err set, sticky); then f->field and f->wt still hold the key when it was read (0
 * otherwise), so that a caller can judge the field that was cut short. */
bool fog_pb_next(fog_reader *r, fog_pb_field *f);
/* After a fog_pb_next loop: 0 when the input ended cleanly, else r->err with the detail line
 * "<who>: a malformed protobuf field" (or "... cut short"). */
int fog_pb_end(const fog_reader *r, const char *who);

/* One uvarint-length-prefixed message at the start of in[0..len): 1 with *body (borrowing in)
 * and *used (prefix plus body) set when it is all there; 0 when more bytes are needed (then
 * *used = 0, *body empty); FOG_ERR_LIMIT as soon as the complete prefix announces more than max,
 * before any of the body is waited for; FOG_ERR_PROTO for a non-minimal prefix or one past 9
 * bytes. Errors set a detail line. A zero-length body is a whole (empty) message. */
FOG_NODISCARD int fog_lp_frame(const uint8_t *in, size_t len, size_t max, fog_slice *body,
                               size_t *used);

/* Size arithmetic that fails instead of wrapping: 0 or FOG_ERR_LIMIT. */
FOG_NODISCARD static inline int fog_add_size(size_t a, size_t b, size_t *sum)
{
    return __builtin_add_overflow(a, b, sum) ? FOG_ERR_LIMIT : 0;
}
FOG_NODISCARD static inline int fog_mul_size(size_t a, size_t b, size_t *prod)
{
    return __builtin_mul_overflow(a, b, prod) ? FOG_ERR_LIMIT : 0;
}

/* Hex: lower-case encode into out (2*len+1 bytes, NUL-terminated); decode accepts either case and
 * returns the byte count or FOG_ERR_PROTO / FOG_ERR_LIMIT (out too small). */
void fog_hex_encode(const uint8_t *in, size_t len, char *out);
/* The value of one hex digit (either case), or -1 for another character. */
/* The wall clock: Unix time in nanoseconds (CLOCK_REALTIME). For wiring code only; cores take
 * the time from their caller. src/util/clock.c */
int64_t fog_wall_ns(void);
/* Go durations with one unit as kubo's options take them: "48h", "5m", "30s", "1500ms", "2.5s"
 * (no unit: seconds). Writes nanoseconds (at most 9e18); FOG_ERR_INVALID with a detail line
 * naming s otherwise. src/util/duration.c */
FOG_NODISCARD int fog_duration_parse(const char *s, int64_t *ns_out);
int fog_hex_digit(unsigned char c);
int fog_hex_decode(const char *in, size_t in_len, uint8_t *out, size_t cap);

/* A set of byte strings (multihashes, CIDs) with open addressing; keys are copied in. Used to
 * visit each block of a DAG once. Zero-initialised (or fog_set_init) is empty; fog_set_clear
 * frees. fog_set_add returns 1 when key was new, 0 when already present, or FOG_ERR_NOMEM. */
typedef struct {
    uint8_t **slots; /* each: 2-byte length then the key bytes, or NULL */
    size_t cap;      /* power of two, or 0 */
    size_t count;
} fog_set;
void fog_set_init(fog_set *s);
void fog_set_clear(fog_set *s);
FOG_NODISCARD int fog_set_add(fog_set *s, const uint8_t *key, size_t len);
bool fog_set_has(const fog_set *s, const uint8_t *key, size_t len);

/* Monotonic milliseconds, for callers that own time (the CLI, the node); cores take time as
 * input and never call this. */
typedef uint64_t fog_ms;
#define FOG_NEVER UINT64_MAX

/* Randomness handed to protocol cores by their caller (DESIGN.md: cores draw none themselves).
 * fill writes len random bytes to out; the node passes fog_random_bytes, tests a seeded PRNG. */
typedef struct {
    void (*fill)(void *ctx, uint8_t *out, size_t len);
    void *ctx;
} fog_rng;

/* Where cores log: a function, its context and the most detailed level wanted. A NULL fn
 * discards. Lines name their module; they never carry keys or private content. */
enum { FOG_LOG_ERROR = 0, FOG_LOG_WARN, FOG_LOG_INFO, FOG_LOG_DEBUG };
typedef struct {
    void (*fn)(void *ctx, int level, const char *module, const char *msg);
    void *ctx;
    int level;
} fog_log_sink;
/* Formats one line (at most 255 bytes) and hands it to sink when level is wanted; cheap when not.
 * A NULL sink or sink->fn discards. */
void fog_logf(const fog_log_sink *sink, int level, const char *module, const char *fmt, ...)
    FOG_PRINTF(4, 5);

#endif
