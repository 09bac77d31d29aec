// SPDX-License-Identifier: GPL-2.0-or-later
/* readiness: each missing thing is found and named, against a fake /dev and
 * /sys tree. A real V4L2 capture device and sound card: the virtual board
 * (board/qemu/scenario-ready.sh). */
#include "test-helpers.h"
#include "readiness.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

typedef struct {
  char            *dir;      /* the fake sysroot */
  char            *root;     /* a storage root */
  HvRecorderConfig cfg;
} RdFixture;

static void
mkdirs(const char *base, const char *rel)
{
  g_autofree char *p = g_build_filename(base, rel, NULL);
  g_assert_cmpint(g_mkdir_with_parents(p, 0755), ==, 0);
}

static void
put(const char *base, const char *rel, const char *text)
{
  g_autofree char *p = g_build_filename(base, rel, NULL);
  g_assert_true(g_file_set_contents(p, text, -1, NULL));
}

/* A character device node at base/rel with /dev/null's numbers: opens like a
 * device, answers no V4L2 ioctl. FALSE (test skipped) where mknod is not allowed. */
static gboolean
char_node(const char *base, const char *rel)
{
  g_autofree char *p = g_build_filename(base, rel, NULL);
  if (mknod(p, S_IFCHR | 0666, makedev(1, 3)) == 0) {
    int fd = open(p, O_RDWR);
    if (fd >= 0) {
      close(fd);
      return TRUE;
    }
  }
  g_test_skip("cannot make a usable character device node here (mknod needs CAP_MKNOD and a dev mount)");
  return FALSE;
}

/* Root is not refused by file modes: run the probe as nobody (effective ids
 * only, given back after) so the permission paths are tested either way. */
static void
as_nobody(RdFixture *x, gboolean on)
{
  if (getuid() != 0)
    return;
  if (on) {
    g_assert_cmpint(g_chmod(x->dir, 0755), ==, 0);
    g_assert_cmpint(setegid(65534), ==, 0);
    g_assert_cmpint(seteuid(65534), ==, 0);
  } else {
    g_assert_cmpint(seteuid(0), ==, 0);
    g_assert_cmpint(setegid(0), ==, 0);
  }
}

static void
rd_setup(RdFixture *x, gconstpointer data)
{
  x->dir = g_dir_make_tmp("haven-ready-XXXXXX", NULL);
  x->root = g_build_filename(x->dir, "storage", NULL);
  g_assert_cmpint(g_mkdir(x->root, 0750), ==, 0);
  mkdirs(x->dir, "dev/snd");
  mkdirs(x->dir, "sys/class/sound/card0");
  mkdirs(x->dir, "sys/class/sound/card1");
  put(x->dir, "sys/class/sound/card0/id", "vc4hdmi\n");
  put(x->dir, "sys/class/sound/card1/id", "Loopback\n");
  hv_recorder_config_init(&x->cfg);
  x->cfg.roots[0] = g_strdup(x->root);
  x->cfg.n_recipients = 1;
  x->cfg.min_free_minutes = 0;
}

static void
rd_teardown(RdFixture *x, gconstpointer data)
{
  rm_tree(x->dir);
  g_free(x->dir);
  g_free(x->root);
  hv_recorder_config_clear(&x->cfg);
}

static void
use_camera(RdFixture *x, const char *device)
{
  x->cfg.video[0].kind = HV_VIDEO_V4L2;
  g_free(x->cfg.video[0].device);
  x->cfg.video[0].device = g_strdup(device);
}

static void
use_mic(RdFixture *x, const char *device)
{
  x->cfg.audio.kind = HV_AUDIO_ALSA;
  g_free(x->cfg.audio.device);
  x->cfg.audio.device = g_strdup(device);
}

/* Exactly one problem, of kind, whose text has every one of the NULL-ended words. */
static void
assert_one(RdFixture *x, HvReadinessKind kind, ...)
{
  g_autoptr(GPtrArray) p = hv_readiness_check(&x->cfg, x->dir, 0);
  g_autofree char *all = hv_readiness_join(p);
  if (p->len != 1)
    g_error("expected one problem, got %u: %s", p->len, all ? all : "(none)");
  const HvReadinessProblem *pr = p->pdata[0];
  g_assert_cmpint(pr->kind, ==, kind);
  va_list ap;
  va_start(ap, kind);
  for (const char *w; (w = va_arg(ap, const char *));)
    if (!strstr(pr->text, w))
      g_error("'%s' not in '%s'", w, pr->text);
  va_end(ap);
}

static void
assert_ready(RdFixture *x)
{
  g_autoptr(GPtrArray) p = hv_readiness_check(&x->cfg, x->dir, 0);
  g_autofree char *all = hv_readiness_join(p);
  g_assert_cmpstr(all, ==, NULL);
}

static void
test_ready(RdFixture *x, gconstpointer data)
{
  assert_ready(x); /* test sources, a writable root, a recipient, today's clock */
}

