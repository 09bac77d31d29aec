/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage: the session archive on the storage roots. Names new session
 * directories, finds the device's ledger position (sequence and previous seal
 * hash) from the sealed sessions themselves with a state file as a floor, seals
 * what a crash left open, and reports free space.
 */
#pragma once

#include "vault-keys.h"

G_BEGIN_DECLS

typedef struct {
  guint64 seq;                        /* last sealed sequence of this device, 0: none */
  guint8  seal_hash[HV_HASH_SIZE];    /* its seal hash */
} HvLedgerPosition;

/* Scan the roots for this device's sessions; combine with the state file
 * (state_dir/ledger, may be NULL). */
gboolean hv_storage_ledger_position(char *const *roots, const char *state_dir, const guint8 *device_pk,
                                    HvLedgerPosition *ret_pos, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Persist the position after a seal (atomic). */
gboolean hv_storage_ledger_save(const char *state_dir, const HvLedgerPosition *pos, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* "S000042-20261128T151400Z" */
char *hv_storage_session_name(guint64 seq, gint64 wall_us);

typedef void (*HvRecoveredFunc)(const char *dir, guint64 seq, const char *fingerprint, guint64 kept,
                                const char *error, gpointer user_data);
/* Seal every unsealed session of this device under the roots INTERRUPTED.
 * Returns the number recovered. */
guint hv_storage_recover_all(char *const *roots, const HvDeviceKey *key, HvRecoveredFunc cb,
                             gpointer user_data);

/* Bytes available to an unprivileged writer on the root's filesystem. */
gboolean hv_storage_free_bytes(const char *root, guint64 *ret_bytes, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
