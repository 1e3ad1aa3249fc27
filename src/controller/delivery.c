/* Which requests are first offered to their backend for relaying
 * (docs/delivery.md).  Only the backend knows a response's size before it
 * is sent; the controller remembers, by Host and target, which responses
 * were too large to relay, so that a large object is handed off without
 * the question next time.  A hand-back whose response turns out small
 * enough clears its entry again. */
#include <string.h>

#include "controller/ctrl.h"

/* FNV-1a over Host and target; never 0 (an empty slot). */
static uint32_t hash_str(uint32_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		h ^= (uint8_t)p[i];
		h *= 16777619u;
	}
	return h;
}

uint32_t delivery_key(const struct http_request *req)
{
	uint32_t h = 2166136261u;

	if (req->host.p)
		h = hash_str(h, req->host.p, req->host.len);
	h = hash_str(h, " ", 1);
	h = hash_str(h, req->target.p, req->target.len);
	return h | 1;
}

static uint32_t *slot(struct ctrl *c, uint32_t key)
{
	/* keys are odd: the low bit says nothing */
	return &c->relay_too_large[(key >> 1) % CTRL_SIZE_SLOTS];
}

bool delivery_relay_first(struct ctrl *c, const struct http_request *req,
			  uint32_t key)
{
	if (c->cfg->delivery != DELIVERY_ADAPTIVE)
		return false;
	if (req->method != HTTP_GET && req->method != HTTP_HEAD)
		return false;
	if (req->content_length > 0 || req->chunked || req->expect_continue)
		return false;
	return *slot(c, key) != key;
}

void delivery_learn(struct ctrl *c, uint32_t key, uint64_t bytes)
{
	uint32_t *s = slot(c, key);

	if (!key)
		return;
	if (bytes > c->cfg->relay_max)
		*s = key;
	else if (*s == key)
		*s = 0;
}