static void
test_clock(RdFixture *x, gconstpointer data)
{
  g_autoptr(GPtrArray) p = hv_readiness_check(&x->cfg, x->dir, G_GINT64_CONSTANT(946684800) * G_USEC_PER_SEC);
  g_assert_cmpuint(p->len, ==, 1);
  const HvReadinessProblem *pr = p->pdata[0];
  g_assert_cmpint(pr->kind, ==, HV_READINESS_CLOCK);
  g_assert_nonnull(strstr(pr->text, "2000-01-01 00:00:00"));
}

static void
test_keys(RdFixture *x, gconstpointer data)
{
  x->cfg.n_recipients = 0;
  assert_one(x, HV_READINESS_KEYS, "recipient", NULL);
}

static void
test_storage_missing(RdFixture *x, gconstpointer data)
{
  g_assert_cmpint(g_rmdir(x->root), ==, 0);
  assert_one(x, HV_READINESS_STORAGE, x->root, "missing", NULL);
  g_assert_false(g_file_test(x->root, G_FILE_TEST_EXISTS)); /* the probe never creates it */
  put(x->root, "", "a file where the root should be");
  assert_one(x, HV_READINESS_STORAGE, x->root, "not a directory", NULL);
  g_assert_cmpint(g_unlink(x->root), ==, 0);
  g_assert_cmpint(g_mkdir(x->root, 0750), ==, 0);
  assert_ready(x);
}

static void
test_storage_read_only(RdFixture *x, gconstpointer data)
{
  g_assert_cmpint(g_chmod(x->root, 0555), ==, 0);
  as_nobody(x, TRUE);
  assert_one(x, HV_READINESS_STORAGE, x->root, "not writable", NULL);
  as_nobody(x, FALSE);
  g_assert_cmpint(g_chmod(x->root, 0750), ==, 0);
}

static void
test_storage_short(RdFixture *x, gconstpointer data)
{
  x->cfg.min_free_minutes = 100000; /* ~40 TB at 3.1 Mbit/s */
  assert_one(x, HV_READINESS_STORAGE, x->root, "MiB free", "100000 minutes", NULL);
}

static void
test_camera_absent(RdFixture *x, gconstpointer data)
{
  use_camera(x, "/dev/video9");
  assert_one(x, HV_READINESS_CAMERA, "camera 1", "/dev/video9", "absent", NULL);
  x->cfg.n_video = 2;
  x->cfg.video[1].kind = HV_VIDEO_V4L2;
  x->cfg.video[1].device = g_strdup("/dev/video7");
  g_autoptr(GPtrArray) p = hv_readiness_check(&x->cfg, x->dir, 0);
  g_assert_cmpuint(p->len, ==, 2);
  g_assert_nonnull(strstr(((HvReadinessProblem *) p->pdata[1])->text, "camera 2 (/dev/video7)"));
}

static void
test_camera_not_a_device(RdFixture *x, gconstpointer data)
{
  put(x->dir, "dev/video0", "");
  use_camera(x, "/dev/video0");
  assert_one(x, HV_READINESS_CAMERA, "camera 1 (/dev/video0)", "not a device node", NULL);
}

static void
test_camera_not_v4l2(RdFixture *x, gconstpointer data)
{
  if (!char_node(x->dir, "dev/video0"))
    return;
  use_camera(x, "/dev/video0");
  assert_one(x, HV_READINESS_CAMERA, "camera 1 (/dev/video0)", "not a V4L2 device", NULL);
}

static void
test_camera_permission(RdFixture *x, gconstpointer data)
{
  if (!char_node(x->dir, "dev/video0"))
    return;
  g_autofree char *p = g_build_filename(x->dir, "dev/video0", NULL);
  g_assert_cmpint(g_chmod(p, 0), ==, 0);
  use_camera(x, "/dev/video0");
  g_assert_cmpint(g_chmod(x->root, 0777), ==, 0); /* only the camera is refused */
  as_nobody(x, TRUE);
  g_autoptr(GPtrArray) pr = hv_readiness_check(&x->cfg, x->dir, 0);
  as_nobody(x, FALSE);
  g_autofree char *all = hv_readiness_join(pr);
  g_assert_cmpstr(all, ==, "camera 1 (/dev/video0): Permission denied");
}

static void
test_mic_card_absent(RdFixture *x, gconstpointer data)
{
  use_mic(x, "hw:USB,0");
  assert_one(x, HV_READINESS_MICROPHONE, "microphone (hw:USB,0)", "sound card 'USB' absent", NULL);
  use_mic(x, "hw:3,0");
  assert_one(x, HV_READINESS_MICROPHONE, "sound card '3' absent", NULL);
  use_mic(x, "hw:loopback,1,0"); /* ids are case-sensitive, as in alsa-lib */
  assert_one(x, HV_READINESS_MICROPHONE, "sound card 'loopback' absent", NULL);
}

