#include "control_socket.h"
#include "../core/utc_time.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

int control_default_path(const char *name, char *buf, size_t len)
{
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;

	if (xdg && *xdg)
		n = snprintf(buf, len, "%s/tolk/%s.sock", xdg, name);
	else
		n = snprintf(buf, len, "/tmp/tolk-%u/%s.sock", (unsigned)getuid(), name);
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* A folder another user could write to would let that user swap the
 * socket under the technicians: it must be a real folder (not a link),
 * owned by us or by root, and writable by nobody else unless sticky (as
 * /tmp is, where nobody can rename another's entry). */
static int folder_is_safe(const char *dir, char *why, size_t len)
{
	struct stat st;

	if (lstat(dir, &st) < 0) {
		snprintf(why, len, "%s: %s", dir, strerror(errno));
		return -errno;
	}
	if (S_ISLNK(st.st_mode)) {
		snprintf(why, len, "%s is a symbolic link", dir);
		return -ELOOP;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(why, len, "%s is not a folder", dir);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid() && st.st_uid != 0) {
		snprintf(why, len, "%s belongs to uid %u, not to this user (uid %u) or root", dir, (unsigned)st.st_uid,
			 (unsigned)geteuid());
		return -EPERM;
	}
	if ((st.st_mode & (S_IWGRP | S_IWOTH)) && !(st.st_mode & S_ISVTX)) {
		snprintf(why, len, "%s is writable by other users (mode %04o)", dir, (unsigned)(st.st_mode & 07777));
		return -EPERM;
	}
	return 0;
}

static int make_parent_dir(const char *path, int shared, char *why, size_t len)
{
	char dir[sizeof ((struct sockaddr_un *)0)->sun_path];
	char *slash;

	snprintf(dir, sizeof dir, "%s", path);
	slash = strrchr(dir, '/');
	if (!slash)
		return 0;
	if (slash == dir)
		slash++;
	*slash = '\0';
	/* Only the last component is ours to make; the rest must exist. */
	if (mkdir(dir, shared ? 0711 : 0700) == 0) {
		if (shared)
			chmod(dir, 0711); /* whatever the umask: others must reach the socket */
	} else if (errno != EEXIST) {
		snprintf(why, len, "cannot make the folder %s: %s", dir, strerror(errno));
		return -errno;
	}
	return folder_is_safe(dir, why, len);
}

int control_peer_check(int fd, uid_t trusted, char *why, size_t len)
{
	struct ucred cred;
	socklen_t clen = sizeof cred;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		snprintf(why, len, "cannot learn who serves the socket: %s", strerror(errno));
		return -errno;
	}
	if (cred.uid != getuid() && cred.uid != 0 && cred.uid != trusted) {
		snprintf(why, len, "the socket is served by uid %u (pid %d), not by this user or root: refused "
			 "(--engine-user names the engine's user if it runs as another)", (unsigned)cred.uid, (int)cred.pid);
		return -EPERM;
	}
	return 0;
}

int control_connect(const char *path, uid_t trusted, char *why, size_t len)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret;

	if (strlen(path) >= sizeof addr.sun_path) {
		snprintf(why, len, "control socket path is too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		ret = -errno;
		snprintf(why, len, "cannot reach tolk at %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return ret;
	}
	if ((ret = control_peer_check(fd, trusted, why, len)) < 0) {
		close(fd);
		return ret;
	}
	return fd;
}

int control_socket_open(struct control_socket *cs, const char *path, int shared, char *err, size_t errlen)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd, ret, i, probe;

	memset(cs, 0, sizeof *cs);
	cs->listen_fd = -1;
	cs->top = 1;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		cs->clients[i].fd = -1;
	if (strlen(path) >= sizeof addr.sun_path || strlen(path) >= sizeof cs->path) {
		snprintf(err, errlen, "control socket path is too long: %s", path);
		return -ENAMETOOLONG;
	}
	strcpy(addr.sun_path, path);
	strcpy(cs->path, path);
	{
		char why[400];
		if ((ret = make_parent_dir(path, shared, why, sizeof why)) < 0) {
			snprintf(err, errlen, "refusing the control socket %s: %s (remove it, or use --control)", path,
				 why);
			return ret;
		}
	}
	/* A socket that answers belongs to a running engine; one that does not
	 * is a leftover. */
	probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (probe >= 0) {
		if (connect(probe, (struct sockaddr *)&addr, sizeof addr) == 0) {
			close(probe);
			snprintf(err, errlen, "control socket %s is in use by another engine "
				 "(use --name or --control)", path);
			return -EADDRINUSE;
		}
		close(probe);
	}
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot make control socket: %s", strerror(errno));
		return ret;
	}
	/* The final mode from the start: no window where another user could
	 * connect to a private socket. */
	{
		mode_t old = umask(shared ? 0111 : 0177);
		ret = bind(fd, (struct sockaddr *)&addr, sizeof addr);
		umask(old);
	}
	if (ret < 0 || listen(fd, 16) < 0) {
		ret = -errno;
		snprintf(err, errlen, "cannot listen on %s: %s", path, strerror(errno));
		close(fd);
		return ret;
	}
	cs->listen_fd = fd;
	return 0;
}

