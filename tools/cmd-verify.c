// SPDX-License-Identifier: GPL-2.0-or-later
/* haven verify: integrity verdicts for sessions, no decryption key needed. */
#include "cli.h"
#include "json-out.h"
#include "trust.h"
#include "vault/vault.h"

#include <json-glib/json-glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct {
  const char *name;
  gboolean    tty;
  gboolean    shown;       /* a progress line is on the terminal */
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
  p->shown = done < total;
  g_autofree char *name = hv_text_escape(p->name, -1);
  fprintf(stderr, "\r\033[Kverifying %s: %3u%% (%" G_GUINT64_FORMAT " MiB)", name,
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
  g_autofree char *dir = hv_text_escape(v->dir, -1);
  if (!v->intact) {
    g_autofree char *prob = hv_text_escape(v->problem, -1);
    printf("%-11s %s: %s\n", "INVALID", dir, prob);
    return;
  }
  g_autofree char *dev = hv_key_id(v->header.device_pk, HV_DEVICE_PK_SIZE);
  g_autofree char *dur = hv_cli_format_duration(v->last_mono_us - v->first_mono_us);
  printf("%-11s %s: device %s sequence %" G_GUINT64_FORMAT ", %s, %" G_GUINT64_FORMAT
         " %s, %" G_GUINT64_FORMAT " %s, fingerprint %s\n",
         verdict_word(v), dir, dev, v->header.device_seq, dur, v->records,
         hv_cli_plural(v->records, "record", "records"), v->markers,
         hv_cli_plural(v->markers, "marker", "markers"), v->fingerprint);
}

/* Text from the files goes through hv_text_escape before json-glib (which
 * escapes control characters but passes invalid UTF-8 through), so the
 * document is valid UTF-8 and reads the same as the text output. */
static void
add_text(JsonBuilder *b, const char *name, const char *text)
{
  g_autofree char *safe = hv_text_escape(text, -1);
  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, safe);
}

static void
add_int(JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, value);
}

static JsonNode *
verdict_json(const HvVerdict *v)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_text(b, "path", v->dir);
  json_builder_set_member_name(b, "verdict");
  json_builder_add_string_value(b, verdict_word(v));
  json_builder_set_member_name(b, "intact");
  json_builder_add_boolean_value(b, v->intact);
  if (v->problem)
    add_text(b, "problem", v->problem);
  if (v->have_header) {
    g_autofree char *dev = hv_key_id(v->header.device_pk, HV_DEVICE_PK_SIZE);
    g_autofree char *sid = hv_hex(v->header.session_id, HV_SESSION_ID_SIZE);
    json_builder_set_member_name(b, "device");
    json_builder_add_string_value(b, dev);
    json_builder_set_member_name(b, "session_id");
    json_builder_add_string_value(b, sid);
    add_int(b, "sequence", (gint64) v->header.device_seq);
    add_text(b, "room", v->header.room);
  }
  if (v->have_seal)
    add_text(b, "reason", v->seal.reason);
  if (v->fingerprint) {
    json_builder_set_member_name(b, "fingerprint");
    json_builder_add_string_value(b, v->fingerprint);
  }
  add_int(b, "records", (gint64) v->records);
  add_int(b, "markers", (gint64) v->markers);
  add_int(b, "first_wall_us", v->first_wall_us);
  add_int(b, "last_wall_us", v->last_wall_us);
  hv_json_add_time(b, "start", v->first_wall_us);
  hv_json_add_time(b, "end", v->last_wall_us);
  add_int(b, "duration_us", (gint64) (v->last_mono_us - v->first_mono_us));
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

/* "device ID: N sessions, sequence A..B, ledger intact, verifiable up to
 * sequence N" (the line scripts read), then where the history starts and the
 * missing sequences. */
