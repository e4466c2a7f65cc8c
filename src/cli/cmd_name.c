/* cmd_name.c: names with a history (issue 6): `fog name publish|resolve`, `fog log`, `fog diff`,
 * and the name paths other commands read ("NAME@N/path", "/ipns/NAME/path": cli_name_path).
 * With a daemon running everything goes through its API (src/http/names.c): publishing puts the
 * record into the DHT, resolving asks the DHT once the cached record's TTL has passed, and
 * version nodes or directories that are not local are fetched. Without one, the same happens on
 * the local repository: publish stores the record and version node (the daemon puts the record
 * into the DHT when it next republishes, one minute after it starts), and resolve, log and diff
 * read what the repository holds. Output follows kubo where kubo has the command:
 * "Published to NAME: VALUE", resolve prints the path.
 * A NAME is an IPNS name (k51..., 12D3Koo..., /ipns/...) or the name of a local key.
 */
#include "cli.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "apiclient.h"
#include "fog/api.h"
#include "fog/crypto.h"
#include "fog/ipns.h"
#include "fog/keystore.h"
#include "fog/names.h"
#include "fog/unixfs.h"
#include "fog/version.h"

#define PATH_MAX_TEXT 4096

/* A NAME's peer ID: an IPNS name's text, or a local key's. */
static int name_id(const char *repo, const char *name, uint8_t id[FOG_PEER_ID_MAX], size_t *len)
{
    const char *s = strncmp(name, "/ipns/", 6) == 0 ? name + 6 : name;
    int n = fog_peer_id_parse(s, id);
    if (n > 0) {
        *len = (size_t)n;
        return 0;
    }
    fog_key k;
    if (repo != NULL && fog_key_get(repo, s, &k) == 0) {
        memcpy(id, k.id, sizeof k.id);
        *len = sizeof k.id;
        fog_memzero(&k, sizeof k);
        return 0;
    }
    return cli_failf("\"%s\" is neither an IPNS name nor a local key's name", s);
}

/* What a name resolves to: its path and, when fog published it, its newest version. */
typedef struct {
    char path[PATH_MAX_TEXT];
    bool has_version;
    fog_cid head;
    uint64_t sequence;
} resolved;

/* A string field of the daemon's JSON, or "?" when it is missing. */
static const char *jstr(json_t *o, const char *key)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v != NULL ? v : "?";
}

static int resolved_from_json(json_t *v, resolved *out)
{
    const char *path = json_string_value(json_object_get(v, "Path"));
    const char *ver = json_string_value(json_object_get(v, "Version"));
    if (path == NULL || strlen(path) >= sizeof out->path) {
        return cli_failf("the daemon's answer has no usable Path");
    }
    snprintf(out->path, sizeof out->path, "%s", path);
    out->sequence = (uint64_t)json_integer_value(json_object_get(v, "Sequence"));
    out->has_version = ver != NULL && fog_cid_parse(&out->head, ver) == 0;
    return CLI_OK;
}

/* The local record of id, valid now (its TTL is not checked: offline, it is the best known). */
static int resolve_local(const char *repo, const uint8_t *id, size_t id_len, const char *name,
                         resolved *out)
{
    fog_store *s = NULL;
    int rc = cli_open(repo, FOG_STORE_READ, &s);
    if (rc != CLI_OK) {
        return rc;
    }
    uint8_t key[FOG_NAME_KEY_MAX];
    size_t klen = fog_name_key(id, id_len, key);
    fog_buf b;
    fog_buf_init(&b);
    uint64_t received = 0;
    fog_ipns_record rec;
    int64_t now = fog_wall_ns();
    int frc = fog_store_record_get(s, fog_slice_make(key, klen), &received, &b);
    if (frc == 0 && (frc = fog_ipns_parse(&rec, b.p, b.len)) == 0) {
        frc = fog_ipns_validate(&rec, id, id_len, fog_ipns_time_from_ns(now));
    }
    if (frc == 0 && rec.value.len >= sizeof out->path) {
        frc = fog_errf(FOG_ERR_LIMIT, "the record's value is too long");
    }
    if (frc == 0) {
        memcpy(out->path, rec.value.p, rec.value.len);
        out->path[rec.value.len] = '\0';
        out->has_version = rec.has_version;
        out->head = rec.version;
        out->sequence = rec.sequence;
    }
    fog_buf_clear(&b);
    fog_store_close(s);
    if (frc == FOG_ERR_NOT_FOUND) {
        fprintf(stderr, "error: could not resolve %s: no record in the local repository\n"
                        "hint: start the daemon ('fog daemon') to look it up in the DHT\n", name);
        return CLI_FAIL;
    }
    return frc < 0 ? cli_fail(frc) : CLI_OK;
}

