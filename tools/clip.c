// SPDX-License-Identifier: GPL-2.0-or-later
#include "clip.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

G_DEFINE_QUARK(hv-clip-error-quark, hv_clip_error)

/* clip.json is about a kilobyte */
#define HV_CLIP_JSON_MAX (1 << 20)

/* SS[.fraction] (at most 6 digits of fraction) in microseconds. */
static gboolean
parse_seconds(const char *s, guint64 max, gint64 *ret)
{
  g_auto(GStrv) p = g_strsplit(s, ".", 2);
  guint64 sec;
  if (!p[0] || !*p[0] || !g_ascii_string_to_unsigned(p[0], 10, 0, max, &sec, NULL))
    return FALSE;
  gint64 us = 0;
  if (p[1]) {
    gsize n = strlen(p[1]);
    if (n == 0 || n > 6 || strspn(p[1], "0123456789") != n)
      return FALSE;
    us = (gint64) g_ascii_strtoull(p[1], NULL, 10);
    for (gsize i = n; i < 6; i++)
      us *= 10;
  }
  *ret = (gint64) sec * G_USEC_PER_SEC + us;
  return TRUE;
}

gboolean
hv_clip_parse_point(const char *opt, const char *text, const gint64 *markers_us, guint n_markers,
                    gint64 *ret_us, GError **error)
{
  if (g_str_has_prefix(text, "marker:")) {
    guint64 n;
    if (!g_ascii_string_to_unsigned(text + strlen("marker:"), 10, 1, G_MAXUINT, &n, NULL)) {
      g_set_error(error, HV_CLIP_ERROR, HV_CLIP_ERROR_POINT, "%s: '%s' is not marker:N with N from 1 "
                  "(markers are numbered from 1 as in the report and 'haven info')", opt, text);
      return FALSE;
    }
    if (n > n_markers) {
      g_autofree char *which = n_markers == 0 ? g_strdup("give a time instead")
                               : n_markers == 1 ? g_strdup("marker:1; 'haven info SESSION' lists it")
                                                : g_strdup_printf("marker:1 to marker:%u; 'haven info SESSION' "
                                                                  "lists them", n_markers);
      g_set_error(error, HV_CLIP_ERROR, HV_CLIP_ERROR_POINT, "%s: '%s': the session has %u marker%s (%s)", opt,
                  text, n_markers, n_markers == 1 ? "" : "s", which);
      return FALSE;
    }
    *ret_us = MAX(markers_us[n - 1], 0);
    return TRUE;
  }
  g_auto(GStrv) parts = g_strsplit(text, ":", -1);
  guint n = g_strv_length(parts);
  gint64 us = 0, sec_us;
  gboolean ok = n >= 1 && n <= 3 && parse_seconds(parts[n - 1], n > 1 ? 59 : G_MAXUINT32, &sec_us);
  guint64 v = 0;
  if (ok && n == 3)
    ok = g_ascii_string_to_unsigned(parts[0], 10, 0, G_MAXUINT32, &v, NULL)
         && (us = (gint64) MIN(v, HV_CLIP_MAX_HOURS + 1) * 3600 * G_USEC_PER_SEC, TRUE)
         && g_ascii_string_to_unsigned(parts[1], 10, 0, 59, &v, NULL);
  else if (ok && n == 2)
    ok = g_ascii_string_to_unsigned(parts[0], 10, 0, G_MAXUINT32, &v, NULL);
  if (!ok) {
    g_set_error(error, HV_CLIP_ERROR, HV_CLIP_ERROR_POINT, "%s: '%s' is neither a time from the start of the "
                "recording ([[HH:]MM:]SS[.fraction], e.g. 1:30 or 00:01:30.5) nor marker:N", opt, text);
    return FALSE;
  }
  /* in microseconds, more hours would overflow */
  if (n == 3 && us / (G_GINT64_CONSTANT(3600) * G_USEC_PER_SEC) > HV_CLIP_MAX_HOURS) {
    g_set_error(error, HV_CLIP_ERROR, HV_CLIP_ERROR_POINT, "%s: '%s' is too large a time: no recording lasts "
                "more than %u hours", opt, text, HV_CLIP_MAX_HOURS);
    return FALSE;
  }
  if (n >= 2)
    us += (gint64) v * 60 * G_USEC_PER_SEC;
  *ret_us = us + sec_us;
  return TRUE;
}

