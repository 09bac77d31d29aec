// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the whole-directory verifier and the device ledger.
 *
 * An input is up to FUZZ_SESSIONS_MAX sessions, each a 16-byte prefix of four
 * little-endian u32 sizes (header.hvh, seal.hvs, index.hvi, records.hvr)
 * followed by those files' bytes; sizes are clamped to what is left. Each
 * session is written as a temporary session directory (a size of 0xffffffff
 * leaves the file out), verified with hv_vault_verify, and all verdicts go
 * through the ledger (hv_ledger_add, hv_ledger_check). tests/fuzz/make-corpus.py
 * packs real sessions. */
#include "fuzz-common.h"
#include "vault/vault.h"

#define FUZZ_SESSIONS_MAX 3

static const char *const files[4] = { HV_FILE_HEADER, HV_FILE_SEAL, HV_FILE_INDEX, HV_FILE_RECORDS };

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static gboolean init;
  if (!init) {
    if (sodium_init() < 0)
      return 0;
    init = TRUE;
  }
  HvVerdict *verdicts[FUZZ_SESSIONS_MAX];
  guint n = 0;
  while (n < FUZZ_SESSIONS_MAX && size >= 16) {
    guint32 len[4];
    for (guint i = 0; i < 4; i++)
      len[i] = hv_get_u32(data + 4 * i);
    data += 16;
    size -= 16;
    g_autofree char *name = g_strdup_printf("S%u", n);
    g_autofree char *dir = g_build_filename(fuzz_scratch_dir(), name, NULL);
    if (g_mkdir_with_parents(dir, 0700) < 0)
      abort();
    for (guint i = 0; i < 4; i++) {
      g_autofree char *path = g_build_filename(dir, files[i], NULL);
      g_unlink(path);
      if (len[i] == G_MAXUINT32)
        continue;
      size_t take = MIN((size_t) len[i], size);
      fuzz_write_file(path, data, take);
      data += take;
      size -= take;
    }
    GError *err = NULL;
    verdicts[n] = hv_vault_verify(dir, NULL, &err);
    if (!verdicts[n]) {
      g_clear_error(&err);
      break;
    }
    n++;
  }
  if (n > 0) {
    /* the ledger as haven verify builds it: one small entry per verdict;
     * with several sessions also with --from-sequence 1 */
    HvLedger *ledger = hv_ledger_new(n > 1 ? 1 : 0);
    for (guint i = 0; i < n; i++)
      hv_ledger_add(ledger, verdicts[i]);
    GPtrArray *devices = hv_ledger_check(ledger);
    g_ptr_array_unref(devices);
    hv_ledger_free(ledger);
  }
  for (guint i = 0; i < n; i++)
    hv_verdict_free(verdicts[i]);
  return 0;
}
