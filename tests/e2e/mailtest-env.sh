#!/bin/bash
# Loopback mail servers for the end-to-end tests: Dovecot (IMAP, IMAPS,
# LMTP, submission), OpenSMTPD (plain SMTP -> Dovecot LMTP) and
# public-inbox-imapd over a small v2 inbox.  Everything lives under
# $MAILTEST_DIR; the servers are stopped by PID.  Adapted from the
# verified recipe in ../shared/testenv.md (its pitfalls are noted inline).
#
# usage: mailtest-env.sh install|start|stop|restart-dovecot|stop-dovecot|
#                        start-dovecot|pi-add <MAIL
#   pi-add   appends the mail on stdin to the public-inbox inbox
set -euo pipefail

T=${MAILTEST_DIR:-/tmp/kvmarm-mailtest}
IMAP_PORT=${IMAP_PORT:-14143}
IMAPS_PORT=${IMAPS_PORT:-14993}
LMTP_PORT=${LMTP_PORT:-14024}
SMTP_PORT=${SMTP_PORT:-14025}		# OpenSMTPD: plain SMTP, no auth
SUBMIT_PORT=${SUBMIT_PORT:-14587}	# Dovecot submission: STARTTLS + AUTH
SMTPS_PORT=${SMTPS_PORT:-14465}		# Dovecot submission: implicit TLS
PI_IMAP_PORT=${PI_IMAP_PORT:-14144}	# public-inbox-imapd, plain IMAP
PI_NEWSGROUP=${PI_NEWSGROUP:-test.kvmarm}

wait_port() { # wait_port PORT SECONDS
	local i
	for ((i = 0; i < $2 * 20; i++)); do
		(exec 3<>/dev/tcp/127.0.0.1/$1) 2>/dev/null && return 0
		sleep 0.05
	done
	echo "mailtest-env: port $1 did not open" >&2
	return 1
}

stop_pids() { # SIGTERM all, wait up to 10 s, then SIGKILL the rest
	local pid i alive
	for pid in "$@"; do kill -TERM "$pid" 2>/dev/null || true; done
	for ((i = 0; i < 200; i++)); do
		alive=0
		for pid in "$@"; do kill -0 "$pid" 2>/dev/null && alive=1; done
		[ $alive = 0 ] && return 0
		sleep 0.05
	done
	for pid in "$@"; do kill -KILL "$pid" 2>/dev/null || true; done
}

do_install() {
	export DEBIAN_FRONTEND=noninteractive
	apt-get update
	apt-get install -y --no-install-recommends \
		build-essential pkg-config openssl ca-certificates \
		libetpan-dev libcurl4-gnutls-dev libssl-dev libjson-c-dev \
		dovecot-imapd dovecot-lmtpd dovecot-submissiond opensmtpd \
		swaks public-inbox
	# only one smtpd per machine (fixed /run/smtpd.sock)
	if [ -f /run/smtpd.pid ]; then
		start-stop-daemon --stop --quiet --retry 5 \
			--pidfile /run/smtpd.pid || true
	fi
	id -u vmail >/dev/null 2>&1 ||
		useradd --system --no-create-home --home-dir /nonexistent \
			--shell /usr/sbin/nologin vmail
}

write_configs() {
	rm -rf "$T"
	mkdir -p "$T"/{ssl,log,mail,pi-home}
	chmod 755 "$T" # auth runs as 'dovecot', mail as 'vmail' (pitfall 8)
	openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=localhost" \
		-addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
		-keyout "$T/ssl/key.pem" -out "$T/ssl/cert.pem" 2>/dev/null
	chmod 600 "$T/ssl/key.pem"
	chown vmail:vmail "$T/mail"

	cat >"$T/users" <<'EOF'
bot@example.test:{PLAIN}botpass::::::
alice@example.test:{PLAIN}alicepass::::::
bob@example.test:{PLAIN}bobpass::::::
bot2@example.test:{PLAIN}bot2pass::::::
carol@example.test:{PLAIN}carolpass::::::
eve@example.test:{PLAIN}evepass::::::
EOF
	chmod 644 "$T/users"

	cat >"$T/dovecot.conf" <<EOF
instance_name = kvmarm-mailtest
base_dir = $T/run
state_dir = $T/state
log_path = $T/log/dovecot.log
info_log_path = $T/log/dovecot.log
protocols = imap lmtp submission
hostname = localhost
listen = 127.0.0.1
ssl = yes
ssl_cert = <$T/ssl/cert.pem
ssl_key = <$T/ssl/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
service anvil {
  unix_listener anvil-auth-penalty {
    mode = 0
  }
}
first_valid_uid = 100
mail_uid = vmail
mail_gid = vmail
mail_location = maildir:$T/mail/%d/%n/Maildir
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $T/users
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$T/mail/%d/%n
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
service lmtp {
  inet_listener lmtp {
    address = 127.0.0.1
    port = $LMTP_PORT
  }
}
service submission-login {
  inet_listener submission {
    address = 127.0.0.1
    port = $SUBMIT_PORT
  }
  inet_listener submissions {
    address = 127.0.0.1
    port = $SMTPS_PORT
    ssl = yes
  }
}
submission_relay_host = 127.0.0.1
submission_relay_port = $SMTP_PORT
protocol lmtp {
  postmaster_address = postmaster@example.test
}
EOF

	cut -d: -f1 "$T/users" | sed 's/$/ vmail/' >"$T/vusers"
	# OpenSMTPD: plain SMTP only; its TLS is broken on Debian 12
	# (pitfall 10), TLS+AUTH is Dovecot submission's job.
	cat >"$T/smtpd.conf" <<EOF
table vusers file:$T/vusers
listen on 127.0.0.1 port $SMTP_PORT hostname localhost
action "dovecot" lmtp "127.0.0.1:$LMTP_PORT" rcpt-to virtual <vusers>
match from any for domain "example.test" action "dovecot"
EOF
}

