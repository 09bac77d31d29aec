// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "daemon.h"
#include "button.h"
#include "capture-supervisor.h"
#include "catalog.h"
#include "catalog-indexer.h"
#include "control.h"
#include "gpio.h"
#include "journal.h"
#include "lights.h"
#include "machine.h"
#include "storage.h"
#include "vault-keys.h"

#include <errno.h>
#include <glib-unix.h>
#include <malloc.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define BUTTON_LATE_US (200 * 1000)
#define SIM_EDGE_AGE_MAX_US (60 * G_USEC_PER_SEC)
#define IDLE_CHECK_S 60
/* how long the fault light shows a lost capture process before the self-check may clear it */
#define CAPTURE_LOST_FAULT_MS 2000

G_DEFINE_QUARK(hv-daemon-error-quark, hv_daemon_error)

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
  gboolean     low_space;
  guint        blink_timer;
  gint64       blink_epoch;
  guint        idle_timer;
  guint        watchdog_timer;
  gboolean     shutting_down;
  int          exit_code;

  int          state_lock_fd;        /* flock on state_dir/havend.lock, held for life */
  HvDeviceState dstate;              /* the device's ledger state (storage.h) */
  gboolean     key_is_new;           /* the device key was created by this start */
  gboolean     have_state;           /* FALSE: lost or damaged; starts are refused */
  char        *state_error;          /* why, when !have_state */
  char        *recovery_failure;     /* first session recovery could not settle */
  char        *ledger_fault;         /* storage disagrees with the state: persistent STORAGE fault */
  guint64      session_seq;
  HvDeviceState before_start;        /* the state before session_seq was reserved */
  char        *pending_note;         /* for the next session's chain: how the last one ended */
  char        *capture_fault;        /* the fault a lost capture process raised */
  guint        capture_fault_timer;
  GPtrArray   *recovered;            /* char*: "dir: INTERRUPTED, fingerprint ..." */
  char        *last_status, *last_fingerprint, *last_dir, *last_reason;

  gint64       press_at;             /* for the latency figures */
  gint64       press_to_blink_us, press_to_steady_us;
};

static void update_lights(HvDaemon *d);
static void apply(HvDaemon *d, HvInput in, const char *actor);

/* ---- faults ---- */

static void
set_fault(HvDaemon *d, HvFaultClass cls, const char *why)
{
  if (d->fault == cls && g_strcmp0(d->fault_reason, why) == 0)
    return;
  d->fault = cls;
  g_free(d->fault_reason);
  d->fault_reason = g_strdup(why);
  if (cls != HV_FAULT_NONE)
    hv_journal(G_LOG_LEVEL_WARNING, HV_MSGID_FAULT, "fault (%s): %s", hv_fault_class_name(cls), why);
  else
    hv_journal(G_LOG_LEVEL_MESSAGE, HV_MSGID_FAULT, "fault cleared");
  update_lights(d);
}

/* The fault class of a recorder error, by its code. */
static HvFaultClass
classify(const GError *err)
{
  if (g_error_matches(err, HV_RECORDER_ERROR, HV_RECORDER_ERROR_SOURCE))
    return HV_FAULT_SOURCE;
  if (g_error_matches(err, HV_RECORDER_ERROR, HV_RECORDER_ERROR_CLOCK))
    return HV_FAULT_CLOCK;
  if (g_error_matches(err, HV_RECORDER_ERROR, HV_RECORDER_ERROR_KEYS))
    return HV_FAULT_KEYS;
  return HV_FAULT_STORAGE;
}

/* ---- lights ---- */

static gboolean
on_blink(gpointer user_data)
{
  update_lights(user_data);
  return G_SOURCE_CONTINUE;
}

static void
update_lights(HvDaemon *d)
{
  if (!d->gpio)
    return;
  HvLightsInput in = { .state = d->state, .fault = d->fault, .low_space = d->low_space };
  gboolean blinking;
  guint phase = (guint) ((g_get_monotonic_time() - d->blink_epoch) / 1000);
  guint out = hv_lights_at(&in, phase, &blinking);
  static const struct { guint bit; HvSignal sig; } map[] = {
    { HV_LIGHT_READY, HV_SIGNAL_LED_READY }, { HV_LIGHT_RECORDING, HV_SIGNAL_LED_RECORDING },
    { HV_LIGHT_FAULT, HV_SIGNAL_LED_FAULT }, { HV_LIGHT_DOOR, HV_SIGNAL_DOOR_SIGN },
  };
  for (guint i = 0; i < G_N_ELEMENTS(map); i++) {
    g_autoptr(GError) err = NULL;
    if (!hv_gpio_set(d->gpio, map[i].sig, (out & map[i].bit) != 0, &err))
      g_warning("%s", err->message);
  }
  if (d->press_at && (out & HV_LIGHT_RECORDING) && !d->press_to_blink_us)
    d->press_to_blink_us = g_get_monotonic_time() - d->press_at;
  if (blinking && !d->blink_timer) {
    d->blink_timer = g_timeout_add(HV_LIGHTS_TICK_MS, on_blink, d);
  } else if (!blinking && d->blink_timer) {
    g_source_remove(d->blink_timer);
    d->blink_timer = 0;
  }
}

/* ---- sessions ---- */

static void audit(HvDaemon *d, const char *actor, const char *action, const char *result);