static void
test_mic_node_absent(RdFixture *x, gconstpointer data)
{
  use_mic(x, "hw:Loopback,1,0");
  assert_one(x, HV_READINESS_MICROPHONE, "microphone (hw:Loopback,1,0)", "/dev/snd/pcmC1D1c", "absent", NULL);
  use_mic(x, "plughw:CARD=Loopback,DEV=1");
  assert_one(x, HV_READINESS_MICROPHONE, "/dev/snd/pcmC1D1c", NULL);
  use_mic(x, "hw:0");
  assert_one(x, HV_READINESS_MICROPHONE, "/dev/snd/pcmC0D0c", NULL);
  put(x->dir, "dev/snd/pcmC0D0c", "");
  assert_one(x, HV_READINESS_MICROPHONE, "/dev/snd/pcmC0D0c is not a device node", NULL);
}

static void
test_mic_present(RdFixture *x, gconstpointer data)
{
  if (!char_node(x->dir, "dev/snd/pcmC1D1c"))
    return;
  static const char *const names[] = { "hw:Loopback,1,0", "hw:1,1", "plughw:CARD=Loopback,DEV=1,SUBDEV=0",
                                       "dsnoop:Loopback,1", NULL };
  for (guint i = 0; names[i]; i++) {
    use_mic(x, names[i]);
    assert_ready(x);
  }
}

static void
test_mic_unjudged(RdFixture *x, gconstpointer data)
{
  /* names the ALSA configuration resolves: the start reports them */
  static const char *const names[] = { "default", "hw:", "hw:Loopback,x", "hw:FOO=1", "pulse", NULL };
  for (guint i = 0; names[i]; i++) {
    use_mic(x, names[i]);
    assert_ready(x);
  }
  x->cfg.audio.kind = HV_AUDIO_ALSA;
  g_clear_pointer(&x->cfg.audio.device, g_free); /* alsasrc's default device */
  assert_ready(x);
}

static void
test_all_at_once(RdFixture *x, gconstpointer data)
{
  x->cfg.n_recipients = 0;
  g_assert_cmpint(g_rmdir(x->root), ==, 0);
  use_camera(x, "/dev/video9");
  use_mic(x, "hw:USB,0");
  g_autoptr(GPtrArray) p = hv_readiness_check(&x->cfg, x->dir, G_GINT64_CONSTANT(946684800) * G_USEC_PER_SEC);
  g_assert_cmpuint(p->len, ==, 5);
  static const HvReadinessKind order[] = { HV_READINESS_CLOCK, HV_READINESS_KEYS, HV_READINESS_STORAGE,
                                           HV_READINESS_CAMERA, HV_READINESS_MICROPHONE };
  for (guint i = 0; i < p->len; i++)
    g_assert_cmpint(((HvReadinessProblem *) p->pdata[i])->kind, ==, order[i]);
  g_autofree char *all = hv_readiness_join(p);
  g_assert_nonnull(strstr(all, "; keys: "));
  g_assert_nonnull(strstr(all, "; camera 1 (/dev/video9): absent; microphone (hw:USB,0)"));
}

/* What one probe costs (printed, not asserted): a camera, a microphone, a root. */
static void
test_probe_cost(RdFixture *x, gconstpointer data)
{
  use_camera(x, "/dev/video9");
  use_mic(x, "hw:Loopback,1,0");
  const guint n = 2000;
  gint64 t0 = g_get_monotonic_time();
  for (guint i = 0; i < n; i++) {
    g_autoptr(GPtrArray) p = hv_readiness_check(&x->cfg, x->dir, 0);
    g_assert_cmpuint(p->len, ==, 2);
  }
  gdouble us = (gdouble) (g_get_monotonic_time() - t0) / n;
  g_printerr("# readiness probe: %.1f us each (camera, microphone, storage root, clock; %u probes); "
             "at one probe per 2 s that is %.4f %% of a core\n", us, n, us / 2e6 * 100);
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
#define T(name, fn) g_test_add("/readiness/" name, RdFixture, NULL, rd_setup, fn, rd_teardown)
  T("ready", test_ready);
  T("clock", test_clock);
  T("keys", test_keys);
  T("storage-missing", test_storage_missing);
  T("storage-read-only", test_storage_read_only);
  T("storage-short", test_storage_short);
  T("camera-absent", test_camera_absent);
  T("camera-not-a-device", test_camera_not_a_device);
  T("camera-not-v4l2", test_camera_not_v4l2);
  T("camera-permission", test_camera_permission);
  T("mic-card-absent", test_mic_card_absent);
  T("mic-node-absent", test_mic_node_absent);
  T("mic-present", test_mic_present);
  T("mic-unjudged", test_mic_unjudged);
  T("all-at-once", test_all_at_once);
  T("probe-cost", test_probe_cost);
#undef T
  return g_test_run();
}
