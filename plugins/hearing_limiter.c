/* The hearing limiter: the last insert on every headphone feed, which
 * protects interpreters from acoustic shock. Levels are in dB SPL at the
 * ear, through the headphone's calibration (dbspl_at_0dbfs: the SPL of a
 * signal at full scale). Following the published behaviour of Televic's
 * Lingua ID:
 *
 *   - no sample ever leaves above ceiling_dbspl (100), whatever comes in;
 *   - a signal above sustained_dbspl (94) for longer than sustained_ms (100)
 *     brings the limit down to sustained_dbspl until it has been quiet for a
 *     second;
 *   - when the 1-minute average at the ear passes average_dbspl (80), two
 *     short beeps at warning_dbspl (70) warn the interpreter and everything
 *     at the ear backs off by backoff_db for backoff_minutes (30): the
 *     ceiling, the sustained limit and the signal itself, applied after
 *     the limiting so that a loud input cannot be limited back up to the
 *     old level. The beeps are mixed in after it, heard over anything.
 *
 * The peak stage is a look-ahead limiter in the manner of x42's dpl: the
 * gain each sample needs is held at its minimum over the look-ahead
 * window, allowed to recover with the release time, and smoothed by a
 * moving average as long as the window. Every gain in the average is then
 * at most what the delayed sample needs, so the output cannot pass the
 * limit, and the gain moves in straight lines over the look-ahead time
 * instead of stepping, so it does not click. A final clamp at the ceiling
 * catches float rounding. Every threshold change glides. */
#include <stdlib.h>

#include "../dsp/hearing_limits.h"
#include "plugin_util.h"

enum {
	P_CALIBRATION,
	P_CEILING,
	P_SUSTAINED,
	P_SUSTAINED_MS,
	P_AVERAGE,
	P_WARNING,
	P_BACKOFF_DB,
	P_BACKOFF_MINUTES,
	P_LOOKAHEAD_MS,
	P_RELEASE_MS,
	N_PARAMS
};

enum {
	M_INTERVENTIONS,
	M_REDUCTION,
	M_SUSTAINED,
	M_BACKOFF,
	M_AVERAGE,
	M_BACKOFFS,
	M_NONFINITE,
	M_CLAMPED,
	M_BACKOFF_LEFT,
	N_MONITORS
};

/* The safety limits come from the table the config's phones section is
 * made from too; the limiter's own tuning follows them. */
#define ONE_MORE(name, lo, hi, def, unit) +1
_Static_assert(P_LOOKAHEAD_MS == 0 HEARING_LIMITS(ONE_MORE), "the safety limits come first, in the table's order");
#define AS_PARAM(name, lo, hi, def, unit) { #name, (float)(lo), (float)(hi), (float)(def), unit },
static const struct tolk_plugin_param params[N_PARAMS] = {
	HEARING_LIMITS(AS_PARAM)
	{ "lookahead_ms", 0.1f, 1.5f, 1.0f, "ms" },
	{ "release_ms", 5, 2000, 60, "ms" },
};

static const struct tolk_plugin_param monitors[N_MONITORS] = {
	{ "interventions", 0, 1e9f, 0, "" },       /* gain reduction episodes so far */
	{ "reduction_db", 0, 200, 0, "dB" },       /* deepest in the last 100 ms */
	{ "sustained", 0, 1, 0, "" },              /* the limit is at sustained_dbspl */
	{ "backoff", 0, 1, 0, "" },                /* the 1-minute back-off is on */
	{ "average_dbspl", -200, 200, -200, "dB SPL" }, /* the last minute at the ear */
	{ "backoffs", 0, 1e9f, 0, "" },
	{ "nonfinite", 0, 1e9f, 0, "" },           /* blocks with NaN/Inf input, silenced */
	/* Samples the final clamp had to catch beyond float rounding: the
	 * look-ahead stage should leave it nothing, and the tests say so. */
	{ "clamped", 0, 1e9f, 0, "" },
	{ "backoff_left_s", 0, 1e9f, 0, "s" },     /* of the back-off in force, 0 when none */
};

