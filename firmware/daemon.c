// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "daemon-private.h"
#include "journal.h"
#include "readiness.h"
#include "room.h"

#include <errno.h>
#include <glib-unix.h>
#include <malloc.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#define BUTTON_LATE_US (200 * 1000)
#define IDLE_CHECK_S 60           /* faults set by a session or a refused start are retried this often */
#define READY_CHECK_MS 2000       /* while idle: would a press now record? */
/* how long the fault light shows a lost capture process before the self-check may clear it */
#define CAPTURE_LOST_FAULT_MS 2000

G_DEFINE_QUARK(hv-daemon-error-quark, hv_daemon_error)


static void update_lights(HvDaemon *d);

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

/* ---- readiness: would a press now record? ---- */

static HvFaultClass
readiness_class(HvReadinessKind kind)
{
  switch (kind) {
  case HV_READINESS_CLOCK:
    return HV_FAULT_CLOCK;
  case HV_READINESS_KEYS:
    return HV_FAULT_KEYS;
  case HV_READINESS_CAMERA:
  case HV_READINESS_MICROPHONE:
  case HV_READINESS_CAPTURE:
    return HV_FAULT_SOURCE;
  case HV_READINESS_STORAGE:
    break;
  }
  return HV_FAULT_STORAGE;
}

/* Probe the sources, storage, recipients and clock; d->not_ready lists what
 * is missing. Not ready: the fault (the first problem's class, every problem
 * in the reason) is set and remembered as the probe's own, so that the probe
 * clears it, and only it, when everything is back. set_fault journals a
 * change once. */
static gboolean
probe_readiness(HvDaemon *d)
{
  gint64 t0 = g_get_monotonic_time();
  g_autoptr(GPtrArray) problems = hv_readiness_check(&d->cfg->rec, NULL, 0);
  hv_capture_supervisor_prepare(d->rec); /* once, or again after a failure */
  const char *engine = hv_capture_supervisor_not_ready(d->rec);
  if (engine) {
    HvReadinessProblem *p = g_new0(HvReadinessProblem, 1);
    p->kind = HV_READINESS_CAPTURE;
    p->text = g_strdup(engine);
    g_ptr_array_add(problems, p);
  }
  d->ready_probe_us = g_get_monotonic_time() - t0;
  g_clear_pointer(&d->not_ready, g_strfreev);
  if (problems->len == 0) {
    g_clear_pointer(&d->ready_fault, g_free);
    return TRUE;
  }
  d->not_ready = g_new0(char *, problems->len + 1);
  for (guint i = 0; i < problems->len; i++)
    d->not_ready[i] = g_strdup(((HvReadinessProblem *) problems->pdata[i])->text);
  g_free(d->ready_fault);
  d->ready_fault = g_strjoinv("; ", d->not_ready);
  set_fault(d, readiness_class(((HvReadinessProblem *) problems->pdata[0])->kind), d->ready_fault);
  return FALSE;
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
  HvLightsInput in = { .state = d->state, .fault = d->fault, .low_space = d->low_space, .feedback = d->feedback };
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
  /* a session's red, not the "armed" acknowledgement of the press */
  if (d->press_at && (out & HV_LIGHT_RECORDING) && !d->press_to_blink_us && d->state == HV_STATE_STARTING) {
    d->press_to_blink_us = g_get_monotonic_time() - d->press_at;
    if (d->release_at)
      d->release_to_blink_us = g_get_monotonic_time() - d->release_at;
  }
  if (blinking && !d->blink_timer) {
    d->blink_timer = g_timeout_add(HV_LIGHTS_TICK_MS, on_blink, d);
  } else if (!blinking && d->blink_timer) {
    g_source_remove(d->blink_timer);
    d->blink_timer = 0;
  }
}

/* ---- storage space ---- */

static void
set_space(HvDaemon *d, gint64 seconds_left, const char *root)
{
  d->seconds_left = seconds_left;
  if (root && g_strcmp0(root, d->space_root) != 0) {
    g_free(d->space_root);
    d->space_root = g_strdup(root);
  }
  gboolean low = seconds_left >= 0 && seconds_left < (gint64) d->cfg->rec.warn_minutes * 60;
  if (low != d->low_space) {
    d->low_space = low;
    if (low)
      hv_journal(G_LOG_LEVEL_WARNING, HV_MSGID_FAULT, "storage running low: %" G_GINT64_FORMAT
                 " minutes left on %s (warning below %u)", seconds_left / 60, root ? root : "?",
                 d->cfg->rec.warn_minutes);
    update_lights(d);
  }
}

