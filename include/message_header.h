/*
 * message_header.h - the header fields of a mail, as the bot needs them.
 *
 * Internal to the message parser: message_parse() (message.c) hands the
 * field list libetpan parsed to message_header_parse(), which fills the
 * header half of the record.  The rules for broken fields are in
 * message.h, above message_parse().
 */
#ifndef KVMARM_MESSAGE_HEADER_H
#define KVMARM_MESSAGE_HEADER_H

#include "message.h"

struct mailimf_fields;

/*
 * Fill message_id (NULL when the mail has none worth keeping: the
 * caller makes a synthetic one), in_reply_to, references, from_name,
 * from_addr, to, cc, date, subject, list_id, auto_submitted,
 * precedence and x_loop of msg (fields left NULL mean "absent") and
 * the flags MESSAGE_BAD_DATE, MESSAGE_NO_FROM, MESSAGE_BAD_CHARSET and
 * MESSAGE_REFS_TRUNCATED.  References do not yet exclude a synthetic
 * id (they never contain one).  Returns 0, or -1 when out of memory
 * (msg then holds partial results for message_release()).
 */
int message_header_parse(struct message *msg,
			 const struct mailimf_fields *fields);

#endif
