/*
 * test_config.c - the configuration file: the shipped example, every
 * kind of error with its line number, secrets from the environment
 * (and that no message leaks one), the list/schedule helpers, and the
 * check-config command run as a real process.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "testutil.h"

#define EXAMPLE "config/kvmarm-bot.conf.example"

/* Every key of struct config, as the file spells it. */
static const char *const all_keys[] = {
	"state_dir", "imap_url", "imap_starttls", "imap_user",
	"imap_password", "imap_ca_file", "imap_poll_seconds", "smtp_url",
	"smtp_starttls", "smtp_user", "smtp_password", "smtp_ca_file",
	"bot_address", "list_name", "list_address", "digest_recipients",
	"digest_schedule", "digest_timezone", "digest_lang", "llm_url",
	"llm_model", "llm_api_key", "llm_timeout", "llm_max_tokens",
	"llm_temperature", "llm_max_concurrent", "llm_token_budget",
	"moderators", "moderation", "moderation_deadline_hours",
	"moderation_reminder_hours", "token_secret", "reply_to_list",
	"rate_sender_per_hour", "rate_global_per_day", "commands_imap_url",
	"commands_imap_user", "commands_imap_password",
};

static void
set_example_env(void)
{
	setenv("KVMARM_IMAP_PASSWORD", "imap-secret-1", 1);
	setenv("KVMARM_SMTP_PASSWORD", "smtp-secret-2", 1);
	setenv("KVMARM_LLM_API_KEY", "llm-secret-3", 1);
	setenv("KVMARM_TOKEN_SECRET", "token-secret-4", 1);
}

