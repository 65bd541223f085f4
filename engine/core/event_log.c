#include "event_log.h"

#include <errno.h>

#include <stdio.h>
#include <string.h>

void event_log_init(struct event_log *log)
{
	memset(log, 0, sizeof *log);
	log->next_seq = 1;
}

const struct event *event_log_add(struct event_log *log, int64_t time_ms, enum event_kind kind,
				  const char *booth, int console, const char *text)
{
	struct event *e = &log->ring[log->next_seq % EVENT_LOG_SIZE];

	memset(e, 0, sizeof *e);
	e->seq = log->next_seq++;
	e->time_ms = time_ms;
	e->kind = kind;
	snprintf(e->booth, sizeof e->booth, "%s", booth ? booth : "");
	e->console = console;
	snprintf(e->text, sizeof e->text, "%s", text ? text : "");
	return e;
}

uint64_t event_log_last(const struct event_log *log)
{
	return log->next_seq - 1;
}

uint64_t event_log_first(const struct event_log *log)
{
	return log->next_seq > EVENT_LOG_SIZE ? log->next_seq - EVENT_LOG_SIZE : 1;
}

const struct event *event_log_get(const struct event_log *log, uint64_t seq)
{
	if (seq < event_log_first(log) || seq > event_log_last(log))
		return NULL;
	return &log->ring[seq % EVENT_LOG_SIZE];
}

const char *event_kind_name(enum event_kind kind)
{
	switch (kind) {
	case EVENT_SLOWER: return "slower";
	case EVENT_HELP: return "help";
	case EVENT_ALARM: return "alarm";
	case EVENT_HEARING: return "hearing";
	case EVENT_HANDOVER: return "handover-request";
	default: return "change";
	}
}

int event_log_ack(struct event_log *log, uint64_t seq)
{
	if (seq < event_log_first(log) || seq > event_log_last(log))
		return -ENOENT;
	log->ring[seq % EVENT_LOG_SIZE].acked = 1;
	return 0;
}
