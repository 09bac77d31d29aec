/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * service-user: the unprivileged user havend runs as (the unit's User=haven).
 * --check-config checks access as this user, and --init-device creates the
 * device key as this user, so that what root can read but the service cannot
 * is found before the service starts.
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

#define HV_SERVICE_USER_DEFAULT "haven"

#define HV_SERVICE_USER_ERROR (hv_service_user_error_quark())
GQuark hv_service_user_error_quark(void);
typedef enum {
  HV_SERVICE_USER_ERROR_UNKNOWN,   /* no such user */
  HV_SERVICE_USER_ERROR_SWITCH,    /* cannot become it (not root, or a call failed) */
} HvServiceUserError;

typedef struct _HvServiceUser HvServiceUser;

/* Look the user up with its groups. name NULL: the current user (euid). */
HvServiceUser *hv_service_user_lookup(const char *name, GError **error) G_GNUC_WARN_UNUSED_RESULT;
void           hv_service_user_free(HvServiceUser *u);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvServiceUser, hv_service_user_free)

const char *hv_service_user_name(const HvServiceUser *u);
/* TRUE when the process already runs as this user (no switch needed). */
gboolean    hv_service_user_is_current(const HvServiceUser *u);
/* TRUE when gid is the user's primary or a supplementary group. */
gboolean    hv_service_user_in_group(const HvServiceUser *u, gid_t gid);
/* Become the user for good: supplementary groups, gid, uid (needs root;
 * nothing to do when already the user). */
gboolean    hv_service_user_become(const HvServiceUser *u, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Run fn as the user and collect the lines it appends to its array into
 * problems. When a switch is needed, fn runs in a forked child that becomes
 * the user (the caller must be single-threaded, as havend --check-config is);
 * otherwise in this process. A child that fails is itself a problem. */
typedef void (*HvServiceUserFunc)(GPtrArray *problems, gpointer user_data);
void hv_service_user_run(const HvServiceUser *u, HvServiceUserFunc fn, gpointer user_data, GPtrArray *problems);

G_END_DECLS
