// SPDX-License-Identifier: GPL-2.0-or-later
/* The control-socket protocol of havend (control.h carries the lines):
 * every request field checked before use, status replies, the sim board's
 * inputs, markers, and start/stop answered like systemctl once the outcome
 * is known. Main thread only. */
#define G_LOG_DOMAIN "havend"
#include "daemon-private.h"
#include "journal.h"

#include <string.h>

#define SIM_EDGE_AGE_MAX_US (60 * G_USEC_PER_SEC)
/* start/stop requests waiting for their outcome at a time: each holds a
 * connection (a descriptor) for up to CONTROL_WAIT_S */
#define CONTROL_WAITERS_MAX 16
#define CONTROL_WAIT_S 60  /* longest a 'haven start' or 'haven stop' waits for the outcome (the recorder
                              * has no start deadline of its own); control-client.c waits longer */

/* A 'haven start' or 'haven stop' waiting for the outcome. */
typedef struct {
  HvDaemon         *d;
  HvControlPending *pending;
  HvInput           in;        /* HV_INPUT_START_REQUEST or HV_INPUT_STOP_REQUEST */
  HvState           from;
  guint             timeout;
} Waiter;

static void
add_str(JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name(b, name);
  if (value)
    json_builder_add_string_value(b, value);
  else
    json_builder_add_null_value(b);
}

/* "lights" is what the outputs are this instant; "light_patterns" what each
 * light does over time in this state (off, steady, blinking, pulses). */
static void
add_light_patterns(JsonBuilder *b, HvDaemon *d)
{
  static const HvSignal sig[HV_LIGHTS_COUNT] = { HV_SIGNAL_LED_READY, HV_SIGNAL_LED_RECORDING,
                                                 HV_SIGNAL_LED_FAULT, HV_SIGNAL_DOOR_SIGN };
  HvLightsInput in = { .state = d->state, .fault = d->fault, .low_space = d->low_space };
  HvLightPattern p[HV_LIGHTS_COUNT];
  hv_lights_patterns(&in, p);
  json_builder_set_member_name(b, "light_patterns");
  json_builder_begin_object(b);
  for (guint i = 0; i < HV_LIGHTS_COUNT; i++) {
    json_builder_set_member_name(b, hv_signal_name(sig[i]));
    json_builder_begin_object(b);
    add_str(b, "pattern", hv_light_pattern_kind_name(p[i].kind));
    g_autofree char *text = hv_light_pattern_describe(&p[i]);
    add_str(b, "text", text);
    if (p[i].kind == HV_PATTERN_BLINKING || p[i].kind == HV_PATTERN_PULSES) {
      json_builder_set_member_name(b, "period_ms");
      json_builder_add_int_value(b, p[i].period_ms);
    }
    if (p[i].kind == HV_PATTERN_PULSES) {
      json_builder_set_member_name(b, "pulses");
      json_builder_add_int_value(b, p[i].pulses);
      json_builder_set_member_name(b, "pulse_ms");
      json_builder_add_int_value(b, p[i].pulse_ms);
    }
    json_builder_end_object(b);
  }
  json_builder_end_object(b);
}

