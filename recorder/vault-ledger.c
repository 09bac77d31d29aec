// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-vault"
#include "vault-ledger.h"
#include "vault-keys.h"

#include <string.h>

void
hv_ledger_device_free(HvLedgerDevice *d)
{
  if (!d)
    return;
  g_free(d->device_id);
  g_ptr_array_unref(d->problems);
  g_free(d);
}

static gint
by_seq(gconstpointer a, gconstpointer b)
{
  const HvVerdict *x = *(HvVerdict *const *) a, *y = *(HvVerdict *const *) b;
  return x->header.device_seq < y->header.device_seq ? -1 : x->header.device_seq > y->header.device_seq;
}

static void
check_device(HvLedgerDevice *d, GPtrArray *sessions)
{
  g_ptr_array_sort(sessions, by_seq);
  static const guint8 zero[HV_HASH_SIZE] = { 0 };
  HvVerdict *first = sessions->pdata[0];
  d->first_seq = first->header.device_seq;
  d->sessions = sessions->len;
  if (first->header.device_seq == 1 && memcmp(first->header.prev_seal_hash, zero, HV_HASH_SIZE) != 0)
    g_ptr_array_add(d->problems, g_strdup("sequence 1 claims a previous session"));
  d->verified_to = d->first_seq;
  for (guint i = 1; i < sessions->len; i++) {
    guint before = d->problems->len;
    HvVerdict *a = sessions->pdata[i - 1], *b = sessions->pdata[i];
    guint64 sa = a->header.device_seq, sb = b->header.device_seq;
    if (sa == sb)
      g_ptr_array_add(d->problems, g_strdup_printf("sequence %" G_GUINT64_FORMAT " appears twice "
                      "(%s and %s)", sa, a->dir, b->dir));
    else if (sb > sa + 1)
      g_ptr_array_add(d->problems, sb == sa + 2
                      ? g_strdup_printf("sequence %" G_GUINT64_FORMAT " is missing", sa + 1)
                      : g_strdup_printf("sequences %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                                        " are missing", sa + 1, sb - 1));
    else if (!a->have_seal)
      g_ptr_array_add(d->problems, g_strdup_printf("sequence %" G_GUINT64_FORMAT " has no valid seal, "
                      "so sequence %" G_GUINT64_FORMAT " cannot be linked to it", sa, sb));
    else if (memcmp(b->header.prev_seal_hash, a->seal_hash, HV_HASH_SIZE) != 0)
      g_ptr_array_add(d->problems, g_strdup_printf("sequence %" G_GUINT64_FORMAT " does not follow the "
                      "seal of sequence %" G_GUINT64_FORMAT " (a session was replaced or resealed)",
                      sb, sa));
    if (d->problems->len == before && d->verified_to == sa)
      d->verified_to = sb;
  }
  d->last_seq = ((HvVerdict *) sessions->pdata[sessions->len - 1])->header.device_seq;
}

GPtrArray *
hv_ledger_check(HvVerdict *const *verdicts, guint n)
{
  GPtrArray *devices = g_ptr_array_new_with_free_func((GDestroyNotify) hv_ledger_device_free);
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);

  for (guint i = 0; i < n; i++) {
    HvVerdict *v = verdicts[i];
    if (!v->have_header)
      continue;
    guint k;
    for (k = 0; k < devices->len; k++)
      if (memcmp(((HvLedgerDevice *) devices->pdata[k])->device_pk, v->header.device_pk,
                 HV_DEVICE_PK_SIZE) == 0)
        break;
    if (k == devices->len) {
      HvLedgerDevice *d = g_new0(HvLedgerDevice, 1);
      memcpy(d->device_pk, v->header.device_pk, HV_DEVICE_PK_SIZE);
      d->device_id = hv_key_id(v->header.device_pk, HV_DEVICE_PK_SIZE);
      d->problems = g_ptr_array_new_with_free_func(g_free);
      g_ptr_array_add(devices, d);
      g_ptr_array_add(groups, g_ptr_array_new());
    }
    g_ptr_array_add(groups->pdata[k], v);
  }
  for (guint k = 0; k < devices->len; k++)
    check_device(devices->pdata[k], groups->pdata[k]);
  return devices;
}
