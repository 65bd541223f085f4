/* tolk: the engine. Start-up order matters: everything that can be wrong
 * with the config or the command line is found before any JACK port is
 * made, and every buffer the realtime thread touches exists before the
 * client is activated. The main thread then becomes the control thread.
 * The rest of the engine is in the files engine.h lists. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "core/thread_role.h"
#include "core/utc_time.h"
#include "disk/manifest_signature.h"
#include "disk/recovery.h"
#include "engine.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: tolk [OPTIONS]\n"
		"Simultaneous-interpretation audio router (a JACK client).\n"
		"\n"
		"  -c, --config FILE      room configuration (default channels.yaml)\n"
		"  -n, --name CLIENT      JACK client name (default tolk)\n"
		"  -s, --server NAME      JACK server name (default: libjack's rules,\n"
		"                         JACK_DEFAULT_SERVER); a server is never started\n"
		"  -C, --control PATH     control socket (default $XDG_RUNTIME_DIR/tolk/CLIENT.sock,\n"
		"                         else /tmp/tolk-UID/CLIENT.sock)\n"
		"      --record-dir DIR   recordings folder (overrides recording.dir)\n"
		"      --no-record        no recording at all in this run: record start is refused,\n"
		"                         nothing is written under the recordings folder (the logs\n"
		"                         go to $XDG_STATE_HOME/tolk unless --log-dir)\n"
		"      --log-dir DIR      where audit.jsonl and exposure.jsonl go (default: the\n"
		"                         recordings folder)\n"
		"      --plugin-dir DIR   built-in plugins (default $TOLK_PLUGIN_DIR, else plugins/\n"
		"                         next to the executable, else " TOLK_PLUGINDIR ")\n"
		"      --reconnect        when the JACK server goes away, close the recordings\n"
		"                         cleanly, wait for it (trying every second), then\n"
		"                         restore ports, connections and state and record on\n"
		"                         in a new segment (default: exit with status 1)\n"
		"      --check FILE       validate FILE and exit (0 valid, 2 invalid)\n"
		"  -V, --version          print the version and exit\n"
		"  -h, --help             print this help and exit\n"
		"\n"
		"Exit status: 0 clean stop (SIGINT, SIGTERM), 1 JACK unreachable or gone\n"
		"(without --reconnect),\n"
		"2 usage or configuration error.\n");
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { OPT_RECORD_DIR = 256, OPT_NO_RECORD, OPT_CHECK, OPT_LOG_DIR, OPT_PLUGIN_DIR, OPT_RECONNECT };
	static const struct option longs[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "name", required_argument, NULL, 'n' },
		{ "server", required_argument, NULL, 's' },
		{ "control", required_argument, NULL, 'C' },
		{ "record-dir", required_argument, NULL, OPT_RECORD_DIR },
		{ "no-record", no_argument, NULL, OPT_NO_RECORD },
		{ "log-dir", required_argument, NULL, OPT_LOG_DIR },
		{ "plugin-dir", required_argument, NULL, OPT_PLUGIN_DIR },
		{ "check", required_argument, NULL, OPT_CHECK },
		{ "reconnect", no_argument, NULL, OPT_RECONNECT },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	*o = (struct options){ .config = "channels.yaml", .name = "tolk" };
	while ((c = getopt_long(argc, argv, "c:n:s:C:Vh", longs, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'n': o->name = optarg; break;
		case 's': o->server = optarg; break;
		case 'C': o->control = optarg; break;
		case OPT_RECORD_DIR: o->record_dir = optarg; break;
		case OPT_NO_RECORD: o->no_record = 1; break;
		case OPT_LOG_DIR: o->log_dir = optarg; break;
		case OPT_PLUGIN_DIR: o->plugin_dir = optarg; break;
		case OPT_CHECK: o->config = optarg; o->check_only = 1; break;
		case OPT_RECONNECT: o->reconnect = 1; break;
		case 'V': printf("tolk %s\n", TOLK_VERSION); exit(EXIT_CLEAN);
		case 'h': usage(stdout); exit(EXIT_CLEAN);
		default: usage(stderr); return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tolk: unexpected argument '%s'\n", argv[optind]);
		usage(stderr);
		return -EINVAL;
	}
	if (!*o->name || strchr(o->name, '/') || strchr(o->name, ':')) {
		fprintf(stderr, "tolk: --name '%s' must be non-empty, without '/' or ':'\n", o->name);
		return -EINVAL;
	}
	/* --no-record is a promise: the recordings folder gets nothing, not
	 * even the logs that go there by default. */
	if (o->no_record && !o->log_dir && !o->check_only) {
		static char state_dir[512];
		int ret = no_record_log_dir(state_dir, sizeof state_dir);
		if (ret < 0) {
			fprintf(stderr, "tolk: --no-record: cannot make %s for the logs: %s; give --log-dir\n", state_dir,
				strerror(-ret));
			return ret;
		}
		o->log_dir = state_dir;
	}
	return 0;
}

