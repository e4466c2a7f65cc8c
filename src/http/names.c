/* names.c: the name endpoints and the republisher (issue 6; kubo core/commands/name shapes
 * where kubo has the command):
 *   /api/v0/name/publish arg=PATH, key=NAME (default self), lifetime=DUR (48h), ttl=DUR (5m),
 *       message=TEXT -> {"Name", "Value", "Sequence", "Version", "VersionCid", "Peers"}: PATH is
 *       resolved to its CID (blocks fetched when missing), the next record and version node are
 *       made (fog/names.h), version node and pin go through the store writer, then the record is
 *       put into the DHT (fog_dht_put_value, which stores it as ours) and the version node is
 *       provided. "Peers": how many of the closest peers took the record (0: stored here only;
 *       the republisher tries again). Without a DHT the record is only stored.
 *   /api/v0/name/resolve arg=NAME, nocache=BOOL -> {"Path", "Sequence", "Version"?, "Source"}:
 *       the stored record while it is younger than its TTL (unless nocache), else the DHT's best
 *       (fog_dht_get_value, which weighs the stored one too), which is then stored as the cache.
 *   /api/v0/name/log arg=VERSION-CID, version=N -> {"Versions": [...]} newest first, or only
 *       version N (fog extension; the CLI resolves the name first).
 *   /api/v0/diff arg=PATH arg=PATH -> {"Changes": [{"Kind", "Path", "Before", "After", "Dir"}],
 *       "BlocksRead"} (fog extension).
 * The republisher signs each local key's stored record again with a fresh validity (same value,
 * sequence and history link, as boxo's republisher does) and puts it into the DHT, first
 * republish_delay_ms after start, then every republish_interval_ms.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fog/crypto.h"
#include "fog/diff.h"
#include "fog/dht.h"
#include "fog/keystore.h"
#include "fog/names.h"
#include "fog/store.h"
#include "fog/storew.h"
#include "fog/unixfs.h"
#include "fog/version.h"

#define NS_PER_MS 1000000LL

/* A duration option in ns; -1 on junk. */
static int64_t duration_ns(const char *s)
{
    int64_t ns = 0;
    return fog_duration_parse(s, &ns) < 0 ? -1 : ns;
}

static json_t *cid_json(const fog_cid *c)
{
    return json_string(fog_cid_str(c));
}

/* --- Versions and diffs as JSON (shared with the CLI's offline path, api.h) ----------------- */

static json_t *version_json(const fog_cid *c, const fog_version *v)
{
    /* no message: an empty slice whose pointer may be NULL, which "s%" refuses */
    const char *msg = v->msg.len > 0 ? (const char *)v->msg.p : "";
    return json_pack("{s:I,s:o,s:o,s:I,s:I,s:s%}", "Version", (json_int_t)v->n, "Cid",
                     cid_json(c), "Root", cid_json(&v->root), "Time", (json_int_t)v->time,
                     "Size", (json_int_t)v->size, "Message", msg, v->msg.len);
}

static int log_line(void *ud, const fog_cid *c, const fog_version *v)
{
    json_t *o = version_json(c, v);
    return o == NULL || json_array_append_new(ud, o) < 0 ? FOG_ERR_NOMEM : 0;
}

int fog_api_log_json(const fog_blocksource *src, const fog_cid *head, uint64_t n, json_t **out)
{
    json_t *arr = json_array();
    if (arr == NULL) {
        return FOG_ERR_NOMEM;
    }
    int rc = 0;
    if (n == 0) {
        rc = fog_version_log(src, head, log_line, arr);
    } else {
        fog_version v;
        fog_cid c;
        fog_buf hold;
        fog_buf_init(&hold);
        rc = fog_version_find(src, head, n, &v, &c, &hold);
        rc = rc < 0 ? rc : log_line(arr, &c, &v);
        fog_buf_clear(&hold);
    }
    *out = rc < 0 ? NULL : json_pack("{s:o}", "Versions", arr);
    if (rc < 0) {
        json_decref(arr);
    }
    return rc;
}

static const char *const diff_kinds[] = {"", "added", "removed", "changed"};

