// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "service-user.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

G_DEFINE_QUARK(hv-service-user-error-quark, hv_service_user_error)

#define GROUPS_MAX 256
#define CHILD_OUTPUT_MAX (1024 * 1024)

struct _HvServiceUser {
  char  *name;
  uid_t  uid;
  gid_t  gid;
  gid_t *groups;
  int    n_groups;
};

void
hv_service_user_free(HvServiceUser *u)
{
  if (!u)
    return;
  g_free(u->name);
  g_free(u->groups);
  g_free(u);
}

HvServiceUser *
hv_service_user_lookup(const char *name, GError **error)
{
  errno = 0;
  struct passwd *pw = name ? getpwnam(name) : getpwuid(geteuid());
  if (!pw) {
    int e = errno;
    g_autofree char *who = name ? g_strdup_printf("'%s'", name) : g_strdup_printf("uid %u", (guint) geteuid());
    g_set_error(error, HV_SERVICE_USER_ERROR, HV_SERVICE_USER_ERROR_UNKNOWN, "user %s does not exist%s%s", who,
                e ? ": " : "", e ? g_strerror(e) : "");
    return NULL;
  }
  g_autoptr(HvServiceUser) u = g_new0(HvServiceUser, 1);
  u->name = g_strdup(pw->pw_name);
  u->uid = pw->pw_uid;
  u->gid = pw->pw_gid;
  int n = GROUPS_MAX;
  u->groups = g_new0(gid_t, GROUPS_MAX);
  if (getgrouplist(u->name, u->gid, u->groups, &n) < 0) {
    g_set_error(error, HV_SERVICE_USER_ERROR, HV_SERVICE_USER_ERROR_UNKNOWN, "user '%s' is in more than %d groups",
                u->name, GROUPS_MAX);
    return NULL;
  }
  u->n_groups = n;
  return g_steal_pointer(&u);
}

const char *
hv_service_user_name(const HvServiceUser *u)
{
  return u->name;
}

gboolean
hv_service_user_is_current(const HvServiceUser *u)
{
  return geteuid() == u->uid && getegid() == u->gid;
}

gboolean
hv_service_user_in_group(const HvServiceUser *u, gid_t gid)
{
  if (u->gid == gid)
    return TRUE;
  for (int i = 0; i < u->n_groups; i++)
    if (u->groups[i] == gid)
      return TRUE;
  return FALSE;
}

gboolean
hv_service_user_become(const HvServiceUser *u, GError **error)
{
  if (hv_service_user_is_current(u))
    return TRUE;
  const char *what = NULL;
  if (setgroups((size_t) u->n_groups, u->groups) < 0)
    what = "setgroups";
  else if (setgid(u->gid) < 0)
    what = "setgid";
  else if (setuid(u->uid) < 0)
    what = "setuid";
  if (what) {
    int e = errno;
    g_set_error(error, HV_SERVICE_USER_ERROR, HV_SERVICE_USER_ERROR_SWITCH, "cannot switch to user '%s' (%s: %s)%s",
                u->name, what, g_strerror(e), geteuid() != 0 ? ": run as root, or as that user" : "");
    return FALSE;
  }
  return TRUE;
}

static void
write_all(int fd, const char *buf, gsize len)
{
  while (len > 0) {
    ssize_t n = write(fd, buf, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return;
    buf += n;
    len -= (gsize) n;
  }
}

void
hv_service_user_run(const HvServiceUser *u, HvServiceUserFunc fn, gpointer user_data, GPtrArray *problems)
{
  if (hv_service_user_is_current(u)) {
    fn(problems, user_data);
    return;
  }
  int p[2];
  if (pipe2(p, O_CLOEXEC) < 0) {
    g_ptr_array_add(problems, g_strdup_printf("checks as user '%s' not run: pipe: %s", u->name, g_strerror(errno)));
    return;
  }
  fflush(NULL);
  pid_t pid = fork();
  if (pid < 0) {
    g_ptr_array_add(problems, g_strdup_printf("checks as user '%s' not run: fork: %s", u->name, g_strerror(errno)));
    close(p[0]);
    close(p[1]);
    return;
  }
  if (pid == 0) {
    close(p[0]);
    GPtrArray *mine = g_ptr_array_new_with_free_func(g_free);
    GError *err = NULL;
    if (hv_service_user_become(u, &err))
      fn(mine, user_data);
    else
      g_ptr_array_add(mine, g_strdup(err->message));
    /* one problem per NUL-terminated string */
    for (guint i = 0; i < mine->len; i++)
      write_all(p[1], mine->pdata[i], strlen(mine->pdata[i]) + 1);
    _exit(0);
  }
  close(p[1]);
  GString *out = g_string_new(NULL);
  char buf[4096];
  for (;;) {
    ssize_t n = read(p[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      break;
    if (out->len < CHILD_OUTPUT_MAX)
      g_string_append_len(out, buf, n);
  }
  close(p[0]);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
    ;
  for (gsize off = 0; off < out->len;) {
    const char *line = out->str + off;
    gsize len = strnlen(line, out->len - off);
    g_ptr_array_add(problems, g_strndup(line, len));
    off += len + 1;
  }
  g_string_free(out, TRUE);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    g_ptr_array_add(problems, g_strdup_printf("checks as user '%s' did not complete (%s %d)", u->name,
                                              WIFSIGNALED(status) ? "signal" : "exit status",
                                              WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status)));
}
