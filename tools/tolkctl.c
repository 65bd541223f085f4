/* tolkctl: send one command to a running tolk and print the answer.
 * Exit status: 0 ok, 1 the engine refused the command, 2 usage,
 * 3 the engine could not be reached or did not answer. */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../engine/control/control_socket.h"
#include "../engine/core/json_reader.h"
#include "clip_command.h"
#include "text_columns.h"
#include "top_view.h"

#define REPLY_MAX (1 << 20)

enum { EXIT_OK = 0, EXIT_REFUSED = 1, EXIT_USAGE = 2, EXIT_UNREACHABLE = 3 };

/* ---- readable output ------------------------------------------------- */

static void print_inline(const struct jnode *n)
{
	const struct jnode *c;

	switch (n->type) {
	case J_OBJECT:
		for (c = n->child; c; c = c->next) {
			printf("%s%s=", c == n->child ? "" : " ", c->key);
			print_inline(c);
		}
		break;
	case J_ARRAY:
		printf("[");
		for (c = n->child; c; c = c->next) {
			if (c != n->child)
				printf(", ");
			print_inline(c);
		}
		printf("]");
		break;
	default:
		printf("%s", text_of(n));
	}
}

static void print_generic(const struct jnode *root)
{
	const struct jnode *m, *c;

	for (m = root->child; m; m = m->next) {
		if (!strcmp(m->key, "ok"))
			continue;
		if (m->type == J_ARRAY && m->child && m->child->type == J_OBJECT) {
			printf("%s:\n", m->key);
			for (c = m->child; c; c = c->next) {
				printf("  ");
				print_inline(c);
				printf("\n");
			}
		} else {
			printf("%s: ", m->key);
			print_inline(m);
			printf("\n");
		}
	}
}

/* Replies to console commands (mic, mute, output, listen, ...). */
static void print_console_reply(const struct jnode *root)
{
	const struct jnode *over = member(root, "taken_over"), *bumped = member(root, "bumped");

	printf("%s/%s: mic %s%s, output %s (%s), listen %s -> %s", text_of(member(root, "booth")),
	       text_of(member(root, "n")), json_is_true(member(root, "mic")) ? "ON" : "off",
	       json_is_true(member(root, "mute")) ? " (muted)" : "", text_of(member(root, "output")),
	       text_of(member(root, "channel")), text_of(member(root, "listen")),
	       text_of(member(root, "hears")));
	if (over)
		printf(", took over from %s/%s", text_of(member(root, "booth")), text_of(over));
	if (bumped)
		printf(", took the channel from %s", text_of(bumped));
	if (!json_is_true(member(root, "changed")))
		printf(", unchanged");
	printf("\n");
}

/* One incident on a line: id, time, severity, state, channels, text. */
static void print_incident_line(const struct jnode *i)
{
	printf("%s  %.19s  %-6s %-10s%s ", text_of(member(i, "id")), text_of(member(i, "time")),
	       text_of(member(i, "severity")), text_of(member(i, "state")), json_is_true(member(i, "draft")) ? " DRAFT" : "");
	print_inline(member(i, "channels") ? member(i, "channels") : i);
	printf("  %s\n", text_of(member(i, "text")));
}

/* incidents, incident ID and incident TEXT: the lines a technician reads. */
static void print_incidents(const struct jnode *root)
{
	const struct jnode *list = member(root, "incidents"), *one = member(root, "incident"), *c;

	if (list) {
		for (c = list->child; c; c = c->next)
			print_incident_line(c);
		if (!list->child)
			printf("no incidents\n");
		if (member(root, "older") && strcmp(text_of(member(root, "older")), "0"))
			printf("(%s older ones not shown)\n", text_of(member(root, "older")));
		return;
	}
	print_incident_line(one);
	printf("folder %s\n", text_of(member(root, "folder") ? member(root, "folder") : member(one, "folder")));
	if (!strcmp(text_of(member(one, "state")), "complete"))
		printf("read %s/report.md\n", text_of(member(root, "folder") ? member(root, "folder") : member(one, "folder")));
	else
		printf("collecting: complete in %s s\n", text_of(member(one, "complete_in_seconds")));
}

