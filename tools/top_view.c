/* tolkctl top: the whole meeting on one terminal screen, for technicians
 * over ssh. Plain ANSI, 10 frames a second, q quits. When stdout is not a
 * terminal it prints one summary line a second instead. */
#include "top_view.h"
#include "../engine/control/control_socket.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "../engine/core/json_reader.h"
#include "text_columns.h"

#define BAR_WIDTH 30
#define ANSWER_MAX (1 << 20)

static struct termios saved_tty;
static int tty_saved;
static volatile sig_atomic_t stop;

static void restore_tty(void)
{
	if (tty_saved) {
		tcsetattr(STDIN_FILENO, TCSANOW, &saved_tty);
		fputs("\033[?25h\n", stdout); /* cursor back */
		fflush(stdout);
		tty_saved = 0;
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

/* One request on the open connection, one JSON answer back. */
static struct jnode *ask(int fd, const char *request, char *buf)
{
	size_t len = 0;

	if (send(fd, request, strlen(request), MSG_NOSIGNAL) < 0 || send(fd, "\n", 1, MSG_NOSIGNAL) < 0)
		return NULL;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;
		char *nl;

		if (poll(&p, 1, 2000) <= 0)
			return NULL;
		n = recv(fd, buf + len, ANSWER_MAX - len - 1, 0);
		if (n <= 0)
			return NULL;
		len += (size_t)n;
		buf[len] = '\0';
		if ((nl = memchr(buf, '\n', len))) {
			*nl = '\0';
			return json_parse(buf);
		}
		if (len + 1 >= ANSWER_MAX)
			return NULL;
	}
}

static const struct jnode *meter_of(const struct jnode *meters, const char *port)
{
	const struct jnode *m;
	for (m = member(meters, "outputs") ? member(meters, "outputs")->child : NULL; m; m = m->next)
		if (!strcmp(text_of(member(m, "port")), port))
			return m;
	return NULL;
}

/* An RMS bar from -60 to 0 dBFS with the peak marked. */
static void bar(const struct jnode *m)
{
	const struct jnode *rms = member(m, "rms_dbfs"), *peak = member(m, "peak_dbfs");
	double r = rms && rms->type == J_NUMBER ? atof(rms->text) : -200;
	double p = peak && peak->type == J_NUMBER ? atof(peak->text) : -200;
	int fill = (int)((r + 60) / 60 * BAR_WIDTH), mark = (int)((p + 60) / 60 * BAR_WIDTH), i;

	putchar('[');
	for (i = 0; i < BAR_WIDTH; i++)
		putchar(i < fill ? '#' : i == mark ? '|' : ' ');
	printf("] %6s %6s", peak && peak->type == J_NUMBER ? peak->text : "-", rms && rms->type == J_NUMBER ? rms->text : "-");
}

static const char *short_term_of(const struct jnode *meters, const char *code)
{
	const struct jnode *l;
	for (l = member(meters, "loudness") ? member(meters, "loudness")->child : NULL; l; l = l->next)
		if (!strcmp(text_of(member(l, "channel")), code))
			return text_of(member(l, "short_term_lufs"));
	return "-";
}

static void draw(const struct jnode *st, const struct jnode *meters, const struct jnode *events,
		 const struct jnode *rec)
{
	const struct jnode *c, *k, *e, *r = member(rec, "recording");
	char port[96], when[32];
	time_t now = time(NULL);
	int n_events = 0, skip;
	double secs = atof(text_of(member(r, "seconds")));

	strftime(when, sizeof when, "%H:%M:%SZ", gmtime(&now));
	printf("\033[H\033[2J");
	printf("TOLK  %s   floor %s%s   %s\n", text_of(member(st, "meeting")), text_of(member(st, "floor_language")),
	       json_is_true(member(st, "floor_language_pinned")) ? " (pinned)" : "", when);
	printf("recording: %s  %02d:%02d:%02d  dropped %s  disk left %.1f GB\n\n", text_of(member(r, "state")),
	       (int)secs / 3600, (int)secs / 60 % 60, (int)secs % 60, text_of(member(r, "dropped_frames")),
	       atof(text_of(member(r, "free_bytes"))) / 1e9);
	printf(" #  CODE   NAME             FEED       FROM    Q      LEVEL (RMS dBFS, | peak)         PEAK    RMS  LUFS-S\n");
	for (c = member(st, "channels") ? member(st, "channels")->child : NULL; c; c = c->next) {
		printf("%2s  ", text_of(member(c, "number")));
		print_padded(text_of(member(c, "code")), 7);
		print_padded(text_of(member(c, "name")), 17);
		print_padded(text_of(member(c, "feed")), 11);
		print_padded(member(c, "source") && member(c, "source")->type == J_STRING ? text_of(member(c, "source")) : "", 8);
		print_padded(member(c, "quality") && member(c, "quality")->type == J_STRING ? text_of(member(c, "quality")) : "", 7);
		snprintf(port, sizeof port, "out_%s", text_of(member(c, "code")));
		bar(meter_of(meters, port));
		printf(" %7s%s\n", short_term_of(meters, text_of(member(c, "code"))),
		       json_is_true(member(c, "muted")) ? "  MUTED" : "");
	}
	printf("\nBOOTHS\n");
	for (c = member(st, "booths") ? member(st, "booths")->child : NULL; c; c = c->next) {
		printf("  ");
		print_padded(text_of(member(c, "id")), 6);
		for (k = member(c, "consoles") ? member(c, "consoles")->child : NULL; k; k = k->next)
			printf("  %s:%s%s %s>%s", text_of(member(k, "n")),
			       json_is_true(member(k, "mic")) ? "ON" : "off",
			       json_is_true(member(k, "mute")) ? "(mute)" : "", text_of(member(k, "listen")),
			       text_of(member(k, "hears")));
		printf("\n");
	}
	printf("\nALARMS\n");
	k = member(st, "alarms") ? member(st, "alarms")->child : NULL;
	if (!k)
		printf("  none\n");
	for (; k; k = k->next)
		printf("  %-14s %-12s %s  since %s\n", text_of(member(k, "kind")), text_of(member(k, "subject")),
		       text_of(member(k, "detail")), text_of(member(k, "since")));
	printf("\nLAST EVENTS\n");
	for (e = member(events, "events") ? member(events, "events")->child : NULL; e; e = e->next)
		n_events++;
	skip = n_events > 6 ? n_events - 6 : 0;
	for (e = member(events, "events") ? member(events, "events")->child : NULL; e; e = e->next)
		if (skip-- <= 0)
			printf("  %s  %s\n", text_of(member(e, "time")), text_of(member(e, "text")));
	printf("\nq quits\n");
	fflush(stdout);
}

/* Not a terminal: a line a second, for logs and pipes. */
static void summary_line(const struct jnode *st, const struct jnode *meters, const struct jnode *rec)
{
	const struct jnode *c, *k;
	char when[32], port[96];
	time_t now = time(NULL);
	int alarms = 0;

	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	printf("%s %s floor=%s", when, text_of(member(st, "meeting")), text_of(member(st, "floor_language")));
	for (c = member(st, "channels") ? member(st, "channels")->child : NULL; c; c = c->next) {
		snprintf(port, sizeof port, "out_%s", text_of(member(c, "code")));
		printf(" %s=%s(%s)", text_of(member(c, "code")), text_of(member(c, "feed")),
		       text_of(member(meter_of(meters, port), "rms_dbfs")));
	}
	for (k = member(st, "alarms") ? member(st, "alarms")->child : NULL; k; k = k->next)
		alarms++;
	printf(" alarms=%d recording=%s\n", alarms, text_of(member(member(rec, "recording"), "state")));
	fflush(stdout);
}

int top_run(const char *path, uid_t engine_uid)
{
	int fd, tty = isatty(STDOUT_FILENO) && isatty(STDIN_FILENO), status = 0;
	char *buf = malloc(ANSWER_MAX), why[512];
	struct timespec last = { 0, 0 };

	if (!buf)
		return 2;
	fd = control_connect(path, engine_uid, why, sizeof why);
	if (fd < 0) {
		fprintf(stderr, "tolkctl: %s\n", why);
		free(buf);
		return 3;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	if (tty && tcgetattr(STDIN_FILENO, &saved_tty) == 0) {
		struct termios raw = saved_tty;
		raw.c_lflag &= ~(ICANON | ECHO);
		raw.c_cc[VMIN] = 0;
		raw.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSANOW, &raw);
		tty_saved = 1;
		atexit(restore_tty);
		fputs("\033[?25l", stdout); /* no cursor flicker */
	}
	while (!stop) {
		struct jnode *st = ask(fd, "status", buf), *meters = ask(fd, "meters", buf),
			     *events = ask(fd, "events", buf), *rec = ask(fd, "record status", buf);
		struct pollfd in = { .fd = STDIN_FILENO, .events = POLLIN };
		struct timespec now;

		if (!st || !meters || !events) {
			restore_tty();
			fprintf(stderr, "tolkctl: lost the engine at %s\n", path);
			status = 3;
		} else if (tty) {
			draw(st, meters, events, rec);
		} else {
			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec != last.tv_sec) {
				summary_line(st, meters, rec);
				last = now;
			}
		}
		jfree(st);
		jfree(meters);
		jfree(events);
		jfree(rec);
		if (status)
			break;
		/* Wait a tenth of a second, or for a key. */
		if (tty && poll(&in, 1, 100) > 0) {
			char key;
			if (read(STDIN_FILENO, &key, 1) == 1 && (key == 'q' || key == 'Q'))
				break;
		} else if (!tty) {
			struct timespec tenth = { 0, 100 * 1000000L };
			nanosleep(&tenth, NULL);
		}
	}
	restore_tty();
	close(fd);
	free(buf);
	return status;
}
