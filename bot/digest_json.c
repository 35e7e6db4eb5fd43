/*
 * digest_json.c - the digest in its machine form (docs/digest-json.md).
 *
 * Same model, same order as the Markdown and text forms; every date is
 * ISO 8601 UTC whatever the digest's time zone (that zone is only named,
 * for consumers that want to show local times), and every field that a
 * mail supplied is copied as it is, with json-c doing the escaping.
 */
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "digest.h"
#include "log.h"

#define DIGEST_JSON_VERSION 1

/* Adding to an object or array: any failure makes the whole result NULL. */
struct jb {
	int err;
};

static void
add(struct jb *jb, json_object *obj, const char *key, json_object *val)
{
	if (!obj) {
		json_object_put(val);
		jb->err = 1;
		return;
	}
	if (!val && jb->err)
		return;
	if (json_object_object_add(obj, key, val) < 0) {
		json_object_put(val);
		jb->err = 1;
	}
}

static void
push(struct jb *jb, json_object *arr, json_object *val)
{
	if (!arr || !val || json_object_array_add(arr, val) < 0) {
		json_object_put(val);
		jb->err = 1;
	}
}

static json_object *
str(struct jb *jb, const char *s)
{
	json_object *o = json_object_new_string(s ? s : "");

	if (!o)
		jb->err = 1;
	return o;
}

static json_object *
num(struct jb *jb, int64_t v)
{
	json_object *o = json_object_new_int64(v);

	if (!o)
		jb->err = 1;
	return o;
}

static json_object *
obj(struct jb *jb)
{
	json_object *o = json_object_new_object();

	if (!o)
		jb->err = 1;
	return o;
}

static json_object *
arr(struct jb *jb)
{
	json_object *o = json_object_new_array();

	if (!o)
		jb->err = 1;
	return o;
}

static json_object *
boolean(struct jb *jb, int v)
{
	json_object *o = json_object_new_boolean(v);

	if (!o)
		jb->err = 1;
	return o;
}

/* ISO 8601 UTC, or JSON null for "no date". */
static json_object *
date(struct jb *jb, int64_t t)
{
	char iso[48];

	if (t == 0)
		return NULL;
	digest_iso8601(t, iso, sizeof(iso));
	return str(jb, iso);
}

static json_object *
lore(struct jb *jb, const char *list, const char *id)
{
	struct buf b;
	json_object *o;

	/* A synthetic id is not on lore: no link rather than a dead one. */
	if (!digest_on_lore(id))
		return NULL;
	buf_init(&b, 0);
	if (digest_lore_url(&b, list, id) < 0) {
		buf_release(&b);
		jb->err = 1;
		return NULL;
	}
	o = str(jb, b.data);
	buf_release(&b);
	return o;
}

static json_object *
notes(struct jb *jb, const struct status_note *n, size_t count)
{
	json_object *a = arr(jb);

	for (size_t i = 0; i < count; i++) {
		json_object *o = obj(jb);

		add(jb, o, "text", str(jb, n[i].text));
		add(jb, o, "from", str(jb, n[i].from_addr));
		add(jb, o, "from_name", str(jb, n[i].from_name));
		add(jb, o, "message_id", str(jb, n[i].message_id));
		add(jb, o, "date", date(jb, n[i].date));
		push(jb, a, o);
	}
	return a;
}

static json_object *
version_link(struct jb *jb, const char *list, const char *root, int version,
	     int64_t when)
{
	json_object *o;

	if (!root)
		return NULL;
	o = obj(jb);
	add(jb, o, "version", num(jb, version));
	add(jb, o, "root_message_id", str(jb, root));
	add(jb, o, "date", date(jb, when));
	add(jb, o, "lore_url", lore(jb, list, root));
	return o;
}

static json_object *
status(struct jb *jb, const struct digest *d, const struct digest_thread *dt)
{
	const struct thread_status *st = &dt->status;
	const struct thread *t = &dt->thread;
	json_object *o = obj(jb), *tags = arr(jb);

	for (size_t i = 0; i < st->n_tags; i++) {
		json_object *tag = obj(jb);

		add(jb, tag, "kind", str(jb, st->tags[i].kind));
		add(jb, tag, "who", str(jb, st->tags[i].who));
		add(jb, tag, "message_id", str(jb, st->tags[i].message_id));
		add(jb, tag, "date", date(jb, st->tags[i].date));
		push(jb, tags, tag);
	}
	add(jb, o, "tags", tags);
	add(jb, o, "applied", notes(jb, st->applied, st->n_applied));
	add(jb, o, "changes_requested", notes(jb, st->changes, st->n_changes));
	add(jb, o, "reverted", notes(jb, st->reverted, st->n_reverted));
	add(jb, o, "superseded",
	    boolean(jb, st->superseded || t->next_root != NULL));
	add(jb, o, "previous_version",
	    version_link(jb, d->list_name, t->prev_root, t->prev_version,
			 t->prev_date));
	add(jb, o, "next_version",
	    version_link(jb, d->list_name, t->next_root, t->next_version,
			 t->next_date));
	return o;
}

