// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-recorder"
#include "readiness.h"
#include "space.h"
#include "storage.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/videodev2.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#define CLOCK_MIN_YEAR 2024     /* as the recorder's pre-flight */
#define ALSA_CARDS_MAX 32       /* SNDRV_CARDS */
#define CARD_ID_MAX    64

void
hv_readiness_problem_free(HvReadinessProblem *p)
{
  if (!p)
    return;
  g_free(p->text);
  g_free(p);
}

static void
add(GPtrArray *problems, HvReadinessKind kind, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void
add(GPtrArray *problems, HvReadinessKind kind, const char *fmt, ...)
{
  HvReadinessProblem *p = g_new0(HvReadinessProblem, 1);
  p->kind = kind;
  va_list ap;
  va_start(ap, fmt);
  p->text = g_strdup_vprintf(fmt, ap);
  va_end(ap);
  g_ptr_array_add(problems, p);
}

/* Why a device node that should be there is not usable, from an errno. */
static const char *
absent_or(int e)
{
  return e == ENOENT || e == ENODEV || e == ENXIO ? "absent" : g_strerror(e);
}

/* ---- clock, keys, storage ---- */

static void
check_clock(GPtrArray *problems, gint64 now_us)
{
  g_autoptr(GDateTime) now = now_us ? g_date_time_new_from_unix_utc(now_us / G_USEC_PER_SEC)
                                    : g_date_time_new_now_utc();
  if (now && g_date_time_get_year(now) >= CLOCK_MIN_YEAR)
    return;
  g_autofree char *t = now ? g_date_time_format(now, "%Y-%m-%d %H:%M:%S") : g_strdup("?");
  add(problems, HV_READINESS_CLOCK, "clock: the system clock says %s UTC, before %d; set the time (RTC battery?)",
      t, CLOCK_MIN_YEAR);
}

static void
check_root(GPtrArray *problems, const char *root, guint64 need, guint minutes)
{
  struct stat st;
  if (stat(root, &st) < 0) {
    int e = errno;
    add(problems, HV_READINESS_STORAGE, "storage: root %s %s", root,
        e == ENOENT ? "is missing (disk not mounted?)" : g_strerror(e));
    return;
  }
  if (!S_ISDIR(st.st_mode)) {
    add(problems, HV_READINESS_STORAGE, "storage: root %s is not a directory", root);
    return;
  }
  if (faccessat(AT_FDCWD, root, W_OK | X_OK, AT_EACCESS) < 0) {
    int e = errno;
    add(problems, HV_READINESS_STORAGE, "storage: root %s is not writable: %s", root, g_strerror(e));
    return;
  }
  guint64 avail;
  g_autoptr(GError) err = NULL;
  if (!hv_storage_free_bytes(root, &avail, &err)) {
    add(problems, HV_READINESS_STORAGE, "storage: %s", err->message);
    return;
  }
  g_autofree char *shortage = hv_space_shortage(root, avail, need, minutes);
  if (shortage)
    add(problems, HV_READINESS_STORAGE, "%s", shortage);
}

/* ---- cameras ---- */

/* Present, a character device, opens, and says it captures video. Busy
 * (a driver allowing one opener, held by a session) is present. */
static void
check_camera(GPtrArray *problems, guint n, const char *sysroot, const char *device)
{
  g_autofree char *path = g_build_filename(sysroot, device, NULL);
  struct stat st;
  if (stat(path, &st) < 0) {
    int e = errno;
    add(problems, HV_READINESS_CAMERA, "camera %u (%s): %s", n, device, absent_or(e));
    return;
  }
  if (!S_ISCHR(st.st_mode)) {
    add(problems, HV_READINESS_CAMERA, "camera %u (%s): not a device node", n, device);
    return;
  }
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    if (e != EBUSY)
      add(problems, HV_READINESS_CAMERA, "camera %u (%s): %s", n, device, absent_or(e));
    return;
  }
  struct v4l2_capability cap;
  memset(&cap, 0, sizeof cap);
  int rc = ioctl(fd, VIDIOC_QUERYCAP, &cap);
  int e = errno;
  close(fd);
  if (rc < 0) {
    add(problems, HV_READINESS_CAMERA, "camera %u (%s): not a V4L2 device (%s)", n, device,
        e == ENOTTY || e == EINVAL ? "no video capabilities" : g_strerror(e));
    return;
  }
  guint32 caps = (cap.capabilities & V4L2_CAP_DEVICE_CAPS) ? cap.device_caps : cap.capabilities;
  if (!(caps & (V4L2_CAP_VIDEO_CAPTURE | V4L2_CAP_VIDEO_CAPTURE_MPLANE)))
    add(problems, HV_READINESS_CAMERA, "camera %u (%s): '%.32s' is not a video capture device (capabilities 0x%08x)",
        n, device, (const char *) cap.card, caps);
}

/* ---- microphone ---- */

/* "hw:1", "hw:Loopback,1,0", "plughw:CARD=Loopback,DEV=1": the card (number
 * or id) and the device. FALSE: not a name this probe can map. */