# public-inbox reads ~/.public-inbox and $PI_CONFIG: both point into $T.
pi_env() {
	export HOME="$T/pi-home" PI_CONFIG="$T/pi-config"
	export PI_EMERGENCY="$T/pi-emergency" GIT_CONFIG_NOSYSTEM=1
}

pi_setup() {
	pi_env
	public-inbox-init -V2 -L basic test "$T/pi" http://example.test/test \
		test@example.test >/dev/null
	git config -f "$PI_CONFIG" publicinboxmda.spamcheck none
	git config -f "$PI_CONFIG" "publicinbox.test.newsgroup" "$PI_NEWSGROUP"
	pi_add <<'EOF'
From: Alice <alice@example.test>
To: test@example.test
Subject: [PATCH] KVM: arm64: first mail of the test inbox
Date: Thu, 26 Nov 2026 01:00:00 +0000
Message-ID: <pi-seed-1@example.test>

A seed mail, written for the kvmarm-bot tests.
EOF
}

pi_add() {
	pi_env
	ORIGINAL_RECIPIENT=test@example.test public-inbox-mda --no-precheck
}

start_dovecot() {
	dovecot -c "$T/dovecot.conf"	# daemonizes; pid in $T/run/master.pid
	wait_port "$IMAP_PORT" 10
	wait_port "$IMAPS_PORT" 10
	wait_port "$LMTP_PORT" 10
	wait_port "$SUBMIT_PORT" 10
	wait_port "$SMTPS_PORT" 10
}

stop_dovecot() {
	if [ -f "$T/run/master.pid" ]; then
		stop_pids "$(cat "$T/run/master.pid")"
		rm -f "$T/run/master.pid"
	fi
}

port_free() { # fail when something (another run?) already listens
	local p
	for p in "$@"; do
		if (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then
			echo "mailtest-env: port $p is already in use" >&2
			return 1
		fi
	done
}

do_start() {
	do_stop # never rm -rf the tree under a running instance
	port_free "$IMAP_PORT" "$IMAPS_PORT" "$LMTP_PORT" "$SMTP_PORT" \
		"$SUBMIT_PORT" "$SMTPS_PORT" "$PI_IMAP_PORT"
	write_configs
	trap 'do_stop' ERR
	start_dovecot
	rm -rf /var/spool/smtpd	# mail queued by an earlier run (pitfall 12)
	smtpd -n -f "$T/smtpd.conf" >/dev/null 2>&1 || smtpd -n -f "$T/smtpd.conf"
	smtpd -d -f "$T/smtpd.conf" </dev/null >"$T/log/smtpd.log" 2>&1 &
	echo $! >"$T/smtpd.pid"
	pi_setup
	(pi_env; exec public-inbox-imapd -l "imap://127.0.0.1:$PI_IMAP_PORT" \
		</dev/null >"$T/log/pi-imapd.log" 2>&1) &
	echo $! >"$T/pi-imapd.pid"
	wait_port "$SMTP_PORT" 10
	wait_port "$PI_IMAP_PORT" 20
	trap - ERR
	echo "mail test env up in $T (dovecot $(cat "$T/run/master.pid")," \
		"smtpd $(cat "$T/smtpd.pid"), pi-imapd $(cat "$T/pi-imapd.pid"))"
}

do_stop() {
	local pids=() f
	for f in "$T/smtpd.pid" "$T/run/master.pid" "$T/pi-imapd.pid"; do
		[ -f "$f" ] && pids+=("$(cat "$f")")
	done
	[ ${#pids[@]} -gt 0 ] && stop_pids "${pids[@]}"
	rm -f "$T/smtpd.pid" "$T/run/master.pid" "$T/pi-imapd.pid"
}

case "${1:-}" in
install) do_install ;;
start) do_start ;;
stop) do_stop ;;
stop-dovecot) stop_dovecot ;;
start-dovecot) start_dovecot ;;
restart-dovecot) stop_dovecot; start_dovecot ;;
pi-add) pi_add ;;
configure) do_stop; write_configs ;;	# then start-dovecot: IMAP alone
*)
	echo "usage: $0 install|start|stop|restart-dovecot|stop-dovecot|start-dovecot|pi-add" >&2
	exit 2
	;;
esac