/* ---- press feedback ---- */

static gboolean
on_feedback_end(gpointer ud)
{
  HvDaemon *d = ud;
  d->feedback_timer = 0;
  d->feedback = HV_FEEDBACK_NONE;
  update_lights(d);
  return G_SOURCE_REMOVE;
}

static void
end_feedback(HvDaemon *d)
{
  if (d->feedback_timer) {
    g_source_remove(d->feedback_timer);
    d->feedback_timer = 0;
  }
  if (d->feedback == HV_FEEDBACK_NONE)
    return;
  d->feedback = HV_FEEDBACK_NONE;
  update_lights(d);
}

/* Acknowledge a press that happened at press_us, on top of the state's pattern. */
static void
show_feedback(HvDaemon *d, HvFeedback fb, gint64 press_us)
{
  if (d->feedback_timer) {
    g_source_remove(d->feedback_timer);
    d->feedback_timer = 0;
  }
  d->feedback = fb;
  update_lights(d);
  d->last_feedback = fb;
  d->feedback_press_us = press_us;
  d->feedback_shown_us = g_get_monotonic_time();
  d->feedback_count++;
  guint ms = hv_feedback_duration_ms(fb);
  if (ms)
    d->feedback_timer = g_timeout_add(ms, on_feedback_end, d);
}

/* ---- sessions ---- */