static void
record_recovered(const char *dir, guint64 seq, const char *fp, guint64 kept, const char *error, gpointer ud)
{
  HvDaemon *d = ud;
  g_autofree char *line = error ? g_strdup_printf("%s: NOT recovered: %s", dir, error)
                                : g_strdup_printf("%s: sequence %" G_GUINT64_FORMAT " sealed INTERRUPTED "
                                                  "(%" G_GUINT64_FORMAT " records kept), fingerprint %s",
                                                  dir, seq, kept, fp);
  hv_journal(error ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_MESSAGE, HV_MSGID_RECOVERED, "recovery: %s", line);
  audit(d, "recovery", "recover", line);
  if (error && !d->recovery_failure)
    d->recovery_failure = g_strdup(line);
  g_ptr_array_add(d->recovered, g_steal_pointer(&line));
  if (d->indexer)
    hv_catalog_indexer_add(d->indexer, dir);
}

/* Compare storage with the device state; a disagreement is a persistent
 * STORAGE fault, journaled when it changes. */
static void
refresh_ledger_fault(HvDaemon *d)
{
  g_autofree char *old = g_steal_pointer(&d->ledger_fault);
  g_autoptr(GPtrArray) problems = d->have_state ? hv_storage_cross_check(d->cfg->rec.roots, &d->dstate)
                                                : g_ptr_array_new_with_free_func(g_free);
  if (!d->have_state)
    g_ptr_array_insert(problems, 0, g_strdup(d->state_error));
  if (d->recovery_failure)
    g_ptr_array_add(problems, g_strdup(d->recovery_failure));
  if (problems->len == 0)
    return;
  g_ptr_array_add(problems, NULL);
  d->ledger_fault = g_strjoinv("; ", (char **) problems->pdata);
  if (g_strcmp0(old, d->ledger_fault) != 0)
    hv_journal(G_LOG_LEVEL_WARNING, HV_MSGID_FAULT, "storage disagrees with the device state: %s",
               d->ledger_fault);
}

/* At start-up, before any light turns green: load the device state, seal the
 * one session it says is open, report every other unsealed one. */
static void
ledger_startup(HvDaemon *d)
{
  GError *err = NULL;
  d->have_state = hv_storage_state_open(d->cfg->rec.roots, d->cfg->state_dir, d->key->pk, d->key_is_new,
                                        &d->dstate, &err);
  if (!d->have_state) {
    d->state_error = g_strdup(err->message);
    g_clear_error(&err);
  }
  hv_storage_recover_open(d->cfg->rec.roots, d->key, d->cfg->state_dir, d->have_state ? &d->dstate : NULL,
                          record_recovered, d);
  refresh_ledger_fault(d);
  if (d->ledger_fault)
    set_fault(d, HV_FAULT_STORAGE, d->ledger_fault);
}

/* The session's sequence is consumed before its header can exist. */
static gboolean
reserve_sequence(HvDaemon *d, GError **error)
{
  if (!d->have_state) {
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_LOST, "%s", d->state_error);
    return FALSE;
  }
  if (d->dstate.next_seq >= G_MAXUINT64 - 1) {
    g_set_error(error, HV_STORAGE_ERROR, HV_STORAGE_ERROR_STATE_DAMAGED, "sequence numbers exhausted");
    return FALSE;
  }
  HvDeviceState next = d->dstate;
  next.open_seq = d->dstate.next_seq;
  next.next_seq = d->dstate.next_seq + 1;
  if (!hv_storage_state_save(d->cfg->state_dir, &next, error))
    return FALSE;
  d->dstate = next;
  d->session_seq = next.open_seq;
  return TRUE;
}

static void
audit(HvDaemon *d, const char *actor, const char *action, const char *result)
{
  hv_journal(G_LOG_LEVEL_MESSAGE, HV_MSGID_CONTROL, "%s: %s: %s", actor, action, result);
  g_autoptr(GError) err = NULL;
  if (d->catalog && !hv_catalog_audit(d->catalog, actor, action, result, &err))
    g_warning("audit not stored (catalog): %s", err->message);
}

/* The sequence was reserved but no copy of the session exists: no header,
 * so it was never used; give it back. */
static void
release_unused_sequence(HvDaemon *d)
{
  if (hv_storage_session_exists(d->cfg->rec.roots, d->session_seq))
    return;
  g_autoptr(GError) serr = NULL;
  if (hv_storage_state_save(d->cfg->state_dir, &d->before_start, &serr))
    d->dstate = d->before_start;
  else
    g_warning("sequence %" G_GUINT64_FORMAT " stays consumed: %s", d->session_seq, serr->message);
}

static void
start_refused(HvDaemon *d, const GError *err, gboolean active)
{
  hv_journal(G_LOG_LEVEL_WARNING, HV_MSGID_STARTED, "start refused: %s", err->message);
  set_fault(d, err->domain == HV_RECORDER_ERROR ? classify(err) : HV_FAULT_SOURCE, err->message);
  if (!active) {
    release_unused_sequence(d);
    /* a stop (or shutdown) may have come while the start was under way */
    apply(d, d->state == HV_STATE_STOPPING ? HV_INPUT_FINISHED_FAULT : HV_INPUT_START_FAILED, "recorder");
    if (d->shutting_down)
      g_main_loop_quit(d->loop);
  } /* else the session is being sealed: on_finished follows */
}

static gboolean
do_start(gpointer user_data)
{
  HvDaemon *d = user_data;
  g_autoptr(GError) err = NULL;
  d->before_start = d->dstate; /* the state decides; storage was cross-checked at start-up */
  if (!reserve_sequence(d, &err)) {
    hv_journal(G_LOG_LEVEL_WARNING, HV_MSGID_STARTED, "start refused: %s", err->message);
    set_fault(d, HV_FAULT_STORAGE, err->message);
    apply(d, HV_INPUT_START_FAILED, "recorder");
    return G_SOURCE_REMOVE;
  }
  g_autofree char *text = g_strdup_printf("recording started in room '%s' (device %s)", d->cfg->rec.room,
                                          d->key_id);
  const char *notes[] = { d->pending_note, NULL };
  if (!hv_capture_supervisor_start(d->rec, d->session_seq, d->dstate.sealed_seq ? d->dstate.sealed_hash : NULL,
                                   text, notes, &err))
    start_refused(d, err, FALSE);
  return G_SOURCE_REMOVE; /* the outcome follows through on_started */
}

