#include "access.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_GROUPS 256

static int resolve(struct access_policy *a, int which, const struct cfg_principal *list, int n,
		   const char *config_path, char *err, size_t errlen)
{
	int i;

	a->uids[which] = calloc((size_t)n + 2, sizeof *a->uids[which]);
	a->gids[which] = calloc((size_t)n + 1, sizeof *a->gids[which]);
	if (!a->uids[which] || !a->gids[which])
		return -ENOMEM;
	for (i = 0; i < n; i++) {
		const struct cfg_principal *p = &list[i];
		if (p->is_group) {
			struct group *g = getgrnam(p->name);
			if (!g) {
				snprintf(err, errlen, "%s:%d:%d: unknown group '%s'", config_path, p->line, p->column,
					 p->name);
				return -EINVAL;
			}
			a->gids[which][a->n_gids[which]++] = g->gr_gid;
		} else {
			struct passwd *pw = getpwnam(p->name);
			if (!pw) {
				snprintf(err, errlen, "%s:%d:%d: unknown user '%s'", config_path, p->line, p->column,
					 p->name);
				return -EINVAL;
			}
			a->uids[which][a->n_uids[which]++] = pw->pw_uid;
		}
	}
	return 0;
}

int access_init(struct access_policy *a, const struct config *cfg, const char *config_path, char *err,
		size_t errlen)
{
	const struct cfg_control *c = &cfg->control;
	int ret;

	memset(a, 0, sizeof *a);
	a->configured = c->present;
	if ((ret = resolve(a, 0, c->observers, c->n_observers, config_path, err, errlen)) < 0 ||
	    (ret = resolve(a, 1, c->technicians, c->n_technicians, config_path, err, errlen)) < 0) {
		if (ret == -ENOMEM)
			snprintf(err, errlen, "out of memory");
		access_free(a);
		return ret;
	}
	if (!a->configured) {
		/* Only the engine's own user and root. */
		a->uids[1][a->n_uids[1]++] = getuid();
		a->uids[1][a->n_uids[1]++] = 0;
	}
	return 0;
}

void access_free(struct access_policy *a)
{
	int i;
	for (i = 0; i < 2; i++) {
		free(a->uids[i]);
		free(a->gids[i]);
	}
	memset(a, 0, sizeof *a);
}

/* The peer's groups: its primary gid and, through its passwd entry, every
 * supplementary one. */
static int groups_of(uid_t uid, gid_t gid, gid_t *groups, int max)
{
	struct passwd *pw = getpwuid(uid);
	int n = max;

	if (!pw || getgrouplist(pw->pw_name, gid, groups, &n) < 0) {
		groups[0] = gid;
		return 1;
	}
	return n;
}

static int holds(const struct access_policy *a, int which, uid_t uid, const gid_t *groups, int n_groups)
{
	int i, k;
	for (i = 0; i < a->n_uids[which]; i++)
		if (a->uids[which][i] == uid)
			return 1;
	for (i = 0; i < a->n_gids[which]; i++)
		for (k = 0; k < n_groups; k++)
			if (a->gids[which][i] == groups[k])
				return 1;
	return 0;
}

enum role access_role(const struct access_policy *a, uid_t uid, gid_t gid)
{
	gid_t groups[MAX_GROUPS];
	int n = groups_of(uid, gid, groups, MAX_GROUPS);

	if (holds(a, 1, uid, groups, n))
		return ROLE_TECHNICIAN;
	if (holds(a, 0, uid, groups, n))
		return ROLE_OBSERVER;
	return ROLE_NONE;
}

const char *role_name(enum role r)
{
	return r == ROLE_TECHNICIAN ? "technician" : r == ROLE_OBSERVER ? "observer" : r == ROLE_INTERPRETER ? "interpreter"
												 : "none";
}
