// SPDX-License-Identifier: GPL-2.0-or-later
/* haven export: verify, decrypt with the custodian's identity, remux, report. */
#include "cli.h"
#include "trust.h"
#include "ts-remux.h"
#include "vault/vault.h"

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
file_close(FILE *f)
{
  (void) fclose(f);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(FILE, file_close)

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

/* What the report says about the device key: pinned to the custodian's copy,
 * or taken from the session's own header (which proves nothing about which
 * device recorded it). */
static char *
device_line(const HvHeader *h, gboolean pinned, const HvTrustedDevice *enrolled)
{
  g_autofree char *dev = hv_key_id(h->device_pk, HV_DEVICE_PK_SIZE);
  g_autofree char *room = enrolled ? hv_text_escape(enrolled->room, -1) : NULL;
  g_autofree char *how = enrolled ? g_strdup_printf("pinned: enrolled device %s (room \"%s\"), matches its key "
                                                    "in the trust list %s", enrolled->device_id, room,
                                                    enrolled->pub_path)
                                  : NULL;
  return g_strdup_printf("%s, sequence %" G_GUINT64_FORMAT " (%s)", dev, h->device_seq,
                         how ? how
                         : pinned ? "pinned: matches the device key given with --device-key"
                                  : "NOT PINNED: no --device-key given and the device is not enrolled (haven "
                                    "enroll); the session is signed by the key in its own header, which does not "
                                    "prove which device recorded it");
}

static GString *
custody_head(const HvVerdict *v, const HvIdentity *id, gboolean pinned, const HvTrustedDevice *enrolled,
             gboolean expected)
{
  const HvHeader *h = &v->header;
  GString *r = g_string_new("HAVEN CUSTODY REPORT\n====================\n\n");
  g_autofree char *now = hv_cli_format_time(g_get_real_time());
  g_autofree char *host = hv_text_escape(g_get_host_name(), -1);
  g_autofree char *src = hv_text_escape(v->dir, -1);
  g_autofree char *sid = hv_hex(h->session_id, HV_SESSION_ID_SIZE);
  g_autofree char *kid = hv_key_id(id->pk, HV_RECIPIENT_PK_SIZE);
  g_autofree char *room = hv_text_escape(h->room, -1);
  g_autofree char *reason = hv_text_escape(v->seal.reason, -1);
  g_autofree char *dev = device_line(h, pinned, enrolled);
  g_autofree char *start = hv_cli_format_time(v->first_wall_us);
  g_autofree char *end = hv_cli_format_time(v->last_wall_us);
  g_autofree char *dur = hv_cli_format_duration(v->last_mono_us - v->first_mono_us);

  g_string_append_printf(r, "Exported:        %s on host %s by custodian key %s\n", now, host, kid);
  g_string_append_printf(r, "Source session:  %s\n", src);
  g_string_append_printf(r, "Session id:      %s\n", sid);
  g_string_append_printf(r, "Room:            %s\n", h->room[0] ? room : "(not set)");
  g_string_append_printf(r, "Device:          %s\n", dev);
  g_string_append_printf(r, "Verdict:         %s (%s)\n", hv_status_name(v->seal.status),
                         reason[0] ? reason : "no reason recorded");
  g_string_append_printf(r, "Fingerprint:     %s (%s)\n", v->fingerprint,
                         expected ? "matches the fingerprint given with --expect"
                                  : "not compared: no --expect given");
  g_string_append_printf(r, "Recorded:        %s to %s (%s)\n", start, end, dur);
  g_string_append_printf(r, "Records:         %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT
                         " media chunks, %" G_GUINT64_FORMAT " events, %" G_GUINT64_FORMAT " markers)\n",
                         v->records, v->media_records, v->events, v->markers);
  g_string_append(r, "\nEvents and markers (device wall clock; offset from the first record; text "
                     "escaped):\n");
  return r;
}

/* The single verify+decrypt pass: media goes to the decryptor, each event is
 * written as one escaped report line to a scratch file, so memory stays
 * bounded whatever the number of events. */
typedef struct {
  HvDecryptor *dec;
  FILE        *events;
  GString     *line;    /* reused: no allocation per event */
  gboolean     have_first;
  guint64      first_mono_us;
} ExportPass;

static gboolean
export_record(const HvRecordHeader *rh, const guint8 *payload, gpointer user_data, GError **error)
{
  ExportPass *x = user_data;
  if (!x->have_first) {
    x->have_first = TRUE;
    x->first_mono_us = rh->mono_us;
  }
  if (rh->type == HV_RECORD_MEDIA)
    return hv_decryptor_on_record(rh, payload, x->dec, error);
  g_autofree char *t = hv_cli_format_time(rh->wall_us);
  g_autofree char *rel = hv_cli_format_duration(rh->mono_us - x->first_mono_us);
  g_string_printf(x->line, "  %s  +%s  %-13s ", t, rel, hv_record_type_name(rh->type));
  hv_text_escape_append(x->line, (const char *) payload, rh->length);
  g_string_append_c(x->line, '\n');
  if (fwrite(x->line->str, 1, x->line->len, x->events) != x->line->len) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "writing the report's event list: %s",
                g_strerror(errno));
    return FALSE;
  }
  return TRUE;
}

