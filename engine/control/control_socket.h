/* The Unix stream socket tolkctl talks to: one request line in, one JSON
 * line out. Non-blocking, serviced from the control thread's poll loop. */
#ifndef TOLK_CONTROL_SOCKET_H
#define TOLK_CONTROL_SOCKET_H

#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CONTROL_MAX_CLIENTS 32
#define CONTROL_LINE_MAX 4096
#define CONTROL_RESERVED 4          /* the last free slots: technicians only */
#define CONTROL_PER_UID 12          /* connections one uid may hold */
#define CONTROL_REQUEST_MS 5000     /* a request line, from its first byte (or the connect) */
#define CONTROL_IDLE_MS 300000      /* a connection that asks nothing more, not following */
#define CONTROL_STUCK_MS 5000       /* output waiting with no byte taken */
#define CONTROL_OUT_MAX (1 << 20)   /* output held for one client that reads slowly */

/* Who is on the other end, as the kernel says (SO_PEERCRED). */
struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

/* The control thread never waits on a client: replies and events go into
 * the client's own output queue and leave as its socket takes them. A
 * client that lets CONTROL_OUT_MAX pile up, or takes nothing for
 * CONTROL_STUCK_MS, is dropped; so is one that takes longer than
 * CONTROL_REQUEST_MS over a request line. */
struct control_client {
	int fd;
	struct control_peer peer;
	int role;             /* what admit said: 0 none, higher more */
	int following;        /* an event stream: lines are pushed to it */
	uint64_t follow_seq;  /* the last event sent */
	unsigned long reads;  /* requests answered */
	unsigned long quiet_reads; /* accepted reads the handler did not audit one by one */
	struct control_socket *owner;
	int64_t deadline_ms;  /* the current request line, or the idle limit */
	int64_t out_since_ms; /* when output last moved, while some waits */
	char *out;
	size_t out_len, out_cap;
	size_t len;
	char buf[CONTROL_LINE_MAX];
};

/* Who may connect: the peer's role (0: none, refused at once; the highest
 * role the caller has is `top`, and only it may take the reserved slots).
 * `refused` hears of each refused connection, with the reason. Thread: control. */
typedef int (*control_admit)(void *user, const struct control_peer *peer);
/* Thread: control. */
typedef void (*control_refused)(void *user, const struct control_peer *peer, const char *why);
/* A connection let in (reads < 0), or gone, with the reads the handler
 * did not audit one by one and why it went. Thread: control. */
typedef void (*control_seen)(void *user, const struct control_peer *peer, long reads, const char *why);

struct control_socket {
	int listen_fd;
	char path[108];
	struct control_client clients[CONTROL_MAX_CLIENTS];
	control_admit admit;          /* NULL: everyone who can connect is top */
	control_refused refused;
	control_seen seen;            /* NULL: connections are not told */
	void *admit_user;
	int top;
};

/* Handles one request line; writes the reply (without newline) to
 * reply/reply_len. Setting *follow makes the connection an event stream
 * from event *follow_from on (see control_socket_push). Setting *quiet
 * says the request was an accepted read that the handler did not audit:
 * the connection counts them for its closing line. Thread: control. */
typedef void (*control_handler)(void *user, const struct control_peer *peer, const char *line,
				char **reply, size_t *reply_len, int *follow, uint64_t *follow_from, int *quiet);

/* The event after `after`, as one JSON line in *line (no newline); returns
 * its sequence number, or 0 when there is none yet. Thread: control. */
typedef uint64_t (*control_next_event)(void *user, uint64_t after, char **line, size_t *len);

/* Default path: $XDG_RUNTIME_DIR/tolk/<name>.sock, else
 * /tmp/tolk-<uid>/<name>.sock. Returns 0 or -ENAMETOOLONG. Thread: any (tolk and tolkctl). */
int control_default_path(const char *name, char *buf, size_t len);

/* Clients (tolkctl): connect to the engine's socket and check, with
 * SO_PEERCRED, that the engine runs as this user, root or `trusted`
 * (pass (uid_t)-1 for none). Returns the connected fd, or a negative errno
 * with the reason in why. Thread: the client's (tolkctl). */
int control_connect(const char *path, uid_t trusted, char *why, size_t len);
/* Thread: the client's (tolkctl). */
int control_peer_check(int fd, uid_t trusted, char *why, size_t len);

/* Bind and listen, creating the parent directory when it is missing. The
 * folder must be a real folder of this user's or root's that no other user
 * can write to (or sticky, as /tmp): otherwise -EPERM, -ELOOP or -ENOTDIR. A
 * stale socket left by a crash is replaced; a live one is refused with
 * -EADDRINUSE. Private: socket 0600, folder 0700. Shared (roles decide,
 * from each peer's credentials): socket 0666, folder 0711. Thread: control. */
int control_socket_open(struct control_socket *cs, const char *path, int shared, char *err, size_t errlen);
/* Thread: control. */
void control_socket_close(struct control_socket *cs);

/* Role checks at the door (see control_admit), and who hears of each
 * connection's opening and closing (seen, may be NULL). Thread: control. */
void control_socket_set_admit(struct control_socket *cs, control_admit admit, control_refused refused,
			      control_seen seen, int top, void *user);

/* Poll integration: fills up to max entries, returns how many. Thread: control. */
int control_socket_pollfds(const struct control_socket *cs, struct pollfd *fds, int max);
/* Services the entries control_socket_pollfds filled, then drops the
 * clients past a deadline. Thread: control. */
void control_socket_service(struct control_socket *cs, const struct pollfd *fds, int n,
			    control_handler handler, void *user);

/* Sends every following client the events it has not had yet. Thread: control. */
void control_socket_push(struct control_socket *cs, control_next_event next, void *user);

#endif