static char *
device_text(guint64 from_seq, const HvLedgerDevice *d)
{
  GString *t = g_string_new(NULL);
  guint64 start = from_seq ? from_seq : d->first_seq;
  g_string_append_printf(t, "device %s: %u session%s, sequence %" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT ", ledger %s",
         d->device_id, d->sessions, d->sessions == 1 ? "" : "s", d->first_seq, d->last_seq,
         d->problems->len ? "BROKEN" : "intact");
  if (d->verified_to >= start)
    g_string_append_printf(t, ", verifiable up to sequence %" G_GUINT64_FORMAT, d->verified_to);
  else
    g_string_append_printf(t, ", nothing verifiable from sequence %" G_GUINT64_FORMAT, start);
  if (from_seq)
    g_string_append_printf(t, "; expected to start at sequence %" G_GUINT64_FORMAT, start);
  else
    g_string_append_printf(t, "; verifiable history starts at sequence %" G_GUINT64_FORMAT "%s", d->first_seq,
           d->first_seq > 1 ? " (earlier sessions are not in these files; state the expected start "
                              "with --from-sequence)" : "");
  if (d->missing->len) {
    const HvSeqRange *only = (const HvSeqRange *) d->missing->data;
    g_autofree char *m = hv_seq_ranges_format(d->missing);
    g_string_append_printf(t, "; missing sequence%s %s", d->missing->len == 1 && only->from == only->to ? "" : "s", m);
  }
  if (d->unrecorded->len) {
    g_autofree char *u = hv_seq_ranges_format(d->unrecorded);
    g_string_append_printf(t, "; never recorded (declared by the next session, signed): %s", u);
  }
  return g_string_free(t, FALSE);
}

