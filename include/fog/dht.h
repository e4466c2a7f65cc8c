/* dht.h: the Kademlia DHT (/ipfs/kad/1.0.0) wired onto a fog_node: routing table upkeep from
 * identify, the FIND_NODE / GET_PROVIDERS server, and iterative peer lookups (bootstrap,
 * find_peer, get_closest). Specs: libp2p/specs kad-dht/README.md, ipfs/specs
 * src/routing/kad-dht.md, PROTOCOLS.md 3.7. The cores do the protocol: fog/kad.h (messages),
 * fog/rtable.h (routing table), fog/lookup.h (iterative lookup); this layer owns streams,
 * dials, the clock and timers.
 *
 * Life cycle: fog_dht_new after fog_node_new and before fog_node_start (in server mode it
 * registers /ipfs/kad/1.0.0 so that identify announces it). The DHT takes the node's single
 * observer slot (fog_node_set_observer): whoever else needs connection events passes its own
 * observer in fog_dht_config.observer and the DHT calls it after its own work. Free the DHT
 * after fog_node_close has completed and before fog_node_free.
 *
 * Routing table: a peer enters when its identify lists /ipfs/kad/1.0.0 (and leaves when a later
 * identify no longer does). Disconnected peers stay in the table, as in go-libp2p-kad-dht: the
 * DHT keeps the listen addresses identify (or a FIND_NODE answer) gave for each peer in a
 * bounded address book and dials them by those when a lookup or a liveness check needs them.
 * A liveness check (the table's bucket is full and a newcomer waits) is answered by the
 * connection: a connected peer is alive; otherwise one dial to its known addresses decides.
 *
 * Server (server mode only): every inbound stream may carry several request/response pairs.
 * FIND_NODE is answered with the k closest peers of the table to SHA-256(key), never the
 * requester, with their addresses from the address book (and ourselves when the key is our own
 * peer ID). ADD_PROVIDER stores, for the providerPeers entry whose ID is the sender's and that
 * carries addresses (others are ignored, as in go-libp2p-kad-dht handlers.go), a record valid
 * provider_ttl_ms; there is no answer. GET_PROVIDERS is answered with the closer peers and the
 * key's unexpired records (at most FOG_KAD_PROVIDERS_MAX, each with its stored addresses; our
 * own with our announce addresses). PING is echoed. PUT_VALUE and GET_VALUE: see "Value
 * records" below; a malformed message resets the stream.
 *
 * Everything runs on the node's loop thread; callbacks are deferred to the loop, never called
 * from inside the function that started the operation (fog_dht_free excepted, see there).
 */
#ifndef FOG_DHT_H
#define FOG_DHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "fog/kad.h"
#include "fog/mf.h"
#include "fog/multiaddr.h"
#include "fog/node.h"
#include "fog/store.h"
#include "fog/storew.h"
#include "fog/util.h"

#define FOG_DHT_PEER_ADDRS 8 /* addresses kept per peer in the address book and in results */
#define FOG_DHT_VALIDATORS_MAX 4

typedef struct fog_dht fog_dht;

/* Value records (PUT_VALUE / GET_VALUE) of one key namespace: keys "/<ns>/..." (go-libp2p-record
 * NamespacedValidator; "ipns" first, its validator comes from fog/ipns.h). validate: 0 when
 * value is a valid record for key at now_ms (wall-clock ms since the epoch, from the DHT's
 * wiring: signature, expiry...), negative otherwise. select: the index
 * of the best of values[0..n) (all valid for key; n >= 1), as go's Validator.Select: on a tie
 * the first wins. Both run on the loop thread. */
typedef struct {
    const char *ns; /* "ipns": the namespace without slashes; NULL: an unused slot */
    int (*validate)(void *ud, fog_slice key, fog_slice value, uint64_t now_ms);
    size_t (*select)(void *ud, fog_slice key, const fog_slice *values, size_t n);
    void *ud;
} fog_dht_validator;

