// SPDX-License-Identifier: GPL-2.0-or-later
#include "remux-process.h"

#include <errno.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

G_DEFINE_QUARK(hv-remux-process-error-quark, hv_remux_process_error)

/* What of haven-remux's stderr goes into the error message (bytes). */
#define STDERR_SHOWN 1000

char *
hv_remux_process_program(void)
{
  const char *env = g_getenv("HAVEN_REMUX");
  if (env && *env)
    return g_strdup(env);
  g_autofree char *self = g_file_read_link("/proc/self/exe", NULL);
  if (self) {
    g_autofree char *dir = g_path_get_dirname(self);
    g_autofree char *beside = g_build_filename(dir, "haven-remux", NULL);
    if (g_file_test(beside, G_FILE_TEST_IS_EXECUTABLE))
      return g_steal_pointer(&beside);
  }
  return g_build_filename(HAVEN_LIBEXECDIR, "haven-remux", NULL);
}

/* ---- the request ---- */

struct HvRemuxRequest {
  HvRemuxOptions opts;
  GArray        *chapters;   /* of HvRemuxChapter */
  GPtrArray     *titles;     /* owns the chapters' titles */
  char          *start_title;
};

char *
hv_remux_process_request_to_json(const HvRemuxOptions *opts, gsize *len)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "interrupted");
  json_builder_add_boolean_value(b, opts && opts->interrupted);
  json_builder_set_member_name(b, "chapters");
  json_builder_begin_array(b);
  for (guint i = 0; opts && i < opts->n_chapters; i++) {
    json_builder_begin_object(b);
    json_builder_set_member_name(b, "start_us");
    json_builder_add_int_value(b, opts->chapters[i].start_us);
    json_builder_set_member_name(b, "title");
    json_builder_add_string_value(b, opts->chapters[i].title ? opts->chapters[i].title : "");
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  if (opts && opts->start_title) {   /* absent: the default title */
    json_builder_set_member_name(b, "start_title");
    json_builder_add_string_value(b, opts->start_title);
  }
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_root(gen, root);
  return json_generator_to_data(gen, len);
}

void
hv_remux_request_free(HvRemuxRequest *req)
{
  if (!req)
    return;
  g_array_unref(req->chapters);
  g_ptr_array_unref(req->titles);
  g_free(req->start_title);
  g_free(req);
}

const HvRemuxOptions *
hv_remux_request_options(const HvRemuxRequest *req)
{
  return &req->opts;
}

/* The root object of json, or NULL with error naming what (the request or
 * the result). */
static JsonParser *
parse_object(const char *what, const char *json, gsize len, JsonObject **obj, GError **error)
{
  g_autoptr(JsonParser) p = json_parser_new_immutable();
  g_autoptr(GError) e = NULL;
  if (len > G_MAXSSIZE || !json_parser_load_from_data(p, json, (gssize) len, &e)) {
    g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_PROTOCOL, "%s is not JSON: %s", what,
                e ? e->message : "too long");
    return NULL;
  }
  JsonNode *root = json_parser_get_root(p);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root)) {
    g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_PROTOCOL, "%s is not a JSON object", what);
    return NULL;
  }
  *obj = json_node_get_object(root);
  return g_steal_pointer(&p);
}

/* Member name of o as a value of type (G_TYPE_INT64, G_TYPE_BOOLEAN or
 * G_TYPE_STRING), or NULL with error. */
static JsonNode *
member(const char *what, JsonObject *o, const char *name, GType type, GError **error)
{
  JsonNode *n = json_object_get_member(o, name);
  if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != type) {
    g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_PROTOCOL, "%s: \"%s\" %s", what, name,
                n ? "has the wrong type" : "is missing");
    return NULL;
  }
  return n;
}

