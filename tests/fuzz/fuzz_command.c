/*
 * fuzz_command.c - libFuzzer target for reading and screening commands.
 *
 * The bytes are one mail: message_parse() makes the record, then
 * command_parse(), command_screen() (which also walks the raw header
 * block) and command_via_list() run on it with a fixed configuration,
 * as the responder would.  Everything is freed, so a leak is a finding
 * too.  `make test` replays it over the corpora through
 * tests/fuzz/replay.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "command.h"
#include "config.h"
#include "message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char bot[] = "kvmarm-bot@example.org";
static char mods[] = "maz@kernel.org, oliver.upton@linux.dev";
static char list_name[] = "kvmarm";
static char list_address[] = "kvmarm@lists.linux.dev";

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *err = NULL, *why;
	struct command_list cmds;
	struct message msg;
	struct config cfg;
	volatile size_t sink = 0;

	/* only the fields the command module reads; never released */
	memset(&cfg, 0, sizeof(cfg));
	cfg.bot_address = bot;
	cfg.moderators = mods;
	cfg.list_name = list_name;
	cfg.list_address = list_address;

	if (message_parse(p, size, &msg, &err) != 0)
		return 0;
	if (command_parse(&msg, bot, &cmds) == 0) {
		for (size_t i = 0; i < cmds.n; i++) {
			const struct command *c = &cmds.cmd[i];

			/* touch every string so ASan sees bad ones */
			sink += strlen(command_verb_name(c->verb));
			sink += c->arg ? strlen(c->arg) : 0;
			sink += c->text ? strlen(c->text) : 0;
		}
		command_list_release(&cmds);
	}
	why = command_screen(&cfg, &msg, p, size);
	sink += why ? strlen(why) : 0;
	sink += (size_t)command_via_list(&cfg, &msg);
	message_release(&msg);
	(void)sink;
	return 0;
}
