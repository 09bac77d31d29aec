// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-recorder"
#include "recorder.h"
#include "capture.h"
#include "seal-worker.h"
#include "space.h"
#include "storage.h"

#include <errno.h>
#include <string.h>

#define COMMIT_MS        1000
#define EOS_TIMEOUT_S    5
/* How long a start waits for the previous session's devices to close,
 * and how long hv_recorder_free() waits before giving up on them. */
#define RELEASE_WAIT_US  (3 * G_USEC_PER_SEC)

typedef enum { IDLE, RUNNING, STOPPING } Phase;

struct _HvRecorder {
  const HvRecorderConfig *cfg;
  const HvDeviceKey      *key;
  HvRecorderCallbacks     cb;
  gpointer                user_data;

  Phase         phase;
  HvCapture    *capture;
  HvCaptureRelease *releasing;  /* the last session's capture, closing its devices */
  HvSealWorker *worker;
  HvSessionResult result;
  char         *stop_reason;
  HvSealStatus  stop_status;
  guint         eos_timeout;

  gint64   start_mono;
  gint64   start_latency;
  guint64  bytes, committed;
  gboolean media_durable;
  gboolean delivering[HV_MAX_CAMERAS + 1];
  gboolean lost[HV_MAX_CAMERAS + 1];
  gboolean audio_heard;
  gboolean mic_silent;
  gint64   silent_since;
  gboolean healthy;
  gint64   seconds_left;
  guint64  rate;
};

HvRecorder *
hv_recorder_new(const HvRecorderConfig *cfg, const HvDeviceKey *key, const HvRecorderCallbacks *cb,
                gpointer user_data)
{
  HvRecorder *r = g_new0(HvRecorder, 1);
  r->cfg = cfg;
  r->key = key;
  r->cb = *cb;
  r->user_data = user_data;
  r->start_latency = -1;
  return r;
}

/* Let the capture go without waiting for its pipeline: a source that is
 * wedged or blocked must not hold the main loop. */
static void
retire_capture(HvRecorder *r)
{
  if (!r->capture)
    return;
  g_clear_pointer(&r->releasing, hv_capture_release_unref);
  r->releasing = hv_capture_release(g_steal_pointer(&r->capture));
}

/* Whether the last session's devices are closed; waits a bounded time. */
static gboolean
capture_released(HvRecorder *r)
{
  if (r->releasing && !hv_capture_release_wait(r->releasing, RELEASE_WAIT_US))
    return FALSE;
  g_clear_pointer(&r->releasing, hv_capture_release_unref);
  return TRUE;
}

static void
teardown(HvRecorder *r)
{
  if (r->eos_timeout) {
    g_source_remove(r->eos_timeout);
    r->eos_timeout = 0;
  }
  retire_capture(r);
  g_clear_pointer(&r->worker, hv_seal_worker_free);
  g_clear_pointer(&r->stop_reason, g_free);
  r->phase = IDLE;
}

void
hv_recorder_free(HvRecorder *r)
{
  if (!r)
    return;
  teardown(r);
  if (!capture_released(r)) {
    g_warning("the capture devices were not released within %d s; leaving them",
              (int) (RELEASE_WAIT_US / G_USEC_PER_SEC));
    g_clear_pointer(&r->releasing, hv_capture_release_unref);
  }
  hv_session_result_clear(&r->result);
  g_free(r);
}

/* ---- health ---- */

static void
update_health(HvRecorder *r)
{
  const char *why = NULL;
  for (guint i = 0; i < r->cfg->n_video && !why; i++)
    if (!r->delivering[i])
      why = i == 0 ? "camera 1 is not delivering" : "camera 2 is not delivering";
  if (!why && !r->delivering[HV_CAPTURE_AUDIO_INDEX])
    why = "microphone is not delivering";
  if (!why && !r->audio_heard)
    why = "no sound above the floor from the microphone yet";
  if (!why && r->mic_silent)
    why = "microphone is silent";
  if (!why && !r->media_durable)
    why = "first sealed chunk not yet on disk";
  gboolean healthy = r->phase == RUNNING && why == NULL;
  if (healthy != r->healthy) {
    r->healthy = healthy;
    if (r->cb.on_health)
      r->cb.on_health(r, healthy, why, r->user_data);
  }
}

static void
fault(HvRecorder *r, HvFaultClass cls, gboolean active, const char *why)
{
  if (r->cb.on_fault)
    r->cb.on_fault(r, cls, active, why, r->user_data);
}

/* ---- capture callbacks ---- */

static void
on_data(const guint8 *data, gsize len, gpointer user_data)
{
  HvRecorder *r = user_data;
  /* streaming thread: the worker's queue is the only shared state */
  hv_seal_worker_push_media(r->worker, data, len);
}

