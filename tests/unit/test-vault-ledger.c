// SPDX-License-Identifier: GPL-2.0-or-later
#include "vault-ledger.h"

#include <string.h>

/* Verdicts as the ledger sees them: header (device, sequence, previous seal) and seal hash. */
static HvVerdict *
fake(guint8 device, guint64 seq, guint8 prev, guint8 self)
{
  HvVerdict *v = g_new0(HvVerdict, 1);
  v->dir = g_strdup_printf("S%06" G_GUINT64_FORMAT, seq);
  v->have_header = v->have_seal = v->intact = TRUE;
  memset(v->header.device_pk, device, HV_DEVICE_PK_SIZE);
  v->header.device_seq = seq;
  if (seq > 1)
    memset(v->header.prev_seal_hash, prev, HV_HASH_SIZE);
  memset(v->seal_hash, self, HV_HASH_SIZE);
  return v;
}

/* Feed the verdicts through a ledger (which keeps its own small entries)
 * and free them, as the verifier does. */
static GPtrArray *
check_from(HvVerdict **v, guint n, guint64 expected_first)
{
  g_autoptr(HvLedger) l = hv_ledger_new(expected_first);
  for (guint i = 0; i < n; i++) {
    hv_ledger_add(l, v[i]);
    hv_verdict_free(v[i]);
  }
  return hv_ledger_check(l);
}

static GPtrArray *
check(HvVerdict **v, guint n)
{
  return check_from(v, n, 0);
}

static void
assert_missing(const HvLedgerDevice *d, guint i, guint64 from, guint64 to)
{
  g_assert_cmpuint(d->missing->len, >, i);
  const HvSeqRange *r = &g_array_index(d->missing, HvSeqRange, i);
  g_assert_cmpuint(r->from, ==, from);
  g_assert_cmpuint(r->to, ==, to);
}

static void
test_whole_chain_any_order(void)
{
  HvVerdict *v[] = { fake(1, 3, 12, 13), fake(1, 1, 0, 11), fake(1, 2, 11, 12) };
  g_autoptr(GPtrArray) d = check(v, 3);
  g_assert_cmpuint(d->len, ==, 1);
  HvLedgerDevice *dev = d->pdata[0];
  g_assert_cmpuint(dev->problems->len, ==, 0);
  g_assert_cmpuint(dev->missing->len, ==, 0);
  g_assert_cmpuint(dev->verified_to, ==, 3);
}

static void
test_gap_and_replacement(void)
{
  HvVerdict *v[] = { fake(1, 1, 0, 11), fake(1, 2, 99, 12), fake(1, 5, 14, 15) };
  g_autoptr(GPtrArray) d = check(v, 3);
  HvLedgerDevice *dev = d->pdata[0];
  g_assert_cmpuint(dev->problems->len, ==, 2);
  g_assert_nonnull(strstr(dev->problems->pdata[0], "sequence 2 does not follow the seal of sequence 1"));
  g_assert_cmpuint(dev->missing->len, ==, 1);
  assert_missing(dev, 0, 3, 4);
  g_assert_cmpuint(dev->verified_to, ==, 1);
  g_assert_cmpuint(dev->last_seq, ==, 5);
}

static void
test_devices_apart_and_duplicates(void)
{
  HvVerdict *v[] = { fake(1, 1, 0, 11), fake(2, 7, 0, 21), fake(1, 1, 0, 11) };
  g_autoptr(GPtrArray) d = check(v, 3);
  g_assert_cmpuint(d->len, ==, 2);
  HvLedgerDevice *a = d->pdata[0], *b = d->pdata[1];
  g_assert_cmpuint(a->problems->len, ==, 1);
  g_assert_nonnull(strstr(a->problems->pdata[0], "appears twice"));
  g_assert_cmpuint(a->missing->len, ==, 0);
  g_assert_cmpuint(b->problems->len, ==, 0);   /* starts at 7: older sessions simply not here */
  g_assert_cmpuint(b->first_seq, ==, 7);
  g_assert_cmpuint(a->verified_to, ==, 0);     /* two sessions claim 1: neither is the history */
  g_assert_cmpuint(b->verified_to, ==, 7);
}

/* Issue 8 item 5: a subset copy names exactly which sequences are missing. */
static void
test_subset_names_missing(void)
{
  HvVerdict *v[] = { fake(1, 1, 0, 11), fake(1, 3, 12, 13), fake(1, 9, 18, 19) };
  g_autoptr(GPtrArray) d = check(v, 3);
  HvLedgerDevice *dev = d->pdata[0];
  g_assert_cmpuint(dev->missing->len, ==, 2);
  assert_missing(dev, 0, 2, 2);
  assert_missing(dev, 1, 4, 8);
  g_autofree char *text = hv_seq_ranges_format(dev->missing);
  g_assert_cmpstr(text, ==, "2, 4-8");
  g_assert_cmpuint(dev->verified_to, ==, 1);
}

