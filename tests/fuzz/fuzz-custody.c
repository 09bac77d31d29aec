// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the custody log verifier (tools/custody-log.c). The input
 * is "SESSION_ID_HEX\nSEAL_HASH_HEX\n" followed by the log, so seeds made from
 * a real session (make-corpus.py) reach the signature and chain checks. */
#include "custody-log.h"

#include <stdint.h>
#include <string.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static gboolean init;
  if (!init) {
    if (sodium_init() < 0)
      return 0;
    init = TRUE;
  }
  const char *p = (const char *) data;
  const char *nl1 = memchr(p, '\n', size);
  const char *nl2 = nl1 ? memchr(nl1 + 1, '\n', size - (size_t) (nl1 + 1 - p)) : NULL;
  if (!nl2)
    return 0;
  g_autofree char *sid = g_strndup(p, (gsize) (nl1 - p));
  g_autofree char *seal = g_strndup(nl1 + 1, (gsize) (nl2 - nl1 - 1));
  const char *log = nl2 + 1;
  gsize n = size - (gsize) (log - p);
  g_autoptr(GPtrArray) signers = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
  guint8 pk[HV_SIGNER_PK_SIZE] = { 0 };
  g_ptr_array_add(signers, g_bytes_new(pk, sizeof pk));
  g_autoptr(HvCustodyVerdict) v = hv_custody_verify_data("fuzz", log, n, sid, seal, NULL);
  g_autoptr(HvCustodyVerdict) w = hv_custody_verify_data("fuzz", log, n, sid, seal, signers);
  g_assert(v->intact || v->problem);
  g_assert(w->entries->len <= v->entries->len);
  return 0;
}
