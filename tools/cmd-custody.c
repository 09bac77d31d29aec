// SPDX-License-Identifier: GPL-2.0-or-later
/* haven custody: show, verify and extend a session's custody log; check a signed report. */
#include "cli.h"
#include "custody-log.h"
#include "report-sign.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>

#define CUSTODY_JSON_SCHEMA "haven.custody/1"   /* docs/JSON.md */

/* The subcommand that runs ("custody add", from the program name main sets),
 * so that its errors are prefixed as its unknown options are. */
static const char *
sub(void)
{
  const char *p = g_get_prgname();
  return p && g_str_has_prefix(p, "haven custody ") ? p + strlen("haven ") : "custody";
}

static void
print_escaped(const char *label, const char *value)
{
  g_autofree char *v = hv_text_escape(value, -1);
  printf("    %-7s %s\n", label, v);
}

static void
print_entry(const HvCustodyEntry *e)
{
  g_autofree char *user = hv_text_escape(e->os_user, -1);
  g_autofree char *host = hv_text_escape(e->host, -1);
  g_autofree char *tool = hv_text_escape(e->tool, -1);
  g_autofree char *ver = hv_text_escape(e->tool_version, -1);
  g_autofree char *time = hv_text_escape(e->time, -1);
  printf("#%" G_GUINT64_FORMAT "  %s  %s\n", e->seq, time, e->action);
  printf("    by      custodian key %s, signing key %s, OS user %s (uid %" G_GINT64_FORMAT ") on %s, %s %s\n",
         e->key_id, e->signer_id, user, e->os_uid, host, tool, ver);
  if (e->to[0])
    print_escaped("to", e->to);
  if (e->ref[0])
    print_escaped("ref", e->ref);
  if (e->out[0])
    print_escaped("out", e->out);
  for (guint i = 0; i < e->files->len; i++) {
    const HvCustodyFile *f = e->files->pdata[i];
    g_autofree char *p = hv_text_escape(f->path, -1);
    g_autofree char *sum = hv_text_escape(f->sha256, -1);
    printf("    sha256  %s  %s (%" G_GUINT64_FORMAT " bytes)\n", sum, p, f->size);
  }
}

static void
json_str(JsonBuilder *b, const char *name, const char *value)
{
  /* text from the log goes through hv_text_escape, as in every other output */
  g_autofree char *safe = hv_text_escape(value, -1);
  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, safe);
}

static void
json_int(JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, value);
}

