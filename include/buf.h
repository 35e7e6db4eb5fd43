/*
 * buf.h - a growable byte buffer, always NUL-terminated, with a hard cap.
 *
 * Every buffer that grows from outside input has a limit; reaching it
 * is an error the caller sees, never a silent truncation.
 */
#ifndef KVMARM_BUF_H
#define KVMARM_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char *data;	/* owned; "" (static) until the first append */
	size_t len;
	size_t alloc;
	size_t max;	/* 0 = BUF_DEFAULT_MAX */
};

#define BUF_DEFAULT_MAX (256u * 1024 * 1024)
#define BUF_INIT { 0 }

/* Prepare b with limit max (0 for the default); allocates nothing. */
void buf_init(struct buf *b, size_t max);
/* Free what b owns and prepare it again. */
void buf_release(struct buf *b);
/* Hand the contents to the caller (malloc'd, never NULL unless out of
 * memory) and reset b. */
char *buf_detach(struct buf *b, size_t *len);

/* Append; return 0, or -1 when out of memory or over the limit. */
int buf_add(struct buf *b, const void *data, size_t len);
int buf_adds(struct buf *b, const char *s);
int buf_addc(struct buf *b, char c);
int buf_addf(struct buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int buf_vaddf(struct buf *b, const char *fmt, va_list ap);
/* Shrink to len bytes (len <= b->len). */
void buf_truncate(struct buf *b, size_t len);

#endif
