/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-ledger: checks the device ledger across sessions. Each session
 * carries its device's sequence number and the hash of the previous
 * session's seal, so a session missing from the middle of a device's archive
 * is named by its sequence number. The newest sessions' removal cannot be
 * proven from files alone: the report says up to which sequence the archive
 * is verifiable.
 */
#pragma once

#include "vault-verify.h"

G_BEGIN_DECLS

typedef struct {
  guint8     device_pk[HV_DEVICE_PK_SIZE];
  char      *device_id;     /* short key id */
  guint64    first_seq;
  guint64    last_seq;      /* newest sequence present */
  guint64    verified_to;   /* the chain from first_seq is unbroken up to here */
  guint      sessions;
  GPtrArray *problems;      /* char*, empty when the ledger is whole */
} HvLedgerDevice;

void hv_ledger_device_free(HvLedgerDevice *d);

/* Group sessions (with a parsed header) by device and check each chain.
 * Returns HvLedgerDevice* elements, owned by the array. */
GPtrArray *hv_ledger_check(HvVerdict *const *verdicts, guint n);

G_END_DECLS