static JsonNode *
device_json(const HvLedgerDevice *d, guint64 expected_first)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "device");
  json_builder_add_string_value(b, d->device_id);
  /* the text output's facts, as scripts read them there */
  g_autofree char *summary = device_text(expected_first, d);
  g_autofree char *seqs = g_strdup_printf("%" G_GUINT64_FORMAT "..%" G_GUINT64_FORMAT, d->first_seq, d->last_seq);
  hv_json_add_text(b, "summary", summary);
  hv_json_add_text(b, "ledger", d->problems->len ? "BROKEN" : "intact");
  hv_json_add_text(b, "sequences", seqs);
  add_int(b, "sessions", d->sessions);
  add_int(b, "first_sequence", (gint64) d->first_seq);
  add_int(b, "last_sequence", (gint64) d->last_seq);
  json_builder_set_member_name(b, "expected_first_sequence");
  if (expected_first)
    json_builder_add_int_value(b, (gint64) expected_first);
  else
    json_builder_add_null_value(b);
  add_int(b, "verifiable_up_to_sequence", (gint64) d->verified_to);
  json_builder_set_member_name(b, "ledger_intact");
  json_builder_add_boolean_value(b, d->problems->len == 0);
  json_builder_set_member_name(b, "missing_sequences");
  json_builder_begin_array(b);
  for (guint k = 0; k < d->missing->len; k++) {
    const HvSeqRange *r = &g_array_index(d->missing, HvSeqRange, k);
    json_builder_begin_object(b);
    add_int(b, "from", (gint64) r->from);
    add_int(b, "to", (gint64) r->to);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "unrecorded_sequences");
  json_builder_begin_array(b);
  for (guint k = 0; k < d->unrecorded->len; k++) {
    const HvSeqRange *r = &g_array_index(d->unrecorded, HvSeqRange, k);
    json_builder_begin_object(b);
    add_int(b, "from", (gint64) r->from);
    add_int(b, "to", (gint64) r->to);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_set_member_name(b, "problems");
  json_builder_begin_array(b);
  for (guint k = 0; k < d->problems->len; k++) {
    g_autofree char *p = hv_text_escape(d->problems->pdata[k], -1);
    json_builder_add_string_value(b, p);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  return json_builder_get_root(b);
}

static void
print_node(JsonNode *node, gboolean comma)
{
  g_autoptr(JsonNode) n = node;
  g_autofree char *text = json_to_string(n, TRUE);
  printf("%s%s\n", comma ? "," : "", text);
}

typedef struct {
  gboolean json;
  gboolean quiet;     /* only what failed */
  gboolean status;    /* nothing: the exit status says it */
  char    *device_key;
  char    *expect;
  gint64   from_seq;
} Options;

typedef struct {
  const Options *o;
  const char    *want;          /* normalised --expect, or NULL */
  HvLedger      *ledger;
  char          *trust_dir;     /* without --device-key: enrolled devices pin their sessions */
  GHashTable    *pinned;        /* device id -> HvTrustedDevice, enrolled devices seen */
  GHashTable    *unpinned;      /* device ids of sessions not pinned */
  guint          counts[4];     /* COMPLETE, INTERRUPTED, IO_FAILED, INVALID */
  guint          n;
  Progress      *progress;      /* names the session being verified */
} Run;

static void
apply_expect(HvVerdict *v, const char *want)
{
  if (v->intact && g_strcmp0(v->fingerprint, want) != 0) {
    v->intact = FALSE;
    v->problem = g_strdup_printf("fingerprint is %s, not the expected %s (a different session, or "
                                 "the paper record was misread)", v->fingerprint, want);
    v->problem_code = HV_VAULT_ERROR_FINGERPRINT;
  }
}

/* One verdict: printed at once, then only its ledger entry is kept. */
static void
take_verdict(Run *r, HvVerdict *v)
{
  if (r->want)
    apply_expect(v, r->want);
  r->counts[v->intact ? v->seal.status - 1 : 3]++;
  if (r->o->json)
    print_node(verdict_json(v), r->n > 0);
  else if (!r->o->status && !(r->o->quiet && v->intact))
    print_line(v);
  r->n++;
  hv_ledger_add(r->ledger, v);
}

/* Without --device-key: the key of the session's device when it is
 * enrolled (the trust list), else NULL (not pinned). FALSE when the trust
 * entry is damaged: never verified as if the device were not enrolled. */
static gboolean
pin_enrolled(Run *r, const char *session, const guint8 **ret_pk)
{
  *ret_pk = NULL;
  HvHeader h;
  if (!hv_vault_read_header(session, NULL, &h, NULL))
    return TRUE; /* the verdict says why */
  g_autofree char *id = hv_key_id(h.device_pk, HV_DEVICE_PK_SIZE);
  HvTrustedDevice *t = g_hash_table_lookup(r->pinned, id);
  if (!t && !g_hash_table_contains(r->unpinned, id)) {
    g_autoptr(GError) err = NULL;
    t = hv_trust_lookup(r->trust_dir, id, &err);
    if (err) {
      hv_cli_error("verify", "%s", err->message);
      return FALSE;
    }
    if (t)
      g_hash_table_insert(r->pinned, g_strdup(id), t);
    else
      g_hash_table_add(r->unpinned, g_steal_pointer(&id));
  }
  if (t)
    *ret_pk = t->pk;
  return TRUE;
}

static void
on_session(const char *dir, gpointer user_data)
{
  ((Run *) user_data)->progress->name = dir;
}

static void
on_verdict(HvVerdict *v, gpointer user_data)
{
  g_autoptr(HvVerdict) owned = v;
  Run *r = user_data;
  if (r->progress->shown) {   /* stopped short of 100%: never run the verdict into the progress line */
    fprintf(stderr, "\r\033[K");
    r->progress->shown = FALSE;
  }
  take_verdict(r, owned);
}

/* Verify every session under the given paths; FALSE on a usage or I/O error. */
static gboolean
collect(char **paths, Run *r)
{
  const Options *o = r->o;
  guint8 pk[HV_DEVICE_PK_SIZE];
  g_autoptr(GError) err = NULL;
  if (o->device_key && !hv_device_pubkey_load(o->device_key, pk, &err)) {
    hv_cli_error("verify", "--device-key: %s", err->message);
    return FALSE;
  }
  g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; paths[i]; i++) {
    g_autoptr(GPtrArray) dirs = hv_vault_find_sessions(paths[i], &err);
    if (!dirs) {
      g_autofree char *m = hv_text_escape(err->message, -1);
      hv_cli_error("verify", "%s", m);
      return FALSE;
    }
    if (dirs->len == 0) {
      g_autofree char *p = hv_text_escape(paths[i], -1);
      g_autofree char *report = g_build_filename(paths[i], "custody-report.txt", NULL);
      g_autofree char *clip = g_build_filename(paths[i], "clip.json", NULL);
      /* an export holds no sealed session: say what it is and what checks it */
      if (g_file_test(clip, G_FILE_TEST_IS_REGULAR))
        hv_cli_error("verify", "%s: no sessions found: it is a clip 'haven export --from/--until' wrote; check it "
                     "against its sealed session with 'haven verify-clip -i KEYFILE %s SESSION'", p, p);
      else if (g_file_test(report, G_FILE_TEST_IS_REGULAR))
        hv_cli_error("verify", "%s: no sessions found: it is what 'haven export' wrote (custody-report.txt); "
                     "verify the sealed session it was exported from", p);
      else
        hv_cli_error("verify", "%s: no sessions found", p);
      return FALSE;
    }
    for (guint k = 0; k < dirs->len; k++)
      g_ptr_array_add(all, g_strdup(dirs->pdata[k]));
  }
  if (r->want && all->len != 1) {
    hv_cli_error("verify", "--expect checks one session, but %u were found", all->len);
    return FALSE;
  }
  Progress prog = { .tty = isatty(STDERR_FILENO) && !o->json && !o->quiet && !o->status };
  HvVerifyOptions vo = { .expected_device_pk = o->device_key ? pk : NULL,
                         .on_progress = on_progress, .user_data = &prog,
                         .threads = HV_VERIFY_ALL_CPUS };
  if (o->json)
    printf("{\n\"schema\": \"haven.verify/1\",\n\"sessions\": [\n");
  /* without --device-key: each enrolled device's sessions are pinned to its trusted key */
  g_autofree const guint8 **pks = g_new0(const guint8 *, all->len + 1);
  for (guint k = 0; k < all->len && !o->device_key; k++)
    if (!pin_enrolled(r, all->pdata[k], &pks[k]))
      return FALSE;
  r->progress = &prog;
  if (!hv_vault_verify_many((char **) all->pdata, all->len, &vo, pks, on_session, on_verdict, r, &err)) {
    g_autofree char *m = hv_text_escape(err->message, -1);
    hv_cli_error("verify", "%s", m);
    return FALSE;
  }
  return TRUE;
}

