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

static GPtrArray *
check(HvVerdict **v, guint n)
{
  return hv_ledger_check(v, n);
}

static void
test_whole_chain_any_order(void)
{
  HvVerdict *v[] = { fake(1, 3, 12, 13), fake(1, 1, 0, 11), fake(1, 2, 11, 12) };
  g_autoptr(GPtrArray) d = check(v, 3);
  g_assert_cmpuint(d->len, ==, 1);
  HvLedgerDevice *dev = d->pdata[0];
  g_assert_cmpuint(dev->problems->len, ==, 0);
  g_assert_cmpuint(dev->verified_to, ==, 3);
  for (guint i = 0; i < 3; i++)
    hv_verdict_free(v[i]);
}

static void
test_gap_and_replacement(void)
{
  HvVerdict *v[] = { fake(1, 1, 0, 11), fake(1, 2, 99, 12), fake(1, 5, 14, 15) };
  g_autoptr(GPtrArray) d = check(v, 3);
  HvLedgerDevice *dev = d->pdata[0];
  g_assert_cmpuint(dev->problems->len, ==, 2);
  g_assert_nonnull(strstr(dev->problems->pdata[0], "sequence 2 does not follow the seal of sequence 1"));
  g_assert_nonnull(strstr(dev->problems->pdata[1], "sequences 3 to 4 are missing"));
  g_assert_cmpuint(dev->verified_to, ==, 1);
  g_assert_cmpuint(dev->last_seq, ==, 5);
  for (guint i = 0; i < 3; i++)
    hv_verdict_free(v[i]);
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
  g_assert_cmpuint(b->problems->len, ==, 0);   /* starts at 7: older sessions simply not here */
  g_assert_cmpuint(b->first_seq, ==, 7);
  for (guint i = 0; i < 3; i++)
    hv_verdict_free(v[i]);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add_func("/vault-ledger/whole-chain", test_whole_chain_any_order);
  g_test_add_func("/vault-ledger/gap-and-replacement", test_gap_and_replacement);
  g_test_add_func("/vault-ledger/devices-and-duplicates", test_devices_apart_and_duplicates);
  return g_test_run();
}