void control_socket_set_admit(struct control_socket *cs, control_admit admit, control_refused refused,
			      control_seen seen, int top, void *user)
{
	cs->admit = admit;
	cs->refused = refused;
	cs->seen = seen;
	cs->top = top;
	cs->admit_user = user;
}

int control_socket_pollfds(const struct control_socket *cs, struct pollfd *fds, int max)
{
	int n = 0, i;

	if (cs->listen_fd < 0 || max < 1)
		return 0;
	fds[n++] = (struct pollfd){ .fd = cs->listen_fd, .events = POLLIN };
	for (i = 0; i < CONTROL_MAX_CLIENTS && n < max; i++)
		if (cs->clients[i].fd >= 0)
			/* One request at a time: the next is read once the last
			 * reply has gone, so a client that does not read only
			 * fills its own queue. */
			fds[n++] = (struct pollfd){ .fd = cs->clients[i].fd,
						    .events = cs->clients[i].out_len ? POLLOUT : POLLIN };
	return n;
}

/* The connection goes; whoever watches connections hears why, with the
 * reads it made. */
static void drop_client_for(struct control_client *c, const char *why)
{
	struct control_socket *cs = c->owner;

	if (cs && cs->seen)
		cs->seen(cs->admit_user, &c->peer, (long)c->quiet_reads, why);
	close(c->fd);
	free(c->out);
	c->fd = -1;
	c->out = NULL;
	c->out_len = c->out_cap = 0;
	c->len = 0;
	c->following = 0;
	c->owner = NULL;
}

static void drop_client(struct control_client *c)
{
	drop_client_for(c, "closed");
}

/* Sends what the socket takes now, never waiting. Returns -EPIPE when the
 * client is gone. */
static int flush_out(struct control_client *c)
{
	size_t done = 0;

	while (done < c->out_len) {
		ssize_t n = send(c->fd, c->out + done, c->out_len - done, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n > 0)
			done += (size_t)n;
		else if (n < 0 && errno == EINTR)
			continue;
		else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		else
			return -EPIPE;
	}
	if (done) {
		memmove(c->out, c->out + done, c->out_len - done);
		c->out_len -= done;
		c->out_since_ms = monotonic_ms();
	}
	return 0;
}

/* A line (and its newline) for the client, queued behind what waits. A
 * client that lets more than CONTROL_OUT_MAX pile up is not reading:
 * -ENOBUFS, and the caller drops it. */
static int queue_line(struct control_client *c, const char *data, size_t len)
{
	size_t need = c->out_len + len + 1;

	if (need > CONTROL_OUT_MAX)
		return -ENOBUFS;
	if (need > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *grown;
		while (cap < need)
			cap *= 2;
		if (!(grown = realloc(c->out, cap)))
			return -ENOMEM;
		c->out = grown;
		c->out_cap = cap;
	}
	if (!c->out_len)
		c->out_since_ms = monotonic_ms();
	memcpy(c->out + c->out_len, data, len);
	c->out[c->out_len + len] = '\n';
	c->out_len += len + 1;
	return flush_out(c);
}

