// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: what havend reads from a capture process (and the
 * capture process from havend): frames (recorder/capture-proto.c), then the
 * members the supervisor and haven-capture take out of each message,
 * including a whole recorder configuration. */
#include "capture-proto.h"

#include <stdint.h>
#include <stdlib.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  HvCaptureReader *r = hv_capture_reader_new();
  /* in two pieces, as reads split them */
  hv_capture_reader_push(r, data, size / 2);
  hv_capture_reader_push(r, data + size / 2, size - size / 2);
  for (;;) {
    GVariant *msg = NULL;
    GError *err = NULL;
    if (!hv_capture_reader_next(r, &msg, &err)) {
      if (!err || err->domain != HV_CAPTURE_PROTO_ERROR)
        abort();
      g_error_free(err);
      break;
    }
    if (!msg)
      break;
    (void) hv_capture_msg_type(msg);
    GVariant *cfgv = g_variant_lookup_value(msg, "config", G_VARIANT_TYPE_VARDICT);
    if (cfgv) {
      HvRecorderConfig cfg;
      if (!hv_capture_config_from_variant(cfgv, &cfg, &err))
        g_clear_error(&err);
      hv_recorder_config_clear(&cfg);
      g_variant_unref(cfgv);
    }
    guint64 t;
    const char *s;
    (void) g_variant_lookup(msg, "seq", "t", &t);
    (void) g_variant_lookup(msg, "why", "&s", &s);
    GVariant *dirs = g_variant_lookup_value(msg, "dirs", G_VARIANT_TYPE_STRING_ARRAY);
    if (dirs)
      g_variant_unref(dirs);
    g_variant_unref(msg);
  }
  hv_capture_reader_free(r);
  return 0;
}
