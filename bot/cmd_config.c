/*
 * cmd_config.c - `kvmarm-bot -c FILE check-config`.
 *
 * The operator's (and the systemd unit's ExecStartPre/ExecReload) way
 * to validate a configuration before the daemon reads it: every error
 * is printed with its line number, warnings too, and the exit status
 * says whether the file would be accepted.  main() leaves the -c file
 * unloaded for this command so that the errors are printed once, here.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "config.h"
#include "log.h"

static void
usage(FILE *out)
{
	fprintf(
	    out,
	    "usage: kvmarm-bot -c FILE check-config\n"
	    "\n"
	    "Check every line of the configuration FILE: unknown or\n"
	    "duplicate keys, malformed values, env: secrets that are not\n"
	    "set.  Prints \"FILE: ok\" and exits 0 when the file is valid;\n"
	    "otherwise prints \"FILE:LINE: message\" for each error on\n"
	    "stderr and exits 1.  Warnings do not change the exit status.\n"
	    "Keys are described in docs/config.md.\n");
}

int
cmd_check_config(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr,
			"kvmarm-bot: check-config: unexpected "
			"argument '%s'\n",
			argv[optind]);
		usage(stderr);
		return 2;
	}
	if (!cli->config_path) {
		fprintf(stderr,
			"kvmarm-bot: check-config: a configuration "
			"file is required: kvmarm-bot -c FILE check-config\n");
		return 2;
	}
	if (config_load(&cli->cfg, cli->config_path, stderr) < 0) {
		log_error("invalid configuration '%s'", cli->config_path);
		return 1;
	}
	printf("%s: ok\n", cli->config_path);
	return 0;
}
