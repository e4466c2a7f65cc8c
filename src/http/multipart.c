/* multipart.c: the first part of a multipart/form-data request body (RFC 7578 over RFC 2046
 * section 5.1), the way kubo's clients send a file argument (`ipfs routing put KEY FILE`: one
 * part holding the file). The boundary comes from the Content-Type's boundary parameter (quoted
 * or not, 1..70 characters, RFC 2046's limit). The body is "--boundary" (at its start, or after
 * a preamble ending in CRLF), optional transport padding (spaces and tabs) and CRLF, the part's
 * header lines up to an empty line, then the content up to CRLF "--boundary". Part headers are
 * not interpreted: a file's name or type changes nothing here. Every offset is checked against
 * the body's length before it is used; the content is borrowed from the body, never copied.
 */
#include "internal.h"

#include <stdint.h>
#include <string.h>
#include <strings.h>

#define BOUNDARY_MAX 70 /* RFC 2046 section 5.1.1 */
#define CTYPE_MAX 512   /* a Content-Type longer than this is not read */

#define NOT_FOUND SIZE_MAX

/* The offset of needle[0..n) in s at or after from, or NOT_FOUND. */
static size_t find(fog_slice s, size_t from, const void *needle, size_t n)
{
    if (from > s.len || s.len - from < n || n == 0) {
        return NOT_FOUND;
    }
    const uint8_t *nd = needle;
    for (size_t i = from; s.len - i >= n; i++) {
        if (s.p[i] == nd[0] && memcmp(s.p + i, nd, n) == 0) {
            return i;
        }
    }
    return NOT_FOUND; /* memmem is a GNU extension: not in fog's C11 + POSIX */
}

/* Whether s holds lit[0..n) at offset at. */
static bool starts(fog_slice s, size_t at, const char *lit, size_t n)
{
    return at <= s.len && s.len - at >= n && memcmp(s.p + at, lit, n) == 0;
}

/* The boundary parameter of ctype into out (NUL-terminated); its length, or 0 when none. */
static size_t boundary_of(fog_slice ctype, char out[BOUNDARY_MAX + 1])
{
    char ct[CTYPE_MAX + 1];
    if (ctype.len > CTYPE_MAX) {
        return 0;
    }
    memcpy(ct, ctype.p, ctype.len);
    ct[ctype.len] = '\0';
    const char *s = strchr(ct, ';');
    while (s != NULL) {
        s++;
        s += strspn(s, " \t");
        if (strncasecmp(s, "boundary=", 9) == 0) {
            break;
        }
        s = strchr(s, ';');
    }
    if (s == NULL) {
        return 0;
    }
    s += 9;
    bool quoted = *s == '"';
    s += quoted ? 1 : 0;
    size_t n = quoted ? strcspn(s, "\"") : strcspn(s, " \t;");
    if (n == 0 || n > BOUNDARY_MAX || (quoted && s[n] != '"')) {
        return 0;
    }
    memcpy(out, s, n);
    out[n] = '\0';
    return n;
}

/* The offset just after the first delimiter line ("--boundary", padding, CRLF), or NOT_FOUND. */
static size_t first_part(fog_slice body, const char *delim, size_t dlen)
{
    size_t at = 0;
    if (!starts(body, 0, delim, dlen)) {
        char crlf_delim[2 + 2 + BOUNDARY_MAX];
        memcpy(crlf_delim, "\r\n", 2);
        memcpy(crlf_delim + 2, delim, dlen);
        at = find(body, 0, crlf_delim, 2 + dlen);
        if (at == NOT_FOUND) {
            return NOT_FOUND;
        }
        at += 2;
    }
    at += dlen;
    while (at < body.len && (body.p[at] == ' ' || body.p[at] == '\t')) {
        at++;
    }
    return starts(body, at, "\r\n", 2) ? at + 2 : NOT_FOUND; /* "--" here: closed, no part */
}

int fog__api_multipart_first(fog_slice ctype, fog_slice body, fog_slice *out)
{
    char boundary[BOUNDARY_MAX + 1];
    size_t blen = boundary_of(ctype, boundary);
    if (blen == 0) {
        return fog_errf(FOG_ERR_PROTO, "multipart body: no usable boundary in the Content-Type");
    }
    char delim[2 + BOUNDARY_MAX];
    memcpy(delim, "--", 2);
    memcpy(delim + 2, boundary, blen);
    size_t dlen = 2 + blen;
    size_t head = first_part(body, delim, dlen);
    if (head == NOT_FOUND) {
        return fog_errf(FOG_ERR_PROTO, "multipart body: no part");
    }
    size_t content = NOT_FOUND;
    if (starts(body, head, "\r\n", 2)) {
        content = head + 2; /* no header lines */
    } else {
        size_t end = find(body, head, "\r\n\r\n", 4);
        content = end == NOT_FOUND ? NOT_FOUND : end + 4;
    }
    if (content == NOT_FOUND) {
        return fog_errf(FOG_ERR_PROTO, "multipart body: the part's headers do not end");
    }
    char crlf_delim[2 + 2 + BOUNDARY_MAX];
    memcpy(crlf_delim, "\r\n", 2);
    memcpy(crlf_delim + 2, delim, dlen);
    size_t end = find(body, content, crlf_delim, 2 + dlen);
    if (end == NOT_FOUND) {
        return fog_errf(FOG_ERR_PROTO, "multipart body: the part does not end with a boundary");
    }
    *out = fog_slice_make(body.p + content, end - content);
    return 0;
}
