/* What the built-in server says about a representation besides its bytes:
 * the media type of a file, the validators (ETag, Last-Modified) and how
 * a request's preconditions and Range apply to them (RFC 9110 8.8, 13,
 * 14).  Pure functions over header values; serve.c and the object store's
 * routes in server.c decide with them. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "lib/http.h"

#define REP_DATE_LEN 30  /* "Sun, 06 Nov 1994 08:49:37 GMT" */
#define REP_ETAG_MAX 72  /* quotes included */

/* The media type for PATH's extension (case-insensitive): /etc/mime.types
 * when the host has it, else a built-in table of common types;
 * "application/octet-stream" when neither knows it. */
const char *rep_mime_type(const char *path);

/* IMF-fixdate (RFC 9110 5.6.7) of T into BUF (REP_DATE_LEN + 1 bytes). */
void rep_format_date(time_t t, char *buf);
/* An HTTP-date in any of the three forms RFC 9110 5.6.7 accepts; 0 or
 * -EINVAL. */
int rep_parse_date(const char *s, size_t len, time_t *out);

/* Whether ETAG (quoted, possibly W/-prefixed) is in the comma-separated
 * LIST of entity tags, or LIST is "*".  WEAK: weak comparison (W/ ignored:
 * If-None-Match), else strong (both must be strong: If-Match). */
bool rep_etag_match(const struct http_str *list, const char *etag, bool weak);

/* The answer a GET or HEAD gets from its preconditions (RFC 9110 13.2.2:
 * If-None-Match before If-Modified-Since): 304 or 0 (go on).  MTIME 0: no
 * Last-Modified. */
int rep_check_read(const struct http_request *req, const char *etag,
		   time_t mtime);
/* The same for a method that changes the resource (PUT, DELETE): 412 or
 * 0.  EXISTS: the resource is there now (If-Match: *, If-None-Match: *). */
int rep_check_write(const struct http_request *req, bool exists,
		    const char *etag, time_t mtime);

/* A single byte range (RFC 9110 14.1.2) of a SIZE-byte representation.
 * Returns 1 with *FIRST and *LAST (inclusive) set, 0 when the request gets
 * the whole representation (no Range, a unit other than bytes, several
 * ranges, a malformed field, or an If-Range that no longer matches ETAG /
 * MTIME), or -1 when the range cannot be satisfied (416). */
int rep_range(const struct http_request *req, uint64_t size, const char *etag,
	      time_t mtime, uint64_t *first, uint64_t *last);