/* Resolves NAME through the daemon (cache, then DHT), else from the local repository. */
static int name_resolve(const char *repo, const char *name, bool nocache, resolved *out)
{
    uint8_t id[FOG_PEER_ID_MAX];
    size_t id_len = 0;
    int rc = name_id(repo, name, id, &id_len);
    if (rc != CLI_OK) {
        return rc;
    }
    char text[FOG_CID_STR_MAX];
    if (fog_peer_id_format_cid(id, id_len, 0, text, sizeof text) < 0) {
        return cli_failf("\"%s\" is not a valid IPNS name", name);
    }
    const char *args[1] = {text};
    json_t *v = NULL;
    rc = cli_api_call(repo, "name/resolve", args, 1, nocache ? "nocache=true" : NULL, NULL, NULL,
                      &v);
    if (rc == CLI_API_NO_DAEMON) {
        return resolve_local(repo, id, id_len, name, out);
    }
    if (rc == CLI_OK) {
        rc = resolved_from_json(v, out);
    }
    json_decref(v);
    return rc;
}

/* Runs fn over the local repository's blocks (no daemon): the API's JSON into *out. */
typedef int (*local_fn)(const fog_blocksource *src, const void *arg, json_t **out);
static int run_local(const char *repo, local_fn fn, const void *arg, json_t **out)
{
    fog_store *s = NULL;
    fog_store_view *view = NULL;
    int rc = cli_open(repo, FOG_STORE_READ, &s);
    if (rc != CLI_OK) {
        return rc;
    }
    int frc = fog_store_view_begin(s, &view);
    if (frc == 0) {
        fog_blocksource src;
        fog_blocksource_from_view(&src, view);
        frc = fn(&src, arg, out);
    }
    fog_store_view_end(view);
    fog_store_close(s);
    return frc < 0 ? cli_fail(frc) : CLI_OK;
}

typedef struct {
    const fog_cid *head;
    uint64_t n;
} log_arg;

static int log_local(const fog_blocksource *src, const void *arg, json_t **out)
{
    const log_arg *l = arg;
    return fog_api_log_json(src, l->head, l->n, out);
}

/* The versions from head (n 0: all; else version n) as the API's JSON, from the daemon or,
 * without one, from the local repository. */
static int versions_json(const char *repo, const fog_cid *head, uint64_t n, json_t **out)
{
    char q[48];
    snprintf(q, sizeof q, "version=%" PRIu64, n);
    const char *args[1] = {fog_cid_str(head)};
    int rc = cli_api_call(repo, "name/log", args, 1, n > 0 ? q : NULL, NULL, NULL, out);
    if (rc != CLI_API_NO_DAEMON) {
        return rc;
    }
    log_arg l = {head, n};
    return run_local(repo, log_local, &l, out);
}

int cli_name_path(const char *repo, const char *arg, char *out, size_t cap)
{
    fog_name_path np;
    int rc = fog_name_path_parse(arg, &np);
    if (rc < 0) {
        return cli_fail(rc);
    }
    resolved r;
    if ((rc = name_resolve(repo, np.name, false, &r)) != CLI_OK) {
        return rc;
    }
    const char *base = r.path;
    char root[6 + FOG_CID_STR_MAX];
    if (np.has_version) {
        if (!r.has_version) {
            return cli_failf("%s has no fog version history (published by another tool?)",
                             np.name);
        }
        json_t *v = NULL;
        if ((rc = versions_json(repo, &r.head, np.version, &v)) != CLI_OK) {
            return rc;
        }
        const char *cid = json_string_value(
            json_object_get(json_array_get(json_object_get(v, "Versions"), 0), "Root"));
        snprintf(root, sizeof root, "/ipfs/%s", cid != NULL ? cid : "");
        json_decref(v);
        if (cid == NULL) {
            return cli_failf("the daemon's answer has no version root");
        }
        base = root;
    }
    if ((size_t)snprintf(out, cap, "%s%s", base, np.rest) >= cap) {
        return cli_failf("the resolved path is too long");
    }
    return CLI_OK;
}

