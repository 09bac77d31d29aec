// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "config-check.h"
#include "vault/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct {
  const HvConfig      *cfg;
  const HvBoard       *board;
  const char          *board_path;
  const HvServiceUser *user;
  gboolean             switched;   /* checks run as another user than the one that loaded the config */
} Check;

static void
add(GPtrArray *problems, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static void
add(GPtrArray *problems, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_ptr_array_add(problems, g_strdup_vprintf(fmt, ap));
  va_end(ap);
}

/* A directory the user must write in: present, a directory, writable. */
static void
check_dir(const Check *c, const char *key, const char *dir, gboolean may_be_created, GPtrArray *problems)
{
  const char *who = hv_service_user_name(c->user);
  struct stat st;
  if (stat(dir, &st) < 0) {
    int e = errno;
    if (e == ENOENT && may_be_created) {
      g_autofree char *parent = g_path_get_dirname(dir);
      if (access(parent, W_OK | X_OK) == 0)
        return; /* havend creates it */
      add(problems, "%s: %s: '%s' does not exist, and user %s cannot create it in %s (%s)", c->cfg->path, key, dir,
          who, parent, g_strerror(errno));
      return;
    }
    if (e == ENOENT)
      add(problems, "%s: %s: '%s' does not exist: correct the path, or create it (a directory writable by user %s; "
          "for a disk, mount it there)", c->cfg->path, key, dir, who);
    else
      add(problems, "%s: %s: '%s' %s", c->cfg->path, key, dir, g_strerror(e));
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    add(problems, "%s: %s: '%s' is not a directory (%s)", c->cfg->path, key, dir,
        S_ISREG(st.st_mode) ? "a regular file" : "another kind of file");
    return;
  }
  if (access(dir, W_OK | X_OK) < 0)
    add(problems, "%s: %s: '%s' is not writable by user %s (%s)", c->cfg->path, key, dir, who, g_strerror(errno));
}

static void
check_device_key(const Check *c, GPtrArray *problems)
{
  const char *path = c->cfg->device_key_path;
  struct stat st;
  if (lstat(path, &st) < 0 && errno == ENOENT) {
    g_autofree char *dir = g_path_get_dirname(path);
    add(problems, "%s: [device] key: '%s' does not exist%s: havend never creates a device key by itself; if the "
        "path is right, provision this device once with 'havend --init-device'", c->cfg->path, path,
        g_file_test(dir, G_FILE_TEST_IS_DIR) ? "" : " (nor does its directory)");
    return;
  }
  g_autoptr(GError) err = NULL;
  g_autoptr(HvDeviceKey) key = hv_device_key_load(path, &err);
  if (!key)
    add(problems, "%s: [device] key: %s (as user %s)", c->cfg->path, err->message, hv_service_user_name(c->user));
}

/* The recipients' contents were checked when the configuration loaded; here
 * only whether the service user may read them, when it is another user than
 * the one that loaded them. */
static void
check_recipients_access(const Check *c, GPtrArray *problems)
{
  if (!c->switched)
    return;
  for (guint i = 0; c->cfg->recipient_paths && c->cfg->recipient_paths[i]; i++) {
    const char *p = c->cfg->recipient_paths[i];
    int fd = open(p, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0) {
      close(fd);
      continue;
    }
    if (errno == EACCES || errno == EPERM) /* others were reported by the loading */
      add(problems, "%s: [custodians] recipients: '%s' is not readable by user %s (%s)", c->cfg->path, p,
          hv_service_user_name(c->user), g_strerror(errno));
  }
}

static void
as_user(GPtrArray *problems, gpointer user_data)
{
  const Check *c = user_data;
  if (c->board)
    hv_board_check(c->board, c->board_path, problems);
  for (guint i = 0; c->cfg->rec.roots[i]; i++)
    check_dir(c, "[storage] roots", c->cfg->rec.roots[i], FALSE, problems);
  check_dir(c, "[device] state-dir", c->cfg->state_dir, TRUE, problems);
  check_device_key(c, problems);
  check_recipients_access(c, problems);
}

static void
check_control_group(const Check *c, GPtrArray *problems)
{
  const char *name = c->cfg->control_group;
  if (!name)
    return;
  errno = 0;
  struct group *gr = getgrnam(name);
  if (!gr) {
    add(problems, "%s: [device] control-group: group '%s' does not exist%s%s", c->cfg->path, name,
        errno ? ": " : "", errno ? g_strerror(errno) : "");
    return;
  }
  if (!hv_service_user_in_group(c->user, gr->gr_gid))
    add(problems, "%s: [device] control-group: user %s is not in group '%s': havend could not give it the "
        "control socket", c->cfg->path, hv_service_user_name(c->user), name);
}

void
hv_config_check_system(const HvConfig *cfg, const HvBoard *board, const char *board_path,
                       const HvServiceUser *user, GPtrArray *problems)
{
  Check c = { cfg, board, board_path, user, !hv_service_user_is_current(user) };
  check_control_group(&c, problems);
  hv_service_user_run(user, as_user, &c, problems);
}
