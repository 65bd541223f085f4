#include "archive_http.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../core/json_writer.h"
#include "../disk/clip.h"
#include "http_reply.h"

#ifdef TOLK_VERSION
#define TOLK_VERSION_TEXT TOLK_VERSION
#else
#define TOLK_VERSION_TEXT "0.1.0"
#endif

/* One level of a path as the archive names things, or not. */
static int plain_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > 255 || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++) {
		const char ch = s[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
		      ch == '_' || ch == '-'))
			return 0;
	}
	return 1;
}

static enum MHD_Result not_found(struct MHD_Connection *c)
{
	return http_reply_text(c, MHD_HTTP_NOT_FOUND, "not in the archive\n");
}

/* The "time" of a timeline's first line (the recording's start), or "". */
static void first_time(int dir_fd, char *out, size_t len)
{
	char line[1024], *t, *end;
	int fd = openat(dir_fd, "timeline.jsonl", O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
	ssize_t n;

	out[0] = '\0';
	if (fd < 0)
		return;
	n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		return;
	line[n] = '\0';
	if ((t = strstr(line, "\"time\":\"")) && (end = strchr(t + 8, '"')) && (size_t)(end - t - 8) < len)
		snprintf(out, len, "%.*s", (int)(end - t - 8), t + 8);
}

struct meeting_row {
	char name[256];
	char start[40];
	long long mtime;
	int has_manifest, signed_;
};

static int newest_first(const void *a, const void *b)
{
	const struct meeting_row *x = a, *y = b;
	int by_start = strcmp(y->start, x->start);

	return by_start ? by_start : (y->mtime > x->mtime) - (y->mtime < x->mtime);
}

static enum MHD_Result list_meetings(struct MHD_Connection *c, const char *root)
{
	struct meeting_row *rows = calloc(ARCHIVE_MEETINGS_MAX, sizeof *rows);
	struct json_writer w;
	struct dirent *d;
	enum MHD_Result ret;
	int root_fd, n = 0, i;
	DIR *dir;

	if (!rows)
		return MHD_NO;
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	dir = root_fd >= 0 ? fdopendir(root_fd) : NULL;
	while (dir && (d = readdir(dir)) && n < ARCHIVE_MEETINGS_MAX) {
		struct stat st;
		int fd;
		if (!plain_name(d->d_name, strlen(d->d_name)))
			continue;
		fd = openat(root_fd, d->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) == 0) {
			struct meeting_row *m = &rows[n++];
			snprintf(m->name, sizeof m->name, "%s", d->d_name);
			m->mtime = (long long)st.st_mtime;
			first_time(fd, m->start, sizeof m->start);
			m->has_manifest = faccessat(fd, "manifest.json", R_OK, AT_SYMLINK_NOFOLLOW) == 0;
			m->signed_ = faccessat(fd, "manifest.json.sig", R_OK, AT_SYMLINK_NOFOLLOW) == 0;
		}
		close(fd);
	}
	if (dir)
		closedir(dir); /* and root_fd with it */
	else if (root_fd >= 0)
		close(root_fd);
	qsort(rows, (size_t)n, sizeof *rows, newest_first);
	jw_init(&w);
	jw_raw(&w, "{\"ok\":true,\"meetings\":[");
	for (i = 0; i < n; i++) {
		jw_raw(&w, i ? ",{\"name\":" : "{\"name\":");
		jw_string(&w, rows[i].name);
		jw_key(&w, "start", 0);
		jw_string(&w, rows[i].start);
		jw_printf(&w, ",\"manifest\":%s,\"signed\":%s}", rows[i].has_manifest ? "true" : "false",
			  rows[i].signed_ ? "true" : "false");
	}
	jw_raw(&w, "]}");
	ret = w.failed ? MHD_NO : http_reply(c, MHD_HTTP_OK, "application/json", w.buf, w.len, MHD_RESPMEM_MUST_COPY);
	jw_free(&w);
	free(rows);
	return ret;
}

