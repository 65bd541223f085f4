/* The archive recorder: its disk thread is the only code that touches
 * recording files. It drains the capture rings the realtime thread fills,
 * encodes every recorded channel in every configured format, rolls
 * segments on an exact frame, writes the timeline and the manifest, and
 * stops cleanly (with an alarm) when the disk fails.
 *
 * Control-thread API: start, stop, status, events for the timeline, and
 * alarms to collect. They talk to the disk thread under one mutex; the
 * realtime side only ever sees the capture rings. */
#ifndef TOLK_RECORDER_H
#define TOLK_RECORDER_H

#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "../core/xrun_log.h"
#include "../core/capture.h"
#include "../core/config.h"
#include "../core/json_writer.h"
#include "encode_pool.h"
#include "segment_loudness.h"

#define RECORDER_LINE_MAX 768
#define RECORDER_QUEUE 256
#define RECORDER_PATH_MAX 4608 /* a meeting folder path, and a file name in it */

struct recorder_channel {
	char name[TOLK_PORT_NAME_MAX];     /* floor, en, mic_fr_1 */
	char display[TOLK_NAME_MAX];       /* Français, floor, fr booth 1 mic: what titles say */
	char language[TOLK_ID_MAX];        /* the channel's, the mic's booth's; "" for floor */
	int is_floor;                      /* its language is the floor's at each segment's start */
	int source;                        /* >= 0: output index; < 0: input -(source + 1) */
};

struct manifest_entry;
struct segment_loudness;

struct recorder_file {
	const struct encoder_ops *ops;
	void *enc;
	int channel;
	char path[RECORDER_PATH_MAX];
	int close_ret;     /* what closing it said (the segment's close, on a worker) */
	char sha256[65];   /* its digest once closed, "" when unreadable */
	char reference[33]; /* bext OriginatorReference, iXML FILE_UID: unique per file */
};

enum recorder_state { RECORDER_STOPPED = 0, RECORDER_ARMING, RECORDER_RECORDING, RECORDER_FAILED };

struct recorder {
	/* fixed at init (nothing here points into the config, which a reload
	 * replaces while recording goes on) */
	int opus_bitrate, opus_complexity;
	int loudness_on;         /* recording.loudness */
	char default_meeting[TOLK_MEETING_MAX];
	char root[4096];
	uint32_t rate;
	int n_channels;
	struct recorder_channel *channels;
	const struct encoder_ops *formats[3];
	int n_formats;
	uint64_t segment_frames;
	struct capture capture;
	const struct xrun_log *xruns; /* the JACK shell's, for the timeline */
	/* Listener streams fed from the same rings, or NULL. With streams the
	 * rings stay armed whether recording or not. Set before recorder_run. */
	struct streamer *streamer;
	/* JACK's clock now (µs), the one capture blocks are stamped on, or
	 * NULL: the first sample's UTC is then the time its block is read.
	 * Set before recorder_run. */
	uint64_t (*clock_us)(void);

	pthread_t thread;
	int thread_running;
	sem_t wake;

	/* shared with the control thread, under lock */
	pthread_mutex_t lock;
	int req_start, req_stop, req_quit;
	int req_after_segment;   /* a recording continued: its last segment so far */
	char req_meeting[TOLK_MEETING_MAX];
	char floor_language[TOLK_ID_MAX]; /* the floor's now, for the next segment's floor files */
	char queue[RECORDER_QUEUE][RECORDER_LINE_MAX]; /* timeline lines waiting */
	int n_queued;
	char alarm[RECORDER_LINE_MAX];
	int alarm_pending;
	char notices[8][RECORDER_LINE_MAX]; /* segment rolls and the like, for events */
	unsigned failures;       /* recordings that failed (disk full, folder gone), ever */
	int n_notices;
	enum recorder_state pub_state;
	char pub_meeting[TOLK_MEETING_MAX];
	uint64_t pub_frames;
	int pub_segment;
	char pub_error[RECORDER_LINE_MAX];
	char (*pub_files)[RECORDER_PATH_MAX];
	int pub_n_files;

