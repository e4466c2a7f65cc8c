/* apiclient.h: the CLI's side of the daemon's HTTP API (include/fog/api.h): find the daemon
 * through $REPO/api, POST /api/v0/<endpoint>?arg=... with libh2o's HTTP/1.1 client, hand back the
 * JSON answer or each line of a streamed one. Internal to src/cli.
 */
#ifndef FOG_CLI_APICLIENT_H
#define FOG_CLI_APICLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

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
/* Prints "error: no daemon is running (start one with 'fog daemon')" and returns CLI_FAIL. */
int cli_api_no_daemon(void);

#endif
