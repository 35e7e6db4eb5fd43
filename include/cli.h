/*
 * cli.h - what every `kvmarm-bot COMMAND` receives from main().
 *
 * main() parses the global options (-c CONFIG, --state DIR), loads the
 * configuration and dispatches to a cmd_* function.  Each command
 * parses its own options with getopt_long, prints its --help, and
 * returns the process exit status: 0 success, 1 failure, 2 misuse.
 */
#ifndef KVMARM_CLI_H
#define KVMARM_CLI_H

#include "config.h"

struct cli {
	struct config cfg;	/* defaults, then the -c file if given */
	const char *config_path;	/* NULL when no -c */
	const char *state_dir;	/* --state, else cfg.state_dir */
};

int cmd_import(struct cli *cli, int argc, char **argv);
int cmd_stats(struct cli *cli, int argc, char **argv);
int cmd_reindex(struct cli *cli, int argc, char **argv);
int cmd_show(struct cli *cli, int argc, char **argv);
int cmd_check_config(struct cli *cli, int argc, char **argv);
int cmd_digest(struct cli *cli, int argc, char **argv);
/* bot/cmd_summarize.c; prompt-stats is hidden (used by scripts/bench) */
int cmd_summarize(struct cli *cli, int argc, char **argv);
int cmd_prompt_stats(struct cli *cli, int argc, char **argv);
int cmd_run(struct cli *cli, int argc, char **argv);
/* bot/cmd_admin.c: short writes beside the daemon (STORE_OPEN_SHARED) */
int cmd_subscribers(struct cli *cli, int argc, char **argv);
int cmd_pause(struct cli *cli, int argc, char **argv);
int cmd_resume(struct cli *cli, int argc, char **argv);
/* bot/cmd_moderate.c: held mail, list/show/approve/reject/edit */
int cmd_moderate(struct cli *cli, int argc, char **argv);

#endif
