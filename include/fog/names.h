/* names.h: publishing a name (issue 6): the next IPNS record of a key together with the version
 * node that extends the name's history (fog/version.h), and how both enter the store. Sans-I/O:
 * the caller reads the name's current record and version node and gives them here; the daemon
 * (src/http/names.c) and the CLI's offline path (src/cli/cmd_name.c) share it.
 *
 * History rides in the record: the signed data map carries FOG_IPNS_VERSION_KEY (fog/ipns.h), a
 * link to the newest version node; Value stays "/ipfs/<root>", so every IPFS client resolves the
 * latest content directly and fog clients follow the link for the history. The version node
 * links the content root and the previous version node, so one recursive pin of the newest node
 * keeps every version readable and gc-safe.
 *
 * Rules (after boxo's publisher): the sequence is the current record's + 1 (0 for the first);
 * a new version node is made unless the value is unchanged and no message is given (then the
 * record is renewed with the same head); the record is valid until now + lifetime, with the TTL
 * given.
 */
#ifndef FOG_NAMES_H
#define FOG_NAMES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fog/ipns.h"
#include "fog/mf.h"
#include "fog/store.h"
#include "fog/util.h"

#define FOG_NAME_KEY_MAX (sizeof FOG_IPNS_KEY_PREFIX - 1 + FOG_PEER_ID_MAX)

typedef struct {
    const uint8_t *secret;   /* the key's 64-byte Ed25519 secret (borrowed) */
    fog_cid target;          /* the content root to publish */
    uint64_t size;           /* its cumulative DAG size (fog_version_dag_size) */
    const char *msg;         /* the version's message, or NULL */
    int64_t now_ns;          /* wall clock, Unix ns */
    int64_t lifetime_ns;     /* record validity from now */
    uint64_t ttl_ns;         /* record TTL */
    fog_slice cur_record;    /* the name's current record (ours, from the store), or empty */
    fog_slice cur_version;   /* the block of cur_record's FogVersion, or empty */
} fog_name_publish_in;

typedef struct {
    fog_buf record;          /* the new serialized record */
    fog_buf version_block;   /* the new version node (empty when the head is kept) */
    fog_cid head;            /* the newest version node after publishing */
    bool has_old_head;       /* the record replaced pointed at another head: */
    fog_cid old_head;        /* unpinned when the new one is pinned */
    uint64_t sequence;
    uint64_t n;              /* the head's version number */
    char value[6 + FOG_CID_STR_MAX]; /* "/ipfs/<root>" */
} fog_name_publication;

/* Builds the next record and version node. Errors: FOG_ERR_NOT_FOUND when cur_record links a
 * version node that cur_version does not hold ("the name's version node CID is not in the
 * repository"), FOG_ERR_PROTO for a cur_version that does not decode or hash to the link,
 * fog_version_encode / fog_ipns_create errors. out is initialised here; free with
 * fog_name_publication_clear (also after a failure). */
FOG_NODISCARD int fog_name_publication_make(fog_name_publication *out,
                                            const fog_name_publish_in *in);
void fog_name_publication_clear(fog_name_publication *p);

/* Stages p in batch b: the version node, a recursive pin of the head (and the old head's pin
 * removed), and, when with_record, the record under key ("/ipns/" + peer ID) as received at
 * now_ms. Version node and pin always come in the same batch as (or before) the record, so a
 * stored record never links a version that is missing. */
FOG_NODISCARD int fog_name_publication_stage(fog_store_batch *b, const fog_name_publication *p,
                                             fog_slice key, bool with_record, uint64_t now_ms);

/* The DHT key of a name: "/ipns/" + id into out (FOG_NAME_KEY_MAX); returns the length. */
size_t fog_name_key(const uint8_t *id, size_t id_len, uint8_t *out);

/* A name path as users write it: "/ipns/NAME[/rest]", "NAME@N[/rest]" or "/ipns/NAME@N[/rest]",
 * NAME being an IPNS name text or a local key's name (resolved by the caller). */
typedef struct {
    char name[FOG_PEER_ID_TEXT_MAX + 1];
    bool has_version;
    uint64_t version;        /* N >= 1 */
    const char *rest;        /* "" or "/a/b" (borrowed from the text) */
} fog_name_path;
/* True when text looks like a name path (starts with "/ipns/", or its first segment holds '@').
 * Parses it into out: FOG_ERR_INVALID with a detail for a bad form (empty name, N not a positive
 * decimal, a name longer than FOG_PEER_ID_TEXT_MAX). */
bool fog_name_path_is(const char *text);
FOG_NODISCARD int fog_name_path_parse(const char *text, fog_name_path *out);

#endif
