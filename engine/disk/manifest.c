#include "manifest.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/sha256.h"
#include "encoder.h"
#include "manifest_signature.h"
#include "sha256_file.h"
#include "../core/thread_role.h"

#define MANIFEST_LINE_MAX 2048
#define MANIFEST_PATH_MAX 4608

/* manifest.jsonl, opened and locked against the other writer. */
static int open_lines(const char *dir, int flags, char *path, size_t len)
{
	int fd;

	snprintf(path, len, "%s/manifest.jsonl", dir);
	fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX) < 0) {
		int ret = -errno;
		close(fd);
		return ret;
	}
	return fd;
}

/* A loudness figure, or null when not measured. */
static int put_figure(char *out, size_t len, const char *key, double v)
{
	return isfinite(v) ? snprintf(out, len, "%s\"%s\":%.2f", *key == 'i' ? "" : ",", key, v)
			   : snprintf(out, len, "%s\"%s\":null", *key == 'i' ? "" : ",", key);
}

/* What the file says of itself: reference, time reference, first sample
 * and loudness, as ",\"key\":..." into out. */
static void describe(const struct manifest_entry *m, char *out, size_t len)
{
	const struct segment_loudness *l = m->loudness;
	size_t at = 0;

	out[0] = '\0';
	if (m->reference)
		at += (size_t)snprintf(out + at, len - at, ",\"reference\":\"%s\"", m->reference);
	if (m->language && *m->language && at < len)
		at += (size_t)snprintf(out + at, len - at, ",\"language\":\"%s\"", m->language);
	if (m->has_time_reference && at < len)
		at += (size_t)snprintf(out + at, len - at, ",\"time_reference\":%llu",
				       (unsigned long long)m->time_reference);
	if (m->first_sample && at < len)
		at += (size_t)snprintf(out + at, len - at, ",\"first_sample\":\"%s\"", m->first_sample);
	if (l && at + 200 < len) {
		at += (size_t)snprintf(out + at, len - at, ",\"loudness\":{");
		at += (size_t)put_figure(out + at, len - at, "integrated", l->integrated);
		at += (size_t)put_figure(out + at, len - at, "range", l->range);
		at += (size_t)put_figure(out + at, len - at, "true_peak", l->true_peak);
		at += (size_t)put_figure(out + at, len - at, "max_momentary", l->max_momentary);
		at += (size_t)put_figure(out + at, len - at, "max_short_term", l->max_short_term);
		snprintf(out + at, len - at, "}");
	}
}

/* One file's line into line (at most MANIFEST_LINE_MAX); its length. */
static int manifest_line(const struct manifest_entry *m, char *line)
{
	const char *base = strrchr(m->path, '/') ? strrchr(m->path, '/') + 1 : m->path;
	char hex[65] = "", more[512];
	int hashed = m->sha256 ? (snprintf(hex, sizeof hex, "%s", m->sha256), 0) : sha256_file(m->path, hex);
	struct stat st;
	long long bytes = stat(m->path, &st) == 0 ? (long long)st.st_size : -1;
	int n;

	describe(m, more, sizeof more);
	n = snprintf(line, MANIFEST_LINE_MAX,
		     "{\"file\":\"%.255s\",\"channel\":\"%s\",\"format\":\"%s\",\"segment\":%d,\"first_frame\":%llu,"
		     "\"frames\":%llu,\"duration_s\":%.3f,\"bytes\":%lld,\"sha256\":\"%s\"%s%s}\n",
		     base, m->channel, m->format, m->segment, (unsigned long long)m->first_frame,
		     (unsigned long long)m->frames, m->rate ? (double)m->frames / m->rate : 0.0, bytes,
		     hashed == 0 && *hex ? hex : "unreadable", more, m->recovered ? ",\"recovered\":true" : "");
	return n < MANIFEST_LINE_MAX ? n : MANIFEST_LINE_MAX - 1;
}