static int
compare_ids(const void *a, const void *b)
{
  return strcmp(*(const char *const *) a, *(const char *const *) b);
}

static const char NOT_PINNED[] =
  "device NOT PINNED: no --device-key given and the device is not enrolled (haven enroll); each session is "
  "checked against the key in its own header, which does not prove which device recorded it";

/* The ids of the devices whose sessions were not pinned, sorted, ", "-separated. */
static char *
unpinned_ids(Run *r)
{
  g_autofree gpointer *keys = g_hash_table_get_keys_as_array(r->unpinned, NULL);
  guint n = g_hash_table_size(r->unpinned);
  qsort(keys, n, sizeof *keys, compare_ids);
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < n; i++)
    g_string_append_printf(s, "%s%s", i ? ", " : "", (const char *) keys[i]);
  return g_string_free(s, FALSE);
}

static void
print_json_tail(Run *r, GPtrArray *ledger, gboolean sessions_bad, gboolean ledger_bad)
{
  printf("],\n\"devices\": [\n");
  for (guint i = 0; i < ledger->len; i++)
    print_node(device_json(ledger->pdata[i], (guint64) r->o->from_seq), i > 0);
  gboolean enrolled = !r->o->device_key && g_hash_table_size(r->pinned) > 0
                      && g_hash_table_size(r->unpinned) == 0;
  /* which devices were not pinned: a session from another key among pinned ones must stand out */
  printf("],\n\"unpinned_devices\": [");
  if (!r->o->device_key) {
    g_autofree gpointer *keys = g_hash_table_get_keys_as_array(r->unpinned, NULL);
    guint n = g_hash_table_size(r->unpinned);
    qsort(keys, n, sizeof *keys, compare_ids);
    for (guint i = 0; i < n; i++)
      printf("%s\"%s\"", i ? ", " : "", (const char *) keys[i]);
  }
  printf("],\n\"device_pinned\": %s,\n\"pinned_by\": %s,\n\"sessions_intact\": %s,\n\"ledger_intact\": %s,\n"
         "\"ledger\": \"%s\",\n\"intact\": %s\n}\n", r->o->device_key || enrolled ? "true" : "false",
         r->o->device_key ? "\"device-key\"" : enrolled ? "\"trust-list\"" : "null",
         sessions_bad ? "false" : "true", ledger_bad ? "false" : "true", ledger_bad ? "BROKEN" : "intact",
         sessions_bad || ledger_bad ? "false" : "true");
}

