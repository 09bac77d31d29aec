// SPDX-License-Identifier: GPL-2.0-or-later
#include "ts-clip.h"

#include <string.h>

G_DEFINE_QUARK(hv-ts-clip-error-quark, hv_ts_clip_error)

#define PTS_WRAP (G_GINT64_CONSTANT(1) << 33)
#define NO_PID   0xffff

typedef struct {
  guint64 offset;
  gint64  time_us;
  gint64  pat, pmt;   /* the last PAT and PMT packets before it; -1: none */
} Keyframe;

struct HvTsScan {
  guint8   pkt[HV_TS_PACKET];
  gsize    have;          /* bytes of pkt filled */
  guint64  fed;           /* bytes fed */
  gboolean broken;        /* a packet without its sync byte: nothing after it is used */
  guint64  broken_at;
  guint16  pmt_pid, video_pid;
  gint64   last_pat, last_pmt;
  gboolean have_pts0;
  gint64   pts0;
  gint64   last_us;
  GArray  *keyframes;     /* of Keyframe */
};

guint64
hv_ts_cut_length(const HvTsCut *cut)
{
  return cut->end - cut->start + (cut->pat >= 0 ? HV_TS_PACKET : 0) + (cut->pmt >= 0 ? HV_TS_PACKET : 0);
}

HvTsScan *
hv_ts_scan_new(void)
{
  HvTsScan *s = g_new0(HvTsScan, 1);
  s->pmt_pid = s->video_pid = NO_PID;
  s->last_pat = s->last_pmt = -1;
  s->last_us = -1;
  s->keyframes = g_array_new(FALSE, FALSE, sizeof(Keyframe));
  return s;
}

void
hv_ts_scan_free(HvTsScan *s)
{
  if (!s)
    return;
  g_array_unref(s->keyframes);
  g_free(s);
}

guint64
hv_ts_scan_bytes(const HvTsScan *s)
{
  return s->fed;
}

guint64
hv_ts_scan_whole(const HvTsScan *s)
{
  return s->broken ? s->broken_at : s->fed - s->fed % HV_TS_PACKET;
}

guint
hv_ts_scan_keyframes(const HvTsScan *s)
{
  return s->keyframes->len;
}

gint64
hv_ts_scan_last_us(const HvTsScan *s)
{
  return s->last_us;
}

/* The PSI section a packet's payload starts (after its pointer field), or
 * NULL; *len: the bytes of it in this packet. */
static const guint8 *
section(const guint8 *pl, gsize pl_len, gsize *len)
{
  if (pl_len < 1 || (gsize) pl[0] + 1 + 3 > pl_len)
    return NULL;
  const guint8 *sec = pl + 1 + pl[0];
  gsize avail = pl_len - 1 - pl[0];
  gsize slen = 3 + ((((gsize) sec[1] & 0x0f) << 8) | sec[2]);
  if (slen > avail || slen < 12)
    return NULL;   /* a table over several packets: not the recorder's */
  *len = slen;
  return sec;
}

static void
on_pat(HvTsScan *s, const guint8 *pl, gsize pl_len)
{
  gsize len;
  const guint8 *sec = section(pl, pl_len, &len);
  if (!sec || sec[0] != 0x00)
    return;
  for (gsize i = 8; i + 4 <= len - 4; i += 4) {
    guint16 program = (guint16) ((sec[i] << 8) | sec[i + 1]);
    if (program != 0) {
      s->pmt_pid = (guint16) (((sec[i + 2] & 0x1f) << 8) | sec[i + 3]);
      return;
    }
  }
}

static void
on_pmt(HvTsScan *s, const guint8 *pl, gsize pl_len)
{
  gsize len;
  const guint8 *sec = section(pl, pl_len, &len);
  if (!sec || sec[0] != 0x02)
    return;
  gsize i = 12 + ((((gsize) sec[10] & 0x0f) << 8) | sec[11]);
  while (i + 5 <= len - 4) {
    if (sec[i] == 0x1b) {
      s->video_pid = (guint16) (((sec[i + 1] & 0x1f) << 8) | sec[i + 2]);
      return;
    }
    i += 5 + ((((gsize) sec[i + 3] & 0x0f) << 8) | sec[i + 4]);
  }
}

