// SPDX-License-Identifier: GPL-2.0-or-later
#define G_LOG_DOMAIN "haven-remux"
#include "ts-remux.h"

#include <errno.h>
#include <fcntl.h>
#include <libavformat/avformat.h>
#include <libavutil/avutil.h>
#include <libavutil/mathematics.h>
#include <string.h>
#include <unistd.h>

G_DEFINE_QUARK(hv-remux-error-quark, hv_remux_error)

static const AVRational US = { 1, 1000000 };
#define CHAPTER_MIN 1000   /* us: the chapter track's time unit is 1 ms */
/* The recorder's MPEG-TS has a video and an audio stream. A stream that
 * declares hundreds (PMTs of many programs) cost the demuxer a decoder each
 * while it probes: 860 MB and 13 s for a 1.2 MB TS of 1300 H.264 PIDs. */
#define MAX_STREAMS 16

/* libavformat's own diagnostics (e.g. "PES packet size mismatch" on the
 * torn last PES) are for debugging: what matters is in the GError. */
static void
log_to_glib(void *avcl, int level, const char *fmt, va_list vl)
{
  if (level > AV_LOG_WARNING)
    return;
  char line[1024];
  int prefix = 1;
  av_log_format_line2(avcl, level, fmt, vl, line, sizeof line, &prefix);
  g_debug("libavformat: %s", g_strchomp(line));
}

static void
format_context_close_input(AVFormatContext *c)
{
  avformat_close_input(&c);
}
typedef AVFormatContext InputContext;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(InputContext, format_context_close_input)

static void
format_context_free_output(AVFormatContext *c)
{
  if (c->pb)
    (void) avio_closep(&c->pb);
  avformat_free_context(c);
}
typedef AVFormatContext OutputContext;
G_DEFINE_AUTOPTR_CLEANUP_FUNC(OutputContext, format_context_free_output)

static void
packet_free(AVPacket *p)
{
  av_packet_free(&p);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AVPacket, packet_free)