static void
transition(HvDaemon *d, HvState next, HvInput in, const char *actor)
{
  HvState prev = d->state;
  d->state = next;
  g_autofree char *text = g_strdup_printf("state %s -> %s (%s by %s)", hv_state_name(prev), hv_state_name(next),
                                          hv_input_name(in), actor);
  g_log_structured(G_LOG_DOMAIN, G_LOG_LEVEL_MESSAGE, "MESSAGE_ID", HV_MSGID_STATE, "HAVEN_STATE",
                   hv_state_name(next), "MESSAGE", "%s", text);
  hv_capture_supervisor_event(d->rec, HV_EVENT_NOTE, text);
  sd_notifyf(0, "STATUS=%s", hv_state_name(next));
  d->blink_epoch = g_get_monotonic_time(); /* every pattern starts at its "on" phase */
  update_lights(d);
}

static void
apply(HvDaemon *d, HvInput in, const char *actor)
{
  HvAction action;
  HvState next = hv_machine_next(d->state, in, &action);
  if (action == HV_ACTION_IGNORED) {
    g_autofree char *t = g_strdup_printf("%s by %s ignored while %s", hv_input_name(in), actor,
                                         hv_state_name(d->state));
    hv_journal(G_LOG_LEVEL_MESSAGE, HV_MSGID_IGNORED, "%s", t);
    hv_capture_supervisor_event(d->rec, HV_EVENT_NOTE, t);
    return;
  }
  if (next != d->state)
    transition(d, next, in, actor);
  if (action == HV_ACTION_START) {
    /* the lights already blink red; open the session right after this dispatch */
    g_idle_add_full(G_PRIORITY_HIGH_IDLE, do_start, d, NULL);
  } else if (action == HV_ACTION_STOP) {
    g_autofree char *reason = d->shutting_down ? g_strdup("stopped by shutdown")
                                               : g_strdup_printf("stopped by %s", actor);
    hv_capture_supervisor_stop(d->rec, reason);
  }
}

/* ---- recorder callbacks ---- */

static void
on_started(HvCaptureSupervisor *s, const GError *error, gboolean active, gpointer ud)
{
  HvDaemon *d = ud;
  if (error) {
    start_refused(d, error, active);
    return;
  }
  g_clear_pointer(&d->pending_note, g_free); /* it is in this session's chain now */
  if (d->ledger_fault)
    set_fault(d, HV_FAULT_STORAGE, d->ledger_fault);
  else if (d->fault != HV_FAULT_NONE)
    set_fault(d, HV_FAULT_NONE, NULL);
  hv_journal(G_LOG_LEVEL_MESSAGE, HV_MSGID_STARTED, "session sequence %" G_GUINT64_FORMAT " started",
             d->session_seq);
}

static void
on_health(HvCaptureSupervisor *s, gboolean healthy, const char *why, gpointer ud)
{
  HvDaemon *d = ud;
  if (healthy) {
    if (d->press_at && !d->press_to_steady_us)
      d->press_to_steady_us = g_get_monotonic_time() - d->press_at;
    if (d->fault == HV_FAULT_SOURCE)
      set_fault(d, HV_FAULT_NONE, NULL);
    apply(d, HV_INPUT_HEALTHY, "recorder");
  } else if (why && d->state == HV_STATE_RECORDING) {
    set_fault(d, HV_FAULT_SOURCE, why);
  }
}

static void
on_fault(HvCaptureSupervisor *s, HvFaultClass cls, gboolean active, const char *why, gpointer ud)
{
  HvDaemon *d = ud;
  if (active)
    set_fault(d, cls, why);
  else if (d->fault == cls && hv_capture_supervisor_is_healthy(s))
    set_fault(d, HV_FAULT_NONE, NULL);
}

static void
on_finished(HvCaptureSupervisor *s, const HvSessionResult *res, gpointer ud)
{
  HvDaemon *d = ud;
  g_free(d->last_status);
  g_free(d->last_fingerprint);
  g_free(d->last_dir);
  g_free(d->last_reason);
  d->last_status = g_strdup(res->sealed ? hv_status_name(res->status) : "UNSEALED");
  d->last_fingerprint = g_strdup(res->fingerprint);
  d->last_dir = g_strdup(res->dirs[0]);
  d->last_reason = g_strdup(res->reason);
  hv_journal(G_LOG_LEVEL_MESSAGE, HV_MSGID_SEALED, "session sequence %" G_GUINT64_FORMAT " %s%s%s: %s",
             res->seq, d->last_status, res->fingerprint ? ", fingerprint " : "",
             res->fingerprint ? res->fingerprint : "", res->reason ? res->reason : "");
  if (res->sealed && d->have_state) {
    if (res->seq > d->dstate.sealed_seq) {
      d->dstate.sealed_seq = res->seq;
      memcpy(d->dstate.sealed_hash, res->seal_hash, HV_HASH_SIZE);
    }
    if (d->dstate.open_seq == res->seq)
      d->dstate.open_seq = 0;
    g_autoptr(GError) err = NULL;
    if (!hv_storage_state_save(d->cfg->state_dir, &d->dstate, &err))
      g_warning("%s (the next start recovers from the seal itself)", err->message);
  }
  for (guint i = 0; d->indexer && res->dirs[i]; i++)
    hv_catalog_indexer_add(d->indexer, res->dirs[i]);
  /* hand the pipeline's freed frames back to the system: idle RSS matters on the board */
  malloc_trim(0);
  gboolean ok = res->sealed && res->status == HV_STATUS_COMPLETE;
  if (!ok && d->fault == HV_FAULT_NONE)
    set_fault(d, HV_FAULT_STORAGE, res->reason ? res->reason : "session not sealed COMPLETE");
  apply(d, ok ? HV_INPUT_FINISHED : HV_INPUT_FINISHED_FAULT, "recorder");
  if (d->shutting_down)
    g_main_loop_quit(d->loop);
}

