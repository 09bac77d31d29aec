/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-recover: seal a session that was left open by a crash or power cut.
 * Keeps the longest prefix that a signed checkpoint vouches for, drops the
 * torn tail and writes an INTERRUPTED seal signed by the device key. No
 * decryption key is involved.
 *
 * It never deletes bytes that a signed checkpoint vouches for: when the files
 * cannot be checked (no index, a seal of any kind already present, records
 * that disagree with a signed checkpoint) it changes nothing and fails.
 * Deterministic: every seal field comes from the files, so recovery
 * interrupted at any point, or run on an identical copy, gives the same seal.
 *
 * It does not know whether the device already sealed this session: callers
 * decide that from the device state (storage.h) before calling. It never
 * touches a session being recorded: the vault writer holds an exclusive flock
 * on records.hvr for the whole session, and recovery takes the same lock
 * (non-blocking) before changing anything, failing with _LOCKED if it is held.
 */
#pragma once

#include "vault-keys.h"

G_BEGIN_DECLS

#define HV_RECOVER_ERROR hv_recover_error_quark()
GQuark hv_recover_error_quark(void);

typedef enum {
  HV_RECOVER_ERROR_SEAL_PRESENT,  /* a seal.hvs exists but is not this session's valid seal */
  HV_RECOVER_ERROR_UNVERIFIABLE,  /* index or records missing or not regular files */
  HV_RECOVER_ERROR_DAMAGED,       /* records disagree with a signed checkpoint */
  HV_RECOVER_ERROR_IO,            /* truncating or writing failed */
  HV_RECOVER_ERROR_LOCKED,        /* records.hvr is locked: a running havend is recording it */
} HvRecoverError;

typedef struct {
  gboolean recovered;        /* FALSE: the session already had a valid seal */
  guint64  device_seq;
  guint64  kept_records;
  guint64  dropped_bytes;    /* torn tail removed from the records file */
  guint8   seal_hash[HV_HASH_SIZE];
} HvRecoverResult;

/* Header problems keep their HV_VAULT_ERROR code (e.g. _SIGNATURE for another
 * device's session); the rest are HV_RECOVER_ERROR. On any error nothing in
 * dir was changed. */
gboolean hv_vault_recover(const char *dir, const HvDeviceKey *key, HvRecoverResult *ret_result,
                          GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
