// SPDX-License-Identifier: GPL-2.0-or-later
/* The target of `haven flash`: what it is and whether it may be overwritten. */
#include "flash-target.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <gio/gunixmounts.h>
#include <glib/gstdio.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

G_DEFINE_QUARK(hv-flash-target-error-quark, hv_flash_target_error)

struct _HvFlashTarget {
  char    *path;
  char    *shown;    /* path for messages */
  gboolean exists;
  gboolean is_block;
  dev_t    rdev;     /* block devices */
  dev_t    dev;      /* files: the file's device and inode */
  ino_t    ino;
  char    *sysfs;    /* /sys/dev/block/MAJ:MIN */
  gboolean is_partition;
  guint64  size;
  guint    alignment;
  char    *model;
  char    *serial;
};

void
hv_flash_target_free(HvFlashTarget *t)
{
  if (!t)
    return;
  g_free(t->path);
  g_free(t->shown);
  g_free(t->sysfs);
  g_free(t->model);
  g_free(t->serial);
  g_free(t);
}

/* A one-line sysfs attribute, stripped; NULL when absent or empty. */
static char *
sysfs_read(const char *dir, const char *name)
{
  g_autofree char *path = g_build_filename(dir, name, NULL);
  g_autofree char *text = NULL;
  if (!g_file_get_contents(path, &text, NULL, NULL))
    return NULL;
  g_strstrip(text);
  return text[0] ? g_steal_pointer(&text) : NULL;
}

static void
describe_block(HvFlashTarget *t)
{
  g_autofree char *devdir = g_build_filename(t->sysfs, "device", NULL);
  g_autofree char *backing = NULL;
  g_autofree char *loopdir = g_build_filename(t->sysfs, "loop", NULL);
  if ((backing = sysfs_read(loopdir, "backing_file"))) {
    t->model = g_strdup_printf("loop (%s)", backing);
  } else {
    g_autofree char *vendor = sysfs_read(devdir, "vendor");
    g_autofree char *model = sysfs_read(devdir, "model");
    if (!model)
      model = sysfs_read(devdir, "name"); /* MMC/SD cards */
    t->model = vendor && model ? g_strdup_printf("%s %s", vendor, model)
               : model        ? g_steal_pointer(&model)
                               : g_strdup("-");
  }
  /* SD cards carry their serial on the device; USB readers on an ancestor. */
  char *resolved = realpath(devdir, NULL); /* NULL for virtual devices (loop) */
  g_autofree char *real = resolved ? g_strdup(resolved) : NULL;
  free(resolved);
  for (int depth = 0; depth < 8 && !t->serial && real && strlen(real) > 5; depth++) {
    t->serial = sysfs_read(real, "serial");
    char *up = g_path_get_dirname(real);
    g_free(real);
    real = up;
  }
  if (!t->serial)
    t->serial = g_strdup("-");
  /* the device (or whoever named a loop device's backing file) says what it
   * is: never let it put control bytes on the technician's terminal or into
   * the flash log */
  for (char *c = t->model; *c; c++)
    if ((guchar) *c < 0x20 || (guchar) *c > 0x7e)
      *c = '?';
  for (char *c = t->serial; *c; c++)
    if ((guchar) *c < 0x20 || (guchar) *c > 0x7e)
      *c = '?';
}