typedef struct {
    uv_loop_t *loop;            /* the node's loop (node.h has no accessor); required */
    size_t k;                   /* bucket size, answer and result size (default 20) */
    size_t alpha;               /* requests in flight per lookup (default 10: in the lookup core's
                                   simulation half the lookup time of alpha 3) */
    fog_ms request_timeout_ms;  /* one FIND_NODE request, dial included (default 10 s) */
    bool server;                /* serve /ipfs/kad/1.0.0 (default true) */
    size_t book_max;            /* peers in the address book (default 4096); the one updated
                                   longest ago is forgotten first */
    fog_node_observer observer; /* pass-through: called after the DHT's own handling */
    fog_log_sink log;
    /* Provider records (the daemon sets store and writer; NULL: no records are kept, an
     * ADD_PROVIDER is dropped and GET_PROVIDERS answers only closer peers). store is read on the
     * loop thread (short read transactions), written only through writer. Both borrowed. */
    fog_store *store;
    fog_store_writer *writer;
    fog_ms provider_ttl_ms;       /* a record's validity (default 48 h, go ProvideValidity) */
    fog_ms sweep_interval_ms;     /* expired records deleted this often (default 1 h); 0: never */
    fog_ms reprovide_interval_ms; /* every pinned root provided again this often (default 22 h,
                                     kubo Reprovider.Interval); 0: no reprovider. Needs store */
    fog_ms reprovide_delay_ms;    /* the first reprovide after fog_dht_new (default 1 min) */
    fog_ms refresh_interval_ms;   /* a bucket with no lookup for this long gets a lookup of a
                                     random key in it (default 10 min, go); 0: no refresh */
    /* Value records: a namespace without a validator is refused (a PUT_VALUE of its keys
     * resets the stream, GET_VALUE has no record; fog_dht_get_value / put_value fail). Stored
     * in the store's "records" table (needs store and writer). */
    fog_dht_validator validators[FOG_DHT_VALIDATORS_MAX];
    fog_ms record_max_age_ms;     /* a stored record older than this is not served (default
                                     36 h, go MaxRecordAge) */
    size_t get_quorum;            /* fog_dht_get_value stops after this many valid records
                                     (default 16, kubo's DefaultResolverDhtRecordCount); 0:
                                     the lookup runs to its end */
} fog_dht_config;

/* A peer and the addresses known for it (as reported; /p2p not appended). */
typedef struct {
    uint8_t id[FOG_PEER_ID_MAX];
    size_t id_len;
    fog_multiaddr addrs[FOG_DHT_PEER_ADDRS];
    size_t n_addrs;
} fog_dht_peer;

/* What a lookup found. closest: the (at most k) closest peers that answered, closest first.
 * target: for fog_dht_find_peer, the peer looked for when the lookup learned of it (it answered
 * or another peer reported it), with its addresses; NULL otherwise. All lent for the call.
 * err: 0, or FOG_ERR_CANCELLED (the DHT is being freed). */
typedef void (*fog_dht_lookup_cb)(void *ud, int err, const fog_dht_peer *closest, size_t n,
                                  const fog_dht_peer *target);
/* Bootstrap result: err 0 when at least one bootstrap peer was dialled and the self-lookup ran
 * (connected: how many were dialled, table_size: the routing table's size after it), else the
 * error of the last dial (or FOG_ERR_CANCELLED). */
typedef void (*fog_dht_bootstrap_cb)(void *ud, int err, size_t connected, size_t table_size);

/* Defaults above; loop NULL, no observer, log discards. */
void fog_dht_config_default(fog_dht_config *cfg);

/* Makes the DHT of node (borrowed; it must outlive the DHT) and installs its observer (and, in
 * server mode, its protocol handler). Errors: FOG_ERR_INVALID (no loop, k or alpha 0, k above
 * FOG_KAD_PEERS_MAX, book_max 0, or the node started already), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_dht_new(fog_dht **out, fog_node *node, const fog_dht_config *cfg);
/* Frees the DHT: call it after fog_node_close completed (no stream or dial is left then) and
 * before fog_node_free. Lookups still running end here: their callbacks run from inside this
 * call with FOG_ERR_CANCELLED. NULL is a no-op. */
void fog_dht_free(fog_dht *d);

