/* The object store; see store.h. */
#include "backend/store.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "lib/log.h"

#define ETAG_XATTR "user.prism.sha256"
#define TYPE_XATTR "user.prism.type"
#define TMP_PREFIX ".tmp."

struct store_put {
	struct store *s;
	int fd;
	uint64_t size;
	EVP_MD_CTX *md;
	char key[STORE_KEY_MAX + 1];
	char tmp[64];
	char type[STORE_TYPE_MAX + 1];
};

bool store_key_valid(const char *key, size_t len)
{
	if (len == 0 || len > STORE_KEY_MAX || key[0] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = key[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return false;
	}
	return true;
}

static bool key_ok(const char *key)
{
	return store_key_valid(key, strnlen(key, STORE_KEY_MAX + 1));
}

/* Temporary files of a previous run are uploads that never finished. */
static void remove_stale(struct store *s)
{
	int fd = openat(s->dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
	struct dirent *e;

	if (!d) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while ((e = readdir(d)) != NULL)
		if (!strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) &&
		    unlinkat(s->dir_fd, e->d_name, 0) == 0)
			log_info("store %s: removed unfinished upload %s",
				 s->dir, e->d_name);
	closedir(d);
}

int store_open(struct store *s, const char *dir, bool durable,
	       uint64_t max_object)
{
	memset(s, 0, sizeof(*s));
	s->dir = dir;
	s->durable = durable;
	s->max_object = max_object ? max_object : STORE_MAX_OBJECT_DEFAULT;
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		int err = -errno;

		log_err("store %s: mkdir: %s", dir, strerror(errno));
		return err;
	}
	s->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dir_fd < 0) {
		int err = -errno;

		log_err("store %s: open: %s", dir, strerror(errno));
		return err;
	}
	remove_stale(s);
	return 0;
}

void store_close(struct store *s)
{
	if (s->dir_fd >= 0)
		close(s->dir_fd);
	s->dir_fd = -1;
}

static void hex(const unsigned char *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * n] = '\0';
}

static int digest_final(EVP_MD_CTX *md, char etag[STORE_ETAG_LEN + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int n = 0;

	if (!EVP_DigestFinal_ex(md, d, &n) || n * 2 != STORE_ETAG_LEN)
		return -EIO;
	hex(d, n, etag);
	return 0;
}

/* For a file placed in the directory by hand: hash it once, cache it. */
static int etag_compute(int fd, char etag[STORE_ETAG_LEN + 1])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	char buf[65536];
	off_t off = 0;
	ssize_t n;
	int err = -ENOMEM;

	if (!md || !EVP_DigestInit_ex(md, EVP_sha256(), NULL))
		goto out;
	while ((n = pread(fd, buf, sizeof(buf), off)) > 0) {
		EVP_DigestUpdate(md, buf, (size_t)n);
		off += n;
	}
	err = n < 0 ? -errno : digest_final(md, etag);
	if (!err)
		fsetxattr(fd, ETAG_XATTR, etag, STORE_ETAG_LEN, 0);
out:
	EVP_MD_CTX_free(md);
	return err;
}

