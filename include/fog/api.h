/* api.h: the daemon's local HTTP API (kubo's /api/v0 RPC shapes where they fit), served with
 * libh2o on the node's libuv loop. src/http; DESIGN.md (one loop thread).
 *
 * Like kubo: POST only (anything else gets 405), arguments in the query string (?arg=...,
 * repeatable), JSON answers, errors as {"Message": "...", "Code": 0, "Type": "error"} with status
 * 400 (bad arguments) or 500 (the operation failed). A request that carries an Origin header is
 * refused with 403, so no web page a browser shows can drive the API. Endpoints:
 *   /api/v0/version          {"Version", "Commit", "Repo", "System"}
 *   /api/v0/id [arg=PEER]    {"ID", "PublicKey", "Addresses", "AgentVersion", "Protocols"}
 *   /api/v0/swarm/peers      {"Peers": [{"Addr", "Peer", "Direction", "Latency", "Muxer"}]}
 *   /api/v0/swarm/connect    arg=MULTIADDR... -> {"Strings": ["connect ID success"]}
 *   /api/v0/ping             arg=PEER|MULTIADDR, count=N, interval=MS -> newline-delimited
 *                            {"Success", "Time", "Text"} objects, streamed as pings answer
 *   /api/v0/routing/findpeer arg=PEER -> {"Extra", "ID", "Responses": [{"ID", "Addrs"}],
 *                            "Type": 2}: kubo's routing.FinalPeer event, found through
 *                            config.dht (src/http/routing.c); "routing: not found" otherwise
 *   /api/v0/routing/findprovs arg=CID, num-providers=N (default 20) -> one {"Extra", "ID",
 *                            "Responses": [{"ID", "Addrs"}], "Type": 4} line per provider
 *                            (routing.Provider), streamed as found; Type 7 (QueryError, message
 *                            in Extra) if the search fails after the stream began
 *   /api/v0/routing/provide  arg=CID... -> once every CID was announced, one summary object
 *                            {"Keys": [CID...], "Lookups", "Messages", "PeersFailed"}; each block
 *                            must be local; "routing: cannot provide, no connected peers" when
 *                            no peer took the records
 *   /api/v0/routing/query    arg=PEER (also /api/v0/dht/query, kubo's `dht query`) -> one
 *                            {"ID": PEER, "Type": 2} line per closest peer found, closest first
 *   Routing errors: "routing: the DHT is off" (--no-dht), 400 for a bad CID or peer ID.
 *   /api/v0/cat              arg=CID[/path], offset=N, length=N -> the file's bytes, streamed
 *   /api/v0/ls               arg=CID[/path] -> {"Objects": [{"Hash", "Links": [{"Name", "Hash",
 *                            "Size", "Type"}]}]} (kubo's shape; Type 1 folder, 2 file, ...)
 *   /api/v0/get              arg=CID[/path] -> a ustar archive of the file or folder, streamed
 *   /api/v0/refs             arg=CID, recursive=true -> one {"Ref", "Err"} line per block below
 *                            the root, streamed, every block fetched into the store
 *   /api/v0/stats/bw         {"TotalIn", "TotalOut", "RateIn", "RateOut"}; proto=P: that
 *                            protocol's stream bytes; all=true adds "Protocols": [{"Protocol",
 *                            "TotalIn", "TotalOut"}]
 *   /api/v0/name/publish     arg=PATH, key=NAME, lifetime=DUR, ttl=DUR, message=TEXT ->
 *                            {"Name", "Value", "Sequence", "Version", "VersionCid", "Peers"}
 *   /api/v0/name/resolve     arg=NAME, nocache=BOOL -> {"Path", "Sequence", "Version", "Source"}
 *   /api/v0/name/log         arg=VERSION-CID, version=N -> {"Versions": [{"Version", "Cid",
 *                            "Root", "Time", "Size", "Message"}]} newest first (fog's own)
 *   /api/v0/diff             arg=PATH arg=PATH -> {"Changes": [{"Kind", "Path", "Before",
 *                            "After", "Dir"}], "BlocksRead"} (fog's own); see src/http/names.c
 *   Content endpoints take timeout=DURATION ("30s", "500ms", "2m") bounding each block's wait.
 *   /api/v0/shutdown         stops the daemon (config.on_shutdown)
 * The server binds what it is given (the daemon passes 127.0.0.1:5001 by default); it does not
 * check that the address is loopback.
 */