static void
on_source(guint index, gboolean ok, const char *why, gpointer user_data)
{
  HvRecorder *r = user_data;
  const char *name = hv_capture_source_name(index);
  r->delivering[index] = ok;
  if (ok && r->lost[index]) {
    r->lost[index] = FALSE;
    g_autofree char *t = g_strdup_printf("%s back", name);
    g_message("%s", t);
    hv_seal_worker_push_event(r->worker, HV_EVENT_SOURCE_BACK, t);
    fault(r, HV_FAULT_SOURCE, FALSE, t);
  } else if (!ok && r->lost[index]) {
    /* a reopen that failed again: the loss is already in the chain */
    g_debug("%s still unavailable: %s", name, why);
  } else if (!ok) {
    r->lost[index] = TRUE;
    g_autofree char *t = g_strdup_printf("%s lost: %s", name, why);
    g_warning("%s", t);
    hv_seal_worker_push_event(r->worker, HV_EVENT_SOURCE_LOST, t);
    fault(r, HV_FAULT_SOURCE, TRUE, t);
  }
  update_health(r);
}

static void
on_level(gdouble peak_db, gpointer user_data)
{
  HvRecorder *r = user_data;
  gint64 now = g_get_monotonic_time();
  if (peak_db >= r->cfg->silence_db) {
    r->silent_since = 0;
    r->audio_heard = TRUE;
    if (r->mic_silent) {
      r->mic_silent = FALSE;
      g_autofree char *t = g_strdup_printf("microphone back: peak %.1f dB", peak_db);
      hv_seal_worker_push_event(r->worker, HV_EVENT_MIC_BACK, t);
      fault(r, HV_FAULT_SOURCE, FALSE, t);
    }
  } else if (!r->silent_since) {
    r->silent_since = now;
  } else if (!r->mic_silent && now - r->silent_since >= (gint64) r->cfg->silence_seconds * G_USEC_PER_SEC) {
    r->mic_silent = TRUE;
    g_autofree char *t = g_strdup_printf("microphone silent for %u s (peak below %.0f dB)",
                                         r->cfg->silence_seconds, r->cfg->silence_db);
    hv_seal_worker_push_event(r->worker, HV_EVENT_MIC_SILENT, t);
    fault(r, HV_FAULT_SOURCE, TRUE, t);
  }
  update_health(r);
}

static void finish_session(HvRecorder *r);

static void
on_eos(gpointer user_data)
{
  HvRecorder *r = user_data;
  if (r->phase == STOPPING)
    finish_session(r);
}

static void
on_capture_fatal(const char *why, gpointer user_data)
{
  HvRecorder *r = user_data;
  g_autofree char *t = g_strdup_printf("capture pipeline failed: %s", why);
  g_critical("%s", t);
  hv_recorder_event(r, HV_EVENT_FAULT, t);
  fault(r, HV_FAULT_SOURCE, TRUE, t);
  if (r->phase == RUNNING) {
    r->stop_status = HV_STATUS_INTERRUPTED;
    r->stop_reason = g_strdup(t);
    r->phase = STOPPING;
    finish_session(r); /* the pipeline cannot be trusted to reach EOS */
  }
}

/* ---- seal worker callbacks ---- */

static void
on_commit(guint64 committed, guint64 media, guint64 bytes, gpointer user_data)
{
  HvRecorder *r = user_data;
  r->committed = committed;
  r->bytes = bytes;
  if (media > 0 && !r->media_durable) {
    r->media_durable = TRUE;
    r->start_latency = g_get_monotonic_time() - r->start_mono;
    g_message("first sealed chunk durable %.0f ms after start", r->start_latency / 1000.0);
  }
  update_health(r);
}

static void
on_storage_fault(const char *dir, const char *why, gpointer user_data)
{
  HvRecorder *r = user_data;
  g_warning("storage failed, continuing on the remaining root(s): %s", why);
  fault(r, HV_FAULT_STORAGE, TRUE, why);
}

static void
on_storage_fatal(const char *why, gpointer user_data)
{
  HvRecorder *r = user_data;
  g_warning("no storage left for the session: %s", why); /* a runtime condition, not a bug */
  fault(r, HV_FAULT_STORAGE, TRUE, why);
  if (r->phase == RUNNING) {
    r->stop_status = HV_STATUS_IO_FAILED;
    r->stop_reason = g_strdup_printf("storage failed: %s", why);
    r->phase = STOPPING;
    finish_session(r);
  }
}

