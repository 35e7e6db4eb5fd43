/*
 * tlsverify.h - check a server certificate ourselves.
 *
 * Debian's libetpan (GnuTLS build) verifies nothing: no chain, no host
 * name.  After the TLS handshake and before any secret is sent, the
 * IMAP client hands the stream to tlsverify_stream(), which rebuilds
 * the peer's chain with OpenSSL and checks it against ca_file (or the
 * system's default trust store) and against the host name or address
 * the user configured.
 */
#ifndef KVMARM_TLSVERIFY_H
#define KVMARM_TLSVERIFY_H

#include <libetpan/libetpan.h>

/*
 * Verify the certificate chain of the TLS stream s for host (a DNS name
 * or an IP literal).  ca_file NULL or "" means the system default
 * paths.  Returns 0 when trusted, -1 (logged with the reason) when not
 * or when the stream carries no certificate.
 */
int tlsverify_stream(mailstream *s, const char *host, const char *ca_file);

#endif