static void print_status(const struct jnode *root)
{
	const struct jnode *c, *con, *sig;

	printf("meeting %s, floor language %s%s\n", text_of(member(root, "meeting")),
	       text_of(member(root, "floor_language")),
	       json_is_true(member(root, "floor_language_pinned")) ? " (pinned)" : "");
	printf("channels:\n");
	for (c = member(root, "channels") ? member(root, "channels")->child : NULL; c; c = c->next) {
		const struct jnode *peak = member(c, "peak_dbfs");
		printf("  %2s  ", text_of(member(c, "number")));
		print_padded(text_of(member(c, "code")), 7);
		print_padded(text_of(member(c, "name")), 17);
		printf("feed ");
		print_padded(text_of(member(c, "feed")), 9);
		if (member(c, "quality") && member(c, "quality")->type == J_STRING)
			printf(" from %-6s quality %-5s", text_of(member(c, "source")),
			       text_of(member(c, "quality")));
		else
			printf(" %-25s", "");
		if (json_is_true(member(c, "muted")))
			printf(" MUTED");
		if (peak && peak->type == J_NUMBER)
			printf(" peak %s dBFS", text_of(peak));
		printf("\n");
	}
	printf("booths:\n");
	for (c = member(root, "booths") ? member(root, "booths")->child : NULL; c; c = c->next) {
		printf("  %s (%s)\n", text_of(member(c, "id")), text_of(member(c, "booth_mode")));
		for (con = member(c, "consoles") ? member(c, "consoles")->child : NULL; con; con = con->next) {
			printf("    %s  mic %-3s%s output %s (%s)  listen %s -> %s",
			       text_of(member(con, "n")), json_is_true(member(con, "mic")) ? "ON" : "off",
			       json_is_true(member(con, "mute")) ? " MUTED" : "", text_of(member(con, "output")),
			       text_of(member(con, "channel")), text_of(member(con, "listen")),
			       text_of(member(con, "hears")));
			if (member(con, "note") && member(con, "note")->type == J_STRING)
				printf(" (%s)", text_of(member(con, "note")));
			printf("  vol %s dB\n", text_of(member(con, "volume_db")));
		}
	}
	sig = member(root, "signals") ? member(root, "signals")->child : NULL;
	if (sig)
		printf("signals:\n");
	for (; sig; sig = sig->next)
		printf("  %s  %s\n", text_of(member(sig, "time")), text_of(member(sig, "text")));
}

/* ---- transport ------------------------------------------------------- */

/* After the first answer of "events --follow": every further line is an
 * event, printed as it comes, until the engine goes or we are stopped. */
static int follow_stream(int fd, const char *pending, size_t len)
{
	char buf[8192];
	ssize_t n;

	fwrite(pending, 1, len, stdout);
	fflush(stdout);
	while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
		fwrite(buf, 1, (size_t)n, stdout);
		fflush(stdout); /* a line reaches whoever reads us at once */
	}
	close(fd);
	fprintf(stderr, "tolkctl: the engine closed the event stream\n");
	return EXIT_UNREACHABLE;
}

/* The engine's user when it is neither ours nor root (--engine-user). */
static uid_t engine_uid = (uid_t)-1;

static int request(const char *path, const char *line, char *reply, size_t cap, int timeout_ms, int *stream_fd)
{
	char why[512];
	size_t len = 0;
	int fd = control_connect(path, engine_uid, why, sizeof why);

	if (fd < 0) {
		fprintf(stderr, "tolkctl: %s\n", why);
		return fd;
	}
	if (send(fd, line, strlen(line), MSG_NOSIGNAL) < 0 || send(fd, "\n", 1, MSG_NOSIGNAL) < 0) {
		/* An engine that refuses a connection at the door says why and
		 * closes: the reason may be waiting to be read. */
		int sent_errno = errno;
		char why[512];
		ssize_t n = recv(fd, why, sizeof why - 1, MSG_DONTWAIT);
		if (n > 0 && memchr(why, '\n', (size_t)n) && (size_t)n < cap) {
			memcpy(reply, why, (size_t)n);
			reply[n] = '\0';
			*strchr(reply, '\n') = '\0';
			close(fd);
			if (stream_fd)
				*stream_fd = -1;
			return 0;
		}
		fprintf(stderr, "tolkctl: cannot send to %s: %s\n", path, strerror(sent_errno));
		close(fd);
		return -EPIPE;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (poll(&p, 1, timeout_ms) <= 0) {
			fprintf(stderr, "tolkctl: no answer from %s within %d ms\n", path, timeout_ms);
			close(fd);
			return -ETIMEDOUT;
		}
		n = recv(fd, reply + len, cap - len - 1, 0);
		if (n <= 0) {
			fprintf(stderr, "tolkctl: %s closed the connection without an answer\n", path);
			close(fd);
			return -EPIPE;
		}
		len += (size_t)n;
		reply[len] = '\0';
		if (memchr(reply, '\n', len))
			break;
		if (len + 1 >= cap) {
			fprintf(stderr, "tolkctl: answer too long\n");
			close(fd);
			return -E2BIG;
		}
	}
	*strchr(reply, '\n') = '\0';
	if (stream_fd)
		*stream_fd = fd;
	else
		close(fd);
	return 0;
}