/* Issue 8 item 5: an archive without S000001 says where its history starts;
 * a custodian who expects sequence 1 gets the missing start. */
static void
test_expected_start(void)
{
  HvVerdict *v[] = { fake(1, 2, 11, 12), fake(1, 3, 12, 13) };
  g_autoptr(GPtrArray) d = check(v, 2);
  HvLedgerDevice *dev = d->pdata[0];
  g_assert_cmpuint(dev->first_seq, ==, 2);
  g_assert_cmpuint(dev->problems->len, ==, 0);
  g_assert_cmpuint(dev->verified_to, ==, 3);

  HvVerdict *w[] = { fake(1, 2, 11, 12), fake(1, 3, 12, 13) };
  g_autoptr(GPtrArray) e = check_from(w, 2, 1);
  dev = e->pdata[0];
  g_assert_cmpuint(dev->problems->len, ==, 1);
  assert_missing(dev, 0, 1, 1);
  g_assert_cmpuint(dev->verified_to, ==, 0);

  HvVerdict *x[] = { fake(1, 1, 0, 11), fake(1, 2, 11, 12) };
  g_autoptr(GPtrArray) f = check_from(x, 2, 1);
  dev = f->pdata[0];
  g_assert_cmpuint(dev->problems->len, ==, 0);
  g_assert_cmpuint(dev->verified_to, ==, 2);
}

/* FORMAT.md §8.5: sequence 1 with a non-zero prev_seal_hash breaks the ledger. */
static void
test_first_claims_previous(void)
{
  HvVerdict *v[] = { fake(1, 1, 0, 11), fake(1, 2, 11, 12) };
  memset(v[0]->header.prev_seal_hash, 7, HV_HASH_SIZE);
  g_autoptr(GPtrArray) d = check(v, 2);
  HvLedgerDevice *dev = d->pdata[0];
  g_assert_cmpuint(dev->problems->len, ==, 1);
  g_assert_cmpuint(dev->missing->len, ==, 0);
  g_assert_cmpuint(dev->verified_to, ==, 0);
}

/* FORMAT.md §8.5: an INVALID session with a good header counts (its sequence
 * is present); without a valid seal the next one cannot be linked to it; a
 * session without a valid header does not count. */
static void
test_invalid_sessions(void)
{
  HvVerdict *v[] = { fake(1, 1, 0, 11), fake(1, 2, 11, 12), fake(1, 3, 12, 13), fake(1, 4, 13, 14) };
  v[1]->intact = FALSE;
  v[1]->have_seal = FALSE;
  v[3]->have_header = FALSE;
  g_autoptr(GPtrArray) d = check(v, 4);
  HvLedgerDevice *dev = d->pdata[0];
  g_assert_cmpuint(dev->sessions, ==, 3);
  g_assert_cmpuint(dev->missing->len, ==, 0);
  g_assert_cmpuint(dev->problems->len, ==, 1);
  g_assert_nonnull(strstr(dev->problems->pdata[0], "no valid seal"));
  g_assert_cmpuint(dev->verified_to, ==, 1);   /* sequence 2 is INVALID: verifiable ends before it */
  g_assert_cmpuint(dev->last_seq, ==, 3);
}


/* A session's signed start event may declare sequences that were allocated
 * but never recorded (FORMAT.md §8.5). */
static void
declare(HvVerdict *v, const char *start_text)
{
  v->unrecorded = hv_ledger_parse_unrecorded(start_text);
  g_assert_nonnull(v->unrecorded);
}

static void
test_unrecorded_parse(void)
{
  g_autoptr(GArray) a = hv_ledger_parse_unrecorded("unrecorded sequences 5, 7-9: sources: x; recording started");
  g_assert_nonnull(a);
  g_assert_cmpuint(a->len, ==, 2);
  g_assert_cmpuint(g_array_index(a, HvSeqRange, 1).from, ==, 7);
  g_assert_cmpuint(g_array_index(a, HvSeqRange, 1).to, ==, 9);
  g_assert_null(hv_ledger_parse_unrecorded("recording started"));
  /* only at the beginning: free text later (a room name) declares nothing */
  g_assert_null(hv_ledger_parse_unrecorded("recording started in room 'unrecorded sequences 3: x'"));
  g_autoptr(GArray) b = hv_ledger_parse_unrecorded("unrecorded sequences 2: y; recording started in room "
                                                   "'unrecorded sequences 3: x'");
  g_assert_nonnull(b);
  g_assert_cmpuint(b->len, ==, 1);
  g_assert_cmpuint(g_array_index(b, HvSeqRange, 0).from, ==, 2);
  g_assert_null(hv_ledger_parse_unrecorded("unrecorded sequences 5"));          /* no ':' */
  g_assert_null(hv_ledger_parse_unrecorded("unrecorded sequences 7, 5: x"));    /* not ascending */
  g_assert_null(hv_ledger_parse_unrecorded("unrecorded sequences 5, 6: x"));    /* not as written */
  g_assert_null(hv_ledger_parse_unrecorded("unrecorded sequences 9-7: x"));
  g_assert_null(hv_ledger_parse_unrecorded("unrecorded sequences 0: x"));
  g_assert_null(hv_ledger_parse_unrecorded("unrecorded sequences x: x"));
}

