/*
 * fuzz_message.c - libFuzzer target for the mail parser.
 *
 * Feeds the bytes to message_parse() as one mail, then hands slices of
 * them (the first 4 KiB and each of the first lines, NUL-terminated) to
 * message_subject_parse() and message_id_normalise(), which take C
 * strings from commands and headers.  Everything is freed, so a leak is
 * a finding too.  `make test` runs it over the corpora through
 * tests/fuzz/replay.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
slice(const char *p, size_t n)
{
	struct subject_tags tags;
	char *s = malloc(n + 1), *r;

	if (!s)
		return;
	memcpy(s, p, n);
	s[n] = '\0';
	r = message_subject_parse(s, &tags);
	free(r);
	r = message_id_normalise(s);
	free(r);
	free(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *nl;
	struct message msg;
	const char *err = NULL;
	size_t off = 0;
	int lines = 0;

	if (message_parse(p, size, &msg, &err) == 0)
		message_release(&msg);
	slice(p, size < 4096 ? size : 4096);
	while (off < size && lines++ < 64) {
		nl = memchr(p + off, '\n', size - off);
		slice(p + off, (nl ? (size_t)(nl - p) : size) - off);
		off = nl ? (size_t)(nl - p) + 1 : size;
	}
	return 0;
}