static int engine_user(const char *name)
{
	struct passwd *pw = getpwnam(name);
	char *end;
	unsigned long uid;

	if (pw) {
		engine_uid = pw->pw_uid;
		return 0;
	}
	uid = strtoul(name, &end, 10);
	if (!*name || *end)
		return -ENOENT;
	engine_uid = (uid_t)uid;
	return 0;
}

/* The engine's recordings folder, from record status, for tolkctl clip. */
struct clip_ask {
	const char *path;
	int timeout_ms;
};

static int ask_recordings_dir(void *user, char *dir, size_t len)
{
	const struct clip_ask *a = user;
	char *reply = malloc(REPLY_MAX);
	struct jnode *root = NULL, *d;
	int ret = -1;

	if (reply && request(a->path, "record status", reply, REPLY_MAX, a->timeout_ms, NULL) == 0 &&
	    (root = json_parse(reply)) && (d = member(member(root, "recording"), "dir")) && d->type == J_STRING) {
		snprintf(dir, len, "%s", d->text);
		ret = 0;
	} else if (reply && root) {
		fprintf(stderr, "tolkctl clip: the engine did not say where its recordings are; use --dir\n");
	}
	jfree(root);
	free(reply);
	return ret;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tolkctl [--control PATH | --name CLIENT] [--json] [--timeout MS] COMMAND...\n"
		"Sends one command to a running tolk and prints its answer.\n"
		"\n"
		"Commands:\n"
		"  top                         the whole meeting on one screen, 10 Hz (q quits)\n"
		"  status                      channels, their feeds, booths and live mics\n"
		"  events [since SEQ] [--follow]  recent changes, signals and alarms; --follow\n"
		"                              streams them as JSON lines as they happen\n"
		"  meters                      every port's level and the channels' loudness\n"
		"  mic BOOTH N on|off          turn console N of BOOTH on or off\n"
		"  mute BOOTH N on|off         cough: silence the console's channel\n"
		"  output BOOTH N A|B|C        the channel the console speaks into\n"
		"  handover BOOTH FROM TO      pass the live mic to a colleague (20 ms crossfade)\n"
		"  listen BOOTH N floor|auto|LANG  what the console hears (LANG: relay)\n"
		"  volume BOOTH N DB           headphone volume, -60..0 dB\n"
		"  tone BOOTH N BASS TREBLE    headphone tone, -12..12 dB each\n"
		"  floor-language LANG [pin]   the language spoken on the floor\n"
		"  slower BOOTH N              ask the speaker to slow down (anonymous)\n"
		"  help BOOTH N                call the technician\n"
		"  problem BOOTH N             a technical problem: a signal and a draft incident\n"
		"  handover-request BOOTH N    ask a booth-mate to take over\n"
		"  console BOOTH N             what console N of BOOTH shows\n"
		"  ack SEQ | ack alarm KIND [SUBJECT]  answer a signal, or acknowledge an alarm\n"
		"  record start [MEETING] | record stop | record status\n"
		"  inserts                     every insert chain: latency, parameters, monitors\n"
		"  insert CHAIN PLUGIN PARAM VALUE | insert CHAIN PLUGIN bypass on|off\n"
		"  exposure [YYYY-MM-DD]       each console's noise dose for the day\n"
		"  reload                      read the configuration again and apply it\n"
		"  incident TEXT [--severity low|medium|high] [--channel CODE]...\n"
		"                              file an incident report with the evidence\n"
		"  incident ID                 one incident report\n"
		"  incidents                   every incident report\n"
		"  janus-config [DEST]         the Janus Streaming plugin's mountpoints for this\n"
		"                              room's RTP (janus.plugin.streaming.jcfg)\n"
		"  help                        the commands this engine knows\n"
		"  clip MEETING CHANNEL FROM TO [--format wav|flac|opus] [--out FILE] [--dir DIR]\n"
		"                              a sample-exact clip of the archive, cut here, with\n"
		"                              FILE.provenance.json (FROM, TO: UTC or +offset)\n"
		"\n"
		"  -C, --control PATH   engine's control socket (default as tolk's)\n"
		"  -n, --name CLIENT    engine's client name, for the default path (default tolk)\n"
		"  -j, --json           print the engine's raw JSON line\n"
		"  -t, --timeout MS     how long to wait for the answer (default 5000)\n"
		"  -u, --engine-user U  the engine runs as user U (name or uid); by default only\n"
		"                       an engine of your own user or root is trusted\n"
		"  -h, --help           print this help and exit\n"
		"\n"
		"Exit status: 0 ok, 1 refused by the engine, 2 usage, 3 engine unreachable.\n");
}