static void
test_unrecorded_declared(void)
{
  /* 3 never got a header; 4 declares it and links to the seal of 2 */
  HvVerdict *v[] = { fake(1, 1, 0, 11), fake(1, 2, 11, 12), fake(1, 4, 12, 14) };
  declare(v[2], "unrecorded sequences 3: sources: camera 1 missing; recording started");
  g_autoptr(GPtrArray) d = check(v, 3);
  HvLedgerDevice *dev = d->pdata[0];
  g_assert_cmpuint(dev->problems->len, ==, 0);
  g_assert_cmpuint(dev->missing->len, ==, 0);
  g_assert_cmpuint(dev->unrecorded->len, ==, 1);
  g_assert_cmpuint(dev->verified_to, ==, 4);

  /* before the first session, against --from-sequence 1 */
  HvVerdict *w[] = { fake(1, 2, 0, 12) };
  memset(w[0]->header.prev_seal_hash, 0, HV_HASH_SIZE);
  declare(w[0], "unrecorded sequences 1: x");
  g_autoptr(GPtrArray) e = check_from(w, 1, 1);
  dev = e->pdata[0];
  g_assert_cmpuint(dev->problems->len, ==, 0);
  g_assert_cmpuint(dev->verified_to, ==, 2);
}

static void
test_unrecorded_undeclared_or_wrong(void)
{
  /* no declaration: missing, BROKEN */
  HvVerdict *a[] = { fake(1, 1, 0, 11), fake(1, 2, 11, 12), fake(1, 4, 12, 14) };
  g_autoptr(GPtrArray) da = check(a, 3);
  assert_missing(da->pdata[0], 0, 3, 3);
  g_assert_cmpuint(((HvLedgerDevice *) da->pdata[0])->verified_to, ==, 2);

  /* declares only part of the gap */
  HvVerdict *b[] = { fake(1, 1, 0, 11), fake(1, 4, 11, 14) };
  declare(b[1], "unrecorded sequences 3: x");
  g_autoptr(GPtrArray) db = check(b, 2);
  assert_missing(db->pdata[0], 0, 2, 3);

  /* declared, but linked to another seal than the one before the gap (the
   * sessions between were removed and the declaration is not theirs) */
  HvVerdict *c[] = { fake(1, 1, 0, 11), fake(1, 4, 99, 14) };
  declare(c[1], "unrecorded sequences 2-3: x");
  g_autoptr(GPtrArray) dc = check(c, 2);
  assert_missing(dc->pdata[0], 0, 2, 3);

  /* a session that is not intact declares nothing */
  HvVerdict *e[] = { fake(1, 1, 0, 11), fake(1, 3, 11, 13) };
  declare(e[1], "unrecorded sequences 2: x");
  e[1]->intact = FALSE;
  g_autoptr(GPtrArray) de = check(e, 2);
  assert_missing(de->pdata[0], 0, 2, 2);

  /* a declaration contradicted by a session present at that sequence */
  HvVerdict *f[] = { fake(1, 1, 0, 11), fake(1, 2, 11, 12), fake(1, 3, 12, 13) };
  declare(f[2], "unrecorded sequences 2: x");
  g_autoptr(GPtrArray) df = check(f, 3);
  g_assert_cmpuint(((HvLedgerDevice *) df->pdata[0])->problems->len, ==, 1);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/vault-ledger/whole-chain", test_whole_chain_any_order);
  g_test_add_func("/vault-ledger/gap-and-replacement", test_gap_and_replacement);
  g_test_add_func("/vault-ledger/devices-and-duplicates", test_devices_apart_and_duplicates);
  g_test_add_func("/vault-ledger/subset-names-missing", test_subset_names_missing);
  g_test_add_func("/vault-ledger/expected-start", test_expected_start);
  g_test_add_func("/vault-ledger/first-claims-previous", test_first_claims_previous);
  g_test_add_func("/vault-ledger/invalid-sessions", test_invalid_sessions);
  g_test_add_func("/ledger/unrecorded/parse", test_unrecorded_parse);
  g_test_add_func("/ledger/unrecorded/declared", test_unrecorded_declared);
  g_test_add_func("/ledger/unrecorded/undeclared-or-wrong", test_unrecorded_undeclared_or_wrong);
  return g_test_run();
}
