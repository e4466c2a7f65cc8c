/* routing.c: /api/v0/routing/findpeer?arg=PEER, answered by the daemon's DHT (fog/dht.h).
 * kubo (core/commands/routing.go) streams routing.QueryEvent objects as newline-delimited JSON,
 * {"Extra", "ID", "Responses", "Type"}, and ends a found peer with one of Type 2
 * (routing.FinalPeer) whose Responses holds the peer's AddrInfo {"ID", "Addrs"} (addresses
 * without /p2p). fog answers with that final event alone, once the lookup ends; a peer the
 * lookup did not learn with an address is the error "routing: not found" (500), and without a
 * DHT (fog daemon --no-dht) every routing request is the error "routing: the DHT is off".
 * The lookup cannot be taken back: a request whose client left (or the server closing) keeps its
 * job until the DHT's callback is back, which fog_dht_free guarantees (FOG_ERR_CANCELLED).
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>

#include "fog/dht.h"

#define ROUTING_FINAL_PEER 2 /* kubo's routing.FinalPeer */

typedef struct {
    api_job base;
    bool answered;
} findpeer_job;

static void findpeer_release(api_job *j)
{
    free(j);
}

static void findpeer_cancel(api_job *j)
{
    findpeer_job *f = (findpeer_job *)j;
    if (f->base.outstanding > 0 && f->base.req != NULL && !f->answered) {
        f->answered = true;
        fog__api_reply_error(f->base.req, 500, "the daemon is shutting down");
    }
}

static json_t *final_peer_event(const fog_dht_peer *t)
{
    char id[128];
    fog__api_peer_text(fog_slice_make(t->id, t->id_len), id, sizeof id);
    json_t *addrs = json_array();
    for (size_t i = 0; i < t->n_addrs; i++) {
        json_array_append_new(addrs, json_string(fog_multiaddr_str(&t->addrs[i])));
    }
    return json_pack("{s:s,s:s,s:[{s:s,s:o}],s:i}", "Extra", "", "ID", "", "Responses", "ID", id,
                     "Addrs", addrs, "Type", ROUTING_FINAL_PEER);
}

static void findpeer_done(void *ud, int err, const fog_dht_peer *closest, size_t n,
                          const fog_dht_peer *target)
{
    (void)closest;
    (void)n;
    findpeer_job *f = ud;
    f->base.outstanding--;
    h2o_req_t *req = f->base.req;
    if (req == NULL || f->answered) {
        fog__api_job_maybe_free(&f->base);
        return;
    }
    f->answered = true;
    if (err < 0) {
        fog__api_reply_error(req, 500, "routing: %s", fog_strerror(err));
    } else if (target == NULL || target->n_addrs == 0) {
        fog__api_reply_error(req, 500, "routing: not found");
    } else {
        fog__api_reply_json(req, 200, final_peer_event(target));
    }
}

void fog__api_routing_findpeer(fog_api *api, h2o_req_t *req, const api_query *q)
{
    if (q->n_arg != 1) {
        fog__api_reply_error(req, 400, "argument \"peerID\" is required (exactly one)");
        return;
    }
    uint8_t id[FOG_PEER_ID_MAX];
    int len = fog__api_peer_arg(req, q->arg[0], id);
    if (len < 0) {
        return;
    }
    if (api->cfg.dht == NULL) {
        fog__api_reply_error(req, 500, "routing: the DHT is off");
        return;
    }
    if (fog_slice_eq(fog_slice_make(id, (size_t)len), fog_node_peer_id(api->node))) {
        fog__api_reply_error(req, 400, "routing: cannot search for yourself");
        return;
    }
    findpeer_job *f = calloc(1, sizeof *f);
    if (f == NULL) {
        fog__api_reply_error(req, 500, "out of memory");
        return;
    }
    f->base.cancel = findpeer_cancel;
    f->base.release = findpeer_release;
    int rc = fog_dht_find_peer(api->cfg.dht, id, (size_t)len, findpeer_done, f);
    if (rc < 0) {
        free(f);
        fog__api_reply_error(req, 500, "routing: %s", fog_err_detail(rc));
        return;
    }
    fog__api_job_attach(api, &f->base, req);
    f->base.outstanding = 1;
}
