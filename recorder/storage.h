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

#include "vault/vault.h"

G_BEGIN_DECLS

#define HV_STORAGE_ERROR hv_storage_error_quark()
GQuark hv_storage_error_quark(void);

typedef enum {
  HV_STORAGE_ERROR_STATE_MISSING,  /* no state file */
  HV_STORAGE_ERROR_STATE_DAMAGED,  /* state file does not parse */
  HV_STORAGE_ERROR_STATE_LOST,     /* no usable state, but storage holds this device's signed sessions */
  HV_STORAGE_ERROR_STATE_EXISTS,   /* adopt refused: a valid state that is not behind storage is present */
  HV_STORAGE_ERROR_IO,
  HV_STORAGE_ERROR_STATE_FOREIGN,  /* state file parses but names another device key */
  HV_STORAGE_ERROR_STATE_BEHIND,   /* signed storage is ahead of the state (restored from an old backup) */
  HV_STORAGE_ERROR_LOCKED,         /* the state directory is held by a running havend */
  HV_STORAGE_ERROR_FOREIGN_ARCHIVE,/* adopt refused: no session of this key, only other devices' */
} HvStorageError;

#define HV_DEVICE_STATE_FILE "device-state"
#define HV_STATE_LOCK_FILE "havend.lock"

/* Take the exclusive lock of a state directory (flock on
 * state_dir/havend.lock, non-blocking): havend holds it for its whole life,
 * haven recover --state-dir while it works. Returns the fd holding the lock
 * (the caller owns it; closing it releases the lock) or -1: LOCKED when
 * another process holds it, IO otherwise. */
int hv_storage_lock_state_dir(const char *state_dir, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* The device's durable ledger state. Invariants: next_seq ≥ 1,
 * sealed_seq < next_seq, open_seq < next_seq. */
typedef struct {
  guint8  device_pk[HV_DEVICE_PK_SIZE];
  guint64 next_seq;                    /* next sequence to allocate */
  guint64 sealed_seq;                  /* newest sequence this device sealed, 0: none */
  guint8  sealed_hash[HV_HASH_SIZE];   /* H(seal.hvs) of sealed_seq */
  guint64 open_seq;                    /* session whose header may exist unsealed, 0: none */
} HvDeviceState;

/* Read state_dir/device-state for this device. STATE_MISSING, STATE_DAMAGED,
 * STATE_FOREIGN (it parses but names another device key). */
gboolean hv_storage_state_load(const char *state_dir, const guint8 *device_pk, HvDeviceState *ret_state,
                               GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Write it atomically and durably (temp, fsync, rename, fsync dir). */
gboolean hv_storage_state_save(const char *state_dir, const HvDeviceState *state, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* TRUE when the state is not behind signed storage. STATE_BEHIND when a
 * session whose header verifies under the device key has a sequence at or
 * above state->next_seq, or storage holds both the seal the state recorded
 * for state->sealed_seq and a verified seal of another session with that
 * sequence (it was used twice): the state was
 * restored from an old backup (or rolled back), and recording from it would
 * reuse a sequence. Forged headers (bad signature) never count. */
gboolean hv_storage_state_check(char *const *roots, const HvDeviceState *state, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* Load the state and check it (hv_storage_state_check); on first boot (a
 * device key created by this start, no state file and no session signed by
 * this device in storage) create and save a fresh one. STATE_LOST when the
 * file is missing, damaged or another key's while storage holds this device's
 * signed sessions, or missing while the key is not new (its sessions may have
 * left this storage: starting again at 1 would reuse their sequences);
 * STATE_BEHIND: nothing is guessed, a technician decides
 * (hv_storage_state_adopt). */
gboolean hv_storage_state_open(char *const *roots, const char *state_dir, const guint8 *device_pk,
                               gboolean key_is_new, HvDeviceState *ret_state, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* Technician action: rebuild a missing, damaged or stale state from the
 * sessions whose header (and seal) verify under the device key: next = newest
 * signed header + 1, sealed = newest verified seal, no open session. With
 * state_dir NULL only computes it. Refuses to replace a state file that parses:
 * STATE_FOREIGN when it names another key, STATE_EXISTS when it is this key's
 * and not behind signed storage (a state that is behind is replaced). Refuses
 * FOREIGN_ARCHIVE when the roots hold no session signed by this key but hold
 * other devices' sessions. On error nothing was changed. */
gboolean hv_storage_state_adopt(char *const *roots, const char *state_dir, const guint8 *device_pk,
                                HvDeviceState *ret_state, GError **error) G_GNUC_WARN_UNUSED_RESULT;

/* Compare the storage with the state; returns the disagreements as text
 * (empty array: they agree). Headers claiming this device whose signature does
 * not verify, sequences the device never allocated, a newest seal that is not
 * the one the device wrote, unsealed sessions that are not the open one. */
GPtrArray *hv_storage_cross_check(char *const *roots, const HvDeviceState *state);

/* What the roots hold, under the device key. */
typedef struct {
  guint64 n_signed;        /* sessions whose header verifies under the device key */
  guint64 n_other_device;  /* sessions whose header names another device */
  guint64 newest_seq;      /* newest signed sequence, 0: none */
  guint   seq_copies;      /* signed copies of the sequence asked about */
  guint   seq_sealed;      /* ... with a valid seal of this device */
  guint   seq_unsealed;    /* ... with no seal.hvs at all */
} HvStorageSummary;
void hv_storage_summarize(char *const *roots, const guint8 *device_pk, guint64 seq, HvStorageSummary *ret);

/* TRUE when dir holds session seq of this device with a header and a seal
 * that verify under device_pk: the seal's status and hash. */
gboolean hv_storage_session_seal(const char *dir, const guint8 *device_pk, guint64 seq, guint8 *ret_status,
                                 guint8 ret_hash[HV_HASH_SIZE]);

/* TRUE when a directory for sequence seq exists under any root. */
gboolean hv_storage_session_exists(char *const *roots, guint64 seq);
/* TRUE only when every root could be listed and none holds a directory for
 * sequence seq: what declaring seq "unrecorded" (FORMAT.md §8.5) needs. A
 * root that cannot be listed (absent, unreadable, EMFILE) may hold it:
 * FALSE, with a warning. */
gboolean hv_storage_session_absent(char *const *roots, guint64 seq);

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
