// SPDX-License-Identifier: GPL-2.0-or-later
/* haven verify: integrity verdicts for sessions, no decryption key needed. */
#include "cli.h"
#include "vault-keys.h"
#include "vault-ledger.h"
#include "vault-verify.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *name;
  gboolean    tty;
  gint64      last_print;
} Progress;

static void
on_progress(guint64 done, guint64 total, gpointer user_data)
{
  Progress *p = user_data;
  gint64 now = g_get_monotonic_time();
  if (!p->tty || (now - p->last_print < 200000 && done < total))
    return;
  p->last_print = now;
  fprintf(stderr, "\r\033[Kverifying %s: %3u%% (%" G_GUINT64_FORMAT " MiB)", p->name,
          total ? (guint) (done * 100 / total) : 100, done >> 20);
  if (done >= total)
    fprintf(stderr, "\r\033[K");
}

static const char *
verdict_word(const HvVerdict *v)
{
  return v->intact ? hv_status_name(v->seal.status) : "INVALID";
}

static void
print_line(const HvVerdict *v)
{
  if (!v->intact) {
    printf("%-11s %s: %s\n", "INVALID", v->dir, v->problem);
    return;
  }
  g_autofree char *dev = hv_key_id(v->header.device_pk, HV_DEVICE_PK_SIZE);
  g_autofree char *dur = hv_cli_format_duration(v->last_mono_us - v->first_mono_us);
  printf("%-11s %s: device %s sequence %" G_GUINT64_FORMAT ", %s, %" G_GUINT64_FORMAT
         " records, %" G_GUINT64_FORMAT " markers, fingerprint %s\n",
         verdict_word(v), v->dir, dev, v->header.device_seq, dur, v->records, v->markers,
         v->fingerprint);
}

static JsonNode *
verdict_json(const HvVerdict *v)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "path");
  json_builder_add_string_value(b, v->dir);
  json_builder_set_member_name(b, "verdict");
  json_builder_add_string_value(b, verdict_word(v));
  json_builder_set_member_name(b, "intact");
  json_builder_add_boolean_value(b, v->intact);
  if (v->problem) {
    json_builder_set_member_name(b, "problem");
    json_builder_add_string_value(b, v->problem);
  }
  if (v->have_header) {
    g_autofree char *dev = hv_key_id(v->header.device_pk, HV_DEVICE_PK_SIZE);
    g_autofree char *sid = hv_hex(v->header.session_id, HV_SESSION_ID_SIZE);
    json_builder_set_member_name(b, "device");
    json_builder_add_string_value(b, dev);
    json_builder_set_member_name(b, "session_id");
    json_builder_add_string_value(b, sid);
    json_builder_set_member_name(b, "sequence");
    json_builder_add_int_value(b, (gint64) v->header.device_seq);
  }
  if (v->fingerprint) {
    json_builder_set_member_name(b, "fingerprint");
    json_builder_add_string_value(b, v->fingerprint);
  }
  json_builder_set_member_name(b, "records");
  json_builder_add_int_value(b, (gint64) v->records);
  json_builder_set_member_name(b, "markers");
  json_builder_add_int_value(b, (gint64) v->markers);
  json_builder_set_member_name(b, "first_wall_us");
  json_builder_add_int_value(b, v->first_wall_us);
  json_builder_set_member_name(b, "last_wall_us");
  json_builder_add_int_value(b, v->last_wall_us);
  json_builder_set_member_name(b, "duration_us");
  json_builder_add_int_value(b, (gint64) (v->last_mono_us - v->first_mono_us));
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

typedef struct {
  gboolean json;
  char    *device_key;
  char    *expect;
} Options;

/* Verify every session under the given paths into verdicts; FALSE on a usage error. */
static gboolean
collect(char **paths, const Options *o, GPtrArray *verdicts)
{
  guint8 pk[HV_DEVICE_PK_SIZE];
  g_autoptr(GError) err = NULL;
  if (o->device_key && !hv_device_pubkey_load(o->device_key, pk, &err)) {
    hv_cli_error("verify", "--device-key: %s", err->message);
    return FALSE;
  }
  Progress prog = { .tty = isatty(STDERR_FILENO) && !o->json };
  HvVerifyOptions vo = { .expected_device_pk = o->device_key ? pk : NULL,
                         .on_progress = on_progress, .user_data = &prog };
  for (guint i = 0; paths[i]; i++) {
    g_autoptr(GPtrArray) dirs = hv_vault_find_sessions(paths[i], &err);
    if (!dirs) {
      hv_cli_error("verify", "%s", err->message);
      return FALSE;
    }
    if (dirs->len == 0) {
      hv_cli_error("verify", "%s: no sessions found", paths[i]);
      return FALSE;
    }
    for (guint k = 0; k < dirs->len; k++) {
      prog.name = dirs->pdata[k];
      HvVerdict *v = hv_vault_verify(dirs->pdata[k], &vo, &err);
      if (!v) {
        hv_cli_error("verify", "%s", err->message);
        return FALSE;
      }
      g_ptr_array_add(verdicts, v);
    }
  }
  return TRUE;
}

static void
apply_expect(GPtrArray *verdicts, const char *want)
{
  HvVerdict *v = verdicts->pdata[0];
  if (v->intact && g_strcmp0(v->fingerprint, want) != 0) {
    v->intact = FALSE;
    v->problem = g_strdup_printf("fingerprint is %s, not the expected %s (a different session, or "
                                 "the paper record was misread)", v->fingerprint, want);
    v->problem_code = HV_VAULT_ERROR_FINGERPRINT;
  }
}

