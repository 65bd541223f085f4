#include "control_socket.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_TIMEOUT_MS 1000

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

void control_socket_close(struct control_socket *cs)
{
	int i;
	for (i = 0; i < CONTROL_MAX_CLIENTS; i++)
		if (cs->clients[i].fd >= 0) {
			close(cs->clients[i].fd);
			cs->clients[i].fd = -1;
		}
	if (cs->listen_fd >= 0) {
		close(cs->listen_fd);
		unlink(cs->path);
		cs->listen_fd = -1;
	}
}

int control_socket_pollfds(const struct control_socket *cs, struct pollfd *fds, int max)
{
	int n = 0, i;

	if (cs->listen_fd < 0 || max < 1)
		return 0;
	fds[n++] = (struct pollfd){ .fd = cs->listen_fd, .events = POLLIN };
	for (i = 0; i < CONTROL_MAX_CLIENTS && n < max; i++)
		if (cs->clients[i].fd >= 0)
			fds[n++] = (struct pollfd){ .fd = cs->clients[i].fd, .events = POLLIN };
	return n;
}

static void drop_client(struct control_client *c)
{
	close(c->fd);
	c->fd = -1;
	c->len = 0;
	c->following = 0;
}

/* Replies are small, but a client that stops reading must not hold the
 * control thread: give it a bounded time, then drop it. */
static int send_all(int fd, const char *data, size_t len)
{
	while (len) {
		ssize_t n = send(fd, data, len, MSG_NOSIGNAL);
		if (n > 0) {
			data += n;
			len -= (size_t)n;
		} else if (n < 0 && errno == EINTR) {
			continue;
		} else if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd p = { .fd = fd, .events = POLLOUT };
			if (poll(&p, 1, REPLY_TIMEOUT_MS) <= 0)
				return -ETIMEDOUT;
		} else {
			return -EPIPE;
		}
	}
	return 0;
}

static void accept_clients(struct control_socket *cs)
{
	for (;;) {
		int fd = accept4(cs->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC), i;
		if (fd < 0)
			return;
		for (i = 0; i < CONTROL_MAX_CLIENTS && cs->clients[i].fd >= 0; i++)
			;
		if (i == CONTROL_MAX_CLIENTS) {
			static const char busy[] = "{\"ok\":false,\"error\":\"too many control clients\"}\n";
			send_all(fd, busy, sizeof busy - 1);
			close(fd);
			continue;
		}
		{
			struct ucred cred;
			socklen_t len = sizeof cred;
			if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
				close(fd); /* no credentials, no access */
				continue;
			}
			cs->clients[i].peer = (struct control_peer){ cred.pid, cred.uid, cred.gid };
		}
		cs->clients[i].fd = fd;
		cs->clients[i].len = 0;
		cs->clients[i].following = 0;
	}
}

static void read_client(struct control_client *c, control_handler handler, void *user)
{
	for (;;) {
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof c->buf - c->len - 1, 0);
		char *nl;

		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
			drop_client(c);
			return;
		}
		if (n < 0)
			return;
		c->len += (size_t)n;
		c->buf[c->len] = '\0';
		while ((nl = memchr(c->buf, '\n', c->len))) {
			char *reply = NULL;
			size_t reply_len = 0, used = (size_t)(nl - c->buf) + 1;

			*nl = '\0';
			if (memchr(c->buf, '\0', used - 1)) {
				static const char bad[] = "{\"ok\":false,\"error\":\"request holds a NUL byte\"}";
				reply = (char *)bad;
				reply_len = sizeof bad - 1;
				if (send_all(c->fd, reply, reply_len) < 0 || send_all(c->fd, "\n", 1) < 0) {
					drop_client(c);
					return;
				}
			} else {
				int follow = 0;
				uint64_t from = 0;
				handler(user, &c->peer, c->buf, &reply, &reply_len, &follow, &from);
				if (send_all(c->fd, reply, reply_len) < 0 || send_all(c->fd, "\n", 1) < 0) {
					drop_client(c);
					return;
				}
				if (follow) {
					c->following = 1;
					c->follow_seq = from;
				}
			}
			memmove(c->buf, c->buf + used, c->len - used);
			c->len -= used;
			c->buf[c->len] = '\0';
		}
		if (c->len >= sizeof c->buf - 1) {
			static const char big[] = "{\"ok\":false,\"error\":\"request line too long\"}\n";
			send_all(c->fd, big, sizeof big - 1);
			drop_client(c);
			return;
		}
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
		for (k = 0; k < CONTROL_MAX_CLIENTS; k++)
			if (cs->clients[k].fd == fds[i].fd) {
				read_client(&cs->clients[k], handler, user);
				break;
			}
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
			if (send_all(c->fd, line, len) < 0 || send_all(c->fd, "\n", 1) < 0) {
				drop_client(c);
				break;
			}
			c->follow_seq = seq;
		}
	}
}