static gboolean idle_check(gpointer ud);

/* The fault light has shown the lost capture; the self-check decides now. */
static gboolean
on_capture_fault_over(gpointer ud)
{
  HvDaemon *d = ud;
  d->capture_fault_timer = 0;
  if (d->fault == HV_FAULT_SOURCE && g_strcmp0(d->fault_reason, d->capture_fault) == 0)
    set_fault(d, HV_FAULT_NONE, NULL);
  idle_check(d);
  return G_SOURCE_REMOVE;
}

/* The capture process died, hung or broke the protocol without a sealed
 * result: havend seals the session by recovery, as at start-up, and tells
 * the next session's chain. */
static void
on_capture_lost(HvCaptureSupervisor *s, guint64 seq, const char *why, gpointer ud)
{
  HvDaemon *d = ud;
  g_autofree char *t = g_strdup_printf("capture process lost during session sequence %" G_GUINT64_FORMAT ": %s",
                                       seq, why);
  g_free(d->capture_fault);
  d->capture_fault = g_strdup(t);
  set_fault(d, HV_FAULT_SOURCE, t);
  audit(d, "supervisor", "capture lost", t);
  gboolean never_existed = d->have_state && d->dstate.open_seq == seq &&
                           !hv_storage_session_exists(d->cfg->rec.roots, seq);
  if (never_existed) {
    release_unused_sequence(d); /* it died before the session's header existed */
  } else {
    hv_storage_recover_open(d->cfg->rec.roots, d->key, d->cfg->state_dir, d->have_state ? &d->dstate : NULL,
                            record_recovered, d);
    refresh_ledger_fault(d);
  }
  gboolean sealed = d->have_state && d->dstate.sealed_seq == seq;
  g_autofree char *fp = sealed ? hv_fingerprint_from_seal_hash(d->dstate.sealed_hash) : NULL;
  g_free(d->last_status);
  g_free(d->last_fingerprint);
  g_free(d->last_dir);
  g_free(d->last_reason);
  d->last_status = g_strdup(sealed ? "INTERRUPTED" : never_existed ? "NOT STARTED" : "UNSEALED");
  d->last_fingerprint = g_strdup(fp);
  d->last_dir = NULL;
  d->last_reason = g_strdup(t);
  g_free(d->pending_note);
  d->pending_note = never_existed ? g_strdup_printf("a start before this one failed: the capture process was lost "
                                                   "(%s) before the session existed", why)
                  : sealed ? g_strdup_printf("previous session sequence %" G_GUINT64_FORMAT " ended by a capture "
                                             "process failure (%s); havend sealed it INTERRUPTED by recovery, "
                                             "fingerprint %s", seq, why, fp)
                           : g_strdup_printf("previous session sequence %" G_GUINT64_FORMAT " ended by a capture "
                                             "process failure (%s); it could not be sealed", seq, why);
  hv_journal(G_LOG_LEVEL_WARNING, HV_MSGID_SEALED, "session sequence %" G_GUINT64_FORMAT " %s%s%s", seq,
             d->last_status, fp ? ", fingerprint " : "", fp ? fp : "");
  malloc_trim(0);
  apply(d, HV_INPUT_FINISHED_FAULT, "supervisor");
  if (d->ledger_fault)
    set_fault(d, HV_FAULT_STORAGE, d->ledger_fault);
  if (d->capture_fault_timer)
    g_source_remove(d->capture_fault_timer);
  d->capture_fault_timer = g_timeout_add(CAPTURE_LOST_FAULT_MS, on_capture_fault_over, d);
  if (d->shutting_down)
    g_main_loop_quit(d->loop);
}

/* ---- buttons ---- */

static gboolean on_button_timer(gpointer ud);

static void
button_event(HvDaemon *d, guint which, HvButtonEvent ev)
{
  if (which == 0 && ev == HV_BUTTON_DOWN) {
    if (d->state == HV_STATE_IDLE || d->state == HV_STATE_FAULT) {
      d->press_at = g_get_monotonic_time();
      d->press_to_blink_us = d->press_to_steady_us = 0;
    }
    apply(d, HV_INPUT_PRESS, "record button");
  } else if (which == 0 && ev == HV_BUTTON_HOLD) {
    apply(d, HV_INPUT_HOLD, "record button");
  } else if (which == 1 && ev == HV_BUTTON_DOWN) {
    if (d->state == HV_STATE_RECORDING || d->state == HV_STATE_STARTING) {
      hv_capture_supervisor_event(d->rec, HV_EVENT_MARKER, "marker button");
      audit(d, "marker button", "mark", "marker added");
    } else {
      hv_journal(G_LOG_LEVEL_MESSAGE, HV_MSGID_IGNORED, "marker press ignored while %s",
                 hv_state_name(d->state));
    }
  }
}

