// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: the decoders of every fixed vault structure. */
#include "vault/vault.h"

#include <stdint.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static gboolean init;
  if (!init) {
    if (sodium_init() < 0)
      return 0;
    init = TRUE;
  }
  HvHeader h = { 0 };
  HvSeal s;
  HvCheckpoint cp;
  HvRecordHeader rh;
  GError *err = NULL;
  if (hv_header_decode(data, size, &h, &err))
    (void) hv_header_verify_signature(data, size, h.device_pk);
  g_clear_error(&err);
  if (hv_seal_decode(data, size, &s, &err))
    (void) hv_seal_verify_signature(data, size, h.device_pk);
  g_clear_error(&err);
  if (size >= HV_CHECKPOINT_SIZE && hv_checkpoint_decode(data, &cp, &err))
    (void) hv_checkpoint_verify_signature(data, data, cp.head);
  g_clear_error(&err);
  if (size >= HV_RECORD_HEADER_SIZE && !hv_record_header_decode(data, &rh, &err))
    g_clear_error(&err);
  return 0;
}
