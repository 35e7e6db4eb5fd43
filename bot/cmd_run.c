/*
 * cmd_run.c - `kvmarm-bot run`: the live bot (see loop.h).
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "log.h"
#include "loop.h"

int
cmd_run(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			printf("usage: kvmarm-bot [-c CONFIG] [--state DIR] run\n"
			       "\n"
			       "Listen on imap_url (IDLE, else NOOP every "
			       "imap_poll_seconds), store every new\n"
			       "mail, send the scheduled digest and the "
			       "outbox.  SIGTERM/SIGINT: exit 0 after\n"
			       "the write in hand; SIGHUP: reload the "
			       "configuration file.\n");
			return 0;
		}
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "kvmarm-bot run: unexpected argument '%s'\n",
			argv[optind]);
		return 2;
	}
	if (!cli->state_dir || !*cli->state_dir) {
		log_error("run: no state directory (--state or state_dir)");
		return 2;
	}
	return loop_run(&cli->cfg, cli->config_path, cli->state_dir);
}
