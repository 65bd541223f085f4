/* The control-room web page, the interpreters' consoles and their data,
 * served by libmicrohttpd (over TLS when web.tls is set) on the control
 * thread: no thread of its own, its epoll descriptor polled with the
 * others. Every request carries a token (Authorization: Bearer, the
 * HttpOnly cookie, or ?token= on a page, which sets the cookie); the
 * token's role decides what its commands may do, and an interpreter's is
 * bound to its booth. Live data goes out as Server-Sent Events (the
 * control room's frame, or one booth's consoles); commands come in by
 * POST and run the one command path, audited like tolkctl's. */
#ifndef TOLK_WEB_SERVER_H
#define TOLK_WEB_SERVER_H

#include "archive_http.h"
#include <stddef.h>
#include <stdint.h>

#include "../core/config.h"
#include "../core/json_writer.h"
#include "access.h"

#define WEB_STREAMS_MAX 32
#define WEB_TOKEN_MAX 128
#define WEB_CONNECTIONS_MAX 128 /* all connections, the daemon's limit */
#define WEB_PER_ADDRESS_MAX 64  /* connections from one address: another can always get in */
#define WEB_STRANGERS_MAX 16    /* connections without a good token yet */
#define WEB_STRANGER_MS 3000    /* how long one may take to make its request */

/* Runs a command line for a role; returns the JSON reply (kept until the
 * next call). token_name is "technician", "observer" or, for an
 * interpreter, "booth:<id>"; peer the address. Thread: control. */
typedef const char *(*web_execute)(void *user, const char *token_name, const char *peer, enum role role,
				   const char *line);
/* Writes one live frame (a JSON object) into w: the control room's (booth
 * NULL), or one booth's consoles. Thread: control. */
typedef void (*web_frame)(void *user, const char *booth, struct json_writer *w);

struct web_stream;
struct MHD_Connection;

/* A connection, from its accept: strangers (authed 0) have WEB_STRANGER_MS
 * from since_ms to make a request with a good token. */
struct web_conn {
	struct MHD_Connection *c;
	int fd;
	int64_t since_ms;
	int authed; /* 1 a good token seen; -1 being pushed out */
};

/* An interpreter's token, bound to its booth. */
struct web_booth_token {
	char booth[TOLK_ID_MAX];
	char name[TOLK_ID_MAX + 8]; /* "booth:<id>", as the audit names it */
	char token[WEB_TOKEN_MAX];
};

/* What one push sends to the streams of one view: the control room's
 * (booth ""), or a booth's consoles. */
struct web_view {
	char booth[TOLK_ID_MAX];
	struct json_writer live; /* "data: ...\n\n" */
};

struct web_server {
	struct MHD_Daemon *daemon;
	char technician[WEB_TOKEN_MAX], observer[WEB_TOKEN_MAX];
	char metrics_token[WEB_TOKEN_MAX]; /* GET /metrics only; "" none */
	struct web_booth_token *booths;
	int n_booths;
	int token_made;               /* the technician token was made up here */
	web_execute execute;
	web_frame frame;
	void *user;
	struct web_view views[WEB_STREAMS_MAX]; /* this push's frames, by view */
	int n_views;
	unsigned long generation;     /* of the current frames */
	struct web_stream *streams[WEB_STREAMS_MAX];
	int n_streams;
	char url[160];                /* http(s)://host:port/ */
	int tls;                      /* served over HTTPS */
	char *tls_cert, *tls_key;     /* the PEM files' contents, while the daemon runs */
	struct web_conn conns[WEB_CONNECTIONS_MAX];
	int n_conns;
	/* The Archive view's folder (archive_http.h), set after web_open; ""
	 * serves no archive. A request it turns away goes to refused, for
	 * the audit (what was asked, and why not). */
	char archive_root[4096];
	struct archive_clips clips;   /* clips being cut for requests */
	void (*refused)(void *user, const char *token_name, const char *peer, const char *what, const char *why);
	/* GET /metrics: the Prometheus text, into w; NULL serves none. Set
	 * after web_open. Thread: control. */
	void (*metrics)(void *user, struct json_writer *w);
	struct json_writer metrics_text; /* the last scrape's, reused */
	/* The listener's page (/listen): for the listener token, the control
	 * room's tokens, or anyone (listen_open). janus_js is Debian's
	 * libjs-janus-gateway as read at web_open (NULL: not installed);
	 * listen writes /api/listen, or returns -ENOENT when the room sends
	 * no RTP. Set after web_open. Thread: control. */
	char listener[WEB_TOKEN_MAX];
	int listen_open;
	char *janus_js;
	size_t janus_js_len;
	int (*listen)(void *user, struct json_writer *w);
	struct json_writer listen_text;
};

/* Where Debian's libjs-janus-gateway puts the gateway's JavaScript. */
#ifndef TOLK_JANUS_JS
#define TOLK_JANUS_JS "/usr/share/javascript/janus-gateway/janus.js"
#endif

/* Listens on cfg's address. A missing technician token is made up (from
 * getrandom) and left in ws->technician with token_made set, for the
 * caller to print once. room gives the booths the interpreters' tokens
 * are for. Returns 0 or a negative errno with a message. Thread: control. */
int web_open(struct web_server *ws, const struct cfg_web *cfg, const struct config *room, web_execute execute,
	     web_frame frame, void *user, char *err, size_t errlen);
/* The descriptor to poll for input (-1 when off), and how long poll may
 * wait before web_service is due (-1: no limit). Thread: control. */
int web_fd(const struct web_server *ws);
/* Thread: control. */
int web_timeout_ms(const struct web_server *ws);
/* Thread: control. */
void web_service(struct web_server *ws);
/* A new live frame to every open event stream. Thread: control. */
void web_push(struct web_server *ws);
/* Thread: control. */
void web_close(struct web_server *ws);

#endif
