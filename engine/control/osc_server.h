/* OSC for booth consoles, over UDP. Off unless the config sets
 * osc.listen. The socket is Tolk's own, bound to exactly the configured
 * address (liblo would read a host in its server URL as a multicast group
 * and bind every interface); liblo only encodes and decodes messages.
 * Messages /tolk/<booth>/<n>/<verb> become command lines for the one
 * command path; only the addresses the config allows for a booth
 * may drive it. Subscribers get /tolk/<b>/<n>/state on every change and
 * /tolk/<b>/<n>/meters at 10 Hz, at their source address, or at the port
 * (`subscribe i <port>`) or allowed host:port (`subscribe s <host:port>`)
 * they name, where their errors go too. */
#ifndef TOLK_OSC_SERVER_H
#define TOLK_OSC_SERVER_H

#include <lo/lo.h>
#include <netinet/in.h>
#include <stddef.h>

#include "../core/config.h"
#include "../core/router.h"
#include "../core/state.h"

#define OSC_SUBSCRIBERS 64

/* Runs one command line for a peer. allowed = 0 means the peer may not
 * drive that booth: the engine refuses, logs and audits it. Returns the
 * engine's JSON reply. Thread: control. */
typedef const char *(*osc_execute)(void *user, const char *peer, const char *line, int allowed);

struct osc_server {
	int fd;          /* -1 when OSC is off */
	const struct config *cfg;
	const struct state *st;
	const struct router *router;
	osc_execute execute;
	void *user;
	/* Who gets a console's state, meters and errors: addr, which is the
	 * subscriber's source address, or the port (`subscribe i`) or
	 * host:port (`subscribe s`) it named; from is the host it subscribed
	 * from, whose later errors go to addr too. */
	struct {
		struct sockaddr_in addr;
		struct in_addr from;
		int booth, n;
	} subs[OSC_SUBSCRIBERS];
	int n_subs;
};

/* Thread: control. */
int osc_open(struct osc_server *o, const struct config *cfg, const struct state *st, const struct router *router,
	     osc_execute execute, void *user, char *err, size_t errlen);
/* After a reload with the same OSC address: the new room, state and
 * router; subscribers whose console is gone are dropped, the others kept
 * (by booth id). Thread: control. */
void osc_rebind(struct osc_server *o, const struct config *cfg, const struct state *st, const struct router *router);
/* Thread: control. */
int osc_fd(const struct osc_server *o);
/* Thread: control. */
void osc_service(struct osc_server *o);
/* One datagram from src: parsed, checked and run (osc_service's work for
 * each packet; also the fuzzer's way in). Thread: control. */
void osc_handle_packet(struct osc_server *o, const char *packet, size_t n, const struct sockaddr_in *src);
/* Thread: control. */
void osc_push_state(struct osc_server *o);
/* Thread: control. */
void osc_push_meters(struct osc_server *o);
/* Thread: control. */
void osc_close(struct osc_server *o);

#endif