static const char *type_of(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ ".opus", "audio/ogg; codecs=opus" }, { ".flac", "audio/flac" }, { ".wav", "audio/wav" },
		{ ".json", "application/json" },       { ".jsonl", "application/x-ndjson" },
		{ ".sig", "application/octet-stream" },
	};
	const char *dot = strrchr(name, '.');
	size_t i;

	for (i = 0; dot && i < sizeof types / sizeof types[0]; i++)
		if (!strcmp(dot, types[i].ext))
			return types[i].type;
	return "application/octet-stream";
}

/* "bytes=a-b", "bytes=a-", "bytes=-n" into [*from, *to] of size bytes.
 * 1 a range, 0 none (or several: the whole file), -1 unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *from, uint64_t *to)
{
	unsigned long long a, b;
	char *end;

	if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
		return 0;
	h += 6;
	if (*h == '-') {
		b = strtoull(h + 1, &end, 10);
		if (end == h + 1 || *end || b == 0)
			return -1;
		*from = b >= size ? 0 : size - b;
		*to = size - 1;
		return size ? 1 : -1;
	}
	a = strtoull(h, &end, 10);
	if (end == h || *end != '-')
		return 0;
	h = end + 1;
	b = *h ? strtoull(h, &end, 10) : size - 1;
	if ((*h && *end) || a >= size || b < a)
		return -1;
	*from = a;
	*to = b >= size ? size - 1 : b;
	return 1;
}

static enum MHD_Result serve_file(struct MHD_Connection *c, int fd, const struct stat *st, const char *name)
{
	const char *range = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_RANGE);
	uint64_t size = (uint64_t)st->st_size, from = 0, to = size ? size - 1 : 0;
	int ranged = parse_range(range, size, &from, &to);
	struct MHD_Response *r;
	enum MHD_Result ret;
	char value[96];

	if (ranged < 0) {
		close(fd);
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		snprintf(value, sizeof value, "bytes */%" PRIu64, size);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, value);
		ret = MHD_queue_response(c, MHD_HTTP_RANGE_NOT_SATISFIABLE, r);
		MHD_destroy_response(r);
		return ret;
	}
	/* The descriptor is the response's now: libmicrohttpd closes it. */
	r = MHD_create_response_from_fd_at_offset64(size ? to - from + 1 : 0, fd, from);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type_of(name));
	MHD_add_response_header(r, MHD_HTTP_HEADER_ACCEPT_RANGES, "bytes");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "private, no-cache");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (ranged) {
		snprintf(value, sizeof value, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, from, to, size);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_RANGE, value);
	}
	ret = MHD_queue_response(c, ranged ? MHD_HTTP_PARTIAL_CONTENT : MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* /archive/<meeting>/<file>, resolved level by level inside root. */
static enum MHD_Result open_archive_file(struct MHD_Connection *c, const char *root, const char *path,
					 char *refused, size_t len)
{
	const char *slash = strchr(path, '/');
	char meeting[256];
	struct stat st;
	int root_fd, dir_fd, fd;

	if (!slash || !plain_name(path, (size_t)(slash - path)) || !plain_name(slash + 1, strlen(slash + 1))) {
		snprintf(refused, len, "not a plain /archive/<meeting>/<file> path");
		return not_found(c);
	}
	snprintf(meeting, sizeof meeting, "%.*s", (int)(slash - path), path);
	root_fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return not_found(c);
	dir_fd = openat(root_fd, meeting, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	close(root_fd);
	if (dir_fd < 0) {
		if (errno == ELOOP || errno == ENOTDIR)
			snprintf(refused, len, "the meeting is a link or not a folder");
		return not_found(c);
	}
	fd = openat(dir_fd, slash + 1, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	if (fd < 0 && errno == ELOOP)
		snprintf(refused, len, "a link");
	close(dir_fd);
	if (fd < 0)
		return not_found(c);
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(refused, len, "not a regular file");
		close(fd);
		return not_found(c);
	}
	return serve_file(c, fd, &st, slash + 1);
}

/* ---- clips on request --------------------------------------------------- */

struct archive_clip_job {
	struct MHD_Connection *conn;
	_Atomic int done;      /* the cut is over (ret, why set) */
	_Atomic int refs;      /* the helper thread and the request */
	int resumed, answered;
	int ret;
	char why[1024];
	char tmp_dir[256], path[600], filename[320];
	char meeting_dir[4400], channel[256], from[64], to[64], format[8];
};

static void job_cleanup(struct archive_clip_job *j)
{
	char prov[700];

	snprintf(prov, sizeof prov, "%s.provenance.json", j->path);
	unlink(j->path);
	unlink(prov);
	if (*j->tmp_dir)
		rmdir(j->tmp_dir);
}

static void job_unref(struct archive_clip_job *j)
{
	if (atomic_fetch_sub(&j->refs, 1) == 1) {
		job_cleanup(j);
		free(j);
	}
}

static void *cut_clip(void *arg)
{
	struct archive_clip_job *j = arg;
	struct clip_request rq = { .meeting_dir = j->meeting_dir, .channel = j->channel, .from = j->from,
				   .to = j->to, .format = j->format, .software = "tolk " TOLK_VERSION_TEXT };

	pthread_setname_np(pthread_self(), "tolk-clip");
	j->ret = clip_cut(&rq, j->path, j->why, sizeof j->why);
	atomic_store_explicit(&j->done, 1, memory_order_release);
	job_unref(j);
	return NULL;
}

static const char *arg_of(struct MHD_Connection *c, const char *key)
{
	const char *v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, key);
	return v ? v : "";
}

static enum MHD_Result start_clip(struct archive_clips *clips, struct MHD_Connection *c, const char *root,
				  struct archive_clip_job **slot, char *refused, size_t len)
{
	const char *meeting = arg_of(c, "meeting"), *channel = arg_of(c, "channel"), *format = arg_of(c, "format");
	const char *from = arg_of(c, "from"), *to = arg_of(c, "to"), *tmp = getenv("TMPDIR");
	struct archive_clip_job *j;
	pthread_attr_t attr;
	pthread_t thread;
	char text[160];

	if (!*format)
		format = "wav";
	if (!plain_name(meeting, strlen(meeting)) || !plain_name(channel, strlen(channel))) {
		snprintf(refused, len, "a clip's meeting and channel are plain names");
		return not_found(c);
	}
	if ((strcmp(format, "wav") && strcmp(format, "flac") && strcmp(format, "opus")) || !*from || !*to ||
	    strlen(from) >= 64 || strlen(to) >= 64) {
		snprintf(text, sizeof text, "a clip needs meeting, channel, from and to (format wav, flac or opus)\n");
		return http_reply_text(c, MHD_HTTP_BAD_REQUEST, text);
	}
	if (clips->n == ARCHIVE_CLIPS_MAX) {
		snprintf(text, sizeof text, "%d clips are being cut; try again in a moment\n", ARCHIVE_CLIPS_MAX);
		return http_reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, text);
	}
	if (!(j = calloc(1, sizeof *j)))
		return MHD_NO;
	j->conn = c;
	snprintf(j->meeting_dir, sizeof j->meeting_dir, "%s/%s", root, meeting);
	snprintf(j->channel, sizeof j->channel, "%s", channel);
	snprintf(j->from, sizeof j->from, "%s", from);
	snprintf(j->to, sizeof j->to, "%s", to);
	snprintf(j->format, sizeof j->format, "%s", format);
	snprintf(j->tmp_dir, sizeof j->tmp_dir, "%s/tolk-clip-XXXXXX", tmp && *tmp && strlen(tmp) < 200 ? tmp : "/tmp");
	snprintf(j->filename, sizeof j->filename, "%s_%s_clip.%s", meeting, channel, format);
	if (!mkdtemp(j->tmp_dir)) {
		free(j);
		snprintf(text, sizeof text, "no room for a clip: %s\n", strerror(errno));
		return http_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, text);
	}
	snprintf(j->path, sizeof j->path, "%s/%s", j->tmp_dir, j->filename);
	atomic_store(&j->refs, 2);
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&thread, &attr, cut_clip, j) != 0) {
		pthread_attr_destroy(&attr);
		rmdir(j->tmp_dir);
		free(j);
		return MHD_NO;
	}
	pthread_attr_destroy(&attr);
	clips->jobs[clips->n++] = j;
	*slot = j;
	MHD_suspend_connection(c);
	return MHD_YES;
}