static int diff_line(void *ud, fog_diff_kind kind, const char *path, const fog_cid *a,
                     const fog_cid *b, bool is_dir)
{
    json_t *o = json_pack("{s:s,s:s,s:o,s:o,s:b}", "Kind", diff_kinds[kind], "Path", path,
                          "Before", a != NULL ? cid_json(a) : json_null(), "After",
                          b != NULL ? cid_json(b) : json_null(), "Dir", is_dir);
    return o == NULL || json_array_append_new(ud, o) < 0 ? FOG_ERR_NOMEM : 0;
}

int fog_api_diff_json(const fog_blocksource *src, const char *a, const char *b, json_t **out)
{
    fog_cid ca, cb;
    int rc = fog_unixfs_resolve(src, a, &ca);
    rc = rc < 0 ? rc : fog_unixfs_resolve(src, b, &cb);
    json_t *arr = json_array();
    fog_diff_stats st = {0};
    if (rc == 0) {
        rc = arr == NULL ? FOG_ERR_NOMEM : fog_diff(src, &ca, &cb, diff_line, arr, &st);
    }
    *out = rc < 0 ? NULL
                  : json_pack("{s:o,s:I}", "Changes", arr, "BlocksRead",
                              (json_int_t)st.blocks_read);
    if (rc < 0) {
        json_decref(arr);
    }
    return rc;
}

typedef struct {
    char *a, *b;   /* log: a is the head CID text, n the version (0: all) */
    uint64_t n;
} walk_ctx;

static void walk_free(void *ud)
{
    walk_ctx *c = ud;
    free(c->a);
    free(c->b);
    free(c);
}

static int log_run(void *ud, const fog_blocksource *src, json_t **result)
{
    walk_ctx *c = ud;
    fog_cid head;
    int rc = fog_cid_parse(&head, c->a);
    return rc < 0 ? rc : fog_api_log_json(src, &head, c->n, result);
}

static int diff_run(void *ud, const fog_blocksource *src, json_t **result)
{
    walk_ctx *c = ud;
    return fog_api_diff_json(src, c->a, c->b, result);
}

static void walk_after(void *ud, api_work *w, int err, const char *detail, json_t *result)
{
    (void)ud;
    h2o_req_t *req = fog__api_work_req(w);
    if (req == NULL) {
        json_decref(result);
    } else if (err < 0) {
        json_decref(result);
        fog__api_reply_error(req, 500, "%s", detail);
    } else {
        fog__api_reply_json(req, 200, result);
    }
}

static void walk_endpoint(fog_api *api, h2o_req_t *req, const api_query *q, bool diff)
{
    fog_ms timeout = 0;
    if (q->n_arg != (diff ? 2u : 1u)) {
        fog__api_reply_error(req, 400, diff ? "two paths are required" :
                                              "argument \"version-cid\" is required");
        return;
    }
    if (fog__api_timeout_option(api, req, q, &timeout) < 0) {
        return;
    }
    walk_ctx *c = calloc(1, sizeof *c);
    const char *n = fog__api_query_opt(q, "version");
    char *end = NULL;
    if (c == NULL || (c->a = strdup(q->arg[0])) == NULL ||
        (diff && (c->b = strdup(q->arg[1])) == NULL)) {
        walk_free(c != NULL ? c : calloc(1, sizeof *c));
        fog__api_reply_error(req, 500, "out of memory");
        return;
    }
    if (n != NULL && ((c->n = strtoull(n, &end, 10)) == 0 || *end != '\0')) {
        walk_free(c);
        fog__api_reply_error(req, 400, "version must be a number from 1");
        return;
    }
    fog__api_work_start(api, req, timeout, diff ? diff_run : log_run, walk_after, c,
                        walk_free);
}

void fog__api_name_log(fog_api *api, h2o_req_t *req, const api_query *q)
{
    walk_endpoint(api, req, q, false);
}

void fog__api_diff(fog_api *api, h2o_req_t *req, const api_query *q)
{
    walk_endpoint(api, req, q, true);
}

/* --- publish ------------------------------------------------------------------------------- */