static void
schedule_buttons(HvDaemon *d)
{
  if (d->button_timer) {
    g_source_remove(d->button_timer);
    d->button_timer = 0;
  }
  gint64 next = -1;
  for (guint i = 0; i < 2; i++) {
    gint64 t = hv_button_next_deadline(&d->buttons[i]);
    if (t >= 0)
      next = next < 0 ? t : MIN(next, t);
  }
  d->button_deferred = FALSE;
  d->button_deadline = next;
  if (next >= 0) {
    gint64 ms = (next - g_get_monotonic_time() + 999) / 1000;
    d->button_timer = g_timeout_add((guint) MAX(ms, 0), on_button_timer, d);
  }
}

static gboolean
on_button_timer(gpointer ud)
{
  HvDaemon *d = ud;
  d->button_timer = 0;
  gint64 now = g_get_monotonic_time();
  /* Fired late: the main loop was busy (a session start on a loaded board).
   * An edge that happened meanwhile may still be queued; read it first, or a
   * short press would be taken for a hold. */
  if (!d->button_deferred && now - d->button_deadline > BUTTON_LATE_US) {
    d->button_deferred = TRUE;
    d->button_timer = g_idle_add_full(G_PRIORITY_LOW, on_button_timer, d, NULL);
    return G_SOURCE_REMOVE;
  }
  for (guint i = 0; i < 2; i++) {
    HvButtonEvent ev;
    while ((ev = hv_button_tick(&d->buttons[i], now)) != HV_BUTTON_NONE)
      button_event(d, i, ev);
  }
  schedule_buttons(d);
  return G_SOURCE_REMOVE;
}

static void
on_input(HvSignal s, gboolean active, gint64 time_us, gpointer ud)
{
  HvDaemon *d = ud;
  guint which = s == HV_SIGNAL_RECORD ? 0 : 1;
  HvButtonEvent ev;
  /* Deadlines that fell before this edge happened come first: an edge read
   * late keeps the time it happened (a hold is a hold, a tap a tap). An edge
   * of unknown time (-1) is taken as now, without that: a late read must
   * never turn a tap into a hold, which would stop a recording. */
  if (time_us >= 0) {
    while ((ev = hv_button_tick(&d->buttons[which], time_us)) != HV_BUTTON_NONE)
      button_event(d, which, ev);
  } else {
    time_us = g_get_monotonic_time();
  }
  ev = hv_button_feed(&d->buttons[which], active, time_us);
  if (ev != HV_BUTTON_NONE)
    button_event(d, which, ev);
  schedule_buttons(d);
}

/* ---- idle checks, signals, watchdog ---- */

static gboolean
idle_check(gpointer ud)
{
  HvDaemon *d = ud;
  if (d->state != HV_STATE_IDLE && d->state != HV_STATE_FAULT)
    return G_SOURCE_CONTINUE;
  g_autoptr(GError) err = NULL;
  if (!hv_recorder_preflight_config(&d->cfg->rec, &err)) {
    set_fault(d, classify(err), err->message);
    apply(d, HV_INPUT_FAULT, "self-check");
  } else {
    if (d->ledger_fault)
      set_fault(d, HV_FAULT_STORAGE, d->ledger_fault); /* persists until the storage agrees */
    else if (d->fault != HV_FAULT_NONE && d->fault != HV_FAULT_SOURCE)
      set_fault(d, HV_FAULT_NONE, NULL);
    if (d->fault == HV_FAULT_NONE)
      apply(d, HV_INPUT_FAULT_CLEARED, "self-check");
    else if (d->ledger_fault)
      apply(d, HV_INPUT_FAULT, "storage check");
  }
  guint64 need = hv_recorder_config_byte_rate(&d->cfg->rec) * 60 * d->cfg->low_space_minutes, avail;
  gboolean low = FALSE;
  for (guint i = 0; d->cfg->rec.roots[i]; i++)
    if (hv_storage_free_bytes(d->cfg->rec.roots[i], &avail, NULL) && avail < need)
      low = TRUE;
  if (low != d->low_space) {
    d->low_space = low;
    update_lights(d);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_terminate(gpointer ud)
{
  HvDaemon *d = ud;
  if (d->shutting_down)
    return G_SOURCE_CONTINUE;
  d->shutting_down = TRUE;
  sd_notify(0, "STOPPING=1");
  if (hv_capture_supervisor_is_active(d->rec)) {
    g_message("shutdown requested: sealing the open session first");
    hv_capture_supervisor_event(d->rec, HV_EVENT_NOTE, "stopped by shutdown");
    if (d->state == HV_STATE_STOPPING)
      return G_SOURCE_CONTINUE; /* already sealing */
    apply(d, HV_INPUT_STOP_REQUEST, "shutdown");
  } else {
    g_main_loop_quit(d->loop);
  }
  return G_SOURCE_CONTINUE;
}

static gboolean
on_watchdog(gpointer ud)
{
  sd_notify(0, "WATCHDOG=1");
  return G_SOURCE_CONTINUE;
}

/* ---- control API ---- */

static void
add_str(JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name(b, name);
  if (value)
    json_builder_add_string_value(b, value);
  else
    json_builder_add_null_value(b);
}

static JsonNode *
status_reply(HvDaemon *d)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "ok");
  json_builder_add_boolean_value(b, TRUE);
  add_str(b, "state", hv_state_name(d->state));
  add_str(b, "room", d->cfg->rec.room);
  add_str(b, "device", d->key_id);
  add_str(b, "board", d->gpio->board->name);
  add_str(b, "fault", d->fault == HV_FAULT_NONE ? NULL : hv_fault_class_name(d->fault));
  add_str(b, "fault_reason", d->fault_reason);
  json_builder_set_member_name(b, "low_space");
  json_builder_add_boolean_value(b, d->low_space);
  json_builder_set_member_name(b, "healthy");
  json_builder_add_boolean_value(b, hv_capture_supervisor_is_healthy(d->rec));
  json_builder_set_member_name(b, "lights");
  json_builder_begin_object(b);
  for (guint s = HV_SIGNAL_LED_READY; s < HV_SIGNAL_COUNT; s++) {
    json_builder_set_member_name(b, hv_signal_name((HvSignal) s));
    json_builder_add_boolean_value(b, d->gpio->outputs[s]);
  }
  json_builder_end_object(b);
  if (hv_capture_supervisor_is_active(d->rec)) {
    HvRecorderStats st;
    hv_capture_supervisor_get_stats(d->rec, &st);
    json_builder_set_member_name(b, "session");
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "sequence");
    json_builder_add_int_value(b, (gint64) d->session_seq);
    json_builder_set_member_name(b, "bytes_sealed");
    json_builder_add_int_value(b, (gint64) st.bytes_sealed);
    json_builder_set_member_name(b, "start_latency_ms");
    json_builder_add_double_value(b, st.start_latency_us / 1000.0);
    json_builder_set_member_name(b, "capture_pid");
    json_builder_add_int_value(b, hv_capture_supervisor_get_pid(d->rec));
    json_builder_end_object(b);
  }
  json_builder_set_member_name(b, "last_session");
  json_builder_begin_object(b);
  add_str(b, "status", d->last_status);
  add_str(b, "fingerprint", d->last_fingerprint);
  add_str(b, "dir", d->last_dir);
  add_str(b, "reason", d->last_reason);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "recovered");
  json_builder_begin_array(b);
  for (guint i = 0; i < d->recovered->len; i++)
    json_builder_add_string_value(b, d->recovered->pdata[i]);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "press_to_blink_ms");
  json_builder_add_double_value(b, d->press_to_blink_us / 1000.0);
  json_builder_set_member_name(b, "press_to_steady_ms");
  json_builder_add_double_value(b, d->press_to_steady_us / 1000.0);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

