// SPDX-License-Identifier: GPL-2.0-or-later
/* libFuzzer target: bmap files (tools/bmap.c), as `haven flash` reads them. */
#include "bmap.h"

#include <stdint.h>
#include <stdlib.h>

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  GError *err = NULL;
  HvBmap *b = hv_bmap_parse((const char *)data, size, &err);
  if (!b && (!err || err->domain != HV_BMAP_ERROR))
    abort();
  if (b) {
    /* every accepted range lies inside the image, in order, not overlapping */
    guint64 prev_end = 0, total = 0;
    for (guint i = 0; i < hv_bmap_get_n_ranges(b); i++) {
      guint64 off = 0, len = 0;
      hv_bmap_get_range(b, i, &off, &len, NULL);
      if (len == 0 || off < prev_end || off + len > hv_bmap_get_image_size(b))
        abort();
      prev_end = off + len;
      total += len;
    }
    if (total != hv_bmap_get_mapped_bytes(b))
      abort();
  }
  g_clear_error(&err);
  hv_bmap_free(b);
  return 0;
}
