/*
 * cmd_thread.c - `kvmarm-bot reindex`: rebuild the thread index.
 *
 * import and the daemon index every new mail as they store it; a store
 * filled before the thread index existed (or after a change of the
 * index format) needs this once.  It rewrites STORE_DB_THREAD from the
 * stored messages in one transaction: interrupted, it leaves the old
 * index as it was.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "store.h"
#include "thread.h"

static void
reindex_usage(FILE *out)
{
	fprintf(out, "usage: kvmarm-bot [--state DIR] reindex\n"
		     "\n"
		     "Rebuild the thread index (the links between mails that\n"
		     "threads, series and versions are found with) from the\n"
		     "stored mails.  Needed once for a store imported by a\n"
		     "kvmarm-bot without threading; other commands say so.\n"
		     "Prints \"reindexed N messages, T threads\".  Takes the\n"
		     "writer lock: stop a running daemon first.\n");
}

int
cmd_reindex(struct cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct store_stats st;
	struct store_txn *txn;
	struct store *store;
	long threads;
	int c;

	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			reindex_usage(stdout);
			return 0;
		}
		reindex_usage(stderr);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr,
			"kvmarm-bot: reindex: unexpected argument "
			"'%s'\n",
			argv[optind]);
		reindex_usage(stderr);
		return 2;
	}
	if (!cli->state_dir || !*cli->state_dir) {
		fprintf(stderr,
			"kvmarm-bot: reindex: no state directory: pass "
			"--state DIR before the command or set state_dir in "
			"the configuration file given with -c FILE\n");
		return 2;
	}
	if (store_open(cli->state_dir, 0, &store) < 0)
		return 1;
	if (store_begin(store, 1, &txn) < 0)
		goto fail;
	if (thread_reindex(txn) < 0) {
		store_abort(txn);
		goto fail;
	}
	if (store_commit(txn) < 0)
		goto fail;
	if (store_begin(store, 0, &txn) < 0)
		goto fail;
	threads = thread_count_all(txn);
	if (threads < 0 || store_stats(txn, &st) < 0) {
		store_abort(txn);
		goto fail;
	}
	store_abort(txn);
	store_close(store);
	printf("reindexed %" PRIu64 " messages, %ld threads\n", st.messages,
	       threads);
	return 0;
fail:
	store_close(store);
	return 1;
}