int manifest_append_all(const char *dir, const struct manifest_entry *m, int n, char *why, size_t len)
{
	char path[MANIFEST_PATH_MAX];
	char *lines;
	size_t used = 0;
	ssize_t wrote;
	int fd, ret, i;

	ASSERT_THREAD(THREAD_DISK | THREAD_RECOVERY);
	if (n <= 0)
		return 0;
	if (!(lines = malloc((size_t)n * MANIFEST_LINE_MAX))) {
		snprintf(why, len, "cannot add to the manifest: out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < n; i++)
		used += (size_t)manifest_line(&m[i], lines + used);
	fd = open_lines(dir, O_WRONLY | O_CREAT | O_APPEND, path, sizeof path);
	if (fd < 0) {
		snprintf(why, len, "cannot add %d file(s) to the manifest: %s", n, strerror(-fd));
		free(lines);
		return fd;
	}
	wrote = write(fd, lines, used);
	ret = wrote == (ssize_t)used ? 0 : -(wrote < 0 ? errno : ENOSPC);
	if (ret)
		snprintf(why, len, "cannot add %d file(s) to the manifest: %s", n, strerror(-ret));
	fsync(fd);
	close(fd); /* and the lock with it */
	free(lines);
	return ret;
}

int manifest_append(const char *dir, const struct manifest_entry *m, char *why, size_t len)
{
	return manifest_append_all(dir, m, 1, why, len);
}

int manifest_rewrite(const char *dir, const char *meeting, uint32_t rate)
{
	char lines_path[MANIFEST_PATH_MAX], json_path[MANIFEST_PATH_MAX], tmp_path[MANIFEST_PATH_MAX];
	char line[MANIFEST_LINE_MAX];
	FILE *in, *out = NULL;
	int fd, first = 1, ret = 0;

	ASSERT_THREAD(THREAD_DISK | THREAD_RECOVERY);
	fd = open_lines(dir, O_RDONLY, lines_path, sizeof lines_path);
	if (fd < 0)
		return fd;
	in = fdopen(fd, "r");
	if (!in) {
		ret = -errno;
		close(fd);
		return ret;
	}
	snprintf(json_path, sizeof json_path, "%s/manifest.json", dir);
	snprintf(tmp_path, sizeof tmp_path, "%s/.manifest.json.tmp", dir);
	/* Never through a link someone left in the folder. */
	unlink(tmp_path);
	fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd >= 0 && !(out = fdopen(fd, "w")))
		close(fd);
	if (!out) {
		ret = -errno;
		goto out_in;
	}
	fprintf(out, "{\"meeting\":\"%s\",\"rate\":%u,\"files\":[\n", meeting, rate);
	while (fgets(line, sizeof line, in)) {
		line[strcspn(line, "\n")] = '\0';
		if (!*line)
			continue;
		fprintf(out, "%s  %s", first ? "" : ",\n", line);
		first = 0;
	}
	fprintf(out, "\n]}\n");
	if (fflush(out) != 0 || fsync(fileno(out)) != 0)
		ret = -errno;
	if (fclose(out) != 0 && !ret)
		ret = -errno;
	if (!ret && rename(tmp_path, json_path) < 0)
		ret = -errno;
	if (ret)
		unlink(tmp_path);
	/* Signed as it now is, under the same lock: the next rewrite cannot
	 * come between. */
	if (!ret && manifest_signing_on()) {
		char sig_path[MANIFEST_PATH_MAX + 8];
		snprintf(sig_path, sizeof sig_path, "%s.sig", json_path);
		ret = manifest_sign_file(json_path, sig_path);
	}
out_in:
	fclose(in); /* the lock last: the rename is done under it */
	return ret;
}

char *manifest_lines(const char *dir)
{
	char path[MANIFEST_PATH_MAX], *buf = NULL, *more;
	size_t len = 0, cap = 0;
	ssize_t n;
	int fd;

	fd = open_lines(dir, O_RDONLY, path, sizeof path);
	if (fd < 0)
		return calloc(1, 1); /* no manifest: nothing listed */
	do {
		if (cap - len < 4096) {
			if (!(more = realloc(buf, cap + 65536)))
				break;
			buf = more;
			cap += 65536;
		}
		n = read(fd, buf + len, cap - len - 1);
		len += n > 0 ? (size_t)n : 0;
	} while (n > 0);
	close(fd);
	if (buf)
		buf[len] = '\0';
	return buf;
}

int manifest_has(const char *lines, const char *base)
{
	char want[320];

	snprintf(want, sizeof want, "{\"file\":\"%s\",", base);
	return lines && strstr(lines, want) != NULL;
}
