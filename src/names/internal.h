/* internal.h: what the files of the names layer share (not a public API).
 * ipns_cbor.c decodes and encodes the DAG-CBOR `data` map, ipns_key.c turns a libp2p PublicKey
 * into a verifier and checks it against a name, ipns_time.c reads and writes RFC 3339 times, and
 * ipns.c holds the protobuf record, validation, selection and creation on top of them.
 */
#ifndef FOG_NAMES_INTERNAL_H
#define FOG_NAMES_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "fog/ipns.h"
#include "fog/util.h"

/* Decodes rec->data into rec's decoded fields (value ... ttl_ns; eol is left to the caller).
 * 0, FOG_ERR_PROTO, FOG_ERR_TRUNCATED or FOG_ERR_LIMIT, with a detail line. */
int fog__ipns_data_decode(fog_ipns_record *rec);

/* Verifies sig over msg with the key of the name: pub_key (a serialized libp2p PublicKey, whose
 * peer ID must equal name) when not empty, else the key inlined in name. 0, FOG_ERR_AUTH,
 * FOG_ERR_NOT_FOUND (no key to be had), FOG_ERR_PROTO, FOG_ERR_UNSUPPORTED; detail lines set. */
int fog__ipns_verify(fog_slice pub_key, fog_slice name, const uint8_t *msg, size_t msg_len,
                     fog_slice sig);

#endif
