/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * json-out: the `--json` documents of the haven CLI (docs/JSON.md). Every
 * document is one object whose first member is "schema": "haven.NAME/N";
 * times are given twice, as µs since the epoch (NAME_us) and as RFC 3339 UTC
 * (NAME); text from the files is escaped as in the text output. Built with
 * json-glib, never printed by hand.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* A builder with an open object holding "schema": schema. */
JsonBuilder *hv_json_begin(const char *schema);
/* Text through hv_text_escape; NULL gives null. */
void hv_json_add_text(JsonBuilder *b, const char *name, const char *text);
void hv_json_add_int(JsonBuilder *b, const char *name, gint64 value);
void hv_json_add_bool(JsonBuilder *b, const char *name, gboolean value);
/* "NAME_us": µs (null when 0: unknown) and "NAME": RFC 3339 UTC (null when 0). */
void hv_json_add_time(JsonBuilder *b, const char *name, gint64 wall_us);
/* "2026-11-28T15:14:03.250000Z" (newly allocated), NULL for 0. */
char *hv_json_rfc3339(gint64 wall_us);
/* Close the object opened by hv_json_begin and print it on stdout. */
void hv_json_print(JsonBuilder *b);

G_END_DECLS