/* Is there an H.264 NAL unit of type 5 (IDR) or 7 (SPS) starting in es? */
static gboolean
has_idr(const guint8 *es, gsize len)
{
  for (gsize i = 0; i + 3 < len; i++) {
    if (es[i] == 0 && es[i + 1] == 0 && es[i + 2] == 1) {
      guint t = es[i + 3] & 0x1f;
      if (t == 5 || t == 7)
        return TRUE;
      i += 2;
    }
  }
  return FALSE;
}

static void
on_video_start(HvTsScan *s, guint64 offset, gboolean rai, const guint8 *pl, gsize pl_len)
{
  if (pl_len < 9 || pl[0] != 0 || pl[1] != 0 || pl[2] != 1)
    return;
  gsize es = 9 + (gsize) pl[8];
  if (!(pl[7] & 0x80) || es > pl_len || pl_len < 14)
    return;   /* no PTS */
  gint64 pts = ((gint64) ((pl[9] >> 1) & 7) << 30) | ((gint64) pl[10] << 22) | ((gint64) (pl[11] >> 1) << 15)
               | ((gint64) pl[12] << 7) | (pl[13] >> 1);
  if (!s->have_pts0) {
    s->have_pts0 = TRUE;
    s->pts0 = pts;
  }
  gint64 t = ((pts - s->pts0) % PTS_WRAP + PTS_WRAP) % PTS_WRAP * 100 / 9;
  s->last_us = MAX(s->last_us, t);
  if (rai || has_idr(pl + es, pl_len - es)) {
    Keyframe k = { .offset = offset, .time_us = t, .pat = s->last_pat, .pmt = s->last_pmt };
    g_array_append_val(s->keyframes, k);
  }
}

static void
on_packet(HvTsScan *s, const guint8 *p, guint64 offset)
{
  if (p[0] != 0x47) {
    s->broken = TRUE;
    s->broken_at = offset;
    return;
  }
  gboolean pusi = (p[1] & 0x40) != 0;
  guint16 pid = (guint16) (((p[1] & 0x1f) << 8) | p[2]);
  guint afc = (p[3] >> 4) & 3;
  gsize pl = 4;
  gboolean rai = FALSE;
  if (afc & 2) {
    gsize af = p[4];
    rai = af > 0 && (p[5] & 0x40);
    pl = 5 + af;
  }
  if (!(afc & 1) || pl >= HV_TS_PACKET || !pusi)
    return;
  if (pid == 0) {
    s->last_pat = (gint64) offset;
    on_pat(s, p + pl, HV_TS_PACKET - pl);
  } else if (pid == s->pmt_pid) {
    s->last_pmt = (gint64) offset;
    on_pmt(s, p + pl, HV_TS_PACKET - pl);
  } else if (pid == s->video_pid) {
    on_video_start(s, offset, rai, p + pl, HV_TS_PACKET - pl);
  }
}

void
hv_ts_scan_feed(HvTsScan *s, const guint8 *data, gsize len)
{
  while (len > 0 && !s->broken) {
    gsize n = MIN(len, HV_TS_PACKET - s->have);
    memcpy(s->pkt + s->have, data, n);
    s->have += n;
    s->fed += n;
    data += n;
    len -= n;
    if (s->have == HV_TS_PACKET) {
      on_packet(s, s->pkt, s->fed - HV_TS_PACKET);
      s->have = 0;
    }
  }
  if (s->broken)
    s->fed += len;
}

static char *
us_text(gint64 us)
{
  return g_strdup_printf("%" G_GINT64_FORMAT ".%06" G_GINT64_FORMAT " s", us / G_USEC_PER_SEC,
                         us % G_USEC_PER_SEC);
}

