/*
 * pg_auth.h (replay/pg_auth.h): the client side of PostgreSQL password
 * authentication for the replay transport: cleartext, MD5 and
 * SCRAM-SHA-256 (RFC 5802/7677, no channel binding), with OpenSSL's
 * libcrypto. Pure functions over buffers so they unit-test against the
 * RFC 7677 example; the transport does the I/O.
 *
 * Each append is whole or nothing: on an error out is as it was. err is a
 * caller-supplied char[RP_ERRLEN] (common/rp.h). The password is used as
 * its bytes: SASLprep (RFC 4013) is not applied, which is exact for ASCII
 * passwords and for passwords already in the form SASLprep gives (NFKC,
 * no mapped-out or non-ASCII space characters). PostgreSQL itself falls
 * back to the raw bytes when a password is not valid UTF-8, so such
 * passwords work too.
 */
#ifndef RP_REPLAY_PG_AUTH_H
#define RP_REPLAY_PG_AUTH_H

#include <stddef.h>
#include <stdint.h>
#include "common/buf.h"

/* Appends the StartupMessage (protocol 3.0) for user and database (and
 * application_name "reprise") to out. 0 or RP_ENOMEM. db NULL or "" leaves
 * the database out (the server takes the user name). RP_EINPUT when user
 * is NULL or empty or the message would pass the server's 10000 bytes. */
int replay_pgauth_startup(struct rp_buf *out, const char *user, const char *db);
/* Appends a PasswordMessage ('p') with the cleartext password (answer to
 * AuthenticationCleartextPassword, code 3). 0 or RP_ENOMEM. */
int replay_pgauth_cleartext(struct rp_buf *out, const char *password);
/* Appends the MD5 PasswordMessage: "md5" + md5hex(md5hex(password + user)
 * + salt), salt from AuthenticationMD5Password (code 5). 0, RP_ENOMEM, or
 * RP_EINTERNAL when libcrypto refuses MD5 (a FIPS-only build). */
int replay_pgauth_md5(struct rp_buf *out, const char *user, const char *password,
                const uint8_t salt[4]);

/* One SCRAM-SHA-256 exchange. Caller-allocated; replay_scram_start
 * initialises every field (no prior init needed; a struct already started
 * is cleaned up first, or its client_first_bare leaks), and
 * replay_scram_cleanup frees and wipes it. */
struct replay_scram {
    char nonce[32];        /* client nonce (base64 of random bytes) */
    char *client_first_bare; /* malloc'd */
    uint8_t server_sig[32];  /* expected ServerSignature */
    int step;                /* 1 after start, 2 after continue, 3 after a
                                verified finish; 0 before start or after a
                                failed step (the exchange is over) */
};
/* Checks that the SASL mechanisms list (AuthenticationSASL data) offers
 * SCRAM-SHA-256, makes a random nonce (or uses nonce when not NULL: tests)
 * and appends the SASLInitialResponse ('p') to out. 0, RP_ENOMEM, or
 * RP_EINPUT with err filled (no supported mechanism). The user name in the
 * client-first-message is empty ("n=,r=..."), as libpq sends it: the
 * server takes the user of the startup message. Also RP_EINPUT: a mechanism
 * list not terminated as the protocol says, a nonce of more than 31
 * characters or with a character outside '!'..'~' or a ','; RP_EINTERNAL
 * when no random bytes can be had. s is initialised first, so a failed
 * start needs no cleanup (calling it is harmless). */
int replay_scram_start(struct replay_scram *s, const uint8_t *mechs, size_t len,
                   const char *nonce, struct rp_buf *out, char *err);
/* The same with a user name in the client-first-message ("n=user", ','
 * and '=' escaped as RFC 5802 says); user NULL is replay_scram_start. The
 * RFC 7677 example needs it; PostgreSQL ignores the name. */
int replay_scram_start_user(struct replay_scram *s, const char *user,
                            const uint8_t *mechs, size_t len,
                            const char *nonce, struct rp_buf *out, char *err);
/* Given the server-first-message (AuthenticationSASLContinue data),
 * appends the SASLResponse with the client-final-message. 0, RP_ENOMEM or
 * RP_EINPUT (malformed, nonce mismatch, iterations out of 1..10^7). The
 * server nonce must extend the client's by at least one character; the
 * salt is base64 of 1 to 1024 bytes; a mandatory extension ("m=") is
 * refused; unknown optional attributes after i= are ignored. RP_EINPUT
 * also when called out of turn; RP_EINTERNAL when libcrypto fails. */
int replay_scram_continue(struct replay_scram *s, const char *password,
                      const uint8_t *server_first, size_t len,
                      struct rp_buf *out, char *err);
/* Checks the server-final-message (AuthenticationSASLFinal data): 0 when
 * the server signature verifies, RP_EINPUT otherwise (a server error
 * "e=..." is named in err; also out of turn). */
int replay_scram_finish(struct replay_scram *s, const uint8_t *server_final,
                    size_t len, char *err);
/* Frees client_first_bare and wipes s; s can be started again. Accepts a
 * struct that a failed or no start left (after start initialised it). */
void replay_scram_cleanup(struct replay_scram *s);

#endif