HvRemuxRequest *
hv_remux_process_request_parse(const char *json, gsize len, GError **error)
{
  static const char what[] = "the remux request";
  JsonObject *o = NULL;
  g_autoptr(JsonParser) p = parse_object(what, json, len, &o, error);
  if (!p)
    return NULL;
  JsonNode *intr = member(what, o, "interrupted", G_TYPE_BOOLEAN, error);
  if (!intr)
    return NULL;
  JsonNode *chn = json_object_get_member(o, "chapters");
  if (!chn || !JSON_NODE_HOLDS_ARRAY(chn)) {
    g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_PROTOCOL, "%s: \"chapters\" %s", what,
                chn ? "is not an array" : "is missing");
    return NULL;
  }
  JsonArray *a = json_node_get_array(chn);
  guint n = json_array_get_length(a);
  HvRemuxRequest *req = g_new0(HvRemuxRequest, 1);
  req->chapters = g_array_sized_new(FALSE, FALSE, sizeof(HvRemuxChapter), n);
  req->titles = g_ptr_array_new_full(n, g_free);
  g_autoptr(HvRemuxRequest) owned = req;
  for (guint i = 0; i < n; i++) {
    JsonNode *cn = json_array_get_element(a, i);
    g_autofree char *at = g_strdup_printf("%s, chapter %u", what, i + 1);
    if (!JSON_NODE_HOLDS_OBJECT(cn)) {
      g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_PROTOCOL, "%s is not an object", at);
      return NULL;
    }
    JsonObject *co = json_node_get_object(cn);
    JsonNode *start = member(at, co, "start_us", G_TYPE_INT64, error);
    JsonNode *title = start ? member(at, co, "title", G_TYPE_STRING, error) : NULL;
    if (!title)
      return NULL;
    char *t = g_strdup(json_node_get_string(title));
    g_ptr_array_add(req->titles, t);
    HvRemuxChapter c = { .start_us = json_node_get_int(start), .title = t };
    g_array_append_val(req->chapters, c);
  }
  if (json_object_has_member(o, "start_title")) {   /* optional */
    JsonNode *st = member(what, o, "start_title", G_TYPE_STRING, error);
    if (!st)
      return NULL;
    req->start_title = g_strdup(json_node_get_string(st));
  }
  req->opts = (HvRemuxOptions) { .interrupted = json_node_get_boolean(intr),
                                 .chapters = (const HvRemuxChapter *) (void *) req->chapters->data,
                                 .n_chapters = req->chapters->len, .start_title = req->start_title };
  return g_steal_pointer(&owned);
}

/* ---- the result ---- */

char *
hv_remux_process_result_to_json(const HvRemuxResult *res)
{
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  json_builder_set_member_name(b, "has_video");
  json_builder_add_boolean_value(b, res->has_video);
  json_builder_set_member_name(b, "has_audio");
  json_builder_add_boolean_value(b, res->has_audio);
  const struct {
    const char *name;
    gint64      v;
  } ints[] = {
    { "video_us", res->video_us },
    { "audio_us", res->audio_us },
    { "video_frames_dropped", res->video_frames_dropped },
    { "video_dropped_us", res->video_dropped_us },
    { "audio_frames_dropped", res->audio_frames_dropped },
    { "audio_dropped_us", res->audio_dropped_us },
    { "chapters", res->chapters },
    { "chapters_given", res->chapters_given },
  };
  for (guint i = 0; i < G_N_ELEMENTS(ints); i++) {
    json_builder_set_member_name(b, ints[i].name);
    json_builder_add_int_value(b, ints[i].v);
  }
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autoptr(JsonGenerator) gen = json_generator_new();
  json_generator_set_root(gen, root);
  return json_generator_to_data(gen, NULL);
}

/* A non-negative integer member, at most max. */
static gboolean
count_member(JsonObject *o, const char *name, gint64 max, gint64 *ret, GError **error)
{
  static const char what[] = "haven-remux's result";
  JsonNode *n = member(what, o, name, G_TYPE_INT64, error);
  if (!n)
    return FALSE;
  gint64 v = json_node_get_int(n);
  if (v < 0 || v > max) {
    g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_PROTOCOL,
                "%s: \"%s\" is %" G_GINT64_FORMAT ", out of range", what, name, v);
    return FALSE;
  }
  *ret = v;
  return TRUE;
}

gboolean
hv_remux_process_result_parse(const char *json, gsize len, HvRemuxResult *res, GError **error)
{
  static const char what[] = "haven-remux's result";
  JsonObject *o = NULL;
  g_autoptr(JsonParser) p = parse_object(what, json, len, &o, error);
  if (!p)
    return FALSE;
  JsonNode *hv = member(what, o, "has_video", G_TYPE_BOOLEAN, error);
  JsonNode *ha = hv ? member(what, o, "has_audio", G_TYPE_BOOLEAN, error) : NULL;
  if (!ha)
    return FALSE;
  HvRemuxResult r = { .has_video = json_node_get_boolean(hv), .has_audio = json_node_get_boolean(ha) };
  gint64 vf = 0, af = 0, ch = 0, given = 0;
  if (!count_member(o, "video_us", G_MAXINT64, &r.video_us, error)
      || !count_member(o, "audio_us", G_MAXINT64, &r.audio_us, error)
      || !count_member(o, "video_frames_dropped", G_MAXUINT, &vf, error)
      || !count_member(o, "video_dropped_us", G_MAXINT64, &r.video_dropped_us, error)
      || !count_member(o, "audio_frames_dropped", G_MAXUINT, &af, error)
      || !count_member(o, "audio_dropped_us", G_MAXINT64, &r.audio_dropped_us, error)
      || !count_member(o, "chapters", G_MAXUINT, &ch, error)
      || !count_member(o, "chapters_given", ch, &given, error))
    return FALSE;
  r.video_frames_dropped = (guint) vf;
  r.audio_frames_dropped = (guint) af;
  r.chapters = (guint) ch;
  r.chapters_given = (guint) given;
  *res = r;
  return TRUE;
}

