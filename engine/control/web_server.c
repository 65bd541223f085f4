#include "web_server.h"
#include "../core/utc_time.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/random.h>
#include <time.h>
#include <arpa/inet.h>

#include "archive_http.h"
#include "http_reply.h"

/* The pages, embedded at build time (engine/web/page_blob.S): the
 * control room's, and the interpreter's console. */
extern const char tolk_page_html[];
extern const unsigned int tolk_page_html_len;
extern const char tolk_console_html[];
extern const unsigned int tolk_console_html_len;
extern const char tolk_listen_html[];
extern const unsigned int tolk_listen_html_len;

#define BODY_MAX 1024
#define COOKIE "tolk_token"

struct web_stream {
	struct web_server *ws;
	struct MHD_Connection *conn;
	char booth[TOLK_ID_MAX]; /* the booth view it follows; "" the control room's */
	int view;                /* its index in ws->views at the last push */
	char *buf;             /* the frame being sent */
	size_t len, pos;
	unsigned long sent;    /* generation of the frame last taken */
	int suspended;
};

/* A POST being read, or a clip being cut for a GET. */
struct upload {
	char body[BODY_MAX + 1];
	size_t len;
	int too_big;
	struct archive_clip_job *clip;
};

/* Constant time: how long a guess matched says nothing. */
static int same_token(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i;
	unsigned char d = la != lb;

	for (i = 0; i < la && i < lb; i++)
		d |= (unsigned char)(a[i] ^ b[i]);
	return *b && !d;
}

/* The token's role, its name for the audit, and an interpreter's booth. */
static enum role role_of(const struct web_server *ws, const char *token, const char **name, const char **booth)
{
	int i;

	*booth = NULL;
	if (!token)
		return ROLE_NONE;
	for (i = 0; i < ws->n_booths; i++)
		if (same_token(token, ws->booths[i].token)) {
			*name = ws->booths[i].name;
			*booth = ws->booths[i].booth;
			return ROLE_INTERPRETER;
		}
	if (same_token(token, ws->technician)) {
		*name = "technician";
		return ROLE_TECHNICIAN;
	}
	if (*ws->observer && same_token(token, ws->observer)) {
		*name = "observer";
		return ROLE_OBSERVER;
	}
	return ROLE_NONE;
}

/* The token a request carries, and how: 'h' header, 'c' cookie, 'q' query. */
static const char *token_of(struct MHD_Connection *c, char *how)
{
	const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_AUTHORIZATION);
	const char *t;

	if (auth && !strncmp(auth, "Bearer ", 7)) {
		*how = 'h';
		return auth + 7;
	}
	if ((t = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token"))) {
		*how = 'q';
		return t;
	}
	if ((t = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, COOKIE))) {
		*how = 'c';
		return t;
	}
	*how = 0;
	return NULL;
}

/* ---- the event stream ------------------------------------------------- */

static void forget_stream(void *cls)
{
	struct web_stream *s = cls;
	struct web_server *ws = s->ws;
	int i;

	for (i = 0; i < ws->n_streams; i++)
		if (ws->streams[i] == s) {
			ws->streams[i] = ws->streams[--ws->n_streams];
			break;
		}
	free(s->buf);
	free(s);
}

static ssize_t read_stream(void *cls, uint64_t offset, char *out, size_t max)
{
	struct web_stream *s = cls;
	struct web_server *ws = s->ws;
	size_t n;

	(void)offset;
	if (s->pos == s->len) {
		const struct json_writer *live = s->view < ws->n_views ? &ws->views[s->view].live : NULL;
		if (s->sent == ws->generation || !live || !live->buf || live->failed) {
			/* Nothing new: wait for the next frame (web_push resumes). */
			s->suspended = 1;
			MHD_suspend_connection(s->conn);
			return 0;
		}
		free(s->buf);
		s->buf = malloc(live->len);
		if (!s->buf)
			return MHD_CONTENT_READER_END_WITH_ERROR;
		memcpy(s->buf, live->buf, live->len);
		s->len = live->len;
		s->pos = 0;
		s->sent = ws->generation;
	}
	n = s->len - s->pos < max ? s->len - s->pos : max;
	memcpy(out, s->buf + s->pos, n);
	s->pos += n;
	return (ssize_t)n;
}