static void forget_job(struct archive_clips *clips, struct archive_clip_job *j)
{
	int i;

	for (i = 0; i < clips->n; i++)
		if (clips->jobs[i] == j) {
			clips->jobs[i] = clips->jobs[--clips->n];
			return;
		}
}

static enum MHD_Result answer_clip(struct archive_clips *clips, struct MHD_Connection *c, struct archive_clip_job *j)
{
	char prov_path[700], prov[8192], disposition[400], text[1200];
	struct MHD_Response *r;
	enum MHD_Result ret;
	struct stat st;
	ssize_t n = 0;
	int fd, pfd;
	unsigned status;

	forget_job(clips, j);
	j->answered = 1;
	if (!atomic_load_explicit(&j->done, memory_order_acquire)) {
		snprintf(text, sizeof text, "the server is stopping\n");
		return http_reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, text);
	}
	if (j->ret < 0) {
		status = j->ret == -ENOENT ? MHD_HTTP_NOT_FOUND : j->ret == -EBADMSG ? MHD_HTTP_CONFLICT
			 : j->ret == -EINVAL || j->ret == -ERANGE ? MHD_HTTP_BAD_REQUEST : MHD_HTTP_INTERNAL_SERVER_ERROR;
		snprintf(text, sizeof text, "%s\n", j->why);
		return http_reply_text(c, status, text);
	}
	snprintf(prov_path, sizeof prov_path, "%s.provenance.json", j->path);
	fd = open(j->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if ((pfd = open(prov_path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) >= 0) {
		n = read(pfd, prov, sizeof prov - 1);
		close(pfd);
	}
	prov[n > 0 ? n : 0] = '\0';
	prov[strcspn(prov, "\n")] = '\0';
	if (fd < 0 || fstat(fd, &st) < 0) {
		if (fd >= 0)
			close(fd);
		return MHD_NO;
	}
	r = MHD_create_response_from_fd64((uint64_t)st.st_size, fd);
	if (!r) {
		close(fd);
		return MHD_NO;
	}
	snprintf(disposition, sizeof disposition, "attachment; filename=\"%s\"", j->filename);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type_of(j->filename));
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_DISPOSITION, disposition);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	MHD_add_response_header(r, "X-Content-Type-Options", "nosniff");
	if (*prov)
		MHD_add_response_header(r, "X-Tolk-Provenance", prov);
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

