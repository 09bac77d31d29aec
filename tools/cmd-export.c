// SPDX-License-Identifier: GPL-2.0-or-later
/* haven export: verify, decrypt with the custodian's identity, remux, report. */
#include "cli.h"
#include "ts-remux.h"
#include "vault-decrypt.h"
#include "vault-file.h"
#include "vault-keys.h"
#include "vault-verify.h"

#include <errno.h>
#include <fcntl.h>
#include <glib/gstdio.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static char *
sha256_file(const char *path, GError **error)
{
  int fd = hv_open_regular(path, error);
  if (fd < 0)
    return NULL;
  crypto_hash_sha256_state st;
  crypto_hash_sha256_init(&st);
  g_autofree guint8 *buf = g_malloc(1 << 16);
  ssize_t n;
  while ((n = read(fd, buf, 1 << 16)) > 0)
    crypto_hash_sha256_update(&st, buf, (unsigned long long) n);
  close(fd);
  if (n < 0) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s", path, g_strerror(errno));
    return NULL;
  }
  guint8 out[crypto_hash_sha256_BYTES];
  crypto_hash_sha256_final(&st, out);
  return hv_hex(out, sizeof out);
}

static void
rm_rf(const char *dir)
{
  g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
  const char *name;
  while (d && (name = g_dir_read_name(d))) {
    g_autofree char *p = g_build_filename(dir, name, NULL);
    (void) g_unlink(p);
  }
  (void) g_rmdir(dir);
}

static GString *
custody_report(const HvVerdict *v, const HvIdentity *id, gboolean mp4_ok, const char *mp4_problem)
{
  const HvHeader *h = &v->header;
  GString *r = g_string_new("HAVEN CUSTODY REPORT\n====================\n\n");
  g_autofree char *now = hv_cli_format_time(g_get_real_time());
  g_autofree char *dev = hv_key_id(h->device_pk, HV_DEVICE_PK_SIZE);
  g_autofree char *sid = hv_hex(h->session_id, HV_SESSION_ID_SIZE);
  g_autofree char *kid = hv_key_id(id->pk, HV_RECIPIENT_PK_SIZE);
  g_autofree char *start = hv_cli_format_time(v->first_wall_us);
  g_autofree char *end = hv_cli_format_time(v->last_wall_us);
  g_autofree char *dur = hv_cli_format_duration(v->last_mono_us - v->first_mono_us);

  g_string_append_printf(r, "Exported:        %s on host %s by custodian key %s\n", now,
                         g_get_host_name(), kid);
  g_string_append_printf(r, "Source session:  %s\n", v->dir);
  g_string_append_printf(r, "Session id:      %s\n", sid);
  g_string_append_printf(r, "Room:            %s\n", h->room[0] ? h->room : "(not set)");
  g_string_append_printf(r, "Device:          %s, sequence %" G_GUINT64_FORMAT "\n", dev, h->device_seq);
  g_string_append_printf(r, "Verdict:         %s (%s)\n", hv_status_name(v->seal.status),
                         v->seal.reason[0] ? v->seal.reason : "no reason recorded");
  g_string_append_printf(r, "Fingerprint:     %s\n", v->fingerprint);
  g_string_append_printf(r, "Recorded:        %s to %s (%s)\n", start, end, dur);
  g_string_append_printf(r, "Records:         %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
                         " media chunks, %" G_GUINT64_FORMAT " events, %" G_GUINT64_FORMAT " markers)\n",
                         v->records, v->media_records, v->events, v->markers);
  g_string_append(r, "\nEvents and markers (device wall clock; offset from the first record):\n");
  for (guint i = 0; i < v->event_list->len; i++) {
    const HvEventInfo *e = &g_array_index(v->event_list, HvEventInfo, i);
    g_autofree char *t = hv_cli_format_time(e->wall_us);
    g_autofree char *rel = hv_cli_format_duration(e->mono_us - v->first_mono_us);
    g_string_append_printf(r, "  %s  +%s  %-13s %s\n", t, rel, hv_record_type_name(e->type), e->text);
  }
  if (!mp4_ok)
    g_string_append_printf(r, "\nMP4 working copy NOT produced: %s\n", mp4_problem);
  g_string_append_printf(r, "\nFiles (SHA-256):\n");
  return r;
}

typedef struct {
  char *identity;
  char *out;
} Options;