const HvClipRecord *
hv_clip_record_at(const GArray *records, guint64 off)
{
  guint lo = 0, hi = records->len;   /* the last with offset <= off is in [lo, hi) */
  while (hi - lo > 1) {
    guint mid = lo + (hi - lo) / 2;
    if (g_array_index(records, HvClipRecord, mid).offset <= off)
      lo = mid;
    else
      hi = mid;
  }
  return &g_array_index(records, HvClipRecord, lo);
}

void
hv_clip_info_set_records(HvClipInfo *c, const GArray *records)
{
  c->first = *hv_clip_record_at(records, c->cut.start);
  c->last = *hv_clip_record_at(records, c->cut.end - 1);
  c->pat_record = c->cut.pat >= 0 ? (gint64) hv_clip_record_at(records, (guint64) c->cut.pat)->index : -1;
  c->pmt_record = c->cut.pmt >= 0 ? (gint64) hv_clip_record_at(records, (guint64) c->cut.pmt)->index : -1;
}

void
hv_clip_info_clear(HvClipInfo *c)
{
  g_free(c->fingerprint);
  g_free(c->status);
  g_free(c->stream_sha256);
  g_free(c->from);
  g_free(c->until);
  g_free(c->ts_name);
  g_free(c->ts_sha256);
  memset(c, 0, sizeof *c);
}

static void
add_int(JsonBuilder *b, const char *name, gint64 v)
{
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, v);
}

static void
add_str(JsonBuilder *b, const char *name, const char *v)
{
  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, v);
}

char *
hv_clip_info_to_json(const HvClipInfo *c)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_str(b, "format", HV_CLIP_FORMAT);
  add_str(b, "fingerprint", c->fingerprint);
  add_str(b, "status", c->status);
  add_int(b, "stream_bytes", (gint64) c->stream_bytes);
  add_str(b, "stream_sha256", c->stream_sha256);
  add_str(b, "from", c->from);
  add_str(b, "until", c->until);
  add_int(b, "from_us", c->from_us);
  add_int(b, "to_us", c->to_us);
  add_int(b, "start", (gint64) c->cut.start);
  add_int(b, "end", (gint64) c->cut.end);
  add_int(b, "pat", c->cut.pat);
  add_int(b, "pmt", c->cut.pmt);
  add_int(b, "start_us", c->cut.start_us);
  add_int(b, "end_us", c->cut.end_us);
  add_int(b, "first_record", (gint64) c->first.index);
  add_int(b, "first_record_offset", (gint64) c->first.offset);
  add_int(b, "last_record", (gint64) c->last.index);
  add_int(b, "last_record_offset", (gint64) c->last.offset);
  add_int(b, "pat_record", c->pat_record);
  add_int(b, "pmt_record", c->pmt_record);
  add_str(b, "ts", c->ts_name);
  add_int(b, "ts_bytes", (gint64) c->ts_bytes);
  add_str(b, "ts_sha256", c->ts_sha256);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_pretty(gen, TRUE);
  json_generator_set_root(gen, root);
  g_autofree char *s = json_generator_to_data(gen, NULL);
  return g_strconcat(s, "\n", NULL);
}

static gboolean
get(JsonObject *o, const char *name, GType type, JsonNode **ret, GError **error)
{
  JsonNode *n = json_object_get_member(o, name);
  if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != type) {
    g_set_error(error, HV_CLIP_ERROR, HV_CLIP_ERROR_JSON, HV_CLIP_JSON ": \"%s\" %s", name,
                n ? "has the wrong type" : "is missing");
    return FALSE;
  }
  *ret = n;
  return TRUE;
}

static gboolean
get_str(JsonObject *o, const char *name, char **ret, GError **error)
{
  JsonNode *n;
  if (!get(o, name, G_TYPE_STRING, &n, error))
    return FALSE;
  *ret = g_strdup(json_node_get_string(n));
  return TRUE;
}

/* An integer at least min. */
static gboolean
get_int(JsonObject *o, const char *name, gint64 min, gint64 *ret, GError **error)
{
  JsonNode *n;
  if (!get(o, name, G_TYPE_INT64, &n, error))
    return FALSE;
  *ret = json_node_get_int(n);
  if (*ret < min) {
    g_set_error(error, HV_CLIP_ERROR, HV_CLIP_ERROR_JSON, HV_CLIP_JSON ": \"%s\" is %" G_GINT64_FORMAT
                ", below %" G_GINT64_FORMAT, name, *ret, min);
    return FALSE;
  }
  return TRUE;
}

