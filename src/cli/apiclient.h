/* apiclient.h: the CLI's side of the daemon's HTTP API (include/fog/api.h): find the daemon
 * through $REPO/api, POST /api/v0/<endpoint>?arg=... with libh2o's HTTP/1.1 client, hand back the
 * JSON answer or each line of a streamed one. Internal to src/cli.
 */
#ifndef FOG_CLI_APICLIENT_H
#define FOG_CLI_APICLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "fog/util.h"

/* cli_api_call's answer when no daemon answers: no $REPO/api file, or nothing listens there.
 * Nothing is printed then; cli_api_no_daemon prints the one error line. */
enum { CLI_API_NO_DAEMON = 3 };

/* Called for each line of a streamed answer as it arrives (NUL-terminated, without the newline;
 * its JSON parsed, or NULL when it is not JSON). Returns false to stop reading. */
typedef bool (*cli_api_line_fn)(void *ud, json_t *v);

/* POSTs /api/v0/<endpoint> with one arg= per args[i] (percent-encoded) and the extra query
 * (already encoded, "count=3", or NULL). With line_fn, a 200 answer is streamed line by line to
 * it and *json_out stays NULL; without, *json_out gets the parsed answer (the caller decrefs).
 * Returns CLI_OK, CLI_API_NO_DAEMON (nothing printed), or CLI_FAIL after printing
 * "error: <the API's Message>" or the transport error. */
int cli_api_call(const char *repo, const char *endpoint, const char *const *args, size_t n_args,
                 const char *extra_query, cli_api_line_fn line_fn, void *ud, json_t **json_out);
/* cli_api_call without line_fn, sending file[0..file_len) as the request's body: one
 * multipart/form-data part named "file" (kubo's file arguments: `routing put`). file is
 * borrowed for the call. */
int cli_api_call_file(const char *repo, const char *endpoint, const char *const *args,
                      size_t n_args, const uint8_t *file, size_t file_len, json_t **json_out);
/* Like cli_api_call, but a 200 answer's body bytes go to bytes_fn as they arrive (raw, not
 * JSON: /api/v0/cat). bytes_fn returns 0, or a negative fog_err to stop reading (the call then
 * returns CLI_OK when it was FOG_ERR_CANCELLED, a closed pipe, else CLI_FAIL after printing the
 * error). A body that breaks off before its end is CLI_FAIL with the transport error. */
typedef int (*cli_api_bytes_fn)(void *ud, const uint8_t *p, size_t len);
int cli_api_stream(const char *repo, const char *endpoint, const char *const *args,
                   size_t n_args, const char *extra_query, cli_api_bytes_fn bytes_fn, void *ud);

/* While buf is set (cap > 0; cap 0 ends it), the error lines cli_api_call and cli_api_stream
 * would print go to buf instead, without "error: " (fog add turns its provide failure into a
 * warning). Not thread-safe: the CLI makes one call at a time. */
void cli_api_capture_errors(char *buf, size_t cap);

/* Appends s percent-encoded (all but A-Z a-z 0-9 - . _ ~) to u, for extra_query values. */
int cli_api_escape(fog_buf *u, const char *s);

/* Prints "error: no daemon is running (start one with 'fog daemon')" and returns CLI_FAIL. */
int cli_api_no_daemon(void);

#endif
