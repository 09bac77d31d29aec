// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * hv-mksession: test helper that seals a synthetic (or given) media stream
 * into a session with the real vault writer. Used by the black-box tamper,
 * crash and ledger tests and by the vault benchmark.
 */
#include "vault/vault.h"

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* N note events of `size` bytes: hostile text for the escaping and memory
 * tests. The writer takes a C string, so bytes are never NUL. */
static gboolean
append_events(HvVaultWriter *w, gint64 n, gint64 size, const char *fill, gint64 commit_every,
              GError **error)
{
  if (size < 1 || size > HV_EVENT_MAX) {
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_MALFORMED, "--event-bytes must be 1..%u", HV_EVENT_MAX);
    return FALSE;
  }
  g_autofree char *text = g_malloc(size + 1);
  static const char control[] = "\x1b[2J\nFingerprint: AAAA-AAAA-AAAA-AAAA-AAAA\r\t";
  for (gint64 i = 0; i < size; i++)
    text[i] = g_strcmp0(fill, "invalid") == 0 ? (char) 0xff
              : g_strcmp0(fill, "control") == 0 ? control[i % (sizeof control - 1)] : 'e';
  text[size] = '\0';
  gint64 since = 0;
  for (gint64 i = 0; i < n; i++) {
    if (!hv_vault_writer_append_event(w, HV_EVENT_NOTE, text, error))
      return FALSE;
    since += size;
    if (since >= commit_every) {
      since = 0;
      if (!hv_vault_writer_commit(w, error))
        return FALSE;
    }
  }
  return TRUE;
}

/* Report err and give the exit status. A function, not a label: a goto
 * would jump past the initialisation of the g_auto* variables below. */
static int
fail(const GError *err)
{
  g_printerr("hv-mksession: %s\n", err->message);
  return 1;
}