/* Runs until a signal (0) or, without --reconnect, the server's
 * departure (1). */
static int control_loop(struct engine *e, int signal_fd, int wake_fd)
{
	struct pollfd fds[4 + 1 + CONTROL_MAX_CLIENTS];

	for (;;) {
		int n = 0, waiting, timeout;

		fds[n++] = (struct pollfd){ .fd = signal_fd, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = wake_fd, .events = POLLIN };
		fds[n++] = (struct pollfd){ .fd = osc_fd(&e->osc), .events = POLLIN }; /* -1: ignored */
		fds[n++] = (struct pollfd){ .fd = web_fd(&e->web), .events = POLLIN };
		n += control_socket_pollfds(&e->control, fds + n, (int)(sizeof fds / sizeof fds[0]) - n);
		waiting = exchange_collect(&e->au->exchange, 0);
		timeout = waiting || e->routing_dirty ? 20 : 100; /* alarms are checked at 10 Hz */
		if (e->web.n_streams)
			timeout = timeout < WEB_FRAME_MS ? timeout : WEB_FRAME_MS;
		if (e->cfg->midi.enabled) /* MIDI buttons: looked at every 10 ms */
			timeout = timeout < 10 ? timeout : 10;
		if (web_timeout_ms(&e->web) >= 0 && web_timeout_ms(&e->web) < timeout)
			timeout = web_timeout_ms(&e->web);
		if (e->hup_pending || e->reloads_waiting) {
			int64_t due = e->last_reload_ms + RELOAD_GAP_MS - utc_now_ms();
			timeout = due < 0 ? 0 : due < timeout ? (int)due : timeout;
		}
		if (poll(fds, (nfds_t)n, timeout) < 0 && errno != EINTR) {
			log_line("poll failed: %s", strerror(errno));
			return EXIT_JACK;
		}
		if (fds[0].revents) {
			struct signalfd_siginfo si;
			if (read(signal_fd, &si, sizeof si) == sizeof si && si.ssi_signo == SIGHUP) {
				e->hup_pending++;
			} else {
				log_line("%s: stopping", strsignal((int)si.ssi_signo));
				return EXIT_CLEAN;
			}
		}
		if ((e->hup_pending || e->reloads_waiting) && utc_now_ms() - e->last_reload_ms >= RELOAD_GAP_MS)
			reload_waiting(e);
		if (fds[1].revents) {
			char drain[64];
			while (read(wake_fd, drain, sizeof drain) > 0)
				;
		}
		if (e->audio_up && (atomic_load(&e->jack.server_gone) || jack_shell_check_stall(&e->jack))) {
			audio_lost(e);
			if (!e->opt->reconnect)
				return EXIT_JACK;
		}
		if (!e->audio_up && utc_now_ms() >= e->next_attempt_ms)
			audio_retry(e);
		if (e->audio_up && atomic_load(&e->jack.ports_changed))
			jack_shell_relink(&e->jack, link_note, e);
		if (fds[2].revents)
			osc_service(&e->osc);
		if (fds[3].revents || e->web.daemon)
			web_service(&e->web);
		control_socket_service(&e->control, fds + 4, n - 4, handle_request, e);
		midi_service(e);
		midi_feedback(e);
		if (e->web.n_streams && (e->web_due || utc_now_ms() - e->last_web_ms >= WEB_FRAME_MS)) {
			web_push(&e->web);
			e->last_web_ms = utc_now_ms();
		}
		e->web_due = 0;
		if (e->routing_dirty)
			publish_routing(e);
		if (e->au->rec) {
			char alarm[RECORDER_LINE_MAX];
			while (recorder_take_notice(e->au->rec, alarm, sizeof alarm)) {
				log_line("%s", alarm);
				event_log_add(&e->events, utc_now_ms(), EVENT_CHANGE, "", 0, alarm);
			}
			while (recorder_take_alarm(e->au->rec, alarm, sizeof alarm)) {
				log_line("ALARM: %s", alarm);
				event_log_add(&e->events, utc_now_ms(), EVENT_ALARM, "", 0, alarm);
			}
		}
		if (utc_now_ms() - e->last_alarm_tick >= 100) {
			refusal_audit_flush(&e->refusals, utc_now_ms());
			note_thread_violations(e);
			release_lapsed_coughs(e);
			check_alarms(e);
			if (e->audio_up)
				hearing_log_tick(&e->au->hearing, utc_now_ms());
			if (e->osc.fd > 0 && e->audio_up)
				osc_push_meters(&e->osc);
			e->last_alarm_tick = utc_now_ms();
		}
		control_socket_push(&e->control, next_event, e);
		incidents_tick(e);
		service_tick(e);
	}
}

