/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * capture-supervisor: havend's side of the capture process. Runs one
 * haven-capture per session (GStreamer and sealing stay out of havend),
 * hands it the session and the device key over inherited descriptors,
 * relays its reports with the shape of HvRecorder's callbacks, and watches
 * it: a process that exits without reporting a sealed result, breaks the
 * protocol, or misses its heartbeat (then it is killed) is reported through
 * on_lost, for havend to seal the session by recovery.
 * Runs in the thread-default GMainContext; callbacks run there.
 */
#pragma once

#include "recorder.h"

G_BEGIN_DECLS

typedef struct _HvCaptureSupervisor HvCaptureSupervisor;

#define HV_CAPTURE_SUPERVISOR_ERROR (hv_capture_supervisor_error_quark())
GQuark hv_capture_supervisor_error_quark(void);
typedef enum {
  HV_CAPTURE_SUPERVISOR_ERROR_BUSY,    /* a capture process is running */
  HV_CAPTURE_SUPERVISOR_ERROR_SPAWN,   /* haven-capture could not be started */
} HvCaptureSupervisorError;

/* How long the capture process may stay silent once its session runs. */
#define HV_CAPTURE_HEARTBEAT_TIMEOUT_MS 3500

typedef struct {
  /* The start's outcome: error NULL when recording; otherwise an
   * HV_RECORDER_ERROR, with active TRUE when the process is sealing what it
   * opened (on_finished follows) */
  void (*on_started)(HvCaptureSupervisor *s, const GError *error, gboolean active, gpointer user_data);
  void (*on_health)(HvCaptureSupervisor *s, gboolean healthy, const char *why, gpointer user_data);
  void (*on_fault)(HvCaptureSupervisor *s, HvFaultClass cls, gboolean active, const char *why,
                   gpointer user_data);
  /* the session's result, once the process has exited */
  void (*on_finished)(HvCaptureSupervisor *s, const HvSessionResult *result, gpointer user_data);
  /* the process ended without a result (crash, kill, hang, protocol
   * violation): session seq is left to recovery */
  void (*on_lost)(HvCaptureSupervisor *s, guint64 seq, const char *why, gpointer user_data);
  /* recording time left above the reserve on the root that runs out first
   * (-1 unknown), as the seal worker measures it */
  void (*on_space)(HvCaptureSupervisor *s, gint64 seconds_left, const char *dir, gpointer user_data);
} HvCaptureSupervisorCallbacks;

/* Warm the capture engine: run `haven-capture --prepare` (GStreamer loads or
 * builds its plugin registry, $GST_REGISTRY) in the background, once, or
 * again when the last attempt failed more than 30 s ago. A cold registry scan
 * takes seconds on a Raspberry Pi (minutes on an emulated CPU): done once
 * after boot instead of in the first session's start. */
void hv_capture_supervisor_prepare(HvCaptureSupervisor *s);
/* Why a press cannot record: haven-capture --prepare failed (missing,
 * crashed); NULL while it runs or once it succeeded (borrowed). */
const char *hv_capture_supervisor_not_ready(HvCaptureSupervisor *s);
/* In on_lost: whether the process had said it was opening the session (its
 * directories may exist, on a root that cannot be seen now): TRUE means its
 * sequence must never be declared unrecorded. */
gboolean hv_capture_supervisor_lost_after_opening(HvCaptureSupervisor *s);
/* "ready", "preparing", "not prepared", or why it failed (borrowed). */
const char *hv_capture_supervisor_engine_state(HvCaptureSupervisor *s);

/* The haven-capture to run: $HAVEN_CAPTURE, else the one beside the running
 * program (build tree), else HAVEN_LIBEXECDIR's. */
char *hv_capture_supervisor_program(void);

/* cfg and key are borrowed and must outlive the supervisor; lock_fd (-1:
 * none) is duplicated into each capture process, so that the state
 * directory stays locked until a process sealing without havend is done. */
HvCaptureSupervisor *hv_capture_supervisor_new(const HvRecorderConfig *cfg, const HvDeviceKey *key, int lock_fd,
                                               const HvCaptureSupervisorCallbacks *cb, gpointer user_data);
/* A running process is not killed: its socket closes and it seals its
 * session itself. */
void hv_capture_supervisor_free(HvCaptureSupervisor *s);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvCaptureSupervisor, hv_capture_supervisor_free)

/* Start a capture process for session seq (prev_seal_hash NULL for the
 * first); notes go into its chain right after the start event. The
 * outcome follows through on_started. */
gboolean hv_capture_supervisor_start(HvCaptureSupervisor *s, guint64 seq, const guint8 *prev_seal_hash,
                                     const char *start_text, const char *const *notes, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;
/* Add an event to the session's chain (no-op when no session runs). */
void hv_capture_supervisor_event(HvCaptureSupervisor *s, HvRecordType type, const char *text);
/* Stop and seal COMPLETE; on_finished follows. */
void hv_capture_supervisor_stop(HvCaptureSupervisor *s, const char *reason);
/* From start until on_finished or on_lost (or a failed start's on_started). */
gboolean hv_capture_supervisor_is_active(HvCaptureSupervisor *s);
gboolean hv_capture_supervisor_is_healthy(HvCaptureSupervisor *s);
/* As of the last heartbeat. */
void hv_capture_supervisor_get_stats(HvCaptureSupervisor *s, HvRecorderStats *ret_stats);
/* The capture process's id, 0 when none runs. */
GPid hv_capture_supervisor_get_pid(HvCaptureSupervisor *s);

G_END_DECLS