static void
record_recovered(const char *dir, guint64 seq, const char *fp, guint64 kept, const char *error, gpointer ud)
{
  HvDaemon *d = ud;
  g_autofree char *line = error ? g_strdup_printf("%s: NOT recovered: %s", dir, error)
                                : g_strdup_printf("%s: sequence %" G_GUINT64_FORMAT " sealed INTERRUPTED "
                                                  "(%" G_GUINT64_FORMAT " record%s kept), fingerprint %s",
                                                  dir, seq, kept, kept == 1 ? "" : "s", fp);
  hv_journal(error ? G_LOG_LEVEL_WARNING : G_LOG_LEVEL_MESSAGE, HV_MSGID_RECOVERED, "recovery: %s", line);
  hv_daemon_audit(d, "recovery", "recover", line);
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

/* At start-up: the newest session this device sealed, as status's "last
 * session" (a restart after a crash or an update must not hide how it ended). */
static void
last_session_from_storage(HvDaemon *d)
{
  if (!d->have_state || !d->dstate.sealed_seq || d->last_status)
    return;
  guint64 seq = d->dstate.sealed_seq;
  g_autofree char *name = hv_storage_session_name(seq, 0);
  *(strchr(name, '-') + 1) = '\0'; /* "S000042-" */
  for (guint r = 0; d->cfg->rec.roots[r]; r++) {
    g_autoptr(GPtrArray) dirs = hv_vault_find_sessions(d->cfg->rec.roots[r], NULL);
    for (guint i = 0; dirs && i < dirs->len; i++) {
      g_autofree char *base = g_path_get_basename(dirs->pdata[i]);
      guint8 st, hash[HV_HASH_SIZE];
      if (!g_str_has_prefix(base, name) || !hv_storage_session_seal(dirs->pdata[i], d->key->pk, seq, &st, hash))
        continue;
      /* the copy that holds the state's seal (another copy may be IO_FAILED) */
      if (memcmp(hash, d->dstate.sealed_hash, HV_HASH_SIZE) != 0)
        continue;
      d->last_status = g_strdup(hv_status_name(st));
      d->last_fingerprint = hv_fingerprint_from_seal_hash(hash);
      d->last_dir = g_strdup(dirs->pdata[i]);
      return;
    }
  }
}

/* At start-up, before any light turns green: load the device state, seal the
 * one session it says is open, report every other unsealed one. */
static void
ledger_startup(HvDaemon *d)
{
  GError *err = NULL;
  d->have_state = hv_storage_state_open(d->cfg->rec.roots, d->cfg->state_dir, d->key->pk, FALSE, &d->dstate,
                                        &err); /* a fresh state is made by --init-device */
  if (!d->have_state) {
    d->state_error = g_strdup(err->message);
    g_clear_error(&err);
  }
  hv_storage_recover_open(d->cfg->rec.roots, d->key, d->cfg->state_dir, d->have_state ? &d->dstate : NULL,
                          record_recovered, d);
  /* Sequences allocated after the newest seal, none open, with no session
   * directory: starts that failed before their header, before havend last
   * stopped. The next session declares them (FORMAT.md §8.5). */
  if (d->have_state && !d->dstate.open_seq) {
    guint64 from = MAX(d->dstate.sealed_seq + 1, d->dstate.next_seq > 64 ? d->dstate.next_seq - 64 : 1);
    for (guint64 q = from; q < d->dstate.next_seq; q++)
      if (hv_storage_session_absent(d->cfg->rec.roots, q))
        g_array_append_val(d->unrecorded, q);
    if (d->unrecorded->len)
      d->unrecorded_why = g_strdup("a start failed before the session directory existed (before havend "
                                   "last started)");
  }
  refresh_ledger_fault(d);
  if (d->ledger_fault)
    set_fault(d, HV_FAULT_STORAGE, d->ledger_fault);
  last_session_from_storage(d);
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

void
hv_daemon_audit(HvDaemon *d, const char *actor, const char *action, const char *result)
{
  hv_journal(G_LOG_LEVEL_MESSAGE, HV_MSGID_CONTROL, "%s: %s: %s", actor, action, result);
  g_autoptr(GError) err = NULL;
  if (d->catalog && !hv_catalog_audit(d->catalog, actor, action, result, &err))
    g_warning("audit not stored (catalog): %s", err->message);
}

/* The declaration the next session's start event carries for the
 * sequences allocated but never recorded (FORMAT.md §8.5): "unrecorded
 * sequences 5, 7-8: <reason of the last>". NULL when there are none. */
static char *
unrecorded_text(HvDaemon *d)
{
  if (d->unrecorded->len == 0)
    return NULL;
  g_autoptr(GArray) ranges = g_array_new(FALSE, FALSE, sizeof(HvSeqRange));
  for (guint i = 0; i < d->unrecorded->len; i++) {
    guint64 q = g_array_index(d->unrecorded, guint64, i);
    HvSeqRange *last = ranges->len ? &g_array_index(ranges, HvSeqRange, ranges->len - 1) : NULL;
    if (last && q == last->to + 1)
      last->to = q;
    else
      g_array_append_val(ranges, ((HvSeqRange) { q, q }));
  }
  g_autofree char *list = hv_seq_ranges_format(ranges);
  return g_strdup_printf(HV_LEDGER_UNRECORDED_PREFIX "%s: %s", list,
                         d->unrecorded_why ? d->unrecorded_why : "start failed");
}

/* The open session's start event declared the unrecorded sequences. */
static void
declared_unrecorded(HvDaemon *d)
{
  g_array_set_size(d->unrecorded, 0);
  g_clear_pointer(&d->unrecorded_why, g_free);
}

/* The start of session_seq failed before any copy of the session existed: no
 * header. The sequence stays consumed (never reused: a session may have been
 * given it elsewhere); it is no longer open, and the next session declares
 * it as not recorded (FORMAT.md §8.5). */
static void
mark_unrecorded(HvDaemon *d, const char *why)
{
  if (hv_storage_session_exists(d->cfg->rec.roots, d->session_seq)) {
    declared_unrecorded(d); /* its start event carries the declaration */
    return;
  }
  if (!hv_storage_session_absent(d->cfg->rec.roots, d->session_seq)) {
    /* a root cannot be listed: the session may be there; declaring it
     * unrecorded would let verify accept its deletion. It stays open. */
    hv_journal(G_LOG_LEVEL_WARNING, HV_MSGID_STARTED, "sequence %" G_GUINT64_FORMAT " not declared unrecorded: "
               "a storage root cannot be listed, so it may exist (%s)", d->session_seq, why);
    return;
  }
  d->dstate.open_seq = 0;
  g_autoptr(GError) serr = NULL;
  if (!hv_storage_state_save(d->cfg->state_dir, &d->dstate, &serr))
    g_warning("sequence %" G_GUINT64_FORMAT " stays open in the device state: %s", d->session_seq, serr->message);
  g_array_append_val(d->unrecorded, d->session_seq);
  g_free(d->unrecorded_why);
  d->unrecorded_why = g_strdup(why);
  hv_journal(G_LOG_LEVEL_WARNING, HV_MSGID_STARTED, "sequence %" G_GUINT64_FORMAT " allocated but not recorded: %s",
             d->session_seq, why);
}

static void
start_refused(HvDaemon *d, const GError *err, gboolean active)
{
  hv_journal(G_LOG_LEVEL_WARNING, HV_MSGID_STARTED, "start refused: %s", err->message);
  set_fault(d, err->domain == HV_RECORDER_ERROR ? classify(err) : HV_FAULT_SOURCE, err->message);
  if (!active) {
    mark_unrecorded(d, err->message);
    /* a stop (or shutdown) may have come while the start was under way */
    hv_daemon_apply(d, d->state == HV_STATE_STOPPING ? HV_INPUT_FINISHED_FAULT : HV_INPUT_START_FAILED, "recorder");
    if (d->shutting_down)
      g_main_loop_quit(d->loop);
  } /* else the session is being sealed: on_finished follows */
}

static gboolean
do_start(gpointer user_data)
{
  HvDaemon *d = user_data;
  g_autoptr(GError) err = NULL;
  if (!probe_readiness(d)) {
    /* refused before a sequence is consumed or a pipeline built */
    hv_journal(G_LOG_LEVEL_WARNING, HV_MSGID_STARTED, "start refused: not ready: %s", d->ready_fault);
    hv_daemon_apply(d, HV_INPUT_START_FAILED, "self-check");
    return G_SOURCE_REMOVE;
  }
  if (!reserve_sequence(d, &err)) {
    hv_journal(G_LOG_LEVEL_WARNING, HV_MSGID_STARTED, "start refused: %s", err->message);
    set_fault(d, HV_FAULT_STORAGE, err->message);
    hv_daemon_apply(d, HV_INPUT_START_FAILED, "recorder");
    return G_SOURCE_REMOVE;
  }
  g_autofree char *text = g_strdup_printf("recording started in room '%s' (device %s)", d->cfg->rec.room,
                                          d->key_id);
  g_autofree char *declared = unrecorded_text(d);
  if (declared) {
    /* first: the room name is free text and must not be able to come
     * before it (FORMAT.md §8.5: the text begins with the declaration) */
    g_autofree char *t = g_strdup_printf("%s; %s", declared, text);
    g_free(text);
    text = g_steal_pointer(&t);
  }
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
  /* the new pattern is the acknowledgement now */
  if (d->feedback_timer) {
    g_source_remove(d->feedback_timer);
    d->feedback_timer = 0;
  }
  d->feedback = HV_FEEDBACK_NONE;
  update_lights(d);
  hv_daemon_control_settled(d);
}

void
hv_daemon_apply(HvDaemon *d, HvInput in, const char *actor)
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
  declared_unrecorded(d);
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
    hv_daemon_apply(d, HV_INPUT_HEALTHY, "recorder");
  } else if (why && d->state == HV_STATE_RECORDING) {
    set_fault(d, HV_FAULT_SOURCE, why);
  }
}

