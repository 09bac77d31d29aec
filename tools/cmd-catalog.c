// SPDX-License-Identifier: GPL-2.0-or-later
/* haven catalog list|show|index|rebuild and haven audit: the SQLite catalog
 * is an index for finding sessions; the vault files are the truth. */
#include "catalog.h"
#include "cli.h"
#include "custody-log.h"
#include "config.h"
#include "json-out.h"

#include <stdio.h>
#include <string.h>

#define DEFAULT_CONFIG "/etc/haven/haven.conf"

typedef struct {
  char    *config_path;
  char    *catalog_path;
  gboolean json;
} Where;

static void
where_clear(Where *w)
{
  g_free(w->config_path);
  g_free(w->catalog_path);
}

static GOptionEntry *
where_entries(Where *w, gboolean with_json)
{
  GOptionEntry e[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &w->config_path, "havend configuration (default "
      DEFAULT_CONFIG "): where the catalog is", "FILE" },
    { "catalog", 0, 0, G_OPTION_ARG_FILENAME, &w->catalog_path,
      "The catalog database itself (havend's, or one made by 'haven catalog index')", "DB" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &w->json, "Print one JSON document (docs/JSON.md)", NULL },
    { NULL }
  };
  if (!with_json)
    e[2] = e[3];
  return g_memdup2(e, sizeof e);
}

/* --catalog DB, else the catalog named by the configuration. */
static char *
catalog_path(const char *cmd, const Where *w)
{
  if (w->catalog_path)
    return g_strdup(w->catalog_path);
  g_autoptr(GError) err = NULL;
  g_autoptr(HvConfig) cfg = hv_config_load(w->config_path ? w->config_path : DEFAULT_CONFIG, &err);
  if (!cfg) {
    g_autofree char *m = hv_text_escape(err->message, -1);
    hv_cli_error(cmd, "%s (or name the catalog with --catalog DB)", m);
    return NULL;
  }
  return g_strdup(cfg->catalog_path);
}

static HvCatalog *
open_readonly(const char *cmd, const Where *w, char **ret_path)
{
  g_autofree char *path = catalog_path(cmd, w);
  if (!path)
    return NULL;
  g_autoptr(GError) err = NULL;
  HvCatalog *c = hv_catalog_open_readonly(path, &err);
  if (!c) {
    g_autofree char *m = hv_text_escape(err->message, -1);
    hv_cli_error(cmd, "%s", m);
    return NULL;
  }
  *ret_path = g_steal_pointer(&path);
  return c;
}

/* A UTC time in fmt, "-" when unknown. */
static char *
utc_text(gint64 us, const char *fmt)
{
  if (!us)
    return g_strdup("-");
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC);
  return dt ? g_date_time_format(dt, fmt) : g_strdup("?");
}

static char *
day_or_dash(gint64 us)
{
  return utc_text(us, "%Y-%m-%d");
}

static char *
start_text(gint64 us)
{
  return utc_text(us, "%Y-%m-%d %H:%M:%S");
}

static char *
duration_text(const HvCatalogSession *s)
{
  if (s->duration_us >= 0)
    return hv_cli_format_duration((guint64) s->duration_us);
  if (s->started_us && s->ended_us >= s->started_us)   /* a version 1 row: the wall clock's */
    return hv_cli_format_duration((guint64) (s->ended_us - s->started_us));
  return g_strdup("-");
}

/* Event text as stored: the indexers store it escaped (hv_text_escape), but a
 * catalog is a file that may come from elsewhere (one beside a copied
 * archive): text the escape could not have produced (control characters,
 * invalid UTF-8) is escaped, never passed to a terminal or into JSON. */
static char *
stored_text(const char *text)
{
  g_autofree char *escaped = hv_text_escape(text, -1);
  g_auto(GStrv) parts = g_strsplit(text, "\\", -1);
  g_autofree char *doubled = g_strjoinv("\\\\", parts);
  return g_str_equal(escaped, doubled) ? g_strdup(text) : g_steal_pointer(&escaped);
}