typedef struct {
    fog_api *api;
    api_work *w;
    char *path;
    char *msg;
    fog_key key;
    uint8_t rkey[FOG_NAME_KEY_MAX];
    size_t rkey_len;
    int64_t lifetime_ns;
    uint64_t ttl_ns;
    int64_t now_ns;
    fog_name_publication pub;
    char name[FOG_CID_STR_MAX];
} pub_ctx;

static void pub_free(void *ud)
{
    pub_ctx *p = ud;
    fog_name_publication_clear(&p->pub);
    fog_memzero(&p->key, sizeof p->key);
    free(p->path);
    free(p->msg);
    free(p);
}

/* On the worker: the target and its size, the name's current record and version node. */
static int pub_run(void *ud, const fog_blocksource *src, json_t **result)
{
    (void)result;
    pub_ctx *p = ud;
    fog_name_publish_in in = {
        .secret = p->key.secret,
        .msg = p->msg,
        .now_ns = p->now_ns,
        .lifetime_ns = p->lifetime_ns,
        .ttl_ns = p->ttl_ns,
    };
    int rc = fog_unixfs_resolve(src, p->path, &in.target);
    rc = rc < 0 ? rc : fog_version_dag_size(src, &in.target, &in.size);
    fog_buf rec, ver;
    fog_buf_init(&rec);
    fog_buf_init(&ver);
    uint64_t received = 0;
    fog_ipns_record cur;
    if (rc == 0 &&
        fog_store_record_get(p->api->cfg.store, fog_slice_make(p->rkey, p->rkey_len), &received,
                             &rec) == 0 &&
        fog_ipns_parse(&cur, rec.p, rec.len) == 0 && cur.has_version) {
        fog_slice blk;
        if (src->get(src->ctx, &cur.version, &blk) == 0) {
            rc = fog_buf_append(&ver, blk.p, blk.len);
        }
    }
    in.cur_record = fog_slice_make(rec.p, rec.len);
    in.cur_version = fog_slice_make(ver.p, ver.len);
    rc = rc < 0 ? rc : fog_name_publication_make(&p->pub, &in);
    fog_buf_clear(&rec);
    fog_buf_clear(&ver);
    return rc;
}

static int pub_stage(void *ud, fog_store_batch *b)
{
    pub_ctx *p = ud;
    return fog_name_publication_stage(b, &p->pub, fog_slice_make(p->rkey, p->rkey_len),
                                      p->api->cfg.dht == NULL,
                                      (uint64_t)(p->now_ns / NS_PER_MS));
}

static void pub_reply(pub_ctx *p, int err, size_t peers)
{
    h2o_req_t *req = fog__api_work_req(p->w);
    if (req != NULL && err < 0) {
        fog__api_reply_error(req, 500, "%s", fog_err_detail(err));
    } else if (req != NULL) {
        fog__api_reply_json(req, 200,
                            json_pack("{s:s,s:s,s:I,s:I,s:o,s:I}", "Name", p->name, "Value",
                                      p->pub.value, "Sequence", (json_int_t)p->pub.sequence,
                                      "Version", (json_int_t)p->pub.n, "VersionCid",
                                      cid_json(&p->pub.head), "Peers", (json_int_t)peers));
    }
    fog__api_work_unhold(p->w);
}

static void pub_put(void *ud, int err, size_t n_accepted)
{
    pub_ctx *p = ud;
    /* Nobody took it (a lone node): stored here, served from here, republished later. */
    pub_reply(p, err == FOG_ERR_NOT_FOUND ? 0 : err, err < 0 ? 0 : n_accepted);
}

static void pub_staged(void *ud, int err)
{
    pub_ctx *p = ud;
    fog_dht *dht = p->api->cfg.dht;
    if (err < 0 || dht == NULL || p->api->content_closing) {
        pub_reply(p, err, 0);
        return;
    }
    fog_slice mh = fog_cid_mh(&p->pub.head);
    if (fog_dht_provide(dht, &mh, 1, NULL, NULL) < 0) {
        fog_logf(&p->api->cfg.log, FOG_LOG_DEBUG, "names", "provide %s failed",
                 fog_cid_str(&p->pub.head));
    }
    int rc = fog_dht_put_value(dht, p->rkey, p->rkey_len, p->pub.record.p, p->pub.record.len,
                               pub_put, p);
    if (rc < 0) {
        pub_reply(p, rc, 0);
    }
}

