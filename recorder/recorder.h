/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * recorder: one interview session at a time, from pre-flight to seal.
 * Wires capture (GStreamer) to the seal worker (vault writer thread), keeps
 * the health picture (every source delivering, microphone not silent, first
 * sealed chunk durable) and turns what happens into signed chain events.
 * Driven from one GMainContext (the daemon's); callbacks run there.
 */
#pragma once

#include "recorder-config.h"
#include "vault/vault.h"

G_BEGIN_DECLS

typedef struct _HvRecorder HvRecorder;

typedef enum {
  HV_FAULT_NONE,
  HV_FAULT_STORAGE,
  HV_FAULT_SOURCE,
  HV_FAULT_CLOCK,
  HV_FAULT_KEYS,
} HvFaultClass;

const char *hv_fault_class_name(HvFaultClass cls);

#define HV_RECORDER_ERROR (hv_recorder_error_quark())
GQuark hv_recorder_error_quark(void);
/* One code per cause, so that callers decide (and the daemon classifies a
 * fault) by code, never by message text. */
typedef enum {
  HV_RECORDER_ERROR_BUSY,       /* a session is already open */
  HV_RECORDER_ERROR_CLOCK,      /* the system clock is not set */
  HV_RECORDER_ERROR_KEYS,       /* no custodian recipient */
  HV_RECORDER_ERROR_STORAGE,    /* a root missing, short of space, or the session not creatable */
  HV_RECORDER_ERROR_SOURCE,     /* a camera or the microphone did not open or start */
} HvRecorderError;

typedef struct {
  char        *dirs[3];          /* session directories, NULL-terminated */
  guint64      seq;
  HvSealStatus status;
  gboolean     sealed;           /* FALSE: sealing failed, recovery will seal it */
  char        *fingerprint;      /* NULL when not sealed */
  guint8       seal_hash[HV_HASH_SIZE];
  char        *reason;
  guint64      bytes;
} HvSessionResult;

typedef struct {
  guint64 bytes_sealed;
  guint64 records_committed;
  gint64  start_latency_us;      /* start call to first media chunk durable; -1 not yet */
  gsize   backlog;
  gint64  seconds_left;          /* recording left on the binding root above the reserve; -1 unknown */
  guint64 byte_rate;             /* measured (or, early, configured) bytes per second */
} HvRecorderStats;

typedef struct {
  void (*on_health)(HvRecorder *r, gboolean healthy, const char *why, gpointer user_data);
  void (*on_fault)(HvRecorder *r, HvFaultClass cls, gboolean active, const char *why,
                   gpointer user_data);
  void (*on_finished)(HvRecorder *r, const HvSessionResult *result, gpointer user_data);
  /* While recording, after each group commit: seconds of recording left on
   * the binding root (the one that runs out first, dir) above the reserve. When
   * every root reaches the reserve the recorder itself stops the session
   * (COMPLETE, reason "storage full: ...", on_fault STORAGE first). */
  void (*on_space)(HvRecorder *r, gint64 seconds_left, const char *dir, gpointer user_data);
} HvRecorderCallbacks;

/* cfg and key are borrowed and must outlive the recorder. */
HvRecorder *hv_recorder_new(const HvRecorderConfig *cfg, const HvDeviceKey *key,
                            const HvRecorderCallbacks *cb, gpointer user_data);
void hv_recorder_free(HvRecorder *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvRecorder, hv_recorder_free)

/* Clock, recipients, storage space: HV_RECORDER_ERROR_CLOCK, _KEYS or _STORAGE. */
gboolean hv_recorder_preflight(HvRecorder *r, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* The same checks for a configuration, without a recorder (no GStreamer:
 * havend's idle checks; recorder-common.c). */
gboolean hv_recorder_preflight_config(const HvRecorderConfig *cfg, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Seconds of recording left, at the configured rate, on the root that runs
 * out first (above the reserve); -1 when no root can be read. *ret_dir: that
 * root (borrowed from the config). No GStreamer. */
gint64 hv_recorder_config_idle_seconds_left(const HvRecorderConfig *cfg, const char **ret_dir);
/* Pre-flight, open sources, create the session and start. seq/prev_seal_hash
 * come from the device ledger (prev NULL for the first session). Errors: the
 * pre-flight codes, HV_RECORDER_ERROR_SOURCE, _STORAGE or _BUSY. */
gboolean hv_recorder_start(HvRecorder *r, guint64 seq, const guint8 *prev_seal_hash,
                           const char *start_text, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Add an event to the open session's chain (no-op when idle). */
void hv_recorder_event(HvRecorder *r, HvRecordType type, const char *text);
/* Stop: flush the pipeline, write the stop event, seal COMPLETE. on_finished follows. */
void hv_recorder_stop(HvRecorder *r, const char *reason);
/* The same, sealed INTERRUPTED: the session ends for a reason other than
 * someone stopping it (haven-capture: havend went away). */
void hv_recorder_stop_interrupted(HvRecorder *r, const char *reason);
gboolean hv_recorder_is_active(HvRecorder *r);
gboolean hv_recorder_is_healthy(HvRecorder *r);
void hv_recorder_get_stats(HvRecorder *r, HvRecorderStats *ret_stats);
void hv_session_result_clear(HvSessionResult *res);

G_END_DECLS