static JsonNode *
ok_reply(const char *message)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "ok");
  json_builder_add_boolean_value(b, TRUE);
  add_str(b, "message", message);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

/* ---- control requests: every field is checked before use ---- */

#define COMMAND_MAX 32
#define NAME_MAX_BYTES 32
#define MARKER_TEXT_MAX 200

/* Text from a request that may be echoed into a reply, the journal or the
 * audit: printable, one line. Control and format characters and line or
 * paragraph separators (which forge lines or rewrite a terminal) are not. */
static gboolean
text_is_printable(const char *s, gsize *ret_bad_offset)
{
  for (const char *p = s; *p; p = g_utf8_next_char(p)) {
    gunichar ch = g_utf8_get_char(p);
    GUnicodeType t = g_unichar_type(ch);
    if (t == G_UNICODE_CONTROL || t == G_UNICODE_FORMAT || t == G_UNICODE_LINE_SEPARATOR ||
        t == G_UNICODE_PARAGRAPH_SEPARATOR || t == G_UNICODE_SURROGATE) {
      *ret_bad_offset = (gsize) (p - s);
      return FALSE;
    }
  }
  return TRUE;
}

/* Member name of req as a printable string of at most max bytes; absent:
 * def. Any other JSON type (null too), a longer string or a control
 * character is an error naming the member. */
static gboolean
request_string(JsonObject *req, const char *name, const char *def, gsize max, const char **ret_value,
               GError **error)
{
  JsonNode *n = json_object_get_member(req, name);
  if (!n) {
    *ret_value = def;
    return TRUE;
  }
  if (!JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING) {
    g_set_error(error, HV_DAEMON_ERROR, HV_DAEMON_ERROR_REQUEST, "'%s' must be a string", name);
    return FALSE;
  }
  const char *v = json_node_get_string(n);
  if (strlen(v) > max) {
    g_set_error(error, HV_DAEMON_ERROR, HV_DAEMON_ERROR_REQUEST, "'%s' is limited to %" G_GSIZE_FORMAT " bytes",
                name, max);
    return FALSE;
  }
  gsize bad;
  if (!text_is_printable(v, &bad)) {
    g_set_error(error, HV_DAEMON_ERROR, HV_DAEMON_ERROR_REQUEST,
                "'%s' must be one line of printable text: control character U+%04X at byte %" G_GSIZE_FORMAT
                " (line breaks, escape sequences and other control characters are refused, not escaped)",
                name, (guint) g_utf8_get_char(v + bad), bad);
    return FALSE;
  }
  *ret_value = v;
  return TRUE;
}

/* "edges": a JSON integer or a decimal string, from min to max. */
static gboolean
request_count(JsonObject *req, const char *name, guint64 min, guint64 max, guint64 *ret_value, GError **error)
{
  JsonNode *n = json_object_get_member(req, name);
  gboolean ok = FALSE;
  guint64 v = 0;
  if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_INT64) {
    gint64 i = json_node_get_int(n);
    ok = i >= 0 && (guint64) i >= min && (guint64) i <= max;
    v = (guint64) i;
  } else if (n && JSON_NODE_HOLDS_VALUE(n) && json_node_get_value_type(n) == G_TYPE_STRING) {
    ok = g_ascii_string_to_unsigned(json_node_get_string(n), 10, min, max, &v, NULL);
  }
  if (!ok) {
    g_set_error(error, HV_DAEMON_ERROR, HV_DAEMON_ERROR_REQUEST,
                "'%s' must be a number from %" G_GUINT64_FORMAT " to %" G_GUINT64_FORMAT, name, min, max);
    return FALSE;
  }
  *ret_value = v;
  return TRUE;
}

