// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-vault"
#include "vault-file.h"
#include "vault-format.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int
hv_write_all(int fd, const void *buf, gsize len)
{
  const guint8 *p = buf;
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR)
        continue;
      return -errno;
    }
    if (n == 0)
      return -EIO;
    p += n;
    len -= (gsize) n;
  }
  return 0;
}

int
hv_open_regular(const char *path, GError **error)
{
  /* O_NONBLOCK: opening a FIFO (or a device) planted where a file belongs
   * would otherwise block until a writer appears, i.e. for ever. */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s", path,
                e == ELOOP ? "is a symbolic link, refusing to follow it" : g_strerror(e));
    return -1;
  }
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: not a regular file", path);
    close(fd);
    return -1;
  }
  (void) fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  return fd;
}

GBytes *
hv_file_read_bounded(const char *path, gsize max, GError **error)
{
  int fd = hv_open_regular(path, error);
  if (fd < 0)
    return NULL;
  struct stat st;
  if (fstat(fd, &st) < 0 || (guint64) st.st_size > max) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED,
                "%s: file is %jd bytes, more than the %zu allowed", path, (intmax_t) st.st_size, max);
    close(fd);
    return NULL;
  }
  gsize len = (gsize) st.st_size;
  guint8 *buf = g_malloc(len ? len : 1);
  gsize got = 0;
  while (got < len) {
    ssize_t n = read(fd, buf + got, len - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s", path,
                  n < 0 ? g_strerror(errno) : "file shrank while reading");
      g_free(buf);
      close(fd);
      return NULL;
    }
    got += (gsize) n;
  }
  close(fd);
  return g_bytes_new_take(buf, len);
}

gboolean
hv_dir_sync(const char *dir, GError **error)
{
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) < 0) {
    int e = errno;
    if (fd >= 0)
      close(fd);
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: cannot sync directory: %s", dir,
                g_strerror(e));
    return FALSE;
  }
  close(fd);
  return TRUE;
}

static gboolean
write_sync_close(int fd, const char *path, const void *data, gsize len, GError **error)
{
  int r = hv_write_all(fd, data, len);
  if (r == 0 && fsync(fd) < 0)
    r = -errno;
  if (close(fd) < 0 && r == 0)
    r = -errno;
  if (r < 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s", path, g_strerror(-r));
    return FALSE;
  }
  return TRUE;
}

gboolean
hv_file_write_atomic(const char *dir, const char *name, const void *data, gsize len, int mode,
                     GError **error)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  g_autofree char *tmp = g_strdup_printf("%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s", tmp, g_strerror(errno));
    return FALSE;
  }
  if (!write_sync_close(fd, tmp, data, len, error)) {
    (void) g_unlink(tmp);
    return FALSE;
  }
  if (rename(tmp, path) < 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s", path, g_strerror(errno));
    (void) g_unlink(tmp);
    return FALSE;
  }
  return hv_dir_sync(dir, error);
}

gboolean
hv_file_create_exclusive(const char *path, const void *data, gsize len, int mode, GError **error)
{
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, HV_VAULT_ERROR, e == EEXIST ? HV_VAULT_ERROR_EXISTS : HV_VAULT_ERROR_IO,
                "%s: %s", path, e == EEXIST ? "already exists, refusing to overwrite" : g_strerror(e));
    return FALSE;
  }
  /* the umask must not widen or narrow the requested mode */
  if (fchmod(fd, mode) < 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s", path, g_strerror(errno));
    close(fd);
    (void) g_unlink(path);
    return FALSE;
  }
  if (!write_sync_close(fd, path, data, len, error)) {
    (void) g_unlink(path);
    return FALSE;
  }
  g_autofree char *dir = g_path_get_dirname(path);
  return hv_dir_sync(dir, error);
}
