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

G_END_DECLS
