#include "audit_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/json_writer.h"
#include "../core/utc_time.h"
#include "log_file.h"

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

/* The line out, whole, in one write; the writer is freed. */
static int line_write(struct audit_log *a, struct json_writer *w)
{
	ssize_t written;
	int ret = 0;

	if (w->failed)
		ret = -ENOMEM;
	else if ((written = write(a->fd, w->buf, w->len)) != (ssize_t)w->len)
		ret = -(written < 0 ? errno : ENOSPC);
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