static void pub_after(void *ud, api_work *w, int err, const char *detail, json_t *result)
{
    pub_ctx *p = ud;
    json_decref(result);
    h2o_req_t *req = fog__api_work_req(w);
    if (req == NULL) {
        return;
    }
    if (err < 0) {
        fog__api_reply_error(req, 500, "%s", detail);
        return;
    }
    p->w = w;
    fog__api_work_hold(w);
    int rc = fog_store_writer_submit(p->api->cfg.writer, pub_stage, pub_staged, p);
    if (rc < 0) {
        pub_reply(p, rc, 0);
    }
}

/* key=, lifetime=, ttl=, message= into p; 400 answered and -1 on junk. */
static int pub_options(fog_api *api, h2o_req_t *req, const api_query *q, pub_ctx *p)
{
    const char *key = fog__api_query_opt(q, "key");
    const char *life = fog__api_query_opt(q, "lifetime");
    const char *ttl = fog__api_query_opt(q, "ttl");
    const char *msg = fog__api_query_opt(q, "message");
    p->lifetime_ns = life != NULL ? duration_ns(life) : FOG_IPNS_LIFETIME_NS;
    int64_t t = ttl != NULL ? duration_ns(ttl) : (int64_t)FOG_IPNS_TTL_NS;
    if (p->lifetime_ns <= 0 || t < 0) {
        fog__api_reply_error(req, 400, "lifetime and ttl must be durations such as 48h or 30s");
        return -1;
    }
    p->ttl_ns = (uint64_t)t;
    if (msg != NULL && (p->msg = strdup(msg)) == NULL) {
        fog__api_reply_error(req, 500, "out of memory");
        return -1;
    }
    int rc = api->cfg.repo == NULL ? FOG_ERR_INVALID
                                   : fog_key_get(api->cfg.repo, key != NULL ? key : "self",
                                                 &p->key);
    if (rc < 0) {
        fog__api_reply_error(req, rc == FOG_ERR_NOT_FOUND ? 400 : 500, "%s",
                             fog_err_detail(rc));
        return -1;
    }
    p->rkey_len = fog_name_key(p->key.id, sizeof p->key.id, p->rkey);
    fog_peer_id_format_cid(p->key.id, sizeof p->key.id, 0, p->name, sizeof p->name);
    return 0;
}

void fog__api_name_publish(fog_api *api, h2o_req_t *req, const api_query *q)
{
    fog_ms timeout = 0;
    if (q->n_arg != 1) {
        fog__api_reply_error(req, 400, "argument \"ipfs-path\" is required (exactly one)");
        return;
    }
    if (fog__api_timeout_option(api, req, q, &timeout) < 0) {
        return;
    }
    pub_ctx *p = calloc(1, sizeof *p);
    if (p == NULL || (p->path = strdup(q->arg[0])) == NULL) {
        free(p);
        fog__api_reply_error(req, 500, "out of memory");
        return;
    }
    p->api = api;
    p->now_ns = fog_wall_ns();
    if (pub_options(api, req, q, p) < 0) {
        pub_free(p);
        return;
    }
    fog__api_work_start(api, req, timeout, pub_run, pub_after, p, pub_free);
}

/* --- resolve ------------------------------------------------------------------------------- */

typedef struct {
    api_job base;
    fog_api *api;
    uint8_t rkey[FOG_NAME_KEY_MAX];
    size_t rkey_len;
    fog_buf cache; /* the DHT's answer, for the writer */
} res_job;

static void res_release(api_job *b)
{
    res_job *r = (res_job *)b;
    fog_buf_clear(&r->cache);
    free(r);
}

/* The answer for a valid record (bytes lent); 500 when it does not parse (cannot happen for a
 * record that was validated). */
