/* car.h: CAR v1 archives (ipld/ipld specs/transport/car/carv1; PROTOCOLS.md 2.5).
 * Writer: a header with the roots, then every block of the DAG under each root in depth-first
 * order (each block once). Reader: a streaming parser over a file descriptor or buffer that
 * verifies each block against its CID before handing it on, so nothing unverified leaves it.
 */
#ifndef FOG_CAR_H
#define FOG_CAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/dag.h"
#include "fog/mf.h"
#include "fog/util.h"

#define FOG_CAR_HEADER_MAX (1u << 20) /* largest header accepted */
#define FOG_CAR_MAX_ROOTS 1024

/* Writes a CARv1 with the given roots to write_fn: header, then the DAG of each root depth-first
 * through src (links followed with fog_dag_links; each block written once). FOG_ERR_NOT_FOUND
 * (detail line names the CID) when a block is missing. */
FOG_NODISCARD int fog_car_export(const fog_blocksource *src, const fog_cid *roots, size_t n_roots,
                                 fog_write_fn write_fn, void *ctx);

/* A streaming reader. read_fn fills up to cap bytes and returns the count (0 at end of input) or
 * a negative fog_err. */
typedef int (*fog_read_fn)(void *ctx, uint8_t *p, size_t cap);
typedef struct fog_car_reader fog_car_reader;
/* Reads and checks the header (version 1, roots present and valid CIDs; a CARv2 pragma is
 * FOG_ERR_UNSUPPORTED for now). FOG_ERR_PROTO / FOG_ERR_TRUNCATED / FOG_ERR_LIMIT with a detail
 * line. *out is given: fog_car_reader_free. */
FOG_NODISCARD int fog_car_reader_new(fog_car_reader **out, fog_read_fn read_fn, void *ctx);
void fog_car_reader_free(fog_car_reader *r); /* NULL is a no-op */
size_t fog_car_reader_n_roots(const fog_car_reader *r);
const fog_cid *fog_car_reader_root(const fog_car_reader *r, size_t i);
/* The next block: 1 with *c and *data set (data lent until the next call), 0 at the clean end,
 * or an error: FOG_ERR_HASH_MISMATCH (detail line names the CID), FOG_ERR_PROTO (zero-length or
 * malformed section), FOG_ERR_TRUNCATED, FOG_ERR_LIMIT (block over FOG_BLOCK_MAX). */
FOG_NODISCARD int fog_car_reader_next(fog_car_reader *r, fog_cid *c, fog_slice *data);

#endif