	/* the disk thread's own */
	enum recorder_state state;
	char meeting[TOLK_MEETING_MAX];
	char meeting_dir[4352];
	dev_t dir_dev;           /* the meeting folder as made: one removed or */
	ino_t dir_ino;           /* replaced under a recording is noticed */
	struct recorder_file *files; /* [n_channels * n_formats] */
	struct manifest_entry *closing; /* [n_channels * n_formats]: their manifest lines at a segment's end */
	int n_files;
	int segment;             /* 1, 2, ... within this recording */
	int first_segment;       /* segments the recording had before this start */
	uint64_t seg_first_frame;
	uint64_t seg_frames;
	uint64_t frames_recorded;
	uint64_t next_frame;     /* expected JACK frame of the next block */
	char seg_date[40];       /* ISO UTC of the segment's first sample */
	char seg_floor_language[TOLK_ID_MAX]; /* the floor's language at its start */
	/* Time references: samples since 00:00 UTC, exact from frame to frame
	 * across the recording's segments (counted, not read off a clock). */
	int64_t rec_day_us;      /* 00:00 UTC of the day the recording began, µs */
	uint64_t rec_ref0;       /* its first sample's samples since then */
	uint64_t rec_frame0;     /* and its JACK frame */
	uint64_t seg_time_ref;   /* this segment's first sample: samples since its day's 00:00 */
	int64_t seg_first_us;    /* and its UTC, µs */
	/* The segment's loudness per channel, measured as it is written
	 * (NULL when recording.loudness is off), and what it came to at the
	 * segment's end. */
	struct segment_meter *meters;      /* [n_channels] */
	struct segment_loudness *seg_loud; /* [n_channels] */
	int timeline_fd;
	uint64_t dropped_seen;
	uint32_t xruns_seen;
	uint64_t next_block_frame; /* the JACK frame the next block should start on */
	float *scratch;          /* [n_channels][RECORDER_CHUNK] */
	float *silence;          /* [RECORDER_CHUNK] zeros */
	/* Opus encoders on a worker per core; the chunk they are writing. */
	struct encode_pool pool;
	float *const *job_chans;
	uint32_t job_off, job_take;
	int job_failed[ENCODE_POOL_MAX]; /* file index of a worker's error */
};

/* The channels a config records, in order (floor, languages, mics), with
 * their sources in that config: a new array in *out (free it). Returns how
 * many, or -ENOMEM. Thread: control. */
int recorder_channels(const struct config *cfg, struct recorder_channel **out);

/* Builds the channel list from the config, allocates and touches the rings
 * (buffer_seconds each). Before activation. Returns 0 or a negative errno
 * with a message. Thread: control. */
int recorder_init(struct recorder *r, const struct config *cfg, const char *root, uint32_t rate,
		  const struct xrun_log *xruns, char *err, size_t errlen);
/* Starts the disk thread. Thread: control. */
int recorder_run(struct recorder *r);
/* Stops recording (closing every file properly) and the thread. Thread: control. */
void recorder_shutdown(struct recorder *r);
/* Thread: control. */
void recorder_free(struct recorder *r);

/* meeting may be NULL (the config's). Thread: control. */
int recorder_start(struct recorder *r, const char *meeting, char *err, size_t errlen);
/* Thread: control. */
int recorder_stop(struct recorder *r, char *err, size_t errlen);
/* Starts again a recording that was cut (the JACK server went away, or the
 * recorded channels changed): into the same meeting folder and timeline,
 * with segments numbered on after `after_segment`. Thread: control. */
int recorder_continue(struct recorder *r, const char *meeting, int after_segment, char *err, size_t errlen);
/* The recording as it is now: 1 while recording or starting, with its
 * meeting and segment number filled in. Thread: control. */
int recorder_running(struct recorder *r, char *meeting, size_t len, int *segment);
/* Writes the recording state as one JSON object. Thread: control. */
void recorder_status(struct recorder *r, struct json_writer *w, int detailed);
/* Queues a timeline event: `fields` is the inside of a JSON object
 * ("\"event\":\"...\",..."); time and frame are added. Dropped when no
 * recording is running. Thread: control. */
void recorder_event(struct recorder *r, uint64_t frame, const char *fields);
/* While recording: seconds of recording the free disk space still holds
 * at the configured formats' rate (an upper bound of that rate). -1 when
 * not recording. Thread: control. */
double recorder_seconds_left(struct recorder *r);
/* Seconds of audio captured and not yet taken by the disk thread: how far
 * the recorder is behind. Thread: control. */
double recorder_backlog_seconds(struct recorder *r);
/* "stopped", "starting", "recording" or "failed", as status says. Thread: control. */
const char *recorder_state_name(struct recorder *r);
/* Frames dropped (all channels alike) since the engine started. Thread: control. */
uint64_t recorder_dropped(struct recorder *r);

/* The floor's language now: the next segment's floor files carry it.
 * Thread: control. */
void recorder_set_floor_language(struct recorder *r, const char *code);

/* Takes the oldest pending notice (segment start, ...), if any (1). Thread: control. */
int recorder_take_notice(struct recorder *r, char *buf, size_t len);

/* How many times this recorder's recording has failed (disk full, folder
 * removed), and whether it is failed now: the recording-failed alarm. Thread: control. */
unsigned recorder_failures(struct recorder *r, int *failed_now);

/* Takes a pending alarm, if any (1), into buf. Thread: control. */
int recorder_take_alarm(struct recorder *r, char *buf, size_t len);

#endif
