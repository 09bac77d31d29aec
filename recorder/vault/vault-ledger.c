// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-vault"
#include "vault-ledger.h"
#include "vault-keys.h"

#include <string.h>

typedef struct {
  guint8   device_pk[HV_DEVICE_PK_SIZE];
  guint64  seq;
  guint8   prev_seal_hash[HV_HASH_SIZE];
  gboolean have_seal;
  gboolean intact;
  guint8   seal_hash[HV_HASH_SIZE];
  char    *dir;
  GArray  *unrecorded;  /* HvSeqRange declared by this session, only when it is intact */
} Entry;

struct _HvLedger {
  guint64 expected_first_seq;
  GArray *entries;  /* Entry */
};

static void
entry_clear(gpointer p)
{
  Entry *e = p;
  g_free(e->dir);
  if (e->unrecorded)
    g_array_unref(e->unrecorded);
}

HvLedger *
hv_ledger_new(guint64 expected_first_seq)
{
  HvLedger *l = g_new0(HvLedger, 1);
  l->expected_first_seq = expected_first_seq;
  l->entries = g_array_new(FALSE, TRUE, sizeof(Entry));
  g_array_set_clear_func(l->entries, entry_clear);
  return l;
}

void
hv_ledger_free(HvLedger *l)
{
  if (!l)
    return;
  g_array_unref(l->entries);
  g_free(l);
}

void
hv_ledger_add(HvLedger *l, const HvVerdict *v)
{
  if (!v->have_header)
    return;
  Entry e = { .seq = v->header.device_seq, .have_seal = v->have_seal, .intact = v->intact,
              .dir = g_strdup(v->dir) };
  memcpy(e.device_pk, v->header.device_pk, HV_DEVICE_PK_SIZE);
  memcpy(e.prev_seal_hash, v->header.prev_seal_hash, HV_HASH_SIZE);
  if (v->have_seal)
    memcpy(e.seal_hash, v->seal_hash, HV_HASH_SIZE);
  /* only a session whose every record the seal vouches for may declare */
  if (v->intact && v->unrecorded)
    e.unrecorded = g_array_ref(v->unrecorded);
  g_array_append_val(l->entries, e);
}

void
hv_ledger_device_free(HvLedgerDevice *d)
{
  if (!d)
    return;
  g_free(d->device_id);
  g_array_unref(d->missing);
  g_array_unref(d->unrecorded);
  g_ptr_array_unref(d->problems);
  g_free(d);
}

char *
hv_seq_ranges_format(const GArray *ranges)
{
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < ranges->len; i++) {
    const HvSeqRange *r = &g_array_index(ranges, HvSeqRange, i);
    if (i)
      g_string_append(s, ", ");
    if (r->from == r->to)
      g_string_append_printf(s, "%" G_GUINT64_FORMAT, r->from);
    else
      g_string_append_printf(s, "%" G_GUINT64_FORMAT "-%" G_GUINT64_FORMAT, r->from, r->to);
  }
  return g_string_free(s, FALSE);
}

GArray *
hv_ledger_parse_unrecorded(const char *text)
{
  /* only at the very beginning: the rest of the text carries free text
   * (the room name) that must neither declare nor hide a declaration */
  if (!text || !g_str_has_prefix(text, HV_LEDGER_UNRECORDED_PREFIX))
    return NULL;
  const char *p = text + strlen(HV_LEDGER_UNRECORDED_PREFIX);
  const char *colon = strchr(p, ':');
  if (!colon)
    return NULL;
  g_autofree char *list = g_strndup(p, (gsize) (colon - p));
  g_auto(GStrv) parts = g_strsplit(list, ", ", -1);
  g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(HvSeqRange));
  for (guint i = 0; parts[i]; i++) {
    g_auto(GStrv) ft = g_strsplit(parts[i], "-", 3);
    HvSeqRange r;
    guint n = g_strv_length(ft);
    if (n < 1 || n > 2 || !g_ascii_string_to_unsigned(ft[0], 10, 1, G_MAXUINT64, &r.from, NULL) ||
        (n == 2 && !g_ascii_string_to_unsigned(ft[1], 10, 1, G_MAXUINT64, &r.to, NULL)))
      return NULL;
    if (n == 1)
      r.to = r.from;
    /* ascending, not overlapping or touching: as hv_seq_ranges_format writes them */
    if (r.to < r.from || (ranges->len && r.from <= g_array_index(ranges, HvSeqRange, ranges->len - 1).to + 1))
      return NULL;
    g_array_append_val(ranges, r);
  }
  return ranges->len ? g_steal_pointer(&ranges) : NULL;
}

/* Whether e declares every sequence from..to unrecorded. */
static gboolean
declares(const Entry *e, guint64 from, guint64 to)
{
  for (guint i = 0; e->unrecorded && i < e->unrecorded->len; i++) {
    const HvSeqRange *r = &g_array_index(e->unrecorded, HvSeqRange, i);
    if (r->from <= from && to <= r->to)
      return TRUE;
  }
  return FALSE;
}

static void
add_unrecorded(HvLedgerDevice *d, guint64 from, guint64 to)
{
  HvSeqRange r = { from, to };
  g_array_append_val(d->unrecorded, r);
}