gboolean
hv_clip_info_load(const char *path, HvClipInfo *c, GError **error)
{
  /* a regular file, not followed if a symbolic link: a FIFO would hang,
   * a device never end, a link read what is outside the clip's directory */
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  struct stat st;
  if (fd < 0 || fstat(fd, &st) != 0) {
    int err = errno;
    if (fd >= 0)
      close(fd);
    g_set_error(error, HV_CLIP_ERROR, HV_CLIP_ERROR_JSON, "%s: %s", path,
                err == ELOOP ? "a symbolic link, not the clip's own file" : g_strerror(err));
    return FALSE;
  }
  if (!S_ISREG(st.st_mode) || st.st_size > HV_CLIP_JSON_MAX) {
    close(fd);
    g_set_error(error, HV_CLIP_ERROR, HV_CLIP_ERROR_JSON, "%s: %s", path,
                !S_ISREG(st.st_mode) ? "not a regular file" : "larger than any clip.json");
    return FALSE;
  }
  g_autoptr(GError) e = NULL;
  g_autoptr(GMappedFile) m = g_mapped_file_new_from_fd(fd, FALSE, &e);
  close(fd);
  g_autoptr(JsonParser) p = json_parser_new_immutable();
  if (!m || !json_parser_load_from_data(p, g_mapped_file_get_contents(m) ? g_mapped_file_get_contents(m) : "",
                                        (gssize) g_mapped_file_get_length(m), &e)) {
    g_set_error(error, HV_CLIP_ERROR, HV_CLIP_ERROR_JSON, "%s: %s", path, e->message);
    return FALSE;
  }
  JsonNode *root = json_parser_get_root(p);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, HV_CLIP_ERROR, HV_CLIP_ERROR_JSON, "%s: not a JSON object", path);
    return FALSE;
  }
  JsonObject *o = json_node_get_object(root);
  g_autofree char *format = NULL;
  if (!get_str(o, "format", &format, error))
    return FALSE;
  if (g_strcmp0(format, HV_CLIP_FORMAT) != 0) {
    g_set_error(error, HV_CLIP_ERROR, HV_CLIP_ERROR_JSON, "%s: format \"%s\", expected \"" HV_CLIP_FORMAT "\"",
                path, format);
    return FALSE;
  }
  g_auto(HvClipInfo) r = { 0 };
  gint64 sb, start, end, fi, fo, li, lo, tb;
  gboolean ok = get_str(o, "fingerprint", &r.fingerprint, error) && get_str(o, "status", &r.status, error)
                && get_int(o, "stream_bytes", 0, &sb, error)
                && get_str(o, "stream_sha256", &r.stream_sha256, error)
                && get_str(o, "from", &r.from, error) && get_str(o, "until", &r.until, error)
                && get_int(o, "from_us", 0, &r.from_us, error) && get_int(o, "to_us", 0, &r.to_us, error)
                && get_int(o, "start", 0, &start, error) && get_int(o, "end", 0, &end, error)
                && get_int(o, "pat", -1, &r.cut.pat, error) && get_int(o, "pmt", -1, &r.cut.pmt, error)
                && get_int(o, "start_us", 0, &r.cut.start_us, error)
                && get_int(o, "end_us", -1, &r.cut.end_us, error)
                && get_int(o, "first_record", 0, &fi, error) && get_int(o, "first_record_offset", 0, &fo, error)
                && get_int(o, "last_record", 0, &li, error) && get_int(o, "last_record_offset", 0, &lo, error)
                && get_int(o, "pat_record", -1, &r.pat_record, error)
                && get_int(o, "pmt_record", -1, &r.pmt_record, error)
                && get_str(o, "ts", &r.ts_name, error) && get_int(o, "ts_bytes", 0, &tb, error)
                && get_str(o, "ts_sha256", &r.ts_sha256, error);
  if (!ok) {
    g_prefix_error(error, "%s: ", path);
    return FALSE;
  }
  if (end <= start || strchr(r.ts_name, '/') || !*r.ts_name || r.ts_name[0] == '.') {
    g_set_error(error, HV_CLIP_ERROR, HV_CLIP_ERROR_JSON, "%s: %s", path,
                end <= start ? "the clip's end is not after its start" : "\"ts\" is not a file name");
    return FALSE;
  }
  r.stream_bytes = (guint64) sb;
  r.cut.start = (guint64) start;
  r.cut.end = (guint64) end;
  r.first = (HvClipRecord) { (guint64) fi, (guint64) fo };
  r.last = (HvClipRecord) { (guint64) li, (guint64) lo };
  r.ts_bytes = (guint64) tb;
  *c = r;
  memset(&r, 0, sizeof r);
  return TRUE;
}