/* Dials each of addrs[0..n) (each must end in /p2p/<id>), then runs a lookup for our own peer
 * ID seeded with the peers dialled and the table, which fills the routing table. addrs are
 * copied. Errors at once (cb never runs): FOG_ERR_INVALID (n 0, an address without /p2p),
 * FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_dht_bootstrap(fog_dht *d, const fog_multiaddr *addrs, size_t n,
                                    fog_dht_bootstrap_cb cb, void *ud);

/* An iterative lookup for peer_id (binary, copied): alpha FIND_NODE requests in flight on new
 * streams, candidates dialled by the addresses they were reported with. It ends once the target
 * was learnt with at least one address, or as fog/lookup.h says. Errors at once: FOG_ERR_PROTO /
 * FOG_ERR_UNSUPPORTED (not a peer ID), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_dht_find_peer(fog_dht *d, const uint8_t *peer_id, size_t len,
                                    fog_dht_lookup_cb cb, void *ud);

/* The k peers closest to key (e.g. a multihash or a peer ID, 1..FOG_KAD_KEY_MAX bytes, copied):
 * FIND_NODE carries the key itself because servers place it at SHA-256(key), so a bare 32-byte
 * position cannot be asked for. Errors at once: FOG_ERR_INVALID (key length), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_dht_get_closest(fog_dht *d, const uint8_t *key, size_t len,
                                      fog_dht_lookup_cb cb, void *ud);

/* --- Providers (contract fixed with bitswap; the DHT's providers slice implements it) ----- */

/* A running provider search, for fog_dht_cancel. Owned by the DHT: invalid once its final
 * callback (done true) ran or it was cancelled. */
typedef struct fog_dht_op fog_dht_op;

/* Providers found so far: provs[0..n) lent for the call (addresses as the answering peer gave
 * them, or from the address book), never the same peer twice in one search and never ourselves.
 * Called as providers arrive (done false, err 0), then once with done true: err 0 (the lookup
 * ended or count providers were found), FOG_ERR_CANCELLED (the DHT is being freed). */
typedef void (*fog_dht_providers_cb)(void *ud, int err, const fog_dht_peer *provs, size_t n,
                                     bool done);

/* Looks for providers of a content multihash (mh, the CID's multihash; the DHT key is the
 * multihash, as kubo and helia use): our own provider records first, then GET_PROVIDERS to the
 * closest peers, iteratively, until count providers were found (0: no limit) or the lookup
 * ends. *op_out (may be NULL) gets a handle for fog_dht_cancel. Errors at once (cb never runs):
 * FOG_ERR_INVALID (empty or too long a key), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_dht_find_providers(fog_dht *d, const uint8_t *mh, size_t len, size_t count,
                                         fog_dht_providers_cb cb, void *ud, fog_dht_op **op_out);
/* Stops a running search: its callback does not run again. */
void fog_dht_cancel(fog_dht_op *op);

/* Announces that we provide each of keys[0..n) (content multihashes, 1..80 bytes each, copied):
 * stores our own provider record for each (when a store is set) and sends ADD_PROVIDER (our
 * peer ID and announce addresses) to the k closest peers of each key. Batched: keys are sorted
 * by their position SHA-256(key) and one FIND_NODE lookup serves every key of the keyspace
 * region it proved: when the lookup for key K ends with the k closest peers S, and the farthest
 * of S shares L leading bits with K, then every peer sharing L + 1 bits with K is in S; the
 * following keys sharing L + 1 bits with K get their records sent to S without a lookup of their
 * own (the peers closest to them all are in S; the rest of S is near them). Each peer of S gets
 * one stream carrying the region's ADD_PROVIDER messages. So a batch of m keys costs about
 * min(m, regions) lookups, where a region holds fewer than k peers (a network of N servers has
 * about 2N/k of them), and k ADD_PROVIDER messages per key. Regions are handled one after the
 * other. cb (may be NULL) runs once when every region is done. Errors at once: FOG_ERR_INVALID
 * (n 0 or a key length out of range), FOG_ERR_NOMEM. */
