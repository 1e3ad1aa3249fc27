/* Configuration files: one setting per line, the same names as the
 * daemons' command-line flags without the leading "--".
 *
 *   # comment (also after a value, when preceded by whitespace)
 *   [controller]              section: the daemon the lines below are for
 *   listen 198.19.0.1:80      key, whitespace, value (rest of the line)
 *   backend b1=198.18.11.2:8080,weight=2     keys may repeat
 *   debug                     a key alone is a flag without value
 *   access-log "/var/log/prism access.log"   quotes keep spaces and '#'
 *
 * Keys are [a-z0-9-]+.  Lines before the first section belong to section
 * "" (read by every daemon).  Errors name the file and line. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

#define CONFIG_LINE_MAX 1024

struct config_entry {
	char *section; /* "" before any [section] */
	char *key;
	char *value;   /* "" for a flag */
	char *flag;    /* "--key" */
	bool has_value;
	unsigned line;
};

struct config {
	struct config_entry *e;
	unsigned n;
};

/* Parses text (NUL bytes not allowed).  err gets "LINE: reason".  0, -EINVAL
 * (syntax) or -ENOMEM.  c is valid (possibly partial) either way: free it. */
int config_parse(const char *text, size_t len, struct config *c, char *err,
		 size_t errlen);
/* Reads and parses a file; err gets "PATH:LINE: reason". */
int config_load(const char *path, struct config *c, char *err, size_t errlen);
void config_free(struct config *c);

/* The entries of `section` and of "" as command-line arguments
 * ("--key", "value", ...; a flag gives only "--key"), to be parsed by the
 * daemon's own flag parser.  The strings point into c: keep c alive.
 * *argv is malloc'd (free it alone).  0 or -ENOMEM. */
int config_args(const struct config *c, const char *section, int *argc,
		char ***argv);
