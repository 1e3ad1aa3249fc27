#include "lib/config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool key_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_';
}

static bool space(char c)
{
	return c == ' ' || c == '\t' || c == '\r';
}

/* The value: quoted (with \" and \\ escapes) or bare up to a comment;
 * trailing whitespace removed.  Written in place.  NULL on a bad quote. */
static const char *value_of(char *s, bool *quoted)
{
	char *w = s;

	*quoted = *s == '"';
	if (*s == '"') {
		for (char *r = s + 1; *r; r++) {
			if (*r == '\\' && (r[1] == '"' || r[1] == '\\'))
				r++;
			else if (*r == '"') {
				*w = 0;
				while (space(*++r))
					;
				return *r && *r != '#' ? NULL : s;
			}
			*w++ = *r;
		}
		return NULL;
	}
	for (char *r = s; *r; r++) {
		if (*r == '#' && (r == s || space(r[-1])))
			break;
		*w++ = *r;
	}
	while (w > s && space(w[-1]))
		w--;
	*w = 0;
	return s;
}

static int add(struct config *c, const char *section, const char *key,
	       const char *value, bool has_value, unsigned line)
{
	struct config_entry *e = realloc(c->e, (c->n + 1) * sizeof(*e));

	if (!e)
		return -ENOMEM;
	c->e = e;
	e = &c->e[c->n];
	memset(e, 0, sizeof(*e));
	e->section = strdup(section);
	e->key = strdup(key);
	e->value = strdup(value);
	e->flag = malloc(strlen(key) + 3);
	if (e->flag)
		sprintf(e->flag, "--%s", key);
	e->has_value = has_value;
	e->line = line;
	c->n++;
	if (!e->section || !e->key || !e->value || !e->flag)
		return -ENOMEM;
	return 0;
}

static int parse_section(char *s, char *section, size_t cap)
{
	char *end = strchr(s, ']');
	size_t n;

	if (!end)
		return -EINVAL;
	for (char *r = end + 1; *r; r++)
		if (!space(*r)) {
			if (*r == '#')
				break;
			return -EINVAL;
		}
	*end = 0;
	s++;
	while (space(*s))
		s++;
	n = strlen(s);
	while (n && space(s[n - 1]))
		n--;
	if (n >= cap)
		return -EINVAL;
	memcpy(section, s, n);
	section[n] = 0;
	return 0;
}

static int parse_line(struct config *c, char *s, char *section,
		      size_t seccap, unsigned line, const char **why)
{
	const char *value;
	bool quoted;
	char *key;
	int err;

	while (space(*s))
		s++;
	if (!*s || *s == '#')
		return 0;
	if (*s == '[') {
		*why = "bad section header";
		return parse_section(s, section, seccap);
	}
	key = s;
	while (key_char(*s))
		s++;
	if (s == key || (*s && !space(*s))) {
		*why = "bad key";
		return -EINVAL;
	}
	if (*s)
		*s++ = 0;
	while (space(*s))
		s++;
	value = value_of(s, &quoted);
	if (!value) {
		*why = "bad quoted value";
		return -EINVAL;
	}
	err = add(c, section, key, value, *value || quoted, line);
	*why = "out of memory";
	return err;
}

int config_parse(const char *text, size_t len, struct config *c, char *err,
		 size_t errlen)
{
	char line[CONFIG_LINE_MAX + 1], section[64] = "";
	unsigned lineno = 0;
	size_t pos = 0;

	memset(c, 0, sizeof(*c));
	while (pos < len) {
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		const char *why = "";
		int r;

		lineno++;
		if (n > CONFIG_LINE_MAX || memchr(text + pos, 0, n)) {
			snprintf(err, errlen, "%u: line too long or NUL byte",
				 lineno);
			return -EINVAL;
		}
		memcpy(line, text + pos, n);
		line[n] = 0;
		pos += n + (nl ? 1 : 0);
		r = parse_line(c, line, section, sizeof(section), lineno, &why);
		if (r) {
			snprintf(err, errlen, "%u: %s", lineno, why);
			return r;
		}
	}
	return 0;
}

int config_load(const char *path, struct config *c, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	char *text = NULL, sub[200];
	size_t len = 0;
	int r = 0;

	memset(c, 0, sizeof(*c));
	if (!f) {
		r = -errno;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return r;
	}
	text = malloc(1 << 20);
	if (!text) {
		r = -ENOMEM;
		goto out;
	}
	len = fread(text, 1, 1 << 20, f);
	if (ferror(f) || len == 1 << 20) {
		r = ferror(f) ? -EIO : -EFBIG;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		goto out;
	}
	r = config_parse(text, len, c, sub, sizeof(sub));
	if (r)
		snprintf(err, errlen, "%s:%s", path, sub);
out:
	free(text);
	fclose(f);
	return r;
}

void config_free(struct config *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		free(c->e[i].section);
		free(c->e[i].key);
		free(c->e[i].value);
		free(c->e[i].flag);
	}
	free(c->e);
	memset(c, 0, sizeof(*c));
}

int config_args(const struct config *c, const char *section, int *argc,
		char ***argv)
{
	char **v = calloc(c->n * 2 + 1, sizeof(*v));
	int n = 0;

	if (!v)
		return -ENOMEM;
	for (unsigned i = 0; i < c->n; i++) {
		const struct config_entry *e = &c->e[i];

		if (*e->section && strcmp(e->section, section))
			continue;
		v[n++] = e->flag;
		if (e->has_value)
			v[n++] = e->value;
	}
	*argc = n;
	*argv = v;
	return 0;
}
