/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-recover: seal a session that was left open by a crash or power cut.
 * Keeps the longest prefix that a signed checkpoint vouches for, drops the
 * torn tail and writes an INTERRUPTED seal signed by the device key. No
 * decryption key is involved. Idempotent: a sealed session is left alone, and
 * recovery interrupted at any point and run again gives the same seal content.
 */
#pragma once

#include "vault-keys.h"

G_BEGIN_DECLS

typedef struct {
  gboolean recovered;        /* FALSE: the session already had a seal */
  guint64  kept_records;
  guint64  dropped_bytes;    /* torn tail removed from the records file */
  guint8   seal_hash[HV_HASH_SIZE];
} HvRecoverResult;

gboolean hv_vault_recover(const char *dir, const HvDeviceKey *key, HvRecoverResult *ret_result,
                          GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