HvFlashTarget *
hv_flash_target_inspect(const char *path, GError **error)
{
  g_autoptr(HvFlashTarget) t = g_new0(HvFlashTarget, 1);
  t->path = g_strdup(path);
  t->shown = g_filename_display_name(path);
  t->alignment = 4096;
  struct stat st;
  if (stat(path, &st) != 0) {
    int e = errno;
    /* A typo of a device name must not become a regular file in /dev. */
    g_autofree char *parent = g_path_get_dirname(path);
    g_autofree char *real_parent = realpath(parent, NULL);
    if (e == ENOENT && real_parent && strcmp(real_parent, "/dev") != 0) {
      t->model = g_strdup("file");
      t->serial = g_strdup("-");
      return g_steal_pointer(&t);
    }
    g_set_error(error, HV_FLASH_TARGET_ERROR,
                e == ENOENT ? HV_FLASH_TARGET_ERROR_TYPE : HV_FLASH_TARGET_ERROR_IO,
                e == ENOENT ? "%s: no such device" : "%s: %s", t->shown, g_strerror(e));
    return NULL;
  }
  t->exists = TRUE;
  if (S_ISREG(st.st_mode)) {
    t->dev = st.st_dev;
    t->ino = st.st_ino;
    t->size = (guint64)st.st_size;
    t->model = g_strdup("file");
    t->serial = g_strdup("-");
    return g_steal_pointer(&t);
  }
  if (!S_ISBLK(st.st_mode)) {
    g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_TYPE,
                "%s: is a %s, not a disk or a regular file", t->shown,
                S_ISDIR(st.st_mode)   ? "directory"
                : S_ISCHR(st.st_mode) ? "character device"
                : S_ISFIFO(st.st_mode) ? "FIFO"
                                       : "socket");
    return NULL;
  }
  t->is_block = TRUE;
  t->rdev = st.st_rdev;
  t->sysfs = g_strdup_printf("/sys/dev/block/%u:%u", major(st.st_rdev), minor(st.st_rdev));
  g_autofree char *partition = g_build_filename(t->sysfs, "partition", NULL);
  t->is_partition = g_file_test(partition, G_FILE_TEST_EXISTS);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_IO, "%s: %s", t->shown,
                g_strerror(e));
    return NULL;
  }
  guint64 size = 0;
  int lbs = 0;
  gboolean ok = ioctl(fd, BLKGETSIZE64, &size) == 0 && ioctl(fd, BLKSSZGET, &lbs) == 0;
  int e = errno;
  close(fd);
  if (!ok) {
    g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_IO,
                "%s: cannot read its size: %s", t->shown, g_strerror(e));
    return NULL;
  }
  t->size = size;
  t->alignment = lbs > 0 ? (guint)lbs : 512;
  describe_block(t);
  return g_steal_pointer(&t);
}

/* The device and its partitions, as dev_t values. */
static GArray *
block_family(const HvFlashTarget *t)
{
  GArray *devs = g_array_new(FALSE, FALSE, sizeof(dev_t));
  g_array_append_val(devs, t->rdev);
  g_autoptr(GDir) dir = g_dir_open(t->sysfs, 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name(dir))) {
    g_autofree char *sub = g_build_filename(t->sysfs, name, NULL);
    g_autofree char *is_part = sysfs_read(sub, "partition");
    g_autofree char *devnum = is_part ? sysfs_read(sub, "dev") : NULL;
    guint maj = 0, min = 0;
    if (devnum && sscanf(devnum, "%u:%u", &maj, &min) == 2) {
      dev_t d = makedev(maj, min);
      g_array_append_val(devs, d);
    }
  }
  return devs;
}

static gboolean
family_has(GArray *devs, dev_t d)
{
  for (guint i = 0; i < devs->len; i++)
    if (g_array_index(devs, dev_t, i) == d)
      return TRUE;
  return FALSE;
}

static gboolean
path_in_family(GArray *devs, const char *path)
{
  struct stat st;
  return path && path[0] == '/' && stat(path, &st) == 0 && S_ISBLK(st.st_mode) &&
         family_has(devs, st.st_rdev);
}

static gboolean
check_mounts(const HvFlashTarget *t, GArray *devs, GError **error)
{
  GList *mounts = g_unix_mounts_get(NULL);
  gboolean ok = TRUE;
  for (GList *l = mounts; l && ok; l = l->next) {
    const char *device = g_unix_mount_get_device_path(l->data);
    if (path_in_family(devs, device)) {
      g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_MOUNTED,
                  "%s: %s is mounted on %s: unmount it first", t->shown, device,
                  g_unix_mount_get_mount_path(l->data));
      ok = FALSE;
    }
  }
  g_list_free_full(mounts, (GDestroyNotify)g_unix_mount_free);
  return ok;
}

static gboolean
check_swaps(const HvFlashTarget *t, GArray *devs, GError **error)
{
  g_autofree char *text = NULL;
  if (!g_file_get_contents("/proc/swaps", &text, NULL, NULL))
    return TRUE; /* no swap support */
  g_auto(GStrv) lines = g_strsplit(text, "\n", -1);
  for (guint i = 1; lines[i]; i++) {
    g_auto(GStrv) fields = g_strsplit_set(lines[i], " \t", 2);
    if (fields[0] && path_in_family(devs, fields[0])) {
      g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_SWAP,
                  "%s: %s is in use as swap: swapoff it first", t->shown, fields[0]);
      return FALSE;
    }
  }
  return TRUE;
}

