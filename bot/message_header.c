/*
 * message_header.c - the header fields of a mail, as the bot needs them.
 *
 * message_parse() lets libetpan parse the header block and hands us the
 * field list.  We pick the ids (thread-safe: only "x@y" ids thread),
 * addresses (lowercased, unique, groups expanded), the date in UTC,
 * and decoded texts (charset.c).  A field libetpan could not parse
 * arrives as an "optional field" with its raw value; for those we fall
 * back to scanning the raw text, so a broken From or References still
 * yields what can be read from it.  Also message_id_normalise(), which
 * shares the id scanner.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <libetpan/libetpan.h>

#include "buf.h"
#include "charset.h"
#include "message.h"
#include "message_header.h"
#include "strset.h"

/* A growing list of unique strings (References, To, Cc). */
struct strvec {
	char **v;		/* owned until handed to the record */
	size_t n;
	size_t cap;
	struct strset seen;
};

struct parse {
	struct message *msg;
	int nomem;
	struct strvec refs, to, cc;
};

/* --- small helpers --------------------------------------------------- */

static char *
xstrndup(struct parse *ps, const char *s, size_t n)
{
	char *d = strndup(s, n);

	if (!d)
		ps->nomem = 1;
	return d;
}

/* Append a copy of s unless already there; 1 added, 0 not, -1 nomem. */
static int
strvec_add_unique(struct strvec *v, const char *s, size_t n)
{
	char *copy;
	int r;

	if (strset_has(&v->seen, s, n))
		return 0;
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		char **grown = realloc(v->v, cap * sizeof(*grown));

		if (!grown)
			return -1;
		v->v = grown;
		v->cap = cap;
	}
	copy = strndup(s, n);
	if (!copy)
		return -1;
	r = strset_add(&v->seen, copy, n);
	if (r < 0) {
		free(copy);
		return -1;
	}
	v->v[v->n++] = copy;
	return 1;
}

/* --- message ids ----------------------------------------------------- */

static int
id_chars_ok(const char *s, size_t n)
{
	if (!n || n > MESSAGE_MAX_ID)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c >= 0x7f || c == '<' || c == '>')
			return 0;
	}
	return 1;
}

/* An id good enough to thread on: printable, with "x@y". */
static int
id_valid(const char *s, size_t n)
{
	const char *at;

	if (!id_chars_ok(s, n))
		return 0;
	at = memrchr(s, '@', n);
	return at && at != s && at != s + n - 1;
}

static void
trim(const char **s, size_t *n)
{
	while (*n && isspace((unsigned char)**s)) {
		(*s)++;
		(*n)--;
	}
	while (*n && isspace((unsigned char)(*s)[*n - 1]))
		(*n)--;
}

/*
 * Call fn on the contents of every "<...>" outside comments and quoted
 * strings, in order, until it returns nonzero.  Returns the number of
 * bracketed tokens seen.
 */
static size_t
scan_ids(const char *s, size_t n,
	 int (*fn)(void *arg, const char *id, size_t len), void *arg)
{
	size_t i = 0, seen = 0;
	int depth = 0;

	while (i < n) {
		char c = s[i];

		if (c == '\\' && i + 1 < n) {
			i += 2;
			continue;
		}
		if (depth) {
			depth += c == '(' ? 1 : c == ')' ? -1 : 0;
			i++;
			continue;
		}
		if (c == '(') {
			depth = 1;
			i++;
		} else if (c == '"') {
			for (i++; i < n && s[i] != '"'; i++)
				if (s[i] == '\\')
					i++;
			i++;
		} else if (c == '<') {
			size_t b = ++i, len;
			const char *id;

			while (i < n && s[i] != '>' && s[i] != '<')
				i++;
			if (i >= n || s[i] == '<')
				continue;	/* unterminated: rescan */
			id = s + b;
			len = i - b;
			i++;
			trim(&id, &len);
			seen++;
			if (fn(arg, id, len))
				break;
		} else {
			i++;
		}
	}
	return seen;
}

struct first_id {
	const char *id;
	size_t len;
};

static int
take_first_valid(void *arg, const char *id, size_t len)
{
	struct first_id *f = arg;

	if (!id_valid(id, len))
		return 0;
	f->id = id;
	f->len = len;
	return 1;
}

