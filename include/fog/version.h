/* version.h: the version history of a name (issue 6). Every publish through fog records a
 * version node, a small DAG-CBOR block (codec 0x71, CIDv1 sha2-256) linking the content root and
 * the previous version node, so that `fog log` can list every version and `NAME@N` can read an
 * old one. The node is a map with exactly these keys, in DAG-CBOR canonical order (shorter key
 * first, then bytewise; ipld/ipld specs/codecs/dag-cbor/spec.md, PROTOCOLS.md 2.4):
 *   "n"    unsigned: the version number, 1 for the first, the previous one's + 1 after that
 *   "v"    unsigned: the format version, always 1 (others: FOG_ERR_UNSUPPORTED)
 *   "msg"  text: the optional message (absent when there is none; never empty), at most
 *          FOG_VERSION_MSG_MAX bytes of UTF-8 without NUL
 *   "prev" link (tag 42): the previous version node, present exactly when n > 1
 *   "root" link (tag 42): the content root, any codec
 *   "size" unsigned: the content's cumulative DAG size in bytes (fog_version_dag_size)
 *   "time" unsigned: Unix time of the publish, seconds
 * Example (n 1, no message): a5 61 6e 01 61 76 01 64 72 6f 6f 74 d8 2a 58 25 00 <CID> 64 73 69
 * 7a 65 <uint> 64 74 69 6d 65 <uint>. There is one encoding per value: decode accepts exactly
 * what encode writes, so a node's CID is a function of its fields.
 * Because each node links its predecessor, one recursive pin of the newest node keeps the whole
 * history (and every version's content) readable and safe from gc.
 */
#ifndef FOG_VERSION_H
#define FOG_VERSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/dag.h"
#include "fog/mf.h"
#include "fog/util.h"

#define FOG_VERSION_MSG_MAX 1024 /* bytes of a version message */
#define FOG_VERSION_FORMAT  1    /* the "v" this code reads and writes */

typedef struct {
    uint64_t n;    /* >= 1 */
    fog_cid root;  /* the content root */
    bool has_prev; /* exactly when n > 1 */
    fog_cid prev;  /* the previous version node */
    uint64_t time; /* Unix seconds */
    uint64_t size; /* cumulative DAG bytes of root */
    fog_slice msg; /* borrowed (encode: from the caller; decode: from the block); empty: none */
} fog_version;

/* Appends the canonical encoding of v to out. FOG_ERR_INVALID (detail line) for n 0, has_prev
 * not equal to n > 1, a message longer than FOG_VERSION_MSG_MAX, not UTF-8 or holding a NUL;
 * FOG_ERR_NOMEM. out is unchanged on failure. */
FOG_NODISCARD int fog_version_encode(const fog_version *v, fog_buf *out);
/* Decodes a version node strictly: a definite-length map of the keys above in canonical order
 * (no unknown, duplicate or missing key), heads in their shortest form, links written d8 2a, the
 * rules of fog_version_encode, no trailing bytes. *out borrows msg from p. FOG_ERR_PROTO,
 * FOG_ERR_TRUNCATED, FOG_ERR_UNSUPPORTED ("v" other than 1); each with a detail line. */
FOG_NODISCARD int fog_version_decode(fog_version *out, const uint8_t *p, size_t len);
/* The CID of a version node's block: CIDv1 dag-cbor sha2-256 of the bytes. */
FOG_NODISCARD int fog_version_cid(const uint8_t *block, size_t len, fog_cid *out);

/* The cumulative DAG size of root, read from root's block alone (what the importer's Tsize and
 * kubo's CumulativeSize hold): for dag-pb, the block length plus every link's Tsize (a link
 * without one adds 0); for raw, dag-cbor and other codecs, the block length; for an identity
 * CID, its digest length (nothing is fetched). The block is verified against root unless
 * src->trusted. FOG_ERR_NOT_FOUND (detail names the CID), FOG_ERR_HASH_MISMATCH,
 * FOG_ERR_UNSUPPORTED (a hash fog cannot check or a digest under 20 bytes), FOG_ERR_PROTO (a
 * malformed dag-pb block, or a sum past 64 bits). */
FOG_NODISCARD int fog_version_dag_size(const fog_blocksource *src, const fog_cid *root,
                                       uint64_t *out);

/* Walks the chain from head, newest first, calling fn for each version; c and v (whose msg
 * borrows the block) are lent for the call only. A non-zero return from fn stops the walk and
 * is returned. Each node must be dag-cbor, decode, and have n exactly one less than the node
 * before it, so the walk always ends; the last has n 1 and no prev. Blocks are verified
 * against their CID unless src->trusted. Errors: FOG_ERR_PROTO ("version chain of HEAD is
 * broken at CID" when n does not step down by one or a block is not dag-cbor; decode errors
 * name the node), FOG_ERR_UNSUPPORTED, FOG_ERR_NOT_FOUND (detail names the missing block),
 * FOG_ERR_HASH_MISMATCH, and the source's errors. */
typedef int (*fog_version_fn)(void *ud, const fog_cid *c, const fog_version *v);
FOG_NODISCARD int fog_version_log(const fog_blocksource *src, const fog_cid *head,
                                  fog_version_fn fn, void *ud);

/* Finds version n (1 .. head's n) by walking prev links from head. Its node's CID goes to
 * *c_out (may be NULL) and the decoded version to *out, whose msg then borrows from hold: hold
 * is reset and receives a copy of the node's block (the caller owns it and frees it with
 * fog_buf_clear). FOG_ERR_NOT_FOUND "version N not found: the latest is M" for n 0 or past the
 * head's n (only the head is read then); the errors of fog_version_log otherwise. */
FOG_NODISCARD int fog_version_find(const fog_blocksource *src, const fog_cid *head, uint64_t n,
                                   fog_version *out, fog_cid *c_out, fog_buf *hold);

#endif
