/* Who may do what on the control socket. The peer's uid and gid come from
 * the kernel (SO_PEERCRED), so they cannot be forged by the client. With no
 * control: section, only the engine's own user and root are technicians,
 * and the socket is 0600 anyway. */
#ifndef TOLK_ACCESS_H
#define TOLK_ACCESS_H

#include <stddef.h>
#include <sys/types.h>

#include "../core/command.h"
#include "../core/config.h"


struct access_policy {
	int configured;           /* control: given: the socket opens to others */
	uid_t *uids[2];           /* [0] observers, [1] technicians */
	int n_uids[2];
	gid_t *gids[2];
	int n_gids[2];
};

/* Resolves the config's users and groups. An unknown one is an error of
 * the form "FILE:LINE:COL: unknown user 'x'". Returns 0 or -EINVAL. Thread: control. */
int access_init(struct access_policy *a, const struct config *cfg, const char *config_path, char *err,
		size_t errlen);
/* Thread: control. */
void access_free(struct access_policy *a);

/* Thread: control. */
enum role access_role(const struct access_policy *a, uid_t uid, gid_t gid);
/* Thread: any. */
const char *role_name(enum role r);

#endif
