/*
 * buf.c - growable, capped, NUL-terminated byte buffers.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static char empty[1];

void
buf_init(struct buf *b, size_t max)
{
	b->data = empty;
	b->len = 0;
	b->alloc = 0;
	b->max = max ? max : BUF_DEFAULT_MAX;
}

void
buf_release(struct buf *b)
{
	size_t max = b->max;

	if (b->alloc)
		free(b->data);
	buf_init(b, max);
}

char *
buf_detach(struct buf *b, size_t *len)
{
	char *out;

	if (len)
		*len = b->len;
	if (b->alloc) {
		out = b->data;
		b->alloc = 0;
	} else {
		out = strdup("");
	}
	buf_init(b, b->max);
	return out;
}

static int
buf_grow(struct buf *b, size_t extra)
{
	size_t need, alloc;
	char *p;

	if (!b->max)
		buf_init(b, 0);
	if (extra > b->max || b->len > b->max - extra)
		return -1;
	need = b->len + extra + 1;
	if (need <= b->alloc)
		return 0;
	alloc = b->alloc ? b->alloc : 64;
	while (alloc < need)
		alloc = alloc < SIZE_MAX / 2 ? alloc * 2 : need;
	p = b->alloc ? realloc(b->data, alloc) : malloc(alloc);
	if (!p)
		return -1;
	if (!b->alloc)
		p[0] = '\0';
	b->data = p;
	b->alloc = alloc;
	return 0;
}

int
buf_add(struct buf *b, const void *data, size_t len)
{
	if (buf_grow(b, len) < 0)
		return -1;
	if (len)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
	return 0;
}

int
buf_adds(struct buf *b, const char *s)
{
	return buf_add(b, s, strlen(s));
}

int
buf_addc(struct buf *b, char c)
{
	return buf_add(b, &c, 1);
}

int
buf_vaddf(struct buf *b, const char *fmt, va_list ap)
{
	va_list cp;
	int n;

	va_copy(cp, ap);
	n = vsnprintf(NULL, 0, fmt, cp);
	va_end(cp);
	if (n < 0 || buf_grow(b, (size_t)n) < 0)
		return -1;
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int
buf_addf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = buf_vaddf(b, fmt, ap);
	va_end(ap);
	return r;
}

void
buf_truncate(struct buf *b, size_t len)
{
	if (len < b->len) {
		b->len = len;
		b->data[len] = '\0';
	}
}
