// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: board description files (board/board.c). */
#include "fuzz-common.h"
#include "gpio.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static char *path;
  if (!path)
    path = g_build_filename(fuzz_scratch_dir(), "fuzz.board", NULL);
  fuzz_write_file(path, data, size);
  GError *err = NULL;
  HvBoard *b = hv_board_load(path, &err);
  if (!b && (!err || err->domain != HV_GPIO_ERROR))
    abort();
  g_clear_error(&err);
  hv_board_free(b);
  return 0;
}
