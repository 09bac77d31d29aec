// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "havend"
#include "config.h"
#include "vault/vault.h"

#include <stdlib.h>
#include <string.h>

G_DEFINE_QUARK(hv-config-error-quark, hv_config_error)

void
hv_config_free(HvConfig *c)
{
  if (!c)
    return;
  g_free(c->path);
  g_free(c->board_path);
  g_free(c->device_key_path);
  g_free(c->state_dir);
  g_free(c->control_socket);
  g_free(c->control_group);
  g_free(c->catalog_path);
  g_strfreev(c->recipient_paths);
  hv_recorder_config_clear(&c->rec);
  g_free(c);
}

typedef struct {
  GKeyFile   *kf;
  const char *path;
  const char *group;
  const char *key;
  GPtrArray  *problems;   /* char *: one line per problem */
} Ctx;

static gboolean
fail(Ctx *x, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

static gboolean
fail(Ctx *x, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  g_autofree char *msg = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_ptr_array_add(x->problems, g_strdup_printf("%s: [%s] %s: %s", x->path, x->group, x->key, msg));
  return FALSE;
}

static gboolean
get_string(Ctx *x, char **out)
{
  g_autoptr(GError) err = NULL;
  char *v = g_key_file_get_string(x->kf, x->group, x->key, &err);
  if (!v)
    return fail(x, "%s", err->message);
  g_strstrip(v);
  if (!*v) {
    g_free(v);
    return fail(x, "empty value");
  }
  g_free(*out);
  *out = v;
  return TRUE;
}

static gboolean
get_uint(Ctx *x, guint min, guint max, guint *out)
{
  g_autofree char *v = g_key_file_get_string(x->kf, x->group, x->key, NULL);
  guint64 n;
  if (!v || !g_ascii_string_to_unsigned(g_strstrip(v), 10, min, max, &n, NULL))
    return fail(x, "'%s' is not a whole number from %u to %u", v ? v : "", min, max);
  *out = (guint) n;
  return TRUE;
}

static gboolean
get_double(Ctx *x, gdouble *out)
{
  g_autoptr(GError) err = NULL;
  gdouble v = g_key_file_get_double(x->kf, x->group, x->key, &err);
  if (err)
    return fail(x, "%s", err->message);
  *out = v;
  return TRUE;
}

static gboolean
get_bool(Ctx *x, gboolean *out)
{
  g_autoptr(GError) err = NULL;
  gboolean v = g_key_file_get_boolean(x->kf, x->group, x->key, &err);
  if (err)
    return fail(x, "%s", err->message);
  *out = v;
  return TRUE;
}

/* "test", "v4l2:/dev/video0", "libcamera:NAME" */
static gboolean
parse_camera(Ctx *x, HvVideoSource *v)
{
  g_autofree char *s = NULL;
  if (!get_string(x, &s))
    return FALSE;
  if (g_str_equal(s, "test") || g_str_has_prefix(s, "test:")) {
    v->kind = HV_VIDEO_TEST;
    g_free(v->pattern);
    v->pattern = g_strdup(s[4] ? s + 5 : (x->key[6] == '1' ? "ball" : "smpte"));
  } else if (g_str_has_prefix(s, "v4l2:")) {
    v->kind = HV_VIDEO_V4L2;
    g_free(v->device); /* a key repeated in a repeated group */
    v->device = g_strdup(s + 5);
  } else if (g_str_has_prefix(s, "libcamera:")) {
    v->kind = HV_VIDEO_LIBCAMERA;
    g_free(v->device);
    v->device = g_strdup(s + 10);
  } else {
    return fail(x, "'%s' is not test[:PATTERN], v4l2:/dev/videoN or libcamera:NAME", s);
  }
  return TRUE;
}

static gboolean
parse_microphone(Ctx *x, HvAudioSource *a)
{
  g_autofree char *s = NULL;
  if (!get_string(x, &s))
    return FALSE;
  if (g_str_equal(s, "test")) {
    a->kind = HV_AUDIO_TEST;
  } else if (g_str_has_prefix(s, "alsa:")) {
    a->kind = HV_AUDIO_ALSA;
    g_free(a->device); /* a key repeated in a repeated group */
    a->device = g_strdup(s + 5);
  } else if (g_str_equal(s, "pulse") || g_str_has_prefix(s, "pulse:")) {
    a->kind = HV_AUDIO_PULSE;
    g_free(a->device);
    a->device = s[5] ? g_strdup(s + 6) : NULL;
  } else {
    return fail(x, "'%s' is not test, alsa:DEVICE or pulse[:SOURCE]", s);
  }
  return TRUE;
}

static gboolean
get_list(Ctx *x, char ***out)
{
  g_autoptr(GError) err = NULL;
  gsize n = 0;
  char **v = g_key_file_get_string_list(x->kf, x->group, x->key, &n, &err);
  if (!v || n == 0) {
    g_strfreev(v);
    return fail(x, "%s", err ? err->message : "empty list");
  }
  for (gsize i = 0; i < n; i++)
    g_strstrip(v[i]);
  g_strfreev(*out);
  *out = v;
  return TRUE;
}

/* Every key parse_key() knows, by group: only for suggesting a name when a
 * key is unknown (test-config checks that each one is parsed). */
static const struct {
  const char *group;
  const char *key;
} known_keys[] = {
  { "device", "room" }, { "device", "board" }, { "device", "key" }, { "device", "state-dir" },
  { "device", "control-socket" }, { "device", "control-group" }, { "device", "catalog" },
  { "storage", "roots" }, { "storage", "min-free-minutes" }, { "storage", "warn-minutes" },
  { "storage", "reserve-seconds" },
  { "custodians", "recipients" },
  { "video", "cameras" }, { "video", "camera1" }, { "video", "camera2" }, { "video", "layout" },
  { "video", "width" }, { "video", "height" }, { "video", "fps" }, { "video", "bitrate-kbps" },
  { "video", "encoder" },
  { "audio", "microphone" }, { "audio", "bitrate-kbps" }, { "audio", "silence-db" },
  { "audio", "silence-seconds" },
  { "buttons", "hold-to-stop-ms" },
  { "testing", "camera1-fail-after" }, { "testing", "microphone-fail-after" },
  { "testing", "microphone-silent" }, { "testing", "reopen-seconds" },
};

static const char *const known_groups[] = { "device", "storage", "custodians", "video", "audio", "buttons",
                                            "testing", NULL };

/* Levenshtein distance of two short ASCII names (case-insensitive). */
static guint
edit_distance(const char *a, const char *b)
{
  gsize la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return G_MAXUINT;
  guint row[65];
  for (gsize j = 0; j <= lb; j++)
    row[j] = (guint) j;
  for (gsize i = 1; i <= la; i++) {
    guint diag = row[0];
    row[0] = (guint) i;
    for (gsize j = 1; j <= lb; j++) {
      guint up = row[j];
      guint cost = g_ascii_tolower(a[i - 1]) == g_ascii_tolower(b[j - 1]) ? 0 : 1;
      row[j] = MIN(MIN(row[j] + 1, row[j - 1] + 1), diag + cost);
      diag = up;
    }
  }
  return row[lb];
}

/* The nearest of candidates to name, when near enough to be a typo. */
static const char *
nearest(const char *name, const char *const *candidates, gsize n)
{
  const char *best = NULL;
  guint best_d = G_MAXUINT;
  for (gsize i = 0; i < n; i++) {
    guint d = edit_distance(name, candidates[i]);
    if (d < best_d)
      best = candidates[i], best_d = d;
  }
  guint len = (guint) strlen(name);
  if (best && best_d <= MAX(2u, len / 3) && best_d < len)
    return best;
  /* a key cut short ("bitrate" for "bitrate-kbps") */
  for (gsize i = 0; len >= 4 && i < n; i++)
    if (g_str_has_prefix(candidates[i], name))
      return candidates[i];
  return NULL;
}

char *
hv_config_suggest_key(const char *group, const char *key)
{
  const char *cands[G_N_ELEMENTS(known_keys)];
  gsize n = 0;
  for (gsize i = 0; i < G_N_ELEMENTS(known_keys); i++)
    if (g_str_equal(known_keys[i].group, group))
      cands[n++] = known_keys[i].key;
  /* a key of another group, exactly: that is where it was meant to go */
  for (gsize i = 0; i < G_N_ELEMENTS(known_keys); i++)
    if (!g_str_equal(known_keys[i].group, group) && g_ascii_strcasecmp(known_keys[i].key, key) == 0)
      return g_strdup_printf("'%s' belongs in [%s]", known_keys[i].key, known_keys[i].group);
  const char *near = nearest(key, cands, n);
  return near ? g_strdup_printf("did you mean '%s'?", near) : NULL;
}

static gboolean
unknown_key(Ctx *x)
{
  g_autofree char *hint = hv_config_suggest_key(x->group, x->key);
  if (hint)
    return fail(x, "unknown key; %s", hint);
  return fail(x, "unknown key");
}

/* One key: dispatch by group and name. Returns FALSE with the problem recorded. */
static gboolean
parse_key(Ctx *x, HvConfig *c)
{
  const char *g = x->group, *k = x->key;
  HvRecorderConfig *r = &c->rec;
#define IS(G, K) (g_str_equal(g, G) && g_str_equal(k, K))
  if (IS("device", "room")) return get_string(x, &r->room);
  if (IS("device", "board")) return get_string(x, &c->board_path);
  if (IS("device", "key")) return get_string(x, &c->device_key_path);
  if (IS("device", "state-dir")) return get_string(x, &c->state_dir);
  if (IS("device", "control-socket")) return get_string(x, &c->control_socket);
  if (IS("device", "control-group")) return get_string(x, &c->control_group);
  if (IS("device", "catalog")) return get_string(x, &c->catalog_path);
  if (IS("storage", "roots")) {
    g_auto(GStrv) roots = NULL;
    if (!get_list(x, &roots))
      return FALSE;
    if (g_strv_length(roots) > HV_MAX_ROOTS)
      return fail(x, "at most %d storage roots (master and working copy)", HV_MAX_ROOTS);
    for (guint i = 0; roots[i]; i++) {
      if (!g_path_is_absolute(roots[i]))
        return fail(x, "'%s' is not an absolute path", roots[i]);
      g_free(r->roots[i]);
      r->roots[i] = g_strdup(roots[i]);
    }
    return TRUE;
  }
  if (IS("storage", "min-free-minutes")) return get_uint(x, 0, 100000, &r->min_free_minutes);
  if (IS("storage", "warn-minutes")) return get_uint(x, 0, 100000, &r->warn_minutes);
  if (IS("storage", "reserve-seconds")) return get_uint(x, 0, 3600, &r->reserve_seconds);
  if (IS("storage", "low-space-minutes"))
    return fail(x, "replaced by 'warn-minutes' (the one low-space threshold, default 10)");
  if (IS("custodians", "recipients")) return get_list(x, &c->recipient_paths);
  if (IS("video", "cameras")) return get_uint(x, 1, HV_MAX_CAMERAS, &r->n_video);
  if (IS("video", "camera1")) return parse_camera(x, &r->video[0]);
  if (IS("video", "camera2")) return parse_camera(x, &r->video[1]);
  if (IS("video", "layout")) {
    g_autofree char *v = NULL;
    if (!get_string(x, &v))
      return FALSE;
    if (g_str_equal(v, "pip")) r->layout = HV_LAYOUT_PIP;
    else if (g_str_equal(v, "side-by-side")) r->layout = HV_LAYOUT_SIDE_BY_SIDE;
    else return fail(x, "'%s' is not pip or side-by-side", v);
    return TRUE;
  }
  if (IS("video", "width")) return get_uint(x, 160, 3840, &r->width);
  if (IS("video", "height")) return get_uint(x, 120, 2160, &r->height);
  if (IS("video", "fps")) return get_uint(x, 5, 60, &r->fps);
  if (IS("video", "bitrate-kbps")) return get_uint(x, 200, 20000, &r->video_kbps);
  if (IS("video", "encoder")) return get_string(x, &r->encoder);
  if (IS("audio", "microphone")) return parse_microphone(x, &r->audio);
  if (IS("audio", "bitrate-kbps")) return get_uint(x, 32, 320, &r->audio_kbps);
  if (IS("audio", "silence-db")) return get_double(x, &r->silence_db);
  if (IS("audio", "silence-seconds")) return get_uint(x, 1, 3600, &r->silence_seconds);
  if (IS("buttons", "hold-to-stop-ms")) return get_uint(x, 500, 10000, &c->hold_to_stop_ms);
  if (IS("testing", "camera1-fail-after")) return get_uint(x, 0, G_MAXINT, &r->video[0].fail_after);
  if (IS("testing", "microphone-fail-after")) return get_uint(x, 0, G_MAXINT, &r->audio.fail_after);
  if (IS("testing", "microphone-silent")) return get_bool(x, &r->audio.silent);
  if (IS("testing", "reopen-seconds")) return get_uint(x, 1, 3600, &r->reopen_seconds);
#undef IS
  return unknown_key(x);
}

/* Every recipient file that loads; each one that does not is a problem. */
static void
load_recipients(HvConfig *c, GPtrArray *problems)
{
  for (guint i = 0; c->recipient_paths && c->recipient_paths[i]; i++) {
    if (i >= HV_RECIPIENTS_MAX) {
      g_ptr_array_add(problems, g_strdup_printf("%s: [custodians] recipients: at most %u", c->path,
                                                HV_RECIPIENTS_MAX));
      return;
    }
    g_autoptr(GError) err = NULL;
    if (!hv_recipient_load(c->recipient_paths[i], c->rec.recipients + c->rec.n_recipients * HV_RECIPIENT_PK_SIZE,
                           &err)) {
      g_ptr_array_add(problems, g_strdup_printf("%s: [custodians] recipients: %s", c->path, err->message));
      continue;
    }
    c->rec.n_recipients++;
  }
}

HvConfig *
hv_config_load_all(const char *path, GPtrArray *problems)
{
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_autoptr(GError) err = NULL;
  if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, &err)) {
    g_ptr_array_add(problems, g_strdup_printf("%s: %s", path, err->message));
    return NULL;
  }
  g_autoptr(HvConfig) c = g_new0(HvConfig, 1);
  c->path = g_strdup(path);
  hv_recorder_config_init(&c->rec);
  /* no default board: a board file names the buttons and lights, and the
   * simulated one (a test fixture) is not installed on a board */
  c->device_key_path = g_strdup("/var/lib/haven/device.key");
  c->state_dir = g_strdup("/var/lib/haven");
  c->control_socket = g_strdup("/run/haven/control.sock");
  c->hold_to_stop_ms = 2000;
  c->rec.roots[0] = g_strdup("/srv/haven");

  g_auto(GStrv) groups = g_key_file_get_groups(kf, NULL);
  for (guint i = 0; groups[i]; i++) {
    if (!g_strv_contains(known_groups, groups[i])) {
      const char *near = nearest(groups[i], (const char *const *) known_groups, g_strv_length((char **) known_groups));
      g_autofree char *hint = near ? g_strdup_printf("did you mean [%s]?", near) : NULL;
      g_ptr_array_add(problems, g_strdup_printf("%s: [%s]: unknown group; %s", path, groups[i],
                                                hint ? hint : "known: device, storage, custodians, video, "
                                                              "audio, buttons"));
      continue;
    }
    g_auto(GStrv) keys = g_key_file_get_keys(kf, groups[i], NULL, NULL);
    for (guint k = 0; keys[k]; k++) {
      Ctx x = { kf, path, groups[i], keys[k], problems };
      (void) parse_key(&x, c); /* a problem is recorded; go on to the next key */
    }
  }
  if (!c->catalog_path)
    c->catalog_path = g_build_filename(c->state_dir, "catalog.db", NULL);
  if (!c->board_path)
    g_ptr_array_add(problems, g_strdup_printf("%s: [device] board is not set: name this board's file, e.g. "
                                              "board=" HAVEN_DATADIR "/boards/rpi4.board (haven provision "
                                              "writes it)", path));
  guint before = problems->len;
  load_recipients(c, problems);
  /* recipients listed but none loadable: already reported, file by file;
   * "no recipient configured" would only mislead */
  guint n_loaded = c->rec.n_recipients;
  if (n_loaded == 0 && problems->len > before)
    c->rec.n_recipients = 1;
  g_autoptr(GError) verr = NULL;
  if (!hv_recorder_config_validate(&c->rec, &verr))
    g_ptr_array_add(problems, g_strdup_printf("%s: %s", path, verr->message));
  c->rec.n_recipients = n_loaded;
  return g_steal_pointer(&c);
}

HvConfig *
hv_config_load(const char *path, GError **error)
{
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(HvConfig) c = hv_config_load_all(path, problems);
  if (problems->len > 0) {
    g_ptr_array_add(problems, NULL);
    g_autofree char *all = g_strjoinv("\n", (char **) problems->pdata);
    g_set_error_literal(error, HV_CONFIG_ERROR, HV_CONFIG_ERROR_INVALID, all);
    return NULL;
  }
  return g_steal_pointer(&c);
}