static void
print_text_tail(Run *r, GPtrArray *ledger, gboolean ledger_bad)
{
  if (r->o->status)
    return;
  for (guint i = 0; i < ledger->len; i++) {
    HvLedgerDevice *d = ledger->pdata[i];
    for (guint k = 0; k < d->problems->len; k++) {
      g_autofree char *p = hv_text_escape(d->problems->pdata[k], -1);
      printf("%-11s device %s: %s\n", "LEDGER", d->device_id, p);
    }
  }
  if (r->o->quiet)
    return;
  printf("summary: %u session%s: %u COMPLETE, %u INTERRUPTED, %u IO_FAILED, %u INVALID; ledger %s\n",
         r->n, r->n == 1 ? "" : "s", r->counts[0], r->counts[1], r->counts[2], r->counts[3],
         ledger_bad ? "BROKEN (see LEDGER lines)" : "intact");
  for (guint i = 0; i < ledger->len; i++) {
    g_autofree char *line = device_text((guint64) r->o->from_seq, ledger->pdata[i]);
    printf("%s\n", line);
  }
  if (r->o->device_key) {
    /* say it as plainly as the enrolled and NOT PINNED cases do */
    guint8 pk[HV_DEVICE_PK_SIZE];
    if (hv_device_pubkey_load(r->o->device_key, pk, NULL)) {
      g_autofree char *id = hv_key_id(pk, HV_DEVICE_PK_SIZE);
      g_autofree char *shown = hv_text_escape(r->o->device_key, -1);
      printf("device pinned: device %s, the key given with --device-key %s (a session signed by any other key "
             "is INVALID)\n", id, shown);
    }
    return;
  }
  GHashTableIter it;
  gpointer value;
  g_hash_table_iter_init(&it, r->pinned);
  while (g_hash_table_iter_next(&it, NULL, &value)) {
    const HvTrustedDevice *t = value;
    g_autofree char *room = hv_text_escape(t->room, -1);
    printf("device pinned: enrolled device %s (room \"%s\", trust list %s)\n", t->device_id, room, r->trust_dir);
  }
  if (g_hash_table_size(r->pinned) && g_hash_table_size(r->unpinned)) {
    /* beside enrolled devices: name the ones that are not (a session signed by another key) */
    g_autofree char *ids = unpinned_ids(r);
    printf("device NOT PINNED: %s %s %s not enrolled (haven enroll) and no --device-key was given; %s sessions are "
           "checked against the key in their own header, which does not prove which device recorded them\n",
           g_hash_table_size(r->unpinned) == 1 ? "device" : "devices", ids,
           g_hash_table_size(r->unpinned) == 1 ? "is" : "are", g_hash_table_size(r->unpinned) == 1 ? "its" : "their");
  } else if (g_hash_table_size(r->unpinned) || !g_hash_table_size(r->pinned)) {
    printf("%s\n", NOT_PINNED);
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
  g_autoptr(HvLedger) ledger = hv_ledger_new((guint64) o->from_seq);
  g_autofree char *trust_dir = hv_trust_dir();
  g_autoptr(GHashTable) pinned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
                                                       (GDestroyNotify) hv_trusted_device_free);
  g_autoptr(GHashTable) unpinned = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
  Run r = { .o = o, .want = want, .ledger = ledger, .trust_dir = trust_dir, .pinned = pinned,
            .unpinned = unpinned };
  if (!collect(paths, &r))
    return HV_EXIT_USAGE;
  g_autoptr(GPtrArray) devices = hv_ledger_check(ledger);
  gboolean sessions_bad = r.counts[3] > 0, ledger_bad = FALSE;
  for (guint i = 0; i < devices->len; i++)
    ledger_bad |= ((HvLedgerDevice *) devices->pdata[i])->problems->len > 0;
  if (o->json)
    print_json_tail(&r, devices, sessions_bad, ledger_bad);
  else
    print_text_tail(&r, devices, ledger_bad);
  return sessions_bad || ledger_bad ? HV_EXIT_INTEGRITY : HV_EXIT_OK;
}