/* A path argument of log/diff/cat...: a name path resolved to /ipfs/..., else as given. */
static int any_path(const char *repo, const char *arg, char *out, size_t cap)
{
    if (fog_name_path_is(arg)) {
        return cli_name_path(repo, arg, out, cap);
    }
    snprintf(out, cap, "%s", arg);
    return CLI_OK;
}

/* --- name publish -------------------------------------------------------------------------- */

typedef struct {
    const char *key, *msg;
    int64_t lifetime_ns;
    int64_t ttl_ns;
} pub_opts;

static void published(const char *name, const char *value)
{
    printf("Published to %s: %s\n", name, value);
}

/* "&name=value" (value escaped) into q, when value is set. */
static int query_opt(fog_buf *q, const char *name, const char *value)
{
    if (value == NULL) {
        return 0;
    }
    int rc = fog_buf_append(q, q->len > 0 ? "&" : "", q->len > 0 ? 1 : 0);
    rc = rc < 0 ? rc : fog_buf_append(q, name, strlen(name));
    rc = rc < 0 ? rc : fog_buf_append(q, "=", 1);
    return rc < 0 ? rc : cli_api_escape(q, value);
}

static int publish_remote(const char *repo, const char *path, const pub_opts *o, cli_args *a)
{
    fog_buf q;
    fog_buf_init(&q);
    int qrc = query_opt(&q, "key", o->key);
    qrc = qrc < 0 ? qrc : query_opt(&q, "lifetime", cli_value(a, "lifetime"));
    qrc = qrc < 0 ? qrc : query_opt(&q, "ttl", cli_value(a, "ttl"));
    qrc = qrc < 0 ? qrc : query_opt(&q, "message", o->msg);
    qrc = qrc < 0 ? qrc : fog_buf_append(&q, "", 1);
    if (qrc < 0) {
        fog_buf_clear(&q);
        return cli_fail(qrc);
    }
    const char *args[1] = {path};
    json_t *v = NULL;
    int rc = cli_api_call(repo, "name/publish", args, 1, (const char *)q.p, NULL, NULL, &v);
    fog_buf_clear(&q);
    if (rc != CLI_OK) {
        return rc;
    }
    published(jstr(v, "Name"), jstr(v, "Value"));
    fprintf(stderr, "version %" PRId64 " (%s)\n",
            (int64_t)json_integer_value(json_object_get(v, "Version")), jstr(v, "VersionCid"));
    json_int_t peers = json_integer_value(json_object_get(v, "Peers"));
    if (peers == 0) {
        fprintf(stderr, "warning: no peer took the record yet; the daemon keeps it and "
                        "republishes it\n");
    } else {
        fprintf(stderr, "record stored on %" PRId64 " peers\n", (int64_t)peers);
    }
    json_decref(v);
    return CLI_OK;
}

/* The publication's inputs read from the local repository through view (ver gets a copy of the
 * current version node). */
static int local_inputs(fog_store *s, fog_store_view *view, const char *path, fog_slice rkey,
                        fog_name_publish_in *in, fog_buf *rec, fog_buf *ver)
{
    fog_blocksource src;
    fog_blocksource_from_view(&src, view);
    int rc = fog_unixfs_resolve(&src, path, &in->target);
    rc = rc < 0 ? rc : fog_version_dag_size(&src, &in->target, &in->size);
    uint64_t received = 0;
    fog_ipns_record cur;
    if (rc == 0 && fog_store_record_get(s, rkey, &received, rec) == 0 &&
        fog_ipns_parse(&cur, rec->p, rec->len) == 0 && cur.has_version) {
        fog_slice blk;
        if (src.get(src.ctx, &cur.version, &blk) == 0) {
            rc = fog_buf_append(ver, blk.p, blk.len);
        }
    }
    in->cur_record = fog_slice_make(rec->p, rec->len);
    in->cur_version = fog_slice_make(ver->p, ver->len);
    return rc;
}

