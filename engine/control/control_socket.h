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

/* Who is on the other end, as the kernel says (SO_PEERCRED). */
struct control_peer {
	pid_t pid;
	uid_t uid;
	gid_t gid;
};

struct control_client {
	int fd;
	struct control_peer peer;
	int following;        /* an event stream: lines are pushed to it */
	uint64_t follow_seq;  /* the last event sent */
	size_t len;
	char buf[CONTROL_LINE_MAX];
};

struct control_socket {
	int listen_fd;
	char path[108];
	struct control_client clients[CONTROL_MAX_CLIENTS];
};

/* Handles one request line; writes the reply (without newline) to
 * reply/reply_len. */
/* Handles one request line; writes the reply (without newline) to
 * reply/reply_len. Setting *follow makes the connection an event stream
 * from event *follow_from on (see control_socket_push). */
typedef void (*control_handler)(void *user, const struct control_peer *peer, const char *line,
				char **reply, size_t *reply_len, int *follow, uint64_t *follow_from);

/* The event after `after`, as one JSON line in *line (no newline); returns
 * its sequence number, or 0 when there is none yet. */
typedef uint64_t (*control_next_event)(void *user, uint64_t after, char **line, size_t *len);

/* Default path: $XDG_RUNTIME_DIR/tolk/<name>.sock, else
 * /tmp/tolk-<uid>/<name>.sock. Returns 0 or -ENAMETOOLONG. */
int control_default_path(const char *name, char *buf, size_t len);

/* Clients (tolkctl): connect to the engine's socket and check, with
 * SO_PEERCRED, that the engine runs as this user, root or `trusted`
 * (pass (uid_t)-1 for none). Returns the connected fd, or a negative errno
 * with the reason in why. */
int control_connect(const char *path, uid_t trusted, char *why, size_t len);
int control_peer_check(int fd, uid_t trusted, char *why, size_t len);

/* Bind and listen, creating the parent directory when it is missing. The
 * folder must be a real folder of this user's or root's that no other user
 * can write to (or sticky, as /tmp): otherwise -EPERM, -ELOOP or -ENOTDIR. A
 * stale socket left by a crash is replaced; a live one is refused with
 * -EADDRINUSE. Private: socket 0600, folder 0700. Shared (roles decide,
 * from each peer's credentials): socket 0666, folder 0711. */
int control_socket_open(struct control_socket *cs, const char *path, int shared, char *err, size_t errlen);
void control_socket_close(struct control_socket *cs);

/* Poll integration: fills up to max entries, returns how many. */
int control_socket_pollfds(const struct control_socket *cs, struct pollfd *fds, int max);
/* Services the entries control_socket_pollfds filled. */
void control_socket_service(struct control_socket *cs, const struct pollfd *fds, int n,
			    control_handler handler, void *user);

/* Sends every following client the events it has not had yet. */
void control_socket_push(struct control_socket *cs, control_next_event next, void *user);

#endif