static gboolean
alsa_parse(const char *name, char **ret_card, guint *ret_dev)
{
  static const char *const prefixes[] = { "hw:", "plughw:", "dsnoop:", NULL };
  const char *args = NULL;
  for (guint i = 0; prefixes[i] && !args; i++)
    if (g_str_has_prefix(name, prefixes[i]))
      args = name + strlen(prefixes[i]);
  if (!args || !*args)
    return FALSE;
  g_auto(GStrv) parts = g_strsplit(args, ",", -1);
  g_autofree char *card = NULL;
  guint64 dev = 0;
  for (guint i = 0; parts[i]; i++) {
    const char *v = parts[i];
    const char *eq = strchr(v, '=');
    guint pos = i;
    if (eq) {
      if (g_ascii_strncasecmp(v, "CARD=", 5) == 0) pos = 0;
      else if (g_ascii_strncasecmp(v, "DEV=", 4) == 0) pos = 1;
      else if (g_ascii_strncasecmp(v, "SUBDEV=", 7) == 0) pos = 2;
      else return FALSE;
      v = eq + 1;
    }
    if (!*v)
      return FALSE;
    if (pos == 0) {
      g_free(card);
      card = g_strdup(v);
    } else if (pos == 1) {
      if (!g_ascii_string_to_unsigned(v, 10, 0, 31, &dev, NULL))
        return FALSE;
    } else if (pos > 2) {
      return FALSE;
    }
  }
  if (!card)
    return FALSE;
  *ret_card = g_steal_pointer(&card);
  *ret_dev = (guint) dev;
  return TRUE;
}

/* The card's index: a number as it is, an id looked up in
 * /sys/class/sound/cardN/id. -1 when no card has it. */
static int
alsa_card_index(const char *sysroot, const char *card)
{
  guint64 n;
  if (g_ascii_string_to_unsigned(card, 10, 0, ALSA_CARDS_MAX - 1, &n, NULL)) {
    g_autofree char *name = g_strdup_printf("card%u", (guint) n);
    g_autofree char *dir = g_build_filename(sysroot, "sys", "class", "sound", name, NULL);
    return g_file_test(dir, G_FILE_TEST_EXISTS) ? (int) n : -1;
  }
  for (guint i = 0; i < ALSA_CARDS_MAX; i++) {
    g_autofree char *name = g_strdup_printf("card%u", i);
    g_autofree char *path = g_build_filename(sysroot, "sys", "class", "sound", name, "id", NULL);
    g_autofree char *id = NULL;
    gsize len;
    if (!g_file_get_contents(path, &id, &len, NULL) || len > CARD_ID_MAX)
      continue;
    if (g_str_equal(g_strstrip(id), card))
      return (int) i;
  }
  return -1;
}

static void
check_microphone(GPtrArray *problems, const char *sysroot, const char *device)
{
  g_autofree char *card = NULL;
  guint dev;
  if (!device || !alsa_parse(device, &card, &dev))
    return; /* "default" or a name from the ALSA configuration: the start will tell */
  int index = alsa_card_index(sysroot, card);
  if (index < 0) {
    add(problems, HV_READINESS_MICROPHONE, "microphone (%s): sound card '%s' absent", device, card);
    return;
  }
  g_autofree char *node = g_strdup_printf("pcmC%dD%uc", index, dev);
  g_autofree char *path = g_build_filename(sysroot, "dev", "snd", node, NULL);
  struct stat st;
  if (stat(path, &st) < 0) {
    int e = errno;
    add(problems, HV_READINESS_MICROPHONE, "microphone (%s): capture device /dev/snd/%s %s", device, node,
        absent_or(e));
    return;
  }
  if (!S_ISCHR(st.st_mode)) {
    add(problems, HV_READINESS_MICROPHONE, "microphone (%s): /dev/snd/%s is not a device node", device, node);
    return;
  }
  /* opened and closed at once: nothing is configured, nothing held */
  int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) {
    int e = errno;
    if (e != EBUSY)
      add(problems, HV_READINESS_MICROPHONE, "microphone (%s): /dev/snd/%s: %s", device, node, absent_or(e));
    return;
  }
  close(fd);
}

/* ---- all of it ---- */

GPtrArray *
hv_readiness_check(const HvRecorderConfig *cfg, const char *sysroot, gint64 now_us)
{
  GPtrArray *problems = g_ptr_array_new_with_free_func((GDestroyNotify) hv_readiness_problem_free);
  if (!sysroot)
    sysroot = "/";
  check_clock(problems, now_us);
  if (cfg->n_recipients == 0)
    add(problems, HV_READINESS_KEYS, "keys: no custodian recipient loaded");
  guint64 rate = hv_recorder_config_byte_rate(cfg);
  guint64 need = hv_space_start_need(rate, cfg->min_free_minutes, cfg->reserve_seconds);
  for (guint i = 0; cfg->roots[i]; i++)
    check_root(problems, cfg->roots[i], need, cfg->min_free_minutes);
  for (guint i = 0; i < cfg->n_video && i < HV_MAX_CAMERAS; i++)
    if (cfg->video[i].kind == HV_VIDEO_V4L2 && cfg->video[i].device)
      check_camera(problems, i + 1, sysroot, cfg->video[i].device);
  if (cfg->audio.kind == HV_AUDIO_ALSA)
    check_microphone(problems, sysroot, cfg->audio.device);
  return problems;
}

char *
hv_readiness_join(const GPtrArray *problems)
{
  if (!problems || problems->len == 0)
    return NULL;
  GString *s = g_string_new(NULL);
  for (guint i = 0; i < problems->len; i++) {
    const HvReadinessProblem *p = problems->pdata[i];
    if (i)
      g_string_append(s, "; ");
    g_string_append(s, p->text);
  }
  return g_string_free(s, FALSE);
}