/* A loop device whose backing file is the target or one of its partitions
 * (loop devices do not register as holders). */
static gboolean
check_loop_backing(const HvFlashTarget *t, GArray *devs, GError **error)
{
  g_autoptr(GDir) dir = g_dir_open("/sys/block", 0, NULL);
  const char *name;
  while (dir && (name = g_dir_read_name(dir))) {
    if (!g_str_has_prefix(name, "loop"))
      continue;
    g_autofree char *loopdir = g_build_filename("/sys/block", name, "loop", NULL);
    g_autofree char *backing = sysfs_read(loopdir, "backing_file");
    if (path_in_family(devs, backing)) {
      g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_BUSY,
                  "%s: %s is the backing device of /dev/%s: detach it first (losetup -d)",
                  t->shown, backing, name);
      return FALSE;
    }
  }
  return TRUE;
}

/* A device-mapper, md or loop device built on it (sysfs holders/). */
static gboolean
check_holders(const HvFlashTarget *t, GArray *devs, GError **error)
{
  for (guint i = 0; i < devs->len; i++) {
    dev_t d = g_array_index(devs, dev_t, i);
    g_autofree char *dir = g_strdup_printf("/sys/dev/block/%u:%u/holders", major(d), minor(d));
    g_autoptr(GDir) holders = g_dir_open(dir, 0, NULL);
    const char *name = holders ? g_dir_read_name(holders) : NULL;
    if (name) {
      g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_BUSY,
                  "%s: in use by %s (device-mapper, RAID or loop device): release it first",
                  t->shown, name);
      return FALSE;
    }
  }
  return TRUE;
}

static gboolean
is_removable(const HvFlashTarget *t)
{
  g_autofree char *removable = sysfs_read(t->sysfs, "removable");
  if (removable && !strcmp(removable, "1"))
    return TRUE;
  /* A laptop's SD slot (mmcblk) reports removable 0; the card is still an
   * SD card. eMMC ("MMC") is a board's fixed disk and stays refused. */
  g_autofree char *devdir = g_build_filename(t->sysfs, "device", NULL);
  g_autofree char *type = sysfs_read(devdir, "type");
  return type && !strcmp(type, "SD");
}

gboolean
hv_flash_target_check(HvFlashTarget *t, const char *image_path, guint64 image_size,
                      gboolean force, GError **error)
{
  struct stat img;
  if (!t->is_block && t->exists && stat(image_path, &img) == 0 && img.st_dev == t->dev &&
      img.st_ino == t->ino) {
    g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_SAME_FILE,
                "%s: is the image itself", t->shown);
    return FALSE;
  }
  if (!t->is_block)
    return TRUE;
  if (t->is_partition && !force) {
    g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_PARTITION,
                "%s: is a partition, not a whole disk: give the disk (or --force)", t->shown);
    return FALSE;
  }
  g_autoptr(GArray) devs = block_family(t);
  if (!check_mounts(t, devs, error) || !check_swaps(t, devs, error) ||
      !check_holders(t, devs, error) || !check_loop_backing(t, devs, error))
    return FALSE;
  if (!force && !is_removable(t)) {
    g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_NOT_REMOVABLE,
                "%s: is not a removable disk (%s): if it really is the card, add --force",
                t->shown, t->model);
    return FALSE;
  }
  if (t->size < image_size) {
    g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_TOO_SMALL,
                "%s: holds %" G_GUINT64_FORMAT " bytes, the image needs %" G_GUINT64_FORMAT,
                t->shown, t->size, image_size);
    return FALSE;
  }
  return TRUE;
}

/* What fd opened is the target inspected and checked: the path may have
 * come to name another disk meanwhile (a card replugged, a symlink or a
 * udev name pointed elsewhere), which no refusal was checked against. */
static gboolean
same_target(HvFlashTarget *t, int fd, GError **error)
{
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_IO, "%s: %s", t->shown, g_strerror(e));
    return FALSE;
  }
  gboolean same = t->is_block ? S_ISBLK(st.st_mode) && st.st_rdev == t->rdev
                              : S_ISREG(st.st_mode) && st.st_dev == t->dev && st.st_ino == t->ino;
  if (!same)
    g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_CHANGED,
                "%s: now names another %s than the one checked (replugged, or the name points elsewhere): "
                "nothing was written; check which device it is and run haven flash again", t->shown,
                t->is_block ? "device" : "file");
  return same;
}