#define AVERAGE_BINS 60          /* one per second */
#define HOLD_MS 25.0             /* a signal 'above' counts across its zero crossings */
#define RECOVER_MS 1000.0        /* quiet this long: back to the ceiling */
#define THRESHOLD_DOWN_DB_MS 0.3 /* the sustained limit arrives in 20 ms */
#define THRESHOLD_UP_DB_MS 0.05
#define BACKOFF_DOWN_S 2.0       /* the back-off fades in over 2 s ... */
#define BACKOFF_UP_S 10.0        /* ... and out over 10 s */
#define REARM_DB 3.0             /* the average must fall this far to warn again */
#define BEEP_HZ 1000.0
#define BEEP_ON_MS 150.0
#define BEEP_GAP_MS 100.0
#define BEEP_FADE_MS 5.0

struct limiter {
	double rate;
	uint32_t max_frames;
	float p[N_PARAMS];

	uint32_t D;        /* look-ahead, frames */
	uint32_t mask;     /* of the rings below */
	float *delay;      /* audio, D frames late */
	float *hist;       /* held-and-released gains, for the moving average */
	float *dq_val;     /* monotonic queue for the window minimum */
	uint32_t *dq_at;
	uint32_t dq_head, dq_tail, t;
	double box_sum;
	float h;           /* held gain with release */
	float rel_k;

	float ceiling_abs, sustained_abs, thr, thr_target, thr_down, thr_up;
	uint32_t since_over, run_len, quiet_len, hold_frames, sustained_frames, recover_frames;
	int sustained;

	double bin_sum;
	uint32_t bin_count;
	double bins[AVERAGE_BINS];
	int bin_next, armed;

	float bo_gain, bo_target, bo_down, bo_up;
	uint64_t bo_left;

	int beeping;
	uint32_t beep_pos, beep_len, beep_on, beep_gap, beep_fade;
	float beep_amp;
	double beep_phase, beep_inc;

	float win_min_gain;
	uint32_t win_count, win_len;
	int in_episode;
	float interventions, backoffs, nonfinite, clamped;
	_Atomic uint32_t mon[N_MONITORS];
};

static const struct tolk_plugin_descriptor descriptor;

static uint32_t pow2_at_least(uint32_t n)
{
	uint32_t p = 1;
	while (p < n)
		p <<= 1;
	return p;
}

/* Levels from the parameters; the thresholds glide to them. */
static void derive_levels(struct limiter *l)
{
	const float cal = l->p[P_CALIBRATION];
	float ceiling = l->p[P_CEILING], sustained = l->p[P_SUSTAINED];

	if (sustained > ceiling)
		sustained = ceiling;
	l->ceiling_abs = db_to_gain(ceiling - cal);
	l->sustained_abs = db_to_gain(sustained - cal);
	l->thr_target = l->sustained ? l->sustained_abs : l->ceiling_abs;
	l->sustained_frames = (uint32_t)(l->p[P_SUSTAINED_MS] * l->rate / 1000.0);
	l->beep_amp = (float)(sqrt(2.0) * pow(10.0, (l->p[P_WARNING] - cal) / 20.0));
	l->rel_k = (float)(1.0 - exp(-1.0 / (l->p[P_RELEASE_MS] / 1000.0 * l->rate)));
	if (l->bo_target < 1.0f)
		l->bo_target = db_to_gain(-l->p[P_BACKOFF_DB]);
}

static void *instantiate(double rate, uint32_t max_frames)
{
	struct limiter *l;
	uint32_t dmax, size;

	if (rate < 8000 || rate > 384000 || max_frames == 0)
		return NULL;
	l = plugin_calloc(1, sizeof *l);
	if (!l)
		return NULL;
	l->rate = rate;
	l->max_frames = max_frames;
	param_defaults(&descriptor, l->p);
	dmax = (uint32_t)ceil(params[P_LOOKAHEAD_MS].max * rate / 1000.0);
	size = pow2_at_least(dmax + 2);
	l->mask = size - 1;
	l->delay = plugin_calloc(size, sizeof *l->delay);
	l->hist = plugin_calloc(size, sizeof *l->hist);
	l->dq_val = plugin_calloc(size, sizeof *l->dq_val);
	l->dq_at = plugin_calloc(size, sizeof *l->dq_at);
	if (!l->delay || !l->hist || !l->dq_val || !l->dq_at) {
		free(l->delay);
		free(l->hist);
		free(l->dq_val);
		free(l->dq_at);
		free(l);
		return NULL;
	}
	l->D = (uint32_t)lround(l->p[P_LOOKAHEAD_MS] * rate / 1000.0);
	return l;
}

