/* tolk-verify DIR: checks an archive against its manifest. DIR is a
 * meeting folder (holding manifest.json) or a recordings folder whose
 * meeting folders hold one each. Every listed file is re-hashed (SHA-256)
 * and compared; one line per file. Exit status: 0 when every file is
 * there and matches, 1 on any mismatch or missing file, 2 when there is
 * no manifest to read.
 *
 * tolk-verify --key PUBLIC DIR: the same, and first each manifest.json's
 * Ed25519 signature (manifest.json.sig) with that public key: a manifest
 * edited and re-hashed after it was written fails here.
 *
 * tolk-verify --keygen FILE: a new signing key pair, FILE (secret, 0600)
 * and FILE.pub, for recording.signing_key.
 *
 * tolk-verify --audit FILE: walks audit.jsonl's hash chain (each line's
 * "prev" is the SHA-256 of the line before it) and names the first line
 * where it breaks. 0 good, 1 broken, 2 unreadable. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../engine/core/sha256.h"
#include "../engine/disk/manifest_signature.h"
#include "../engine/disk/sha256_file.h"
#include "../engine/disk/whole_file.h"
#include "manifest_reader.h"

struct tally {
	int ok, bad, manifests;
	const char *dir;
	int keyed;                                /* --key given */
	unsigned char pk[SIGNATURE_PUBLIC_BYTES];
};

static void check_file(void *user, const struct manifest_entry *e)
{
	struct tally *t = user;
	char path[8192], hex[65];
	struct stat st;
	int ret;

	if (strchr(e->file, '/')) { /* a manifest names files in its own folder only */
		printf("BAD       %s/%s (not a plain file name)\n", t->dir, e->file);
		t->bad++;
		return;
	}
	snprintf(path, sizeof path, "%s/%s", t->dir, e->file);
	if (strcmp(e->bytes, "-") && stat(path, &st) == 0 && (long long)st.st_size != atoll(e->bytes)) {
		printf("MISMATCH  %s (%lld bytes, manifest %s)\n", path, (long long)st.st_size, e->bytes);
		t->bad++;
		return;
	}
	ret = sha256_file(path, hex);
	if (ret == -ENOENT) {
		printf("MISSING   %s\n", path);
		t->bad++;
	} else if (ret < 0) {
		printf("UNREADABLE %s: %s\n", path, strerror(-ret));
		t->bad++;
	} else if (strcmp(hex, e->sha256)) {
		printf("MISMATCH  %s (sha256 %s, manifest %s)\n", path, hex, e->sha256);
		t->bad++;
	} else {
		printf("OK        %s %s %s frames\n", path, hex, e->frames);
		t->ok++;
	}
}

/* manifest.json's bytes against manifest.json.sig and the public key. */
static void check_signature(struct tally *t, const char *path, const char *text)
{
	char sig_path[8200];
	unsigned char sig[SIGNATURE_BYTES + 1];
	ssize_t n = -1;
	int fd;

	snprintf(sig_path, sizeof sig_path, "%s.sig", path);
	fd = open(sig_path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, sig, sizeof sig);
		close(fd);
	}
	if (fd < 0) {
		printf("UNSIGNED  %s (no %s)\n", path, sig_path);
		t->bad++;
	} else if (n != SIGNATURE_BYTES || signing_verify(t->pk, text, strlen(text), sig) < 0) {
		printf("BAD SIGNATURE %s (changed since it was signed, or not signed with this key)\n", path);
		t->bad++;
	} else {
		printf("SIGNED    %s (Ed25519, the key given)\n", path);
	}
}

/* Checks one meeting folder. Returns -1 when its manifest is unreadable. */
static int verify_meeting(const char *dir, struct tally *t)
{
	char path[8192];
	char *text;
	int n;

	snprintf(path, sizeof path, "%s/manifest.json", dir);
	text = whole_file_read(path);
	if (!text)
		return -1;
	t->dir = dir;
	if (t->keyed)
		check_signature(t, path, text);
	n = manifest_each(text, check_file, t);
	free(text);
	if (n < 0) {
		fprintf(stderr, "tolk-verify: %s: not a Tolk manifest\n", path);
		t->bad++;
		return 0;
	}
	t->manifests++;
	return 0;
}

/* The "prev" a chained line ends with, into hex; 0 when it has none. */
static int line_prev(const char *line, size_t len, char hex[65])
{
	static const char key[] = ",\"prev\":\"";
	const size_t tail = sizeof key - 1 + 64 + 2; /* key, hex, quote and brace */

	if (len < tail || memcmp(line + len - tail, key, sizeof key - 1) || memcmp(line + len - 2, "\"}", 2))
		return 0;
	memcpy(hex, line + len - 66, 64);
	hex[64] = 0;
	return 1;
}

