/* log.c: the one place where a core's log line is formatted and handed to its sink
 * (STYLE.md section 13): cores never print, and a sink that wants less detail costs one compare.
 */
#include "fog/util.h"

#include <stdarg.h>
#include <stdio.h>

void fog_logf(const fog_log_sink *sink, int level, const char *module, const char *fmt, ...)
{
    if (sink == NULL || sink->fn == NULL || level > sink->level) {
        return;
    }
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    sink->fn(sink->ctx, level, module, line);
}