static void
session_json_members(JsonBuilder *b, const HvCatalogSession *s)
{
  hv_json_add_text(b, "session_id", s->session_id);
  hv_json_add_text(b, "device", s->device);
  hv_json_add_int(b, "sequence", (gint64) s->seq);
  hv_json_add_text(b, "room", s->room);
  hv_json_add_time(b, "start", s->started_us);
  hv_json_add_time(b, "end", s->ended_us);
  json_builder_set_member_name(b, "duration_us");
  if (s->duration_us >= 0)
    json_builder_add_int_value(b, s->duration_us);
  else if (s->started_us && s->ended_us >= s->started_us)
    json_builder_add_int_value(b, s->ended_us - s->started_us);
  else
    json_builder_add_null_value(b);
  hv_json_add_text(b, "verdict", s->status);
  hv_json_add_text(b, "fingerprint", s->fingerprint);
  hv_json_add_text(b, "problem", s->problem);
  hv_json_add_int(b, "records", (gint64) s->records);
  hv_json_add_int(b, "markers", (gint64) s->markers);
  hv_json_add_int(b, "media_bytes", (gint64) s->media_bytes);
  hv_json_add_time(b, "offloaded", s->offloaded_us);
  hv_json_add_time(b, "exported", s->exported_us);
  hv_json_add_text(b, "path", s->dir);
}

static const char *const verdicts[] = { "COMPLETE", "INTERRUPTED", "IO_FAILED", "INVALID", "OPEN" };

static gboolean
check_verdict(const char *v)
{
  for (guint i = 0; i < G_N_ELEMENTS(verdicts); i++)
    if (!g_ascii_strcasecmp(v, verdicts[i]))
      return TRUE;
  g_autofree char *safe = hv_text_escape(v, -1);
  hv_cli_error("catalog", "--verdict: '%s' is not a verdict (COMPLETE, INTERRUPTED, IO_FAILED, INVALID "
               "or OPEN)", safe);
  return FALSE;
}

static int
cmd_list(int argc, char **argv)
{
  Where w = { 0 };
  g_autofree char *device = NULL, *room = NULL, *since = NULL, *until = NULL, *verdict = NULL;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "Only this device (its key id, or the start of it)", "ID" },
    { "room", 0, 0, G_OPTION_ARG_STRING, &room, "Only rooms whose name holds TEXT (any case)", "TEXT" },
    { "since", 0, 0, G_OPTION_ARG_STRING, &since, "Only sessions started at or after T", "T" },
    { "until", 0, 0, G_OPTION_ARG_STRING, &until, "Only sessions started before T (a date: up to its end)", "T" },
    { "verdict", 0, 0, G_OPTION_ARG_STRING, &verdict,
      "Only this verdict: COMPLETE, INTERRUPTED, IO_FAILED, INVALID or OPEN", "V" },
    { NULL }
  };
  g_autofree GOptionEntry *we = where_entries(&w, TRUE);
  g_autoptr(GOptionContext) ctx = g_option_context_new("- list the sessions in a catalog");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, we, NULL);
  g_option_context_set_description(ctx,
    "One line per session, oldest first: device, sequence, start (UTC), duration,\n"
    "verdict, fingerprint, when the session reached an archive (offloaded) and was\n"
    "first exported, room. T is RFC 3339 (2026-11-28T15:14:03Z) or a date YYYY-MM-DD\n"
    "(UTC). The catalog is opened read-only: havend keeps recording.\n"
    "The catalog is an index: 'haven verify' on the files is the proof.\n"
    "Exit status: 0 listed (also when nothing matches), 2 usage error or no catalog.");
  int ret = HV_EXIT_USAGE;
  HvCatalogFilter f = { 0 };
  g_autofree char *path = NULL;
  g_autoptr(HvCatalog) c = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) err = NULL;
  if (!hv_cli_parse(ctx, &argc, &argv))
    goto out;
  if (argc != 1) {
    hv_cli_error("catalog", "list takes no arguments; see 'haven catalog list --help'");
    goto out;
  }
  if ((since && !hv_cli_parse_time("--since", since, FALSE, &f.since_us)) ||
      (until && !hv_cli_parse_time("--until", until, TRUE, &f.until_us)) || (verdict && !check_verdict(verdict)))
    goto out;
  f.device = device;
  f.room = room;
  f.status = verdict;
  if (!(c = open_readonly("catalog", &w, &path)))
    goto out;
  if (!(rows = hv_catalog_list(c, &f, &err))) {
    hv_cli_error("catalog", "%s", err->message);
    goto out;
  }
  if (w.json) {
    g_autoptr(JsonBuilder) b = hv_json_begin("haven.catalog.list/1");
    hv_json_add_text(b, "catalog", path);
    json_builder_set_member_name(b, "sessions");
    json_builder_begin_array(b);
    for (guint i = 0; i < rows->len; i++) {
      json_builder_begin_object(b);
      session_json_members(b, rows->pdata[i]);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    hv_json_print(b);
  } else {
    printf("%-16s %5s  %-19s  %-10s  %-11s  %-24s  %-10s  %-10s  %s\n", "DEVICE", "SEQ", "START (UTC)",
           "DURATION", "VERDICT", "FINGERPRINT", "OFFLOADED", "EXPORTED", "ROOM");
    for (guint i = 0; i < rows->len; i++) {
      const HvCatalogSession *s = rows->pdata[i];
      g_autofree char *start = start_text(s->started_us), *dur = duration_text(s);
      g_autofree char *off = day_or_dash(s->offloaded_us), *exp = day_or_dash(s->exported_us);
      g_autofree char *room_s = hv_text_escape(s->room ? s->room : "", -1);
      g_autofree char *dev = hv_text_escape(s->device, -1), *status = hv_text_escape(s->status, -1);
      g_autofree char *fpr = hv_text_escape(s->fingerprint ? s->fingerprint : "-", -1);
      printf("%-16s %5" G_GUINT64_FORMAT "  %-19s  %-10s  %-11s  %-24s  %-10s  %-10s  %s\n", dev, s->seq,
             start, dur, status, fpr, off, exp, room_s);
    }
    printf("%u %s\n", rows->len, hv_cli_plural(rows->len, "session", "sessions"));
  }
  ret = HV_EXIT_OK;
out:
  where_clear(&w);
  return ret;
}