static enum MHD_Result open_stream(struct web_server *ws, struct MHD_Connection *c, const char *booth)
{
	struct web_stream *s;
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (ws->n_streams == WEB_STREAMS_MAX)
		return http_reply_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "too many pages open\n");
	s = calloc(1, sizeof *s);
	if (!s)
		return MHD_NO;
	s->ws = ws;
	s->conn = c;
	s->view = WEB_STREAMS_MAX; /* none until the next push */
	snprintf(s->booth, sizeof s->booth, "%s", booth ? booth : "");
	r = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 16384, read_stream, s, forget_stream);
	if (!r) {
		free(s);
		return MHD_NO;
	}
	ws->streams[ws->n_streams++] = s;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/event-stream");
	MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	ret = MHD_queue_response(c, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

/* ---- connections ------------------------------------------------------- */

/* Connections that have not yet made a request with a good token are
 * strangers: a few of them at most, each for a few seconds from its
 * connect however slowly it trickles its headers. A new stranger beyond
 * the limit pushes out the oldest, so that a flood of them cannot keep a
 * technician's connection from making its request. */
static struct web_conn *conn_of(struct web_server *ws, const struct MHD_Connection *c)
{
	int i;

	for (i = 0; i < ws->n_conns; i++)
		if (ws->conns[i].c == c)
			return &ws->conns[i];
	return NULL;
}

static void web_conn_authed(struct web_server *ws, struct MHD_Connection *c)
{
	struct web_conn *k = conn_of(ws, c);

	if (k)
		k->authed = 1;
}

/* Ends a connection from outside libmicrohttpd: it sees the socket shut
 * and closes the connection on its next run. */
static void push_out(struct web_conn *k)
{
	if (k->fd >= 0)
		shutdown(k->fd, SHUT_RDWR);
	k->fd = -1;
	k->authed = -1; /* on its way out */
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
			  enum MHD_ConnectionNotificationCode code)
{
	struct web_server *ws = cls;
	const union MHD_ConnectionInfo *info;
	struct web_conn *k, *oldest = NULL;
	int i, strangers = 0;

	(void)socket_context;
	if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
		if ((k = conn_of(ws, c)))
			*k = ws->conns[--ws->n_conns];
		return;
	}
	if (ws->n_conns == WEB_CONNECTIONS_MAX)
		return; /* the daemon's own limit is the same: not reached */
	info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
	for (i = 0; i < ws->n_conns; i++)
		if (!ws->conns[i].authed) {
			strangers++;
			if (!oldest || ws->conns[i].since_ms < oldest->since_ms)
				oldest = &ws->conns[i];
		}
	if (strangers >= WEB_STRANGERS_MAX && oldest)
		push_out(oldest);
	ws->conns[ws->n_conns++] = (struct web_conn){ c, info ? info->connect_fd : -1, monotonic_ms(), 0 };
}

/* Strangers past their time go. */
static void sweep_strangers(struct web_server *ws)
{
	const int64_t now = monotonic_ms();
	int i;

	for (i = 0; i < ws->n_conns; i++)
		if (!ws->conns[i].authed && now - ws->conns[i].since_ms >= WEB_STRANGER_MS)
			push_out(&ws->conns[i]);
}

/* ---- requests --------------------------------------------------------- */

static enum MHD_Result serve_page(struct web_server *ws, struct MHD_Connection *c, char how, const char *token,
				   const char *url, const char *page, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	char cookie[WEB_TOKEN_MAX + 80];

	if (how == 'q') {
		/* The token leaves the address bar for an HttpOnly cookie. */
		r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		snprintf(cookie, sizeof cookie, COOKIE "=%s; HttpOnly; SameSite=Strict; Path=/%s", token,
			 ws->tls ? "; Secure" : "");
		MHD_add_response_header(r, MHD_HTTP_HEADER_SET_COOKIE, cookie);
		MHD_add_response_header(r, MHD_HTTP_HEADER_LOCATION, url);
		MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
		ret = MHD_queue_response(c, MHD_HTTP_SEE_OTHER, r);
		MHD_destroy_response(r);
		return ret;
	}
	return http_reply(c, MHD_HTTP_OK, "text/html; charset=utf-8", page, len, MHD_RESPMEM_PERSISTENT);
}

/* How often a header occurs in the request. */
struct header_count {
	const char *name;
	int n;
};

static enum MHD_Result count_header(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
	struct header_count *h = cls;

	(void)kind;
	(void)value;
	if (key && !strcasecmp(key, h->name))
		h->n++;
	return MHD_YES;
}

