// SPDX-License-Identifier: GPL-2.0-or-later
/* haven info: what a session holds, without any key. */
#include "cli.h"
#include "vault-keys.h"
#include "vault-verify.h"

#include <stdio.h>

static void
print_info(const HvVerdict *v)
{
  const HvHeader *h = &v->header;
  g_autofree char *dev = hv_key_id(h->device_pk, HV_DEVICE_PK_SIZE);
  g_autofree char *sid = hv_hex(h->session_id, HV_SESSION_ID_SIZE);
  g_autofree char *start = hv_cli_format_time(v->first_wall_us);
  g_autofree char *end = hv_cli_format_time(v->last_wall_us);
  g_autofree char *dur = hv_cli_format_duration(v->last_mono_us - v->first_mono_us);
  g_autofree char *gap = hv_cli_format_duration(v->max_media_gap_us);

  printf("session:     %s\n", v->dir);
  printf("session id:  %s\n", sid);
  printf("room:        %s\n", h->room[0] ? h->room : "(not set)");
  printf("device:      %s, sequence %" G_GUINT64_FORMAT "\n", dev, h->device_seq);
  printf("status:      %s%s%s\n", v->intact ? hv_status_name(v->seal.status) : "INVALID",
         v->have_seal && v->seal.reason[0] ? " - " : "", v->have_seal ? v->seal.reason : "");
  if (!v->intact)
    printf("problem:     %s\n", v->problem);
  if (v->fingerprint)
    printf("fingerprint: %s\n", v->fingerprint);
  printf("start:       %s\nend:         %s\nduration:    %s\n", start, end, dur);
  printf("records:     %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " media chunks, %" G_GUINT64_FORMAT
         " events, %" G_GUINT64_FORMAT " markers), %" G_GUINT64_FORMAT " checkpoints\n",
         v->records, v->media_records, v->events, v->markers, v->checkpoints);
  printf("media:       %" G_GUINT64_FORMAT " bytes sealed; longest gap between chunks %s\n",
         v->media_bytes, gap);
  printf("recipients:  %u\n", h->n_recipients);
  for (guint i = 0; i < h->n_recipients; i++) {
    g_autofree char *rid = hv_key_id(h->recipients[i].recipient_pk, HV_RECIPIENT_PK_SIZE);
    printf("  - %s\n", rid);
  }
  printf("events:\n");
  for (guint i = 0; i < v->event_list->len; i++) {
    const HvEventInfo *e = &g_array_index(v->event_list, HvEventInfo, i);
    g_autofree char *t = hv_cli_format_time(e->wall_us);
    g_autofree char *rel = hv_cli_format_duration(e->mono_us - v->first_mono_us);
    printf("  %s  +%s  %-13s %s\n", t, rel, hv_record_type_name(e->type), e->text);
  }
}

int
hv_cmd_info(int argc, char **argv)
{
  g_autoptr(GOptionContext) ctx = g_option_context_new("SESSION - show a session's contents");
  g_option_context_set_description(ctx,
    "Prints device, sequence, start and end, duration, recipients, record and marker\n"
    "counts, status and the event list. Needs no key; the integrity check is the same\n"
    "as 'haven verify'. Exit status: 0 intact, 1 integrity failure, 2 usage error.");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (argc != 2) {
    hv_cli_error("info", "exactly one SESSION is needed; see 'haven info --help'");
    return HV_EXIT_USAGE;
  }
  g_autoptr(GError) err = NULL;
  g_autoptr(HvVerdict) v = hv_vault_verify(argv[1], NULL, &err);
  if (!v) {
    hv_cli_error("info", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  if (!v->have_header) {
    printf("session:     %s\nstatus:      INVALID\nproblem:     %s\n", v->dir, v->problem);
    return HV_EXIT_INTEGRITY;
  }
  print_info(v);
  return v->intact ? HV_EXIT_OK : HV_EXIT_INTEGRITY;
}