/* The press acknowledgement on the lights now ("active"), or the last one. */
static void
add_feedback(JsonBuilder *b, HvDaemon *d)
{
  json_builder_set_member_name(b, "feedback");
  json_builder_begin_object(b);
  add_str(b, "kind", hv_feedback_name(d->feedback != HV_FEEDBACK_NONE ? d->feedback : d->last_feedback));
  json_builder_set_member_name(b, "active");
  json_builder_add_boolean_value(b, d->feedback != HV_FEEDBACK_NONE);
  json_builder_set_member_name(b, "count");
  json_builder_add_int_value(b, (gint64) d->feedback_count);
  json_builder_set_member_name(b, "pressed_at_us");
  json_builder_add_int_value(b, d->feedback_press_us);
  json_builder_set_member_name(b, "shown_at_us");
  json_builder_add_int_value(b, d->feedback_shown_us);
  json_builder_set_member_name(b, "latency_ms");
  json_builder_add_double_value(b, d->feedback_count ? (d->feedback_shown_us - d->feedback_press_us) / 1000.0 : 0);
  json_builder_end_object(b);
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
  add_str(b, "board", hv_gpio_get_board(d->gpio)->name);
  add_str(b, "fault", d->fault == HV_FAULT_NONE ? NULL : hv_fault_class_name(d->fault));
  add_str(b, "fault_reason", d->fault_reason);
  add_str(b, "capture_engine", hv_capture_supervisor_engine_state(d->rec));
  json_builder_set_member_name(b, "not_ready");
  json_builder_begin_array(b);
  for (guint i = 0; d->not_ready && d->not_ready[i]; i++)
    json_builder_add_string_value(b, d->not_ready[i]);
  json_builder_end_array(b);
  json_builder_set_member_name(b, "ready_probe_ms");
  json_builder_add_double_value(b, d->ready_probe_us / 1000.0);
  json_builder_set_member_name(b, "low_space");
  json_builder_add_boolean_value(b, d->low_space);
  json_builder_set_member_name(b, "storage");
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "minutes_left");
  json_builder_add_int_value(b, d->seconds_left < 0 ? -1 : MIN(d->seconds_left, (gint64) G_MAXINT32) / 60);
  json_builder_set_member_name(b, "seconds_left");
  json_builder_add_int_value(b, d->seconds_left < 0 ? -1 : d->seconds_left);
  add_str(b, "root", d->space_root);
  json_builder_set_member_name(b, "warn_minutes");
  json_builder_add_int_value(b, d->cfg->rec.warn_minutes);
  json_builder_end_object(b);
  json_builder_set_member_name(b, "healthy");
  json_builder_add_boolean_value(b, hv_capture_supervisor_is_healthy(d->rec));
  json_builder_set_member_name(b, "lights");
  json_builder_begin_object(b);
  for (guint s = HV_SIGNAL_LED_READY; s < HV_SIGNAL_COUNT; s++) {
    json_builder_set_member_name(b, hv_signal_name((HvSignal) s));
    json_builder_add_boolean_value(b, hv_gpio_get_output(d->gpio, (HvSignal) s));
  }
  json_builder_end_object(b);
  add_light_patterns(b, d);
  add_feedback(b, d);
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
  json_builder_set_member_name(b, "release_to_blink_ms");
  json_builder_add_double_value(b, d->release_to_blink_us / 1000.0);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

/* {"ok":false,"refused":true,"error":...}: understood, and refused or failed (haven exits 3). */
static JsonNode *G_GNUC_PRINTF(1, 2)
refused_reply(const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  JsonNode *n = hv_control_reply_error("%s", msg);
  json_object_set_boolean_member(json_node_get_object(n), "refused", TRUE);
  return n;
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
  hv_daemon_audit(d, actor, action, result);
  return hv_control_reply_error("%s", err->message);
}

void
hv_daemon_control_refused(const char *actor, const char *why, gpointer ud)
{
  g_autofree char *result = g_strdup_printf("refused: %s", why);
  hv_daemon_audit(ud, actor, "request", result);
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
  hv_daemon_audit(d, actor, what, "done");
  return ok_reply(what);
}

/* ---- start and stop: answered like systemctl, once the outcome is known ---- */

/* {"ok":true,"message":...,"changed":...}: done, or already so. */
static JsonNode *
done_reply(const char *message, gboolean changed, HvState state)
{
  JsonNode *n = ok_reply(message);
  json_object_set_boolean_member(json_node_get_object(n), "changed", changed);
  json_object_set_string_member(json_node_get_object(n), "state", hv_state_name(state));
  return n;
}

/* The outcome of a start or stop request made in state from, if the current
 * state settles it; NULL while it is still under way. */
static JsonNode *
request_outcome(HvDaemon *d, HvInput in, HvState from)
{
  const char *why = d->fault_reason ? d->fault_reason : d->last_reason;
  if (in == HV_INPUT_START_REQUEST) {
    switch (d->state) {
    case HV_STATE_RECORDING: {
      g_autofree char *m = g_strdup_printf("%s -> RECORDING: session sequence %" G_GUINT64_FORMAT " is recording",
                                           hv_state_name(from), d->session_seq);
      return done_reply(m, TRUE, d->state);
    }
    case HV_STATE_STARTING:
      return NULL;
    case HV_STATE_STOPPING:
      return refused_reply("start failed: stopped before recording began%s%s", why ? ": " : "", why ? why : "");
    case HV_STATE_IDLE:
    case HV_STATE_FAULT:
      return refused_reply("start failed: %s", why ? why : "the session did not start");
    }
  } else {
    switch (d->state) {
    case HV_STATE_IDLE:
    case HV_STATE_FAULT: {
      g_autofree char *m = g_strdup_printf("%s -> %s: session sealed %s, fingerprint %s", hv_state_name(from),
                                           hv_state_name(d->state), d->last_status ? d->last_status : "?",
                                           d->last_fingerprint ? d->last_fingerprint : "-");
      return done_reply(m, TRUE, d->state);
    }
    default:
      return NULL;
    }
  }
  return NULL;
}

static void
waiter_free(Waiter *w)
{
  if (w->timeout)
    g_source_remove(w->timeout);
  g_free(w);
}

static void
waiter_answer(HvDaemon *d, Waiter *w, JsonNode *reply)
{
  hv_control_pending_reply(w->pending, reply);
  json_node_unref(reply);
  g_ptr_array_remove_fast(d->waiters, w);
  waiter_free(w);
}