static int header_times(struct MHD_Connection *c, const char *name)
{
	struct header_count h = { name, 0 };

	MHD_get_connection_values(c, MHD_HEADER_KIND, count_header, &h);
	return h.n;
}

/* A request that changes something must come from the page itself: a
 * browser names the page that sent it in Origin (or, failing that,
 * Referer), and it must be this server as the browser reached it (Host).
 * SameSite=Strict does not cover another port of the same host. A request
 * with neither header is no browser's: it must carry its token in the
 * Authorization header, which no other page can make a browser send. */
static int same_origin(const struct web_server *ws, struct MHD_Connection *c, char how)
{
	const char *host = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
	const char *origin = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Origin");
	const char *referer = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_REFERER);
	char own[300];
	size_t n;

	if (!origin && !referer)
		return how == 'h';
	if (!host || header_times(c, "Origin") > 1 || header_times(c, MHD_HTTP_HEADER_HOST) > 1)
		return 0;
	n = (size_t)snprintf(own, sizeof own, "%s://%s", ws->tls ? "https" : "http", host);
	if (n >= sizeof own)
		return 0;
	if (origin)
		return !strcmp(origin, own);
	return !strncmp(referer, own, n) && (referer[n] == '/' || referer[n] == '\0');
}

static void peer_of(struct MHD_Connection *c, char *buf, size_t len)
{
	const union MHD_ConnectionInfo *info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr_in *in = info ? (const struct sockaddr_in *)info->client_addr : NULL;
	const unsigned char *a = in && in->sin_family == AF_INET ? (const unsigned char *)&in->sin_addr : NULL;

	if (a)
		snprintf(buf, len, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
	else
		snprintf(buf, len, "unknown");
}

/* /console/<booth>/<n>: the interpreter's page, for that booth's token or
 * a technician's (testing a seat); anyone else gets 403. The page reads
 * its booth and seat from its address. */
static enum MHD_Result serve_console(struct web_server *ws, struct MHD_Connection *c, const char *url,
				     enum role role, const char *booth, char how, const char *token)
{
	char want[TOLK_ID_MAX];
	const char *slash = strchr(url + 9, '/');
	char *end;
	long n;

	if (!slash || (size_t)(slash - (url + 9)) >= sizeof want)
		return http_reply_text(c, MHD_HTTP_NOT_FOUND, "a console is /console/<booth>/<n>\n");
	snprintf(want, sizeof want, "%.*s", (int)(slash - (url + 9)), url + 9);
	n = strtol(slash + 1, &end, 10);
	if (*end || n < 1 || n > TOLK_MAX_CONSOLES)
		return http_reply_text(c, MHD_HTTP_NOT_FOUND, "a console is /console/<booth>/<n>\n");
	if (role == ROLE_INTERPRETER ? strcmp(booth, want) != 0 : role != ROLE_TECHNICIAN)
		return http_reply_text(c, MHD_HTTP_FORBIDDEN, "this token may not open that console\n");
	return serve_page(ws, c, how, token, url, tolk_console_html, tolk_console_html_len);
}

/* A writer kept between requests, emptied for the next. */
static void reuse(struct json_writer *w)
{
	w->len = 0;
	w->failed = 0;
	if (w->buf)
		w->buf[0] = '\0';
}

/* What the engine wrote into w, as the reply. */
static enum MHD_Result reply_written(struct MHD_Connection *c, const struct json_writer *w, const char *type)
{
	if (w->failed || !w->buf)
		return http_reply_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
	return http_reply(c, MHD_HTTP_OK, type, w->buf, w->len, MHD_RESPMEM_MUST_COPY);
}

/* GET /metrics: Prometheus's scrape, for the technician's and observer's
 * tokens and the scrape token of web.tokens.metrics, which opens nothing
 * else. A read like any status: not audited line by line. */
static enum MHD_Result serve_metrics(struct web_server *ws, struct MHD_Connection *c, const char *method,
				     enum role role, const char *token)
{
	enum MHD_Result ret;

	if (role != ROLE_TECHNICIAN && role != ROLE_OBSERVER &&
	    !(token && *ws->metrics_token && same_token(token, ws->metrics_token))) {
		struct MHD_Response *r;
		const char *why = !token ? "a token is needed: Authorization: Bearer <token>\n"
			       : role == ROLE_NONE ? "wrong token\n" : "this token may not read the metrics\n";
		r = MHD_create_response_from_buffer(strlen(why), (void *)why, MHD_RESPMEM_PERSISTENT);
		if (!r)
			return MHD_NO;
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, "text/plain; charset=utf-8");
		MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer realm=\"tolk\"");
		ret = MHD_queue_response(c, role == ROLE_INTERPRETER ? MHD_HTTP_FORBIDDEN : MHD_HTTP_UNAUTHORIZED, r);
		MHD_destroy_response(r);
		return ret;
	}
	web_conn_authed(ws, c);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return http_reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET the metrics\n");
	reuse(&ws->metrics_text);
	ws->metrics(ws->user, &ws->metrics_text);
	return reply_written(c, &ws->metrics_text, "text/plain; version=0.0.4; charset=utf-8");
}

