// SPDX-License-Identifier: GPL-2.0-or-later
/* haven status | start | stop | mark | sim: talk to the running havend. */
#include "cli.h"
#include "control-client.h"
#include "json-out.h"
#include "vault/vault.h"

#include <stdio.h>
#include <string.h>

static char *socket_path;

static GOptionEntry socket_entries[] = {
  { "socket", 0, 0, G_OPTION_ARG_FILENAME, &socket_path, "havend's control socket (default "
    HV_DEFAULT_SOCKET ", or $HAVEN_SOCKET)", "PATH" },
  { NULL }
};

/* Send, print, map the reply to an exit status, as systemctl does: 0 done or
 * already so, 3 refused or failed (havend says "refused"), 2 anything else
 * (unreachable, a request havend did not understand). 1 is left to integrity
 * failures of verify and export. */
static int
call(const char *cmd, JsonNode *req, gboolean json_out)
{
  g_autoptr(JsonNode) request = req;
  g_autoptr(GError) err = NULL;
  g_autoptr(JsonNode) reply = hv_control_call(socket_path, request, &err);
  if (!reply || !JSON_NODE_HOLDS_OBJECT(reply)) {
    hv_cli_error(cmd, "%s", err ? err->message : "malformed reply");
    return HV_EXIT_USAGE;
  }
  JsonObject *o = json_node_get_object(reply);
  gboolean ok = json_object_get_boolean_member_with_default(o, "ok", FALSE);
  if (json_out) {
    /* havend's reply, named as every --json document is (docs/JSON.md) */
    g_autofree char *schema = g_strdup_printf("haven.%s/1", cmd);
    json_object_set_string_member(o, "schema", schema);
    g_autofree char *text = json_to_string(reply, TRUE);
    printf("%s\n", text);
  } else if (!ok) {
    g_autofree char *e = hv_text_escape(json_object_get_string_member_with_default(o, "error", "failed"), -1);
    hv_cli_error(cmd, "%s", e);
  } else if (json_object_has_member(o, "message")) {
    g_autofree char *m = hv_text_escape(json_object_get_string_member_with_default(o, "message", ""), -1);
    printf("%s\n", m);
  }
  if (ok)
    return HV_EXIT_OK;
  return json_object_get_boolean_member_with_default(o, "refused", FALSE) ? HV_EXIT_REFUSED : HV_EXIT_USAGE;
}

/* Text from havend can carry what the files say (directory names, reasons):
 * escape it like every other output of the files (\n, \u{001B}, \xFF). */
static const char *
esc(GPtrArray *keep, const char *text)
{
  char *e = hv_text_escape(text ? text : "", -1);
  g_ptr_array_add(keep, e);
  return e;
}

/* Each light's pattern (steady, blinking...), not this instant's value; an
 * older havend without patterns: the instant values. */
static void
print_lights(JsonObject *o, GPtrArray *k)
{
  static const struct { const char *signal, *label; } lights[] = {
    { "led-ready", "green" }, { "led-recording", "red" }, { "led-fault", "amber" }, { "door-sign", "door sign" },
  };
  JsonObject *p = json_object_has_member(o, "light_patterns") ? json_object_get_object_member(o, "light_patterns")
                                                               : NULL;
  JsonObject *l = json_object_has_member(o, "lights") ? json_object_get_object_member(o, "lights") : NULL;
  if (!p && !l)
    return;
  g_autoptr(GString) line = g_string_new("lights:       ");
  for (guint i = 0; i < G_N_ELEMENTS(lights); i++) {
    const char *what;
    if (p) {
      JsonObject *one = json_object_has_member(p, lights[i].signal) ? json_object_get_object_member(p, lights[i].signal)
                                                                   : NULL;
      what = esc(k, one ? json_object_get_string_member_with_default(one, "text", "?") : "?");
    } else {
      what = json_object_get_boolean_member_with_default(l, lights[i].signal, FALSE) ? "on" : "off";
    }
    g_string_append_printf(line, "%s%s %s", i ? ", " : "", lights[i].label, what);
  }
  printf("%s\n", line->str);
  JsonObject *fb = json_object_has_member(o, "feedback") ? json_object_get_object_member(o, "feedback") : NULL;
  if (fb && json_object_get_boolean_member_with_default(fb, "active", FALSE)) {
    /* the lights line gives the state's patterns; say what the room sees over them now */
    const char *kind = json_object_get_string_member_with_default(fb, "kind", "?");
    const char *shown = g_str_equal(kind, "armed")    ? ": red on, green off while record is held (release to start)"
                        : g_str_equal(kind, "noted")  ? ": all lights dark for 0.3 s (a press that changes nothing)"
                        : g_str_equal(kind, "marker") ? ": green flash over red (marker stored)"
                                                      : "";
    printf("feedback:     %s%s, acknowledging a press %.0f ms after it\n", esc(k, kind), shown,
           json_object_get_double_member_with_default(fb, "latency_ms", 0));
  }
}

