/* duration.c: the duration texts fog's options take, in Go's time.ParseDuration spelling but
 * with a single unit ("48h", "5m", "30s", "1500ms"; no unit means seconds), which is all kubo's
 * commands are given in practice.
 */
#include "fog/util.h"

#include <stdlib.h>
#include <string.h>

int fog_duration_parse(const char *s, int64_t *ns_out)
{
    char *end = NULL;
    if (s == NULL || s[0] < '0' || s[0] > '9') {
        return fog_errf(FOG_ERR_INVALID, "\"%s\" is not a duration such as 30s or 48h",
                        s != NULL ? s : "");
    }
    double v = strtod(s, &end);
    double mul = strcmp(end, "ms") == 0 ? 1e6
               : strcmp(end, "s") == 0 || *end == '\0' ? 1e9
               : strcmp(end, "m") == 0 ? 60e9
               : strcmp(end, "h") == 0 ? 3600e9 : -1;
    if (mul < 0 || !(v * mul <= 9e18)) {
        return fog_errf(FOG_ERR_INVALID, "\"%s\" is not a duration such as 30s or 48h", s);
    }
    *ns_out = (int64_t)(v * mul);
    return 0;
}
