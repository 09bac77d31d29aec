// SPDX-License-Identifier: GPL-2.0-or-later
#include "space.h"

guint64
hv_space_rate(guint64 configured_rate, guint64 bytes, gint64 elapsed_us, gboolean planning)
{
  if (elapsed_us < HV_SPACE_MEASURE_MIN_US || bytes == 0)
    return configured_rate;
  guint64 measured = (guint64) ((gdouble) bytes * G_USEC_PER_SEC / (gdouble) elapsed_us);
  return planning ? MAX(measured, configured_rate) : measured;
}

guint64
hv_space_reserve(guint64 rate, guint reserve_seconds)
{
  return MAX(rate * reserve_seconds, (guint64) HV_SPACE_RESERVE_MIN);
}

guint64
hv_space_start_need(guint64 rate, guint min_free_minutes, guint reserve_seconds)
{
  return rate * 60 * min_free_minutes + hv_space_reserve(rate, reserve_seconds);
}

char *
hv_space_shortage(const char *root, guint64 avail, guint64 need, guint min_free_minutes)
{
  if (avail >= need)
    return NULL;
  return g_strdup_printf("storage: %s has %.1f MiB free, %u minutes at the configured bitrate and the "
                         "reserve need %.1f MiB (archive and remove old sessions, or use a larger disk)",
                         root, avail / 1048576.0, min_free_minutes, need / 1048576.0);
}

gint64
hv_space_seconds_left(guint64 free_bytes, guint64 reserve, guint64 rate)
{
  if (free_bytes <= reserve)
    return 0;
  if (rate == 0)
    return G_MAXINT64;
  return (gint64) ((free_bytes - reserve) / rate);
}

HvSpaceDecision
hv_space_decide(const guint64 *avail, const gboolean *in_use, guint n, guint64 reserve, gboolean *ret_full)
{
  guint used = 0, full = 0;
  for (guint i = 0; i < n; i++) {
    ret_full[i] = in_use[i] && avail[i] < reserve;
    used += in_use[i] != FALSE;
    full += ret_full[i] != FALSE;
  }
  if (full == 0)
    return HV_SPACE_OK;
  return full == used ? HV_SPACE_FULL : HV_SPACE_RETIRE;
}