/* The text with comments removed and trimmed, if it is one token. */
static int
bare_token(const char *s, size_t n, struct buf *out)
{
	int depth = 0;

	for (size_t i = 0; i < n; i++) {
		char c = s[i];

		if (c == '(')
			depth++;
		else if (c == ')' && depth)
			depth--;
		else if (!depth && buf_addc(out, c) < 0)
			return -1;
	}
	return 0;
}

char *
message_id_normalise(const char *text)
{
	struct first_id f = { 0 };
	struct buf bare = BUF_INIT;
	const char *s;
	size_t n, seen;
	char *res = NULL;

	if (!text)
		return NULL;
	n = strnlen(text, 64 * 1024);
	seen = scan_ids(text, n, take_first_valid, &f);
	if (f.id)
		return strndup(f.id, f.len);
	if (seen)
		return NULL;
	/* no brackets at all: accept a lone "id@host" */
	buf_init(&bare, 0);
	if (bare_token(text, n, &bare) == 0) {
		s = bare.data;
		n = bare.len;
		trim(&s, &n);
		if (id_valid(s, n))
			res = strndup(s, n);
	}
	buf_release(&bare);
	return res;
}

/* Message-ID: any printable id is kept, with or without '@'. */
static char *
own_id(struct parse *ps, const char *typed, const char *raw)
{
	const char *s;
	size_t n;
	char *id;

	if (typed) {
		s = typed;
		n = strlen(s);
		trim(&s, &n);
		if (id_chars_ok(s, n))
			return xstrndup(ps, s, n);
	}
	if (!raw)
		return NULL;
	id = message_id_normalise(raw);
	if (id)
		return id;
	s = raw;
	n = strlen(raw);
	trim(&s, &n);
	if (n >= 2 && s[0] == '<' && s[n - 1] == '>') {
		s++;
		n -= 2;
		trim(&s, &n);
	}
	return id_chars_ok(s, n) ? xstrndup(ps, s, n) : NULL;
}

static int
add_reference(void *arg, const char *id, size_t len)
{
	struct parse *ps = arg;

	if (id_valid(id, len) && strvec_add_unique(&ps->refs, id, len) < 0)
		ps->nomem = 1;
	return 0;
}

/*
 * Keep the References in order, unique and without the mail itself;
 * over the cap, the first (the thread root) and the newest ones.
 */
static void
finish_references(struct parse *ps)
{
	struct message *msg = ps->msg;
	struct strvec *v = &ps->refs;
	size_t i, w = 0, keep_tail;

	for (i = 0; i < v->n; i++) {
		if (msg->message_id && !strcmp(v->v[i], msg->message_id)) {
			free(v->v[i]);
			continue;
		}
		v->v[w++] = v->v[i];
	}
	v->n = w;
	if (v->n > MESSAGE_MAX_REFERENCES) {
		keep_tail = MESSAGE_MAX_REFERENCES - 1;
		for (i = 1; i < v->n - keep_tail; i++)
			free(v->v[i]);
		memmove(v->v + 1, v->v + v->n - keep_tail,
			keep_tail * sizeof(*v->v));
		v->n = MESSAGE_MAX_REFERENCES;
		msg->flags |= MESSAGE_REFS_TRUNCATED;
	}
	msg->references = v->v;
	msg->n_references = v->n;
	strset_release(&v->seen);
	memset(v, 0, sizeof(*v));
}

/* --- addresses ------------------------------------------------------- */

/* Lowercased copy of a plausible addr-spec, NULL when not plausible. */
static char *
address(struct parse *ps, const char *s, size_t n)
{
	struct buf b = BUF_INIT;
	char *out;

	trim(&s, &n);
	if (!n || n > 998)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= ' ' || c == 0x7f || strchr("<>(),;\"", c))
			return NULL;
	}
	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++)
		if (buf_addc(&b, (char)tolower((unsigned char)s[i])) < 0)
			ps->nomem = 1;
	if (!charset_utf8_valid(b.data, b.len)) {
		buf_release(&b);
		return NULL;
	}
	out = buf_detach(&b, NULL);
	if (!out)
		ps->nomem = 1;
	return out;
}

static void
add_address(struct parse *ps, struct strvec *v, const char *s, size_t n)
{
	char *a;

	if (v->n >= MESSAGE_MAX_ADDRESSES)
		return;
	a = address(ps, s, n);
	if (a && strvec_add_unique(v, a, strlen(a)) < 0)
		ps->nomem = 1;
	free(a);
}

