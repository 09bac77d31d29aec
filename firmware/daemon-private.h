/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * daemon-private: what the two halves of havend share. daemon.c wires the
 * board, the state machine, the capture process, storage and the catalog;
 * daemon-control.c speaks the control-socket protocol (requests checked
 * field by field, status replies, the sim board's inputs, start/stop answered
 * once their outcome is known). Both run on the main thread only.
 */
#pragma once

#include "daemon.h"
#include "button.h"
#include "capture-supervisor.h"
#include "catalog.h"
#include "catalog-indexer.h"
#include "control.h"
#include "gpio.h"
#include "lights.h"
#include "machine.h"
#include "storage.h"
#include "vault/vault.h"

G_BEGIN_DECLS

struct _HvDaemon {
  HvConfig    *cfg;
  HvDeviceKey *key;
  char        *key_id;
  HvGpio      *gpio;
  HvCaptureSupervisor *rec;         /* the capture process of the session */
  HvCatalog   *catalog;              /* main thread: audit */
  HvCatalogIndexer *indexer;         /* background: sessions */
  HvControl   *control;
  GMainLoop   *loop;

  HvState      state;
  HvButton     buttons[2];           /* record, marker */
  guint        button_timer;
  gint64       button_deadline;      /* what button_timer was armed for */
  gboolean     button_deferred;      /* a late button_timer yielded to queued input */
  HvFaultClass fault;
  char        *fault_reason;
  gboolean     low_space;            /* fewer than warn-minutes left on the binding root */
  gint64       seconds_left;         /* recording left on that root above the reserve, -1 unknown */
  char        *space_root;
  guint        blink_timer;
  gint64       blink_epoch;
  guint        idle_timer;
  guint        ready_ticks;          /* idle checks since start: every IDLE_CHECK_S, a full retry */
  char       **not_ready;            /* what the last readiness probe found missing; NULL: ready */
  char        *ready_fault;          /* the fault reason the probe set (cleared by it alone) */
  gint64       ready_probe_us;       /* what the last probe cost */
  guint        watchdog_timer;
  gboolean     shutting_down;
  int          exit_code;

  int          state_lock_fd;        /* flock on state_dir/havend.lock, held for life */
  HvDeviceState dstate;              /* the device's ledger state (storage.h) */
  gboolean     have_state;           /* FALSE: lost or damaged; starts are refused */
  char        *state_error;          /* why, when !have_state */
  char        *recovery_failure;     /* first session recovery could not settle */
  guint64      recovery_retried;     /* open sequence whose recovery was retried once it appeared */
  char        *ledger_fault;         /* storage disagrees with the state: persistent STORAGE fault */
  guint64      session_seq;
  char        *pending_note;         /* for the next session's chain: how the last one ended */
  char        *capture_fault;        /* the fault a lost capture process raised */
  guint        capture_fault_timer;
  GArray      *unrecorded;           /* guint64: sequences allocated but never recorded, not yet declared */
  char        *unrecorded_why;
  GPtrArray   *recovered;            /* char*: "dir: INTERRUPTED, fingerprint ..." */
  char        *last_status, *last_fingerprint, *last_dir, *last_reason;

  gint64       press_at;             /* for the latency figures */
  gint64       release_at;
  gint64       press_to_blink_us, press_to_steady_us, release_to_blink_us;

  HvFeedback   feedback;             /* a press acknowledgement being shown (lights.h) */
  guint        feedback_timer;
  HvFeedback   last_feedback;        /* the last one shown, for haven status */
  gint64       feedback_press_us;    /* when that press happened (edge time) */
  gint64       feedback_shown_us;    /* when its lights were set */
  guint64      feedback_count;

  GPtrArray   *waiters;              /* Waiter*: control requests answered when the state settles */
};

/* daemon.c */
/* Feed the state machine an input from actor (journal, chain, lights). */
void     hv_daemon_apply(HvDaemon *d, HvInput in, const char *actor);
/* Journal and catalog audit line for a control or button action. */
void     hv_daemon_audit(HvDaemon *d, const char *actor, const char *action, const char *result);
/* IDLE or FAULT: no session open or opening. */
gboolean hv_daemon_is_idle(const HvDaemon *d);

/* daemon-control.c */
/* HvControlFunc / HvControlRefusedFunc for hv_control_new (user_data: the daemon). */
JsonNode *hv_daemon_control_request(JsonObject *req, const char *actor, gpointer user_data);
void      hv_daemon_control_refused(const char *actor, const char *why, gpointer user_data);
/* The state changed: answer the start/stop requests waiting for it. */
void      hv_daemon_control_settled(HvDaemon *d);
/* havend is going away: answer every waiting request, free the list. */
void      hv_daemon_control_cancel_waiters(HvDaemon *d);

G_END_DECLS
