/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * ts-remux: MPEG-TS (H.264 + AAC) to MP4 with GStreamer, without
 * re-encoding. Used by export on the custodian's machine.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean hv_ts_remux_to_mp4(const char *ts_path, const char *mp4_path, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* The same remux fed as the stream is produced (export decrypts into it), so
 * that it runs beside decryption rather than after it. Memory is bounded:
 * hv_remux_push blocks while the remux is REMUX_AHEAD bytes behind. */
typedef struct _HvRemux HvRemux;
HvRemux *hv_remux_new(const char *mp4_path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* The next bytes of the MPEG-TS stream. FALSE once the remux has failed or
 * made no progress for a while (then nothing more is taken; the error comes
 * from hv_remux_finish). */
gboolean hv_remux_push(HvRemux *r, const guint8 *data, gsize len);
/* End of the stream: wait until the MP4 is complete; FALSE with the error
 * that stopped it. */
gboolean hv_remux_finish(HvRemux *r, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Stops the pipeline if it still runs (the MP4 is then incomplete). */
void hv_remux_free(HvRemux *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvRemux, hv_remux_free)

G_END_DECLS