static uint32_t latency(const void *instance)
{
	return ((const struct limiter *)instance)->D;
}

static void activate(void *instance)
{
	struct limiter *l = instance;
	uint32_t i;
	int m;

	l->D = (uint32_t)lround(l->p[P_LOOKAHEAD_MS] * l->rate / 1000.0);
	if (l->D < 1)
		l->D = 1;
	for (i = 0; i <= l->mask; i++) {
		l->delay[i] = 0.0f;
		l->hist[i] = 1.0f;
	}
	l->dq_head = l->dq_tail = l->t = 0;
	l->box_sum = l->D + 1;
	l->h = 1.0f;
	l->sustained = 0;
	l->hold_frames = (uint32_t)(HOLD_MS * l->rate / 1000.0);
	l->since_over = l->hold_frames;
	l->run_len = 0;
	l->quiet_len = UINT32_MAX / 2;
	l->recover_frames = (uint32_t)(RECOVER_MS * l->rate / 1000.0);
	l->thr_down = (float)pow(10.0, -THRESHOLD_DOWN_DB_MS / 20.0 / (l->rate / 1000.0));
	l->thr_up = (float)pow(10.0, THRESHOLD_UP_DB_MS / 20.0 / (l->rate / 1000.0));
	l->bin_sum = 0;
	l->bin_count = 0;
	for (m = 0; m < AVERAGE_BINS; m++)
		l->bins[m] = 0;
	l->bin_next = 0;
	l->armed = 1;
	l->bo_gain = l->bo_target = 1.0f;
	l->bo_left = 0;
	l->beeping = 0;
	l->beep_on = (uint32_t)(BEEP_ON_MS * l->rate / 1000.0);
	l->beep_gap = (uint32_t)(BEEP_GAP_MS * l->rate / 1000.0);
	l->beep_fade = (uint32_t)(BEEP_FADE_MS * l->rate / 1000.0);
	l->beep_len = 2 * l->beep_on + l->beep_gap;
	l->beep_inc = 2.0 * M_PI * BEEP_HZ / l->rate;
	l->win_len = (uint32_t)(l->rate / 10);
	l->win_min_gain = 1.0f;
	l->win_count = 0;
	l->in_episode = 0;
	derive_levels(l);
	l->thr = l->thr_target;
	l->bo_down = (float)(1.0 / (BACKOFF_DOWN_S * l->rate));
	l->bo_up = (float)(1.0 / (BACKOFF_UP_S * l->rate));
	for (m = 0; m < N_MONITORS; m++)
		monitor_store(&l->mon[m], monitors[m].def);
}

static void set_param(void *instance, uint32_t index, float value)
{
	struct limiter *l = instance;

	if (index >= N_PARAMS)
		return;
	/* The look-ahead is the latency, which is fixed once active. */
	l->p[index] = param_clamp(&descriptor, index, value);
	if (l->rate > 0 && l->hold_frames)
		derive_levels(l);
}

/* The two warning beeps, with raised-cosine edges. */
static float beep_sample(struct limiter *l)
{
	uint32_t pos = l->beep_pos++, in;
	float env;

	if (l->beep_pos >= l->beep_len)
		l->beeping = 0;
	if (pos < l->beep_on)
		in = pos;
	else if (pos >= l->beep_on + l->beep_gap)
		in = pos - l->beep_on - l->beep_gap;
	else
		return 0.0f;
	env = 1.0f;
	if (in < l->beep_fade)
		env = 0.5f - 0.5f * cosf((float)M_PI * (float)in / (float)l->beep_fade);
	else if (l->beep_on - in < l->beep_fade)
		env = 0.5f - 0.5f * cosf((float)M_PI * (float)(l->beep_on - in) / (float)l->beep_fade);
	l->beep_phase += l->beep_inc;
	if (l->beep_phase > 2.0 * M_PI)
		l->beep_phase -= 2.0 * M_PI;
	return l->beep_amp * env * (float)sin(l->beep_phase);
}