/* A request refused for its form: error reply and audit line. */
static JsonNode *
refuse(HvDaemon *d, const char *actor, const char *action, const GError *err)
{
  g_autofree char *result = g_strdup_printf("refused: %s", err->message);
  audit(d, actor, action, result);
  return hv_control_reply_error("%s", err->message);
}

static void
on_control_refused(const char *actor, const char *why, gpointer ud)
{
  g_autofree char *result = g_strdup_printf("refused: %s", why);
  audit(ud, actor, "request", result);
}

static JsonNode *
handle_sim(HvDaemon *d, JsonObject *req, const char *actor)
{
  g_autoptr(GError) err = NULL;
  const char *action, *signal;
  if (!request_string(req, "action", "", NAME_MAX_BYTES, &action, &err) ||
      !request_string(req, "signal", "record", NAME_MAX_BYTES, &signal, &err))
    return refuse(d, actor, "sim", err);
  HvSignal s;
  if (!hv_signal_from_name(signal, &s) || !HV_SIGNAL_IS_INPUT(s))
    return hv_control_reply_error("'%s' is not an input (record, marker)", signal);
  if (g_str_equal(action, "storm")) {
    guint64 edges = 0;
    if (!request_count(req, "edges", 1, 100000, &edges, &err))
      return refuse(d, actor, "sim storm", err);
    if (!hv_gpio_sim_storm(d->gpio, s, (guint) edges, 1, &err))
      return hv_control_reply_error("%s", err->message);
  } else if (g_str_equal(action, "press") || g_str_equal(action, "release")) {
    /* at_us: when the person pressed, CLOCK_MONOTONIC (the CLI sends it), as
     * the kernel stamps a real edge; a request read late keeps that time. */
    guint64 at = 0;
    gint64 now = g_get_monotonic_time();
    if (json_object_has_member(req, "at_us") && !request_count(req, "at_us", 1, G_MAXINT64, &at, &err))
      return refuse(d, actor, "sim", err);
    if (at && ((gint64) at > now || now - (gint64) at > SIM_EDGE_AGE_MAX_US)) {
      g_set_error(&err, HV_DAEMON_ERROR, HV_DAEMON_ERROR_REQUEST,
                  "'at_us' is not a monotonic time of the last %d s", (int) (SIM_EDGE_AGE_MAX_US / G_USEC_PER_SEC));
      return refuse(d, actor, "sim", err);
    }
    if (!hv_gpio_sim_set_input(d->gpio, s, g_str_equal(action, "press"), at ? (gint64) at : -1, &err))
      return hv_control_reply_error("%s", err->message);
  } else {
    return hv_control_reply_error("sim action must be press, release or storm");
  }
  g_autofree char *what = g_strdup_printf("sim %s %s", action, signal);
  audit(d, actor, what, "done");
  return ok_reply(what);
}

static JsonNode *
handle_mark(HvDaemon *d, JsonObject *req, const char *actor)
{
  g_autoptr(GError) err = NULL;
  const char *text;
  if (!request_string(req, "text", "", MARKER_TEXT_MAX, &text, &err))
    return refuse(d, actor, "mark", err);
  if (d->state != HV_STATE_RECORDING && d->state != HV_STATE_STARTING) {
    audit(d, actor, "mark", "refused: not recording");
    return hv_control_reply_error("not recording (state %s)", hv_state_name(d->state));
  }
  g_autofree char *t = g_strdup_printf("marker by %s%s%s", actor, *text ? ": " : "", text);
  hv_capture_supervisor_event(d->rec, HV_EVENT_MARKER, t);
  audit(d, actor, "mark", t);
  return ok_reply("marker added");
}

static JsonNode *
on_control(JsonObject *req, const char *actor, gpointer ud)
{
  HvDaemon *d = ud;
  g_autoptr(GError) err = NULL;
  const char *cmd;
  if (!request_string(req, "command", NULL, COMMAND_MAX, &cmd, &err))
    return refuse(d, actor, "request", err);
  if (!cmd) {
    g_set_error(&err, HV_DAEMON_ERROR, HV_DAEMON_ERROR_REQUEST, "'command' is missing");
    return refuse(d, actor, "request", err);
  }
  if (g_str_equal(cmd, "status"))
    return status_reply(d);
  if (g_str_equal(cmd, "sim"))
    return handle_sim(d, req, actor);
  if (g_str_equal(cmd, "start") || g_str_equal(cmd, "stop")) {
    HvState before = d->state;
    apply(d, g_str_equal(cmd, "start") ? HV_INPUT_START_REQUEST : HV_INPUT_STOP_REQUEST, actor);
    gboolean moved = d->state != before;
    g_autofree char *result = moved ? g_strdup_printf("%s -> %s", hv_state_name(before), hv_state_name(d->state))
                                    : g_strdup_printf("ignored while %s", hv_state_name(before));
    audit(d, actor, cmd, result);
    return moved ? ok_reply(result) : hv_control_reply_error("%s", result);
  }
  if (g_str_equal(cmd, "mark"))
    return handle_mark(d, req, actor);
  audit(d, actor, cmd, "unknown command");
  return hv_control_reply_error("unknown command '%s' (status, start, stop, mark, sim)", cmd);
}

/* ---- life cycle ---- */