int
hv_cmd_verify(int argc, char **argv)
{
  Options o = { .from_seq = -1 };
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &o.json, "Print the verdicts as one JSON document (docs/JSON.md)", NULL },
    { "quiet", 'q', 0, G_OPTION_ARG_NONE, &o.quiet,
      "Print only what failed (INVALID sessions, LEDGER problems), as sha256sum --quiet", NULL },
    { "status", 0, 0, G_OPTION_ARG_NONE, &o.status,
      "Print nothing: the exit status says it, as sha256sum --status", NULL },
    { "device-key", 0, 0, G_OPTION_ARG_FILENAME, &o.device_key,
      "Require sessions signed by this device (its .pub file)", "FILE" },
    { "expect", 0, 0, G_OPTION_ARG_STRING, &o.expect,
      "Require this fingerprint (from the paper interview record); one session only", "FP" },
    { "from-sequence", 0, 0, G_OPTION_ARG_INT64, &o.from_seq,
      "Require each device's archive to start at sequence N (1: the device's first session)", "N" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("PATH... - verify sessions");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "PATH is a session directory or a folder of sessions (from one or more devices).\n"
    "No decryption key is needed. One verdict per session: COMPLETE, INTERRUPTED,\n"
    "IO_FAILED, or INVALID with the first problem found; then the device ledger:\n"
    "per device, the sequences present, where the verifiable history starts, the\n"
    "missing sequences (named exactly, apart from the per-session verdicts), and up to\n"
    "which sequence the archive is verifiable. Files cannot prove that sessions older\n"
    "than the oldest present, or newer than the newest, were removed: say where the\n"
    "archive must start with --from-sequence. Without --device-key, a session of a\n"
    "device in the trust list (haven enroll; $HAVEN_TRUST_DIR, default\n"
    "$XDG_CONFIG_HOME/haven/devices) is pinned to its enrolled key; any other device is\n"
    "NOT PINNED: its sessions are checked against the key in their own header only.\n"
    "Text from the files is escaped (\\n, \\u{001B}, \\xFF, ...).\n"
    "Exit status: 0 every session intact and every ledger intact; 1 any session\n"
    "INVALID, or any ledger broken (a missing sequence, a duplicate, a broken link,\n"
    "a sequence 1 that claims a predecessor, or a start after --from-sequence), even\n"
    "when every session present is COMPLETE; 2 usage or I/O error.");
  int ret = HV_EXIT_USAGE;
  if (hv_cli_parse(ctx, &argc, &argv)) {
    if (argc < 2) {
      hv_cli_error("verify", "no PATH given; see 'haven verify --help'");
    } else if (o.json + o.quiet + o.status > 1) {
      hv_cli_error("verify", "--json, --quiet and --status exclude each other");
    } else if (o.from_seq != -1 && o.from_seq < 1) {
      hv_cli_error("verify", "--from-sequence: %" G_GINT64_FORMAT " is not a sequence number (1 or more)",
                   o.from_seq);
    } else {
      o.from_seq = MAX(o.from_seq, 0);   /* 0: not given */
      ret = run_verify(argv + 1, &o);
    }
  }
  g_free(o.device_key);
  g_free(o.expect);
  return ret;
}