static gint
by_seq(gconstpointer a, gconstpointer b)
{
  const Entry *x = *(Entry *const *) a, *y = *(Entry *const *) b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void
add_missing(HvLedgerDevice *d, guint64 from, guint64 to)
{
  HvSeqRange r = { from, to };
  g_array_append_val(d->missing, r);
  g_ptr_array_add(d->problems, from == to
                  ? g_strdup_printf("sequence %" G_GUINT64_FORMAT " is missing", from)
                  : g_strdup_printf("sequences %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT
                                    " are missing", from, to));
}

static void
check_device(HvLedgerDevice *d, GPtrArray *sessions, guint64 expected_first)
{
  g_ptr_array_sort(sessions, by_seq);
  static const guint8 zero[HV_HASH_SIZE] = { 0 };
  const Entry *first = sessions->pdata[0];
  d->first_seq = first->seq;
  d->sessions = sessions->len;
  /* A gap is not missing when the session after it declares every sequence
   * of it unrecorded and links to the seal before it (the first session:
   * claims no predecessor). */
  if (expected_first && first->seq > expected_first) {
    if (declares(first, expected_first, first->seq - 1) && memcmp(first->prev_seal_hash, zero, HV_HASH_SIZE) == 0)
      add_unrecorded(d, expected_first, first->seq - 1);
    else
      add_missing(d, expected_first, first->seq - 1);
  }
  /* a declaration contradicted by a session present at that sequence */
  for (guint i = 0; i < sessions->len; i++) {
    const Entry *e = sessions->pdata[i];
    for (guint k = 0; k < sessions->len; k++) {
      const Entry *o = sessions->pdata[k];
      if (k != i && o->seq < e->seq && declares(e, o->seq, o->seq))
        g_ptr_array_add(d->problems, g_strdup_printf("sequence %" G_GUINT64_FORMAT " declares sequence %"
                        G_GUINT64_FORMAT " was never recorded, but it is present (%s)", e->seq, o->seq, o->dir));
    }
  }
  if (first->seq == 1 && memcmp(first->prev_seal_hash, zero, HV_HASH_SIZE) != 0)
    g_ptr_array_add(d->problems, g_strdup("sequence 1 claims a previous session (its previous "
                                          "seal hash is not zero)"));
  /* "verifiable up to N" (FORMAT.md §8.5): every session from first_seq to N
   * is present once, intact and linked; an INVALID one ends it before itself. */
  gboolean stop = d->problems->len > 0 || !first->intact;
  d->verified_to = stop ? 0 : d->first_seq;
  for (guint i = 1; i < sessions->len; i++) {
    guint before = d->problems->len;
    const Entry *a = sessions->pdata[i - 1], *b = sessions->pdata[i];
    if (a->seq == b->seq)
      g_ptr_array_add(d->problems, g_strdup_printf("sequence %" G_GUINT64_FORMAT " appears twice "
                      "(%s and %s)", a->seq, a->dir, b->dir));
    else if (b->seq > a->seq + 1 && declares(b, a->seq + 1, b->seq - 1) && a->have_seal &&
             memcmp(b->prev_seal_hash, a->seal_hash, HV_HASH_SIZE) == 0)
      add_unrecorded(d, a->seq + 1, b->seq - 1);
    else if (b->seq > a->seq + 1)
      add_missing(d, a->seq + 1, b->seq - 1);
    else if (!a->have_seal)
      g_ptr_array_add(d->problems, g_strdup_printf("sequence %" G_GUINT64_FORMAT " has no valid seal, "
                      "so sequence %" G_GUINT64_FORMAT " cannot be linked to it", a->seq, b->seq));
    else if (memcmp(b->prev_seal_hash, a->seal_hash, HV_HASH_SIZE) != 0)
      g_ptr_array_add(d->problems, g_strdup_printf("sequence %" G_GUINT64_FORMAT " does not follow the "
                      "seal of sequence %" G_GUINT64_FORMAT " (a session was replaced or resealed)",
                      b->seq, a->seq));
    if (a->seq == b->seq && d->verified_to >= a->seq)
      d->verified_to = a->seq - 1;  /* two sessions claim it: neither is the history */
    stop |= d->problems->len > before || !b->intact;
    if (!stop && d->verified_to == a->seq)
      d->verified_to = b->seq;
  }
  d->last_seq = ((const Entry *) sessions->pdata[sessions->len - 1])->seq;
}

GPtrArray *
hv_ledger_check(HvLedger *l)
{
  GPtrArray *devices = g_ptr_array_new_with_free_func((GDestroyNotify) hv_ledger_device_free);
  g_autoptr(GPtrArray) groups = g_ptr_array_new_with_free_func((GDestroyNotify) g_ptr_array_unref);

  for (guint i = 0; i < l->entries->len; i++) {
    Entry *e = &g_array_index(l->entries, Entry, i);
    guint k;
    for (k = 0; k < devices->len; k++)
      if (memcmp(((HvLedgerDevice *) devices->pdata[k])->device_pk, e->device_pk, HV_DEVICE_PK_SIZE) == 0)
        break;
    if (k == devices->len) {
      HvLedgerDevice *d = g_new0(HvLedgerDevice, 1);
      memcpy(d->device_pk, e->device_pk, HV_DEVICE_PK_SIZE);
      d->device_id = hv_key_id(e->device_pk, HV_DEVICE_PK_SIZE);
      d->missing = g_array_new(FALSE, FALSE, sizeof(HvSeqRange));
      d->unrecorded = g_array_new(FALSE, FALSE, sizeof(HvSeqRange));
      d->problems = g_ptr_array_new_with_free_func(g_free);
      g_ptr_array_add(devices, d);
      g_ptr_array_add(groups, g_ptr_array_new());
    }
    g_ptr_array_add(groups->pdata[k], e);
  }
  for (guint k = 0; k < devices->len; k++)
    check_device(devices->pdata[k], groups->pdata[k], l->expected_first_seq);
  return devices;
}