static int verify_audit(const char *path)
{
	char *text = whole_file_read(path), want[65], got[65], broken[256] = "";
	const char *line, *nl;
	long n = 0, before = 0;
	int chained = 0;

	if (!text) {
		fprintf(stderr, "tolk-verify: %s: %s\n", path, strerror(errno ? errno : EIO));
		return 2;
	}
	memset(want, '0', 64);
	want[64] = 0;
	for (line = text; *line && !*broken; line = nl + 1) {
		n++;
		if (!(nl = strchr(line, '\n'))) {
			snprintf(broken, sizeof broken, "line %ld: cut short (no end of line)", n);
			break;
		}
		if (!line_prev(line, (size_t)(nl - line), got)) {
			if (chained)
				snprintf(broken, sizeof broken, "line %ld: no \"prev\" after the chain began: edited or inserted",
					 n);
			before++;
		} else if (strcmp(got, want)) {
			snprintf(broken, sizeof broken, "line %ld: its \"prev\" is not the hash of line %ld: line %ld was edited, "
				 "or lines were removed, inserted or reordered before line %ld", n, n - 1, n - 1, n);
		} else {
			chained = 1;
		}
		sha256_hex_of(line, (size_t)(nl - line) + 1, want);
	}
	free(text);
	if (*broken) {
		printf("BROKEN    %s %s\n", path, broken);
		return 1;
	}
	printf("GOOD      %s: %ld line(s), the chain unbroken", path, n);
	if (before)
		printf(" (%ld written before the chain began)", before);
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct tally t = { 0 };
	struct dirent *d;
	DIR *dir;

	if (argc == 3 && !strcmp(argv[1], "--audit"))
		return verify_audit(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "--keygen")) {
		char why[512];
		if (signing_keygen(argv[2], why, sizeof why) < 0) {
			fprintf(stderr, "tolk-verify: %s\n", why);
			return 2;
		}
		printf("wrote %s (secret key, mode 0600: recording.signing_key) and %s.pub (public key, for "
		       "tolk-verify --key)\n", argv[2], argv[2]);
		return 0;
	}
	if (argc == 4 && !strcmp(argv[1], "--key")) {
		char why[512];
		if (signing_public_load(argv[2], t.pk, why, sizeof why) < 0) {
			fprintf(stderr, "tolk-verify: %s\n", why);
			return 2;
		}
		t.keyed = 1;
		argv += 2;
		argc -= 2;
	}
	if (argc != 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		fprintf(argc == 2 ? stdout : stderr,
			"usage: tolk-verify [--key PUBLIC] DIR | tolk-verify --audit FILE | tolk-verify --keygen FILE\n"
			"Checks every file of a Tolk archive against its manifest.json (SHA-256 and length).\n"
			"DIR is a meeting folder, or a recordings folder of meeting folders.\n"
			"--key checks each manifest.json's signature (manifest.json.sig) with that public key.\n"
			"--keygen writes a new Ed25519 key pair: FILE (secret, 0600) and FILE.pub.\n"
			"--audit walks an audit.jsonl's hash chain and names the line where it breaks.\n"
			"-h, --help prints this.\n"
			"Exit status: 0 all good, 1 a file is missing or differs, a signature is bad or\n"
			"missing (or the chain is broken), 2 no manifest (or a file cannot be read).\n");
		return argc == 2 ? 0 : 2;
	}
	if (verify_meeting(argv[1], &t) < 0) {
		dir = opendir(argv[1]);
		if (!dir) {
			fprintf(stderr, "tolk-verify: %s: %s\n", argv[1], strerror(errno));
			return 2;
		}
		while ((d = readdir(dir))) {
			char sub[4096];
			struct stat st;
			if (d->d_name[0] == '.')
				continue;
			snprintf(sub, sizeof sub, "%s/%s", argv[1], d->d_name);
			if (stat(sub, &st) == 0 && S_ISDIR(st.st_mode))
				verify_meeting(sub, &t);
		}
		closedir(dir);
	}
	if (!t.manifests) {
		fprintf(stderr, "tolk-verify: no manifest.json in %s\n", argv[1]);
		return 2;
	}
	printf("%d file(s) good, %d bad\n", t.ok, t.bad);
	return t.bad ? 1 : 0;
}
