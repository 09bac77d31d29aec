/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The target of `haven flash`: a whole disk (block device) or a regular
 * file. Owns telling what it is (type, size, model, serial, removable) and
 * whether it is safe to overwrite (not mounted, not swap, not held), and
 * opening it for writing and for the O_DIRECT read-back. */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HV_FLASH_TARGET_ERROR (hv_flash_target_error_quark())
GQuark hv_flash_target_error_quark(void);

typedef enum {
  HV_FLASH_TARGET_ERROR_IO,            /* cannot stat/open/query it */
  HV_FLASH_TARGET_ERROR_TYPE,          /* a directory, character device, FIFO, socket, or a
                                        * missing path under /dev */
  HV_FLASH_TARGET_ERROR_SAME_FILE,     /* it is the image itself */
  HV_FLASH_TARGET_ERROR_PARTITION,     /* a partition, not a whole disk (needs --force) */
  HV_FLASH_TARGET_ERROR_MOUNTED,       /* it or one of its partitions is mounted */
  HV_FLASH_TARGET_ERROR_SWAP,          /* it or one of its partitions is active swap */
  HV_FLASH_TARGET_ERROR_BUSY,          /* held by another device (dm, md, loop) or opened
                                        * exclusively by someone else */
  HV_FLASH_TARGET_ERROR_NOT_REMOVABLE, /* a fixed disk (needs --force) */
  HV_FLASH_TARGET_ERROR_TOO_SMALL,     /* smaller than the image */
  HV_FLASH_TARGET_ERROR_CHANGED,       /* the path names another device or file than the one
                                        * inspected and checked (replugged, swapped) */
} HvFlashTargetError;

typedef struct _HvFlashTarget HvFlashTarget;

/* Looks at path without changing anything: what it is, its size, model and
 * serial. A missing path outside /dev is a file target to be created.
 * Returns a new target (caller frees) or NULL (IO or TYPE errors). */
G_GNUC_WARN_UNUSED_RESULT
HvFlashTarget *hv_flash_target_inspect(const char *path, GError **error);
void hv_flash_target_free(HvFlashTarget *target);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvFlashTarget, hv_flash_target_free)

/* Every refusal, in this order: the image itself, a partition and a fixed
 * disk unless force, mounted, swap, held, smaller than image_size. */
G_GNUC_WARN_UNUSED_RESULT
gboolean hv_flash_target_check(HvFlashTarget *target, const char *image_path,
                               guint64 image_size, gboolean force, GError **error);

/* Opens for writing: a block device exclusively (O_EXCL: the kernel refuses
 * while it is mounted or claimed), with O_DIRECT unless buffered; a file
 * target is created or truncated to exactly image_size (so the image's holes
 * read as zeros). Returns the fd or -1 with error set. A block device opened
 * with O_DIRECT also gets *ret_buffered_fd, a buffered fd for writes that are
 * not aligned to its logical block size (else -1). What is opened must be what
 * was inspected (the same block device, the same file; a file target that
 * did not exist must still not exist): else CHANGED, and nothing is written. */
G_GNUC_WARN_UNUSED_RESULT
int hv_flash_target_open_write(HvFlashTarget *target, guint64 image_size, gboolean buffered,
                               int *ret_buffered_fd, GError **error);
/* Opens for the read-back with O_DIRECT; when the filesystem of a file
 * target refuses O_DIRECT (EINVAL), opens it buffered after dropping its
 * cached pages and sets *ret_direct FALSE. CHANGED as for open_write. */
G_GNUC_WARN_UNUSED_RESULT
int hv_flash_target_open_read(HvFlashTarget *target, gboolean *ret_direct, GError **error);

const char *hv_flash_target_get_path(const HvFlashTarget *target);
gboolean hv_flash_target_is_block_device(const HvFlashTarget *target);
/* Bytes (0 for a file target that does not exist yet). */
guint64 hv_flash_target_get_size(const HvFlashTarget *target);
/* The alignment O_DIRECT needs (logical block size; 4096 for files). */
guint hv_flash_target_get_alignment(const HvFlashTarget *target);
/* "vendor model", "loop (FILE)", "file"; and the serial or "-". Owned by target. */
const char *hv_flash_target_get_model(const HvFlashTarget *target);
const char *hv_flash_target_get_serial(const HvFlashTarget *target);

G_END_DECLS