static void
print_json(GPtrArray *verdicts, GPtrArray *ledger, gboolean bad)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "intact");
  json_builder_add_boolean_value(b, !bad);
  json_builder_set_member_name(b, "sessions");
  json_builder_begin_array(b);
  for (guint i = 0; i < verdicts->len; i++)
    json_builder_add_value(b, verdict_json(verdicts->pdata[i]));
  json_builder_end_array(b);
  json_builder_set_member_name(b, "devices");
  json_builder_begin_array(b);
  for (guint i = 0; i < ledger->len; i++) {
    HvLedgerDevice *d = ledger->pdata[i];
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "device");
    json_builder_add_string_value(b, d->device_id);
    json_builder_set_member_name(b, "verifiable_up_to_sequence");
    json_builder_add_int_value(b, (gint64) d->verified_to);
    json_builder_set_member_name(b, "problems");
    json_builder_begin_array(b);
    for (guint k = 0; k < d->problems->len; k++)
      json_builder_add_string_value(b, d->problems->pdata[k]);
    json_builder_end_array(b);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autofree char *text = json_to_string(root, TRUE);
  printf("%s\n", text);
}

static void
print_text(GPtrArray *verdicts, GPtrArray *ledger)
{
  guint counts[4] = { 0 }; /* COMPLETE, INTERRUPTED, IO_FAILED, INVALID */
  for (guint i = 0; i < verdicts->len; i++) {
    HvVerdict *v = verdicts->pdata[i];
    counts[v->intact ? v->seal.status - 1 : 3]++;
    print_line(v);
  }
  for (guint i = 0; i < ledger->len; i++) {
    HvLedgerDevice *d = ledger->pdata[i];
    for (guint k = 0; k < d->problems->len; k++)
      printf("%-11s device %s: %s\n", "LEDGER", d->device_id, (char *) d->problems->pdata[k]);
  }
  printf("summary: %u session%s: %u COMPLETE, %u INTERRUPTED, %u IO_FAILED, %u INVALID\n",
         verdicts->len, verdicts->len == 1 ? "" : "s", counts[0], counts[1], counts[2], counts[3]);
  for (guint i = 0; i < ledger->len; i++) {
    HvLedgerDevice *d = ledger->pdata[i];
    printf("device %s: %u session%s, sequence %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT
           ", ledger %s, verifiable up to sequence %" G_GUINT64_FORMAT "\n",
           d->device_id, d->sessions, d->sessions == 1 ? "" : "s", d->first_seq, d->last_seq,
           d->problems->len ? "BROKEN" : "intact", d->verified_to);
  }
}

static int
run_verify(char **paths, const Options *o)
{
  g_autofree char *want = NULL;
  if (o->expect && !(want = hv_fingerprint_normalise(o->expect))) {
    hv_cli_error("verify", "--expect: '%s' is not a fingerprint (20 letters A-Z and digits 2-7, "
                 "grouped by 4)", o->expect);
    return HV_EXIT_USAGE;
  }
  g_autoptr(GPtrArray) verdicts = g_ptr_array_new_with_free_func((GDestroyNotify) hv_verdict_free);
  if (!collect(paths, o, verdicts))
    return HV_EXIT_USAGE;
  if (want && verdicts->len != 1) {
    hv_cli_error("verify", "--expect checks one session, but %u were found", verdicts->len);
    return HV_EXIT_USAGE;
  }
  if (want)
    apply_expect(verdicts, want);

  g_autoptr(GPtrArray) ledger = hv_ledger_check((HvVerdict *const *) verdicts->pdata, verdicts->len);
  gboolean bad = FALSE;
  for (guint i = 0; i < verdicts->len; i++)
    bad |= !((HvVerdict *) verdicts->pdata[i])->intact;
  for (guint i = 0; i < ledger->len; i++)
    bad |= ((HvLedgerDevice *) ledger->pdata[i])->problems->len > 0;
  if (o->json)
    print_json(verdicts, ledger, bad);
  else
    print_text(verdicts, ledger);
  return bad ? HV_EXIT_INTEGRITY : HV_EXIT_OK;
}

int
hv_cmd_verify(int argc, char **argv)
{
  Options o = { 0 };
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &o.json, "Print the verdicts as one JSON document", NULL },
    { "device-key", 0, 0, G_OPTION_ARG_FILENAME, &o.device_key,
      "Require sessions signed by this device (its .pub file)", "FILE" },
    { "expect", 0, 0, G_OPTION_ARG_STRING, &o.expect,
      "Require this fingerprint (from the paper interview record); one session only", "FP" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("PATH... - verify sessions");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "PATH is a session directory or a folder of sessions (from one or more devices).\n"
    "No decryption key is needed. One verdict per session: COMPLETE, INTERRUPTED,\n"
    "IO_FAILED, or INVALID with the first problem found; then the device ledger.\n"
    "Exit status: 0 all intact, 1 any integrity failure, 2 usage or I/O error.");
  int ret = HV_EXIT_USAGE;
  if (hv_cli_parse(ctx, &argc, &argv)) {
    if (argc < 2)
      hv_cli_error("verify", "no PATH given; see 'haven verify --help'");
    else
      ret = run_verify(argv + 1, &o);
  }
  g_free(o.device_key);
  g_free(o.expect);
  return ret;
}