static gboolean
on_waiter_timeout(gpointer ud)
{
  Waiter *w = ud;
  w->timeout = 0;
  waiter_answer(w->d, w, refused_reply("still %s after %d s: see 'haven status'", hv_state_name(w->d->state),
                                       CONTROL_WAIT_S));
  return G_SOURCE_REMOVE;
}

/* After every transition: answer the requests it settles. */
void
hv_daemon_control_settled(HvDaemon *d)
{
  for (guint i = d->waiters ? d->waiters->len : 0; i-- > 0;) {
    Waiter *w = d->waiters->pdata[i];
    JsonNode *r = request_outcome(d, w->in, w->from);
    if (r)
      waiter_answer(d, w, r);
  }
}

static JsonNode *
handle_start_stop(HvDaemon *d, HvInput in, const char *actor)
{
  gboolean start = in == HV_INPUT_START_REQUEST;
  const char *cmd = start ? "start" : "stop";
  HvState before = d->state;
  if (start && before == HV_STATE_RECORDING) {
    hv_daemon_audit(d, actor, cmd, "already recording");
    return done_reply("already recording", FALSE, before);
  }
  if (!start && hv_daemon_is_idle(d)) {
    hv_daemon_audit(d, actor, cmd, "not recording");
    return done_reply("not recording", FALSE, before);
  }
  if (start && before == HV_STATE_STOPPING) {
    hv_daemon_audit(d, actor, cmd, "refused: the last session is being sealed");
    return refused_reply("the last session is being sealed (STOPPING): start again once it is IDLE");
  }
  if (d->waiters->len >= CONTROL_WAITERS_MAX) {
    hv_daemon_audit(d, actor, cmd, "refused: too many clients waiting");
    return refused_reply("%u clients already wait for havend's outcome (state %s): nothing done; see 'haven "
                         "status' and try again", d->waiters->len, hv_state_name(before));
  }
  /* STARTING and start, STOPPING and stop: already under way, wait for it too */
  if (!(start && before == HV_STATE_STARTING) && !(!start && before == HV_STATE_STOPPING)) {
    hv_daemon_apply(d, in, actor);
    g_autofree char *result = g_strdup_printf("%s -> %s", hv_state_name(before), hv_state_name(d->state));
    hv_daemon_audit(d, actor, cmd, result);
  } else {
    hv_daemon_audit(d, actor, cmd, "already under way: waiting for it");
  }
  JsonNode *now = request_outcome(d, in, before);
  if (now)
    return now;
  Waiter *w = g_new0(Waiter, 1);
  w->d = d;
  w->in = in;
  w->from = before;
  w->pending = hv_control_defer(d->control);
  w->timeout = g_timeout_add_seconds(CONTROL_WAIT_S, on_waiter_timeout, w);
  g_ptr_array_add(d->waiters, w);
  return NULL;
}

static JsonNode *
handle_mark(HvDaemon *d, JsonObject *req, const char *actor)
{
  g_autoptr(GError) err = NULL;
  const char *text;
  if (!request_string(req, "text", "", MARKER_TEXT_MAX, &text, &err))
    return refuse(d, actor, "mark", err);
  if (d->state != HV_STATE_RECORDING && d->state != HV_STATE_STARTING) {
    hv_daemon_audit(d, actor, "mark", "refused: not recording");
    return refused_reply("not recording (state %s)", hv_state_name(d->state));
  }
  g_autofree char *t = g_strdup_printf("marker by %s%s%s", actor, *text ? ": " : "", text);
  hv_capture_supervisor_event(d->rec, HV_EVENT_MARKER, t);
  hv_daemon_audit(d, actor, "mark", t);
  return ok_reply("marker added");
}

JsonNode *
hv_daemon_control_request(JsonObject *req, const char *actor, gpointer ud)
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
  if (g_str_equal(cmd, "start") || g_str_equal(cmd, "stop"))
    return handle_start_stop(d, g_str_equal(cmd, "start") ? HV_INPUT_START_REQUEST : HV_INPUT_STOP_REQUEST,
                             actor);
  if (g_str_equal(cmd, "mark"))
    return handle_mark(d, req, actor);
  hv_daemon_audit(d, actor, cmd, "unknown command");
  return hv_control_reply_error("unknown command '%s' (status, start, stop, mark, sim)", cmd);
}

void
hv_daemon_control_cancel_waiters(HvDaemon *d)
{
  while (d->waiters && d->waiters->len)
    waiter_answer(d, d->waiters->pdata[0], refused_reply("havend is shutting down (state %s)",
                                                        hv_state_name(d->state)));
  g_clear_pointer(&d->waiters, g_ptr_array_unref);
}
