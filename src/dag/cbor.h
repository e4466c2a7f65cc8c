/* cbor.h: small strict DAG-CBOR reading and canonical writing pieces that the codecs built on
 * fixed-shape DAG-CBOR maps share (the IPNS record's data map in src/names/ipns_cbor.c, version
 * nodes in src/names/version.c). Not a public API: fog__ names, included as "dag/cbor.h".
 * The rules are those of ipld/ipld specs/codecs/dag-cbor/spec.md (PROTOCOLS.md 2.4): heads in
 * their shortest form, definite lengths only, text strings valid UTF-8, map keys sorted
 * length-first then bytewise, tag 42 written d8 2a over a byte string of 0x00 and a binary CID.
 * Readers work on a fog_reader and leave their failure in r->err (FOG_ERR_PROTO for a form the
 * rules refuse, FOG_ERR_TRUNCATED for input that ends early), so that a decoder reads a group of
 * items and checks once. Writers append to a fog_buf and return 0 or FOG_ERR_NOMEM.
 */
#ifndef FOG_DAG_CBOR_H
#define FOG_DAG_CBOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/mf.h"
#include "fog/util.h"

enum {
    FOG__CBOR_UINT = 0,
    FOG__CBOR_NEGINT = 1,
    FOG__CBOR_BYTES = 2,
    FOG__CBOR_TEXT = 3,
    FOG__CBOR_ARRAY = 4,
    FOG__CBOR_MAP = 5,
    FOG__CBOR_TAG = 6,
    FOG__CBOR_SIMPLE = 7,
};
#define FOG__CBOR_TAG_CID 42

typedef struct {
    uint8_t major;
    uint8_t info; /* the low five bits of the initial byte */
    uint64_t arg; /* the value, length or count; for major 7 the raw argument (float bits) */
} fog__cbor_head;

/* RFC 3629 UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
bool fog__utf8_valid(fog_slice s);

/* Reads one initial byte and its argument, refusing reserved and indefinite forms (info 28-31)
 * and, except for major 7, an argument that a shorter form could have held. */
void fog__cbor_head_read(fog_reader *r, fog__cbor_head *h);
/* The body of the byte or text string whose head is h, borrowed into *out; text must be UTF-8. */
void fog__cbor_string(fog_reader *r, const fog__cbor_head *h, fog_slice *out);
/* Canonical map key order: shorter first, then bytewise. Equal keys are not "before". */
bool fog__cbor_key_before(fog_slice a, fog_slice b);
/* Reads one map key (a text string) into *key; unless first, it must sort after *prev (else
 * FOG_ERR_PROTO: unsorted or duplicate). *prev becomes the key. */
void fog__cbor_key_read(fog_reader *r, fog_slice *prev, bool first, fog_slice *key);
/* Reads a CID link written canonically: d8 2a, a byte string, 0x00, a valid binary CID. */
void fog__cbor_link_read(fog_reader *r, fog_cid *out);

/* A head in its shortest form. */
FOG_NODISCARD int fog__cbor_head_put(fog_buf *b, uint8_t major, uint64_t arg);
FOG_NODISCARD int fog__cbor_text_put(fog_buf *b, const char *s, size_t len);
FOG_NODISCARD int fog__cbor_bytes_put(fog_buf *b, const uint8_t *p, size_t len);
/* Tag 42 over a byte string of 0x00 and c's binary form. */
FOG_NODISCARD int fog__cbor_link_put(fog_buf *b, const fog_cid *c);

#endif