/* ---- running haven-remux ---- */

/* The request in an anonymous memory file, at offset 0, for the child's
 * stdin: no pipe to write while the child may have gone (no SIGPIPE in
 * haven), nothing on disk. */
static int
request_fd(const char *req, gsize len, GError **error)
{
  int fd = memfd_create("haven-remux-request", MFD_CLOEXEC);
  if (fd < 0) {
    g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_FAILED,
                "cannot pass the chapters to haven-remux: memfd_create: %s", g_strerror(errno));
    return -1;
  }
  gsize off = 0;
  while (off < len) {
    ssize_t n = write(fd, req + off, len - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      int e = n < 0 ? errno : ENOSPC;
      close(fd);
      g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_FAILED,
                  "cannot pass the chapters to haven-remux: %s", g_strerror(e));
      return -1;
    }
    off += (gsize) n;
  }
  if (lseek(fd, 0, SEEK_SET) != 0) {
    int e = errno;
    close(fd);
    g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_FAILED,
                "cannot pass the chapters to haven-remux: %s", g_strerror(e));
    return -1;
  }
  return fd;
}

/* haven-remux's stderr as one line for a message: its "haven-remux: "
 * prefixes gone, lines joined, valid UTF-8, at most STDERR_SHOWN bytes. */
static char *
stderr_text(GBytes *b)
{
  gsize len = 0;
  const char *data = b ? g_bytes_get_data(b, &len) : NULL;
  gboolean cut = len > STDERR_SHOWN;
  g_autofree char *valid = g_utf8_make_valid(data ? data : "", (gssize) MIN(len, STDERR_SHOWN));
  g_auto(GStrv) lines = g_strsplit(valid, "\n", -1);
  g_autoptr(GString) s = g_string_new(NULL);
  for (guint i = 0; lines[i]; i++) {
    char *l = g_strstrip(lines[i]);
    if (g_str_has_prefix(l, "haven-remux: "))
      l += strlen("haven-remux: ");
    if (!*l)
      continue;
    g_string_append_printf(s, "%s%s", s->len ? "; " : "", l);
  }
  if (cut)
    g_string_append(s, "\u2026");
  return s->len ? g_string_free(g_steal_pointer(&s), FALSE) : g_strdup("it gave no reason");
}

guint
hv_remux_process_time_limit(const char *ts_path)
{
  const char *env = g_getenv("HAVEN_REMUX_TIMEOUT");
  guint64 v = 0;
  if (env && g_ascii_string_to_unsigned(env, 10, 1, G_MAXUINT, &v, NULL))
    return (guint) v;
  GStatBuf st;
  guint64 size = ts_path && g_stat(ts_path, &st) == 0 && st.st_size > 0 ? (guint64) st.st_size : 0;
  return (guint) MIN(HV_REMUX_TIME_BASE_S + size / HV_REMUX_SLOWEST_BYTES_PER_S, G_MAXUINT);
}

typedef struct {
  GBytes  *out, *err;
  GError  *error;
  gboolean done, timed_out;
} Wait;

static void
communicated(GObject *source, GAsyncResult *res, gpointer user_data)
{
  Wait *w = user_data;
  (void) g_subprocess_communicate_finish(G_SUBPROCESS(source), res, &w->out, &w->err, &w->error);
  w->done = TRUE;
}

