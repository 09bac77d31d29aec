// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-recorder"
#include "recorder-config.h"

#include <string.h>

void
hv_recorder_config_init(HvRecorderConfig *cfg)
{
  memset(cfg, 0, sizeof *cfg);
  cfg->room = g_strdup("");
  cfg->n_video = 1;
  cfg->video[0].kind = HV_VIDEO_TEST;
  cfg->video[0].pattern = g_strdup("ball");
  cfg->audio.kind = HV_AUDIO_TEST;
  cfg->layout = HV_LAYOUT_PIP;
  cfg->width = 1280;
  cfg->height = 720;
  cfg->fps = 25;
  cfg->video_kbps = 3000;
  cfg->audio_kbps = 128;
  cfg->encoder = g_strdup("auto");
  cfg->silence_db = -60.0;
  cfg->silence_seconds = 10;
  cfg->reopen_seconds = 3;
  cfg->min_free_minutes = 180;
  cfg->warn_minutes = 10;
  cfg->reserve_seconds = 30;
}

void
hv_recorder_config_clear(HvRecorderConfig *cfg)
{
  g_free(cfg->room);
  for (guint i = 0; i < HV_MAX_CAMERAS; i++) {
    g_free(cfg->video[i].device);
    g_free(cfg->video[i].pattern);
  }
  g_free(cfg->audio.device);
  g_free(cfg->encoder);
  for (guint i = 0; cfg->roots[i]; i++)
    g_free(cfg->roots[i]);
  sodium_memzero(cfg, sizeof *cfg);
}

/* Device names end up in GStreamer launch descriptions: allow a safe alphabet only. */
static gboolean
safe_token(const char *s)
{
  if (!s || !*s)
    return FALSE;
  for (const char *p = s; *p; p++)
    if (!g_ascii_isalnum(*p) && !strchr("/_:.,=-", *p))
      return FALSE;
  return TRUE;
}

gboolean
hv_recorder_config_validate(const HvRecorderConfig *c, GError **error)
{
#define FAIL(...) do { g_set_error(error, G_KEY_FILE_ERROR, G_KEY_FILE_ERROR_INVALID_VALUE, __VA_ARGS__); return FALSE; } while (0)
  if (c->n_video < 1 || c->n_video > HV_MAX_CAMERAS)
    FAIL("1 or 2 cameras are supported, %u configured", c->n_video);
  for (guint i = 0; i < c->n_video; i++) {
    const HvVideoSource *v = &c->video[i];
    if (v->kind != HV_VIDEO_TEST && !safe_token(v->device))
      FAIL("camera %u: device '%s' is missing or has characters outside [A-Za-z0-9/_:.,=-]", i + 1,
           v->device ? v->device : "");
    if (v->kind == HV_VIDEO_TEST && v->pattern && !safe_token(v->pattern))
      FAIL("camera %u: test pattern '%s' is not a plain name", i + 1, v->pattern);
  }
  if (c->audio.kind != HV_AUDIO_TEST && c->audio.device && !safe_token(c->audio.device))
    FAIL("microphone: device '%s' has characters outside [A-Za-z0-9/_:.,=-]", c->audio.device);
  if (c->width < 160 || c->width > 3840 || c->width % 2 || c->height < 120 || c->height > 2160 ||
      c->height % 2)
    FAIL("video size %ux%u is out of range (even sizes, 160x120 to 3840x2160)", c->width, c->height);
  if (c->fps < 5 || c->fps > 60)
    FAIL("frame rate %u is out of range (5 to 60)", c->fps);
  if (c->video_kbps < 200 || c->video_kbps > 20000)
    FAIL("video bitrate %u kbit/s is out of range (200 to 20000)", c->video_kbps);
  if (c->audio_kbps < 32 || c->audio_kbps > 320)
    FAIL("audio bitrate %u kbit/s is out of range (32 to 320)", c->audio_kbps);
  if (g_strcmp0(c->encoder, "auto") && g_strcmp0(c->encoder, "x264") && g_strcmp0(c->encoder, "v4l2"))
    FAIL("encoder '%s' is not one of auto, x264, v4l2", c->encoder);
  if (c->silence_db > 0 || c->silence_db < -120)
    FAIL("silence threshold %.1f dB is out of range (-120 to 0)", c->silence_db);
  if (c->silence_seconds < 1 || c->silence_seconds > 3600)
    FAIL("silence timeout %u s is out of range (1 to 3600)", c->silence_seconds);
  if (!c->roots[0])
    FAIL("no storage root configured");
  if (c->n_recipients < 1)
    FAIL("no custodian recipient key configured: sessions could not be decrypted by anyone");
  if (!g_utf8_validate(c->room, -1, NULL) || strlen(c->room) > HV_ROOM_MAX)
    FAIL("room name must be UTF-8 of at most %u bytes", HV_ROOM_MAX);
  return TRUE;
#undef FAIL
}

guint64
hv_recorder_config_byte_rate(const HvRecorderConfig *c)
{
  /* media bitrates plus ~10 % for MPEG-TS packetisation and sealing */
  return ((guint64) c->video_kbps + c->audio_kbps) * 1000 / 8 * 11 / 10;
}