static int publish_local(const char *repo, const char *path, const pub_opts *o)
{
    fog_key k;
    int rc = fog_key_get(repo, o->key, &k);
    if (rc < 0) {
        return cli_fail(rc);
    }
    fog_store *s = NULL;
    if (cli_open(repo, FOG_STORE_WRITE, &s) != CLI_OK) {
        fog_memzero(&k, sizeof k);
        return CLI_FAIL;
    }
    uint8_t rkey[FOG_NAME_KEY_MAX];
    fog_slice key = fog_slice_make(rkey, fog_name_key(k.id, sizeof k.id, rkey));
    fog_name_publish_in in = {.secret = k.secret, .msg = o->msg, .now_ns = fog_wall_ns(),
                              .lifetime_ns = o->lifetime_ns, .ttl_ns = (uint64_t)o->ttl_ns};
    fog_buf rec, ver;
    fog_buf_init(&rec);
    fog_buf_init(&ver);
    fog_name_publication pub;
    memset(&pub, 0, sizeof pub);
    fog_store_view *view = NULL;
    fog_store_batch *b = NULL;
    rc = fog_store_view_begin(s, &view);
    rc = rc < 0 ? rc : local_inputs(s, view, path, key, &in, &rec, &ver);
    rc = rc < 0 ? rc : fog_name_publication_make(&pub, &in);
    fog_store_view_end(view);
    rc = rc < 0 ? rc : fog_store_batch_begin(s, &b);
    if (rc == 0 && (rc = fog_name_publication_stage(b, &pub, key, true,
                                                    (uint64_t)(in.now_ns / 1000000))) < 0) {
        fog_store_batch_abort(b);
    } else if (rc == 0) {
        rc = fog_store_batch_commit(b);
    }
    char name[FOG_CID_STR_MAX];
    fog_peer_id_format_cid(k.id, sizeof k.id, 0, name, sizeof name);
    fog_memzero(&k, sizeof k);
    if (rc == 0) {
        published(name, pub.value);
        fprintf(stderr, "version %" PRIu64 " (%s); offline: stored in the repository, the "
                        "daemon puts it into the DHT when it runs\n",
                pub.n, fog_cid_str(&pub.head));
    }
    fog_name_publication_clear(&pub);
    fog_buf_clear(&rec);
    fog_buf_clear(&ver);
    fog_store_close(s);
    if (rc == FOG_ERR_NOT_FOUND) {
        cli_fail(rc);
        fprintf(stderr, "hint: start the daemon ('fog daemon') to fetch content that is not "
                        "local\n");
        return CLI_FAIL;
    }
    return rc < 0 ? cli_fail(rc) : CLI_OK;
}

static int duration_opt(cli_args *a, const char *name, int64_t def, int64_t *out)
{
    const char *v = cli_value(a, name);
    *out = def;
    if (v != NULL && fog_duration_parse(v, out) < 0) {
        fprintf(stderr, "error: --%s: %s\n", name, fog_err_detail(FOG_ERR_INVALID));
        return CLI_USAGE;
    }
    return 0;
}

