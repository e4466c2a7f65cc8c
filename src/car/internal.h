/* internal.h: what the files of the car layer share (fog__ names, STYLE.md section 2).
 * header.c holds the CARv1 header codec: a tiny, strict DAG-CBOR reader and writer for exactly
 * one shape, {"roots": [CID...], "version": 1}. A full DAG-CBOR codec lives in the dag layer;
 * this one stays here so that the header is read by code small enough to audit in one sitting.
 */
#ifndef FOG_CAR_INTERNAL_H
#define FOG_CAR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/car.h"
#include "fog/mf.h"
#include "fog/util.h"

/* Parses the header block (the bytes after its length prefix). On success *roots_out is given to
 * the caller (free(); NULL when there are no roots) and *n_out holds the count.
 * FOG_ERR_PROTO (not a CARv1 header; detail line says why), FOG_ERR_UNSUPPORTED (a CARv2 pragma),
 * FOG_ERR_LIMIT (more than FOG_CAR_MAX_ROOTS roots), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog__car_header_parse(const uint8_t *p, size_t len, fog_cid **roots_out,
                                        size_t *n_out);

/* Appends the whole header, length prefix included, to out in canonical DAG-CBOR:
 * uvarint(len) a2 65 "roots" array(n) [d8 2a bytes(00 CID)]... 67 "version" 01. */
FOG_NODISCARD int fog__car_header_write(fog_buf *out, const fog_cid *roots, size_t n_roots);

/* The uvarint + CID bytes that open a section holding data_len block bytes, into out (room for
 * FOG_UVARINT_MAX + FOG_CID_MAX bytes). Returns the count. */
size_t fog__car_section_head(const fog_cid *c, size_t data_len, uint8_t *out);

#endif
