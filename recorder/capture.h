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
 * default main context of the thread that called hv_capture_new().
 */
#pragma once

#include "recorder-config.h"

G_BEGIN_DECLS

#define HV_CAPTURE_AUDIO_INDEX HV_MAX_CAMERAS  /* source index of the microphone */

typedef struct _HvCapture HvCapture;

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
void hv_capture_free(HvCapture *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvCapture, hv_capture_free)

/* Open every device (pipeline to READY); the error names the source that failed. */
gboolean hv_capture_open(HvCapture *c, GError **error) G_GNUC_WARN_UNUSED_RESULT;
gboolean hv_capture_start(HvCapture *c, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Ask for end of stream; on_eos follows once everything is flushed. */
void hv_capture_stop(HvCapture *c);
/* Name of the H.264 encoder element in use. */
const char *hv_capture_encoder(HvCapture *c);
/* Human name of a source index ("camera 1", "microphone"). */
const char *hv_capture_source_name(guint index);

G_END_DECLS
