/*
 * fuzz_message_json.c - libFuzzer target for the store's record format.
 *
 * The bytes go to message_from_json() as they are (it must refuse or
 * accept without harm, and what it accepts must serialise again).  They
 * are also parsed as a mail, and the record must survive the trip the
 * store makes: to JSON, back, and to JSON again, byte for byte.  A
 * difference aborts, which the fuzzer and `make test`'s replay over the
 * corpora report as a finding.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct message msg, back;
	char *json, *again;

	if (message_from_json((const char *)data, size, &back) == 0) {
		json = message_to_json(&back, 0);
		if (!json)
			abort();
		free(json);
		message_release(&back);
	}
	if (message_parse((const char *)data, size, &msg, NULL) < 0)
		return 0;
	json = message_to_json(&msg, 0);
	message_release(&msg);
	if (!json)
		return 0;
	if (message_from_json(json, strlen(json), &back) < 0)
		abort();
	again = message_to_json(&back, 0);
	message_release(&back);
	if (!again || strcmp(json, again))
		abort();
	free(json);
	free(again);
	return 0;
}
