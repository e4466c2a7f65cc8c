/* err.c: error names, messages and the thread-local detail line.
 * Both lookups are built from FOG_ERR_MAP in util.h, so a new code cannot lack a name or a
 * message. The detail line lets a deep failure (a CAR block that does not match its CID) reach
 * the user as one precise sentence without every layer formatting strings.
 */
#include "fog/util.h"

#include <stdarg.h>
#include <stdio.h>

static _Thread_local char detail[512];
static _Thread_local int detail_code;

const char *fog_strerror(int code)
{
    switch (code) {
#define FOG_ERR_MSG(name, c, msg)                                                                  \
    case c:                                                                                        \
        return msg;
        FOG_ERR_MAP(FOG_ERR_MSG)
#undef FOG_ERR_MSG
    default:
        return "unknown error";
    }
}

const char *fog_err_name(int code)
{
    switch (code) {
#define FOG_ERR_NAME(name, c, msg)                                                                 \
    case c:                                                                                        \
        return "FOG_ERR_" #name;
        FOG_ERR_MAP(FOG_ERR_NAME)
#undef FOG_ERR_NAME
    default:
        return "FOG_ERR_UNKNOWN";
    }
}

int fog_errf(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    detail_code = code;
    return code;
}

const char *fog_err_detail(int code)
{
    if (detail_code != 0 && detail_code == code && detail[0] != '\0') {
        return detail;
    }
    return fog_strerror(code);
}

void fog_err_clear(void)
{
    detail[0] = '\0';
    detail_code = 0;
}
