/* ipnsrec.h: what `fog name inspect` (cmd_name_inspect.c, which implements these) and `fog dht
 * get|put` (cmd_dht.c) share: reading one serialized IPNS record from a file or stdin with the
 * spec's size limit, and IPNS names and DHT keys as users write them. Internal to src/cli.
 */
#ifndef FOG_CLI_IPNSREC_H
#define FOG_CLI_IPNSREC_H

#include <stddef.h>
#include <stdint.h>

#include "fog/ipns.h"
#include "fog/mf.h"

/* "/ipns/" + the longest peer ID: a binary DHT key of an IPNS name. */
#define CLI_IPNS_KEY_MAX (sizeof FOG_IPNS_KEY_PREFIX - 1 + FOG_PEER_ID_MAX)

/* Reads a whole record from path ("-" or NULL: stdin) into buf, which holds
 * FOG_IPNS_RECORD_MAX + 1 bytes: reading stops there, so more than FOG_IPNS_RECORD_MAX bytes is
 * refused whatever the input's size ("too large"). *len_out gets the length. CLI_OK, or CLI_FAIL
 * after printing the error (the file cannot be read, it is empty or too large). */
int cli_ipns_read(const char *path, uint8_t buf[FOG_IPNS_RECORD_MAX + 1], size_t *len_out);

/* An IPNS name as users write it: "k51..." (CIDv1 libp2p-key in any multibase), "12D3KooW..." or
 * "Qm..." (base58btc peer ID), each optionally after "/ipns/". Writes the binary peer ID to id
 * and returns its length, or 0 after printing "error: invalid peer ID ...". */
size_t cli_ipns_name(const char *text, uint8_t id[FOG_PEER_ID_MAX]);

/* A DHT key of an IPNS name as kubo's `routing get|put` takes it: "/ipns/NAME" (NAME as above)
 * into the binary key "/ipns/" + peer ID; returns its length, or 0 after printing the error. */
size_t cli_ipns_key(const char *text, uint8_t key[CLI_IPNS_KEY_MAX]);

#endif
