/* The backend's object store: one flat directory, one file per object, named
 * by its key.  Writes stream into a temporary file in the same directory and
 * become visible with one rename(2), so a reader sees the old object or the
 * new one, never a part; an upload that is abandoned leaves nothing behind.
 *
 *   store_open(&s, dir, durable, max_object);
 *   store_put_begin(&s, key, &p);  store_put_write(p, data, n) ...;
 *   store_put_commit(p, &created, etag)   or   store_put_abort(p)
 *   store_get(&s, key, &obj)  -> obj.fd (caller closes), obj.size, obj.etag
 *   store_delete(&s, key)
 *
 * Keys: 1..STORE_KEY_MAX bytes of [A-Za-z0-9._-], not starting with '.'
 * (temporary files start with ".tmp."; "." and ".." are excluded too).
 * Content-Type: what the PUT said, kept in "user.prism.type" (none: the
 * default type).
 * ETag: the SHA-256 of the object's bytes, lower-case hex, computed while
 * the body streams in and kept in the file's "user.prism.sha256" extended
 * attribute (recomputed and cached for a file that lacks it).
 * Durable: the temporary file is fsync'ed before the rename and the
 * directory after it, so an acknowledged write survives a crash.
 *
 * Every function returns 0 or -errno: -EINVAL bad key, -ENOENT no such
 * object, -EFBIG over max_object; anything else is an I/O failure. */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#define STORE_KEY_MAX 200
#define STORE_ETAG_LEN 64 /* hex digits of SHA-256 */
#define STORE_MAX_OBJECT_DEFAULT (1ULL << 30)
#define STORE_TYPE_MAX 127 /* a stored Content-Type */

struct store {
	int dir_fd;
	const char *dir;
	bool durable;
	uint64_t max_object;
	uint64_t tmp_seq; /* names temporary files */
};

struct store_obj {
	int fd; /* read-only, owned by the caller */
	uint64_t size;
	char etag[STORE_ETAG_LEN + 1];
	char type[STORE_TYPE_MAX + 1]; /* the PUT's Content-Type, or "" */
	time_t mtime;                  /* when it was stored */
};

struct store_put;

/* Opens (and creates) dir; removes temporary files a crashed run left. */
int store_open(struct store *s, const char *dir, bool durable,
	       uint64_t max_object);
void store_close(struct store *s);

bool store_key_valid(const char *key, size_t len);

int store_get(struct store *s, const char *key, struct store_obj *obj);
int store_delete(struct store *s, const char *key);

/* Starts an upload.  *out is freed by commit or abort, whatever they
 * return. */
int store_put_begin(struct store *s, const char *key, struct store_put **out);
/* -EFBIG once the object would exceed max_object (the upload is then
 * still open: abort it). */
int store_put_write(struct store_put *p, const void *data, size_t len);
uint64_t store_put_size(const struct store_put *p);
/* The Content-Type the object is returned with (kept in the file's
 * "user.prism.type" attribute): 1..STORE_TYPE_MAX printable bytes, else
 * -EINVAL (and nothing is kept). */
int store_put_set_type(struct store_put *p, const char *type, size_t len);
/* Makes the object visible.  *created: no object of that key existed. */
int store_put_commit(struct store_put *p, bool *created,
		     char etag[STORE_ETAG_LEN + 1]);
void store_put_abort(struct store_put *p);