int
hv_flash_target_open_write(HvFlashTarget *t, guint64 image_size, gboolean buffered,
                           int *ret_buffered_fd, GError **error)
{
  *ret_buffered_fd = -1;
  if (!t->is_block) {
    /* a file inspected as missing is created, never one that appeared since;
     * an existing one is truncated only once it is known to be the one checked */
    int fd = open(t->path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW | (t->exists ? 0 : O_CREAT | O_EXCL), 0644);
    if (fd >= 0 && !t->exists) {
      struct stat st;
      if (fstat(fd, &st) == 0) {
        t->exists = TRUE;
        t->dev = st.st_dev;
        t->ino = st.st_ino;
      }
    }
    if (fd >= 0 && !same_target(t, fd, error)) {
      close(fd);
      return -1;
    }
    if (fd < 0 || ftruncate(fd, 0) != 0 || ftruncate(fd, (off_t)image_size) != 0) {
      int e = errno;
      if (fd >= 0)
        close(fd);
      g_set_error(error, HV_FLASH_TARGET_ERROR, e == EEXIST ? HV_FLASH_TARGET_ERROR_CHANGED
                                                             : HV_FLASH_TARGET_ERROR_IO,
                  e == EEXIST ? "%s: appeared since it was checked: nothing was written; run haven flash again"
                              : "%s: %s", t->shown, g_strerror(e));
      return -1;
    }
    return fd;
  }
  int flags = O_WRONLY | O_EXCL | O_CLOEXEC;
  int fd = open(t->path, flags | (buffered ? 0 : O_DIRECT));
  if (fd < 0 && errno == EINVAL && !buffered) {
    buffered = TRUE; /* a device without O_DIRECT: the page cache and the final fsync */
    fd = open(t->path, flags);
  }
  if (fd < 0) {
    int e = errno;
    g_set_error(error, HV_FLASH_TARGET_ERROR,
                e == EBUSY ? HV_FLASH_TARGET_ERROR_BUSY : HV_FLASH_TARGET_ERROR_IO,
                e == EBUSY ? "%s: in use (mounted or claimed by another program)" : "%s: %s",
                t->shown, g_strerror(e));
    return -1;
  }
  if (!same_target(t, fd, error)) {
    close(fd);
    return -1;
  }
  if (!buffered) {
    /* O_EXCL on a block device is a claim per open file; a second claim by
     * the same process fails, so the buffered fd goes without it. */
    int bfd = open(t->path, O_WRONLY | O_CLOEXEC);
    if (bfd >= 0 && !same_target(t, bfd, error)) {
      close(bfd);
      close(fd);
      return -1;
    }
    if (bfd < 0) {
      int e = errno;
      close(fd);
      g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_IO, "%s: %s", t->shown,
                  g_strerror(e));
      return -1;
    }
    *ret_buffered_fd = bfd;
  }
  return fd;
}

int
hv_flash_target_open_read(HvFlashTarget *t, gboolean *ret_direct, GError **error)
{
  int fd = open(t->path, O_RDONLY | O_CLOEXEC | O_DIRECT);
  if (fd >= 0) {
    if (!same_target(t, fd, error)) {
      close(fd);
      return -1;
    }
    *ret_direct = TRUE;
    return fd;
  }
  int e = errno;
  if (e == EINVAL && !t->is_block) {
    fd = open(t->path, O_RDONLY | O_CLOEXEC);
    e = errno;
    if (fd >= 0 && !same_target(t, fd, error)) {
      close(fd);
      return -1;
    }
    if (fd >= 0) {
      (void)posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
      *ret_direct = FALSE;
      return fd;
    }
  }
  g_set_error(error, HV_FLASH_TARGET_ERROR, HV_FLASH_TARGET_ERROR_IO, "%s: %s", t->shown,
              g_strerror(e));
  return -1;
}

const char *
hv_flash_target_get_path(const HvFlashTarget *t)
{
  return t->path;
}

gboolean
hv_flash_target_is_block_device(const HvFlashTarget *t)
{
  return t->is_block;
}

guint64
hv_flash_target_get_size(const HvFlashTarget *t)
{
  return t->size;
}

guint
hv_flash_target_get_alignment(const HvFlashTarget *t)
{
  return t->alignment;
}

const char *
hv_flash_target_get_model(const HvFlashTarget *t)
{
  return t->model;
}

const char *
hv_flash_target_get_serial(const HvFlashTarget *t)
{
  return t->serial;
}
