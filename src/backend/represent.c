/* Media types, validators, preconditions and ranges: see represent.h. */
#include "backend/represent.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define MIME_FILE "/etc/mime.types"
#define MIME_MAX 2048
#define EXT_MAX 16
#define TYPE_MAX 80

struct mime {
	char ext[EXT_MAX];
	char type[TYPE_MAX];
};

/* What a browser needs to render a site from --root, when the host has no
 * /etc/mime.types. */
static const struct mime builtin[] = {
	{ "html", "text/html" },	{ "htm", "text/html" },
	{ "css", "text/css" },		{ "js", "text/javascript" },
	{ "mjs", "text/javascript" },	{ "json", "application/json" },
	{ "txt", "text/plain" },	{ "xml", "application/xml" },
	{ "svg", "image/svg+xml" },	{ "png", "image/png" },
	{ "jpg", "image/jpeg" },	{ "jpeg", "image/jpeg" },
	{ "gif", "image/gif" },		{ "webp", "image/webp" },
	{ "ico", "image/x-icon" },	{ "avif", "image/avif" },
	{ "woff", "font/woff" },	{ "woff2", "font/woff2" },
	{ "ttf", "font/ttf" },		{ "otf", "font/otf" },
	{ "wasm", "application/wasm" }, { "pdf", "application/pdf" },
	{ "zip", "application/zip" },	{ "gz", "application/gzip" },
	{ "tar", "application/x-tar" }, { "mp4", "video/mp4" },
	{ "webm", "video/webm" },	{ "mp3", "audio/mpeg" },
	{ "ogg", "audio/ogg" },		{ "wav", "audio/wav" },
	{ "csv", "text/csv" },		{ "md", "text/markdown" },
};

static struct mime *table;
static size_t n_table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static int mime_cmp(const void *a, const void *b)
{
	return strcasecmp(((const struct mime *)a)->ext,
			  ((const struct mime *)b)->ext);
}

/* One line of mime.types: "type ext ext ...", '#' comments. */
static void add_line(char *line)
{
	char *save = NULL, *type = strtok_r(line, " \t\r\n", &save), *ext;

	if (!type || *type == '#' || strlen(type) >= TYPE_MAX)
		return;
	while ((ext = strtok_r(NULL, " \t\r\n", &save)) && n_table < MIME_MAX) {
		if (strlen(ext) >= EXT_MAX)
			continue;
		snprintf(table[n_table].ext, EXT_MAX, "%s", ext);
		snprintf(table[n_table].type, TYPE_MAX, "%s", type);
		n_table++;
	}
}

static void table_load(void)
{
	FILE *f = fopen(MIME_FILE, "re");
	char line[512];

	table = calloc(MIME_MAX, sizeof(*table));
	if (!table || !f) {
		if (f)
			fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f))
		add_line(line);
	fclose(f);
	qsort(table, n_table, sizeof(*table), mime_cmp);
}

static const char *lookup(const struct mime *t, size_t n, const char *ext,
			  bool sorted)
{
	struct mime key;

	if (sorted) {
		const struct mime *m;

		snprintf(key.ext, EXT_MAX, "%s", ext);
		m = bsearch(&key, t, n, sizeof(*t), mime_cmp);
		return m ? m->type : NULL;
	}
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(t[i].ext, ext))
			return t[i].type;
	return NULL;
}

const char *rep_mime_type(const char *path)
{
	const char *slash = strrchr(path, '/'), *dot = strrchr(path, '.');
	const char *t;

	if (!dot || (slash && dot < slash) || strlen(dot + 1) >= EXT_MAX)
		return "application/octet-stream";
	pthread_once(&table_once, table_load);
	t = n_table ? lookup(table, n_table, dot + 1, true) : NULL;
	if (!t)
		t = lookup(builtin, sizeof(builtin) / sizeof(builtin[0]),
			   dot + 1, false);
	return t ? t : "application/octet-stream";
}

/* ---- dates ---- */

static const char days[7][4] = { "Sun", "Mon", "Tue", "Wed",
				 "Thu", "Fri", "Sat" };
static const char months[12][4] = { "Jan", "Feb", "Mar", "Apr",
				    "May", "Jun", "Jul", "Aug",
				    "Sep", "Oct", "Nov", "Dec" };