static json_object *
thread(struct jb *jb, const struct digest *d, const struct digest_thread *dt)
{
	const struct thread *t = &dt->thread;
	const struct thread_msg *title = t->n_msgs ? &t->msgs[dt->title] : NULL;
	json_object *o = obj(jb), *msgs = arr(jb);
	const char *cat = category_name(dt->category);

	if (d->numbered)
		add(jb, o, "item", num(jb, (int64_t)dt->item));
	add(jb, o, "subject", str(jb, title ? title->subject : ""));
	add(jb, o, "category", str(jb, cat ? cat : "Other"));
	add(jb, o, "mails", num(jb, (int64_t)dt->n_window));
	add(jb, o, "mails_total", num(jb, (int64_t)t->n_msgs));
	add(jb, o, "participants", num(jb, (int64_t)dt->n_participants));
	add(jb, o, "started", date(jb, dt->started));
	add(jb, o, "root_message_id", str(jb, t->root_id));
	add(jb, o, "lore_url", lore(jb, d->list_name, t->root_id));
	add(jb, o, "version", num(jb, title ? title->tags.version : 1));
	add(jb, o, "status", status(jb, d, dt));
	add(jb, o, "summary", str(jb, dt->summary));
	add(jb, o, "summary_offline", boolean(jb, dt->summary_offline));
	if (dt->summary_edited)
		add(jb, o, "summary_edited", boolean(jb, 1));
	for (size_t i = 0; i < dt->n_window; i++) {
		const struct thread_msg *m = &t->msgs[dt->window[i]];
		json_object *mo = obj(jb);

		add(jb, mo, "message_id", str(jb, m->id));
		add(jb, mo, "date", date(jb, m->date));
		add(jb, mo, "from", str(jb, m->from_addr));
		add(jb, mo, "from_name", str(jb, m->from_name));
		add(jb, mo, "subject", str(jb, m->subject));
		push(jb, msgs, mo);
	}
	add(jb, o, "messages", msgs);
	return o;
}

int
digest_render_json(const struct digest *d, struct buf *out)
{
	struct jb jb = {0};
	json_object *root = obj(&jb), *w = obj(&jb), *tot = obj(&jb);
	json_object *cats = arr(&jb), *threads = arr(&jb);
	const char *text;
	int r = -1;

	add(&jb, root, "version", num(&jb, DIGEST_JSON_VERSION));
	add(&jb, root, "list", str(&jb, d->list_name));
	add(&jb, root, "generated", date(&jb, d->generated));
	add(&jb, root, "timezone", str(&jb, d->timezone));
	add(&jb, root, "lang", str(&jb, d->lang));
	add(&jb, w, "since", date(&jb, d->since));
	add(&jb, w, "until", date(&jb, d->until));
	add(&jb, root, "window", w);
	add(&jb, tot, "mails", num(&jb, (int64_t)d->mails));
	add(&jb, tot, "threads", num(&jb, (int64_t)d->n_threads));
	add(&jb, tot, "large_threads", num(&jb, (int64_t)d->large_threads));
	add(&jb, root, "totals", tot);
	for (int k = 0; k < CATEGORY_COUNT; k++) {
		json_object *c = obj(&jb);
		const char *name = category_name(k);

		add(&jb, c, "name", str(&jb, name ? name : "Other"));
		add(&jb, c, "threads", num(&jb, (int64_t)d->cat_threads[k]));
		add(&jb, c, "mails", num(&jb, (int64_t)d->cat_mails[k]));
		push(&jb, cats, c);
	}
	add(&jb, root, "categories", cats);
	for (size_t i = 0; i < d->n_threads; i++)
		push(&jb, threads, thread(&jb, d, &d->threads[i]));
	add(&jb, root, "threads", threads);
	if (!jb.err) {
		text = json_object_to_json_string_ext(
		    root, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_SPACED |
			      JSON_C_TO_STRING_NOSLASHESCAPE);
		if (text && buf_adds(out, text) == 0 &&
		    buf_addc(out, '\n') == 0)
			r = 0;
	}
	json_object_put(root);
	if (r < 0)
		return log_error("cannot render the digest as JSON: out of "
				 "memory or over the size limit");
	return 0;
}