/* A refused connection hears why, if its socket takes it at once. */
static void refuse(struct control_socket *cs, int fd, const struct control_peer *peer, const char *why)
{
	char line[256];
	int n = snprintf(line, sizeof line, "{\"ok\":false,\"error\":\"%s\"}\n", why);

	if (send(fd, line, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
		/* nothing more to do for it */
	}
	close(fd);
	if (cs->refused && peer)
		cs->refused(cs->admit_user, peer, why);
}

/* Whether this peer may have a slot now: a role, a share of the slots
 * for its uid, and the last few slots kept for the top role, so that a
 * technician can always get in. Returns NULL, or why not. */
static const char *door(const struct control_socket *cs, const struct control_peer *peer, int role, char *why,
			size_t len)
{
	int i, free_slots = 0, same_uid = 0;

	if (role <= 0) {
		snprintf(why, len, "permission denied: uid %u has no role on this engine (control: technicians, observers)",
			 (unsigned)peer->uid);
		return why;
	}
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		free_slots += cs->clients[i].fd < 0;
		same_uid += cs->clients[i].fd >= 0 && cs->clients[i].peer.uid == peer->uid;
	}
	if (!free_slots || (role < cs->top && free_slots <= CONTROL_RESERVED)) {
		snprintf(why, len, "too many control clients");
		return why;
	}
	if (same_uid >= CONTROL_PER_UID) {
		snprintf(why, len, "too many control connections from uid %u (at most %d)", (unsigned)peer->uid,
			 CONTROL_PER_UID);
		return why;
	}
	return NULL;
}

/* The top role is never kept out: when the door would refuse it, the
 * connection that has waited longest without making a single request
 * (lower roles first) makes room. Returns 1 when room was made. */
static int make_room(struct control_socket *cs)
{
	struct control_client *victim = NULL;
	int i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct control_client *c = &cs->clients[i];
		if (c->fd < 0 || c->reads || c->following)
			continue;
		if (!victim || c->role < victim->role ||
		    (c->role == victim->role && c->deadline_ms < victim->deadline_ms))
			victim = c;
	}
	if (!victim)
		return 0;
	drop_client_for(victim, "dropped to make room for a technician");
	return 1;
}

static void accept_clients(struct control_socket *cs)
{
	for (;;) {
		int fd = accept4(cs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i, role;
		struct control_peer peer;
		struct ucred cred;
		socklen_t len = sizeof cred;
		char why[200];

		if (fd < 0)
			return;
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
			close(fd); /* no credentials, no access */
			continue;
		}
		peer = (struct control_peer){ cred.pid, cred.uid, cred.gid };
		role = cs->admit ? cs->admit(cs->admit_user, &peer) : cs->top;
		while (door(cs, &peer, role, why, sizeof why) && role >= cs->top && make_room(cs))
			;
		if (door(cs, &peer, role, why, sizeof why)) {
			refuse(cs, fd, &peer, why);
			continue;
		}
		for (i = 0; cs->clients[i].fd >= 0; i++)
			;
		cs->clients[i] = (struct control_client){ .fd = fd, .peer = peer, .role = role, .owner = cs,
							   .deadline_ms = monotonic_ms() + CONTROL_REQUEST_MS };
		if (cs->seen)
			cs->seen(cs->admit_user, &peer, -1, "opened");
	}
}

/* A complete line already read waits behind a reply; once that has gone,
 * it is answered without waiting for more input. */
static int has_line(const struct control_client *c)
{
	return c->fd >= 0 && !c->out_len && memchr(c->buf, '\n', c->len);
}