/* Write text to a fresh file with the given mode; returns its path. */
static char *
write_conf(const char *text, mode_t mode)
{
	char *dir = test_tmpdir("config");
	char *path;

	assert_non_null(dir);
	assert_true(asprintf(&path, "%s/bot.conf", dir) > 0);
	free(dir);
	assert_int_equal(test_write_file(path, text, strlen(text)), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

/*
 * Load text into *cfg (initialised here); *errs gets everything written
 * to errout and *path the file's name (both malloc'd).
 */
static int
load_text(const char *text, mode_t mode, struct config *cfg, char **errs,
	  char **path)
{
	size_t len;
	FILE *out = open_memstream(errs, &len);
	int r;

	assert_non_null(out);
	*path = write_conf(text, mode);
	assert_int_equal(config_init(cfg), 0);
	r = config_load(cfg, *path, out);
	fclose(out);
	return r;
}

/* Number of lines in s. */
static size_t
count_lines(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += *s == '\n';
	return n;
}

/* Whether errs has a line starting "PATH:LINE: " and containing what. */
static int
has_error(const char *errs, const char *path, unsigned line, const char *what)
{
	char prefix[4200];
	const char *p = errs;

	snprintf(prefix, sizeof(prefix), "%s:%u: ", path, line);
	while (p && *p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *l = strndup(p, len);
		int hit = !strncmp(l, prefix, strlen(prefix)) &&
			  strstr(l + strlen(prefix), what);
		free(l);
		if (hit)
			return 1;
		p = nl ? nl + 1 : NULL;
	}
	return 0;
}

static void
test_config_defaults(void **state)
{
	struct config cfg;

	assert_int_equal(config_init(&cfg), 0);
	assert_string_equal(cfg.state_dir, "");
	assert_string_equal(cfg.imap_url, "");
	assert_int_equal(cfg.imap_starttls, 1);
	assert_int_equal(cfg.imap_poll_seconds, 60);
	assert_int_equal(cfg.smtp_starttls, 1);
	assert_string_equal(cfg.list_name, "kvmarm");
	assert_string_equal(cfg.list_address, "");
	assert_string_equal(cfg.digest_schedule, "");
	assert_string_equal(cfg.digest_timezone, "UTC");
	assert_string_equal(cfg.digest_lang, "en");
	assert_string_equal(cfg.llm_url, "");
	assert_int_equal(cfg.llm_timeout, 60);
	assert_int_equal(cfg.llm_max_tokens, 800);
	assert_true(cfg.llm_temperature > 0.199 && cfg.llm_temperature < 0.201);
	assert_int_equal(cfg.llm_max_concurrent, 2);
	assert_int_equal(cfg.llm_token_budget, 200000);
	assert_string_equal(cfg.moderation, "none");
	assert_string_equal(cfg.llm_api_key, "");
	config_release(&cfg);
	assert_null(cfg.list_name);
}

static void
test_config_example_valid(void **state)
{
	struct config cfg;
	char *errs = NULL;
	size_t len;
	FILE *out = open_memstream(&errs, &len);

	set_example_env();
	assert_int_equal(config_init(&cfg), 0);
	assert_int_equal(config_load(&cfg, EXAMPLE, out), 0);
	fclose(out);
	/* env: secrets, so not even a warning. */
	assert_string_equal(errs, "");
	assert_string_equal(cfg.state_dir, "/var/lib/kvmarm-bot");
	assert_string_equal(cfg.imap_url, "imaps://imap.example.org:993/INBOX");
	assert_string_equal(cfg.imap_password, "imap-secret-1");
	assert_string_equal(cfg.smtp_password, "smtp-secret-2");
	assert_string_equal(cfg.llm_api_key, "llm-secret-3");
	assert_string_equal(cfg.imap_ca_file, "");
	assert_string_equal(cfg.list_address, "kvmarm@lists.linux.dev");
	assert_string_equal(cfg.digest_schedule, "Mon 09:00");
	assert_string_equal(cfg.moderation, "all");
	assert_string_equal(cfg.digest_recipients,
			    "maintainer@example.org, reviewer@example.org");
	config_release(&cfg);
	free(errs);
}

/* The example and the documentation both cover every key. */
static void
test_config_example_and_docs_complete(void **state)
{
	char *example = test_read_file(EXAMPLE, NULL);
	char *docs = test_read_file("docs/config.md", NULL);

	assert_non_null(example);
	assert_non_null(docs);
	for (size_t i = 0; i < sizeof(all_keys) / sizeof(all_keys[0]); i++) {
		char want[128], empty[128];

		/* Set, or deliberately left empty. */
		snprintf(want, sizeof(want), "\n%s = ", all_keys[i]);
		snprintf(empty, sizeof(empty), "\n%s =\n", all_keys[i]);
		if (!strstr(example, want) && !strstr(example, empty))
			fail_msg("example lacks key %s", all_keys[i]);
		snprintf(want, sizeof(want), "### `%s`", all_keys[i]);
		if (!strstr(docs, want))
			fail_msg("docs/config.md lacks section %s", want);
	}
	free(example);
	free(docs);
}

static void
test_config_line_numbers(void **state)
{
	static const char text[] = "# a comment\n"		 /* 1 */
				   "\n"				 /* 2 */
				   "imap_url = http://x/INBOX\n" /* 3 */
				   "list_name = kvmarm-test\n"	 /* 4 */
				   "bogus_key = 1\n"		 /* 5 */
				   "   list_name = other\n"	 /* 6 */
				   "llm_timeout = 0\n"		 /* 7 */
				   "no equals sign here\n"	 /* 8 */
				   "  # indented comment = x\n"	 /* 9 */
				   "digest_lang = fr\n"		 /* 10 */
				   "= value\n"			 /* 11 */
				   "llm_max_tokens = 1000\n";	 /* 12 */
	struct config cfg;
	char *errs, *path;

	assert_int_equal(load_text(text, 0600, &cfg, &errs, &path), -1);
	assert_true(has_error(errs, path, 3,
			      "imap_url 'http://x/INBOX' "
			      "must start with imaps:// or imap://"));
	assert_true(has_error(errs, path, 5, "unknown key 'bogus_key'"));
	assert_true(has_error(errs, path, 6,
			      "duplicate key 'list_name' "
			      "(first set on line 4)"));
	assert_true(has_error(errs, path, 7,
			      "llm_timeout '0' must be a "
			      "whole number from 1 to 3600"));
	assert_true(has_error(errs, path, 8, "expected 'key = value'"));
	assert_true(has_error(errs, path, 10,
			      "digest_lang 'fr' must be "
			      "en or zh"));
	assert_true(has_error(errs, path, 11, "missing key"));
	assert_int_equal(count_lines(errs), 7);
	/* What was valid is kept; the duplicate did not override it. */
	assert_string_equal(cfg.list_name, "kvmarm-test");
	assert_int_equal(cfg.llm_max_tokens, 1000);
	assert_string_equal(cfg.imap_url, "");
	assert_int_equal(cfg.llm_timeout, 60);
	config_release(&cfg);
	free(errs);
	free(path);
}

static void
test_config_unknown_and_duplicate(void **state)
{
	struct config cfg;
	char *errs, *path;

	assert_int_equal(load_text("imap_user = a\nIMAP_USER = b\n"
				   "imap_user = c\nimap_user = d\n",
				   0600, &cfg, &errs, &path),
			 -1);
	/* Keys are case-sensitive: the upper-case one is unknown. */
	assert_true(has_error(errs, path, 2, "unknown key 'IMAP_USER'"));
	assert_true(has_error(errs, path, 3,
			      "duplicate key 'imap_user' "
			      "(first set on line 1)"));
	assert_true(has_error(errs, path, 4,
			      "duplicate key 'imap_user' "
			      "(first set on line 1)"));
	assert_int_equal(count_lines(errs), 3);
	assert_string_equal(cfg.imap_user, "a");
	config_release(&cfg);
	free(errs);
	free(path);
}

static void
test_config_env_secret(void **state)
{
	struct config cfg;
	char *errs, *path;

	setenv("KVMARM_TEST_PW", "Pa55-w0rd with spaces", 1);
	unsetenv("KVMARM_TEST_MISSING");
	setenv("KVMARM_TEST_EMPTY", "", 1);
	assert_int_equal(load_text("imap_password = env:KVMARM_TEST_PW\n"
				   "smtp_password = env:KVMARM_TEST_MISSING\n"
				   "llm_api_key = env:KVMARM_TEST_EMPTY\n",
				   0644, &cfg, &errs, &path),
			 -1);
	assert_string_equal(cfg.imap_password, "Pa55-w0rd with spaces");
	assert_true(has_error(errs, path, 2,
			      "smtp_password: environment "
			      "variable 'KVMARM_TEST_MISSING' is not set"));
	assert_true(has_error(errs, path, 3,
			      "llm_api_key: environment "
			      "variable 'KVMARM_TEST_EMPTY' is empty"));
	/* env: in a world-readable file is fine: no warning. */
	assert_int_equal(count_lines(errs), 2);
	assert_null(strstr(errs, "Pa55"));
	config_release(&cfg);
	free(errs);
	free(path);

	/* A bad variable name and a control character in the value. */
	setenv("KVMARM_TEST_NL", "Sup3rS3cret\nline2", 1);
	assert_int_equal(load_text("imap_password = env:1BAD\n"
				   "smtp_password = env:KVMARM_TEST_NL\n"
				   "llm_api_key = env:\n",
				   0600, &cfg, &errs, &path),
			 -1);
	assert_true(has_error(errs, path, 1, "environment variable name"));
	assert_true(has_error(errs, path, 2,
			      "'KVMARM_TEST_NL' holds a "
			      "control character"));
	assert_true(has_error(errs, path, 3, "environment variable name"));
	assert_null(strstr(errs, "Sup3rS3cret"));
	assert_string_equal(cfg.smtp_password, "");
	config_release(&cfg);
	free(errs);
	free(path);
}

/* No message, error or warning, ever shows a secret value. */
static void
test_config_secret_never_printed(void **state)
{
	static const char text[] =
	    "imap_password = Sup3rS3cret\n"		 /* 1 */
	    "smtp_password = \"Sup3rS3cret\n"		 /* 2 */
	    "Sup3rS3cret\n"				 /* 3 */
	    "llm_api_key = Sup3rS3cret\x01\n"		 /* 4 */
	    "imap_url = imap://imap.example.org/INBOX\n" /* 5 */
	    "imap_starttls = no\n"			 /* 6 */
	    "imap_pasword = Sup3rS3cret\n";		 /* 7 */
	struct config cfg;
	char *errs, *path;

	assert_int_equal(load_text(text, 0644, &cfg, &errs, &path), -1);
	assert_true(has_error(errs, path, 1,
			      "warning: imap_password is a "
			      "literal secret in a file that group or others "
			      "can read (mode 644)"));
	assert_true(has_error(errs, path, 2, "does not end with"));
	assert_true(has_error(errs, path, 3, "expected 'key = value'"));
	assert_true(has_error(errs, path, 4, "control character"));
	assert_true(has_error(errs, path, 6,
			      "warning: imap_url is imap:// "
			      "with imap_starttls = no"));
	assert_true(has_error(errs, path, 7, "unknown key 'imap_pasword'"));
	assert_int_equal(count_lines(errs), 6);
	assert_null(strstr(errs, "Sup3r"));
	config_release(&cfg);
	free(errs);
	free(path);
}

static void
test_config_literal_secret_warning(void **state)
{
	static const char text[] = "# x\nsmtp_password = hunter2\n";
	struct config cfg;
	char *errs, *path;

	/* Readable by the group only: still a warning, still valid. */
	assert_int_equal(load_text(text, 0640, &cfg, &errs, &path), 0);
	assert_true(has_error(errs, path, 2,
			      "warning: smtp_password is a "
			      "literal secret"));
	assert_int_equal(count_lines(errs), 1);
	assert_null(strstr(errs, "hunter2"));
	assert_string_equal(cfg.smtp_password, "hunter2");
	config_release(&cfg);
	free(errs);
	free(path);

	assert_int_equal(load_text(text, 0600, &cfg, &errs, &path), 0);
	assert_string_equal(errs, "");
	config_release(&cfg);
	free(errs);
	free(path);

	/* A cleartext password to the local machine is not worth a word. */
	assert_int_equal(load_text("smtp_url = smtp://127.0.0.1:14025\n"
				   "smtp_starttls = no\n"
				   "smtp_password = x\n",
				   0600, &cfg, &errs, &path),
			 0);
	assert_string_equal(errs, "");
	assert_int_equal(cfg.smtp_starttls, 0);
	config_release(&cfg);
	free(errs);
	free(path);
}

static void
test_config_moderation_warning(void **state)
{
	struct config cfg;
	char *errs, *path;

	assert_int_equal(
	    load_text("# x\nmoderation = digest\n", 0600, &cfg, &errs, &path),
	    0);
	assert_true(has_error(errs, path, 2,
			      "warning: moderation = digest "
			      "but no moderators"));
	assert_true(has_error(errs, path, 2,
			      "warning: moderation = digest "
			      "but no token_secret"));
	assert_int_equal(count_lines(errs), 2);
	config_release(&cfg);
	free(errs);
	free(path);

	setenv("KVMARM_TOKEN_SECRET", "token-secret-4", 1);
	assert_int_equal(load_text("moderation = all\n"
				   "moderators = m@example.org\n"
				   "token_secret = env:KVMARM_TOKEN_SECRET\n",
				   0600, &cfg, &errs, &path),
			 0);
	assert_string_equal(errs, "");
	config_release(&cfg);
	free(errs);
	free(path);
}

struct bad_case {
	const char *line;
	const char *message;
};

static const struct bad_case bad_cases[] = {
	/* URLs */
	{ "imap_url = http://imap.example.org/INBOX",
	  "must start with imaps:// or imap://" },
	{ "imap_url = imaps:///INBOX", "no host" },
	{ "imap_url = imaps://imap.example.org", "names no mailbox" },
	{ "imap_url = imaps://imap.example.org/", "names no mailbox" },
	{ "imap_url = imaps://imap.example.org:0/INBOX", "port must be" },
	{ "imap_url = imaps://imap.example.org:99999/INBOX", "port must be" },
	{ "imap_url = imaps://imap.example.org:99x/INBOX", "port must be" },
	{ "imap_url = imaps://imap.example.org:/INBOX", "port must be" },
	{ "imap_url = imaps://bot:pw@imap.example.org/INBOX",
	  "credentials do not belong" },
	{ "imap_url = imaps://imap example.org/INBOX", "bad character" },
	{ "imap_url = imaps://[zz]/INBOX", "bad IPv6" },
	{ "imap_url = IMAPS://imap.example.org/INBOX", "must start with" },
	{ "smtp_url = smtps://smtp.example.org:465/relay",
	  "must not have a path" },
	{ "smtp_url = smtp://", "no host" },
	{ "smtp_url = imaps://smtp.example.org",
	  "must start with smtps:// or smtp://" },
	{ "llm_url = ftp://llm.example.org/v1",
	  "must start with https:// or http://" },
	{ "llm_url = https://", "no host" },
	/* schedule */
	{ "digest_schedule = Mon 9:00",
	  "digest_schedule 'Mon 9:00' must be a weekday Mon..Sun" },
	{ "digest_schedule = Monday 09:00", "must be a weekday" },
	{ "digest_schedule = mon 09:00", "must be a weekday" },
	{ "digest_schedule = Mon 24:00", "must be a weekday" },
	{ "digest_schedule = Mon 09:60", "must be a weekday" },
	{ "digest_schedule = Mon09:00", "must be a weekday" },
	{ "digest_schedule = Mon 09:00 UTC", "must be a weekday" },
	{ "digest_schedule = 09:00", "must be a weekday" },
	/* time zone */
	{ "digest_timezone = Mars/Olympus_Mons", "is not a known time zone" },
	{ "digest_timezone = ../../etc/passwd", "is not a time zone name" },
	{ "digest_timezone = /etc/localtime", "is not a time zone name" },
	{ "digest_timezone = Europe", "is not a time zone file" },
	{ "digest_timezone = zone.tab", "is not a time zone name" },
	{ "digest_timezone =", "is not a time zone name" },
	/* addresses */
	{ "bot_address = Bot <bot@example.org>", "is not a mail address" },
	{ "bot_address = bot", "is not a mail address" },
	{ "bot_address = bot@", "is not a mail address" },
	{ "list_address = @lists.linux.dev", "is not a mail address" },
	{ "list_address = kvmarm@lists..linux.dev", "is not a mail address" },
	{ "digest_recipients = a@example.org, b example.org, c@example.org",
	  "digest_recipients: 'b example.org' is not a mail address" },
	{ "moderators = a@example.org;b@example.org",
	  "is not a mail address" },
	/* enumerations and names */
	{ "list_name = kvm arm", "must be letters, digits" },
	{ "list_name =", "must be letters, digits" },
	{ "digest_lang = EN", "must be en or zh" },
	{ "moderation = some", "must be all, digest or none" },
	{ "imap_starttls = true", "must be yes or no" },
	{ "smtp_starttls =", "must be yes or no" },
	/* numbers */
	{ "imap_poll_seconds = 4", "from 5 to 86400" },
	{ "imap_poll_seconds = 99999999999999999999", "from 5 to 86400" },
	{ "imap_poll_seconds = 60s", "from 5 to 86400" },
	{ "imap_poll_seconds = +60", "from 5 to 86400" },
	{ "llm_timeout = 3601", "from 1 to 3600" },
	{ "llm_max_tokens = 15", "from 16 to 32768" },
	{ "llm_max_tokens =", "from 16 to 32768" },
	{ "llm_max_concurrent = 17", "from 1 to 16" },
	{ "llm_token_budget = 999", "at least 1000" },
	{ "llm_temperature = 2.5", "from 0 to 2" },
	{ "llm_temperature = 1,5", "from 0 to 2" },
	{ "llm_temperature = -0.1", "from 0 to 2" },
	{ "llm_temperature = .5", "from 0 to 2" },
	{ "llm_temperature = 1.", "from 0 to 2" },
	/* files */
	{ "imap_ca_file = /nonexistent/ca.pem", "No such file" },
	{ "smtp_ca_file = /", "is not a regular file" },
	/* syntax */
	{ "llm_model = \"unterminated", "does not end with" },
	{ "llm_model = \"", "does not end with" },
};

/* Each bad value, preceded by two good lines, is reported on line 3. */
static void
test_config_bad_values(void **state)
{
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct config cfg;
		char *text, *errs, *path;

		assert_true(asprintf(&text,
				     "# case %zu\nstate_dir = /tmp\n"
				     "%s\n",
				     i, bad_cases[i].line) > 0);
		if (load_text(text, 0600, &cfg, &errs, &path) != -1 ||
		    !has_error(errs, path, 3, bad_cases[i].message) ||
		    count_lines(errs) != 1)
			fail_msg("'%s': expected '%s' on line 3, got:\n%s",
				 bad_cases[i].line, bad_cases[i].message, errs);
		assert_string_equal(cfg.state_dir, "/tmp");
		config_release(&cfg);
		free(text);
		free(errs);
		free(path);
	}
}

static const char *const good_lines[] = {
	"imap_url = imap://127.0.0.1:14143/INBOX",
	"imap_url = imaps://[::1]:14993/Lists/kvmarm",
	"imap_url = imaps://imap.example.org/INBOX",
	"smtp_url = smtp://localhost:14587",
	"smtp_url = smtps://smtp.example.org:465/",
	"llm_url = http://127.0.0.1:14080/v1",
	"llm_url =",
	"digest_schedule = Sun 23:59",
	"digest_schedule = Wed 00:00",
	"digest_schedule =",
	"digest_timezone = UTC",
	"bot_address = kvmarm-bot+digest@example.org",
	"bot_address = bot@localhost",
	"list_address =",
	"digest_recipients = ,a@example.org,, b@example.org ,",
	"moderators =",
	"list_name = linux-arm-kernel",
	"llm_temperature = 0",
	"llm_temperature = 2",
	"llm_temperature = 1.25",
	"llm_token_budget = 9999999999",
	"imap_ca_file = /etc/passwd",
	"moderation = none",
};

static void
test_config_good_values(void **state)
{
	for (size_t i = 0; i < sizeof(good_lines) / sizeof(good_lines[0]);
	     i++) {
		struct config cfg;
		char *text, *errs, *path;

		assert_true(asprintf(&text, "%s\n", good_lines[i]) > 0);
		if (load_text(text, 0600, &cfg, &errs, &path) != 0)
			fail_msg("'%s' rejected:\n%s", good_lines[i], errs);
		assert_string_equal(errs, "");
		config_release(&cfg);
		free(text);
		free(errs);
		free(path);
	}
}

static void
test_config_timezone_real_zone(void **state)
{
	struct config cfg;
	char *errs, *path;

	if (access("/usr/share/zoneinfo/Europe/London", R_OK) < 0 ||
	    getenv("TZDIR"))
		skip();
	assert_int_equal(load_text("digest_timezone = Europe/London\n", 0600,
				   &cfg, &errs, &path),
			 0);
	assert_string_equal(cfg.digest_timezone, "Europe/London");
	config_release(&cfg);
	free(errs);
	free(path);
}

static void
test_config_syntax(void **state)
{
	static const char text[] =
	    "\xef\xbb\xbf# byte order mark first\r\n"
	    "llm_model = \"  spaced # model  \"\r\n"
	    "imap_user = bot#1@example.org   \n"
	    "\t smtp_user\t=\tsmtp \"user\"\n"
	    "llm_temperature=1.5\n"
	    "state_dir = \"\"\n"
	    "list_address = \"kvmarm@lists.linux.dev\"\n"
	    "llm_token_budget = 123456789012\n"
	    "imap_poll_seconds = 3600"; /* no final newline */
	struct config cfg;
	char *errs, *path;

	assert_int_equal(load_text(text, 0600, &cfg, &errs, &path), 0);
	assert_string_equal(errs, "");
	assert_string_equal(cfg.llm_model, "  spaced # model  ");
	assert_string_equal(cfg.imap_user, "bot#1@example.org");
	assert_string_equal(cfg.smtp_user, "smtp \"user\"");
	assert_true(cfg.llm_temperature > 1.499 && cfg.llm_temperature < 1.501);
	assert_string_equal(cfg.state_dir, "");
	assert_string_equal(cfg.list_address, "kvmarm@lists.linux.dev");
	assert_true(cfg.llm_token_budget == 123456789012L);
	assert_int_equal(cfg.imap_poll_seconds, 3600);
	config_release(&cfg);
	free(errs);
	free(path);

	/* A NUL byte and an overlong line are errors with line numbers. */
	char big[6000];
	memset(big, 'x', sizeof(big));
	memcpy(big, "llm_model = ", 12);
	big[sizeof(big) - 1] = '\0';
	char *longtext;
	assert_true(
	    asprintf(&longtext, "imap_user = a\n%s\nsmtp_user = b\n", big) > 0);
	assert_int_equal(load_text(longtext, 0600, &cfg, &errs, &path), -1);
	assert_true(has_error(errs, path, 2, "line longer than"));
	assert_int_equal(count_lines(errs), 1);
	assert_string_equal(cfg.smtp_user, "b");
	config_release(&cfg);
	free(errs);
	free(longtext);

	static const char nul[] = "imap_user = a\nsmtp_user = b\0c\n";
	assert_int_equal(test_write_file(path, nul, sizeof(nul) - 1), 0);
	assert_int_equal(config_init(&cfg), 0);
	size_t len;
	FILE *out = open_memstream(&errs, &len);
	assert_int_equal(config_load(&cfg, path, out), -1);
	fclose(out);
	assert_true(has_error(errs, path, 2, "NUL byte"));
	config_release(&cfg);
	free(errs);
	free(path);
}

static void
test_config_file_errors(void **state)
{
	struct config cfg;
	char *errs, *dir, *path;
	size_t len;
	FILE *out;

	assert_int_equal(config_init(&cfg), 0);
	out = open_memstream(&errs, &len);
	assert_int_equal(config_load(&cfg, "/nonexistent/kvmarm.conf", out),
			 -1);
	fclose(out);
	assert_string_equal(errs, "/nonexistent/kvmarm.conf: cannot open: "
				  "No such file or directory\n");
	free(errs);

	dir = test_tmpdir("config-dir");
	assert_non_null(dir);
	out = open_memstream(&errs, &len);
	assert_int_equal(config_load(&cfg, dir, out), -1);
	fclose(out);
	assert_non_null(strstr(errs, "not a regular file"));
	free(errs);

	/* An empty file is valid and leaves the defaults. */
	assert_true(asprintf(&path, "%s/empty.conf", dir) > 0);
	assert_int_equal(test_write_file(path, "", 0), 0);
	assert_int_equal(config_load(&cfg, path, NULL), 0);
	assert_string_equal(cfg.list_name, "kvmarm");
	config_release(&cfg);
	free(path);
	free(dir);
}

/* Loading again (a reload) overrides what the first load set. */
static void
test_config_reload(void **state)
{
	struct config cfg;
	char *errs, *path, *path2;

	setenv("KVMARM_TEST_PW", "first", 1);
	assert_int_equal(load_text("imap_password = env:KVMARM_TEST_PW\n"
				   "llm_model = one\n",
				   0600, &cfg, &errs, &path),
			 0);
	free(errs);
	path2 = write_conf("llm_model = two\nimap_password = second\n", 0600);
	assert_int_equal(config_load(&cfg, path2, NULL), 0);
	assert_string_equal(cfg.llm_model, "two");
	assert_string_equal(cfg.imap_password, "second");
	config_release(&cfg);
	free(path);
	free(path2);
}

static void
test_config_split_list(void **state)
{
	char **items;
	size_t n;

	assert_int_equal(
	    config_split_list(" a@x.org ,b@y.org,, \t,c ", &items, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(items[0], "a@x.org");
	assert_string_equal(items[1], "b@y.org");
	assert_string_equal(items[2], "c");
	config_free_list(items, n);

	assert_int_equal(config_split_list(" , ,", &items, &n), 0);
	assert_int_equal(n, 0);
	assert_null(items);
	config_free_list(items, n);

	assert_int_equal(config_split_list("", &items, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(config_split_list(NULL, &items, &n), 0);
	assert_int_equal(n, 0);

	assert_int_equal(config_split_list("single", &items, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(items[0], "single");
	config_free_list(items, n);
}

static void
test_config_parse_schedule(void **state)
{
	int d = -1, h = -1, m = -1;

	assert_int_equal(config_parse_schedule("Mon 09:00", &d, &h, &m), 0);
	assert_int_equal(d, 1);
	assert_int_equal(h, 9);
	assert_int_equal(m, 0);
	assert_int_equal(config_parse_schedule("Sun\t 23:59", &d, &h, &m), 0);
	assert_int_equal(d, 0);
	assert_int_equal(h, 23);
	assert_int_equal(m, 59);
	assert_int_equal(config_parse_schedule("Sat 00:01", &d, &h, &m), 0);
	assert_int_equal(d, 6);
	assert_int_equal(m, 1);
	assert_int_equal(config_parse_schedule("Sat 0:01", &d, &h, &m), -1);
	assert_int_equal(config_parse_schedule("Sat 00:01 ", &d, &h, &m), -1);
	assert_int_equal(config_parse_schedule("Sa 00:01", &d, &h, &m), -1);
	assert_int_equal(config_parse_schedule("", &d, &h, &m), -1);
	assert_int_equal(config_parse_schedule("Sat", &d, &h, &m), -1);
	assert_int_equal(config_parse_schedule("Sat 00", &d, &h, &m), -1);
	/* The failures left the last good result alone. */
	assert_int_equal(d, 6);
}

static void
test_config_check_config_command(void **state)
{
	char *check_example[] = { "-c", EXAMPLE, "check-config", NULL };
	char *out, *err, *path, *ok_msg;
	int r;

	set_example_env();
	r = test_run_bot(check_example, &out, &err);
	if (r != 0)
		fail_msg("exit %d, stderr:\n%s", r, err);
	assert_string_equal(out, EXAMPLE ": ok\n");
	assert_string_equal(err, "");
	free(out);
	free(err);

	/* A variable the example names is missing: its line, no value. */
	unsetenv("KVMARM_SMTP_PASSWORD");
	r = test_run_bot(check_example, &out, &err);
	assert_int_equal(r, 1);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "KVMARM_SMTP_PASSWORD' is not set"));
	assert_null(strstr(err, "imap-secret-1"));
	assert_null(strstr(err, "llm-secret-3"));
	free(out);
	free(err);
	set_example_env();

	path = write_conf("# x\nimap_url = imaps://h/INBOX\n"
			  "imap_uzer = bot\n"
			  "digest_schedule = Mon 25:00\n",
			  0600);
	r = test_run_bot((char *[]){ "-c", path, "check-config", NULL }, &out,
			 &err);
	assert_int_equal(r, 1);
	assert_string_equal(out, "");
	assert_true(has_error(err, path, 3, "unknown key 'imap_uzer'"));
	assert_true(has_error(err, path, 4, "digest_schedule 'Mon 25:00'"));
	assert_true(asprintf(&ok_msg, "%s: ok", path) > 0);
	assert_null(strstr(err, ok_msg));
	free(ok_msg);
	free(out);
	free(err);
	free(path);

	r = test_run_bot((char *[]){ "check-config", NULL }, &out, &err);
	assert_int_equal(r, 2);
	assert_non_null(strstr(err, "a configuration file is required"));
	free(out);
	free(err);

	r = test_run_bot((char *[]){ "check-config", "--help", NULL }, &out,
			 &err);
	assert_int_equal(r, 0);
	assert_non_null(strstr(out, "usage: kvmarm-bot -c FILE check-config"));
	free(out);
	free(err);

	r = test_run_bot(
	    (char *[]){ "-c", EXAMPLE, "check-config", "extra", NULL }, &out,
	    &err);
	assert_int_equal(r, 2);
	assert_non_null(strstr(err, "unexpected argument 'extra'"));
	free(out);
	free(err);
}

/* The commands mailbox must be another mailbox than imap_url's. */
static void
test_config_commands_mailbox(void **state)
{
	struct config cfg;
	char *errs, *path;

	assert_int_equal(load_text("imap_url = imaps://h/INBOX\n"
				   "commands_imap_url = imaps://h/INBOX\n",
				   0600, &cfg, &errs, &path),
			 0);
	assert_true(has_error(errs, path, 2,
			      "warning: commands_imap_url is imap_url"));
	config_release(&cfg);
	free(errs);
	free(path);
	setenv("KVMARM_TEST_PW", "commands-box-pw", 1);
	assert_int_equal(load_text("imap_url = imap://127.0.0.1:14144/k.*\n"
				   "imap_starttls = no\n"
				   "commands_imap_url = imaps://h/INBOX\n"
				   "commands_imap_password = env:KVMARM_TEST_PW\n",
				   0600, &cfg, &errs, &path),
			 0);
	assert_string_equal(errs, "");
	assert_string_equal(cfg.commands_imap_url, "imaps://h/INBOX");
	config_release(&cfg);
	free(errs);
	free(path);
}

TEST_LIST(config,
	cmocka_unit_test(test_config_commands_mailbox),
	cmocka_unit_test(test_config_defaults),
	cmocka_unit_test(test_config_example_valid),
	cmocka_unit_test(test_config_example_and_docs_complete),
	cmocka_unit_test(test_config_line_numbers),
	cmocka_unit_test(test_config_unknown_and_duplicate),
	cmocka_unit_test(test_config_env_secret),
	cmocka_unit_test(test_config_secret_never_printed),
	cmocka_unit_test(test_config_literal_secret_warning),
	cmocka_unit_test(test_config_moderation_warning),
	cmocka_unit_test(test_config_bad_values),
	cmocka_unit_test(test_config_good_values),
	cmocka_unit_test(test_config_timezone_real_zone),
	cmocka_unit_test(test_config_syntax),
	cmocka_unit_test(test_config_file_errors),
	cmocka_unit_test(test_config_reload),
	cmocka_unit_test(test_config_split_list),
	cmocka_unit_test(test_config_parse_schedule),
	cmocka_unit_test(test_config_check_config_command),
);