static void res_reply(h2o_req_t *req, fog_slice rec_bytes, const char *source)
{
    fog_ipns_record rec;
    if (fog_ipns_parse(&rec, rec_bytes.p, rec_bytes.len) < 0) {
        fog__api_reply_error(req, 500, "%s", fog_err_detail(FOG_ERR_PROTO));
        return;
    }
    json_t *o = json_pack("{s:s%,s:I,s:s}", "Path", (const char *)rec.value.p, rec.value.len,
                          "Sequence", (json_int_t)rec.sequence, "Source", source);
    if (o != NULL && rec.has_version) {
        json_object_set_new(o, "Version", cid_json(&rec.version));
    }
    fog__api_reply_json(req, 200, o);
}

static int cache_put(void *ud, fog_store_batch *b)
{
    res_job *r = ud;
    uint64_t now_ms = (uint64_t)(fog_wall_ns() / NS_PER_MS);
    return fog_store_batch_record_put(b, fog_slice_make(r->rkey, r->rkey_len), now_ms,
                                      fog_slice_make(r->cache.p, r->cache.len));
}

static void cache_done(void *ud, int err)
{
    res_job *r = ud;
    if (err < 0) {
        fog_logf(&r->api->cfg.log, FOG_LOG_DEBUG, "names", "caching a record: %s",
                 fog_err_detail(err));
    }
    r->base.outstanding--;
    fog__api_job_maybe_free(&r->base);
}

static void res_got(void *ud, int err, fog_slice value, size_t n_records)
{
    (void)n_records;
    res_job *r = ud;
    h2o_req_t *req = r->base.req;
    if (req != NULL && err < 0) {
        fog__api_reply_error(req, 500, "could not resolve name: %s",
                             err == FOG_ERR_NOT_FOUND ? "no valid record found"
                                                      : fog_err_detail(err));
    } else if (req != NULL) {
        res_reply(req, value, "dht");
    }
    if (err == 0 && fog_buf_append(&r->cache, value.p, value.len) == 0 &&
        fog_store_writer_submit(r->api->cfg.writer, cache_put, cache_done, r) == 0) {
        return; /* the writer's callback is the one outstanding now */
    }
    r->base.outstanding--;
    fog__api_job_maybe_free(&r->base);
}

/* The stored record when it is valid now and, unless stale_ok, younger than its TTL. */
static bool res_local(res_job *r, h2o_req_t *req, bool stale_ok)
{
    fog_buf b;
    fog_buf_init(&b);
    uint64_t received = 0;
    fog_ipns_record rec;
    int64_t now = fog_wall_ns();
    bool ok = fog_store_record_get(r->api->cfg.store, fog_slice_make(r->rkey, r->rkey_len),
                                   &received, &b) == 0 &&
              fog_ipns_parse(&rec, b.p, b.len) == 0 &&
              fog_ipns_validate(&rec, r->rkey + 6, r->rkey_len - 6,
                                fog_ipns_time_from_ns(now)) == 0 &&
              (stale_ok || (uint64_t)(now / NS_PER_MS) < received + rec.ttl_ns / NS_PER_MS);
    if (ok) {
        res_reply(req, fog_slice_make(b.p, b.len), "cache");
    }
    fog_buf_clear(&b);
    return ok;
}