static HvDeviceKey *
device_key(const HvConfig *cfg, gboolean *ret_created, GError **error)
{
  *ret_created = FALSE;
  if (g_file_test(cfg->device_key_path, G_FILE_TEST_EXISTS))
    return hv_device_key_load(cfg->device_key_path, error);
  g_autofree char *dir = g_path_get_dirname(cfg->device_key_path);
  g_mkdir_with_parents(dir, 0750);
  HvDeviceKey *key = hv_device_key_generate(cfg->device_key_path, error);
  if (key) {
    *ret_created = TRUE;
    g_autofree char *id = hv_key_id(key->pk, HV_DEVICE_PK_SIZE);
    g_autofree char *hex = hv_hex(key->pk, HV_DEVICE_PK_SIZE);
    hv_journal(G_LOG_LEVEL_MESSAGE, HV_MSGID_DEVICEKEY, "created device key %s (id %s, public key %s); "
               "give %s.pub to the custodians", cfg->device_key_path, id, hex, cfg->device_key_path);
  }
  return key;
}

HvDaemon *
hv_daemon_new(HvConfig *cfg, GError **error)
{
  /* every exit below frees d through its cleanup function: no labels to jump past */
  g_autoptr(HvDaemon) d = g_new0(HvDaemon, 1);
  d->state_lock_fd = -1;
  d->cfg = cfg;
  d->recovered = g_ptr_array_new_with_free_func(g_free);
  d->loop = g_main_loop_new(NULL, FALSE);
  if (g_mkdir_with_parents(cfg->state_dir, 0750) < 0) {
    int e = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "state directory %s cannot be created: %s",
                cfg->state_dir, g_strerror(e));
    return NULL;
  }
  /* Before anything else is touched: one havend per state directory (its
   * device state, key, control socket); haven recover --state-dir refuses
   * while it is held. */
  if ((d->state_lock_fd = hv_storage_lock_state_dir(cfg->state_dir, error)) < 0)
    return NULL;
  if (!(d->key = device_key(cfg, &d->key_is_new, error))) {
    g_prefix_error(error, "device key: ");
    return NULL;
  }
  d->key_id = hv_key_id(d->key->pk, HV_DEVICE_PK_SIZE);

  g_autoptr(GError) cerr = NULL;
  gboolean fresh = FALSE;
  d->catalog = hv_catalog_open_or_recreate(cfg->catalog_path, &fresh, &cerr);
  if (d->catalog) {
    d->indexer = hv_catalog_indexer_new(cfg->catalog_path);
    if (fresh)
      hv_catalog_indexer_rebuild(d->indexer, cfg->rec.roots);
  } else {
    g_warning("running without a catalog (recording is not affected): %s", cerr->message);
  }
  /* Before any light turns green: seal what a crash left open. */
  ledger_startup(d);

  HvBoard *board = hv_board_load(cfg->board_path, error);
  if (!board || !(d->gpio = hv_gpio_new(board, on_input, d, error)))
    return NULL;
  hv_button_init(&d->buttons[0], d->gpio->board->lines[HV_SIGNAL_RECORD].debounce_ms, cfg->hold_to_stop_ms);
  hv_button_init(&d->buttons[1], d->gpio->board->lines[HV_SIGNAL_MARKER].debounce_ms, 60000);

  HvCaptureSupervisorCallbacks rcb = { on_started, on_health, on_fault, on_finished, on_capture_lost };
  d->rec = hv_capture_supervisor_new(&cfg->rec, d->key, d->state_lock_fd, &rcb, d);
  if (!(d->control = hv_control_new(cfg->control_socket, cfg->control_group, on_control, on_control_refused, d,
                                     error)))
    return NULL;
  return g_steal_pointer(&d);
}

int
hv_daemon_run(HvDaemon *d)
{
  g_unix_signal_add(SIGTERM, on_terminate, d);
  g_unix_signal_add(SIGINT, on_terminate, d);
  idle_check(d);
  update_lights(d);
  d->idle_timer = g_timeout_add_seconds(IDLE_CHECK_S, idle_check, d);
  guint64 wd_us = 0;
  if (sd_watchdog_enabled(0, &wd_us) > 0)
    d->watchdog_timer = g_timeout_add((guint) (wd_us / 2000), on_watchdog, d);
  hv_journal(G_LOG_LEVEL_MESSAGE, HV_MSGID_STATE, "havend ready: room '%s', device %s, board %s, state %s",
             d->cfg->rec.room, d->key_id, d->gpio->board->name, hv_state_name(d->state));
  sd_notifyf(0, "READY=1\nSTATUS=%s", hv_state_name(d->state));
  g_main_loop_run(d->loop);
  return d->exit_code;
}

void
hv_daemon_free(HvDaemon *d)
{
  if (!d)
    return;
  if (d->button_timer)
    g_source_remove(d->button_timer);
  if (d->blink_timer)
    g_source_remove(d->blink_timer);
  if (d->idle_timer)
    g_source_remove(d->idle_timer);
  if (d->watchdog_timer)
    g_source_remove(d->watchdog_timer);
  hv_control_free(d->control);
  if (d->capture_fault_timer)
    g_source_remove(d->capture_fault_timer);
  hv_capture_supervisor_free(d->rec); /* a running capture seals its session itself */
  hv_gpio_free(d->gpio); /* every output off: safe state */
  hv_catalog_indexer_free(d->indexer);
  hv_catalog_free(d->catalog);
  hv_device_key_free(d->key);
  g_free(d->key_id);
  g_free(d->fault_reason);
  g_free(d->state_error);
  g_free(d->recovery_failure);
  g_free(d->ledger_fault);
  g_free(d->last_status);
  g_free(d->last_fingerprint);
  g_free(d->last_dir);
  g_free(d->last_reason);
  g_free(d->pending_note);
  g_free(d->capture_fault);
  g_ptr_array_unref(d->recovered);
  g_main_loop_unref(d->loop);
  if (d->state_lock_fd >= 0)
    close(d->state_lock_fd); /* last: releases the state directory */
  g_free(d);
}