/* Write custody-report.txt in dir: head, the streamed event lines, tail. */
static gboolean
write_report(const char *dir, const GString *head, FILE *events, const GString *tail, GError **error)
{
  g_autofree char *path = g_build_filename(dir, "custody-report.txt", NULL);
  FILE *out = fopen(path, "wxe");
  gboolean ok = out != NULL && fwrite(head->str, 1, head->len, out) == head->len;
  if (ok && fflush(events) == 0 && fseek(events, 0, SEEK_SET) == 0) {
    char buf[1 << 16];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, events)) > 0)
      ok = fwrite(buf, 1, n, out) == n;
    ok = ok && !ferror(events);
  } else {
    ok = FALSE;
  }
  ok = ok && fwrite(tail->str, 1, tail->len, out) == tail->len && fflush(out) == 0 &&
       fsync(fileno(out)) == 0;
  int saved = errno;
  if (out && fclose(out) != 0 && ok) {
    saved = errno;
    ok = FALSE;
  }
  if (!ok)
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s", path, g_strerror(saved));
  return ok && hv_dir_sync(dir, error);
}

typedef struct {
  char *identity;
  char *out;
  char *device_key;
  char *expect;
} Options;

static int
refuse(const char *tmpl, int code, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Print the reason, remove the partial export, return the exit status. */
static int
refuse(const char *tmpl, int code, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_autofree char *safe = hv_text_escape(msg, -1);
  hv_cli_error("export", "%s", safe);
  if (tmpl)
    rm_rf(tmpl);
  return code;
}

static int
export_session(const char *session, const Options *o)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(HvIdentity) id = hv_identity_load(o->identity, &err);
  if (!id)
    return refuse(NULL, HV_EXIT_USAGE, "--identity: %s", err->message);
  guint8 device_pk[HV_DEVICE_PK_SIZE];
  if (o->device_key && !hv_device_pubkey_load(o->device_key, device_pk, &err))
    return refuse(NULL, HV_EXIT_USAGE, "--device-key: %s", err->message);
  g_autofree char *want = NULL;
  if (o->expect && !(want = hv_fingerprint_normalise(o->expect)))
    return refuse(NULL, HV_EXIT_USAGE, "--expect: '%s' is not a fingerprint (20 letters A-Z and "
                  "digits 2-7, grouped by 4)", o->expect);
  if (g_file_test(o->out, G_FILE_TEST_EXISTS) || g_file_test(o->out, G_FILE_TEST_IS_SYMLINK))
    return refuse(NULL, HV_EXIT_USAGE, "%s: already exists, refusing to overwrite", o->out);
  /* The key is checked against the header first, so a wrong key leaves nothing
   * behind; then one pass verifies and decrypts, and an INVALID verdict
   * discards everything decrypted. */
  const guint8 *pin = o->device_key ? device_pk : NULL;
  /* without --device-key: an enrolled device is pinned to its trusted key */
  g_autoptr(HvTrustedDevice) enrolled = NULL;
  if (!pin) {
    g_autofree char *trust_dir = hv_trust_dir();
    enrolled = hv_trust_lookup_session(trust_dir, session, &err);
    if (err)
      return refuse(NULL, HV_EXIT_USAGE, "%s", err->message);
    if (enrolled)
      pin = enrolled->pk;
  }
  HvHeader header;
  if (!hv_vault_read_header(session, pin, &header, &err)) {
    gboolean io = !g_file_test(session, G_FILE_TEST_IS_DIR);
    return refuse(NULL, io ? HV_EXIT_USAGE : HV_EXIT_INTEGRITY, "%s%s",
                  io ? "" : "refusing to export an INVALID session: ", err->message);
  }
  g_autoptr(HvDecryptor) dec = hv_decryptor_new(&header, id, -1, &err);
  if (!dec)
    return refuse(NULL, err->code == HV_VAULT_ERROR_COMMITMENT ? HV_EXIT_INTEGRITY : HV_EXIT_USAGE,
                  "%s: %s", session, err->message);

  g_autofree char *tmpl = g_strdup_printf("%s.partial-XXXXXX", o->out);
  if (!g_mkdtemp_full(tmpl, 0700))
    return refuse(NULL, HV_EXIT_USAGE, "%s: %s", o->out, g_strerror(errno));
  g_autofree char *abs = g_canonicalize_filename(session, NULL);
  /* the directory name carries no trust (FORMAT.md §1): keep it readable as a
   * file name, never let it put control characters or a path into one */
  g_autofree char *base = g_path_get_basename(abs);
  g_strcanon(base, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_+", '_');
  g_autofree char *ts_name = g_strdup_printf("%s.ts", base);
  g_autofree char *mp4_name = g_strdup_printf("%s.mp4", base);
  g_autofree char *ts_path = g_build_filename(tmpl, ts_name, NULL);
  g_autofree char *mp4_path = g_build_filename(tmpl, mp4_name, NULL);
  int fd = open(ts_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0)
    return refuse(tmpl, HV_EXIT_USAGE, "%s: %s", ts_path, g_strerror(errno));
  g_autoptr(FILE) events = tmpfile();
  if (!events) {
    close(fd);
    return refuse(tmpl, HV_EXIT_USAGE, "scratch file for the event list: %s", g_strerror(errno));
  }
  hv_decryptor_set_output(dec, fd);
  g_autoptr(GString) line = g_string_sized_new(4 * HV_EVENT_MAX + 128);
  ExportPass pass = { .dec = dec, .events = events, .line = line };
  HvVerifyOptions vo = { .expected_device_pk = pin, .on_record = export_record, .user_data = &pass };
  g_autoptr(HvVerdict) v = hv_vault_verify(session, &vo, &err);
  gboolean synced = fsync(fd) == 0;
  int sync_errno = errno;
  close(fd);
  if (v && v->intact && want && g_strcmp0(v->fingerprint, want) != 0)
    return refuse(tmpl, HV_EXIT_INTEGRITY, "refusing to export: %s: fingerprint is %s, not the expected "
                  "%s (a different session, or the paper record was misread)", session, v->fingerprint,
                  want);
  if (v && !v->intact)
    return refuse(tmpl, HV_EXIT_INTEGRITY, "refusing to export an INVALID session: %s: %s", session,
                  v->problem);
  if (!v || !synced)
    return refuse(tmpl, HV_EXIT_USAGE, "%s: %s", session, !v ? err->message : g_strerror(sync_errno));
  if (v->seal.status == HV_STATUS_COMPLETE && !hv_decryptor_saw_final(dec))
    return refuse(tmpl, HV_EXIT_INTEGRITY, "%s: COMPLETE session without a final chunk", session);

  g_autoptr(GError) remux_err = NULL;
  gboolean mp4_ok = hv_ts_remux_to_mp4(ts_path, mp4_path, &remux_err);
  if (!mp4_ok) {
    (void) g_unlink(mp4_path);
    g_autofree char *m = hv_text_escape(remux_err->message, -1);
    g_printerr("haven export: warning: %s; the MPEG-TS original is exported\n", m);
  }
  g_autoptr(GString) head = custody_head(v, id, pin != NULL, enrolled, want != NULL);
  g_autoptr(GString) tail = g_string_new(NULL);
  if (!mp4_ok) {
    g_autofree char *m = hv_text_escape(remux_err->message, -1);
    g_string_append_printf(tail, "\nMP4 working copy NOT produced: %s\n", m);
  }
  g_string_append_printf(tail, "\nFiles (SHA-256):\n");
  const char *files[] = { ts_name, mp4_ok ? mp4_name : NULL };
  for (guint i = 0; i < G_N_ELEMENTS(files) && files[i]; i++) {
    g_autofree char *p = g_build_filename(tmpl, files[i], NULL);
    g_autofree char *sum = sha256_file(p, &err);
    if (!sum)
      return refuse(tmpl, HV_EXIT_USAGE, "%s", err->message);
    g_autofree char *name = hv_text_escape(files[i], -1);
    g_string_append_printf(tail, "  %s  %s\n", sum, name);
  }
  if (!write_report(tmpl, head, events, tail, &err))
    return refuse(tmpl, HV_EXIT_USAGE, "%s", err->message);
  if (rename(tmpl, o->out) < 0)
    return refuse(tmpl, HV_EXIT_USAGE, "%s: %s", o->out, g_strerror(errno));
  g_autofree char *rep_path = g_build_filename(o->out, "custody-report.txt", NULL);
  g_autofree char *final_mp4 = g_build_filename(o->out, mp4_name, NULL);
  g_autofree char *dev = device_line(&v->header, pin != NULL, enrolled);
  printf("verdict:     %s\nfingerprint: %s%s\ndevice:      %s\nexported:    %s\nmp4:         %s\n"
         "report:      %s\n", hv_status_name(v->seal.status), v->fingerprint,
         want ? " (as expected)" : " (not compared: no --expect given)", dev, o->out,
         mp4_ok ? final_mp4 : "(not produced)", rep_path);
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
    { "device-key", 0, 0, G_OPTION_ARG_FILENAME, &o.device_key,
      "Require the session to be signed by this device (its .pub file)", "FILE" },
    { "expect", 0, 0, G_OPTION_ARG_STRING, &o.expect,
      "Require this fingerprint (from the paper interview record)", "FP" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("SESSION - export a session for court");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "Verifies the session first and refuses an INVALID one. Decrypts it with your\n"
    "identity and writes into DIR (which must not exist): the original MPEG-TS stream,\n"
    "an MP4 remuxed without re-encoding, and custody-report.txt with the verdict,\n"
    "fingerprint, events, markers and the SHA-256 of every exported file. On any\n"
    "failure nothing is left behind. An INTERRUPTED session exports its intact prefix.\n"
    "Without --device-key, a session of an enrolled device (haven enroll) is pinned to\n"
    "its key in the trust list; any other is checked against the key in its own header\n"
    "only: the output and the report then say that the device was NOT PINNED.\n"
    "Exit status: 0 exported, 1 integrity failure (INVALID, another device, wrong\n"
    "fingerprint, key commitment), 2 usage or I/O error.");
  int ret = HV_EXIT_USAGE;
  if (hv_cli_parse(ctx, &argc, &argv)) {
    if (!o.identity || !o.out || argc != 2)
      hv_cli_error("export", "--identity KEYFILE, --out DIR and one SESSION are required");
    else if (hv_cli_require_session_dir("export", argv[1]))
      ret = export_session(argv[1], &o);
  }
  g_free(o.identity);
  g_free(o.out);
  g_free(o.device_key);
  g_free(o.expect);
  return ret;
}