typedef struct {
    size_t keys;        /* keys announced */
    size_t lookups;     /* FIND_NODE lookups run */
    size_t messages;    /* ADD_PROVIDER messages written */
    size_t peers_failed; /* region peers that could not be reached */
} fog_dht_provide_stats;
typedef void (*fog_dht_provide_cb)(void *ud, int err, const fog_dht_provide_stats *st);
FOG_NODISCARD int fog_dht_provide(fog_dht *d, const fog_slice *keys, size_t n,
                                  fog_dht_provide_cb cb, void *ud);

/* --- Value records (GET_VALUE / PUT_VALUE; src/dht/dht_values.c) ----------------------------
 * Server: PUT_VALUE (the key's namespace has a validator, the record is valid, and no stored
 * record of the key is better by select) stores the record, received now, and echoes the request
 * (go handlers.go handlePutValue); otherwise the stream is reset. GET_VALUE answers the closer
 * peers and the stored record when it is valid and younger than record_max_age_ms (none for a
 * namespace without a validator).
 * fog_dht_get_value: our own record, then an iterative GET_VALUE lookup collecting the valid
 * records the closest peers hold until get_quorum of them (or the lookup's end); cb gets the best
 * by select (value lent for the call; n_records: how many valid ones were seen, 0 with
 * FOG_ERR_NOT_FOUND when none). Then, as go's searchValueQuorum, the closest peers of the lookup
 * that did not hold the best get it with PUT_VALUE (fire and forget; our own record is left as
 * it is, as go leaves it). Errors at once: FOG_ERR_UNSUPPORTED (no validator for the key's namespace),
 * FOG_ERR_INVALID (key length), FOG_ERR_NOMEM. */
typedef void (*fog_dht_value_cb)(void *ud, int err, fog_slice value, size_t n_records);
FOG_NODISCARD int fog_dht_get_value(fog_dht *d, const uint8_t *key, size_t len,
                                    fog_dht_value_cb cb, void *ud);
/* fog_dht_put_value: validates value, stores it as our own record (refused with FOG_ERR_EXISTS
 * when ours is better by select, as go's "can't replace a newer value with an older value"), then
 * finds the k closest peers of key and sends each a PUT_VALUE; cb (may be NULL) gets how many
 * peers accepted it (echoed the request) once every one answered or failed; err
 * FOG_ERR_NOT_FOUND when none did. Errors at once: FOG_ERR_UNSUPPORTED, FOG_ERR_INVALID (key or
 * value length, or validate failed), FOG_ERR_EXISTS, FOG_ERR_NOMEM. key and value are copied. */
typedef void (*fog_dht_put_cb)(void *ud, int err, size_t n_accepted);
FOG_NODISCARD int fog_dht_put_value(fog_dht *d, const uint8_t *key, size_t len,
                                    const uint8_t *value, size_t value_len, fog_dht_put_cb cb,
                                    void *ud);

/* The store given in fog_dht_config (borrowed), or NULL. */
struct fog_store *fog_dht_store(const fog_dht *d);

/* The routing table (lent, for inspection: do not change it). */
const struct fog_rtable *fog_dht_table(const fog_dht *d);

/* The addresses the address book holds for peer (copied to out, at most FOG_DHT_PEER_ADDRS);
 * returns how many, 0 when the peer is unknown. */
size_t fog_dht_peer_addrs(const fog_dht *d, const uint8_t *peer_id, size_t len,
                          fog_multiaddr out[FOG_DHT_PEER_ADDRS]);

typedef struct {
    uint64_t requests_in;      /* requests answered */
    uint64_t streams_reset_in; /* inbound streams reset: malformed or unsupported requests */
    uint64_t requests_out;     /* FIND_NODE requests sent */
    uint64_t failures_out;     /* requests that failed (dial, stream, bad answer, timeout) */
    uint64_t lookups;          /* lookups finished */
    uint64_t providers_added;  /* ADD_PROVIDER records accepted (queued for the store) */
    uint64_t providers_swept;  /* expired provider records deleted */
    uint64_t reprovides;       /* reprovider runs started */
    uint64_t refreshes;        /* bucket refresh lookups started */
} fog_dht_stats;
void fog_dht_get_stats(const fog_dht *d, fog_dht_stats *out);

#endif
