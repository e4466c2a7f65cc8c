/* endpoints.c: the API endpoints answered at once: version, id (ours or a connected peer's, from
 * its identify) and swarm/peers, in kubo's JSON shapes (kubo core/commands id.go, swarm.go).
 * Differences from kubo: "Peers" is [] rather than null when no peer is connected, and Latency is
 * the last ping's round trip ("" before any), written like Go's time.Duration.
 */
#include "internal.h"

#include <stdio.h>
#include <string.h>

void fog__api_version(fog_api *api, h2o_req_t *req, const api_query *q)
{
    (void)api;
    (void)q;
    fog__api_reply_json(req, 200,
                        json_pack("{s:s,s:s,s:s,s:s}", "Version", FOG_VERSION, "Commit", "",
                                  "Repo", "1", "System", "amd64/linux"));
}

static json_t *own_protocols(const fog_api *api)
{
    const char *const *ids;
    size_t n = fog_node_protocols(api->node, &ids);
    json_t *p = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(p, json_string(ids[i]));
    }
    return p;
}

static void id_self(fog_api *api, h2o_req_t *req)
{
    fog_slice id = fog_node_peer_id(api->node);
    char text[128];
    fog__api_peer_text(id, text, sizeof text);
    fog_multiaddr addrs[FOG_NODE_ANNOUNCE_MAX];
    size_t n = fog_node_announce_addrs(api->node, addrs);
    json_t *arr = json_array();
    for (size_t i = 0; i < n; i++) {
        json_array_append_new(arr, fog__api_addr_json(&addrs[i], id));
    }
    fog__api_reply_json(req, 200,
                        json_pack("{s:s,s:o,s:o,s:s,s:o}", "ID", text, "PublicKey",
                                  fog__api_b64_json(fog_node_public_key(api->node)), "Addresses",
                                  arr, "AgentVersion", FOG_IDENTIFY_AGENT, "Protocols",
                                  own_protocols(api)));
}

static void id_peer(fog_api *api, h2o_req_t *req, const uint8_t *id, size_t len, const char *arg)
{
    fog_peer_info info;
    if (!fog_node_peer(api->node, id, len, &info)) {
        fog__api_reply_error(req, 500, "peer %s is not connected", arg);
        return;
    }
    const fog_identify_parsed *idp = info.identify;
    if (idp == NULL) {
        fog__api_reply_error(req, 500, "peer %s has not answered identify yet", arg);
        return;
    }
    fog_slice pid = fog_slice_make(id, len);
    json_t *addrs = json_array();
    for (size_t i = 0; i < idp->msg.n_listen_addrs; i++) {
        json_array_append_new(addrs, fog__api_addr_json(&idp->msg.listen_addrs[i], pid));
    }
    json_t *protos = json_array();
    for (size_t i = 0; i < idp->msg.n_protocols; i++) {
        json_array_append_new(protos, json_string(idp->msg.protocols[i]));
    }
    const char *agent = idp->msg.agent_version != NULL ? idp->msg.agent_version : "";
    char text[128];
    fog__api_peer_text(pid, text, sizeof text);
    fog__api_reply_json(req, 200,
                        json_pack("{s:s,s:o,s:o,s:s,s:o}", "ID", text, "PublicKey",
                                  fog__api_b64_json(idp->msg.public_key), "Addresses", addrs,
                                  "AgentVersion", agent, "Protocols", protos));
}

void fog__api_id(fog_api *api, h2o_req_t *req, const api_query *q)
{
    if (q->n_arg > 1) {
        fog__api_reply_error(req, 400, "id takes at most one peer ID");
        return;
    }
    if (q->n_arg == 0) {
        id_self(api, req);
        return;
    }
    uint8_t id[FOG_PEER_ID_MAX];
    int len = fog__api_peer_arg(req, q->arg[0], id);
    if (len < 0) {
        return;
    }
    if (fog_slice_eq(fog_slice_make(id, (size_t)len), fog_node_peer_id(api->node))) {
        id_self(api, req);
        return;
    }
    id_peer(api, req, id, (size_t)len, q->arg[0]);
}

/* Go's time.Duration text for a round trip in microseconds ("850µs", "1.25ms"). */
static void latency_text(uint64_t us, char *out, size_t cap)
{
    if (us == 0) {
        out[0] = '\0';
    } else if (us < 1000) {
        snprintf(out, cap, "%lluµs", (unsigned long long)us);
    } else if (us < 1000000) {
        snprintf(out, cap, "%gms", (double)us / 1000.0);
    } else {
        snprintf(out, cap, "%gs", (double)us / 1e6);
    }
}

static bool peer_json(void *ud, const fog_peer_info *p)
{
    json_t *arr = ud;
    char text[FOG_MULTIADDR_STR_MAX];
    char peer[128];
    char lat[32];
    if (fog_multiaddr_format(&p->remote_addr, text, sizeof text) < 0) {
        text[0] = '\0';
    }
    fog__api_peer_text(p->peer_id, peer, sizeof peer);
    latency_text(p->latency_us, lat, sizeof lat);
    json_array_append_new(arr, json_pack("{s:s,s:s,s:i,s:s,s:s}", "Addr", text, "Peer", peer,
                                         "Direction", p->inbound ? 1 : 2, "Latency", lat, "Muxer",
                                         p->muxer != NULL ? p->muxer : ""));
    return true;
}

void fog__api_swarm_peers(fog_api *api, h2o_req_t *req, const api_query *q)
{
    (void)q;
    json_t *arr = json_array();
    fog_node_each_peer(api->node, peer_json, arr);
    fog__api_reply_json(req, 200, json_pack("{s:o}", "Peers", arr));
}