static int
export_session(const char *session, const Options *o)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(HvIdentity) id = hv_identity_load(o->identity, &err);
  if (!id) {
    hv_cli_error("export", "--identity: %s", err->message);
    return HV_EXIT_USAGE;
  }
  if (g_file_test(o->out, G_FILE_TEST_EXISTS) || g_file_test(o->out, G_FILE_TEST_IS_SYMLINK)) {
    hv_cli_error("export", "%s: already exists, refusing to overwrite", o->out);
    return HV_EXIT_USAGE;
  }
  /* The key is checked against the header first, so a wrong key leaves nothing
   * behind; then one pass verifies and decrypts, and an INVALID verdict
   * discards everything decrypted. */
  HvHeader header;
  if (!hv_vault_read_header(session, NULL, &header, &err)) {
    gboolean io = !g_file_test(session, G_FILE_TEST_IS_DIR);
    hv_cli_error("export", "%s%s", io ? "" : "refusing to export an INVALID session: ", err->message);
    return io ? HV_EXIT_USAGE : HV_EXIT_INTEGRITY;
  }
  g_autoptr(HvDecryptor) dec = hv_decryptor_new(&header, id, -1, &err);
  if (!dec) {
    hv_cli_error("export", "%s: %s", session, err->message);
    return err->code == HV_VAULT_ERROR_KEY && strstr(err->message, "commitment")
             ? HV_EXIT_INTEGRITY : HV_EXIT_USAGE;
  }

  g_autofree char *tmpl = g_strdup_printf("%s.partial-XXXXXX", o->out);
  if (!g_mkdtemp_full(tmpl, 0700)) {
    hv_cli_error("export", "%s: %s", o->out, g_strerror(errno));
    return HV_EXIT_USAGE;
  }
  g_autofree char *abs = g_canonicalize_filename(session, NULL);
  g_autofree char *base = g_path_get_basename(abs);
  g_autofree char *ts_name = g_strdup_printf("%s.ts", base);
  g_autofree char *mp4_name = g_strdup_printf("%s.mp4", base);
  g_autofree char *ts_path = g_build_filename(tmpl, ts_name, NULL);
  g_autofree char *mp4_path = g_build_filename(tmpl, mp4_name, NULL);
  int fd = open(ts_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    hv_cli_error("export", "%s: %s", ts_path, g_strerror(errno));
    rm_rf(tmpl);
    return HV_EXIT_USAGE;
  }
  hv_decryptor_set_output(dec, fd);
  HvVerifyOptions vo = { .on_record = hv_decryptor_on_record, .user_data = dec };
  g_autoptr(HvVerdict) v = hv_vault_verify(session, &vo, &err);
  gboolean synced = fsync(fd) == 0;
  close(fd);
  if (!v || !v->intact || !synced) {
    if (v && !v->intact)
      hv_cli_error("export", "refusing to export an INVALID session: %s: %s", session, v->problem);
    else
      hv_cli_error("export", "%s: %s", session, !v ? err->message : g_strerror(errno));
    rm_rf(tmpl);
    return v && !v->intact ? HV_EXIT_INTEGRITY : HV_EXIT_USAGE;
  }
  if (v->seal.status == HV_STATUS_COMPLETE && !hv_decryptor_saw_final(dec)) {
    hv_cli_error("export", "%s: COMPLETE session without a final chunk", session);
    rm_rf(tmpl);
    return HV_EXIT_INTEGRITY;
  }

  g_autoptr(GError) remux_err = NULL;
  gboolean mp4_ok = hv_ts_remux_to_mp4(ts_path, mp4_path, &remux_err);
  if (!mp4_ok) {
    (void) g_unlink(mp4_path);
    g_printerr("haven export: warning: %s; the MPEG-TS original is exported\n", remux_err->message);
  }
  g_autoptr(GString) report = custody_report(v, id, mp4_ok, mp4_ok ? NULL : remux_err->message);
  const char *files[] = { ts_name, mp4_ok ? mp4_name : NULL };
  for (guint i = 0; i < G_N_ELEMENTS(files) && files[i]; i++) {
    g_autofree char *p = g_build_filename(tmpl, files[i], NULL);
    g_autofree char *sum = sha256_file(p, &err);
    if (!sum) {
      hv_cli_error("export", "%s", err->message);
      rm_rf(tmpl);
      return HV_EXIT_USAGE;
    }
    g_string_append_printf(report, "  %s  %s\n", sum, files[i]);
  }
  if (!hv_file_write_atomic(tmpl, "custody-report.txt", report->str, report->len, 0600, &err) ||
      rename(tmpl, o->out) < 0) {
    hv_cli_error("export", "%s: %s", o->out, err ? err->message : g_strerror(errno));
    rm_rf(tmpl);
    return HV_EXIT_USAGE;
  }
  g_autofree char *rep_path = g_build_filename(o->out, "custody-report.txt", NULL);
  g_autofree char *final_mp4 = g_build_filename(o->out, mp4_name, NULL);
  printf("verdict:     %s\nfingerprint: %s\nexported:    %s\nmp4:         %s\nreport:      %s\n",
         hv_status_name(v->seal.status), v->fingerprint, o->out, mp4_ok ? final_mp4 : "(not produced)",
         rep_path);
  return HV_EXIT_OK;
}

int
hv_cmd_export(int argc, char **argv)
{
  Options o = { 0 };
  GOptionEntry entries[] = {
    { "identity", 'i', 0, G_OPTION_ARG_FILENAME, &o.identity,
      "Custodian identity file (from 'haven keygen')", "KEYFILE" },
    { "out", 'o', 0, G_OPTION_ARG_FILENAME, &o.out, "Directory to create for the export", "DIR" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("SESSION - export a session for court");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "Verifies the session first and refuses an INVALID one. Decrypts it with your\n"
    "identity and writes into DIR (which must not exist): the original MPEG-TS stream,\n"
    "an MP4 remuxed without re-encoding, and custody-report.txt with the verdict,\n"
    "fingerprint, events, markers and the SHA-256 of every exported file. On any\n"
    "failure nothing is left behind. An INTERRUPTED session exports its intact prefix.");
  int ret = HV_EXIT_USAGE;
  if (hv_cli_parse(ctx, &argc, &argv)) {
    if (!o.identity || !o.out || argc != 2)
      hv_cli_error("export", "--identity KEYFILE, --out DIR and one SESSION are required");
    else
      ret = export_session(argv[1], &o);
  }
  g_free(o.identity);
  g_free(o.out);
  return ret;
}
