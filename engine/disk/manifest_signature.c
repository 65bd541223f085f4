#include "manifest_signature.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The DER around a raw Ed25519 key, as RFC 8410 has it: PKCS#8 for the
 * secret (its 32-byte seed follows), SubjectPublicKeyInfo for the public. */
static const unsigned char der_secret[16] = { 0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06,
					      0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20 };
static const unsigned char der_public[12] = { 0x30, 0x2a, 0x30, 0x05, 0x06, 0x03,
					      0x2b, 0x65, 0x70, 0x03, 0x21, 0x00 };
#define PEM_MAX 4096

/* The engine's key: set at start-up, read-only after (sodium_mprotect). */
static unsigned char *engine_sk; /* crypto_sign_SECRETKEYBYTES, sodium_malloc'd */

static int read_small(int fd, char *buf, size_t cap)
{
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, buf + len, cap - 1 - len)) > 0)
		len += (size_t)n;
	if (n < 0)
		return -errno;
	buf[len] = '\0';
	return (int)len;
}

/* The DER inside the PEM block of this label, into der (at most cap bytes).
 * Returns its length or -1. */
static int pem_body(const char *pem, const char *label, unsigned char *der, size_t cap)
{
	char begin[64], end[64];
	const char *a, *b;
	size_t len;

	snprintf(begin, sizeof begin, "-----BEGIN %s-----", label);
	snprintf(end, sizeof end, "-----END %s-----", label);
	if (!(a = strstr(pem, begin)) || !(b = strstr(a, end)))
		return -1;
	a += strlen(begin);
	if (sodium_base642bin(der, cap, a, (size_t)(b - a), " \t\r\n", &len, NULL, sodium_base64_VARIANT_ORIGINAL) != 0)
		return -1;
	return (int)len;
}

static int pem_write(int fd, const char *label, const unsigned char *prefix, size_t plen, const unsigned char *key,
		     size_t klen)
{
	unsigned char der[64];
	char b64[128], text[256];
	int n;

	memcpy(der, prefix, plen);
	memcpy(der + plen, key, klen);
	sodium_bin2base64(b64, sizeof b64, der, plen + klen, sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(der, sizeof der);
	n = snprintf(text, sizeof text, "-----BEGIN %s-----\n%s\n-----END %s-----\n", label, b64, label);
	sodium_memzero(b64, sizeof b64);
	if (write(fd, text, (size_t)n) != n) {
		sodium_memzero(text, sizeof text);
		return -(errno ? errno : EIO);
	}
	sodium_memzero(text, sizeof text);
	return fsync(fd) < 0 ? -errno : 0;
}

/* A secret key file's seed, into seed. Checks what the engine needs of the
 * file when `strict`: this user's, a regular file, 0600. */
static int read_seed(const char *path, int strict, unsigned char seed[32], char *why, size_t len)
{
	char pem[PEM_MAX];
	unsigned char der[64];
	struct stat st;
	int fd, n, ret = 0;

	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		ret = -errno;
		snprintf(why, len, "signing key %s: %s", path, strerror(errno));
		return ret;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(why, len, "signing key %s: not a regular file", path);
		ret = -EINVAL;
		goto out;
	}
	if (strict && st.st_uid != geteuid()) {
		snprintf(why, len, "signing key %s: owned by uid %u, not by this user (uid %u)", path,
			 (unsigned)st.st_uid, (unsigned)geteuid());
		ret = -EPERM;
		goto out;
	}
	if (strict && (st.st_mode & 07777) != 0600) {
		snprintf(why, len, "signing key %s: mode %04o; it must be 0600 (chmod 600 %s)", path,
			 (unsigned)(st.st_mode & 07777), path);
		ret = -EPERM;
		goto out;
	}
	if ((n = read_small(fd, pem, sizeof pem)) < 0) {
		ret = n;
		snprintf(why, len, "signing key %s: %s", path, strerror(-n));
		goto out;
	}
	n = pem_body(pem, "PRIVATE KEY", der, sizeof der);
	if (n != (int)sizeof der_secret + 32 || memcmp(der, der_secret, sizeof der_secret)) {
		snprintf(why, len, "signing key %s: not an Ed25519 private key in PEM (make one with tolk-verify --keygen)",
			 path);
		ret = -EINVAL;
	} else {
		memcpy(seed, der + sizeof der_secret, 32);
	}
out:
	sodium_memzero(pem, sizeof pem);
	sodium_memzero(der, sizeof der);
	close(fd);
	return ret;
}

int manifest_signing_open(const char *path, char *why, size_t len)
{
	unsigned char seed[32], pk[crypto_sign_PUBLICKEYBYTES];
	int ret;

	if (!path || !*path)
		return 0;
	if (sodium_init() < 0) {
		snprintf(why, len, "signing key %s: libsodium cannot start", path);
		return -EIO;
	}
	if ((ret = read_seed(path, 1, seed, why, len)) < 0)
		return ret;
	engine_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (!engine_sk) {
		sodium_memzero(seed, sizeof seed);
		snprintf(why, len, "signing key %s: out of memory", path);
		return -ENOMEM;
	}
	crypto_sign_seed_keypair(pk, engine_sk, seed);
	sodium_memzero(seed, sizeof seed);
	sodium_mprotect_readonly(engine_sk);
	return 0;
}

