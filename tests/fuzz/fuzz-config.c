// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: haven.conf (firmware/config.c), the input written as the
 * configuration file and loaded, parsed and validated as havend does. */
#include "config.h"
#include "fuzz-common.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static char *path;
  if (!path)
    path = g_build_filename(fuzz_scratch_dir(), "haven.conf", NULL);
  fuzz_write_file(path, data, size);
  GError *err = NULL;
  HvConfig *c = hv_config_load(path, &err);
  if (!c && (!err || err->domain != HV_CONFIG_ERROR))
    abort(); /* every failure is a configuration error with a message */
  g_clear_error(&err);
  hv_config_free(c);
  return 0;
}