int main(int argc, char **argv)
{
	static const struct option longs[] = {
		{ "control", required_argument, NULL, 'C' },
		{ "name", required_argument, NULL, 'n' },
		{ "json", no_argument, NULL, 'j' },
		{ "timeout", required_argument, NULL, 't' },
		{ "engine-user", required_argument, NULL, 'u' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *control = NULL, *name = "tolk";
	char path[108], line[CONTROL_LINE_MAX];
	char *reply;
	int json = 0, timeout_ms = 5000, c, i, status, following = 0, stream_fd = -1;
	struct jnode *root;
	size_t len = 0;

	/* "+": stop at the first command word, so "mic fr 1 on" is not parsed. */
	while ((c = getopt_long(argc, argv, "+C:n:jt:u:h", longs, NULL)) != -1) {
		switch (c) {
		case 'C': control = optarg; break;
		case 'n': name = optarg; break;
		case 'j': json = 1; break;
		case 't': timeout_ms = atoi(optarg); break;
		case 'u':
			if (engine_user(optarg) < 0) {
				fprintf(stderr, "tolkctl: --engine-user %s: no such user\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc || timeout_ms <= 0) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if (control)
		snprintf(path, sizeof path, "%s", control);
	else if (control_default_path(name, path, sizeof path) < 0) {
		fprintf(stderr, "tolkctl: default control path too long; use --control\n");
		return EXIT_USAGE;
	}
	if (!strcmp(argv[optind], "clip")) {
		struct clip_ask ask = { path, timeout_ms };
		return clip_command(argc - optind, argv + optind, ask_recordings_dir, &ask);
	}
	if (!strcmp(argv[optind], "top")) {
		if (optind + 1 != argc) {
			fprintf(stderr, "tolkctl: top takes no arguments\n");
			return EXIT_USAGE;
		}
		return top_run(path, engine_uid);
	}
	line[0] = '\0';
	for (i = optind; i < argc; i++) {
		size_t add = strlen(argv[i]) + 1;
		if (len + add >= sizeof line || strchr(argv[i], '\n')) {
			fprintf(stderr, "tolkctl: command too long or holds a newline\n");
			return EXIT_USAGE;
		}
		if (i > optind)
			line[len++] = ' ';
		memcpy(line + len, argv[i], add);
		len += add - 1;
	}
	for (i = optind + 1; i < argc; i++)
		following |= !strcmp(argv[optind], "events") && !strcmp(argv[i], "--follow");
	reply = malloc(REPLY_MAX);
	if (!reply)
		return EXIT_UNREACHABLE;
	if (request(path, line, reply, REPLY_MAX, timeout_ms, following ? &stream_fd : NULL) < 0) {
		free(reply);
		return EXIT_UNREACHABLE;
	}
	root = json_parse(reply);
	if (!root || root->type != J_OBJECT || !member(root, "ok")) {
		fprintf(stderr, "tolkctl: the engine's answer is not understood: %s\n", reply);
		jfree(root);
		free(reply);
		return EXIT_UNREACHABLE;
	}
	status = json_is_true(member(root, "ok")) ? EXIT_OK : EXIT_REFUSED;
	if (following && status == EXIT_OK) {
		/* Whatever came with the first answer is the start of the stream. */
		size_t first = strlen(reply) + 1, total = first;
		while (total < REPLY_MAX && reply[total])
			total++;
		jfree(root);
		status = follow_stream(stream_fd, reply + first, total > first ? total - first : 0);
		free(reply);
		return status;
	}
	if (stream_fd >= 0)
		close(stream_fd);
	if (json)
		printf("%s\n", reply);
	else if (status != EXIT_OK)
		fprintf(stderr, "tolkctl: %s\n", text_of(member(root, "error")));
	else if (!strcmp(argv[optind], "status"))
		print_status(root);
	else if (!strcmp(argv[optind], "incidents") || !strcmp(argv[optind], "incident") ||
		 !strcmp(argv[optind], "problem"))
		print_incidents(root);
	else if (!strcmp(argv[optind], "janus-config"))
		fputs(text_of(member(root, "jcfg")), stdout); /* the file itself: > janus.plugin.streaming.jcfg */
	else if (member(root, "booth") && member(root, "n") && member(root, "channel"))
		print_console_reply(root);
	else
		print_generic(root);
	jfree(root);
	free(reply);
	return status;
}