static void serve_waiting(struct control_client *c, control_handler handler, void *user)
{
	char *nl;

	while (has_line(c)) {
		char *reply = NULL;
		size_t reply_len = 0, used;
		int follow = 0, quiet = 0;
		uint64_t from = 0;

		nl = memchr(c->buf, '\n', c->len);
		used = (size_t)(nl - c->buf) + 1;
		*nl = '\0';
		if (memchr(c->buf, '\0', used - 1)) {
			reply = (char *)"{\"ok\":false,\"error\":\"request holds a NUL byte\"}";
			reply_len = strlen(reply);
		} else {
			handler(user, &c->peer, c->buf, &reply, &reply_len, &follow, &from, &quiet);
			c->reads++;
			c->quiet_reads += quiet != 0;
		}
		if (queue_line(c, reply, reply_len) < 0) {
			drop_client_for(c, "its replies were not taken");
			return;
		}
		if (follow) {
			c->following = 1;
			c->follow_seq = from;
		}
		memmove(c->buf, c->buf + used, c->len - used);
		c->len -= used;
		c->buf[c->len] = '\0';
		c->deadline_ms = monotonic_ms() + (c->len ? CONTROL_REQUEST_MS : CONTROL_IDLE_MS);
	}
}

static void read_client(struct control_client *c, control_handler handler, void *user)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len - 1, 0);

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			drop_client(c);
			return;
		}
		if (n < 0)
			return;
		if (!c->len)
			c->deadline_ms = monotonic_ms() + CONTROL_REQUEST_MS; /* a new request begins */
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		serve_waiting(c, handler, user);
		if (c->fd < 0 || c->out_len)
			return; /* gone, or the rest when this reply has gone */
		if (c->len >= sizeof c->buf - 1) {
			static const char big[] = "{\"ok\":false,\"error\":\"request line too long\"}\n";
			if (send(c->fd, big, sizeof big - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0) {
				/* dropped either way */
			}
			drop_client_for(c, "request line too long");
			return;
		}
	}
}

/* The clients past a deadline go: a request line taking too long, output
 * nobody takes, a connection that asks nothing and follows nothing. */
static void drop_late(struct control_socket *cs)
{
	const int64_t now = monotonic_ms();
	int i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct control_client *c = &cs->clients[i];
		if (c->fd < 0)
			continue;
		if (c->out_len ? now - c->out_since_ms >= CONTROL_STUCK_MS
			       : !c->following && now >= c->deadline_ms)
			drop_client_for(c, c->out_len ? "its replies were not taken in time"
						      : c->len ? "its request line took too long" : "idle too long");
	}
}

void control_socket_service(struct control_socket *cs, const struct pollfd *fds, int n,
			    control_handler handler, void *user)
{
	int i, k;

	for (i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		if (fds[i].fd == cs->listen_fd) {
			accept_clients(cs);
			continue;
		}
		for (k = 0; k < CONTROL_MAX_CLIENTS; k++) {
			struct control_client *c = &cs->clients[k];
			if (c->fd != fds[i].fd)
				continue;
			if (c->out_len) {
				if ((fds[i].revents & (POLLERR | POLLHUP)) || flush_out(c) < 0)
					drop_client(c);
				else
					serve_waiting(c, handler, user);
			} else {
				read_client(c, handler, user);
			}
			break;
		}
	}
	drop_late(cs);
}

void control_socket_close(struct control_socket *cs)
{
	int i;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (cs->clients[i].fd >= 0)
			drop_client_for(&cs->clients[i], "the engine stopped");
	if (cs->listen_fd >= 0) {
		close(cs->listen_fd);
		unlink(cs->path);
		cs->listen_fd = -1;
	}
}

void control_socket_push(struct control_socket *cs, control_next_event next, void *user)
{
	int i;

	for (i = 0; i < CONTROL_MAX_CLIENTS; i++) {
		struct control_client *c = &cs->clients[i];
		char *line;
		size_t len;
		uint64_t seq;

		while (c->fd >= 0 && c->following && (seq = next(user, c->follow_seq, &line, &len))) {
			if (queue_line(c, line, len) < 0) {
				drop_client_for(c, "its events were not taken");
				break;
			}
			c->follow_seq = seq;
		}
	}
}
