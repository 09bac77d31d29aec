/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * provision: the device identity, created only on purpose. `havend
 * --init-device` creates the device signing key (and its .pub) and a fresh
 * device state (the ledger starts at sequence 1); it never overwrites a key.
 * `--init-device --replace` is the deliberate replacement: the old key, its
 * .pub and its device state are archived under a timestamped name, never
 * deleted, and the caller audits the act. havend itself never creates a key.
 */
#pragma once

#include "config.h"

G_BEGIN_DECLS

#define HV_PROVISION_ERROR (hv_provision_error_quark())
GQuark hv_provision_error_quark(void);
typedef enum {
  HV_PROVISION_ERROR_EXISTS,        /* a device key (or a state without one) is there: not overwritten */
  HV_PROVISION_ERROR_NO_DIRECTORY,  /* the key's directory does not exist: a typo in [device] key? */
  HV_PROVISION_ERROR_IO,
} HvProvisionError;

typedef struct {
  char *key_path;        /* the new secret key file */
  char *pub_path;        /* its public half, for the custodians */
  char *key_id;          /* the new key's id (haven status "device") */
  char *public_hex;      /* the new public key, hex */
  char *old_key_id;      /* the replaced key's id; NULL: nothing replaced, or it was unreadable */
  char *archived_key;    /* where the replaced key went; NULL: nothing replaced */
  char *archived_state;  /* where the replaced key's device state went; NULL: there was none */
  guint64 old_open_seq;  /* a session the replaced key's state had left open (unsealed), 0: none */
} HvProvisionResult;

void hv_provision_result_clear(HvProvisionResult *r);
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(HvProvisionResult, hv_provision_result_clear)

/* Create the device key at cfg->device_key_path and a fresh device state in
 * cfg->state_dir (created if missing; its lock is held meanwhile, so this
 * refuses while havend runs). Without replace, refuses EXISTS when a key,
 * its .pub or a device state is already there. With replace, first archives
 * them as KEY.replaced-YYYYMMDDTHHMMSSZ(.pub) and
 * device-state.replaced-YYYYMMDDTHHMMSSZ. On success ret is filled (the
 * caller clears it). */
gboolean hv_provision_init_device(const HvConfig *cfg, gboolean replace, HvProvisionResult *ret, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