/* /listen, its script and /api/listen: the delegates' page. Only GET,
 * only these three, for whoever listen_may says; nothing else of the
 * server opens to a listener. */
static int is_listen_url(const char *url)
{
	return !strcmp(url, "/listen") || !strcmp(url, "/listen/") || !strcmp(url, "/listen/janus.js") ||
	       !strcmp(url, "/api/listen");
}

static enum MHD_Result serve_listen(struct web_server *ws, struct MHD_Connection *c, const char *url,
				    const char *method, enum role role, const char *token, char how)
{
	const int by_token = token && *ws->listener && same_token(token, ws->listener);

	if (!ws->listen || ws->listen(ws->user, NULL) < 0)
		return http_reply_text(c, MHD_HTTP_NOT_FOUND, "this room sends no audio for phones (no rtp: section)\n");
	if (!ws->listen_open && !by_token && role != ROLE_TECHNICIAN && role != ROLE_OBSERVER)
		return http_reply_text(c, token ? MHD_HTTP_FORBIDDEN : MHD_HTTP_UNAUTHORIZED,
				       token ? "this token does not open the listener page\n"
					     : "the listener page needs its link: /listen?token=<web.tokens.listener>\n");
	web_conn_authed(ws, c);
	if (strcmp(method, "GET") && strcmp(method, "HEAD"))
		return http_reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET only\n");
	if (!strcmp(url, "/listen/janus.js")) {
		if (!ws->janus_js)
			return http_reply_text(c, MHD_HTTP_NOT_FOUND, "install Debian's libjs-janus-gateway (" TOLK_JANUS_JS ")\n");
		return http_reply(c, MHD_HTTP_OK, "text/javascript; charset=utf-8", ws->janus_js, ws->janus_js_len,
				  MHD_RESPMEM_PERSISTENT);
	}
	if (!strcmp(url, "/api/listen")) {
		reuse(&ws->listen_text);
		ws->listen(ws->user, &ws->listen_text);
		return reply_written(c, &ws->listen_text, "application/json");
	}
	return serve_page(ws, c, how, token, "/listen", tolk_listen_html, tolk_listen_html_len);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *data, size_t *size, void **state)
{
	struct web_server *ws = cls;
	const char *name = "", *token, *out, *booth;
	enum role role;
	char how, peer[64];
	struct upload *u = *state;

	(void)version;
	if (!u && !strcmp(method, "POST")) {
		/* First call: the headers; the body follows. A request whose length
		 * two headers give (perhaps differently) is smuggling, not a client. */
		if (header_times(c, MHD_HTTP_HEADER_CONTENT_LENGTH) > 1 ||
		    (header_times(c, MHD_HTTP_HEADER_CONTENT_LENGTH) &&
		     header_times(c, MHD_HTTP_HEADER_TRANSFER_ENCODING)))
			return http_reply_text(c, MHD_HTTP_BAD_REQUEST, "one Content-Length, and not with Transfer-Encoding\n");
		u = calloc(1, sizeof *u);
		if (!u)
			return MHD_NO;
		*state = u;
		return MHD_YES;
	}
	if (u && *size) {
		if (u->len + *size > BODY_MAX)
			u->too_big = 1;
		else {
			memcpy(u->body + u->len, data, *size);
			u->len += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	/* Browsers ask for it by themselves, with whatever cookie they hold. */
	if (!strcmp(url, "/favicon.ico"))
		return http_reply_text(c, MHD_HTTP_NOT_FOUND, "no icon\n");
	token = token_of(c, &how);
	role = role_of(ws, token, &name, &booth);
	if (!strcmp(url, "/metrics") && ws->metrics)
		return serve_metrics(ws, c, method, role, token);
	if (is_listen_url(url))
		return serve_listen(ws, c, url, method, role, token, how);
	if (role == ROLE_NONE && token && *ws->listener && same_token(token, ws->listener))
		return http_reply_text(c, MHD_HTTP_FORBIDDEN, "the listener token opens /listen only\n");
	if (role == ROLE_NONE && token && *ws->metrics_token && same_token(token, ws->metrics_token))
		return http_reply_text(c, MHD_HTTP_FORBIDDEN, "the metrics token is for GET /metrics only\n");
	if (role == ROLE_NONE)
		return http_reply_text(c, MHD_HTTP_UNAUTHORIZED,
				  token ? "wrong token\n" : "a token is needed: Authorization: Bearer <token>\n");
	web_conn_authed(ws, c);
	if (strcmp(method, "GET") && strcmp(method, "HEAD")) {
		/* A token in the address is for opening the page, never for a
		 * change: addresses end up in logs and histories. */
		if (how == 'q')
			return http_reply_text(c, MHD_HTTP_FORBIDDEN, "the token goes in a header or the cookie, not the address\n");
		if (!same_origin(ws, c, how))
			return http_reply_text(c, MHD_HTTP_FORBIDDEN, "this request comes from another page (Origin)\n");
	}
	if (!strncmp(url, "/console/", 9) && !strcmp(method, "GET"))
		return serve_console(ws, c, url, role, booth, how, token);
	if (!strcmp(method, "GET") && !strcmp(url, "/events"))
		return open_stream(ws, c, booth ? booth : MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "booth"));
	if (!strcmp(method, "GET") && !strcmp(url, "/api/whoami")) {
		char body[160];
		snprintf(body, sizeof body, "{\"ok\":true,\"role\":\"%s\"%s%s%s}", name, booth ? ",\"booth\":\"" : "",
			 booth ? booth : "", booth ? "\"" : "");
		return http_reply(c, MHD_HTTP_OK, "application/json", body, strlen(body), MHD_RESPMEM_MUST_COPY);
	}
	if (!strcmp(url, "/api/command")) {
		if (strcmp(method, "POST") || !u)
			return http_reply_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "POST a command line\n");
		if (u->too_big || memchr(u->body, '\n', u->len) || memchr(u->body, '\0', u->len))
			return http_reply_text(c, MHD_HTTP_BAD_REQUEST, "one command line, at most 1024 bytes\n");
		u->body[u->len] = '\0';
		peer_of(c, peer, sizeof peer);
		out = ws->execute(ws->user, name, peer, role, u->body);
		return http_reply(c, strstr(out, "\"error\":\"permission denied") ? MHD_HTTP_FORBIDDEN : MHD_HTTP_OK,
			     "application/json", out, strlen(out), MHD_RESPMEM_MUST_COPY);
	}
	/* The control room's page is not an interpreter's. */
	if (role == ROLE_INTERPRETER)
		return http_reply_text(c, MHD_HTTP_FORBIDDEN, "this token opens its booth's consoles: /console/<booth>/<n>\n");
	if (!strcmp(method, "GET") && (!strcmp(url, "/") || !strcmp(url, "/index.html")))
		return serve_page(ws, c, how, token, "/", tolk_page_html, tolk_page_html_len);
	if (*ws->archive_root && !strcmp(method, "GET") && !strcmp(url, "/api/clip")) {
		enum MHD_Result ret;
		char why[160];
		if (!u && !(u = *state = calloc(1, sizeof *u)))
			return MHD_NO;
		archive_clip_serve(&ws->clips, c, ws->archive_root, url, &u->clip, &ret, why, sizeof why);
		if (*why && ws->refused) {
			peer_of(c, peer, sizeof peer);
			ws->refused(ws->user, name, peer, url, why);
		}
		return ret;
	}
	if (*ws->archive_root) {
		enum MHD_Result ret;
		char why[160];
		if (archive_http_serve(c, ws->archive_root, url, method, &ret, why, sizeof why)) {
			if (*why && ws->refused) {
				peer_of(c, peer, sizeof peer);
				ws->refused(ws->user, name, peer, url, why);
			}
			return ret;
		}
	}
	return http_reply_text(c, MHD_HTTP_NOT_FOUND, "not here\n");
}