/* The engine before its config: nothing opened yet. NULL when out of
 * memory. */
static struct engine *engine_new(void)
{
	struct engine *e = calloc(1, sizeof *e);

	if (e) {
		e->cfg = calloc(1, sizeof *e->cfg);
		e->au = calloc(1, sizeof *e->au);
	}
	if (!e || !e->cfg || !e->au) {
		if (e) {
			free(e->cfg);
			free(e->au);
		}
		free(e);
		return NULL;
	}
	jw_init(&e->reply);
	jw_init(&e->stream);
	e->audit.fd = -1;
	refusal_audit_init(&e->refusals, &e->audit, log_text);
	e->osc.fd = -1;
	alarm_tracker_init(&e->alarms, on_alarm, e);
	event_log_init(&e->events);
	e->rec_iface = recorder_iface_of(e);
	return e;
}

/* Signals arrive through a descriptor in the control loop rather than in
 * a handler, and never on the JACK threads (they inherit the mask). The
 * wake pipe is how the JACK shell rouses the loop. */
static int open_signals(int *signal_fd, int wake[2])
{
	sigset_t sigs;

	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);
	*signal_fd = signalfd(-1, &sigs, SFD_CLOEXEC);
	if (*signal_fd < 0 || pipe2(wake, O_CLOEXEC | O_NONBLOCK) < 0) {
		fprintf(stderr, "tolk: cannot set up signal handling: %s\n", strerror(errno));
		return -errno;
	}
	return 0;
}

/* --control, or the default path for the client's name. */
static int control_path_of(const struct options *opt, char *path, size_t len)
{
	if (opt->control) {
		snprintf(path, len, "%s", opt->control);
		return 0;
	}
	if (control_default_path(opt->name, path, len) < 0) {
		fprintf(stderr, "tolk: default control socket path is too long; use --control\n");
		return -ENAMETOOLONG;
	}
	return 0;
}

/* recording.autostart, unless --no-record: now, or when the server is up. */
static void autostart_recording(struct engine *e)
{
	char why[512];

	if (!e->cfg->recording.autostart || e->opt->no_record)
		return;
	if (!e->audio_up) {
		e->resume_recording = 1;
		snprintf(e->resume_meeting, sizeof e->resume_meeting, "%s", e->cfg->meeting);
	} else if (recorder_start(e->au->rec, NULL, why, sizeof why) < 0) {
		log_line("recording not started: %s", why);
	} else {
		timeline_channels(e, 1);
	}
}