static gboolean
deadline(gpointer user_data)
{
  ((Wait *) user_data)->timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* g_subprocess_communicate(), but a helper still running after limit
 * seconds (wedged in a hostile stream, or stopped) is killed and reaped. */
static gboolean
communicate_within(GSubprocess *p, guint limit, GBytes **out, GBytes **err, gboolean *timed_out,
                   GError **error)
{
  g_autoptr(GMainContext) ctx = g_main_context_new();
  g_main_context_push_thread_default(ctx);
  Wait w = { 0 };
  g_autoptr(GCancellable) cancel = g_cancellable_new();
  g_subprocess_communicate_async(p, NULL, cancel, communicated, &w);
  g_autoptr(GSource) timer = g_timeout_source_new_seconds(limit);
  g_source_set_callback(timer, deadline, &w, NULL);
  g_source_attach(timer, ctx);
  while (!w.done && !w.timed_out)
    g_main_context_iteration(ctx, TRUE);
  g_source_destroy(timer);
  if (!w.done) {
    g_subprocess_force_exit(p);
    g_cancellable_cancel(cancel);
    while (!w.done)   /* the cancelled read returns; then the helper is reaped */
      g_main_context_iteration(ctx, TRUE);
    (void) g_subprocess_wait(p, NULL, NULL);
  }
  g_main_context_pop_thread_default(ctx);
  *timed_out = w.timed_out;
  if (w.timed_out || w.error) {
    g_clear_pointer(&w.out, g_bytes_unref);
    g_clear_pointer(&w.err, g_bytes_unref);
    if (w.error)
      g_propagate_error(error, w.error);
    else
      g_set_error_literal(error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT, "timed out");
    return FALSE;
  }
  *out = w.out;
  *err = w.err;
  return TRUE;
}

gboolean
hv_remux_process_run(const char *ts_path, const char *mp4_path, const HvRemuxOptions *opts,
                     HvRemuxResult *result, GError **error)
{
  g_autofree char *prog = hv_remux_process_program();
  gsize len = 0;
  g_autofree char *req = hv_remux_process_request_to_json(opts, &len);
  int fd = request_fd(req, len, error);
  if (fd < 0)
    return FALSE;
  g_autoptr(GSubprocessLauncher) l =
    g_subprocess_launcher_new(G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_subprocess_launcher_take_stdin_fd(l, fd);
  /* "--": a path that starts with '-' is not an option */
  const char *argv[] = { prog, "--", ts_path, mp4_path, NULL };
  g_autoptr(GError) e = NULL;
  g_autoptr(GSubprocess) p = g_subprocess_launcher_spawnv(l, argv, &e);
  if (!p) {
    /* on a Debian system it is a package of its own, which haven only
     * recommends (the board, which never exports, goes without) */
    gboolean missing = g_error_matches(e, G_SPAWN_ERROR, G_SPAWN_ERROR_NOENT);
    g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_FAILED,
                "the MP4 remux program could not be run: %s%s", e->message,
                missing ? " (it comes with the haven-remux package)" : "");
    return FALSE;
  }
  g_autoptr(GBytes) out = NULL;
  g_autoptr(GBytes) err = NULL;
  guint limit = hv_remux_process_time_limit(ts_path);
  gboolean timed_out = FALSE;
  if (!communicate_within(p, limit, &out, &err, &timed_out, &e)) {
    if (timed_out)
      g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_FAILED,
                  "the MP4 remux program %s did not finish within %u s; it was stopped", prog, limit);
    else
      g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_FAILED,
                  "reading from the MP4 remux program %s: %s", prog, e->message);
    return FALSE;
  }
  g_autofree char *why = stderr_text(err);
  if (g_subprocess_get_if_signaled(p)) {
    int sig = g_subprocess_get_term_sig(p);
    g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_FAILED,
                "the MP4 remux program %s was killed by signal %d (%s)%s%s", prog, sig, g_strsignal(sig),
                err && g_bytes_get_size(err) ? ": " : "", err && g_bytes_get_size(err) ? why : "");
    return FALSE;
  }
  int status = g_subprocess_get_exit_status(p);
  if (status != 0) {
    g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_FAILED,
                "the MP4 remux program %s failed (exit status %d): %s", prog, status, why);
    return FALSE;
  }
  gsize olen = 0;
  const char *odata = out ? g_bytes_get_data(out, &olen) : NULL;
  if (!hv_remux_process_result_parse(odata ? odata : "", olen, result, &e)) {
    g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_PROTOCOL,
                "the MP4 remux program %s exited 0 without a result: %s", prog, e->message);
    return FALSE;
  }
  guint asked = opts ? opts->n_chapters : 0;
  if (result->chapters_given > asked) {
    g_set_error(error, HV_REMUX_PROCESS_ERROR, HV_REMUX_PROCESS_ERROR_PROTOCOL,
                "the MP4 remux program %s claims %u of the %u chapters asked for", prog,
                result->chapters_given, asked);
    return FALSE;
  }
  return TRUE;
}
