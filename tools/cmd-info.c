// SPDX-License-Identifier: GPL-2.0-or-later
/* haven info: what a session holds, without any key. */
#include "cli.h"
#include "vault/vault.h"

#include <stdio.h>

static void
print_header(const char *dir, const HvHeader *h)
{
  g_autofree char *sdir = hv_text_escape(dir, -1);
  g_autofree char *dev = hv_key_id(h->device_pk, HV_DEVICE_PK_SIZE);
  g_autofree char *sid = hv_hex(h->session_id, HV_SESSION_ID_SIZE);
  g_autofree char *room = hv_text_escape(h->room, -1);
  printf("session:     %s\n", sdir);
  printf("session id:  %s\n", sid);
  printf("room:        %s\n", h->room[0] ? room : "(not set)");
  printf("device:      %s, sequence %" G_GUINT64_FORMAT "\n", dev, h->device_seq);
  printf("recipients:  %u\n", h->n_recipients);
  for (guint i = 0; i < h->n_recipients; i++) {
    g_autofree char *rid = hv_key_id(h->recipients[i].recipient_pk, HV_RECIPIENT_PK_SIZE);
    printf("  - %s\n", rid);
  }
  printf("events (as read; the status below says whether they are intact):\n");
}

typedef struct {
  gboolean have_first;
  guint64  first_mono_us;
  GString *line;      /* reused: no allocation per event */
} EventPrinter;

/* Streams each event as the scan reads it: nothing is kept. */
static gboolean
print_event(const HvRecordHeader *rh, const guint8 *payload, gpointer user_data, GError **error)
{
  EventPrinter *p = user_data;
  if (!p->have_first) {
    p->have_first = TRUE;
    p->first_mono_us = rh->mono_us;
  }
  if (rh->type == HV_RECORD_MEDIA)
    return TRUE;
  g_autofree char *t = hv_cli_format_time(rh->wall_us);
  g_autofree char *rel = hv_cli_format_duration(rh->mono_us - p->first_mono_us);
  g_string_printf(p->line, "  %s  +%s  %-13s ", t, rel, hv_record_type_name(rh->type));
  hv_text_escape_append(p->line, (const char *) payload, rh->length);
  g_string_append_c(p->line, '\n');
  fwrite(p->line->str, 1, p->line->len, stdout);
  return TRUE;
}

static void
print_summary(const HvVerdict *v)
{
  g_autofree char *start = hv_cli_format_time(v->first_wall_us);
  g_autofree char *end = hv_cli_format_time(v->last_wall_us);
  g_autofree char *dur = hv_cli_format_duration(v->last_mono_us - v->first_mono_us);
  g_autofree char *gap = hv_cli_format_duration(v->max_media_gap_us);
  g_autofree char *reason = hv_text_escape(v->have_seal ? v->seal.reason : "", -1);
  g_autofree char *prob = hv_text_escape(v->problem, -1);

  printf("status:      %s%s%s\n", v->intact ? hv_status_name(v->seal.status) : "INVALID",
         reason[0] ? " - " : "", reason);
  if (!v->intact)
    printf("problem:     %s\n", prob);
  if (v->fingerprint)
    printf("fingerprint: %s\n", v->fingerprint);
  printf("start:       %s\nend:         %s\nduration:    %s\n", start, end, dur);
  printf("records:     %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " media chunks, %" G_GUINT64_FORMAT
         " events, %" G_GUINT64_FORMAT " markers), %" G_GUINT64_FORMAT " checkpoints\n",
         v->records, v->media_records, v->events, v->markers, v->checkpoints);
  printf("media:       %" G_GUINT64_FORMAT " bytes sealed; longest gap between chunks %s\n",
         v->media_bytes, gap);
}

int
hv_cmd_info(int argc, char **argv)
{
  g_autoptr(GOptionContext) ctx = g_option_context_new("SESSION - show a session's contents");
  g_option_context_set_description(ctx,
    "Prints device, sequence, recipients, the event list, then status, start and end,\n"
    "duration, record and marker counts. Needs no key; the integrity check is the same\n"
    "as 'haven verify'. Text from the files is escaped: control characters, line breaks\n"
    "and invalid UTF-8 are shown as \\n, \\u{001B}, \\xFF and so on.\n"
    "Exit status: 0 intact, 1 integrity failure, 2 usage error.");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (argc != 2) {
    hv_cli_error("info", "exactly one SESSION is needed; see 'haven info --help'");
    return HV_EXIT_USAGE;
  }
  if (!hv_cli_require_session_dir("info", argv[1]))
    return HV_EXIT_USAGE;
  HvHeader h;
  if (hv_vault_read_header(argv[1], NULL, &h, NULL))
    print_header(argv[1], &h);
  g_autoptr(GString) line = g_string_sized_new(4 * HV_EVENT_MAX + 128);
  EventPrinter printer = { .line = line };
  HvVerifyOptions vo = { .on_record = print_event, .user_data = &printer };
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVerdict) v = hv_vault_verify(argv[1], &vo, &err);
  if (!v) {
    g_autofree char *m = hv_text_escape(err->message, -1);
    hv_cli_error("info", "%s", m);
    return HV_EXIT_USAGE;
  }
  if (!v->have_header) {
    g_autofree char *d = hv_text_escape(v->dir, -1);
    g_autofree char *prob = hv_text_escape(v->problem, -1);
    printf("session:     %s\nstatus:      INVALID\nproblem:     %s\n", d, prob);
    return HV_EXIT_INTEGRITY;
  }
  print_summary(v);
  return v->intact ? HV_EXIT_OK : HV_EXIT_INTEGRITY;
}
