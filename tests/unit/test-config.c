// SPDX-License-Identifier: GPL-2.0-or-later
#include "config.h"
#include "test-helpers.h"

#include <string.h>

static char *
write_conf(Fixture *f, const char *body)
{
  char *p = g_build_filename(f->dir, "haven.conf", NULL);
  g_autofree char *text = g_strdup_printf("[custodians]\nrecipients=%s/cust.pub\n[device]\nboard=/b/rpi4.board\n%s",
                                          f->dir, body);
  g_assert_true(g_file_set_contents(p, text, -1, NULL));
  return p;
}

/* No default board: without board= the daemon would look for the simulated
 * board, a test fixture no package installs. The error says what to write. */
static void
test_board_required(Fixture *f, gconstpointer data)
{
  g_autofree char *p = g_build_filename(f->dir, "haven.conf", NULL);
  g_autofree char *text = g_strdup_printf("[custodians]\nrecipients=%s/cust.pub\n[device]\nroom=R\n", f->dir);
  g_assert_true(g_file_set_contents(p, text, -1, NULL));
  g_autoptr(GError) err = NULL;
  g_autoptr(HvConfig) c = hv_config_load(p, &err);
  g_assert_null(c);
  g_assert_error(err, HV_CONFIG_ERROR, HV_CONFIG_ERROR_INVALID);
  g_assert_nonnull(strstr(err->message, "[device] board is not set"));
  g_assert_nonnull(strstr(err->message, "boards/rpi4.board"));
}

static void
test_defaults(Fixture *f, gconstpointer data)
{
  g_autofree char *p = write_conf(f, "[device]\nroom=Raum 2\n[storage]\nroots=/srv/a;/srv/b\n");
  g_autoptr(GError) err = NULL;
  g_autoptr(HvConfig) c = hv_config_load(p, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(c->rec.room, ==, "Raum 2");
  g_assert_cmpstr(c->board_path, ==, "/b/rpi4.board");
  g_assert_cmpstr(c->rec.roots[1], ==, "/srv/b");
  g_assert_cmpuint(c->rec.width, ==, 1280);
  g_assert_cmpuint(c->hold_to_stop_ms, ==, 2000);
  g_assert_cmpuint(c->rec.n_recipients, ==, 1);
  g_assert_cmpuint(c->rec.warn_minutes, ==, 10);
  g_assert_cmpuint(c->rec.reserve_seconds, ==, 30);
}

static void
test_space(Fixture *f, gconstpointer data)
{
  g_autofree char *p = write_conf(f, "[storage]\nwarn-minutes=25\nreserve-seconds=45\n");
  g_autoptr(GError) err = NULL;
  g_autoptr(HvConfig) c = hv_config_load(p, &err);
  g_assert_no_error(err);
  g_assert_cmpuint(c->rec.warn_minutes, ==, 25);
  g_assert_cmpuint(c->rec.reserve_seconds, ==, 45);
}

typedef struct {
  const char *body;
  const char *want;
} Bad;

static const Bad bad[] = {
  { "[video]\nfps=0\n", "[video] fps" },
  { "[video]\nwidth=abc\n", "[video] width" },
  { "[video]\ncamera1=usb:/dev/video0\n", "[video] camera1" },
  { "[video]\ncamera1=v4l2:/dev/video0;rm\n", "characters outside" },
  { "[video]\nfoo=1\n", "[video] foo: unknown key" },
  { "[bar]\n", "[bar]: unknown group" },
  { "[storage]\nroots=relative/path\n", "[storage] roots" },
  { "[storage]\nroots=/a;/b;/c\n", "at most 2" },
  { "[video]\nencoder=nvenc\n", "encoder 'nvenc'" },
  { "[buttons]\nhold-to-stop-ms=100\n", "[buttons] hold-to-stop-ms" },
  { "[storage]\nlow-space-minutes=360\n", "replaced by 'warn-minutes'" },
  { "[storage]\nreserve-seconds=99999\n", "[storage] reserve-seconds" },
};

static void
test_bad(Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS(bad); i++) {
    g_autofree char *p = write_conf(f, bad[i].body);
    g_autoptr(GError) err = NULL;
    g_autoptr(HvConfig) c = hv_config_load(p, &err);
    g_assert_null(c);
    g_assert_error(err, HV_CONFIG_ERROR, HV_CONFIG_ERROR_INVALID);
    if (!strstr(err->message, bad[i].want))
      g_error("case %u: '%s' not in '%s'", i, bad[i].want, err->message);
    g_assert_nonnull(strstr(err->message, "haven.conf"));
  }
}