int store_get(struct store *s, const char *key, struct store_obj *obj)
{
	struct stat st;
	ssize_t n;
	int fd, err;

	if (!key_ok(key))
		return -EINVAL;
	fd = openat(s->dir_fd, key, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -ENOENT : -errno;
	if (fstat(fd, &st) < 0) {
		err = -errno;
		goto out;
	}
	err = -ENOENT;
	if (!S_ISREG(st.st_mode))
		goto out;
	n = fgetxattr(fd, ETAG_XATTR, obj->etag, STORE_ETAG_LEN);
	if (n == STORE_ETAG_LEN)
		obj->etag[STORE_ETAG_LEN] = '\0';
	else if ((err = etag_compute(fd, obj->etag)) < 0)
		goto out;
	n = fgetxattr(fd, TYPE_XATTR, obj->type, STORE_TYPE_MAX);
	obj->type[n > 0 ? n : 0] = '\0';
	obj->fd = fd;
	obj->size = (uint64_t)st.st_size;
	obj->mtime = st.st_mtime;
	return 0;
out:
	close(fd);
	return err;
}

static int sync_dir(struct store *s)
{
	if (s->durable && fsync(s->dir_fd) < 0) {
		log_err("store %s: fsync: %s", s->dir, strerror(errno));
		return -errno;
	}
	return 0;
}

int store_delete(struct store *s, const char *key)
{
	if (!key_ok(key))
		return -EINVAL;
	if (unlinkat(s->dir_fd, key, 0) < 0)
		return errno == EISDIR ? -ENOENT : -errno;
	return sync_dir(s);
}

int store_put_begin(struct store *s, const char *key, struct store_put **out)
{
	struct store_put *p;
	int err;

	if (!key_ok(key))
		return -EINVAL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->s = s;
	p->fd = -1;
	strcpy(p->key, key);
	snprintf(p->tmp, sizeof(p->tmp), TMP_PREFIX "%d.%llu", (int)getpid(),
		 (unsigned long long)++s->tmp_seq);
	err = -ENOMEM;
	p->md = EVP_MD_CTX_new();
	if (!p->md || !EVP_DigestInit_ex(p->md, EVP_sha256(), NULL))
		goto fail;
	p->fd = openat(s->dir_fd, p->tmp,
		       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (p->fd < 0) {
		err = -errno;
		log_err("store %s: create %s: %s", s->dir, p->tmp,
			strerror(errno));
		goto fail;
	}
	*out = p;
	return 0;
fail:
	EVP_MD_CTX_free(p->md);
	free(p);
	return err;
}

int store_put_write(struct store_put *p, const void *data, size_t len)
{
	const char *d = data;

	if (len > p->s->max_object - p->size)
		return -EFBIG;
	EVP_DigestUpdate(p->md, data, len);
	while (len) {
		ssize_t n = write(p->fd, d, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			log_err("store %s: write %s: %s", p->s->dir, p->tmp,
				strerror(errno));
			return -errno;
		}
		d += n;
		len -= (size_t)n;
		p->size += (uint64_t)n;
	}
	return 0;
}

uint64_t store_put_size(const struct store_put *p)
{
	return p->size;
}

static void put_free(struct store_put *p)
{
	if (p->fd >= 0)
		close(p->fd);
	EVP_MD_CTX_free(p->md);
	free(p);
}

void store_put_abort(struct store_put *p)
{
	if (!p)
		return;
	unlinkat(p->s->dir_fd, p->tmp, 0);
	put_free(p);
}

/* Publishes the temporary file under its key; RENAME_NOREPLACE first
 * tells whether the key is new without a separate (racy) lookup. */
static int publish(struct store_put *p, bool *created)
{
	struct store *s = p->s;

	if (!renameat2(s->dir_fd, p->tmp, s->dir_fd, p->key, RENAME_NOREPLACE)) {
		*created = true;
		return 0;
	}
	if (errno == EEXIST &&
	    !renameat(s->dir_fd, p->tmp, s->dir_fd, p->key)) {
		*created = false;
		return 0;
	}
	log_err("store %s: rename %s -> %s: %s", s->dir, p->tmp, p->key,
		strerror(errno));
	return -errno;
}

int store_put_set_type(struct store_put *p, const char *type, size_t len)
{
	if (!len || len > STORE_TYPE_MAX)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)type[i] < 0x20 || type[i] == 0x7f)
			return -EINVAL;
	memcpy(p->type, type, len);
	p->type[len] = '\0';
	return 0;
}

int store_put_commit(struct store_put *p, bool *created,
		     char etag[STORE_ETAG_LEN + 1])
{
	int err = digest_final(p->md, etag);

	if (!err && fsetxattr(p->fd, ETAG_XATTR, etag, STORE_ETAG_LEN, 0) < 0)
		err = -errno;
	if (!err && p->type[0] &&
	    fsetxattr(p->fd, TYPE_XATTR, p->type, strlen(p->type), 0) < 0)
		err = -errno;
	if (!err && p->s->durable && fsync(p->fd) < 0)
		err = -errno;
	if (err) {
		log_err("store %s: finish %s: %s", p->s->dir, p->tmp,
			strerror(-err));
		store_put_abort(p);
		return err;
	}
	err = publish(p, created);
	if (err) {
		store_put_abort(p);
		return err;
	}
	err = sync_dir(p->s);
	put_free(p);
	return err;
}