static void request_done(void *cls, struct MHD_Connection *c, void **state, enum MHD_RequestTerminationCode why)
{
	struct web_server *ws = cls;
	struct upload *u = *state;

	(void)c;
	(void)why;
	if (u && u->clip)
		archive_clip_release(&ws->clips, u->clip);
	free(*state);
	*state = NULL;
}

/* ---- the server ------------------------------------------------------- */

/* A PEM file's contents, NUL-terminated: what libmicrohttpd takes. */
static char *read_pem(const char *path, const char *what, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	char *buf = NULL;
	long n;

	if (!f || fseek(f, 0, SEEK_END) < 0 || (n = ftell(f)) < 0 || n > 1024 * 1024 || fseek(f, 0, SEEK_SET) < 0 ||
	    !(buf = calloc((size_t)n + 1, 1)) || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		snprintf(err, errlen, "web tls %s %s: %s", what, path, f ? "cannot be read (at most 1 MiB)" : strerror(errno));
		free(buf);
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	if (!strstr(buf, "-----BEGIN ")) {
		snprintf(err, errlen, "web tls %s %s: not a PEM file", what, path);
		free(buf);
		return NULL;
	}
	return buf;
}

int web_open(struct web_server *ws, const struct cfg_web *cfg, const struct config *room, web_execute execute,
	     web_frame frame, void *user, char *err, size_t errlen)
{
	struct sockaddr_in addr = { .sin_family = AF_INET };
	unsigned char raw[16];
	int i;

	memset(ws, 0, sizeof *ws);
	ws->execute = execute;
	ws->frame = frame;
	ws->user = user;
	for (i = 0; i < WEB_STREAMS_MAX; i++)
		jw_init(&ws->views[i].live);
	snprintf(ws->observer, sizeof ws->observer, "%s", cfg->observer);
	snprintf(ws->metrics_token, sizeof ws->metrics_token, "%s", cfg->metrics);
	jw_init(&ws->metrics_text);
	snprintf(ws->listener, sizeof ws->listener, "%s", cfg->listener);
	ws->listen_open = cfg->listen_open;
	jw_init(&ws->listen_text);
	/* The interpreters' tokens, with their booths' ids: the page server
	 * keeps its own copy, whatever becomes of the config. */
	ws->booths = calloc((size_t)cfg->n_booth_tokens + 1, sizeof *ws->booths);
	if (!ws->booths) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	for (i = 0; i < cfg->n_booth_tokens && i < room->n_booths; i++)
		if (*cfg->booth_tokens[i]) {
			struct web_booth_token *t = &ws->booths[ws->n_booths++];
			snprintf(t->booth, sizeof t->booth, "%s", room->booths[i].id);
			snprintf(t->name, sizeof t->name, "booth:%s", room->booths[i].id);
			snprintf(t->token, sizeof t->token, "%s", cfg->booth_tokens[i]);
		}
	if (*cfg->technician) {
		snprintf(ws->technician, sizeof ws->technician, "%s", cfg->technician);
	} else {
		if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw) {
			snprintf(err, errlen, "web: cannot make a technician token: %s", strerror(errno));
			web_close(ws);
			return -EIO;
		}
		for (i = 0; i < (int)sizeof raw; i++)
			snprintf(ws->technician + 2 * i, 3, "%02x", raw[i]);
		ws->token_made = 1;
	}
	addr.sin_port = htons((uint16_t)atoi(cfg->port));
	if (inet_pton(AF_INET, !strcmp(cfg->host, "localhost") ? "127.0.0.1" : cfg->host, &addr.sin_addr) != 1) {
		snprintf(err, errlen, "web listen host '%s' is not an IPv4 address", cfg->host);
		web_close(ws);
		return -EINVAL;
	}
	if (*cfg->tls_cert_file) {
		ws->tls = 1;
		if (!(ws->tls_cert = read_pem(cfg->tls_cert_file, "cert_file", err, errlen)) ||
		    !(ws->tls_key = read_pem(cfg->tls_key_file, "key_file", err, errlen))) {
			web_close(ws);
			return -EINVAL;
		}
	}
	{
		/* The options as an array: the two PEM ones only with TLS. */
		struct MHD_OptionItem ops[] = {
			{ MHD_OPTION_SOCK_ADDR, 0, &addr },
			{ MHD_OPTION_NOTIFY_COMPLETED, (intptr_t)request_done, ws },
			{ MHD_OPTION_NOTIFY_CONNECTION, (intptr_t)on_connection, ws },
			{ MHD_OPTION_CONNECTION_LIMIT, WEB_CONNECTIONS_MAX, NULL },
			{ MHD_OPTION_PER_IP_CONNECTION_LIMIT, WEB_PER_ADDRESS_MAX, NULL },
			{ MHD_OPTION_CONNECTION_TIMEOUT, 30, NULL },
			{ ws->tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, ws->tls_cert },
			{ MHD_OPTION_HTTPS_MEM_KEY, 0, ws->tls_key },
			{ MHD_OPTION_END, 0, NULL },
		};
		ws->daemon = MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG |
					      (ws->tls ? MHD_USE_TLS : 0), 0, NULL, NULL, on_request, ws,
					      MHD_OPTION_ARRAY, ops, MHD_OPTION_END);
	}
	if (!ws->daemon) {
		snprintf(err, errlen, "cannot serve the web page on %s:%s (is the port taken?)", cfg->host, cfg->port);
		web_close(ws);
		return -EADDRINUSE;
	}
	snprintf(ws->url, sizeof ws->url, "%s://%s:%s/", ws->tls ? "https" : "http", cfg->host, cfg->port);
	return 0;
}

