/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * capture: the GStreamer pipeline. Up to two cameras composed (picture in
 * picture or side by side) with a burned-in clock and label, H.264 + AAC,
 * muxed to MPEG-TS and handed to the caller in memory through appsink:
 * there is no filesink anywhere.
 *
 * Each source lives in its own bin feeding a compositor or audiomixer that a
 * keep-alive source drives, so the output streams never stop or change while
 * a source is lost. A source that errors is removed, reported
 * and reopened every reopen_seconds while the rest keeps recording. Any other
 * pipeline error is fatal and reported, never silent.
 *
 * Callbacks: on_data runs on a streaming thread; all others on the thread
 * default main context of the thread that called hv_capture_new(). None
 * runs once the capture is released.
 *
 * Threads: opening and starting change the pipeline's state on the caller's
 * thread; from then on only the capture's own control thread does, one
 * step after the other (end of stream, then NULL), so that stopping and
 * releasing never block the caller, whatever the sources do.
 */
#pragma once

#include "recorder-config.h"

G_BEGIN_DECLS

#define HV_CAPTURE_AUDIO_INDEX HV_MAX_CAMERAS  /* source index of the microphone */

typedef struct _HvCapture HvCapture;
typedef struct _HvCaptureRelease HvCaptureRelease;

typedef struct {
  void (*on_data)(const guint8 *data, gsize len, gpointer user_data);
  /* A source started delivering (ok) or failed (!ok, why set). */
  void (*on_source)(guint index, gboolean ok, const char *why, gpointer user_data);
  void (*on_level)(gdouble peak_db, gpointer user_data);
  void (*on_eos)(gpointer user_data);
  void (*on_fatal)(const char *why, gpointer user_data);
} HvCaptureCallbacks;

HvCapture *hv_capture_new(const HvRecorderConfig *cfg, const char *label,
                          const HvCaptureCallbacks *cb, gpointer user_data, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* Release the capture without waiting: no callback runs once this returns;
 * the pipeline goes to NULL (every device closed) on the control thread.
 * Returns a handle on that release, owned by the caller. */
HvCaptureRelease *hv_capture_release(HvCapture *c) G_GNUC_WARN_UNUSED_RESULT;
/* Whether the devices are closed and the pipeline gone, waiting at most timeout_us. */
gboolean hv_capture_release_wait(HvCaptureRelease *rel, gint64 timeout_us);
void hv_capture_release_unref(HvCaptureRelease *rel);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvCaptureRelease, hv_capture_release_unref)
/* hv_capture_release() without keeping the handle. Accepts NULL. */
void hv_capture_free(HvCapture *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvCapture, hv_capture_free)

/* Open every device (pipeline to READY); the error names the source that failed. */
gboolean hv_capture_open(HvCapture *c, GError **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean hv_capture_start(HvCapture *c, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Ask for end of stream without waiting; on_eos follows once everything
 * is flushed to on_data and the devices are closed. */
void hv_capture_stop(HvCapture *c);
/* Name of the H.264 encoder element in use. */
const char *hv_capture_encoder(HvCapture *c);
/* Human name of a source index ("camera 1", "microphone"). */
const char *hv_capture_source_name(guint index);

G_END_DECLS
