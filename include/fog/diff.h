/* diff.h: what changed between two UnixFS trees (issue 6: `fog diff V1 V2`).
 * Content addressing makes a diff cheap: two sub-DAGs with the same CID are the same, so the
 * walk descends only where the CIDs differ and reads nothing else. Directories (basic dag-pb
 * directories and HAMT shards, in any mix) are compared entry by entry by name; between two HAMT
 * shards of the same fanout, whole buckets whose links are equal are skipped unread, so one
 * change in a directory of a million entries reads a handful of shards.
 */
#ifndef FOG_DIFF_H
#define FOG_DIFF_H

#include <stdbool.h>
#include <stdint.h>

#include "fog/dag.h"
#include "fog/mf.h"
#include "fog/util.h"

#define FOG_DIFF_MAX_DEPTH 128 /* directory levels below the roots (as FOG_UNIXFS_MAX_DEPTH) */

typedef enum { FOG_DIFF_ADDED = 1, FOG_DIFF_REMOVED, FOG_DIFF_CHANGED } fog_diff_kind;

/* One change. path: relative to the roots, "" for the roots themselves, else "dir/sub/name"
 * (NUL-terminated, lent for the call). a: the entry's CID in the old tree (NULL when added);
 * b: in the new tree (NULL when removed); both lent for the call. is_dir: the entry is a
 * directory on the side(s) where it exists (for CHANGED: on the new side). A non-zero return
 * stops the diff and is returned by fog_diff. */
typedef int (*fog_diff_fn)(void *ud, fog_diff_kind kind, const char *path, const fog_cid *a,
                           const fog_cid *b, bool is_dir);

typedef struct {
    uint64_t blocks_read;      /* calls of src->get (identity CIDs are read from the CID) */
    uint64_t entries_compared; /* directory entry names looked at by the comparison (a name on
                                * both sides counts once; entries in skipped HAMT buckets not) */
} fog_diff_stats;

/* Reports the changes that turn tree a into tree b, sorted by path (within a directory by name
 * bytewise, depth first). Rules:
 * - Two CIDs are equal when codec and multihash are (a CIDv0 equals its CIDv1 form); equal
 *   roots report nothing and read no block.
 * - When both roots are directories their entries are compared by name: equal CIDs are skipped
 *   unread; an entry only in a is REMOVED and one only in b ADDED (a directory once, its
 *   contents not listed); two directories with different CIDs are compared recursively (the
 *   directory itself is not reported); any other pair (file and file, file and directory,
 *   symlinks, other codecs) is CHANGED.
 * - Roots that are not both directories and differ give one CHANGED with path "".
 * - Entries are read only as far as needed: a dag-pb entry is fetched to learn whether it is a
 *   directory; raw blocks (files) and other codecs (not directories) are not fetched.
 * Blocks are verified against their CID unless src->trusted (FOG_ERR_HASH_MISMATCH); a missing
 * block is FOG_ERR_NOT_FOUND naming it. A name holding '/' or NUL, an empty name, "." or "..", or
 * a name twice in one directory is FOG_ERR_PROTO; so is malformed UnixFS. Directories nested
 * deeper than FOG_DIFF_MAX_DEPTH, or open directory listings past 64 MiB in all, are
 * FOG_ERR_LIMIT; other errors as the exporter's (fog/unixfs.h). stats (may be NULL) is filled
 * whether or not the diff succeeds. */
FOG_NODISCARD int fog_diff(const fog_blocksource *src, const fog_cid *a, const fog_cid *b,
                           fog_diff_fn fn, void *ud, fog_diff_stats *stats);

#endif