/* SESSION (a session id or the start of it) or SEQ (a sequence number, with
 * --device when the catalog holds several devices). */
static int
show(Where *wp, int argc, char **argv)
{
  g_autofree char *device = NULL;
  GOptionEntry entries[] = {
    { "device", 0, 0, G_OPTION_ARG_STRING, &device, "The device whose sequence SEQ is meant", "ID" },
    { NULL }
  };
  g_autofree GOptionEntry *we = where_entries(wp, TRUE);
  g_autoptr(GOptionContext) ctx = g_option_context_new("SESSION|SEQ - show one session of a catalog");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, we, NULL);
  g_option_context_set_description(ctx,
    "SESSION is a session id (32 hex digits, or enough of its start to be unique);\n"
    "SEQ a device sequence number (with --device ID when the catalog holds several\n"
    "devices). Prints what the catalog holds about it, with its events.\n"
    "Exit status: 0 shown, 2 usage error, no catalog, no such session or several.");
  g_autofree char *path = NULL;
  g_autoptr(HvCatalog) c = NULL;
  g_autoptr(GPtrArray) rows = NULL, events = NULL;
  g_autoptr(GError) err = NULL;
  g_autofree char *safe_key = NULL;
  HvCatalogFilter f = { .device = NULL };
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (argc != 2) {
    hv_cli_error("catalog", "show takes one SESSION or SEQ; see 'haven catalog show --help'");
    return HV_EXIT_USAGE;
  }
  const char *key = argv[1];
  gsize len = strlen(key);
  gboolean digits = len > 0 && strspn(key, "0123456789") == len;
  gboolean hex = len > 0 && strspn(key, "0123456789abcdefABCDEF") == len;
  if (digits && len < 8) {
    f.seq = g_ascii_strtoll(key, NULL, 10);
  } else if (hex && len >= 4) {
    f.session = key;
  } else {
    g_autofree char *safe = hv_text_escape(key, -1);
    hv_cli_error("catalog", "'%s' is neither a session id (hex, at least 4 digits) nor a sequence number",
                 safe);
    return HV_EXIT_USAGE;
  }
  if (f.seq == 0 && digits && len < 8) {
    hv_cli_error("catalog", "sequence numbers start at 1");
    return HV_EXIT_USAGE;
  }
  f.device = device;
  if (!(c = open_readonly("catalog", wp, &path)))
    return HV_EXIT_USAGE;
  if (!(rows = hv_catalog_list(c, &f, &err))) {
    hv_cli_error("catalog", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  safe_key = hv_text_escape(key, -1);
  if (rows->len == 0) {
    if (f.session)
      hv_cli_error("catalog", "show: no session whose id starts with %s in %s", safe_key, path);
    else
      hv_cli_error("catalog", "show: no session with sequence %s in %s (a number of fewer than 8 digits is a "
                   "sequence; for a session id that starts with digits give 8 or more of its hex digits)",
                   safe_key, path);
    return HV_EXIT_USAGE;
  }
  if (rows->len > 1) {
    hv_cli_error("catalog", "%s matches %u sessions; give more of the session id, or --device:", safe_key,
                 rows->len);
    for (guint i = 0; i < rows->len; i++) {
      const HvCatalogSession *s = rows->pdata[i];
      g_autofree char *d = hv_text_escape(s->dir, -1), *sid = hv_text_escape(s->session_id, -1);
      g_autofree char *dev = hv_text_escape(s->device, -1);
      g_printerr("  %s  device %s sequence %" G_GUINT64_FORMAT "  %s\n", sid, dev, s->seq, d);
    }
    return HV_EXIT_USAGE;
  }
  const HvCatalogSession *s = rows->pdata[0];
  if (!(events = hv_catalog_events(c, s->session_id, &err))) {
    hv_cli_error("catalog", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  if (wp->json) {
    g_autoptr(JsonBuilder) b = hv_json_begin("haven.catalog.show/1");
    hv_json_add_text(b, "catalog", path);
    json_builder_set_member_name(b, "session");
    json_builder_begin_object(b);
    session_json_members(b, s);
    json_builder_set_member_name(b, "events");
    json_builder_begin_array(b);
    for (guint i = 0; i < events->len; i++) {
      const HvCatalogEvent *e = events->pdata[i];
      json_builder_begin_object(b);
      hv_json_add_int(b, "index", (gint64) e->idx);
      hv_json_add_text(b, "type", e->type);
      hv_json_add_time(b, "time", e->wall_us);
      json_builder_set_member_name(b, "text");   /* the catalog stores it escaped */
      g_autofree char *text = e->text ? stored_text(e->text) : NULL;
      if (text)
        json_builder_add_string_value(b, text);
      else
        json_builder_add_null_value(b);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    json_builder_end_object(b);
    hv_json_print(b);
  } else {
    g_autofree char *dir = hv_text_escape(s->dir, -1), *room = hv_text_escape(s->room ? s->room : "", -1);
    g_autofree char *start = hv_cli_format_time(s->started_us), *end = hv_cli_format_time(s->ended_us);
    g_autofree char *dur = duration_text(s), *off = hv_cli_format_time(s->offloaded_us);
    g_autofree char *exp = hv_cli_format_time(s->exported_us);
    g_autofree char *prob = s->problem ? hv_text_escape(s->problem, -1) : NULL;
    g_autofree char *sid = hv_text_escape(s->session_id, -1), *dev = hv_text_escape(s->device, -1);
    g_autofree char *status = hv_text_escape(s->status, -1);
    g_autofree char *fpr = s->fingerprint ? hv_text_escape(s->fingerprint, -1) : NULL;
    printf("session:     %s\nsession id:  %s\nroom:        %s\ndevice:      %s, sequence %" G_GUINT64_FORMAT "\n",
           dir, sid, room[0] ? room : "(not set)", dev, s->seq);
    printf("verdict:     %s (when indexed; 'haven verify' checks the files now)\n", status);
    if (prob)
      printf("problem:     %s\n", prob);
    printf("fingerprint: %s\nstart:       %s\nend:         %s\nduration:    %s\n",
           fpr ? fpr : "-", start, end, dur);
    printf("records:     %" G_GUINT64_FORMAT " (%" G_GUINT64_FORMAT " %s), %" G_GUINT64_FORMAT " media bytes\n",
           s->records, s->markers, hv_cli_plural(s->markers, "marker", "markers"), s->media_bytes);
    printf("offloaded:   %s\nexported:    %s\n", off, exp);
    printf("events:      %u\n", events->len);
    for (guint i = 0; i < events->len; i++) {
      const HvCatalogEvent *e = events->pdata[i];
      g_autofree char *t = hv_cli_format_time(e->wall_us);
      g_autofree char *type = hv_text_escape(e->type, -1), *text = stored_text(e->text ? e->text : "");
      printf("  %s  %-13s %s\n", t, type, text);
    }
  }
  return HV_EXIT_OK;
}

static int
cmd_show(int argc, char **argv)
{
  Where w = { 0 };
  int ret = show(&w, argc, argv);
  where_clear(&w);
  return ret;
}

/* The first export of each indexed session, from its custody log; only an
 * intact log counts (a broken one is reported by 'haven custody verify'). */
static gboolean
mark_exports(HvCatalog *c, GError **error)
{
  g_autoptr(GPtrArray) rows = hv_catalog_list(c, NULL, error);
  if (!rows)
    return FALSE;
  for (guint i = 0; i < rows->len; i++) {
    const HvCatalogSession *s = rows->pdata[i];
    gint64 first = 0;
    g_autoptr(HvCustodyVerdict) v = hv_custody_verify(s->dir, NULL, NULL, NULL);
    if (v && !v->intact) {
      g_autofree char *d = hv_text_escape(s->dir, -1), *m = hv_text_escape(v->problem, -1);
      hv_cli_error("catalog", "warning: %s: custody log broken (%s); its exports are not counted", d, m);
    }
    for (guint k = 0; v && v->intact && k < v->entries->len && !first; k++) {
      const HvCustodyEntry *e = v->entries->pdata[k];
      if (g_strcmp0(e->action, "export") == 0)
        first = e->time_us;
    }
    if (first != s->exported_us && !hv_catalog_set_exported(c, s->dir, first, error))
      return FALSE;
  }
  return TRUE;
}

static int
cmd_index(int argc, char **argv)
{
  g_autofree char *db = NULL;
  gboolean json = FALSE;
  GOptionEntry entries[] = {
    { "catalog", 0, 0, G_OPTION_ARG_FILENAME, &db, "The catalog to create or update (default DIR/catalog.db)",
      "DB" },
    { "json", 0, 0, G_OPTION_ARG_NONE, &json, "Print what was done as JSON (docs/JSON.md)", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("DIR - build or update a catalog of your own archive");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "DIR is your archive: a directory tree of sessions (copied from the boards). Every\n"
    "session is verified and entered with its verdict and events; a session whose files\n"
    "have not changed since the last run (size and modification time) is not read\n"
    "again, and sessions no longer under DIR are dropped. Then query it with\n"
    "'haven catalog list --catalog DB'. No key is needed.\n"
    "Exit status: 0 indexed, 2 usage or I/O error.");
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (argc != 2) {
    hv_cli_error("catalog", "index takes one DIR; see 'haven catalog index --help'");
    return HV_EXIT_USAGE;
  }
  g_autofree char *safe_dir = hv_text_escape(argv[1], -1);
  if (!g_file_test(argv[1], G_FILE_TEST_IS_DIR)) {
    hv_cli_error("catalog", "%s: not a directory", safe_dir);
    return HV_EXIT_USAGE;
  }
  if (!db)
    db = g_build_filename(argv[1], "catalog.db", NULL);
  g_autoptr(GError) err = NULL;
  g_autoptr(HvCatalog) c = hv_catalog_open(db, &err);
  HvCatalogIndexStats st;
  if (!c || !hv_catalog_index(c, argv[1], &st, &err)) {
    g_autofree char *m = hv_text_escape(err->message, -1);
    hv_cli_error("catalog", "%s", m);
    return HV_EXIT_USAGE;
  }
  if (!mark_exports(c, &err)) {
    g_autofree char *m = hv_text_escape(err->message, -1);
    hv_cli_error("catalog", "%s", m);
    return HV_EXIT_USAGE;
  }
  gint64 total = hv_catalog_count(c, "sessions");
  if (json) {
    g_autoptr(JsonBuilder) b = hv_json_begin("haven.catalog.index/1");
    hv_json_add_text(b, "catalog", db);
    hv_json_add_text(b, "archive", argv[1]);
    hv_json_add_int(b, "added", st.added);
    hv_json_add_int(b, "updated", st.updated);
    hv_json_add_int(b, "unchanged", st.unchanged);
    hv_json_add_int(b, "removed", st.removed);
    hv_json_add_int(b, "unreadable", st.unreadable);
    hv_json_add_int(b, "sessions", total);
    hv_json_print(b);
  } else {
    g_autofree char *safe_db = hv_text_escape(db, -1);
    printf("%s: %u added, %u updated, %u unchanged, %u removed%s; %" G_GINT64_FORMAT " %s in %s\n", safe_dir,
           st.added, st.updated, st.unchanged, st.removed,
           st.unreadable ? " (some without a readable header, not entered)" : "", total,
           hv_cli_plural((guint64) total, "session", "sessions"), safe_db);
  }
  return HV_EXIT_OK;
}

static int
cmd_rebuild(int argc, char **argv)
{
  g_autofree char *config_path = NULL;
  GOptionEntry entries[] = {
    { "config", 'c', 0, G_OPTION_ARG_FILENAME, &config_path, "havend configuration (default "
      DEFAULT_CONFIG "): where the catalog and storage roots are", "FILE" },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("- rebuild havend's catalog from the vault");
  g_option_context_add_main_entries(ctx, entries, NULL);
  if (!hv_cli_parse(ctx, &argc, &argv))
    return HV_EXIT_USAGE;
  if (argc != 1) {
    hv_cli_error("catalog", "usage: haven catalog rebuild [--config FILE]");
    return HV_EXIT_USAGE;
  }
  g_autoptr(GError) err = NULL;
  g_autoptr(HvConfig) cfg = hv_config_load(config_path ? config_path : DEFAULT_CONFIG, &err);
  if (!cfg) {
    hv_cli_error("catalog", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  gboolean fresh;
  g_autoptr(HvCatalog) cat = hv_catalog_open_or_recreate(cfg->catalog_path, &fresh, &err);
  gint n = cat ? hv_catalog_rebuild(cat, cfg->rec.roots, &err) : -1;
  if (n < 0) {
    hv_cli_error("catalog", "%s", err->message);
    return HV_EXIT_USAGE;
  }
  printf("%s: %d %s indexed from %s\n", cfg->catalog_path, n, hv_cli_plural((guint64) n, "session", "sessions"),
         cfg->rec.roots[0]);
  return HV_EXIT_OK;
}

static const struct {
  const char *name;
  int (*run)(int argc, char **argv);
  const char *summary;
} subcommands[] = {
  { "list",    cmd_list,    "list sessions, with filters" },
  { "show",    cmd_show,    "show one session and its events" },
  { "index",   cmd_index,   "build or update a catalog of your own archive" },
  { "rebuild", cmd_rebuild, "rebuild havend's catalog from the sessions on disk" },
};

static void
catalog_usage(FILE *out)
{
  fprintf(out, "Usage: haven catalog SUBCOMMAND [OPTION...]\n\nSubcommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS(subcommands); i++)
    fprintf(out, "  %-8s %s\n", subcommands[i].name, subcommands[i].summary);
  fprintf(out, "\nRun 'haven catalog SUBCOMMAND --help' for its options.\n");
}

int
hv_cmd_catalog(int argc, char **argv)
{
  if (argc >= 2 && (g_str_equal(argv[1], "--help") || g_str_equal(argv[1], "-h"))) {
    catalog_usage(stdout);
    return HV_EXIT_OK;
  }
  if (argc >= 2 && (g_str_equal(argv[1], "--version") || g_str_equal(argv[1], "-V"))) {
    printf("haven %s\n", HAVEN_VERSION);
    return HV_EXIT_OK;
  }
  for (guint i = 0; argc >= 2 && i < G_N_ELEMENTS(subcommands); i++) {
    if (g_str_equal(argv[1], subcommands[i].name)) {
      g_autofree char *prg = g_strdup_printf("haven catalog %s", subcommands[i].name);
      g_set_prgname(prg);
      return subcommands[i].run(argc - 1, argv + 1);
    }
  }
  if (argc >= 2) {
    g_autofree char *safe = hv_text_escape(argv[1], -1);
    hv_cli_error("catalog", "unknown subcommand '%s'", safe);
  }
  catalog_usage(stderr);
  return HV_EXIT_USAGE;
}

int
hv_cmd_audit(int argc, char **argv)
{
  Where w = { 0 };
  g_autofree char *since = NULL, *until = NULL;
  GOptionEntry entries[] = {
    { "since", 0, 0, G_OPTION_ARG_STRING, &since, "Only entries at or after T", "T" },
    { "until", 0, 0, G_OPTION_ARG_STRING, &until, "Only entries before T (a date: up to its end)", "T" },
    { NULL }
  };
  g_autofree GOptionEntry *we = where_entries(&w, TRUE);
  g_autoptr(GOptionContext) ctx = g_option_context_new("- show havend's audit log");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_add_main_entries(ctx, we, NULL);
  g_option_context_set_description(ctx,
    "Every control action havend took or refused (start, stop, mark, recovery...),\n"
    "who asked and what came of it, oldest first. T is RFC 3339\n"
    "(2026-11-28T15:14:03Z) or a date YYYY-MM-DD (UTC). Read-only: havend keeps running.\n"
    "Exit status: 0 shown (also when nothing matches), 2 usage error or no catalog.");
  int ret = HV_EXIT_USAGE;
  gint64 since_us = 0, until_us = 0;
  g_autofree char *path = NULL;
  g_autoptr(HvCatalog) c = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) err = NULL;
  if (!hv_cli_parse(ctx, &argc, &argv))
    goto out;
  if (argc != 1) {
    hv_cli_error("audit", "takes no arguments; see 'haven audit --help'");
    goto out;
  }
  if ((since && !hv_cli_parse_time("--since", since, FALSE, &since_us)) ||
      (until && !hv_cli_parse_time("--until", until, TRUE, &until_us)))
    goto out;
  if (!(c = open_readonly("audit", &w, &path)))
    goto out;
  if (!(rows = hv_catalog_audit_list(c, since_us, until_us, &err))) {
    hv_cli_error("audit", "%s", err->message);
    goto out;
  }
  if (w.json) {
    g_autoptr(JsonBuilder) b = hv_json_begin("haven.audit/1");
    hv_json_add_text(b, "catalog", path);
    json_builder_set_member_name(b, "entries");
    json_builder_begin_array(b);
    for (guint i = 0; i < rows->len; i++) {
      const HvCatalogAuditEntry *a = rows->pdata[i];
      json_builder_begin_object(b);
      hv_json_add_int(b, "id", a->id);
      hv_json_add_time(b, "time", a->wall_us);
      hv_json_add_text(b, "actor", a->actor);
      hv_json_add_text(b, "action", a->action);
      hv_json_add_text(b, "result", a->result);
      json_builder_end_object(b);
    }
    json_builder_end_array(b);
    hv_json_print(b);
  } else {
    /* columns as wide as their widest entry (in characters): "marker button" and long
     * user names must not push the action and result out of line */
    glong actor_w = 12, action_w = 10;
    for (guint i = 0; i < rows->len; i++) {
      const HvCatalogAuditEntry *a = rows->pdata[i];
      g_autofree char *actor = hv_text_escape(a->actor, -1), *action = hv_text_escape(a->action, -1);
      actor_w = MAX(actor_w, g_utf8_strlen(actor, -1));
      action_w = MAX(action_w, g_utf8_strlen(action, -1));
    }
    for (guint i = 0; i < rows->len; i++) {
      const HvCatalogAuditEntry *a = rows->pdata[i];
      g_autofree char *t = hv_cli_format_time(a->wall_us);
      g_autofree char *actor = hv_text_escape(a->actor, -1), *action = hv_text_escape(a->action, -1);
      g_autofree char *result = hv_text_escape(a->result, -1);
      printf("%s  %s%*s %s%*s %s\n", t, actor, (int) (actor_w - g_utf8_strlen(actor, -1)), "", action,
             (int) (action_w - g_utf8_strlen(action, -1)), "", result);
    }
    printf("%u audit %s\n", rows->len, hv_cli_plural(rows->len, "entry", "entries"));
  }
  ret = HV_EXIT_OK;
out:
  where_clear(&w);
  return ret;
}