static void
print_status(JsonObject *o)
{
  g_autoptr(GPtrArray) k = g_ptr_array_new_with_free_func(g_free);
  printf("state:        %s\n", esc(k, json_object_get_string_member_with_default(o, "state", "?")));
  printf("room:         %s\n", esc(k, json_object_get_string_member_with_default(o, "room", "")));
  printf("device:       %s (board %s)\n", esc(k, json_object_get_string_member_with_default(o, "device", "?")),
         esc(k, json_object_get_string_member_with_default(o, "board", "?")));
  const char *fault = json_object_get_string_member_with_default(o, "fault", NULL);
  if (fault) {
    /* a self-check reason names its kind already ("storage: ROOT has ..."): say it once */
    const char *why = json_object_get_string_member_with_default(o, "fault_reason", "");
    gsize fl = strlen(fault);
    if (strncmp(why, fault, fl) == 0 && why[fl] == ':' && why[fl + 1] == ' ')
      printf("fault:        %s\n", esc(k, why));
    else
      printf("fault:        %s: %s\n", esc(k, fault), esc(k, why));
  }
  /* what keeps a press from recording, when the fault line does not say it already */
  const char *reason = json_object_get_string_member_with_default(o, "fault_reason", NULL);
  JsonArray *nr = json_object_has_member(o, "not_ready") ? json_object_get_array_member(o, "not_ready") : NULL;
  for (guint i = 0; nr && i < json_array_get_length(nr); i++) {
    const char *t = json_array_get_string_element(nr, i);
    if (t && (!reason || !strstr(reason, t)))
      printf("not ready:    %s\n", esc(k, t));
  }
  JsonObject *sp = json_object_has_member(o, "storage") ? json_object_get_object_member(o, "storage") : NULL;
  if (sp && json_object_get_int_member_with_default(sp, "minutes_left", -1) >= 0) {
    /* under 2 minutes, whole minutes would say "0 minutes" with a minute still to record */
    gint64 secs = json_object_get_int_member_with_default(sp, "seconds_left", -1);
    gint64 mins = json_object_get_int_member(sp, "minutes_left");
    g_autofree char *left = secs >= 0 && secs < 120 ? g_strdup_printf("%" G_GINT64_FORMAT " seconds", secs)
                                                    : g_strdup_printf("%" G_GINT64_FORMAT " minutes", mins);
    printf("storage:      %s left on %s%s\n", left,
           esc(k, json_object_get_string_member_with_default(sp, "root", "?")),
           json_object_get_boolean_member_with_default(o, "low_space", FALSE) ? " (running low)" : "");
  }
  else if (json_object_get_boolean_member_with_default(o, "low_space", FALSE))
    printf("storage:      running low\n");
  print_lights(o, k);
  JsonObject *s = json_object_has_member(o, "session") ? json_object_get_object_member(o, "session") : NULL;
  if (s)
    printf("session:      sequence %" G_GINT64_FORMAT ", %" G_GINT64_FORMAT " bytes sealed\n",
           json_object_get_int_member(s, "sequence"), json_object_get_int_member(s, "bytes_sealed"));
  JsonObject *last = json_object_get_object_member(o, "last_session");
  if (last && !json_object_get_null_member(last, "status"))
    printf("last session: %s, fingerprint %s\n              %s\n",
           esc(k, json_object_get_string_member_with_default(last, "status", "?")),
           esc(k, json_object_get_string_member_with_default(last, "fingerprint", "-")),
           esc(k, json_object_get_string_member_with_default(last, "dir", "")));
  JsonArray *rec = json_object_get_array_member(o, "recovered");
  for (guint i = 0; rec && i < json_array_get_length(rec); i++)
    printf("recovered:    %s\n", esc(k, json_array_get_string_element(rec, i)));
}