int main(int argc, char **argv)
{
	struct options opt;
	struct engine *e;
	char err[TOLK_ERROR_MAX + 256], control_path[108];
	int status = EXIT_USAGE, signal_fd = -1, wake[2] = { -1, -1 };
	struct recovery *recovery = NULL;
	const int64_t started_ms = utc_now_ms();

	thread_role_set(THREAD_CONTROL);
	log_detect_journal();
	jack_shell_log_to(log_text);
	if (getenv("TOLK_THREAD_STRICT"))
		tolk_thread_strict = !!atoi(getenv("TOLK_THREAD_STRICT"));
	if (parse_options(argc, argv, &opt) < 0)
		return EXIT_USAGE;
	e = engine_new();
	if (!e) {
		fprintf(stderr, "tolk: out of memory\n");
		return EXIT_USAGE;
	}
	if (config_load_file(e->cfg, opt.config, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out_free;
	}
	insert_host_init(&e->plugins, opt.plugin_dir);
	if (insert_host_check(&e->plugins, e->cfg, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out_config;
	}
	/* Every manifest written is signed with it: a key that others can
	 * read is no proof, so such a file stops the start. */
	if (manifest_signing_open(e->cfg->recording.signing_key, err, sizeof err) < 0 ||
	    listeners_read_secrets(e, e->cfg, err, sizeof err) < 0) {
		fprintf(stderr, "tolk: %s\n", err);
		goto out_config;
	}
	if (opt.check_only) {
		printf("%s: ok (%d languages, %d booths, %d consoles)\n", opt.config,
		       e->cfg->n_languages, e->cfg->n_booths, e->cfg->n_mics);
		status = EXIT_CLEAN;
		goto out_config;
	}

	if (control_path_of(&opt, control_path, sizeof control_path) < 0 || open_signals(&signal_fd, wake) < 0)
		goto out_fds;

	if (state_init(&e->state, e->cfg) < 0) {
		fprintf(stderr, "tolk: out of memory\n");
		goto out_fds;
	}
	if (access_init(&e->access, e->cfg, opt.config, err, sizeof err) < 0) {
		fprintf(stderr, "%s\n", err);
		goto out_state;
	}
	if (audit_open(&e->audit, opt.log_dir ? opt.log_dir : opt.record_dir ? opt.record_dir : e->cfg->recording.dir,
		       err, sizeof err) < 0) {
		fprintf(stderr, "tolk: %s\n", err);
		goto out_state;
	}
	if (control_socket_open(&e->control, control_path, e->access.configured, err, sizeof err) < 0) {
		fprintf(stderr, "tolk: %s\n", err);
		goto out_state;
	}
	control_socket_set_admit(&e->control, socket_admit, socket_refused, socket_seen, ROLE_TECHNICIAN, e);
	e->opt = &opt;
	/* A network port only when the room asks for one. */
	if (e->cfg->osc.enabled &&
	    osc_open(&e->osc, e->cfg, &e->state, &e->au->router, osc_run, e, err, sizeof err) < 0) {
		fprintf(stderr, "tolk: %s\n", err);
		goto out_control;
	}
	if (e->cfg->web.enabled && open_web(e, e->cfg, NULL) < 0)
		goto out_control;

	e->control_path = control_path;
	e->started_ms = started_ms;
	e->wake_fd = wake[1];
	e->last_channels = calloc((size_t)e->cfg->n_languages, sizeof *e->last_channels);
	if (!e->last_channels) {
		fprintf(stderr, "tolk: out of memory\n");
		goto out_control;
	}
	/* What an unclean stop left open is mended beside the new recording;
	 * under --no-record, by the next run that records. */
	if (!opt.no_record)
		recovery = recovery_start(opt.record_dir ? opt.record_dir : e->cfg->recording.dir, log_text);
	else
		log_line("recording is disabled for this run (--no-record); logs in %s", opt.log_dir);
	status = audio_open(e, 0);
	if (status == EXIT_JACK && opt.reconnect) {
		/* Tolk comes up before its server: the control paths answer, and
		 * the audio starts when the server does. */
		log_line("waiting for the JACK server; trying every second");
		e->next_attempt_ms = utc_now_ms() + 1000;
		status = EXIT_CLEAN;
	}
	if (status != EXIT_CLEAN)
		goto out_control;
	autostart_recording(e);
	service_init(e);

	status = control_loop(e, signal_fd, wake[0]);
	service_stopping(e);
	incidents_stop(e);

	audio_close(e);
out_control:
	recovery_finish(recovery);
	free(e->last_channels);
	free(e->midi_leds);
	web_close(&e->web);
	osc_close(&e->osc);
	control_socket_close(&e->control);
out_state:
	audit_close(&e->audit);
	access_free(&e->access);
	state_free(&e->state);
out_fds:
	if (signal_fd >= 0)
		close(signal_fd);
	if (wake[0] >= 0) {
		close(wake[0]);
		close(wake[1]);
	}
out_config:
	manifest_signing_close();
	insert_host_close(&e->plugins);
	config_free(e->cfg);
	free(e->cfg);
	free(e->au);
out_free:
	rtp_sessions_free(&e->rtp_sessions);
	explicit_bzero(e->rtp_pin, sizeof e->rtp_pin);
	explicit_bzero(e->rtp_secret, sizeof e->rtp_secret);
	jw_free(&e->reply);
	jw_free(&e->stream);
	alarm_tracker_free(&e->alarms);
	free(e);
	return status;
}