/* issue 9 item 4: every problem of a file in one run, not only the first */
static void
test_all_problems(Fixture *f, gconstpointer data)
{
  g_autofree char *p = write_conf(f, "[video]\nfps=0\nfoo=1\n[storage]\nroot=/srv\n[bar]\nx=1\n"
                                     "[buttons]\nhold-to-stop-ms=100\n");
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(HvConfig) c = hv_config_load_all(p, problems);
  g_assert_nonnull(c); /* the rest of the checks go on with it */
  static const char *const want[] = { "[video] fps", "[video] foo: unknown key", "[storage] root: unknown key",
                                      "[bar]: unknown group", "[buttons] hold-to-stop-ms" };
  g_assert_cmpuint(problems->len, ==, G_N_ELEMENTS(want));
  for (guint i = 0; i < G_N_ELEMENTS(want); i++) {
    gboolean found = FALSE;
    for (guint j = 0; j < problems->len; j++)
      found |= strstr(problems->pdata[j], want[i]) != NULL && strstr(problems->pdata[j], "haven.conf") != NULL;
    if (!found)
      g_error("'%s' not reported", want[i]);
  }
  g_autoptr(GError) err = NULL;
  g_autoptr(HvConfig) none = hv_config_load(p, &err);
  g_assert_null(none);
  g_assert_error(err, HV_CONFIG_ERROR, HV_CONFIG_ERROR_INVALID);
  for (guint i = 0; i < G_N_ELEMENTS(want); i++)
    g_assert_nonnull(strstr(err->message, want[i]));
}

typedef struct {
  const char *body;
  const char *want;
} Hint;

static const Hint hints[] = {
  { "[storage]\nroot=/srv\n", "[storage] root: unknown key; did you mean 'roots'?" },
  { "[device]\ncontrol_group=haven\n", "[device] control_group: unknown key; did you mean 'control-group'?" },
  { "[video]\nbitrate=3000\n", "[video] bitrate: unknown key; did you mean 'bitrate-kbps'?" },
  { "[device]\nroots=/srv\n", "[device] roots: unknown key; 'roots' belongs in [storage]" },
  { "[vidoe]\nfps=25\n", "[vidoe]: unknown group; did you mean [video]?" },
  { "[video]\nzzzzzzzz=1\n", "[video] zzzzzzzz: unknown key" },
};

static void
test_suggestions(Fixture *f, gconstpointer data)
{
  for (guint i = 0; i < G_N_ELEMENTS(hints); i++) {
    g_autofree char *p = write_conf(f, hints[i].body);
    g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
    g_autoptr(HvConfig) c = hv_config_load_all(p, problems);
    g_assert_nonnull(c);
    g_assert_cmpuint(problems->len, ==, 1);
    if (!strstr(problems->pdata[0], hints[i].want))
      g_error("case %u: '%s' not in '%s'", i, hints[i].want, (char *) problems->pdata[0]);
  }
  /* nothing near: no guess */
  g_autofree char *none = hv_config_suggest_key("video", "zzzzzzzz");
  g_assert_null(none);
}

/* Every key the suggestions know is one the parser takes. */
static void
test_known_keys_parse(Fixture *f, gconstpointer data)
{
  static const char *const groups[] = { "device", "storage", "custodians", "video", "audio", "buttons", "testing" };
  for (guint g = 0; g < G_N_ELEMENTS(groups); g++) {
    /* probe every name the suggestion table might hold, by asking it */
    static const char *const probes[] = { "room", "board", "key", "state-dir", "control-socket", "control-group",
                                          "catalog", "roots", "min-free-minutes", "low-space-minutes", "recipients",
                                          "cameras", "camera1", "camera2", "layout", "width", "height", "fps",
                                          "bitrate-kbps", "encoder", "microphone", "silence-db", "silence-seconds",
                                          "hold-to-stop-ms", "camera1-fail-after", "microphone-fail-after",
                                          "microphone-silent", "reopen-seconds" };
    for (guint k = 0; k < G_N_ELEMENTS(probes); k++) {
      g_autofree char *hint = hv_config_suggest_key(groups[g], probes[k]);
      g_autofree char *exact = g_strdup_printf("did you mean '%s'?", probes[k]);
      if (!hint || !g_str_equal(hint, exact))
        continue; /* not a key of this group */
      g_autofree char *body = g_strdup_printf("[%s]\n%s=\x01\n", groups[g], probes[k]);
      g_autofree char *p = write_conf(f, body);
      g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
      g_autoptr(HvConfig) c = hv_config_load_all(p, problems);
      g_assert_nonnull(c);
      for (guint i = 0; i < problems->len; i++)
        if (strstr(problems->pdata[i], "unknown key"))
          g_error("[%s] %s is suggested but not parsed: %s", groups[g], probes[k], (char *) problems->pdata[i]);
    }
  }
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/config/defaults", Fixture, NULL, fixture_setup, test_defaults, fixture_teardown);
  g_test_add("/config/board-required", Fixture, NULL, fixture_setup, test_board_required, fixture_teardown);
  g_test_add("/config/bad", Fixture, NULL, fixture_setup, test_bad, fixture_teardown);
  g_test_add("/config/space", Fixture, NULL, fixture_setup, test_space, fixture_teardown);
  g_test_add("/config/all-problems", Fixture, NULL, fixture_setup, test_all_problems, fixture_teardown);
  g_test_add("/config/suggestions", Fixture, NULL, fixture_setup, test_suggestions, fixture_teardown);
  g_test_add("/config/known-keys-parse", Fixture, NULL, fixture_setup, test_known_keys_parse, fixture_teardown);
  return g_test_run();
}
