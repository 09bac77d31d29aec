/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * storage: the session archive on the storage roots and the device's own
 * durable state. Names new session directories; keeps the device state
 * (state_dir/device-state: next sequence, newest seal, the one open session),
 * which alone decides the ledger position; cross-checks the storage against it
 * with signatures verified under the device key (disagreements are reported,
 * never adopted); seals only the session the state says is open; reports free
 * space.
 */
#pragma once

#include "vault-keys.h"

G_BEGIN_DECLS

#define HV_STORAGE_ERROR hv_storage_error_quark()
GQuark hv_storage_error_quark(void);

typedef enum {
  HV_STORAGE_ERROR_STATE_MISSING,  /* no state file */
  HV_STORAGE_ERROR_STATE_DAMAGED,  /* state file does not parse, or is another device's */
  HV_STORAGE_ERROR_STATE_LOST,     /* no usable state, but storage holds this device's signed sessions */
  HV_STORAGE_ERROR_STATE_EXISTS,   /* adopt refused: a valid state is present */
  HV_STORAGE_ERROR_IO,
} HvStorageError;

#define HV_DEVICE_STATE_FILE "device-state"

/* The device's durable ledger state. Invariants: next_seq ≥ 1,
 * sealed_seq < next_seq, open_seq < next_seq. */
typedef struct {
  guint8  device_pk[HV_DEVICE_PK_SIZE];
  guint64 next_seq;                    /* next sequence to allocate */
  guint64 sealed_seq;                  /* newest sequence this device sealed, 0: none */
  guint8  sealed_hash[HV_HASH_SIZE];   /* H(seal.hvs) of sealed_seq */
  guint64 open_seq;                    /* session whose header may exist unsealed, 0: none */
} HvDeviceState;

/* Read state_dir/device-state for this device. STATE_MISSING, STATE_DAMAGED. */
gboolean hv_storage_state_load(const char *state_dir, const guint8 *device_pk, HvDeviceState *ret_state,
                               GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Write it atomically and durably (temp, fsync, rename, fsync dir). */
gboolean hv_storage_state_save(const char *state_dir, const HvDeviceState *state, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* Load the state; on first boot (no state file and no session signed by this
 * device in storage) create and save a fresh one. STATE_LOST when the file is
 * missing or damaged while storage holds this device's signed sessions:
 * nothing is guessed, a technician decides (hv_storage_state_adopt). */
gboolean hv_storage_state_open(char *const *roots, const char *state_dir, const guint8 *device_pk,
                               HvDeviceState *ret_state, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Technician action: rebuild a missing or damaged state from the sessions
 * whose header (and seal) verify under the device key: next = newest signed
 * header + 1, sealed = newest verified seal, no open session. Refuses
 * (STATE_EXISTS) when a valid state is present. */
gboolean hv_storage_state_adopt(char *const *roots, const char *state_dir, const guint8 *device_pk,
                                HvDeviceState *ret_state, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Compare the storage with the state; returns the disagreements as text
 * (empty array: they agree). Headers claiming this device whose signature does
 * not verify, sequences the device never allocated, a newest seal that is not
 * the one the device wrote, unsealed sessions that are not the open one. */
GPtrArray *hv_storage_cross_check(char *const *roots, const HvDeviceState *state);

/* TRUE when a directory for sequence seq exists under any root. */
gboolean hv_storage_session_exists(char *const *roots, guint64 seq);

/* "S000042-20261128T151400Z" */
char *hv_storage_session_name(guint64 seq, gint64 wall_us);

typedef void (*HvRecoveredFunc)(const char *dir, guint64 seq, const char *fingerprint, guint64 kept,
                                const char *error, gpointer user_data);
/* Seal INTERRUPTED the copies of the one session the state says is open
 * (state->open_seq), then record the seal in the state and save it (the
 * session stays open in the state when a copy could not be sealed or none was
 * found: reported through cb, retried at the next start). Every
 * other unsealed session of this device is reported through cb as damaged and
 * left untouched; with state NULL (no usable state) every one is. Returns the
 * number of copies sealed. */
guint hv_storage_recover_open(char *const *roots, const HvDeviceKey *key, const char *state_dir,
                              HvDeviceState *state, HvRecoveredFunc cb, gpointer user_data);

/* Bytes available to an unprivileged writer on the root's filesystem. */
gboolean hv_storage_free_bytes(const char *root, guint64 *ret_bytes, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