static void
print_json(const char *session, const HvCustodyVerdict *v, gboolean pinned)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_str(b, "schema", CUSTODY_JSON_SCHEMA);
  json_str(b, "session", session);
  json_str(b, "log", v->log_path);
  json_str(b, "seal_hash", v->seal_hash);
  json_builder_set_member_name(b, "intact");
  json_builder_add_boolean_value(b, v->intact);
  json_builder_set_member_name(b, "signers_pinned");
  json_builder_add_boolean_value(b, pinned);
  json_int(b, "entry_count", v->entries->len);
  json_builder_set_member_name(b, "bad_entry");
  if (v->intact)
    json_builder_add_null_value(b);
  else
    json_builder_add_int_value(b, (gint64) v->bad_entry);
  json_builder_set_member_name(b, "problem");
  if (v->intact) {
    json_builder_add_null_value(b);
  } else {
    g_autofree char *p = hv_text_escape(v->problem, -1);
    json_builder_add_string_value(b, p);
  }
  json_builder_set_member_name(b, "entries");
  json_builder_begin_array(b);
  for (guint i = 0; i < v->entries->len; i++) {
    const HvCustodyEntry *e = v->entries->pdata[i];
    json_builder_begin_object(b);
    json_int(b, "seq", (gint64) e->seq);
    json_int(b, "time_us", e->time_us);
    json_str(b, "time", e->time);
    json_str(b, "action", e->action);
    json_str(b, "to", e->to);
    json_str(b, "ref", e->ref);
    json_str(b, "key_id", e->key_id);
    json_str(b, "signer_id", e->signer_id);
    json_str(b, "signer", e->signer);
    json_str(b, "os_user", e->os_user);
    json_int(b, "os_uid", e->os_uid);
    json_str(b, "host", e->host);
    json_str(b, "tool", e->tool);
    json_str(b, "tool_version", e->tool_version);
    json_str(b, "out", e->out);
    json_builder_set_member_name(b, "files");
    json_builder_begin_array(b);
    for (guint j = 0; j < e->files->len; j++) {
      const HvCustodyFile *f = e->files->pdata[j];
      json_builder_begin_object(b);
      json_str(b, "path", f->path);
      json_int(b, "size", (gint64) f->size);
      json_str(b, "sha256", f->sha256);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_str(b, "prev", e->prev);
    json_str(b, "hash", e->hash);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autoptr(JsonGenerator) g = json_generator_new();
  json_generator_set_pretty(g, TRUE);
  json_generator_set_root(g, root);
  g_autofree char *out = json_generator_to_data(g, NULL);
  printf("%s\n", out);
}

/* --signer files into GBytes public keys; NULL (and nothing printed) for none. */
static gboolean
load_signers(char **files, GPtrArray **ret)
{
  *ret = NULL;
  if (!files || !files[0])
    return TRUE;
  g_autoptr(GPtrArray) keys = g_ptr_array_new_with_free_func((GDestroyNotify) g_bytes_unref);
  for (guint i = 0; files[i]; i++) {
    guint8 pk[HV_SIGNER_PK_SIZE];
    g_autoptr(GError) err = NULL;
    if (!hv_signer_load(files[i], pk, &err)) {
      g_autofree char *m = hv_text_escape(err->message, -1);
      hv_cli_error(sub(), "--signer: %s", m);
      return FALSE;
    }
    g_ptr_array_add(keys, g_bytes_new(pk, sizeof pk));
  }
  *ret = g_steal_pointer(&keys);
  return TRUE;
}

/* show (verify_mode FALSE: exit 0 unless unreadable) and verify (exit 1 when broken). */
static int
show_or_verify(int argc, char **argv, gboolean verify_mode)
{
  g_autofree char *log = NULL;
  g_auto(GStrv) signer_files = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "custody-log", 0, 0, G_OPTION_ARG_FILENAME, &log,
      "The custody log kept elsewhere (default: SESSION/custody.log)", "FILE" },
    { "signer", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &signer_files,
      "Require every entry to be signed by one of these keys (PREFIX.sign.pub; repeatable)", "FILE" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json,
      "Print JSON (schema haven.custody/1, docs/JSON.md)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new(
    verify_mode ? "SESSION - check a session's custody log" : "SESSION - print a session's custody history");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "Checks every entry: its sequence, its chain to the previous entry (the first to the\n"
    "session's seal), its Ed25519 signature and, with --signer, that the signer is one\n"
    "of the keys given. Without --signer any signing key is accepted and the output says\n"
    "that the signers are NOT PINNED. Removing whole entries from the end of the log\n"
    "cannot be detected from the log alone: compare with the exports' signed reports.\n"
    "Exit status: 0 intact, 1 broken (the first bad entry is named), 2 usage or I/O error.");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (argc != 2) {
    hv_cli_error(sub(), "one SESSION is required");
    return HV_EXIT_USAGE;
  }
  if (!hv_cli_require_session_dir(sub(), argv[1]))
    return HV_EXIT_USAGE;
  g_autoptr(GPtrArray) signers = NULL;
  if (!load_signers(signer_files, &signers))
    return HV_EXIT_USAGE;
  g_autoptr(GError) err = NULL;
  g_autoptr(HvCustodyVerdict) v = hv_custody_verify(argv[1], log, signers, &err);
  if (!v) {
    g_autofree char *m = hv_text_escape(err->message, -1);
    hv_cli_error(sub(), "%s", m);
    return HV_EXIT_USAGE;
  }
  int ret = v->intact || !verify_mode ? HV_EXIT_OK : HV_EXIT_INTEGRITY;
  if (json) {
    print_json(argv[1], v, signers != NULL);
    return ret;
  }
  g_autofree char *path = hv_text_escape(v->log_path, -1);
  if (!verify_mode) {
    printf("custody log: %s (%u %s, chained to seal %s)\n", path, v->entries->len,
           v->entries->len == 1 ? "entry" : "entries", v->seal_hash);
    for (guint i = 0; i < v->entries->len; i++)
      print_entry(v->entries->pdata[i]);
  }
  const char *pin = signers ? "signers pinned" : "signers NOT PINNED: no --signer given";
  if (v->intact) {
    printf("INTACT %s: %u %s, every one chained and signed (%s)\n", path, v->entries->len,
           v->entries->len == 1 ? "entry" : "entries", pin);
  } else {
    g_autofree char *problem = hv_text_escape(v->problem, -1);
    printf("BROKEN %s: %s (%u %s before it intact; %s)\n", path, problem, v->entries->len,
           v->entries->len == 1 ? "entry" : "entries", pin);
  }
  return ret;
}