#ifndef FOG_API_H
#define FOG_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include <jansson.h>

#include "fog/dag.h"
#include "fog/mf.h"
#include "fog/multiaddr.h"
#include "fog/node.h"
#include "fog/util.h"

typedef struct fog_api fog_api;

typedef struct {
    fog_multiaddr listen;          /* /ip4|/ip6 + /tcp; port 0 = any free port */
    bool test_protocols;           /* the node serves the test protocols (listed by /id) */
    void (*on_shutdown)(void *ud); /* /api/v0/shutdown answered; called on the loop, deferred */
    void *ud;
    struct fog_dht *dht;           /* the node's DHT for the routing endpoints, or NULL
                                      (borrowed; free it before fog_api_close so that its
                                      lookups end first) */
    /* Content endpoints (src/http/content.c: cat, ls, refs, get): the repository (opened
     * FOG_STORE_WRITE, read through views on worker threads), bitswap and the store writer.
     * All borrowed; NULL bswap: only local content is served. fog_api_content_close must
     * complete before bitswap is freed and before fog_api_close (workers must be back). */
    struct fog_store *store;
    struct fog_bswap *bswap;
    struct fog_store_writer *writer;
    fog_ms fetch_timeout_ms;       /* default wait for one missing block (0: none) */
    /* Names (src/http/names.c): the repository directory (its keystore; NULL: no publishing),
     * and the republisher's schedule (needs dht; interval 0: none). */
    const char *repo;
    fog_ms republish_interval_ms;  /* kubo's Ipns.RepublishPeriod, 4 h */
    fog_ms republish_delay_ms;     /* the first run after start (1 min) */
    fog_log_sink log;
} fog_api_config;

/* Makes a server for node (borrowed: it must outlive the server, and its close must complete
 * before fog_api_close, so that no dial or ping callback reaches a closed server). Nothing is
 * bound yet. Errors: FOG_ERR_INVALID (listen is not /ip4|/ip6 + /tcp), FOG_ERR_NOMEM. */
FOG_NODISCARD int fog_api_new(fog_api **out, uv_loop_t *loop, fog_node *node,
                              const fog_api_config *cfg);
/* Binds and listens. FOG_ERR_IO with a detail line naming the address on failure. */
FOG_NODISCARD int fog_api_start(fog_api *api);
/* The bound address with its actual port (valid after fog_api_start). */
const fog_multiaddr *fog_api_addr(const fog_api *api);
/* Stops listening, ends pending requests and waits (at most about a second) for open HTTP
 * connections to close; done(ud) runs then, after which fog_api_free is valid. */
void fog_api_close(fog_api *api, void (*done)(void *ud), void *ud);
/* Ends the content requests (cat, ls, refs) so that none holds a bitswap session or a fetch
 * any more: their waits are cancelled, workers finish (their clients see an error), and
 * done(ud) runs on the loop once the last one let go (deferred, also when there was none);
 * later content requests are refused. The daemon calls it first when stopping, and frees
 * bitswap only after done. */
void fog_api_content_close(fog_api *api, void (*done)(void *ud), void *ud);
/* What /api/v0/name/log and /api/v0/diff answer, made from src (the CLI's offline path makes
 * the same from the local store): the versions from head (n 0: all, newest first; else only
 * version n), and the changes from path a to path b ("CID[/path]" or "/ipfs/..."). 0 and *out
 * (the caller decrefs), or the walk's error with its detail line. */
FOG_NODISCARD int fog_api_log_json(const fog_blocksource *src, const fog_cid *head, uint64_t n,
                                   json_t **out);
FOG_NODISCARD int fog_api_diff_json(const fog_blocksource *src, const char *a, const char *b,
                                    json_t **out);

/* Frees a server whose close completed (close it even if it was never started). NULL is a
 * no-op. */
void fog_api_free(fog_api *api);

#endif
