// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: enrollment files (firmware/enrollment.c), which a
 * custodian's haven enroll reads from a board's config partition. */
#include "enrollment.h"
#include "fuzz-common.h"

#include <sodium.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static gboolean init;
  if (!init) {
    if (sodium_init() < 0)
      abort();
    init = TRUE;
  }
  GError *err = NULL;
  HvEnrollment *e = hv_enrollment_parse("fuzz", (const char *) data, size, &err);
  if (!e && (!err || err->domain != HV_ENROLLMENT_ERROR))
    abort();
  /* accepted: the id is the key's (a forgery needs the key) */
  if (e) {
    char *id = hv_key_id(hv_enrollment_public_key(e), HV_DEVICE_PK_SIZE);
    if (!g_str_equal(id, hv_enrollment_device_id(e)))
      abort();
    g_free(id);
  }
  g_clear_error(&err);
  hv_enrollment_free(e);
  return 0;
}
