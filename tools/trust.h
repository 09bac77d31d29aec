/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trust: the custodian's trust list of enrolled devices, a directory
 * ($HAVEN_TRUST_DIR, default $XDG_CONFIG_HOME/haven/devices) holding per
 * device ID.pub (a device public key file, usable with --device-key) and
 * ID.enrollment.conf (the signed enrollment file it came from). Every entry
 * is checked when read: a damaged or inconsistent entry is an error, never
 * taken as "not enrolled".
 */
#pragma once

#include "enrollment.h"

G_BEGIN_DECLS

#define HV_TRUST_ERROR (hv_trust_error_quark())
GQuark hv_trust_error_quark(void);
typedef enum {
  HV_TRUST_ERROR_IO,       /* the directory or a file cannot be read or written */
  HV_TRUST_ERROR_CORRUPT,  /* an entry is damaged or inconsistent */
} HvTrustError;

typedef struct {
  char   *device_id;
  guint8  pk[HV_DEVICE_PK_SIZE];
  char   *room;
  char   *image_version;
  char   *created;
  char   *pub_path;
} HvTrustedDevice;

void hv_trusted_device_free(HvTrustedDevice *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvTrustedDevice, hv_trusted_device_free)

/* $HAVEN_TRUST_DIR, else g_get_user_config_dir()/haven/devices. */
char *hv_trust_dir(void) G_GNUC_WARN_UNUSED_RESULT;

/* The trusted device with this id; NULL without error when it is not
 * enrolled, NULL with CORRUPT when its entry is damaged. */
HvTrustedDevice *hv_trust_lookup(const char *dir, const char *device_id, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The enrolled device whose id the session's header names, to pin the
 * session to its key; NULL without error when the header cannot be read
 * (verification then says why) or the device is not enrolled. */
HvTrustedDevice *hv_trust_lookup_session(const char *dir, const char *session, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* Store the (already verified) enrollment; *ret_previous gets the entry it
 * replaces (NULL: a new device). A damaged existing entry is an error. */
gboolean hv_trust_add(const char *dir, const HvEnrollment *e, HvTrustedDevice **ret_previous, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* Every entry (HvTrustedDevice), sorted by id; each damaged one is appended to
 * problems (char *). NULL only when the directory cannot be read. */
GPtrArray *hv_trust_list(const char *dir, GPtrArray *problems, GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
