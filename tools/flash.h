/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Writing a bmap'ed image to a target and reading it back: owns the image's
 * check against its manifest (SHA-256 of the whole file, the bmap's range
 * checksums, holes that really are zeros), the write of the mapped ranges
 * only, and the O_DIRECT read-back compared range by range. */
#pragma once

#include "bmap.h"
#include "flash-target.h"

#include <glib.h>

G_BEGIN_DECLS

#define HV_FLASH_ERROR (hv_flash_error_quark())
GQuark hv_flash_error_quark(void);

typedef enum {
  HV_FLASH_ERROR_IO,         /* the image cannot be read */
  HV_FLASH_ERROR_MANIFEST,   /* no manifest nor .sha256 beside the image, or a bad one */
  HV_FLASH_ERROR_IMAGE,      /* the image does not match its manifest or its bmap */
  HV_FLASH_ERROR_CHANGED,    /* the image changed after it was checked (target now bad) */
  HV_FLASH_ERROR_WRITE,      /* writing or syncing the target failed (target now bad) */
  HV_FLASH_ERROR_VERIFY,     /* the read-back differs from the image (target bad) */
  HV_FLASH_ERROR_VERIFY_IO,  /* the read-back could not read the target (target bad) */
} HvFlashError;

typedef enum {
  HV_FLASH_PHASE_CHECK,
  HV_FLASH_PHASE_WRITE,
  HV_FLASH_PHASE_VERIFY,
} HvFlashPhase;

typedef void (*HvFlashProgressFunc)(HvFlashPhase phase, guint64 done, guint64 total,
                                    gpointer user_data);

/* The image's expected SHA-256 (64 lower-case hex digits, caller frees) and
 * size, from IMAGE.manifest.json, else IMAGE.sha256; when both exist they
 * must agree. *ret_source names the file(s) used (caller frees). */
G_GNUC_WARN_UNUSED_RESULT
char *hv_flash_read_expected_digest(const char *image_path, guint64 *ret_size, char **ret_source,
                                    GError **error);

typedef struct _HvFlash HvFlash;

/* A flash of image_path laid out by bmap (borrowed: must outlive it). */
HvFlash *hv_flash_new(const char *image_path, const HvBmap *bmap);
void hv_flash_free(HvFlash *flash);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvFlash, hv_flash_free)

void hv_flash_set_progress(HvFlash *flash, HvFlashProgressFunc func, gpointer user_data);
/* Write with the page cache instead of O_DIRECT to block devices. */
void hv_flash_set_buffered(HvFlash *flash, gboolean buffered);

/* Reads the whole image once: its SHA-256 must equal sha256_hex, its size
 * the bmap's, every range its checksum, and every byte outside the ranges
 * must be zero (else the bmap would leave the card's old data there).
 * Remembers a BLAKE2b digest of every chunk it will write. Nothing is
 * written. */
G_GNUC_WARN_UNUSED_RESULT
gboolean hv_flash_check_image(HvFlash *flash, const char *sha256_hex, GError **error);
/* Writes the mapped ranges to target (opened here), then fsyncs. Each chunk
 * is read from the image again and must match what check_image saw. */
G_GNUC_WARN_UNUSED_RESULT
gboolean hv_flash_write(HvFlash *flash, HvFlashTarget *target, GError **error);
/* Reads every written chunk back from target (O_DIRECT) and compares; a
 * mismatch names the first differing byte offset. */
G_GNUC_WARN_UNUSED_RESULT
gboolean hv_flash_verify(HvFlash *flash, HvFlashTarget *target, GError **error);

guint64 hv_flash_get_bytes_written(const HvFlash *flash);
/* Seconds spent checking the image (before anything is written). */
double hv_flash_get_check_seconds(const HvFlash *flash);
/* Seconds spent writing (including the final fsync) and reading back. */
double hv_flash_get_write_seconds(const HvFlash *flash);
double hv_flash_get_verify_seconds(const HvFlash *flash);
/* FALSE when the read-back had to go through the page cache (a file on a
 * filesystem without O_DIRECT); it was dropped first. */
gboolean hv_flash_get_verify_direct(const HvFlash *flash);

G_END_DECLS