static void
on_space(HvCaptureSupervisor *s, gint64 seconds_left, const char *dir, gpointer ud)
{
  set_space(ud, seconds_left, dir);
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
  if (!res->sealed && d->have_state && d->dstate.open_seq == res->seq) {
    /* Sealing failed and nothing on disk is sealed: the session is over
     * (its writer is closed), so recovery seals it INTERRUPTED now rather
     * than at the next start of havend, which a next session would pass. */
    hv_storage_recover_open(d->cfg->rec.roots, d->key, d->cfg->state_dir, &d->dstate, record_recovered, d);
    refresh_ledger_fault(d);
    for (guint i = 0; res->dirs[i]; i++) {
      guint8 st, hash[HV_HASH_SIZE];
      if (hv_storage_session_seal(res->dirs[i], d->key->pk, res->seq, &st, hash)) {
        g_free(d->last_status);
        g_free(d->last_fingerprint);
        d->last_status = g_strdup(hv_status_name(st));
        d->last_fingerprint = hv_fingerprint_from_seal_hash(hash);
        g_free(d->last_dir);
        d->last_dir = g_strdup(res->dirs[i]);
        break;
      }
    }
  }
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
  const char *root = NULL;
  gint64 left = hv_recorder_config_idle_seconds_left(&d->cfg->rec, &root); /* back to the configured rate */
  set_space(d, left, root);
  gboolean ok = res->sealed && res->status == HV_STATUS_COMPLETE;
  if (!ok && d->fault == HV_FAULT_NONE)
    set_fault(d, HV_FAULT_STORAGE, res->reason ? res->reason : "session not sealed COMPLETE");
  hv_daemon_apply(d, ok ? HV_INPUT_FINISHED : HV_INPUT_FINISHED_FAULT, "recorder");
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
  hv_daemon_audit(d, "supervisor", "capture lost", t);
  /* "never existed" only when the process died before it began to open the
   * session and every root says so: a root that cannot be listed, or an empty
   * mount point whose disk dropped out, may hold it */
  gboolean never_existed = d->have_state && d->dstate.open_seq == seq &&
                           !hv_capture_supervisor_lost_after_opening(s) &&
                           hv_storage_session_absent(d->cfg->rec.roots, seq);
  if (never_existed) {
    mark_unrecorded(d, t); /* it died before the session's header existed */
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
  hv_daemon_apply(d, HV_INPUT_FINISHED_FAULT, "supervisor");
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

gboolean
hv_daemon_is_idle(const HvDaemon *d)
{
  return d->state == HV_STATE_IDLE || d->state == HV_STATE_FAULT;
}

/* A start or stop by the record button is audited as 'haven start|stop' are
 * (and as the marker button's markers): who (the button), what, the change. */
static void
audit_button(HvDaemon *d, const char *what, HvState before)
{
  if (d->state == before)
    return; /* a press that changed nothing: journaled as ignored, not an action */
  g_autofree char *result = g_strdup_printf("%s -> %s", hv_state_name(before), hv_state_name(d->state));
  hv_daemon_audit(d, "record button", what, result);
}

/* The record button. A session starts on the release of a short press, so a
 * hold from IDLE never leaves a throwaway session; every press is
 * acknowledged on the lights when it goes down (lights.h). */
static void
record_button_event(HvDaemon *d, HvButtonEvent ev, gint64 at)
{
  switch (ev) {
  case HV_BUTTON_DOWN:
    if (hv_daemon_is_idle(d)) {
      d->press_at = g_get_monotonic_time();
      d->release_at = 0;
      d->press_to_blink_us = d->press_to_steady_us = d->release_to_blink_us = 0;
      show_feedback(d, HV_FEEDBACK_ARMED, at); /* release to start */
    } else {
      show_feedback(d, HV_FEEDBACK_NOTED, at); /* a short press changes nothing: hold to stop */
    }
    break;
  case HV_BUTTON_TAP: {
    HvState before = d->state;
    if (hv_daemon_is_idle(d))
      d->release_at = g_get_monotonic_time();
    hv_daemon_apply(d, HV_INPUT_PRESS, "record button"); /* a start replaces "armed" with the red blinking */
    if (d->feedback == HV_FEEDBACK_ARMED)
      end_feedback(d);
    audit_button(d, "start", before);
    break;
  }
  case HV_BUTTON_HOLD: {
    HvState before = d->state;
    if (hv_daemon_is_idle(d)) {
      d->press_at = 0; /* no start to measure */
      show_feedback(d, HV_FEEDBACK_NOTED, at); /* held too long: nothing starts */
    }
    hv_daemon_apply(d, HV_INPUT_HOLD, "record button");
    audit_button(d, "stop", before);
    break;
  }
  case HV_BUTTON_UP:
    if (d->feedback == HV_FEEDBACK_ARMED)
      end_feedback(d);
    break;
  case HV_BUTTON_NONE:
    break;
  }
}

static void
button_event(HvDaemon *d, guint which, HvButtonEvent ev, gint64 at)
{
  if (which == 0) {
    record_button_event(d, ev, at);
  } else if (ev == HV_BUTTON_DOWN) {
    if (d->state == HV_STATE_RECORDING || d->state == HV_STATE_STARTING) {
      hv_capture_supervisor_event(d->rec, HV_EVENT_MARKER, "marker button");
      show_feedback(d, HV_FEEDBACK_MARKER, at);
      hv_daemon_audit(d, "marker button", "mark", "marker added");
    } else {
      show_feedback(d, HV_FEEDBACK_NOTED, at);
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
      button_event(d, i, ev, now);
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
      button_event(d, which, ev, time_us);
  } else {
    time_us = g_get_monotonic_time();
  }
  ev = hv_button_feed(&d->buttons[which], active, time_us);
  if (ev != HV_BUTTON_NONE)
    button_event(d, which, ev, time_us);
  schedule_buttons(d);
}

/* ---- idle checks, signals, watchdog ---- */

static gboolean
idle_check(gpointer ud)
{
  HvDaemon *d = ud;
  if (d->state != HV_STATE_IDLE && d->state != HV_STATE_FAULT)
    return G_SOURCE_CONTINUE;
  /* at start-up and every IDLE_CHECK_S: faults a session or a refused start
   * left (other than a lost source) are retried as well */
  gboolean retry = d->ready_ticks++ % (IDLE_CHECK_S * 1000 / READY_CHECK_MS) == 0;
  gboolean probe_fault = d->fault != HV_FAULT_NONE && g_strcmp0(d->fault_reason, d->ready_fault) == 0;
  /* the open session was not found when it had to be sealed (its disk had
   * dropped out): seal it once it is there again, then the ledger goes on */
  if (d->recovery_failure && d->have_state && d->dstate.open_seq && d->recovery_retried != d->dstate.open_seq &&
      hv_storage_session_exists(d->cfg->rec.roots, d->dstate.open_seq)) {
    d->recovery_retried = d->dstate.open_seq;
    g_clear_pointer(&d->recovery_failure, g_free);
    hv_storage_recover_open(d->cfg->rec.roots, d->key, d->cfg->state_dir, &d->dstate, record_recovered, d);
    refresh_ledger_fault(d);
    if (!d->ledger_fault && d->fault == HV_FAULT_STORAGE)
      set_fault(d, HV_FAULT_NONE, NULL); /* that storage fault was this session's */
  }
  if (!probe_readiness(d)) {
    hv_daemon_apply(d, HV_INPUT_FAULT, "self-check");
  } else {
    if (d->ledger_fault)
      set_fault(d, HV_FAULT_STORAGE, d->ledger_fault); /* persists until the storage agrees */
    else if (probe_fault || (retry && d->fault != HV_FAULT_NONE && d->fault != HV_FAULT_SOURCE))
      set_fault(d, HV_FAULT_NONE, NULL);
    if (d->fault == HV_FAULT_NONE)
      hv_daemon_apply(d, HV_INPUT_FAULT_CLEARED, "self-check");
    else if (d->ledger_fault)
      hv_daemon_apply(d, HV_INPUT_FAULT, "storage check");
  }
  const char *root = NULL;
  gint64 left = hv_recorder_config_idle_seconds_left(&d->cfg->rec, &root);
  set_space(d, left, root);
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
    hv_daemon_apply(d, HV_INPUT_STOP_REQUEST, "shutdown");
  } else {
    /* in the journal a deliberate stop must not look like a crash */
    g_message("shutdown requested: nothing recording, havend stops");
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

/* ---- life cycle ---- */

/* The device key, which havend never creates: a missing one is a
 * configuration error (a typo in [device] key, or a device never provisioned
 * with havend --init-device), so that a session never silently belongs to a
 * new device. */
static HvDeviceKey *
device_key(const HvConfig *cfg, GError **error)
{
  struct stat st;
  if (lstat(cfg->device_key_path, &st) < 0 && errno == ENOENT) {
    g_set_error(error, HV_DAEMON_ERROR, HV_DAEMON_ERROR_NO_DEVICE_KEY,
                "%s: [device] key: '%s' does not exist: havend never creates a device key by itself; if the path "
                "is right, provision this device once with 'havend --init-device'", cfg->path,
                cfg->device_key_path);
    return NULL;
  }
  HvDeviceKey *key = hv_device_key_load(cfg->device_key_path, error);
  if (!key)
    g_prefix_error(error, "device key: ");
  return key;
}

/* A re-provisioned room is an audited event, never a new identity: the key
 * and the ledger stay. */
static void
room_startup(HvDaemon *d)
{
  g_autofree char *previous = NULL;
  gboolean first = FALSE;
  g_autoptr(GError) err = NULL;
  if (!hv_room_record(d->cfg->state_dir, d->cfg->rec.room, &previous, &first, &err)) {
    g_warning("%s (the room change, if any, is not audited)", err->message);
    return;
  }
  if (!previous)
    return;
  g_autofree char *text = g_strdup_printf("room changed from '%s' to '%s' (device %s: same key, same ledger)",
                                          previous, d->cfg->rec.room, d->key_id);
  hv_journal(G_LOG_LEVEL_MESSAGE, HV_MSGID_ROOM, "%s", text);
  if (d->catalog && !hv_catalog_audit(d->catalog, "configuration", "room changed", text, &err))
    g_warning("audit not stored (catalog): %s", err->message);
}

HvDaemon *
hv_daemon_new(HvConfig *cfg, GError **error)
{
  /* GStreamer's plugin registry, loaded by every capture process: in the
   * unit's CacheDirectory= (the service user's home may not be writable).
   * Set before any thread or child exists. */
  const char *cache = g_getenv("CACHE_DIRECTORY");
  if (!g_getenv("GST_REGISTRY") && cache && *cache && !strchr(cache, ':')) {
    g_autofree char *reg = g_build_filename(cache, "gstreamer-registry.bin", NULL);
    g_setenv("GST_REGISTRY", reg, TRUE);
  }
  /* every exit below frees d through its cleanup function: no labels to jump past */
  g_autoptr(HvDaemon) d = g_new0(HvDaemon, 1);
  d->state_lock_fd = -1;
  d->cfg = cfg;
  d->recovered = g_ptr_array_new_with_free_func(g_free);
  d->unrecorded = g_array_new(FALSE, FALSE, sizeof(guint64));
  d->seconds_left = -1;
  d->waiters = g_ptr_array_new();
  d->loop = g_main_loop_new(NULL, FALSE);
  /* first, before any directory is created: the key is only read */
  if (!(d->key = device_key(cfg, error)))
    return NULL;
  d->key_id = hv_key_id(d->key->pk, HV_DEVICE_PK_SIZE);
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
  room_startup(d);

  HvBoard *board = hv_board_load(cfg->board_path, error);
  if (!board || !(d->gpio = hv_gpio_new(board, on_input, d, error)))
    return NULL;
  hv_button_init(&d->buttons[0], hv_gpio_get_board(d->gpio)->lines[HV_SIGNAL_RECORD].debounce_ms, cfg->hold_to_stop_ms);
  hv_button_init(&d->buttons[1], hv_gpio_get_board(d->gpio)->lines[HV_SIGNAL_MARKER].debounce_ms, 60000);

  HvCaptureSupervisorCallbacks rcb = { on_started, on_health, on_fault, on_finished, on_capture_lost,
                                       on_space };
  d->rec = hv_capture_supervisor_new(&cfg->rec, d->key, d->state_lock_fd, &rcb, d);
  if (!(d->control = hv_control_new(cfg->control_socket, cfg->control_group, hv_daemon_control_request,
                                     hv_daemon_control_refused, d,
                                     error)))
    return NULL;
  return g_steal_pointer(&d);
}

int
hv_daemon_run(HvDaemon *d)
{
  g_unix_signal_add(SIGTERM, on_terminate, d);
  g_unix_signal_add(SIGINT, on_terminate, d);
  /* The roots are made once, here; one that disappears later (a disk
   * unplugged) is a fault until it is back, never re-created on the disk
   * below it. */
  for (guint i = 0; d->cfg->rec.roots[i]; i++)
    if (g_mkdir_with_parents(d->cfg->rec.roots[i], 0750) < 0)
      g_warning("storage root %s cannot be created: %s", d->cfg->rec.roots[i], g_strerror(errno));
  idle_check(d);
  update_lights(d);
  d->idle_timer = g_timeout_add(READY_CHECK_MS, idle_check, d);
  guint64 wd_us = 0;
  if (sd_watchdog_enabled(0, &wd_us) > 0)
    d->watchdog_timer = g_timeout_add((guint) (wd_us / 2000), on_watchdog, d);
  hv_journal(G_LOG_LEVEL_MESSAGE, HV_MSGID_STATE, "havend ready: room '%s', device %s, board %s, state %s",
             d->cfg->rec.room, d->key_id, hv_gpio_get_board(d->gpio)->name, hv_state_name(d->state));
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
  if (d->feedback_timer)
    g_source_remove(d->feedback_timer);
  hv_daemon_control_cancel_waiters(d);
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
  g_strfreev(d->not_ready);
  g_free(d->ready_fault);
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
  g_array_unref(d->unrecorded);
  g_free(d->unrecorded_why);
  g_free(d->space_root);
  g_main_loop_unref(d->loop);
  if (d->state_lock_fd >= 0)
    close(d->state_lock_fd); /* last: releases the state directory */
  g_free(d);
}