/* Once a second: the last minute's average at the ear, and its warning. */
static void close_second(struct limiter *l)
{
	double total = 0, avg_db;
	int i;

	l->bins[l->bin_next] = l->bin_sum / (l->bin_count ? l->bin_count : 1);
	l->bin_next = (l->bin_next + 1) % AVERAGE_BINS;
	l->bin_sum = 0;
	l->bin_count = 0;
	for (i = 0; i < AVERAGE_BINS; i++)
		total += l->bins[i];
	avg_db = l->p[P_CALIBRATION] + 10.0 * log10(total / AVERAGE_BINS + 1e-30);
	monitor_store(&l->mon[M_AVERAGE], (float)avg_db);
	if (l->armed && avg_db > l->p[P_AVERAGE]) {
		l->armed = 0;
		l->beeping = 1;
		l->beep_pos = 0;
		l->bo_target = db_to_gain(-l->p[P_BACKOFF_DB]);
		l->bo_left = (uint64_t)(l->p[P_BACKOFF_MINUTES] * 60.0 * l->rate);
		l->backoffs += 1.0f;
		monitor_store(&l->mon[M_BACKOFFS], l->backoffs);
		monitor_store(&l->mon[M_BACKOFF], 1.0f);
	} else if (!l->armed && avg_db < l->p[P_AVERAGE] - REARM_DB) {
		l->armed = 1;
	}
}