static int
run(const char *cmd, int argc, char **argv, const char *params, const char *summary)
{
  gboolean json_out = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json_out, "Print havend's JSON reply", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new(params);
  g_option_context_set_summary(ctx, summary);
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, socket_entries, NULL);
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  JsonNode *req = NULL;
  if (g_str_equal(cmd, "mark")) {
    g_autofree char *text = argc > 1 ? g_strjoinv(" ", argv + 1) : g_strdup("");
    req = hv_control_request("mark", "text", text, NULL);
  } else if (g_str_equal(cmd, "sim")) {
    if (argc < 2 || (!g_str_equal(argv[1], "press") && !g_str_equal(argv[1], "release") &&
                     !g_str_equal(argv[1], "lights") && !g_str_equal(argv[1], "storm"))) {
      hv_cli_error("sim", "usage: haven sim press|release [record|marker] | haven sim storm EDGES "
                   "[record|marker] | haven sim lights");
      return HV_EXIT_USAGE;
    }
    if (g_str_equal(argv[1], "storm")) {
      if (argc < 3) {
        hv_cli_error("sim", "storm needs a number of edges");
        return HV_EXIT_USAGE;
      }
      return call(cmd, hv_control_request("sim", "action", "storm", "edges", argv[2], "signal",
                                          argc > 3 ? argv[3] : "record", NULL), FALSE);
    }
    if (g_str_equal(argv[1], "lights")) {
      g_autoptr(GError) err = NULL;
      g_autoptr(JsonNode) status = hv_control_request("status", NULL);
      g_autoptr(JsonNode) reply = hv_control_call(socket_path, status, &err);
      if (!reply) {
        hv_cli_error("sim", "%s", err->message);
        return HV_EXIT_USAGE;
      }
      JsonObject *ro = JSON_NODE_HOLDS_OBJECT(reply) ? json_node_get_object(reply) : NULL;
      JsonObject *l = ro && json_object_has_member(ro, "lights") ? json_object_get_object_member(ro, "lights") : NULL;
      if (!l) {
        hv_cli_error("sim", "havend's status has no lights");
        return HV_EXIT_USAGE;
      }
      if (json_out) {
        g_autoptr(JsonBuilder) b = hv_json_begin("haven.lights/1");
        GList *names = json_object_get_members(l);
        for (GList *n = names; n; n = n->next)
          hv_json_add_bool(b, n->data, json_object_get_boolean_member_with_default(l, n->data, FALSE));
        g_list_free(names);
        hv_json_print(b);
      } else {
        static const struct { const char *signal, *label; } lights[] = {
          { "led-ready", "green" }, { "led-recording", "red" }, { "led-fault", "amber" }, { "door-sign", "door sign" },
        };
        for (guint i = 0; i < G_N_ELEMENTS(lights); i++)
          printf("%s%s %s", i ? ", " : "", lights[i].label,
                 json_object_get_boolean_member_with_default(l, lights[i].signal, FALSE) ? "on" : "off");
        printf("\n");
      }
      return HV_EXIT_OK;
    }
    /* when the person pressed: havend keeps that time for the edge even if it
     * reads the request late, as the kernel stamps a real button's edges */
    g_autofree char *at = g_strdup_printf("%" G_GINT64_FORMAT, g_get_monotonic_time());
    req = hv_control_request("sim", "action", argv[1], "signal", argc > 2 ? argv[2] : "record", "at_us", at,
                             NULL);
  } else {
    if (argc != 1) {
      hv_cli_error(cmd, "takes no arguments");
      return HV_EXIT_USAGE;
    }
    req = hv_control_request(cmd, NULL);
  }
  if (g_str_equal(cmd, "status") && !json_out) {
    g_autoptr(JsonNode) request = req;
    g_autoptr(GError) err = NULL;
    g_autoptr(JsonNode) reply = hv_control_call(socket_path, request, &err);
    if (!reply) {
      hv_cli_error(cmd, "%s", err->message);
      return HV_EXIT_USAGE;
    }
    print_status(json_node_get_object(reply));
    return HV_EXIT_OK;
  }
  return call(cmd, req, json_out);
}

#define CONTROL_EXIT "Exit status: 0 done, or already so; 2 usage, or havend unreachable (socket missing, " \
                     "permission); 3 refused or failed, the reason on stderr."

int hv_cmd_status(int argc, char **argv)
{ return run("status", argc, argv, "- show havend's state, light patterns, faults, last session",
             "Ask the running havend.\n" CONTROL_EXIT); }
int hv_cmd_start(int argc, char **argv)
{ return run("start", argc, argv, "- start recording (as a short press) and wait until it records",
             "Audited with your user name. Waits (at most 60 s) until the session records or the start fails.\n"
             "Exit status: 0 recording (also when it already was); 2 usage, or havend unreachable;\n"
             "3 refused or failed (the last session still sealing, a fault: the reason on stderr)."); }
int hv_cmd_stop(int argc, char **argv)
{ return run("stop", argc, argv, "- stop recording and wait for the seal (as a hold)",
             "Audited with your user name. Waits (at most 60 s) until the session is sealed.\n"
             "Exit status: 0 stopped and sealed (also when nothing was recording); 2 usage, or havend\n"
             "unreachable; 3 refused or failed (the reason on stderr)."); }
int hv_cmd_mark(int argc, char **argv)
{ return run("mark", argc, argv, "[TEXT] - add a marker to the open session",
             "Audited with your user name.\n" CONTROL_EXIT " (3: nothing is recording)"); }
int hv_cmd_sim(int argc, char **argv)
{ return run("sim", argc, argv, "press|release [SIGNAL] | storm EDGES [SIGNAL] | lights - drive the simulated board",
             "Only for a board with backend=sim (tests, demo)."); }