int archive_clip_serve(struct archive_clips *clips, struct MHD_Connection *c, const char *root, const char *url,
		       struct archive_clip_job **job, enum MHD_Result *ret, char *refused, size_t refused_len)
{
	refused[0] = '\0';
	if (strcmp(url, "/api/clip"))
		return 0;
	*ret = *job ? answer_clip(clips, c, *job) : start_clip(clips, c, root, job, refused, refused_len);
	return 1;
}

void archive_clips_poll(struct archive_clips *clips)
{
	int i;

	for (i = 0; i < clips->n; i++) {
		struct archive_clip_job *j = clips->jobs[i];
		if (!j->resumed && atomic_load_explicit(&j->done, memory_order_acquire)) {
			j->resumed = 1;
			MHD_resume_connection(j->conn);
		}
	}
}

void archive_clip_release(struct archive_clips *clips, struct archive_clip_job *job)
{
	forget_job(clips, job);
	job_unref(job);
}

void archive_clips_stop(struct archive_clips *clips)
{
	int i;

	for (i = 0; i < clips->n; i++)
		if (!clips->jobs[i]->resumed) {
			clips->jobs[i]->resumed = 1;
			MHD_resume_connection(clips->jobs[i]->conn);
		}
}

int archive_http_serve(struct MHD_Connection *c, const char *root, const char *url, const char *method,
		       enum MHD_Result *ret, char *refused, size_t refused_len)
{
	const int get = !strcmp(method, "GET") || !strcmp(method, "HEAD");

	refused[0] = '\0';
	if (!strcmp(url, "/api/archive")) {
		*ret = get ? list_meetings(c, root)
			   : http_reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
		return 1;
	}
	if (strncmp(url, "/archive/", 9))
		return 0;
	if (!get) {
		*ret = http_reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
		return 1;
	}
	*ret = open_archive_file(c, root, url + 9, refused, refused_len);
	return 1;
}
