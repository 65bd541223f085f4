#include "audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/json_writer.h"
#include "../core/sha256.h"
#include "../core/utc_time.h"
#include "log_file.h"

#define AUDIT_TAIL 65536 /* no audit line is longer */

/* The chain goes on from the file's last line: its hash into prev, or 64
 * zeros for an empty file. Read from the file before each line rather
 * than remembered: two engines may share a log folder, and the chain is
 * the file's. */
static void chain_from_file(const struct audit_log *a, char prev[65])
{
	char *buf = malloc(AUDIT_TAIL + 1);
	off_t end = lseek(a->fd, 0, SEEK_END), from = end > AUDIT_TAIL ? end - AUDIT_TAIL : 0;
	ssize_t n = buf && end > 0 ? pread(a->fd, buf, (size_t)(end - from), from) : 0;
	size_t start;

	memset(prev, '0', 64);
	prev[64] = 0;
	if (n > 0) {
		/* the last line: after the last newline but the one that ends it */
		start = (size_t)n - (buf[n - 1] == '\n' ? 1 : 0);
		while (start > 0 && buf[start - 1] != '\n')
			start--;
		sha256_hex_of(buf + start, (size_t)n - start, prev);
	}
	free(buf);
}

int audit_open(struct audit_log *a, const char *dir, char *err, size_t errlen)
{
	a->fd = log_file_open(dir, "audit.jsonl", a->path, sizeof a->path, err, errlen);
	return a->fd < 0 ? a->fd : 0;
}

void audit_close(struct audit_log *a)
{
	if (a->fd >= 0)
		close(a->fd);
	a->fd = -1;
}

/* The start every audit line shares: time, path, actor, command. */
static void line_start(struct json_writer *w, int64_t time_ms, const char *via, const char *actor,
		       const char *command)
{
	char when[UTC_ISO_MAX];

	utc_iso_ms(time_ms, when);
	jw_init(w);
	jw_printf(w, "{\"time_ms\":%lld,\"time\":\"%s\",\"via\":", (long long)time_ms, when);
	jw_string(w, via);
	jw_printf(w, ",\"actor\":{%s},\"command\":", actor);
	jw_string(w, command);
}

/* The line out, whole, in one write, chained to the one before; the
 * writer is freed. */
static int line_write(struct audit_log *a, struct json_writer *w)
{
	char prev[65];
	ssize_t written;
	int ret = 0;

	/* Under the lock, from the line really last: another engine writing
	 * to the same file keeps one chain with this one. */
	flock(a->fd, LOCK_EX);
	chain_from_file(a, prev);
	if (!w->failed && w->len >= 2) { /* "...}\n" becomes "...,"prev":"<hex>"}\n" */
		w->len -= 2;
		w->buf[w->len] = 0;
		jw_printf(w, ",\"prev\":\"%s\"}\n", prev);
	}
	if (w->failed)
		ret = -ENOMEM;
	else if ((written = write(a->fd, w->buf, w->len)) != (ssize_t)w->len)
		ret = -(written < 0 ? errno : ENOSPC);
	flock(a->fd, LOCK_UN);
	jw_free(w);
	return ret;
}

int audit_write(struct audit_log *a, int64_t time_ms, const char *via, const char *actor,
		const char *command, const char *reply, const char *const *changes, int n)
{
	struct json_writer w;
	const char *error;
	int i;

	if (a->fd < 0)
		return 0;
	line_start(&w, time_ms, via, actor, command);
	jw_raw(&w, ",\"result\":");
	if (!strncmp(reply, "{\"ok\":true", 10)) {
		jw_raw(&w, "\"ok\"");
	} else {
		jw_raw(&w, "\"refused\",\"error\":");
		/* The reply's error is already a JSON string: copy it as it is. */
		error = strstr(reply, "\"error\":");
		jw_raw(&w, error ? error + 8 : "null");
		if (w.len && w.buf[w.len - 1] == '}') /* the reply's closing brace */
			w.buf[--w.len] = '\0';
	}
	jw_raw(&w, ",\"changes\":[");
	for (i = 0; i < n; i++) {
		if (i)
			jw_raw(&w, ",");
		jw_string(&w, changes[i]);
	}
	jw_raw(&w, "]}\n");
	return line_write(a, &w);
}

int audit_connection(struct audit_log *a, int64_t time_ms, const char *via, const char *actor, long reads,
		     const char *why)
{
	struct json_writer w;

	if (a->fd < 0)
		return 0;
	line_start(&w, time_ms, via, actor, reads < 0 ? "(connect)" : "(disconnect)");
	jw_raw(&w, ",\"result\":\"ok\"");
	if (reads >= 0) {
		jw_printf(&w, ",\"reads\":%ld,\"why\":", reads);
		jw_string(&w, why);
	}
	jw_raw(&w, ",\"changes\":[]}\n");
	return line_write(a, &w);
}