static int run_publish(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_name_publish, a, 1, 1);
    pub_opts o = {.key = cli_value(a, "key"), .msg = cli_value(a, "message")};
    if (rc != 0 || (rc = duration_opt(a, "lifetime", FOG_IPNS_LIFETIME_NS, &o.lifetime_ns)) != 0 ||
        (rc = duration_opt(a, "ttl", (int64_t)FOG_IPNS_TTL_NS, &o.ttl_ns)) != 0) {
        return rc;
    }
    if (o.lifetime_ns <= 0) {
        fprintf(stderr, "error: --lifetime must be more than 0\n");
        return CLI_USAGE;
    }
    if (o.msg != NULL && strlen(o.msg) > FOG_VERSION_MSG_MAX) {
        return cli_failf("the message is longer than %d bytes", FOG_VERSION_MSG_MAX);
    }
    o.key = o.key != NULL ? o.key : "self";
    char path[PATH_MAX_TEXT];
    if ((rc = any_path(repo, a->pos[0], path, sizeof path)) != CLI_OK) {
        return rc;
    }
    rc = publish_remote(repo, path, &o, a);
    return rc == CLI_API_NO_DAEMON ? publish_local(repo, path, &o) : rc;
}

/* --- name resolve -------------------------------------------------------------------------- */

static int run_resolve(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_name_resolve, a, 1, 1);
    if (rc != 0) {
        return rc;
    }
    char path[PATH_MAX_TEXT];
    const char *arg = a->pos[0];
    fog_name_path np;
    if (fog_name_path_parse(arg, &np) == 0 && (np.has_version || np.rest[0] != '\0')) {
        rc = cli_name_path(repo, arg, path, sizeof path);
    } else {
        resolved r;
        rc = name_resolve(repo, arg, cli_has(a, "nocache"), &r);
        snprintf(path, sizeof path, "%s", rc == CLI_OK ? r.path : "");
    }
    if (rc == CLI_OK) {
        printf("%s\n", path);
    }
    return rc;
}

/* --- log ----------------------------------------------------------------------------------- */

static void log_print(json_t *ver)
{
    char when[FOG_IPNS_TIME_STR_MAX], size[32];
    json_int_t t = json_integer_value(json_object_get(ver, "Time"));
    if (fog_ipns_time_format((fog_ipns_time){(int64_t)t, 0}, when) < 0) {
        snprintf(when, sizeof when, "?");
    }
    const char *msg = json_string_value(json_object_get(ver, "Message"));
    printf("%" PRId64 "  %s  %s  /ipfs/%s  %s%s%s\n",
           (int64_t)json_integer_value(json_object_get(ver, "Version")), jstr(ver, "Cid"), when,
           jstr(ver, "Root"),
           cli_human_bytes((uint64_t)json_integer_value(json_object_get(ver, "Size")), size,
                           sizeof size),
           msg != NULL && msg[0] != '\0' ? "  " : "", msg != NULL ? msg : "");
}

static int run_log(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_log, a, 1, 1);
    if (rc != 0) {
        return rc;
    }
    resolved r;
    if ((rc = name_resolve(repo, a->pos[0], cli_has(a, "nocache"), &r)) != CLI_OK) {
        return rc;
    }
    if (!r.has_version) {
        return cli_failf("%s points to %s but has no fog version history (published by "
                         "another tool?)", a->pos[0], r.path);
    }
    json_t *v = NULL;
    if ((rc = versions_json(repo, &r.head, 0, &v)) != CLI_OK) {
        return rc;
    }
    json_t *arr = json_object_get(v, "Versions");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        log_print(json_array_get(arr, i));
    }
    json_decref(v);
    return CLI_OK;
}

/* --- diff ---------------------------------------------------------------------------------- */

static int diff_local(const fog_blocksource *src, const void *arg, json_t **out)
{
    const char *const *ab = arg;
    return fog_api_diff_json(src, ab[0], ab[1], out);
}

static int diff_json(const char *repo, const char *a, const char *b, json_t **out)
{
    const char *args[2] = {a, b};
    int rc = cli_api_call(repo, "diff", args, 2, NULL, NULL, NULL, out);
    if (rc != CLI_API_NO_DAEMON) {
        return rc;
    }
    return run_local(repo, diff_local, args, out);
}

