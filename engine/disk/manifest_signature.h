/* Ed25519 signatures of a meeting's manifest.json (libsodium), detached in
 * manifest.json.sig: the 64 raw signature bytes over the file's bytes, as
 * `openssl pkeyutl -verify -rawin` checks them too. Keys are PEM files as
 * OpenSSL writes them (PKCS#8 secret, SubjectPublicKeyInfo public), so
 * that an auditor needs no Tolk to check an archive.
 *
 * The engine's key is loaded once at start-up, before any disk thread
 * runs, and only read after that; it lives in libsodium's guarded memory
 * and is never printed. */
#ifndef TOLK_MANIFEST_SIGNATURE_H
#define TOLK_MANIFEST_SIGNATURE_H

#include <stddef.h>

#define SIGNATURE_BYTES 64
#define SIGNATURE_PUBLIC_BYTES 32

/* Loads the engine's secret key from path: it must be a regular file of
 * this user, mode 0600 (no more), holding an Ed25519 PEM key. Returns 0,
 * or a negative errno with the reason in why. Thread: control, at start. */
int manifest_signing_open(const char *path, char *why, size_t len);
/* Forgets the key (wiped). Thread: control, at exit. */
void manifest_signing_close(void);
/* Is there a key to sign with? */
int manifest_signing_on(void);

/* Signs the bytes of file into sig_path (made anew and put in place by
 * rename). No key: nothing is done, 0. Returns 0 or a negative errno.
 * Thread: disk or recovery. */
int manifest_sign_file(const char *file, const char *sig_path);

/* A new key pair: path (secret, 0600, never overwriting) and path.pub.
 * Returns 0 or a negative errno with the reason. */
int signing_keygen(const char *path, char *why, size_t len);
/* The public key in a PEM file (a secret key file gives its public half
 * too). Returns 0 or a negative errno with the reason. */
int signing_public_load(const char *path, unsigned char pk[SIGNATURE_PUBLIC_BYTES], char *why, size_t len);
/* 0 when sig is pk's signature of the len bytes at data, else -1. */
int signing_verify(const unsigned char pk[SIGNATURE_PUBLIC_BYTES], const void *data, size_t len,
		   const unsigned char sig[SIGNATURE_BYTES]);

#endif