static void
on_space(const char *dir, guint64 free_bytes, guint64 rate, gint64 seconds_left, gpointer user_data)
{
  HvRecorder *r = user_data;
  r->seconds_left = seconds_left;
  r->rate = rate;
  const char *root = dir; /* name the root, not the session directory in it */
  for (guint i = 0; r->result.dirs[i] && r->cfg->roots[i]; i++)
    if (g_str_equal(r->result.dirs[i], dir))
      root = r->cfg->roots[i];
  if (r->cb.on_space)
    r->cb.on_space(r, seconds_left, root, r->user_data);
}

static void
on_storage_full(const char *why, gpointer user_data)
{
  HvRecorder *r = user_data;
  if (r->phase != RUNNING)
    return;
  g_warning("%s: stopping the session while the reserve holds its end", why);
  fault(r, HV_FAULT_STORAGE, TRUE, why);
  hv_recorder_stop(r, why);
}

static void
on_finished(HvSealStatus status, const char *fingerprint, const guint8 *seal_hash, const char *why,
            gpointer user_data)
{
  HvRecorder *r = user_data;
  r->result.status = fingerprint ? status : HV_STATUS_IO_FAILED;
  r->result.sealed = fingerprint != NULL;
  r->result.fingerprint = g_strdup(fingerprint);
  if (seal_hash)
    memcpy(r->result.seal_hash, seal_hash, HV_HASH_SIZE);
  r->result.reason = g_strdup(fingerprint ? r->stop_reason : why);
  /* The final seal failed, but a copy may still be sealed on disk (the
   * writer seals a failed root IO_FAILED over its last checkpoint): report
   * what is actually there, so that the state and status tell the truth. */
  for (guint i = 0; !fingerprint && r->result.dirs[i]; i++) {
    guint8 st, hash[HV_HASH_SIZE];
    if (hv_storage_session_seal(r->result.dirs[i], r->key->pk, r->result.seq, &st, hash)) {
      r->result.sealed = TRUE;
      r->result.status = st;
      memcpy(r->result.seal_hash, hash, HV_HASH_SIZE);
      r->result.fingerprint = hv_fingerprint_from_seal_hash(hash);
      break;
    }
  }
  r->result.bytes = r->bytes;
  teardown(r);
  r->healthy = FALSE;
  if (r->cb.on_finished)
    r->cb.on_finished(r, &r->result, r->user_data);
  hv_session_result_clear(&r->result);
}

static void
finish_session(HvRecorder *r)
{
  if (!r->worker || !r->stop_reason)
    return;
  if (r->eos_timeout) {
    g_source_remove(r->eos_timeout);
    r->eos_timeout = 0;
  }
  hv_seal_worker_push_event(r->worker, HV_EVENT_STOP, r->stop_reason);
  hv_seal_worker_finish(r->worker, r->stop_status, r->stop_reason);
  update_health(r);
}

static gboolean
on_eos_timeout(gpointer user_data)
{
  HvRecorder *r = user_data;
  r->eos_timeout = 0;
  g_warning("capture did not drain within %d s; sealing what arrived", EOS_TIMEOUT_S);
  hv_seal_worker_push_event(r->worker, HV_EVENT_FAULT, "capture did not drain at stop");
  finish_session(r);
  return G_SOURCE_REMOVE;
}

/* ---- API ---- */

gboolean
hv_recorder_preflight(HvRecorder *r, GError **error)
{
  return hv_recorder_preflight_config(r->cfg, error);
}