void fog__api_name_resolve(fog_api *api, h2o_req_t *req, const api_query *q)
{
    if (q->n_arg != 1) {
        fog__api_reply_error(req, 400, "argument \"name\" is required (exactly one)");
        return;
    }
    const char *arg = strncmp(q->arg[0], "/ipns/", 6) == 0 ? q->arg[0] + 6 : q->arg[0];
    uint8_t id[FOG_PEER_ID_MAX];
    int n = fog__api_peer_arg(req, arg, id);
    if (n < 0) {
        return;
    }
    if (api->cfg.store == NULL) {
        fog__api_reply_error(req, 500, "the daemon serves no repository");
        return;
    }
    const char *nc = fog__api_query_opt(q, "nocache");
    bool nocache = nc != NULL && strcmp(nc, "false") != 0;
    res_job *r = calloc(1, sizeof *r);
    if (r == NULL) {
        fog__api_reply_error(req, 500, "out of memory");
        return;
    }
    r->api = api;
    r->rkey_len = fog_name_key(id, (size_t)n, r->rkey);
    fog_buf_init(&r->cache);
    if ((!nocache && res_local(r, req, false)) ||
        (api->cfg.dht == NULL && res_local(r, req, true))) {
        res_release(&r->base);
        return;
    }
    if (api->cfg.dht == NULL) {
        res_release(&r->base);
        fog__api_reply_error(req, 500, "could not resolve name: no record here and the DHT is "
                                       "off");
        return;
    }
    r->base.release = res_release;
    fog__api_job_attach(api, &r->base, req);
    r->base.outstanding = 1;
    int rc = fog_dht_get_value(api->cfg.dht, r->rkey, r->rkey_len, res_got, r);
    if (rc < 0) {
        r->base.outstanding = 0;
        fog__api_reply_error(req, 500, "could not resolve name: %s", fog_err_detail(rc));
    }
}

/* --- The republisher ----------------------------------------------------------------------- */

/* Signs k's stored record again, valid from now for the default lifetime (or until its old
 * end, if later), and puts it into the DHT. */
static void republish_key(fog_api *api, const fog_key *k, int64_t now)
{
    uint8_t rkey[FOG_NAME_KEY_MAX];
    size_t rkey_len = fog_name_key(k->id, sizeof k->id, rkey);
    fog_buf old, rec;
    fog_buf_init(&old);
    fog_buf_init(&rec);
    uint64_t received = 0;
    fog_ipns_record cur;
    if (fog_store_record_get(api->cfg.store, fog_slice_make(rkey, rkey_len), &received, &old) ==
            0 &&
        fog_ipns_parse(&cur, old.p, old.len) == 0) {
        int64_t eol = now + FOG_IPNS_LIFETIME_NS;
        int64_t old_eol_s = cur.eol.sec;
        if (old_eol_s < INT64_MAX / 1000000000LL - 1 &&
            old_eol_s * 1000000000LL + (int64_t)cur.eol.nsec > eol) {
            eol = old_eol_s * 1000000000LL + (int64_t)cur.eol.nsec;
        }
        int rc = fog_ipns_create_ext(&rec, k->secret, cur.value.p, cur.value.len, cur.sequence,
                                     eol, cur.ttl_ns, cur.has_version ? &cur.version : NULL);
        rc = rc < 0 ? rc
                    : fog_dht_put_value(api->cfg.dht, rkey, rkey_len, rec.p, rec.len, NULL, NULL);
        fog_logf(&api->cfg.log, rc < 0 ? FOG_LOG_INFO : FOG_LOG_DEBUG, "names",
                 "republish %s: %s", k->name, rc < 0 ? fog_err_detail(rc) : "sent");
    }
    fog_buf_clear(&old);
    fog_buf_clear(&rec);
}

static void republish_tick(uv_timer_t *t)
{
    fog_api *api = t->data;
    fog_key *keys = NULL;
    size_t n = 0;
    if (api->closing || fog_key_list(api->cfg.repo, &keys, &n) < 0) {
        return;
    }
    int64_t now = fog_wall_ns();
    for (size_t i = 0; i < n; i++) {
        republish_key(api, &keys[i], now);
    }
    fog_key_list_free(keys, n);
    uv_timer_start(t, republish_tick, api->cfg.republish_interval_ms, 0);
}

void fog__api_republisher_start(fog_api *api)
{
    if (api->cfg.dht == NULL || api->cfg.repo == NULL || api->cfg.store == NULL ||
        api->cfg.republish_interval_ms == 0) {
        return;
    }
    uv_timer_init(api->loop, &api->republish);
    api->republish.data = api;
    api->republish_open = true;
    uv_timer_start(&api->republish, republish_tick, api->cfg.republish_delay_ms, 0);
}

void fog__api_republisher_stop(fog_api *api)
{
    if (api->republish_open) {
        api->republish_open = false;
        uv_timer_stop(&api->republish);
        uv_close((uv_handle_t *)&api->republish, NULL);
    }
}
