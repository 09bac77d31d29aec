/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon: havend's wiring. Buttons (board GPIO) and control requests feed
 * the state machine; its actions drive the recorder; recorder health and
 * faults drive the lights; every transition goes to the journal with a
 * stable MESSAGE_ID and, while a session is open, into its signed chain;
 * every control action is audited in the catalog.
 */
#pragma once

#include "config.h"

G_BEGIN_DECLS

typedef struct _HvDaemon HvDaemon;

#define HV_DAEMON_ERROR (hv_daemon_error_quark())
GQuark hv_daemon_error_quark(void);
typedef enum {
  HV_DAEMON_ERROR_REQUEST,   /* a control request field of the wrong type, length or content */
  HV_DAEMON_ERROR_NO_DEVICE_KEY, /* [device] key names no file: a configuration error (never created here) */
} HvDaemonError;

/* Recover unsealed sessions, open the catalog, the board and the control
 * socket. Errors name what is wrong (chip, line, socket, key). A missing
 * device key is NO_DEVICE_KEY: havend never creates one (havend --init-device
 * does), and nothing is created on disk before the key is loaded. */
HvDaemon *hv_daemon_new(HvConfig *cfg, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Run until SIGTERM/SIGINT; a session in progress is sealed first. */
int  hv_daemon_run(HvDaemon *d);
void hv_daemon_free(HvDaemon *d);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvDaemon, hv_daemon_free)

G_END_DECLS
