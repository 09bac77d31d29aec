// SPDX-License-Identifier: GPL-2.0-or-later
/* haven info: what a session holds, without any key. */
#include "cli.h"
#include "json-out.h"
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
  JsonBuilder *json;  /* --json: the events array being built */
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
  if (p->json) {
    g_autofree char *text = hv_text_escape((const char *) payload, rh->length);
    json_builder_begin_object(p->json);
    hv_json_add_int(p->json, "index", (gint64) rh->index);
    hv_json_add_text(p->json, "type", hv_record_type_name(rh->type));
    hv_json_add_time(p->json, "time", rh->wall_us);
    hv_json_add_int(p->json, "offset_us", (gint64) (rh->mono_us - p->first_mono_us));
    json_builder_set_member_name(p->json, "text");   /* escaped once, above */
    json_builder_add_string_value(p->json, text);
    json_builder_end_object(p->json);
    return TRUE;
  }
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
  printf("records:     %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " media %s, %" G_GUINT64_FORMAT
         " %s, %" G_GUINT64_FORMAT " %s), %" G_GUINT64_FORMAT " %s\n",
         v->records, v->media_records, hv_cli_plural(v->media_records, "chunk", "chunks"), v->events,
         hv_cli_plural(v->events, "event", "events"), v->markers, hv_cli_plural(v->markers, "marker", "markers"),
         v->checkpoints, hv_cli_plural(v->checkpoints, "checkpoint", "checkpoints"));
  printf("media:       %" G_GUINT64_FORMAT " bytes sealed; longest gap between chunks %s\n",
         v->media_bytes, gap);
}

/* haven.info/1 (docs/JSON.md): the header, the events, the verdict. */
static int
info_json(const char *dir)
{
  g_autoptr(JsonBuilder) b = hv_json_begin("haven.info/1");
  hv_json_add_text(b, "path", dir);
  HvHeader h;
  gboolean have_header = hv_vault_read_header(dir, NULL, &h, NULL);
  json_builder_set_member_name(b, "events");
  json_builder_begin_array(b);
  EventPrinter printer = { .json = b };
  HvVerifyOptions vo = { .on_record = print_event, .user_data = &printer };
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVerdict) v = hv_vault_verify(dir, &vo, &err);
  json_builder_end_array(b);
  if (!v) {
    g_autofree char *m = hv_text_escape(err->message, -1);
    hv_cli_error("info", "%s", m);
    return HV_EXIT_USAGE;
  }
  if (have_header) {
    g_autofree char *dev = hv_key_id(h.device_pk, HV_DEVICE_PK_SIZE);
    g_autofree char *sid = hv_hex(h.session_id, HV_SESSION_ID_SIZE);
    hv_json_add_text(b, "session_id", sid);
    hv_json_add_text(b, "room", h.room);
    hv_json_add_text(b, "device", dev);
    hv_json_add_int(b, "sequence", (gint64) h.device_seq);
    json_builder_set_member_name(b, "recipients");
    json_builder_begin_array(b);
    for (guint i = 0; i < h.n_recipients; i++) {
      g_autofree char *rid = hv_key_id(h.recipients[i].recipient_pk, HV_RECIPIENT_PK_SIZE);
      json_builder_add_string_value(b, rid);
    }
    json_builder_end_array(b);
  }
  gboolean intact = v->have_header && v->intact;
  hv_json_add_text(b, "verdict", intact ? hv_status_name(v->seal.status) : "INVALID");
  hv_json_add_bool(b, "intact", intact);
  hv_json_add_text(b, "problem", intact ? NULL : v->problem);
  hv_json_add_text(b, "reason", v->have_seal ? v->seal.reason : NULL);
  hv_json_add_text(b, "fingerprint", v->fingerprint);
  hv_json_add_time(b, "start", v->first_wall_us);
  hv_json_add_time(b, "end", v->last_wall_us);
  hv_json_add_int(b, "duration_us", (gint64) (v->last_mono_us - v->first_mono_us));
  hv_json_add_int(b, "records", (gint64) v->records);
  hv_json_add_int(b, "media_chunks", (gint64) v->media_records);
  hv_json_add_int(b, "events_count", (gint64) v->events);
  hv_json_add_int(b, "markers", (gint64) v->markers);
  hv_json_add_int(b, "checkpoints", (gint64) v->checkpoints);
  hv_json_add_int(b, "media_bytes", (gint64) v->media_bytes);
  hv_json_add_int(b, "longest_media_gap_us", (gint64) v->max_media_gap_us);
  hv_json_print(b);
  return intact ? HV_EXIT_OK : HV_EXIT_INTEGRITY;
}

int
hv_cmd_info(int argc, char **argv)
{
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print one JSON document (docs/JSON.md)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("SESSION - show a session's contents");
  g_option_context_add_main_entries(ctx, entries, NULL);
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
  if (json)
    return info_json(argv[1]);
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