int web_fd(const struct web_server *ws)
{
	const union MHD_DaemonInfo *info;

	if (!ws->daemon)
		return -1;
	info = MHD_get_daemon_info(ws->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	return info ? info->epoll_fd : -1;
}

int web_timeout_ms(const struct web_server *ws)
{
	MHD_UNSIGNED_LONG_LONG t;

	if (!ws->daemon)
		return -1;
	/* A clip being cut: look for its end often (it has no descriptor to
	 * wake the loop). */
	if (ws->clips.n)
		return 20;
	if (MHD_get_timeout(ws->daemon, &t) != MHD_YES)
		return -1;
	return t > 1000 ? 1000 : (int)t;
}

void web_service(struct web_server *ws)
{
	if (ws->daemon) {
		sweep_strangers(ws);
		archive_clips_poll(&ws->clips);
		MHD_run(ws->daemon);
	}
}

/* The view a stream follows in this push: found, or made and filled. */
static int view_of(struct web_server *ws, const char *booth)
{
	struct web_view *v;
	int i;

	for (i = 0; i < ws->n_views; i++)
		if (!strcmp(ws->views[i].booth, booth))
			return i;
	if (ws->n_views == WEB_STREAMS_MAX)
		return WEB_STREAMS_MAX;
	v = &ws->views[ws->n_views];
	snprintf(v->booth, sizeof v->booth, "%s", booth);
	v->live.len = 0;
	v->live.failed = 0;
	jw_raw(&v->live, "data: ");
	ws->frame(ws->user, *booth ? booth : NULL, &v->live);
	jw_raw(&v->live, "\n\n");
	return ws->n_views++;
}

void web_push(struct web_server *ws)
{
	int i;

	if (!ws->daemon || !ws->n_streams)
		return;
	/* One frame per view that a stream follows, made once. */
	ws->n_views = 0;
	for (i = 0; i < ws->n_streams; i++)
		ws->streams[i]->view = view_of(ws, ws->streams[i]->booth);
	ws->generation++;
	for (i = 0; i < ws->n_streams; i++)
		if (ws->streams[i]->suspended) {
			ws->streams[i]->suspended = 0;
			MHD_resume_connection(ws->streams[i]->conn);
		}
	MHD_run(ws->daemon);
}

void web_close(struct web_server *ws)
{
	int i;

	if (ws->daemon) {
		/* Suspended streams and clips must be resumed before the daemon stops. */
		archive_clips_stop(&ws->clips);
		for (i = 0; i < ws->n_streams; i++)
			if (ws->streams[i]->suspended) {
				ws->streams[i]->suspended = 0;
				MHD_resume_connection(ws->streams[i]->conn);
			}
		MHD_stop_daemon(ws->daemon);
	}
	for (i = 0; i < WEB_STREAMS_MAX; i++)
		jw_free(&ws->views[i].live);
	jw_free(&ws->metrics_text);
	jw_free(&ws->listen_text);
	free(ws->janus_js);
	free(ws->booths);
	free(ws->tls_cert);
	if (ws->tls_key) /* a secret: not left in freed memory */
		explicit_bzero(ws->tls_key, strlen(ws->tls_key));
	free(ws->tls_key);
	memset(ws, 0, sizeof *ws);
}