gboolean
hv_recorder_start(HvRecorder *r, guint64 seq, const guint8 *prev_seal_hash, const char *start_text,
                  GError **error)
{
  if (r->phase != IDLE) {
    g_set_error(error, HV_RECORDER_ERROR, HV_RECORDER_ERROR_BUSY, "a session is already open");
    return FALSE;
  }
  if (!hv_recorder_preflight(r, error))
    return FALSE;
  if (!capture_released(r)) {
    g_set_error(error, HV_RECORDER_ERROR, HV_RECORDER_ERROR_SOURCE,
                "sources: the previous session still holds the cameras and microphone (not released "
                "within %d s)", (int) (RELEASE_WAIT_US / G_USEC_PER_SEC));
    return FALSE;
  }
  r->start_mono = g_get_monotonic_time();
  r->start_latency = -1;
  r->bytes = r->committed = 0;
  r->media_durable = r->audio_heard = r->mic_silent = r->healthy = FALSE;
  r->silent_since = 0;
  memset(r->delivering, 0, sizeof r->delivering);
  memset(r->lost, 0, sizeof r->lost);
  hv_session_result_clear(&r->result);

  g_autofree char *label = g_strdup_printf("%s  session %" G_GUINT64_FORMAT,
                                           r->cfg->room[0] ? r->cfg->room : "Haven", seq);
  HvCaptureCallbacks ccb = { on_data, on_source, on_level, on_eos, on_capture_fatal };
  g_autoptr(GError) local = NULL;
  r->capture = hv_capture_new(r->cfg, label, &ccb, r, &local);
  if (!r->capture || !hv_capture_open(r->capture, &local)) {
    g_clear_pointer(&r->capture, hv_capture_free);
    /* the cause keeps its text; the code says it is a source */
    g_set_error(error, HV_RECORDER_ERROR, HV_RECORDER_ERROR_SOURCE, "sources: %s",
                local ? local->message : "capture did not open");
    return FALSE;
  }

  g_autofree char *name = hv_storage_session_name(seq, g_get_real_time());
  for (guint i = 0; r->cfg->roots[i]; i++)
    r->result.dirs[i] = g_build_filename(r->cfg->roots[i], name, NULL);
  r->result.seq = seq;
  HvWriterParams wp = {
    .room = r->cfg->room, .device_seq = seq, .prev_seal_hash = prev_seal_hash, .device_key = r->key,
    .recipients = r->cfg->recipients, .n_recipients = r->cfg->n_recipients, .no_sync = r->cfg->no_sync,
  };
  HvVaultWriter *writer = hv_vault_writer_new((const char *const *) r->result.dirs, &wp, &local);
  if (!writer) {
    retire_capture(r);
    g_set_error(error, HV_RECORDER_ERROR, HV_RECORDER_ERROR_STORAGE, "storage: %s", local->message);
    return FALSE;
  }
  HvSealWorkerCallbacks wcb = { on_commit, on_storage_fault, on_storage_fatal, on_finished, on_space,
                                on_storage_full };
  HvSealWorkerSpace space = { hv_recorder_config_byte_rate(r->cfg), r->cfg->reserve_seconds };
  r->seconds_left = -1;
  r->rate = space.configured_rate;
  r->worker = hv_seal_worker_new(writer, COMMIT_MS, &space, &wcb, r);
  g_autofree char *text = g_strdup_printf("%s; encoder %s, %ux%u@%u, %u camera%s", start_text ? start_text : "recording started",
                                          hv_capture_encoder(r->capture), r->cfg->width, r->cfg->height,
                                          r->cfg->fps, r->cfg->n_video, r->cfg->n_video == 1 ? "" : "s");
  hv_seal_worker_push_event(r->worker, HV_EVENT_START, text);
  r->phase = RUNNING;
  if (!hv_capture_start(r->capture, &local)) {
    g_autofree char *t = g_strdup_printf("capture did not start: %s", local->message);
    g_set_error(error, HV_RECORDER_ERROR, HV_RECORDER_ERROR_SOURCE, "sources: %s", t);
    hv_seal_worker_push_event(r->worker, HV_EVENT_FAULT, t);
    r->stop_status = HV_STATUS_INTERRUPTED;
    r->stop_reason = g_strdup(t);
    r->phase = STOPPING;
    finish_session(r);
    return FALSE;
  }
  return TRUE;
}

void
hv_recorder_event(HvRecorder *r, HvRecordType type, const char *text)
{
  if (r->worker && r->phase == RUNNING)
    hv_seal_worker_push_event(r->worker, type, text);
}

static void
stop_as(HvRecorder *r, HvSealStatus status, const char *reason)
{
  if (r->phase != RUNNING)
    return;
  r->phase = STOPPING;
  r->stop_status = status;
  r->stop_reason = g_strdup(reason ? reason : "stopped");
  update_health(r);
  hv_capture_stop(r->capture);
  r->eos_timeout = g_timeout_add_seconds(EOS_TIMEOUT_S, on_eos_timeout, r);
}

void
hv_recorder_stop(HvRecorder *r, const char *reason)
{
  stop_as(r, HV_STATUS_COMPLETE, reason);
}

void
hv_recorder_stop_interrupted(HvRecorder *r, const char *reason)
{
  stop_as(r, HV_STATUS_INTERRUPTED, reason);
}

gboolean hv_recorder_is_active(HvRecorder *r) { return r->phase != IDLE; }
gboolean hv_recorder_is_healthy(HvRecorder *r) { return r->healthy; }

void
hv_recorder_get_stats(HvRecorder *r, HvRecorderStats *ret)
{
  ret->bytes_sealed = r->bytes;
  ret->records_committed = r->committed;
  ret->start_latency_us = r->start_latency;
  ret->backlog = r->worker ? hv_seal_worker_backlog(r->worker) : 0;
  ret->seconds_left = r->phase == IDLE ? -1 : r->seconds_left;
  ret->byte_rate = r->rate;
}
