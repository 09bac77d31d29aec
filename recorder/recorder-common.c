// SPDX-License-Identifier: GPL-2.0-or-later
/* The parts of the recorder API that need no GStreamer: fault class names,
 * the error domain, session results and the pre-flight checks. havend links
 * these without the capture pipeline, which runs in haven-capture. */
#define G_LOG_DOMAIN "haven-recorder"
#include "recorder.h"
#include "space.h"
#include "storage.h"

#include <errno.h>
#include <string.h>

#define CLOCK_MIN_YEAR   2024

G_DEFINE_QUARK(hv-recorder-error-quark, hv_recorder_error)

const char *
hv_fault_class_name(HvFaultClass cls)
{
  static const char *n[] = { "none", "storage", "source", "clock", "keys" };
  return cls < G_N_ELEMENTS(n) ? n[cls] : "unknown";
}

void
hv_session_result_clear(HvSessionResult *res)
{
  for (guint i = 0; i < G_N_ELEMENTS(res->dirs); i++)
    g_free(res->dirs[i]);
  g_free(res->fingerprint);
  g_free(res->reason);
  memset(res, 0, sizeof *res);
}

gboolean
hv_recorder_preflight_config(const HvRecorderConfig *c, GError **error)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  if (g_date_time_get_year(now) < CLOCK_MIN_YEAR) {
    g_autofree char *t = g_date_time_format(now, "%Y-%m-%d %H:%M:%S");
    g_set_error(error, HV_RECORDER_ERROR, HV_RECORDER_ERROR_CLOCK,
                "clock: the system clock says %s UTC, before %d; set the time (RTC battery?)", t,
                CLOCK_MIN_YEAR);
    return FALSE;
  }
  if (c->n_recipients == 0) {
    g_set_error(error, HV_RECORDER_ERROR, HV_RECORDER_ERROR_KEYS,
                "keys: no custodian recipient configured");
    return FALSE;
  }
  guint64 rate = hv_recorder_config_byte_rate(c);
  guint64 need = hv_space_start_need(rate, c->min_free_minutes, c->reserve_seconds);
  for (guint i = 0; c->roots[i]; i++) {
    guint64 avail;
    if (g_mkdir_with_parents(c->roots[i], 0750) < 0) {
      int e = errno;
      g_set_error(error, HV_RECORDER_ERROR, HV_RECORDER_ERROR_STORAGE, "storage: %s cannot be created: %s",
                  c->roots[i], g_strerror(e));
      return FALSE;
    }
    g_autoptr(GError) local = NULL;
    if (!hv_storage_free_bytes(c->roots[i], &avail, &local)) {
      g_set_error(error, HV_RECORDER_ERROR, HV_RECORDER_ERROR_STORAGE, "storage: %s", local->message);
      return FALSE;
    }
    g_autofree char *shortage = hv_space_shortage(c->roots[i], avail, need, c->min_free_minutes);
    if (shortage) {
      g_set_error_literal(error, HV_RECORDER_ERROR, HV_RECORDER_ERROR_STORAGE, shortage);
      return FALSE;
    }
  }
  return TRUE;
}

gint64
hv_recorder_config_idle_seconds_left(const HvRecorderConfig *c, const char **ret_dir)
{
  guint64 rate = hv_recorder_config_byte_rate(c);
  guint64 reserve = hv_space_reserve(rate, c->reserve_seconds);
  gint64 least = -1;
  for (guint i = 0; c->roots[i]; i++) {
    guint64 avail;
    if (!hv_storage_free_bytes(c->roots[i], &avail, NULL))
      continue;
    gint64 s = hv_space_seconds_left(avail, reserve, rate);
    if (least < 0 || s < least) {
      least = s;
      if (ret_dir)
        *ret_dir = c->roots[i];
    }
  }
  return least;
}
