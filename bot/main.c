/*
 * main.c - the command line: global options, then one command.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

struct command {
	const char *name;
	int (*fn)(struct cli *cli, int argc, char **argv);
	const char *summary;
};

static const struct command commands[] = {
	{ "import", cmd_import, "store mail from mbox, Maildir, files, public-inbox" },
	{ "stats", cmd_stats, "print what the store holds" },
	{ "reindex", cmd_reindex, "rebuild the thread index from the stored mail" },
	{ "show", cmd_show, "print the parsed record of one mail" },
	{ "digest", cmd_digest, "print the digest of a window, or --send it" },
	{ "summarize", cmd_summarize, "print one thread's summary (LLM or offline)" },
	{ "prompt-stats", cmd_prompt_stats, NULL },	/* hidden: scripts/bench */
	{ "run", cmd_run, "the live bot: listen on IMAP, send digests (see docs)" },
	{ "moderate", cmd_moderate, "list, show, approve or reject held mail" },
	{ "check-config", cmd_check_config, "validate the configuration file" },
	{ "subscribers", cmd_subscribers, "list, add or remove digest subscribers" },
	{ "pause", cmd_pause, "stop all outgoing mail (--status: show the state)" },
	{ "resume", cmd_resume, "send outgoing mail again after pause" },
};

static void
usage(FILE *out)
{
	fprintf(out,
		"usage: kvmarm-bot [-c CONFIG] [--state DIR] [-v] COMMAND [ARGS]\n"
		"\n"
		"  -c, --config FILE  configuration file (see docs/config.md)\n"
		"      --state DIR    state directory (overrides state_dir)\n"
		"  -v, --verbose      log debug messages\n"
		"\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (commands[i].summary)
			fprintf(out, "  %-14s %s\n", commands[i].name,
				commands[i].summary);
	fprintf(out, "\n'kvmarm-bot COMMAND --help' describes each command.\n");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "state", required_argument, NULL, 's' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cli cli;
	int c, r;

	memset(&cli, 0, sizeof(cli));
	if (config_init(&cli.cfg) < 0)
		return log_error("out of memory"), 1;
	/* '+': stop at the command name; its options are its own. */
	while ((c = getopt_long(argc, argv, "+c:s:vh", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			cli.config_path = optarg;
			break;
		case 's':
			cli.state_dir = optarg;
			break;
		case 'v':
			log_set_level(LOG_LEVEL_DEBUG);
			break;
		case 'h':
			usage(stdout);
			config_release(&cli.cfg);
			return 0;
		default:
			usage(stderr);
			config_release(&cli.cfg);
			return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		config_release(&cli.cfg);
		return 2;
	}
	const char *name = argv[optind];
	const struct command *cmd = NULL;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].name, name))
			cmd = &commands[i];
	if (!cmd) {
		fprintf(stderr, "kvmarm-bot: unknown command '%s'\n\n", name);
		usage(stderr);
		config_release(&cli.cfg);
		return 2;
	}
	/* check-config reports the file's errors itself, line by line. */
	if (cli.config_path && cmd->fn != cmd_check_config &&
	    config_load(&cli.cfg, cli.config_path, stderr) < 0) {
		log_error("invalid configuration '%s'", cli.config_path);
		config_release(&cli.cfg);
		return 1;
	}
	if (!cli.state_dir)
		cli.state_dir = cli.cfg.state_dir;
	argc -= optind;
	argv += optind;
	optind = 1;	/* reset getopt for the command's own options */
	r = cmd->fn(&cli, argc, argv);
	config_release(&cli.cfg);
	return r;
}