static int run_diff(const char *repo, cli_args *a)
{
    int rc = cli_need_pos(&cli_cmd_diff, a, 2, 2);
    char pa[PATH_MAX_TEXT], pb[PATH_MAX_TEXT];
    if (rc != 0 || (rc = any_path(repo, a->pos[0], pa, sizeof pa)) != CLI_OK ||
        (rc = any_path(repo, a->pos[1], pb, sizeof pb)) != CLI_OK) {
        return rc;
    }
    json_t *v = NULL;
    if ((rc = diff_json(repo, pa, pb, &v)) != CLI_OK) {
        return rc;
    }
    json_t *arr = json_object_get(v, "Changes");
    for (size_t i = 0; i < json_array_size(arr); i++) {
        json_t *c = json_array_get(arr, i);
        const char *path = json_string_value(json_object_get(c, "Path"));
        printf("%-8s %s%s\n", jstr(c, "Kind"),
               path != NULL && path[0] != '\0' ? path : ".",
               json_is_true(json_object_get(c, "Dir")) ? "/" : "");
    }
    if (cli_has(a, "stats")) {
        fprintf(stderr, "%zu changes, %" PRId64 " blocks read\n", json_array_size(arr),
                (int64_t)json_integer_value(json_object_get(v, "BlocksRead")));
    }
    json_decref(v);
    return CLI_OK;
}

/* --- Tables -------------------------------------------------------------------------------- */

static const cli_opt publish_opts[] = {
    {"key", 'k', OPT_VALUE, "NAME", "the key to publish with (default self: the node's name)"},
    {"lifetime", 0, OPT_VALUE, "DURATION", "how long the record stays valid (default 48h)"},
    {"ttl", 0, OPT_VALUE, "DURATION", "how long resolvers may cache it (default 5m)"},
    {"message", 'm', OPT_VALUE, "TEXT", "a message for this version (fog log shows it)"},
};
static const cli_opt resolve_opts[] = {
    {"nocache", 0, OPT_FLAG, NULL, "ask the DHT even when a fresh record is cached"},
};
static const cli_opt log_opts[] = {
    {"nocache", 0, OPT_FLAG, NULL, "resolve the name in the DHT even when cached"},
};
static const cli_opt diff_opts[] = {
    {"stats", 0, OPT_FLAG, NULL, "print how many blocks the comparison read, on stderr"},
};

const cli_cmd cli_cmd_name_publish = {
    "name publish", "[options] PATH", "point an IPNS name at content, as a new version",
    "PATH is CID[/path], /ipfs/CID[/path] or a name path (NAME@N to publish an old version\n"
    "again). Prints \"Published to NAME: /ipfs/CID\". Each publish also records a version node\n"
    "(content root, previous version, time, size, message) linked from the record, so that\n"
    "'fog log' lists the history and NAME@N reads any version; IPFS clients that do not know\n"
    "fog resolve the name to the latest content as usual. With a daemon the record goes into\n"
    "the DHT and is republished every 4h; without one it is stored in the repository.",
    publish_opts, sizeof publish_opts / sizeof publish_opts[0], run_publish};
const cli_cmd cli_cmd_name_resolve = {
    "name resolve", "[options] NAME", "print the path an IPNS name points to",
    "NAME: an IPNS name (k51..., 12D3Koo..., /ipns/...) or a local key's name; NAME@N or\n"
    "NAME/path resolve to that version or path. A daemon answers from its cache while the\n"
    "record's TTL lasts, then from the DHT; without a daemon the repository's record answers.",
    resolve_opts, sizeof resolve_opts / sizeof resolve_opts[0], run_resolve};
const cli_cmd cli_cmd_log = {
    "log", "[options] NAME", "list the versions of a name, newest first",
    "One line per version: its number, version node CID, time (UTC), content root, size and\n"
    "message. 'fog cat NAME@N/path' and 'fog get NAME@N' read version N.",
    log_opts, sizeof log_opts / sizeof log_opts[0], run_log};
const cli_cmd cli_cmd_diff = {
    "diff", "[options] A B", "list the paths that differ between two versions or folders",
    "A and B: NAME@N, /ipns/NAME, CID[/path] or /ipfs/CID[/path]. Prints one line per change,\n"
    "\"added\", \"removed\" or \"changed\" and the path (folders end in '/': an added or removed\n"
    "folder is listed once). Only sub-folders whose CIDs differ are read.",
    diff_opts, sizeof diff_opts / sizeof diff_opts[0], run_diff};
