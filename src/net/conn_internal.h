/* conn_internal.h: the state shared by conn.c (the upgrade, output, timers, events) and
 * conn_stream.c (streams over yamux and their multistream-select). Not a public header.
 */
#ifndef FOG_CONN_INTERNAL_H
#define FOG_CONN_INTERNAL_H

#include "fog/conn.h"
#include "fog/mss.h"
#include "fog/noise.h"
#include "fog/yamux.h"

/* Where the connection is in its upgrade; one function per stage in conn.c. */
typedef enum {
    CS_MSS_SEC = 1, /* multistream-select "/noise" over plain TCP */
    CS_NOISE,       /* Noise handshake */
    CS_MSS_MUX,     /* multistream-select "/yamux/1.0.0" over Noise */
    CS_MUXED,       /* yamux session up */
    CS_DEAD         /* fatal error: err holds it */
} conn_stage;

typedef enum { SS_NEGOTIATING = 1, SS_OPEN } stream_state;

typedef struct {
    uint32_t id;
    bool inbound;
    bool lazy;     /* ours with one proposal: writes may follow it before the echo */
    stream_state state;
    fog_mss *mss;  /* while negotiating */
    size_t fed;    /* bytes fed to mss (to be consumed from yamux once negotiated) */
    fog_buf pend;  /* negotiation output yamux refused for now (its queue was full) */
} cstream;

typedef struct {
    fog_conn_ev_kind kind;
    uint32_t stream_id;
    bool inbound;
    int error;
    fog_buf data; /* STREAM_DATA bytes; OPENED protocol / CLOSED detail, NUL-terminated */
} cevent;

struct fog_conn {
    fog_conn_config cfg;        /* pointer fields below replace the borrowed ones */
    uint8_t secret[64];
    uint8_t expected[64];
    char **protocols;           /* copies of cfg.protocols */
    conn_stage stage;
    int err;
    bool flush_ok;              /* dead, but noise can still carry yamux's GoAway */
    bool clock_started;
    fog_ms hs_deadline;
    fog_mss *mss_sec;
    fog_noise *noise;
    fog_mss *mss_mux;
    fog_yamux *yamux;
    uint8_t peer_id[FOG_NOISE_PEER_ID_MAX];
    size_t peer_id_len;
    cstream **streams;
    size_t n_streams, cap_streams;
    bool any_pend;              /* some stream has pend bytes */
    cevent *evq;
    size_t ev_head, ev_len, ev_cap;
    fog_buf lent;               /* the data of the last event handed out */
    uint8_t *tmp;               /* FOG_NOISE_PLAINTEXT_MAX bytes: yamux -> noise */
};

/* conn.c */
int conn_fail(fog_conn *c, int rc);
int conn_push(fog_conn *c, fog_conn_ev_kind kind, uint32_t id, int error, const void *data,
              size_t len);

/* conn_stream.c */
int conn_drain_yamux(fog_conn *c);
int conn_flush_pending(fog_conn *c);
void conn_streams_free(fog_conn *c);

#endif