static int
add(int argc, char **argv)
{
  g_autofree char *log = NULL, *identity = NULL, *action = NULL, *to = NULL, *ref = NULL;
  GOptionEntry entries[] = {
    { "action", 0, 0, G_OPTION_ARG_STRING, &action, "transfer, handover or verify", "ACTION" },
    { "to", 0, 0, G_OPTION_ARG_STRING, &to, "Who receives it (person, court, archive)", "TEXT" },
    { "ref", 0, 0, G_OPTION_ARG_STRING, &ref, "Case/exhibit reference", "TEXT" },
    { "identity", 'i', 0, G_OPTION_ARG_FILENAME, &identity, "Your identity file (with a signing key)",
      "KEYFILE" },
    { "custody-log", 0, 0, G_OPTION_ARG_FILENAME, &log,
      "The custody log kept elsewhere (default: SESSION/custody.log)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("SESSION - record a custody event");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "Appends one signed entry to the session's custody log, after checking the log.\n"
    "A transfer or handover needs --to. 'verify' records your statement that you\n"
    "verified the session (run 'haven verify' first); it does not verify by itself.\n"
    "Exit status: 0 recorded, 2 usage or I/O error (also: the existing log is broken,\n"
    "nothing appended).");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (argc != 2 || !identity || !action) {
    hv_cli_error(sub(), "one SESSION, --action and --identity are required");
    return HV_EXIT_USAGE;
  }
  if (!hv_custody_action_valid(action) || g_str_equal(action, "export")) {
    g_autofree char *a = hv_text_escape(action, -1);
    hv_cli_error(sub(), "--action '%s': not one of transfer, handover, verify ('export' is "
                 "recorded by 'haven export')", a);
    return HV_EXIT_USAGE;
  }
  if ((g_str_equal(action, "transfer") || g_str_equal(action, "handover")) && (!to || !to[0])) {
    hv_cli_error(sub(), "--action %s needs --to (who receives it)", action);
    return HV_EXIT_USAGE;
  }
  if (!hv_cli_require_session_dir(sub(), argv[1]))
    return HV_EXIT_USAGE;
  g_autoptr(GError) err = NULL;
  if (!hv_custody_text_check("--to", to, &err) || !hv_custody_text_check("--ref", ref, &err)) {
    hv_cli_error(sub(), "%s", err->message);
    return HV_EXIT_USAGE;
  }
  g_autoptr(HvIdentity) id = hv_identity_load(identity, &err);
  if (id && !id->sign_sk) {
    hv_cli_error(sub(), "%s has no signing key ('haven keygen --upgrade %s' adds one)", identity,
                 identity);
    return HV_EXIT_USAGE;
  }
  g_autoptr(HvCustodyWriter) w = NULL;
  gboolean ok = id && (w = hv_custody_writer_open(argv[1], log, &err)) &&
                hv_custody_writer_append(w, id, action, to, ref, NULL, NULL, &err);
  if (!ok) {
    g_autofree char *m = hv_text_escape(err->message, -1);
    hv_cli_error(sub(), "%s", m);
    return HV_EXIT_USAGE;
  }
  g_autofree char *path = hv_text_escape(hv_custody_writer_path(w), -1);
  g_autofree char *others = hv_custody_writer_other_signers(w, id->sign_pk);
  if (others)
    hv_cli_error(sub(), "warning: %s holds entries signed by other keys (%s); check them with "
                 "'haven custody verify --signer KEY.sign.pub ...'", path, others);
  printf("recorded: entry %" G_GUINT64_FORMAT " (%s) of %s\n", hv_custody_writer_next_seq(w) - 1, action, path);
  return HV_EXIT_OK;
}

static int
verify_report(int argc, char **argv)
{
  g_auto(GStrv) signer_files = NULL;
  GOptionEntry entries[] = {
    { "signer", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &signer_files,
      "Require the signature to be by one of these keys (PREFIX.sign.pub; repeatable)", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("REPORT - check a report's detached signature");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "Checks REPORT against REPORT.sig: the SHA-256 of REPORT and the custodian's\n"
    "Ed25519 signature, and with --signer that the signer is one of the keys given.\n"
    "Exit status: 0 valid, 1 changed or not signed by a --signer key, 2 usage or I/O error.");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (argc != 2) {
    hv_cli_error(sub(), "one REPORT is required");
    return HV_EXIT_USAGE;
  }
  g_autoptr(GPtrArray) signers = NULL;
  if (!load_signers(signer_files, &signers))
    return HV_EXIT_USAGE;
  g_autoptr(GError) err = NULL;
  g_autofree char *sid = NULL;
  g_autofree char *shown = hv_text_escape(argv[1], -1);
  if (g_file_test(argv[1], G_FILE_TEST_IS_DIR)) {   /* the export directory given for its report */
    hv_cli_error(sub(), "%s is a directory: give the report, %s/custody-report.txt or %s/custody-report.html "
                 "(each has its own signature)", shown, shown, shown);
    return HV_EXIT_USAGE;
  }
  if (!hv_report_verify(argv[1], signers, &sid, &err)) {
    g_autofree char *m = hv_text_escape(err->message, -1);
    if (err->code == HV_REPORT_SIGN_ERROR_IO) {
      hv_cli_error(sub(), "%s", m);
      return HV_EXIT_USAGE;
    }
    /* the message names the file itself when it is the report: once is enough */
    g_autofree char *prefix = g_strconcat(shown, ": ", NULL);
    printf("INVALID %s: %s\n", shown, g_str_has_prefix(m, prefix) ? m + strlen(prefix) : m);
    return HV_EXIT_INTEGRITY;
  }
  printf("VALID %s: signed by custodian signing key %s (%s)\n", shown, sid,
         signers ? "pinned: one of the --signer keys" : "NOT PINNED: no --signer given");
  return HV_EXIT_OK;
}

static void
usage(FILE *out)
{
  fprintf(out, "Usage: haven custody show|verify|add|verify-report ...\n\n"
               "  show SESSION [--json]                   print the custody history\n"
               "  verify SESSION [--signer FILE...]       check the chain and every signature\n"
               "  add SESSION --action transfer|handover|verify --to TEXT --ref TEXT --identity KEY\n"
               "                                          record a custody event\n"
               "  verify-report REPORT [--signer FILE...] check a report's detached signature\n"
               "\nRun 'haven custody SUBCOMMAND --help' for its options.\n");
}

int
hv_cmd_custody(int argc, char **argv)
{
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? HV_EXIT_USAGE : HV_EXIT_OK;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
    printf("haven %s\n", HAVEN_VERSION);
    return HV_EXIT_OK;
  }
  g_autofree char *prg = g_strdup_printf("haven custody %s", argv[1]);
  g_set_prgname(prg);
  if (!strcmp(argv[1], "show"))
    return show_or_verify(argc - 1, argv + 1, FALSE);
  if (!strcmp(argv[1], "verify"))
    return show_or_verify(argc - 1, argv + 1, TRUE);
  if (!strcmp(argv[1], "add"))
    return add(argc - 1, argv + 1);
  if (!strcmp(argv[1], "verify-report"))
    return verify_report(argc - 1, argv + 1);
  g_autofree char *s = hv_text_escape(argv[1], -1);
  hv_cli_error("custody", "unknown subcommand '%s'", s);
  usage(stderr);
  return HV_EXIT_USAGE;
}
