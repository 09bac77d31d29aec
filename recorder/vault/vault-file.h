/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-file: the few durable-file primitives the vault relies on: bounded
 * reads, atomic replace (temp + fsync + rename + fsync dir), exclusive create.
 * Thin syscall wrappers; errors are HV_VAULT_ERROR_IO (or _EXISTS) with the path.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Read a whole regular file of at most max bytes (symlinks are refused).
 * Returns a new GBytes, or NULL with error. */
GBytes *hv_file_read_bounded(const char *path, gsize max, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Write data to dir/name atomically and durably. */
gboolean hv_file_write_atomic(const char *dir, const char *name, const void *data, gsize len,
                              int mode, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Create path exclusively with mode and write data durably; refuses to
 * overwrite (HV_VAULT_ERROR_EXISTS). */
gboolean hv_file_create_exclusive(const char *path, const void *data, gsize len, int mode,
                                  GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* fsync a directory. */
gboolean hv_dir_sync(const char *dir, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* write() all of buf, retrying on EINTR/short writes; returns 0 or -errno. */
int hv_write_all(int fd, const void *buf, gsize len);

/* Open path for reading without following a final symlink; it must be a
 * regular file. Returns fd, or -1 with error. */
int hv_open_regular(const char *path, GError **error);

G_END_DECLS