int
main(int argc, char **argv)
{
  g_autofree char *key_path = NULL, *media = NULL, *prev = NULL, *room = NULL, *status = NULL;
  g_auto(GStrv) recipients = NULL, outs = NULL;
  gint64 bytes = 300000, seq = 1, commit_every = 200000, kill_after = -1;
  g_autofree char *marker_text = NULL, *event_fill = NULL;
  gint markers = 1;
  gint64 events = 0, event_bytes = 64;
  gboolean no_seal = FALSE, no_sync = FALSE;
  GOptionEntry entries[] = {
    { "device-key", 0, 0, G_OPTION_ARG_FILENAME, &key_path, "Device secret key (created if missing)", "F" },
    { "recipient", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &recipients, "Recipient .pub (repeatable)", "F" },
    { "out", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &outs, "Session directory (repeatable)", "DIR" },
    { "media", 0, 0, G_OPTION_ARG_FILENAME, &media, "Media file to seal (default: pseudo-random)", "F" },
    { "bytes", 0, 0, G_OPTION_ARG_INT64, &bytes, "Synthetic media size", "N" },
    { "seq", 0, 0, G_OPTION_ARG_INT64, &seq, "Device sequence", "N" },
    { "prev", 0, 0, G_OPTION_ARG_FILENAME, &prev, "Previous session (for the ledger link)", "DIR" },
    { "room", 0, 0, G_OPTION_ARG_STRING, &room, "Room name", "S" },
    { "markers", 0, 0, G_OPTION_ARG_INT, &markers, "Marker events", "N" },
    { "commit-every", 0, 0, G_OPTION_ARG_INT64, &commit_every, "Commit every N media bytes", "N" },
    { "no-seal", 0, 0, G_OPTION_ARG_NONE, &no_seal, "Leave the session unsealed (crash)", NULL },
    { "no-sync", 0, 0, G_OPTION_ARG_NONE, &no_sync, "Skip fsync (benchmark)", NULL },
    { "status", 0, 0, G_OPTION_ARG_STRING, &status, "complete|io-failed", "S" },
    { "kill-after", 0, 0, G_OPTION_ARG_INT64, &kill_after, "SIGKILL self after N media bytes", "N" },
    { "marker-text", 0, 0, G_OPTION_ARG_FILENAME, &marker_text,
      "Text of every marker event (raw bytes, not converted from the locale)", "S" },
    { "events", 0, 0, G_OPTION_ARG_INT64, &events, "Extra note events after the start event", "N" },
    { "event-bytes", 0, 0, G_OPTION_ARG_INT64, &event_bytes, "Size of each extra event (max 4096)", "N" },
    { "event-fill", 0, 0, G_OPTION_ARG_STRING, &event_fill,
      "Extra event bytes: invalid (0xFF, not UTF-8) or control (ESC, newline)", "KIND" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("- write a test session");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_autoptr(GError) err = NULL;
  if (!g_option_context_parse(ctx, &argc, &argv, &err) || !key_path || !recipients || !outs) {
    g_printerr("hv-mksession: %s\n", err ? err->message : "--device-key, --recipient, --out needed");
    return 2;
  }
  if (sodium_init() < 0)
    return 2;
  g_autoptr(HvDeviceKey) key = g_file_test(key_path, G_FILE_TEST_EXISTS)
                                   ? hv_device_key_load(key_path, &err)
                                   : hv_device_key_generate(key_path, &err);
  if (!key)
    return fail(err);
  guint n = g_strv_length(recipients);
  g_autofree guint8 *rpk = g_malloc(n * HV_RECIPIENT_PK_SIZE);
  for (guint i = 0; i < n; i++)
    if (!hv_recipient_load(recipients[i], rpk + i * HV_RECIPIENT_PK_SIZE, &err))
      return fail(err);
  guint8 prev_hash[HV_HASH_SIZE];
  if (prev) {
    g_autofree char *p = g_build_filename(prev, HV_FILE_SEAL, NULL);
    g_autoptr(GBytes) b = hv_file_read_bounded(p, HV_SEAL_MAX_SIZE, &err);
    if (!b)
      return fail(err);
    hv_hash(g_bytes_get_data(b, NULL), g_bytes_get_size(b), prev_hash);
  }
  HvWriterParams params = {
    .room = room ? room : "Test room", .device_seq = (guint64) seq,
    .prev_seal_hash = prev ? prev_hash : NULL, .device_key = key, .recipients = rpk,
    .n_recipients = n, .no_sync = no_sync,
  };
  g_autoptr(HvVaultWriter) w = hv_vault_writer_new((const char *const *) outs, &params, &err);
  if (!w || !hv_vault_writer_append_event(w, HV_EVENT_START, "recording started", &err))
    return fail(err);
  if (events > 0 && !append_events(w, events, event_bytes, event_fill, commit_every, &err))
    return fail(err);

  g_autoptr(GBytes) data = NULL;
  if (media && !(data = hv_file_read_bounded(media, G_MAXSIZE, &err)))
    return fail(err);
  gsize total = data ? g_bytes_get_size(data) : (gsize) bytes;
  g_autofree guint8 *buf = g_malloc(8192);
  gsize done = 0, since_commit = 0;
  gint marked = 0;
  while (done < total) {
    gsize k = MIN(8192, total - done);
    if (data)
      memcpy(buf, (const guint8 *) g_bytes_get_data(data, NULL) + done, k);
    else
      randombytes_buf_deterministic(buf, k, (const guint8 *) "haven-test-media-seed-0123456789");
    if (!hv_vault_writer_append_media(w, buf, k, &err))
      return fail(err);
    done += k;
    since_commit += k;
    /* several markers per chunk when there are more markers than chunks */
    while (markers > marked && done >= total * (guint64) (marked + 1) / (guint64) (markers + 1)) {
      marked++;
      g_autofree char *t = marker_text ? g_strdup(marker_text) : g_strdup_printf("marker %d", marked);
      if (!hv_vault_writer_append_event(w, HV_EVENT_MARKER, t, &err))
        return fail(err);
    }
    if (since_commit >= (gsize) commit_every) {
      since_commit = 0;
      if (!hv_vault_writer_commit(w, &err))
        return fail(err);
    }
    if (kill_after >= 0 && done >= (gsize) kill_after)
      raise(SIGKILL);
  }
  if (!hv_vault_writer_append_event(w, HV_EVENT_STOP, "recording stopped", &err))
    return fail(err);
  if (no_seal) {
    if (!hv_vault_writer_commit(w, &err))
      return fail(err);
    return 0;
  }
  HvSealStatus st = g_strcmp0(status, "io-failed") == 0 ? HV_STATUS_IO_FAILED : HV_STATUS_COMPLETE;
  if (!hv_vault_writer_finish(w, st, st == HV_STATUS_COMPLETE ? "stopped by investigator" : "test",
                              &err))
    return fail(err);
  printf("%s\n", hv_vault_writer_fingerprint(w));
  return 0;
}