static void
add_mailbox_list(struct parse *ps, struct strvec *v,
		 const struct mailimf_mailbox_list *l)
{
	clistiter *it;

	if (!l || !l->mb_list)
		return;
	for (it = clist_begin(l->mb_list); it; it = clist_next(it)) {
		const struct mailimf_mailbox *mb = clist_content(it);

		if (mb && mb->mb_addr_spec)
			add_address(ps, v, mb->mb_addr_spec,
				    strlen(mb->mb_addr_spec));
	}
}

static void
add_address_list(struct parse *ps, struct strvec *v,
		 const struct mailimf_address_list *l)
{
	clistiter *it;

	if (!l || !l->ad_list)
		return;
	for (it = clist_begin(l->ad_list); it; it = clist_next(it)) {
		const struct mailimf_address *a = clist_content(it);

		if (!a)
			continue;
		if (a->ad_type == MAILIMF_ADDRESS_MAILBOX &&
		    a->ad_data.ad_mailbox && a->ad_data.ad_mailbox->mb_addr_spec)
			add_address(ps, v, a->ad_data.ad_mailbox->mb_addr_spec,
				    strlen(a->ad_data.ad_mailbox->mb_addr_spec));
		else if (a->ad_type == MAILIMF_ADDRESS_GROUP &&
			 a->ad_data.ad_group)
			add_mailbox_list(ps, v, a->ad_data.ad_group->grp_mb_list);
	}
}

/*
 * An address field libetpan could not parse: take "<x@y>" or a bare
 * "x@y" from every comma-separated piece.
 */
static void
add_raw_addresses(struct parse *ps, struct strvec *v, const char *raw)
{
	size_t i = 0, n = strlen(raw), b;
	int quote = 0, depth = 0;

	for (b = 0; i <= n; i++) {
		char c = i < n ? raw[i] : ',';

		if (c == '"' && !depth)
			quote = !quote;
		else if (c == '(' && !quote)
			depth++;
		else if (c == ')' && !quote && depth)
			depth--;
		if ((c != ',' && c != ';') || quote || depth)
			continue;
		{
			const char *p = raw + b, *lt, *gt, *colon;
			size_t pn = i - b;

			lt = memchr(p, '<', pn);
			gt = lt ? memchr(lt, '>', pn - (size_t)(lt - p)) : NULL;
			if (lt && gt) {
				add_address(ps, v, lt + 1, (size_t)(gt - lt - 1));
			} else {
				colon = memchr(p, ':', pn);	/* group name */
				if (colon) {
					pn -= (size_t)(colon + 1 - p);
					p = colon + 1;
				}
				if (memchr(p, '@', pn))
					add_address(ps, v, p, pn);
			}
		}
		b = i + 1;
	}
}

/* A display name: quotes and backslash escapes removed, then decoded. */
static char *
display_name(struct parse *ps, const char *raw, size_t n)
{
	struct buf b = BUF_INIT;
	char *out = NULL;
	unsigned st;

	buf_init(&b, 0);
	for (size_t i = 0; i < n; i++) {
		if (raw[i] == '"')
			continue;
		if (raw[i] == '\\' && i + 1 < n)
			i++;
		if (buf_addc(&b, raw[i]) < 0)
			ps->nomem = 1;
	}
	st = charset_decode_header(b.data, b.len, &out);
	buf_release(&b);
	if (st & CHARSET_NOMEM)
		ps->nomem = 1;
	if (st & (CHARSET_UNKNOWN | CHARSET_INVALID))
		ps->msg->flags |= MESSAGE_BAD_CHARSET;
	return out;
}

static void
from_typed(struct parse *ps, const struct mailimf_from *from)
{
	struct message *msg = ps->msg;
	const struct mailimf_mailbox *mb;

	if (!from || !from->frm_mb_list || !from->frm_mb_list->mb_list ||
	    clist_isempty(from->frm_mb_list->mb_list))
		return;
	mb = clist_content(clist_begin(from->frm_mb_list->mb_list));
	if (!mb)
		return;
	if (mb->mb_display_name)
		msg->from_name = display_name(ps, mb->mb_display_name,
					      strlen(mb->mb_display_name));
	if (mb->mb_addr_spec)
		msg->from_addr = address(ps, mb->mb_addr_spec,
					 strlen(mb->mb_addr_spec));
}

