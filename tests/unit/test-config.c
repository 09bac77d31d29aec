// SPDX-License-Identifier: GPL-2.0-or-later
#include "config.h"
#include "test-helpers.h"

#include <string.h>

static char *
write_conf(Fixture *f, const char *body)
{
  char *p = g_build_filename(f->dir, "haven.conf", NULL);
  g_autofree char *text = g_strdup_printf("[custodians]\nrecipients=%s/cust.pub\n%s", f->dir, body);
  g_assert_true(g_file_set_contents(p, text, -1, NULL));
  return p;
}

static void
test_defaults(Fixture *f, gconstpointer data)
{
  g_autofree char *p = write_conf(f, "[device]\nroom=Raum 2\n[storage]\nroots=/srv/a;/srv/b\n");
  g_autoptr(GError) err = NULL;
  g_autoptr(HvConfig) c = hv_config_load(p, &err);
  g_assert_no_error(err);
  g_assert_cmpstr(c->rec.room, ==, "Raum 2");
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

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/config/defaults", Fixture, NULL, fixture_setup, test_defaults, fixture_teardown);
  g_test_add("/config/bad", Fixture, NULL, fixture_setup, test_bad, fixture_teardown);
  g_test_add("/config/space", Fixture, NULL, fixture_setup, test_space, fixture_teardown);
  return g_test_run();
}
