/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * enrollment: the enrollment file (docs/ENROLLMENT.md) by which a board
 * introduces its device key to the custodians. The board writes it at first
 * boot (`havend --write-enrollment`), signed with the device key; the
 * custodian's `haven enroll` reads it, checks that the device id belongs to
 * the public key and that the key signed the file, and trusts the device.
 *
 *   [enrollment]
 *   format=1
 *   device-id=...            hv_key_id of the public key
 *   device-public-key=...    64 hex digits
 *   room=...
 *   image-version=...
 *   haven-version=...
 *   created=...              RFC 3339 UTC
 *   signature=...            base64 Ed25519 over every byte before this line
 *
 * Depends on GLib and the vault only (the CLI links it).
 */
#pragma once

#include "vault/vault.h"

G_BEGIN_DECLS

#define HV_ENROLLMENT_ERROR (hv_enrollment_error_quark())
GQuark hv_enrollment_error_quark(void);
typedef enum {
  HV_ENROLLMENT_ERROR_IO,         /* cannot read or write the file */
  HV_ENROLLMENT_ERROR_MALFORMED,  /* not an enrollment file of format 1 */
  HV_ENROLLMENT_ERROR_MISMATCH,   /* device-id is not the id of device-public-key */
  HV_ENROLLMENT_ERROR_SIGNATURE,  /* the signature does not verify: changed, or not signed by that key */
} HvEnrollmentError;

#define HV_ENROLLMENT_FORMAT 1
#define HV_ENROLLMENT_MAX 8192  /* bytes: a real file is under 1 KiB */

typedef struct _HvEnrollment HvEnrollment;

/* The file's text, signed with key (created: now, UTC). */
char *hv_enrollment_format(const HvDeviceKey *key, const char *room, const char *image_version,
                           const char *haven_version, GDateTime *created) G_GNUC_WARN_UNUSED_RESULT;
/* Write it to path atomically and durably (temporary file in the same
 * directory, fsync, rename, fsync of the directory), mode 0644. */
gboolean hv_enrollment_write(const char *path, const HvDeviceKey *key, const char *room,
                             const char *image_version, const char *haven_version, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* Parse and check text (format, id, signature); name is for messages. */
HvEnrollment *hv_enrollment_parse(const char *name, const char *text, gsize len, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* Read path (at most HV_ENROLLMENT_MAX bytes) and parse it. */
HvEnrollment *hv_enrollment_load(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
void          hv_enrollment_free(HvEnrollment *e);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvEnrollment, hv_enrollment_free)

const char   *hv_enrollment_device_id(const HvEnrollment *e);
const guint8 *hv_enrollment_public_key(const HvEnrollment *e);  /* HV_DEVICE_PK_SIZE bytes */
const char   *hv_enrollment_room(const HvEnrollment *e);
const char   *hv_enrollment_image_version(const HvEnrollment *e);
const char   *hv_enrollment_haven_version(const HvEnrollment *e);
const char   *hv_enrollment_created(const HvEnrollment *e);
/* The exact bytes the file was parsed from (to keep a copy). */
GBytes       *hv_enrollment_bytes(const HvEnrollment *e);

G_END_DECLS