static void
from_raw(struct parse *ps, const char *raw)
{
	struct message *msg = ps->msg;
	const char *lt = strchr(raw, '<'), *gt = lt ? strchr(lt, '>') : NULL;

	if (lt && gt) {
		msg->from_addr = address(ps, lt + 1, (size_t)(gt - lt - 1));
		msg->from_name = display_name(ps, raw, (size_t)(lt - raw));
		return;
	}
	if (strchr(raw, '@'))
		msg->from_addr = address(ps, raw, strlen(raw));
}

/* --- date ------------------------------------------------------------ */

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int
date_epoch(const struct mailimf_date_time *dt, int64_t *out)
{
	int y = dt->dt_year, zone = dt->dt_zone, zh, zm;
	int64_t t;

	if (y >= 0 && y < 50)
		y += 2000;		/* RFC 5322 obsolete two-digit years */
	else if (y >= 50 && y < 1000)
		y += 1900;
	if (y < 1900 || y > 9999 || dt->dt_month < 1 || dt->dt_month > 12 ||
	    dt->dt_day < 1 || dt->dt_day > 31 || dt->dt_hour < 0 ||
	    dt->dt_hour > 23 || dt->dt_min < 0 || dt->dt_min > 59 ||
	    dt->dt_sec < 0 || dt->dt_sec > 60)
		return -1;
	if (zone < -9959 || zone > 9959)
		zone = 0;
	zh = zone / 100;
	zm = zone % 100;
	if (zm <= -60 || zm >= 60)
		zh = zm = 0;
	t = days_from_civil(y, dt->dt_month, dt->dt_day) * 86400 +
	    dt->dt_hour * 3600 + dt->dt_min * 60 + dt->dt_sec;
	*out = t - (int64_t)zh * 3600 - (int64_t)zm * 60;
	return 0;
}

/* --- header fields --------------------------------------------------- */

/* Decoded one-line value of a header, "" when absent. */
static char *
header_text(struct parse *ps, const char *raw)
{
	char *out = NULL;
	unsigned st;

	st = charset_decode_header(raw, raw ? strlen(raw) : 0, &out);
	if (st & CHARSET_NOMEM)
		ps->nomem = 1;
	if (st & (CHARSET_UNKNOWN | CHARSET_INVALID))
		ps->msg->flags |= MESSAGE_BAD_CHARSET;
	return out;
}

static int
named(const struct mailimf_optional_field *f, const char *name)
{
	return f && f->fld_name && f->fld_value &&
	       !strcasecmp(f->fld_name, name);
}

static void
set_once(struct parse *ps, char **slot, const char *raw)
{
	if (!*slot)
		*slot = header_text(ps, raw);
}

static void
optional_field(struct parse *ps, const struct mailimf_optional_field *f,
	       const char **raw_mid, const char **raw_irt, int *have_from,
	       int *have_date)
{
	struct message *msg = ps->msg;

	if (named(f, "List-Id")) {
		set_once(ps, &msg->list_id, f->fld_value);
	} else if (named(f, "Auto-Submitted")) {
		set_once(ps, &msg->auto_submitted, f->fld_value);
	} else if (named(f, "Precedence")) {
		set_once(ps, &msg->precedence, f->fld_value);
	} else if (named(f, "X-Loop")) {
		set_once(ps, &msg->x_loop, f->fld_value);
	} else if (named(f, "Subject")) {
		set_once(ps, &msg->subject, f->fld_value);
	} else if (named(f, "Message-ID")) {
		if (!*raw_mid)
			*raw_mid = f->fld_value;
	} else if (named(f, "In-Reply-To")) {
		if (!*raw_irt)
			*raw_irt = f->fld_value;
	} else if (named(f, "References")) {
		scan_ids(f->fld_value, strlen(f->fld_value), add_reference,
			 ps);
	} else if (named(f, "From")) {
		if (!*have_from) {
			*have_from = 1;
			from_raw(ps, f->fld_value);
		}
	} else if (named(f, "To")) {
		add_raw_addresses(ps, &ps->to, f->fld_value);
	} else if (named(f, "Cc")) {
		add_raw_addresses(ps, &ps->cc, f->fld_value);
	} else if (named(f, "Date")) {
		*have_date = 1;
	}
}