/* By hand: the locale must not change it. */
void rep_format_date(time_t t, char *buf)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	snprintf(buf, REP_DATE_LEN + 1, "%s, %02d %s %04d %02d:%02d:%02d GMT",
		 days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

static int month_of(const char *m)
{
	for (int i = 0; i < 12; i++)
		if (!strncmp(m, months[i], 3))
			return i;
	return -1;
}

int rep_parse_date(const char *s, size_t len, time_t *out)
{
	char buf[64], mon[4] = "", wd[16];
	struct tm tm = { 0 };
	int d, y, h, mi, sec, n = 0;

	if (len >= sizeof(buf))
		return -EINVAL;
	memcpy(buf, s, len);
	buf[len] = 0;
	/* IMF-fixdate, RFC 850, asctime */
	if (sscanf(buf, "%3s, %2d %3s %4d %2d:%2d:%2d GMT%n", wd, &d, mon, &y,
		   &h, &mi, &sec, &n) == 7 && n == (int)len) {
	} else if (sscanf(buf, "%15[A-Za-z], %2d-%3s-%2d %2d:%2d:%2d GMT%n", wd,
			  &d, mon, &y, &h, &mi, &sec, &n) == 7 &&
		   n == (int)len) {
		y += y < 70 ? 2000 : 1900;
	} else if (sscanf(buf, "%3s %3s %2d %2d:%2d:%2d %4d%n", wd, mon, &d, &h,
			  &mi, &sec, &y, &n) == 7 && n == (int)len) {
	} else {
		return -EINVAL;
	}
	tm.tm_mon = month_of(mon);
	if (tm.tm_mon < 0 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_mday = d;
	tm.tm_year = y - 1900;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	*out = timegm(&tm);
	return 0;
}

/* ---- entity tags ---- */

static void trim(const char **p, const char **end)
{
	while (*p < *end && (**p == ' ' || **p == '\t'))
		(*p)++;
	while (*end > *p && ((*end)[-1] == ' ' || (*end)[-1] == '\t'))
		(*end)--;
}

/* Compares one member of a list with ETAG. */
static bool tag_equal(const char *p, const char *end, const char *etag,
		      bool weak)
{
	bool p_weak = end - p > 2 && !strncmp(p, "W/", 2);
	bool e_weak = !strncmp(etag, "W/", 2);
	size_t n;

	if (!weak && (p_weak || e_weak))
		return false;
	if (p_weak)
		p += 2;
	if (e_weak)
		etag += 2;
	n = strlen(etag);
	return (size_t)(end - p) == n && !memcmp(p, etag, n);
}

bool rep_etag_match(const struct http_str *list, const char *etag, bool weak)
{
	const char *p = list->p, *end = list->p + list->len;

	while (p < end) {
		const char *comma = memchr(p, ',', (size_t)(end - p));
		const char *e = comma ? comma : end, *q = p;

		trim(&q, &e);
		if ((e - q == 1 && *q == '*') || tag_equal(q, e, etag, weak))
			return true;
		p = comma ? comma + 1 : end;
	}
	return false;
}

static bool header(const struct http_request *req, const char *name,
		   struct http_str *out)
{
	const struct http_str *h = req ? http_header_get(req, name) : NULL;

	if (h)
		*out = *h;
	return h != NULL;
}

int rep_check_read(const struct http_request *req, const char *etag,
		   time_t mtime)
{
	struct http_str v;
	time_t since;

	if (header(req, "If-None-Match", &v))
		return rep_etag_match(&v, etag, true) ? 304 : 0;
	if (mtime && header(req, "If-Modified-Since", &v) &&
	    !rep_parse_date(v.p, v.len, &since) && mtime <= since)
		return 304;
	return 0;
}

int rep_check_write(const struct http_request *req, bool exists,
		    const char *etag, time_t mtime)
{
	struct http_str v;
	time_t since;

	if (header(req, "If-Match", &v)) {
		if (!exists || !rep_etag_match(&v, etag, false))
			return 412;
	} else if (header(req, "If-Unmodified-Since", &v) && exists && mtime &&
		   !rep_parse_date(v.p, v.len, &since) && mtime > since) {
		return 412;
	}
	if (header(req, "If-None-Match", &v) && exists &&
	    rep_etag_match(&v, etag, true))
		return 412;
	return 0;
}

/* ---- ranges ---- */

static bool parse_u64(const char **p, const char *end, uint64_t *v)
{
	const char *s = *p;

	*v = 0;
	while (*p < end && isdigit((unsigned char)**p)) {
		if (*v > (UINT64_MAX - 9) / 10)
			return false;
		*v = *v * 10 + (uint64_t)(**p - '0');
		(*p)++;
	}
	return *p > s;
}

/* If-Range: a strong ETag equal to ours, or exactly our Last-Modified. */
static bool if_range_holds(const struct http_request *req, const char *etag,
			   time_t mtime)
{
	struct http_str v;
	time_t t;

	if (!header(req, "If-Range", &v))
		return true;
	if (v.len && (v.p[0] == '"' || v.p[0] == 'W'))
		return tag_equal(v.p, v.p + v.len, etag, false);
	return mtime && !rep_parse_date(v.p, v.len, &t) && t == mtime;
}

int rep_range(const struct http_request *req, uint64_t size, const char *etag,
	      time_t mtime, uint64_t *first, uint64_t *last)
{
	struct http_str v;
	const char *p, *end;
	uint64_t a = 0, b = 0;
	bool have_a, have_b;

	if (!header(req, "Range", &v) || v.len < 7 ||
	    strncasecmp(v.p, "bytes=", 6) || !if_range_holds(req, etag, mtime))
		return 0;
	p = v.p + 6;
	end = v.p + v.len;
	trim(&p, &end);
	if (memchr(p, ',', (size_t)(end - p)))
		return 0; /* several ranges: the whole representation */
	have_a = parse_u64(&p, end, &a);
	if (p == end || *p++ != '-')
		return 0;
	have_b = parse_u64(&p, end, &b);
	if (p != end || (!have_a && !have_b) || (have_b && have_a && b < a))
		return 0;
	if (!have_a) { /* suffix: the last b bytes */
		if (!b || !size)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (a >= size)
		return -1;
	*first = a;
	*last = have_b && b < size ? b : size - 1;
	return 1;
}
