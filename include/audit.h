/*
 * audit.h - the append-only record of moderation decisions.
 *
 * STATE/audit.log, plain text, one line per event, opened O_APPEND and
 * fsync'd per line, never rewritten:
 *   2025-09-15T09:00:00Z ACTOR ACTION ID result[: detail]
 * e.g. "... maz@kernel.org approve 3 ok",
 *      "... eve@example.org approve 3 refused: wrong token".
 * Detail is cut at 300 bytes and control characters become '?', so a
 * hostile reason cannot forge lines.  Tokens and secrets never appear.
 */
#ifndef KVMARM_AUDIT_H
#define KVMARM_AUDIT_H

#include <stdint.h>

/*
 * Append one line to state_dir/audit.log.  actor and action are
 * printed as words (blanks replaced by '_'); detail may be NULL.
 * Returns 0, or -1 (logged) when the file cannot be written.
 */
int audit_log(const char *state_dir, int64_t now, const char *actor,
	      const char *action, unsigned id, const char *result,
	      const char *detail);

#endif