gboolean
hv_ts_scan_cut(const HvTsScan *s, gint64 from_us, gint64 to_us, HvTsCut *cut, GError **error)
{
  GArray *k = s->keyframes;
  if (k->len == 0) {
    if (s->broken)
      g_set_error(error, HV_TS_CLIP_ERROR, HV_TS_CLIP_ERROR_STREAM, "no H.264 keyframe before offset %"
                  G_GUINT64_FORMAT ", which is not an MPEG-TS packet", s->broken_at);
    else
      g_set_error(error, HV_TS_CLIP_ERROR, HV_TS_CLIP_ERROR_STREAM, "the stream has no H.264 keyframe");
    return FALSE;
  }
  if (from_us < 0 || to_us <= from_us) {
    g_autofree char *f = us_text(from_us), *t = us_text(to_us);
    g_set_error(error, HV_TS_CLIP_ERROR, HV_TS_CLIP_ERROR_RANGE, "the clip from %s to %s is empty: its end "
                "(--until) must be after its start (--from)", f, t);
    return FALSE;
  }
  if (from_us > s->last_us) {
    g_autofree char *f = us_text(from_us), *l = us_text(s->last_us);
    g_set_error(error, HV_TS_CLIP_ERROR, HV_TS_CLIP_ERROR_RANGE,
                "the clip starts at %s, after the recording's last frame (%s): "
                "'haven info SESSION' gives the recording's duration and its markers", f, l);
    return FALSE;
  }
  guint first = 0;
  for (guint i = 0; i < k->len; i++)
    if (g_array_index(k, Keyframe, i).time_us <= from_us)
      first = i;
  const Keyframe *a = &g_array_index(k, Keyframe, first);
  HvTsCut c = { .start = a->offset, .end = hv_ts_scan_whole(s), .pat = a->pat, .pmt = a->pmt,
                .start_us = a->time_us, .end_us = -1 };
  for (guint i = first + 1; i < k->len; i++) {
    const Keyframe *b = &g_array_index(k, Keyframe, i);
    if (b->time_us >= to_us) {
      c.end = b->offset;
      c.end_us = b->time_us;
      break;
    }
  }
  *cut = c;
  return TRUE;
}

/* ---- extraction ---- */

struct HvTsExtract {
  HvTsCut      cut;
  HvTsClipSink sink;
  gpointer     user_data;
  guint64      at;                     /* stream offset of the next byte fed */
  guint8       tables[2 * HV_TS_PACKET];
  gsize        have_pat, have_pmt;     /* bytes of each table packet kept */
  gboolean     tables_sent;
};

HvTsExtract *
hv_ts_extract_new(const HvTsCut *cut, HvTsClipSink sink, gpointer user_data)
{
  HvTsExtract *x = g_new0(HvTsExtract, 1);
  x->cut = *cut;
  x->sink = sink;
  x->user_data = user_data;
  return x;
}

void
hv_ts_extract_free(HvTsExtract *x)
{
  g_free(x);
}

/* Keep the bytes of [data, data + len) (at stream offset at) that fall in
 * the packet at table_off. */
static void
keep(const guint8 *data, gsize len, guint64 at, gint64 table_off, guint8 *dst, gsize *have)
{
  if (table_off < 0)
    return;
  guint64 lo = MAX(at, (guint64) table_off), hi = MIN(at + len, (guint64) table_off + HV_TS_PACKET);
  if (lo < hi) {
    memcpy(dst + (lo - (guint64) table_off), data + (lo - at), hi - lo);
    *have += hi - lo;
  }
}

gboolean
hv_ts_extract_feed(HvTsExtract *x, const guint8 *data, gsize len, GError **error)
{
  const HvTsCut *c = &x->cut;
  keep(data, len, x->at, c->pat, x->tables, &x->have_pat);
  keep(data, len, x->at, c->pmt, x->tables + HV_TS_PACKET, &x->have_pmt);
  guint64 lo = MAX(x->at, c->start), hi = MIN(x->at + len, c->end);
  x->at += len;
  if (lo >= hi)
    return TRUE;
  if (!x->tables_sent) {
    x->tables_sent = TRUE;
    /* both before start: whole by now */
    if (c->pat >= 0 && !x->sink(x->tables, HV_TS_PACKET, x->user_data, error))
      return FALSE;
    if (c->pmt >= 0 && !x->sink(x->tables + HV_TS_PACKET, HV_TS_PACKET, x->user_data, error))
      return FALSE;
  }
  return x->sink(data + (lo - (x->at - len)), hi - lo, x->user_data, error);
}

gboolean
hv_ts_extract_finish(HvTsExtract *x, GError **error)
{
  if (x->at < x->cut.end) {
    g_set_error(error, HV_TS_CLIP_ERROR, HV_TS_CLIP_ERROR_SHORT,
                "the stream is %" G_GUINT64_FORMAT " bytes, the clip ends at byte %" G_GUINT64_FORMAT, x->at,
                x->cut.end);
    return FALSE;
  }
  return TRUE;
}
