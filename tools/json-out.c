// SPDX-License-Identifier: GPL-2.0-or-later
#include "json-out.h"
#include "vault/vault.h"

#include <stdio.h>

JsonBuilder *
hv_json_begin(const char *schema)
{
  JsonBuilder *b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "schema");
  json_builder_add_string_value(b, schema);
  return b;
}

void
hv_json_add_text(JsonBuilder *b, const char *name, const char *text)
{
  json_builder_set_member_name(b, name);
  if (!text) {
    json_builder_add_null_value(b);
    return;
  }
  /* json-glib escapes control characters but passes invalid UTF-8 through */
  g_autofree char *safe = hv_text_escape(text, -1);
  json_builder_add_string_value(b, safe);
}

void
hv_json_add_int(JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, value);
}

void
hv_json_add_bool(JsonBuilder *b, const char *name, gboolean value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_boolean_value(b, value);
}

char *
hv_json_rfc3339(gint64 wall_us)
{
  if (wall_us == 0)
    return NULL;
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(wall_us / G_USEC_PER_SEC);
  if (!dt)
    return NULL;
  g_autofree char *s = g_date_time_format(dt, "%Y-%m-%dT%H:%M:%S");
  gint64 frac = wall_us % G_USEC_PER_SEC;
  return g_strdup_printf("%s.%06" G_GINT64_FORMAT "Z", s, frac < 0 ? -frac : frac);
}

void
hv_json_add_time(JsonBuilder *b, const char *name, gint64 wall_us)
{
  g_autofree char *us_name = g_strdup_printf("%s_us", name);
  json_builder_set_member_name(b, us_name);
  if (wall_us)
    json_builder_add_int_value(b, wall_us);
  else
    json_builder_add_null_value(b);
  g_autofree char *text = hv_json_rfc3339(wall_us);
  json_builder_set_member_name(b, name);
  if (text)
    json_builder_add_string_value(b, text);
  else
    json_builder_add_null_value(b);
}

void
hv_json_print(JsonBuilder *b)
{
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_root(gen, root);
  g_autofree char *text = json_generator_to_data(gen, NULL);
  printf("%s\n", text);
}