static void run(void *instance, float *buf, uint32_t frames)
{
	struct limiter *l = instance;
	const uint32_t D = l->D, mask = l->mask, len = D + 1;
	const float inv_len = 1.0f / (float)len, rel_k = l->rel_k, ceiling = l->ceiling_abs;
	const uint32_t second = (uint32_t)l->rate;
	float h = l->h, thr = l->thr, bo_gain = l->bo_gain;
	uint32_t t = l->t, head = l->dq_head, tail = l->dq_tail, i, k;
	double sum = 0;
	int bad = 0, clamped = 0;

	/* The moving sum, afresh each call so that rounding cannot drift. */
	for (k = 1; k <= len; k++)
		sum += l->hist[(t - k) & mask];
	for (i = 0; i < frames; i++) {
		float x = buf[i], a, r, m, g, y;

		if (!(fabsf(x) <= 1e30f)) { /* NaN or Inf: silence it, keep the state sane */
			x = 0.0f;
			bad = 1;
		}
		if (bo_gain != l->bo_target)
			bo_gain = bo_gain > l->bo_target ? fmaxf(bo_gain - l->bo_down, l->bo_target)
							 : fminf(bo_gain + l->bo_up, l->bo_target);

		a = fabsf(x);
		/* Sustained stage: above the sustained level (across zero
		 * crossings) for sustained_ms lowers the limit until quiet. */
		if (a > l->sustained_abs)
			l->since_over = 0;
		else if (l->since_over < l->hold_frames)
			l->since_over++;
		if (l->since_over < l->hold_frames) {
			l->run_len += l->run_len < UINT32_MAX;
			l->quiet_len = 0;
		} else {
			l->run_len = 0;
			l->quiet_len += l->quiet_len < UINT32_MAX;
		}
		if (!l->sustained && l->run_len > l->sustained_frames) {
			l->sustained = 1;
			l->thr_target = l->sustained_abs;
			monitor_store(&l->mon[M_SUSTAINED], 1.0f);
		} else if (l->sustained && l->quiet_len > l->recover_frames) {
			l->sustained = 0;
			l->thr_target = l->ceiling_abs;
			monitor_store(&l->mon[M_SUSTAINED], 0.0f);
		}
		if (thr != l->thr_target)
			thr = thr > l->thr_target ? fmaxf(thr * l->thr_down, l->thr_target)
						  : fminf(thr * l->thr_up, l->thr_target);

		/* The gain this sample needs, its minimum over the window. */
		r = a > thr ? thr / a : 1.0f;
		while (tail != head && l->dq_val[(tail - 1) & mask] >= r)
			tail--;
		l->dq_val[tail & mask] = r;
		l->dq_at[tail & mask] = t;
		tail++;
		if (t - l->dq_at[head & mask] > D)
			head++;
		m = l->dq_val[head & mask];
		/* Recover with the release time, never above the minimum. */
		h = h + (1.0f - h) * rel_k;
		if (m < h)
			h = m;
		sum += (double)h - (double)l->hist[(t - len) & mask];
		l->hist[t & mask] = h;
		g = (float)(sum * inv_len);
		if (g > 1.0f)
			g = 1.0f;

		l->delay[t & mask] = x;
		y = l->delay[(t - D) & mask] * g;
		if (fabsf(y) > ceiling) {
			if (fabsf(y) > ceiling * 1.0001f)
				clamped = 1;
			y = y > 0 ? ceiling : -ceiling;
		}
		/* The back-off lowers what reaches the ear, after the limiting:
		 * the ceiling, the sustained limit and the signal itself, all by
		 * backoff_db, however loud the input. Before the limiter, a loud
		 * input would only be limited back up to the same level. */
		y *= bo_gain;
		/* The warning beeps on top, at their own level, masked by
		 * nothing, and still never above the (backed-off) ceiling. */
		if (l->beeping) {
			const float top = ceiling * bo_gain;
			y += beep_sample(l);
			y = y > top ? top : y < -top ? -top : y;
		}
		buf[i] = y;
		t++;

		/* Bookkeeping for the monitors and the 1-minute average. */
		if (g < l->win_min_gain)
			l->win_min_gain = g;
		if (!l->in_episode && g < 0.944f) { /* 0.5 dB */
			l->in_episode = 1;
			l->interventions += 1.0f;
		} else if (l->in_episode && g > 0.989f) {
			l->in_episode = 0;
		}
		if (++l->win_count >= l->win_len) {
			monitor_store(&l->mon[M_REDUCTION], fmaxf(0.0f, -gain_to_db(l->win_min_gain)));
			monitor_store(&l->mon[M_INTERVENTIONS], l->interventions);
			l->win_min_gain = 1.0f;
			l->win_count = 0;
		}
		l->bin_sum += (double)y * y;
		if (++l->bin_count >= second)
			close_second(l);
	}
	if (l->bo_left) {
		l->bo_left = l->bo_left > frames ? l->bo_left - frames : 0;
		if (!l->bo_left) {
			l->bo_target = 1.0f;
			monitor_store(&l->mon[M_BACKOFF], 0.0f);
		}
		monitor_store(&l->mon[M_BACKOFF_LEFT], (float)((double)l->bo_left / l->rate));
	}
	if (clamped) {
		l->clamped += 1.0f;
		monitor_store(&l->mon[M_CLAMPED], l->clamped);
	}
	if (bad) {
		l->nonfinite += 1.0f;
		monitor_store(&l->mon[M_NONFINITE], l->nonfinite);
	}
	if (fabsf(h) < 1e-20f)
		h = 0.0f;
	l->h = h;
	l->thr = thr;
	l->bo_gain = bo_gain;
	l->t = t;
	l->dq_head = head;
	l->dq_tail = tail;
}

TOLK_PLUGIN_MONITORS(struct limiter, N_MONITORS)

static void cleanup(void *instance)
{
	struct limiter *l = instance;

	if (!l)
		return;
	free(l->delay);
	free(l->hist);
	free(l->dq_val);
	free(l->dq_at);
	free(l);
}

static const struct tolk_plugin_descriptor descriptor = {
	.abi_version = TOLK_PLUGIN_ABI_VERSION,
	.name = "hearing_limiter",
	.summary = "acoustic-shock protection: look-ahead peak ceiling, sustained limit, 1-minute back-off",
	.params = params,
	.n_params = N_PARAMS,
	.monitors = monitors,
	.n_monitors = N_MONITORS,
	.instantiate = instantiate,
	.latency = latency,
	.activate = activate,
	.set_param = set_param,
	.run = run,
	.monitor = monitor,
	.cleanup = cleanup,
};

TOLK_PLUGIN_EXPORT(descriptor)
