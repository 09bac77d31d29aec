/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * vault-ledger: checks the device ledger across sessions (FORMAT.md §8.5).
 * Each session carries its device's sequence number and the hash of the
 * previous session's seal, so a session missing from the middle of a
 * device's archive is named by its sequence number. Where the history
 * starts, and the removal of the newest sessions, cannot be proven from
 * files alone: the report says where the verifiable history starts, up to
 * which sequence it is verifiable, and a custodian may state the sequence
 * the archive must start at.
 *
 * The ledger keeps a small fixed-size entry per session (device key,
 * sequence, previous and own seal hash, path), never a verdict, so a
 * verifier streams the sessions through it.
 */
#pragma once

#include "vault-verify.h"

G_BEGIN_DECLS

/* An inclusive range of missing sequence numbers. */
typedef struct {
  guint64 from, to;
} HvSeqRange;

typedef struct {
  guint8     device_pk[HV_DEVICE_PK_SIZE];
  char      *device_id;     /* short key id */
  guint64    first_seq;     /* oldest sequence present: where the verifiable history starts */
  guint64    last_seq;      /* newest sequence present */
  guint64    verified_to;   /* the chain from first_seq is unbroken up to here */
  guint      sessions;      /* sessions present (duplicates included) */
  GArray    *missing;       /* HvSeqRange, ascending: sequences absent between the expected
                             * start (or first_seq) and last_seq */
  GPtrArray *problems;      /* char*, every ledger problem (missing ranges included); empty
                             * when the ledger is whole */
  GArray    *unrecorded;    /* HvSeqRange, ascending: gaps a later session of this device
                             * declared (signed) as allocated but never recorded; not missing */
} HvLedgerDevice;

void hv_ledger_device_free(HvLedgerDevice *d);

/* A session's first start event may declare sequences its device allocated
 * but never recorded (a start that failed before any session directory
 * existed), FORMAT.md §8.5: its text begins with this prefix, the ranges as
 * hv_seq_ranges_format() writes them ("5", "5-6, 9"), then ':' and the
 * reason. */
#define HV_LEDGER_UNRECORDED_PREFIX "unrecorded sequences "
/* The ranges declared in a start event's text (HvSeqRange, ascending, not
 * overlapping), or NULL when it declares none or the declaration does not
 * parse exactly. */
GArray *hv_ledger_parse_unrecorded(const char *text);

typedef struct _HvLedger HvLedger;

/* expected_first_seq: the sequence the custodian expects each device's
 * archive to start at (0: not stated; the history starts wherever the
 * oldest session present starts). */
HvLedger *hv_ledger_new(guint64 expected_first_seq);
void      hv_ledger_free(HvLedger *l);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvLedger, hv_ledger_free)

/* Note one verified session. Sessions without a valid header (signature
 * checked) are ignored: their sequence cannot be trusted. */
void hv_ledger_add(HvLedger *l, const HvVerdict *v);

/* Group the sessions by device and check each chain. Returns
 * HvLedgerDevice* elements in order of first appearance, owned by the
 * returned array. */
GPtrArray *hv_ledger_check(HvLedger *l);

/* "2", "2-5", "2, 7-9" (newly allocated). */
char *hv_seq_ranges_format(const GArray *ranges);

G_END_DECLS