static void
header_fields(struct parse *ps, const struct mailimf_fields *fields)
{
	struct message *msg = ps->msg;
	const char *typed_mid = NULL, *raw_mid = NULL, *raw_irt = NULL;
	int have_from = 0, have_date = 0, have_mid = 0;
	struct first_id irt = { 0 };
	clistiter *it, *j;

	for (it = clist_begin(fields->fld_list); it; it = clist_next(it)) {
		const struct mailimf_field *f = clist_content(it);

		if (!f)
			continue;
		switch (f->fld_type) {
		case MAILIMF_FIELD_MESSAGE_ID:
			if (!have_mid && !raw_mid && f->fld_data.fld_message_id) {
				typed_mid = f->fld_data.fld_message_id->mid_value;
				have_mid = 1;
			}
			break;
		case MAILIMF_FIELD_IN_REPLY_TO:
			if (irt.id || !f->fld_data.fld_in_reply_to)
				break;
			for (j = clist_begin(f->fld_data.fld_in_reply_to->mid_list);
			     j && !irt.id; j = clist_next(j)) {
				const char *id = clist_content(j);

				if (id)
					take_first_valid(&irt, id, strlen(id));
			}
			break;
		case MAILIMF_FIELD_REFERENCES:
			if (!f->fld_data.fld_references)
				break;
			for (j = clist_begin(f->fld_data.fld_references->mid_list);
			     j; j = clist_next(j)) {
				const char *id = clist_content(j);

				if (id)
					add_reference(ps, id, strlen(id));
			}
			break;
		case MAILIMF_FIELD_FROM:
			if (!have_from) {
				have_from = 1;
				from_typed(ps, f->fld_data.fld_from);
			}
			break;
		case MAILIMF_FIELD_TO:
			if (f->fld_data.fld_to)
				add_address_list(ps, &ps->to,
						 f->fld_data.fld_to->to_addr_list);
			break;
		case MAILIMF_FIELD_CC:
			if (f->fld_data.fld_cc)
				add_address_list(ps, &ps->cc,
						 f->fld_data.fld_cc->cc_addr_list);
			break;
		case MAILIMF_FIELD_ORIG_DATE:
			if (!have_date && f->fld_data.fld_orig_date &&
			    f->fld_data.fld_orig_date->dt_date_time &&
			    date_epoch(f->fld_data.fld_orig_date->dt_date_time,
				       &msg->date) == 0)
				have_date = 2;
			else if (!have_date)
				have_date = 1;
			break;
		case MAILIMF_FIELD_SUBJECT:
			if (f->fld_data.fld_subject)
				set_once(ps, &msg->subject,
					 f->fld_data.fld_subject->sbj_value);
			break;
		case MAILIMF_FIELD_OPTIONAL_FIELD:
			optional_field(ps, f->fld_data.fld_optional_field,
				       &raw_mid, &raw_irt, &have_from,
				       &have_date);
			break;
		default:
			break;
		}
	}
	msg->message_id = own_id(ps, typed_mid, typed_mid ? NULL : raw_mid);
	if (!irt.id && raw_irt)
		scan_ids(raw_irt, strlen(raw_irt), take_first_valid, &irt);
	if (irt.id)
		msg->in_reply_to = xstrndup(ps, irt.id, irt.len);
	if (have_date != 2) {
		msg->date = 0;
		msg->flags |= MESSAGE_BAD_DATE;
	}
}

/* Hand the strings to the record; the set only pointed at them. */
static void
take_strvec(struct strvec *v, char ***out, size_t *n)
{
	*out = v->v;
	*n = v->n;
	strset_release(&v->seen);
	memset(v, 0, sizeof(*v));
}

int
message_header_parse(struct message *msg, const struct mailimf_fields *fields)
{
	struct parse ps = { .msg = msg };

	header_fields(&ps, fields);
	finish_references(&ps);
	take_strvec(&ps.to, &msg->to, &msg->n_to);
	take_strvec(&ps.cc, &msg->cc, &msg->n_cc);
	if (!msg->from_addr || !*msg->from_addr)
		msg->flags |= MESSAGE_NO_FROM;
	return ps.nomem ? -1 : 0;
}
