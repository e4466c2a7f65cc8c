/* publish.c: the next record and version node of a name (fog/names.h), and name paths.
 * The record links the newest version node through fog's extensible-data key; the version node
 * links the content root and its predecessor (fog/version.h). Everything here is pure: the
 * caller brings the name's current record and version node and stages the result in a batch.
 */
#include "fog/names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fog/version.h"

#define NS_PER_S 1000000000LL

void fog_name_publication_clear(fog_name_publication *p)
{
    fog_buf_clear(&p->record);
    fog_buf_clear(&p->version_block);
}

/* What the current record says: its sequence, value and head (a zeroed cur when none). */
typedef struct {
    bool present;
    uint64_t sequence;
    fog_slice value;
    bool has_head;
    fog_cid head;
    uint64_t n;
} current;

static int current_read(const fog_name_publish_in *in, current *cur)
{
    memset(cur, 0, sizeof *cur);
    fog_ipns_record rec;
    if (in->cur_record.len == 0 || fog_ipns_parse(&rec, in->cur_record.p, in->cur_record.len) < 0) {
        return 0; /* none, or unreadable: start over (the sequence restarts too) */
    }
    cur->present = true;
    cur->sequence = rec.sequence;
    cur->value = rec.value;
    if (!rec.has_version) {
        return 0;
    }
    cur->has_head = true;
    cur->head = rec.version;
    if (in->cur_version.len == 0) {
        return fog_errf(FOG_ERR_NOT_FOUND, "the name's version node %s is not in the repository",
                        fog_cid_str(&rec.version));
    }
    fog_version v;
    if (fog_cid_verify(&rec.version, in->cur_version.p, in->cur_version.len) < 0 ||
        fog_version_decode(&v, in->cur_version.p, in->cur_version.len) < 0) {
        return fog_errf(FOG_ERR_PROTO, "the name's version node %s is damaged",
                        fog_cid_str(&rec.version));
    }
    cur->n = v.n;
    return 0;
}

/* The new version node into p (or the current head kept). */
static int version_make(fog_name_publication *p, const fog_name_publish_in *in,
                        const current *cur)
{
    bool same = cur->has_head && fog_slice_eq(cur->value, fog_slice_make(p->value,
                                                                         strlen(p->value)));
    if (same && (in->msg == NULL || in->msg[0] == '\0')) {
        p->head = cur->head;
        p->n = cur->n;
        return 0;
    }
    fog_version v = {
        .n = cur->has_head ? cur->n + 1 : 1,
        .root = in->target,
        .has_prev = cur->has_head,
        .time = in->now_ns > 0 ? (uint64_t)(in->now_ns / NS_PER_S) : 0,
        .size = in->size,
        .msg = in->msg != NULL ? fog_slice_make(in->msg, strlen(in->msg)) : fog_slice_make("", 0),
    };
    if (cur->has_head) {
        v.prev = cur->head;
    }
    int rc = fog_version_encode(&v, &p->version_block);
    if (rc == 0) {
        rc = fog_version_cid(p->version_block.p, p->version_block.len, &p->head);
    }
    p->n = v.n;
    if (cur->has_head) {
        p->has_old_head = true;
        p->old_head = cur->head;
    }
    return rc;
}

int fog_name_publication_make(fog_name_publication *out, const fog_name_publish_in *in)
{
    memset(out, 0, sizeof *out);
    fog_buf_init(&out->record);
    fog_buf_init(&out->version_block);
    snprintf(out->value, sizeof out->value, "/ipfs/%s", fog_cid_str(&in->target));
    current cur;
    int rc = current_read(in, &cur);
    if (rc == 0) {
        rc = version_make(out, in, &cur);
    }
    if (rc < 0) {
        return rc;
    }
    out->sequence = cur.present ? cur.sequence + 1 : 0;
    return fog_ipns_create_ext(&out->record, in->secret, (const uint8_t *)out->value,
                               strlen(out->value), out->sequence, in->now_ns + in->lifetime_ns,
                               in->ttl_ns, &out->head);
}

int fog_name_publication_stage(fog_store_batch *b, const fog_name_publication *p, fog_slice key,
                               bool with_record, uint64_t now_ms)
{
    int rc = 0;
    if (p->version_block.len > 0) {
        rc = fog_store_batch_put(b, &p->head, p->version_block.p, p->version_block.len);
    }
    if (rc == 0 && p->has_old_head && !fog_cid_eq(&p->old_head, &p->head)) {
        rc = fog_store_batch_unpin(b, &p->old_head);
    }
    if (rc == 0) {
        rc = fog_store_batch_pin(b, &p->head, FOG_PIN_RECURSIVE);
    }
    if (rc == 0 && with_record) {
        rc = fog_store_batch_record_put(b, key, now_ms,
                                        fog_slice_make(p->record.p, p->record.len));
    }
    return rc;
}

size_t fog_name_key(const uint8_t *id, size_t id_len, uint8_t *out)
{
    size_t n = sizeof FOG_IPNS_KEY_PREFIX - 1;
    memcpy(out, FOG_IPNS_KEY_PREFIX, n);
    memcpy(out + n, id, id_len);
    return n + id_len;
}

/* --- Name paths ---------------------------------------------------------------------------- */

bool fog_name_path_is(const char *text)
{
    if (strncmp(text, "/ipns/", 6) == 0) {
        return true;
    }
    const char *slash = strchr(text, '/');
    const char *at = strchr(text, '@');
    return at != NULL && (slash == NULL || at < slash);
}

static int version_number(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10) {
            return -1;
        }
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return len == 0 || v == 0 ? -1 : 0;
}

int fog_name_path_parse(const char *text, fog_name_path *out)
{
    memset(out, 0, sizeof *out);
    const char *s = strncmp(text, "/ipns/", 6) == 0 ? text + 6 : text;
    const char *end = strchr(s, '/');
    out->rest = end != NULL ? end : s + strlen(s);
    const char *at = memchr(s, '@', (size_t)(out->rest - s));
    const char *name_end = at != NULL ? at : out->rest;
    size_t len = (size_t)(name_end - s);
    if (len == 0 || len > FOG_PEER_ID_TEXT_MAX) {
        return fog_errf(FOG_ERR_INVALID, "\"%s\": %s", text,
                        len == 0 ? "no name before the path" : "the name is too long");
    }
    memcpy(out->name, s, len);
    out->name[len] = '\0';
    if (at != NULL) {
        out->has_version = true;
        if (version_number(at + 1, (size_t)(out->rest - at - 1), &out->version) < 0) {
            return fog_errf(FOG_ERR_INVALID, "\"%s\": the version after '@' must be a number "
                                             "from 1", text);
        }
    }
    return 0;
}