void manifest_signing_close(void)
{
	if (engine_sk) {
		sodium_free(engine_sk); /* wipes it */
		engine_sk = NULL;
	}
}

int manifest_signing_on(void)
{
	return engine_sk != NULL;
}

int manifest_sign_file(const char *file, const char *sig_path)
{
	unsigned char sig[SIGNATURE_BYTES], *data = NULL;
	char tmp[4608];
	struct stat st;
	int fd, out, ret = 0;
	size_t got = 0;
	ssize_t n;

	if (!engine_sk)
		return 0;
	fd = open(file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !(data = malloc((size_t)st.st_size + 1))) {
		ret = -ENOMEM;
		goto out_fd;
	}
	while (got < (size_t)st.st_size && (n = read(fd, data + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	if (got != (size_t)st.st_size) {
		ret = -EIO;
		goto out_fd;
	}
	crypto_sign_detached(sig, NULL, data, got, engine_sk);
	snprintf(tmp, sizeof tmp, "%s.tmp", sig_path);
	unlink(tmp); /* never through a link left in the folder */
	out = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (out < 0) {
		ret = -errno;
		goto out_fd;
	}
	if (write(out, sig, sizeof sig) != (ssize_t)sizeof sig || fsync(out) < 0)
		ret = -(errno ? errno : EIO);
	close(out);
	if (!ret && rename(tmp, sig_path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp);
out_fd:
	free(data);
	close(fd);
	return ret;
}

int signing_keygen(const char *path, char *why, size_t len)
{
	unsigned char pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES], seed[32];
	char pub_path[4200];
	int fd, ret;

	if (sodium_init() < 0) {
		snprintf(why, len, "libsodium cannot start");
		return -EIO;
	}
	snprintf(pub_path, sizeof pub_path, "%s.pub", path);
	crypto_sign_keypair(pk, sk);
	crypto_sign_ed25519_sk_to_seed(seed, sk);
	sodium_memzero(sk, sizeof sk);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		ret = -errno;
		snprintf(why, len, "%s: %s%s", path, strerror(errno), errno == EEXIST ? " (a key is never overwritten)" : "");
		goto out;
	}
	fchmod(fd, 0600); /* whatever the umask */
	ret = pem_write(fd, "PRIVATE KEY", der_secret, sizeof der_secret, seed, sizeof seed);
	close(fd);
	if (ret < 0) {
		snprintf(why, len, "%s: %s", path, strerror(-ret));
		unlink(path);
		goto out;
	}
	fd = open(pub_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (fd < 0) {
		ret = -errno;
		snprintf(why, len, "%s: %s", pub_path, strerror(errno));
		unlink(path);
		goto out;
	}
	ret = pem_write(fd, "PUBLIC KEY", der_public, sizeof der_public, pk, sizeof pk);
	close(fd);
	if (ret < 0) {
		snprintf(why, len, "%s: %s", pub_path, strerror(-ret));
		unlink(path);
		unlink(pub_path);
	}
out:
	sodium_memzero(seed, sizeof seed);
	return ret;
}

int signing_public_load(const char *path, unsigned char pk[SIGNATURE_PUBLIC_BYTES], char *why, size_t len)
{
	char pem[PEM_MAX];
	unsigned char der[64], seed[32], sk[crypto_sign_SECRETKEYBYTES];
	int fd, n;

	if (sodium_init() < 0) {
		snprintf(why, len, "libsodium cannot start");
		return -EIO;
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		n = -errno;
		snprintf(why, len, "%s: %s", path, strerror(errno));
		return n;
	}
	n = read_small(fd, pem, sizeof pem);
	close(fd);
	if (n < 0) {
		snprintf(why, len, "%s: %s", path, strerror(-n));
		return n;
	}
	n = pem_body(pem, "PUBLIC KEY", der, sizeof der);
	if (n == (int)sizeof der_public + SIGNATURE_PUBLIC_BYTES && !memcmp(der, der_public, sizeof der_public)) {
		memcpy(pk, der + sizeof der_public, SIGNATURE_PUBLIC_BYTES);
		return 0;
	}
	/* A secret key file: its public half. */
	if (strstr(pem, "PRIVATE KEY") && read_seed(path, 0, seed, why, len) == 0) {
		crypto_sign_seed_keypair(pk, sk, seed);
		sodium_memzero(seed, sizeof seed);
		sodium_memzero(sk, sizeof sk);
		sodium_memzero(pem, sizeof pem);
		return 0;
	}
	sodium_memzero(pem, sizeof pem);
	snprintf(why, len, "%s: not an Ed25519 public key in PEM", path);
	return -EINVAL;
}

int signing_verify(const unsigned char pk[SIGNATURE_PUBLIC_BYTES], const void *data, size_t len,
		   const unsigned char sig[SIGNATURE_BYTES])
{
	if (sodium_init() < 0)
		return -1;
	return crypto_sign_verify_detached(sig, data, len, pk) == 0 ? 0 : -1;
}