static void
dict_free(AVDictionary *d)
{
  av_dict_free(&d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(AVDictionary, dict_free)

static const char *
av_error(int err, char buf[AV_ERROR_MAX_STRING_SIZE])
{
  return av_make_error_string(buf, AV_ERROR_MAX_STRING_SIZE, err);
}

/* One input stream that goes into the MP4. */
typedef struct {
  int        out_index;       /* -1: not written */
  gboolean   video;
  AVPacket  *held;            /* video: the last access unit, written once the next comes */
  gint64     offset;          /* subtracted so that the MP4 starts at 0 (stream time base) */
  gint64     frame;           /* a frame's duration when the packet has none (stream time base) */
  gint64     last_dts;        /* as written (stream time base); INT64_MIN: none yet */
  gint64     last_out_dts;    /* as written (the MP4 track's time base); INT64_MIN: none yet */
  gint64     first_pts, end_pts;
} Track;

/* An ADTS frame is whole when its header's frame_length is its size. The
 * demuxer flags every frame of a torn PES corrupt, also the whole ones
 * before the torn last (a PES may carry several frames): the flag decides
 * only for a frame without an ADTS header. */
static gboolean
aac_frame_whole(const AVPacket *pkt)
{
  if (pkt->size < 7 || pkt->data[0] != 0xff || (pkt->data[1] & 0xf6) != 0xf0)
    return !(pkt->flags & AV_PKT_FLAG_CORRUPT);   /* nothing says how long it should be */
  int frame_length = ((pkt->data[3] & 0x03) << 11) | (pkt->data[4] << 3) | (pkt->data[5] >> 5);
  return frame_length == pkt->size;
}

static gint64
packet_duration(const Track *t, const AVPacket *pkt)
{
  return pkt->duration > 0 ? pkt->duration : t->frame;
}

static gboolean
write_packet(AVFormatContext *out, Track *t, const AVStream *is, AVPacket *pkt, GError **error)
{
  if (pkt->dts == AV_NOPTS_VALUE)
    pkt->dts = pkt->pts;
  if (pkt->dts == AV_NOPTS_VALUE) {
    g_debug("dropping a packet without timestamps on stream %d", pkt->stream_index);
    av_packet_unref(pkt);
    return TRUE;
  }
  pkt->dts -= t->offset;
  if (pkt->pts != AV_NOPTS_VALUE)
    pkt->pts -= t->offset;
  else
    pkt->pts = pkt->dts;
  /* Timestamps that jump back by more than a frame (a source restarted
   * mid-session): the rest of the track follows what was written, its
   * spacing kept (squeezed onto one tick each, the muxer refused them). */
  gint64 frame = MAX(packet_duration(t, pkt), 1);
  if (t->last_dts != G_MININT64 && pkt->dts <= t->last_dts - frame) {
    gint64 shift = t->last_dts + frame - pkt->dts;
    t->offset -= shift;
    pkt->dts += shift;
    pkt->pts += shift;
  }
  t->last_dts = MAX(pkt->dts, t->last_dts);
  gint64 end = pkt->pts + packet_duration(t, pkt);
  if (t->first_pts == G_MININT64 || pkt->pts < t->first_pts)
    t->first_pts = pkt->pts;
  if (end > t->end_pts)
    t->end_pts = end;
  if (pkt->duration <= 0)
    pkt->duration = t->frame;
  AVStream *os = out->streams[t->out_index];
  pkt->stream_index = t->out_index;
  av_packet_rescale_ts(pkt, is->time_base, os->time_base);
  /* the muxer takes strictly increasing dts only, in its own time base (the
   * audio's is the sample rate, coarser than the stream's 90 kHz) */
  if (t->last_out_dts != G_MININT64 && pkt->dts <= t->last_out_dts) {
    pkt->dts = t->last_out_dts + 1;
    if (pkt->pts < pkt->dts)
      pkt->pts = pkt->dts;
  }
  t->last_out_dts = pkt->dts;
  pkt->pos = -1;
  int ret = av_interleaved_write_frame(out, pkt);
  if (ret < 0) {
    char e[AV_ERROR_MAX_STRING_SIZE];
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_OUTPUT, "writing the MP4: %s", av_error(ret, e));
    return FALSE;
  }
  return TRUE;
}

gboolean
hv_ts_remux_to_mp4(const char *ts_path, const char *mp4_path, const HvRemuxOptions *opts,
                   HvRemuxResult *result, GError **error)
{
  static gsize logging = 0;
  if (g_once_init_enter(&logging)) {
    av_log_set_callback(log_to_glib);
    g_once_init_leave(&logging, 1);
  }
  static const HvRemuxOptions none = { 0 };
  if (!opts)
    opts = &none;
  HvRemuxResult res = { 0 };
  char e[AV_ERROR_MAX_STRING_SIZE];

  /* "file:" so that no part of a path is taken for a protocol */
  g_autofree char *in_url = g_strconcat("file:", ts_path, NULL);
  g_autofree char *out_url = g_strconcat("file:", mp4_path, NULL);
  g_autoptr(InputContext) in = NULL;
  /* named by file name: the caller's directory may be a temporary one */
  g_autofree char *ts_name = g_path_get_basename(ts_path);
  g_autofree char *mp4_name = g_path_get_basename(mp4_path);
  g_autoptr(AVDictionary) in_opts = NULL;
  av_dict_set_int(&in_opts, "max_streams", MAX_STREAMS + 1, 0);   /* one more: more than MAX_STREAMS is seen */
  int ret = avformat_open_input(&in, in_url, av_find_input_format("mpegts"), &in_opts);
  if (ret < 0) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_INPUT, "%s: %s", ts_name, av_error(ret, e));
    return FALSE;
  }
  if ((ret = avformat_find_stream_info(in, NULL)) < 0) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_INPUT, "%s: no audio or video stream could be read "
                "from it (%s): not the recorder's MPEG-TS", ts_name, av_error(ret, e));
    return FALSE;
  }
  if (in->nb_streams > MAX_STREAMS) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_INPUT, "%s: more than %u streams: not the recorder's "
                "MPEG-TS (a video and an audio stream)", ts_name, MAX_STREAMS);
    return FALSE;
  }

  g_autoptr(OutputContext) out = NULL;
  if ((ret = avformat_alloc_output_context2(&out, NULL, "mp4", out_url)) < 0) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_OUTPUT, "MP4 muxer: %s", av_error(ret, e));
    return FALSE;
  }
  g_autofree Track *tracks = g_new0(Track, in->nb_streams);
  gint64 start = in->start_time == AV_NOPTS_VALUE ? 0 : in->start_time;
  for (guint i = 0; i < in->nb_streams; i++) {
    AVStream *is = in->streams[i];
    Track *t = &tracks[i];
    t->out_index = -1;
    t->last_dts = G_MININT64;
    t->last_out_dts = G_MININT64;
    t->first_pts = G_MININT64;
    t->end_pts = G_MININT64;
    const AVCodecParameters *par = is->codecpar;
    gboolean video = par->codec_id == AV_CODEC_ID_H264 && par->width > 0 && par->height > 0;
    gboolean audio = par->codec_id == AV_CODEC_ID_AAC && par->sample_rate > 0;
    if (!video && !audio) {
      g_debug("leaving out stream %u (%s)", i, avcodec_get_name(par->codec_id));
      continue;
    }
    AVStream *os = avformat_new_stream(out, NULL);
    if (!os || avcodec_parameters_copy(os->codecpar, par) < 0) {
      g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_OUTPUT, "MP4 muxer: out of memory");
      return FALSE;
    }
    os->codecpar->codec_tag = 0;
    os->time_base = is->time_base;
    t->out_index = os->index;
    t->video = video;
    t->offset = av_rescale_q(start, AV_TIME_BASE_Q, is->time_base);
    AVRational rate = is->avg_frame_rate.num > 0 ? is->avg_frame_rate : is->r_frame_rate;
    if (video && rate.num > 0 && rate.den > 0)
      t->frame = av_rescale_q(1, av_inv_q(rate), is->time_base);
    else if (audio && par->frame_size > 0)
      t->frame = av_rescale_q(par->frame_size, (AVRational) { 1, par->sample_rate }, is->time_base);
    if (video)
      res.has_video = TRUE;
    else
      res.has_audio = TRUE;
  }
  if (out->nb_streams == 0) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_INPUT,
                "%s: no H.264 video or AAC audio stream in it: not the recorder's MPEG-TS", ts_name);
    return FALSE;
  }
  /* the length of the media as the demuxer estimates it (the frame left out
   * at an interruption aside) */
  gint64 total_us = in->duration > 0 ? in->duration : 0;
  for (guint i = 0; i < in->nb_streams && opts->interrupted; i++)
    if (tracks[i].video)
      total_us = MAX(total_us - av_rescale_q(tracks[i].frame, in->streams[i]->time_base, US), 0);
  /* chapters need to be there at the header (the muxer reserves their
   * track); their times are settled once the duration is known. A QuickTime
   * chapter track has no gaps: one at 0 covers what comes before the first.
   * There is room for one chapter a CHAPTER_MIN: more (thousands of markers
   * in a short session) would make the chapter track, and so the MP4, last
   * longer than its media; the first ones are taken. */
  guint n_given = opts->n_chapters;
  guint lead = n_given > 0 && opts->chapters[0].start_us > 0;
  if (total_us > 0 && n_given + lead > MAX((guint64) total_us / CHAPTER_MIN, 2))
    n_given = (guint) (MAX((guint64) total_us / CHAPTER_MIN, 2) - lead);
  guint n_chapters = n_given + lead;
  if (n_chapters > 0) {
    out->chapters = av_calloc(n_chapters, sizeof *out->chapters);
    if (!out->chapters) {
      g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_OUTPUT, "MP4 muxer: out of memory");
      return FALSE;
    }
    for (guint i = 0; i < n_chapters; i++) {
      AVChapter *ch = av_mallocz(sizeof *ch);
      if (!ch) {
        g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_OUTPUT, "MP4 muxer: out of memory");
        return FALSE;
      }
      out->chapters[out->nb_chapters++] = ch;
      ch->id = i + 1;
      ch->time_base = US;
      guint k = i - lead;   /* wraps for the start chapter */
      const HvRemuxChapter *c = i >= lead ? &opts->chapters[k] : NULL;
      ch->start = ch->end = c ? MAX(c->start_us, 0) : 0;
      av_dict_set(&ch->metadata, "title", c                   ? c->title
                  : opts->start_title ? opts->start_title
                                      : HV_REMUX_START_CHAPTER, 0);
    }
  }

  /* The muxer writes the chapter track with the header: each chapter lasts
   * at least CHAPTER_MIN (one of no length is lost) and starts within the
   * media as the demuxer estimates its length (the frame left out at an
   * interruption aside): markers at the same time, or after the last frame,
   * are moved by as little as that takes. */
  if (out->nb_chapters > 0) {
    guint n = out->nb_chapters;
    for (guint i = 0; i < n; i++) {
      AVChapter *ch = out->chapters[i];
      gint64 earliest = i ? out->chapters[i - 1]->start + CHAPTER_MIN : 0;
      gint64 latest = total_us - (gint64) (n - i) * CHAPTER_MIN;
      ch->start = MAX(MIN(ch->start, latest), earliest);
    }
    for (guint i = 0; i < n; i++) {
      AVChapter *ch = out->chapters[i];
      ch->end = i + 1 < n ? out->chapters[i + 1]->start : MAX(total_us, ch->start + CHAPTER_MIN);
    }
  }

  /* the plaintext MP4 is the owner's alone, as the MPEG-TS is */
  int fd = open(mp4_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_OUTPUT, "%s: %s", mp4_name, g_strerror(errno));
    return FALSE;
  }
  close(fd);
  if ((ret = avio_open(&out->pb, out_url, AVIO_FLAG_WRITE)) < 0) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_OUTPUT, "%s: %s", mp4_name, av_error(ret, e));
    return FALSE;
  }
  g_autoptr(AVDictionary) mux_opts = NULL;
  av_dict_set(&mux_opts, "movflags", "+faststart", 0);   /* moov first: plays at once from a share */
  if ((ret = avformat_write_header(out, &mux_opts)) < 0) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_OUTPUT, "writing the MP4 header: %s", av_error(ret, e));
    return FALSE;
  }

  g_autoptr(AVPacket) pkt = av_packet_alloc();
  if (!pkt) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_OUTPUT, "MP4 muxer: out of memory");
    return FALSE;
  }
  gboolean ok = TRUE;
  gboolean wrote = FALSE;
  while (ok && (ret = av_read_frame(in, pkt)) >= 0) {
    Track *t = &tracks[pkt->stream_index];
    const AVStream *is = in->streams[pkt->stream_index];
    if (t->out_index < 0) {
      av_packet_unref(pkt);
    } else if (!t->video && !aac_frame_whole(pkt)) {
      res.audio_frames_dropped++;
      res.audio_dropped_us += av_rescale_q(packet_duration(t, pkt), is->time_base, US);
      av_packet_unref(pkt);
    } else if (t->video) {
      if (t->held) {
        ok = write_packet(out, t, is, t->held, error);
        wrote = TRUE;
      } else {
        t->held = av_packet_alloc();
        ok = t->held != NULL;
      }
      if (ok)
        av_packet_move_ref(t->held, pkt);
    } else {
      ok = write_packet(out, t, is, pkt, error);
      wrote = TRUE;
    }
  }
  if (ok && ret != AVERROR_EOF) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_INPUT, "%s: reading: %s", ts_name, av_error(ret, e));
    ok = FALSE;
  }
  for (guint i = 0; i < in->nb_streams; i++) {
    Track *t = &tracks[i];
    if (ok && t->held && t->held->size > 0) {
      if (opts->interrupted) {   /* the interruption may have cut it anywhere */
        res.video_frames_dropped++;
        res.video_dropped_us += av_rescale_q(packet_duration(t, t->held), in->streams[i]->time_base, US);
      } else {
        ok = write_packet(out, t, in->streams[i], t->held, error);
        wrote = TRUE;
      }
    }
    av_packet_free(&t->held);
  }
  if (ok && !wrote) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_INPUT, "%s: no whole frame to write", ts_name);
    ok = FALSE;
  }
  if (!ok)
    return FALSE;

  for (guint i = 0; i < in->nb_streams; i++) {
    Track *t = &tracks[i];
    if (t->out_index < 0 || t->first_pts == G_MININT64)
      continue;
    gint64 us = av_rescale_q(t->end_pts - t->first_pts, in->streams[i]->time_base, US);
    if (t->video)
      res.video_us = MAX(res.video_us, us);
    else
      res.audio_us = MAX(res.audio_us, us);
  }
  res.chapters = out->nb_chapters;
  res.chapters_given = n_given;
  if ((ret = av_write_trailer(out)) < 0) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_OUTPUT, "finishing the MP4: %s", av_error(ret, e));
    return FALSE;
  }
  if ((ret = avio_closep(&out->pb)) < 0) {
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_OUTPUT, "%s: %s", mp4_name, av_error(ret, e));
    return FALSE;
  }
  /* on the medium before export says it is there (a USB stick pulled out
   * at once); libavformat's file protocol does not sync */
  fd = open(mp4_path, O_RDONLY | O_CLOEXEC);
  if (fd < 0 || fsync(fd) < 0) {
    int en = errno;
    if (fd >= 0)
      close(fd);
    g_set_error(error, HV_REMUX_ERROR, HV_REMUX_ERROR_OUTPUT, "%s: writing it to disk: %s", mp4_name,
                g_strerror(en));
    return FALSE;
  }
  close(fd);
  if (result)
    *result = res;
  return TRUE;
}
