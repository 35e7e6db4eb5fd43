/*
 * lore.c - Message-IDs from public-inbox URLs (see lore.h).  `show` and
 * `summarize` accept them so a reader can paste what the browser shows.
 */
#include <ctype.h>
#include <stddef.h>
#include <string.h>

#include "lore.h"

int
lore_url_id_span(const char *url, const char **start, const char **end)
{
	const char *path = strchr(strstr(url, "//") + 2, '/');
	const char *seg[2] = {NULL, NULL}, *stop, *p;
	size_t nseg = 0;

	if (!path)
		return -1;
	stop = path + strcspn(path, "?#");
	for (const char *s = path; s < stop && nseg < 2;) {
		while (s < stop && *s == '/')
			s++;
		if (s < stop)
			seg[nseg++] = s;
		while (s < stop && *s != '/')
			s++;
	}
	/* Two segments are LIST/ID; one is msgid.link's ID. */
	p = nseg == 2 ? seg[1] : seg[0];
	if (!p)
		return -1;
	*start = p;
	*end = p + strcspn(p, "/?#");
	return 0;
}

int
lore_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = tolower(c);
	return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}
