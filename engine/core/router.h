/* The mixer the realtime thread runs: floor inputs summed into the floor
 * bus, then every output mixed from the sources with the gains of the
 * current snapshot: out_floor and the channels first, then the headphone
 * feeds, which may take a channel (relay) mixed moments before in the same
 * period. A snapshot change never jumps: each gain moves in a straight line
 * from where it is to where the new snapshot wants it, over the snapshot's
 * ramp time, so a switch never clicks. With an insert rack attached, each
 * mic passes its chain before it is mixed, each distribution output its
 * chain after, and each headphone feed its chain (the hearing limiter last)
 * after a bass and a treble shelf that glide to their settings; without
 * one (unit tests), headphone feeds are hard clipped at
 * ROUTER_PHONES_CEILING. Sidetone is taken from the mic as it comes in,
 * before any insert: an interpreter never hears their own voice late or
 * gated. Each headphone feed is then A-weighted and summed for the
 * exposure log. Buffers in, buffers out; it knows nothing of JACK. */
#ifndef TOLK_ROUTER_H
#define TOLK_ROUTER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "../../dsp/biquad.h"
#include "config.h"
#include "insert_rack.h"
#include "snapshot.h"

#define ROUTER_RAMP_MS 5.0
#define ROUTER_CHUNK_MAX 8192 /* longer periods are processed in chunks */
#define ROUTER_PHONES_CEILING 0.891250938f /* -1 dBFS */
#define ROUTER_METER_HZ 30
#define ROUTER_BASS_HZ 250.0
#define ROUTER_TREBLE_HZ 4000.0
#define ROUTER_TONE_BLOCK 8       /* frames between tone coefficient updates */
#define ROUTER_TONE_DB_PER_MS 1.2  /* glide speed: the full 24 dB in 20 ms */

struct tone_state {
	float bass_db, treble_db; /* where the glide is */
	struct biquad bass, treble;
};

/* A headphone feed's A-weighted energy, summed by RT without gaps and
 * published as double bits. */
struct exposure_feed {
	struct biquad a[3];
	double total;
	_Atomic uint64_t published;
};

struct router {
	int n_floor;    /* floor inputs */
	int n_mics;
	int n_languages;
	int n_sources;  /* floor bus + mics + channels + sidetones */
	int n_outputs;
	int first_phones;             /* output index of the first headphone feed */
	float rate;
	uint32_t ramp_frames;         /* of the current ramp */
	uint32_t ramp_pos;            /* frames into the current ramp */
	uint64_t applied_generation;  /* generation of the snapshot ramped to */
	float *from;                  /* [n_outputs][n_sources] gains at ramp start */
	float *to;                    /* [n_outputs][n_sources] gains at ramp end */
	int *active;                  /* [n_outputs][n_sources]: sources with a gain, first n_active */
	int *n_active;                /* [n_outputs] */
	float *floor_bus;             /* [ROUTER_CHUNK_MAX] */
	const float **src;            /* [n_sources] per-chunk source pointers */
	struct tone_state *tone;      /* [n_mics] */
	const float *tone_target;     /* [2][n_mics]: bass then treble, from the snapshot */
	float *tone_targets;          /* storage for tone_target */
	/* Meters: RT sums each window of ROUTER_METER_HZ in its own
	 * accumulators, then publishes the finished window's peak and RMS
	 * (float bits) with plain atomic stores, so that any number of readers
	 * see the same values and none steals from another. Outputs first,
	 * then inputs. */
	int n_meters;
	float *acc_peak, *acc_sumsq;  /* [n_meters], RT only */
	uint32_t acc_frames, window;  /* RT only */
	_Atomic uint32_t *meter_peak; /* [n_meters] */
	_Atomic uint32_t *meter_rms;  /* [n_meters] */
	_Atomic uint32_t nonfinite;   /* blocks silenced for NaN/Inf */
	struct insert_rack *rack;     /* NULL: no inserts */
	float *mic_bufs;              /* [n_mics][ROUTER_CHUNK_MAX]: mics after their chains */
	struct exposure_feed *exposure; /* [n_mics] */
	_Atomic uint64_t frames_total;
	/* A reload: on its first cycle, RT takes over from the router this
	 * one replaces the gains where they are, the tone and A-weighting
	 * filters and the meters, mapped port by port; set by router_adopt. */
	const struct router *adopt;
	int *adopt_out;               /* [n_outputs]: the old output, or -1 */
	int *adopt_src;               /* [n_sources]: the old source, or -1 */
	int *adopt_in;                /* [n_floor + n_mics]: the old input, or -1 */
};

/* Allocate and touch everything the realtime side will use. Control
 * thread, before activation. Returns 0, -EINVAL or -ENOMEM. */
int router_init(struct router *r, const struct config *cfg, uint32_t sample_rate);
void router_free(struct router *r);

/* Realtime thread. in[] has config_input_count buffers, out[]
 * config_output_count, each of `frames` samples. */
void router_process(struct router *r, const struct snapshot *s, const float *const *in,
		    float *const *out, uint32_t frames);

/* Control thread, before activation: run these inserts. The rack stays
 * the caller's and must be prepared. Returns 0, -EINVAL or -ENOMEM. */
int router_attach_rack(struct router *r, struct insert_rack *rack);

/* Control thread, before r replaces old on the realtime thread: take
 * over from old on r's first cycle. out_map and in_map give, for each of
 * r's outputs and inputs, the old one with the same port name, or -1. A
 * channel whose sources and gains are the same goes on sample for sample;
 * a new one ramps in. old must stay alive until r has run a cycle.
 * Returns 0, -EINVAL or -ENOMEM. */
int router_adopt(struct router *r, const struct router *old, const int *out_map, const int *in_map);

/* Any thread: every headphone feed's A-weighted energy sum (full scale² ×
 * frames) and the frames summed. totals has n_mics entries. */
uint64_t router_exposure(const struct router *r, double *totals);

/* The long-lived memory the realtime side works in, so that a shell can
 * lock it in RAM. Fills up to max regions; returns how many. */
struct memory_region {
	void *addr;
	size_t len;
};
int router_memory(const struct router *r, struct memory_region *regions, int max);

/* Any thread: the last published window of an output or input meter
 * (linear peak and RMS). Returns -EINVAL for a bad index. */
int router_output_meter(const struct router *r, int output, float *peak, float *rms);
int router_input_meter(const struct router *r, int input, float *peak, float *rms);

#endif
