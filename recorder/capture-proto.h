/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * capture-proto: the messages between havend and its capture process
 * (haven-capture), over a stream socketpair. A frame is a 4-byte big-endian
 * length followed by that many bytes of a serialized GVariant of type a{sv}
 * in normal form, with a string member "type". Frames are bounded
 * (HV_CAPTURE_MSG_MAX); anything else ends the link with a MALFORMED error.
 *
 * Messages (members besides "type"):
 *   havend → capture:
 *     start     config (a{sv}, hv_capture_config_to_variant), seq (t),
 *               prev (ay, empty: first session), text (s), notes (as)
 *     event     kind (u, HvRecordType), text (s)
 *     stop      reason (s)
 *   capture → havend:
 *     started   -
 *     start-failed  code (u, HvRecorderError), message (s), active (b)
 *     health    healthy (b), why (s)
 *     fault     class (u, HvFaultClass), active (b), why (s)
 *     heartbeat bytes (t), records (t), latency (x, µs, -1 not yet), backlog (t)
 *     finished  seq (t), status (u), sealed (b), fingerprint (s), hash (ay),
 *               reason (s), bytes (t), dirs (as)
 *
 * HvCaptureLink runs one end of the socket in a GMainContext: reads and
 * parses frames as they arrive, queues writes without ever blocking (a peer
 * that stops reading cannot stall the caller; the queue is bounded too).
 */
#pragma once

#include "recorder-config.h"

G_BEGIN_DECLS

#define HV_CAPTURE_MSG_MAX   (64 * 1024)        /* payload bytes of one frame */
#define HV_CAPTURE_QUEUE_MAX (1024 * 1024)      /* unsent bytes a link holds */

#define HV_CAPTURE_PROTO_ERROR (hv_capture_proto_error_quark())
GQuark hv_capture_proto_error_quark(void);
typedef enum {
  HV_CAPTURE_PROTO_ERROR_MALFORMED,  /* a frame or message that breaks the rules above */
  HV_CAPTURE_PROTO_ERROR_IO,         /* the socket failed, or the send queue is full */
} HvCaptureProtoError;

/* ---- frames ---- */

/* A frame for msg (a{sv} with a string "type"; a floating reference is
 * sunk). NULL and MALFORMED when msg breaks the rules or is too long. */
GBytes *hv_capture_frame(GVariant *msg, GError **error) G_GNUC_WARN_UNUSED_RESULT;

typedef struct _HvCaptureReader HvCaptureReader;
HvCaptureReader *hv_capture_reader_new(void);
void hv_capture_reader_free(HvCaptureReader *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvCaptureReader, hv_capture_reader_free)
/* Append bytes read from the socket. */
void hv_capture_reader_push(HvCaptureReader *r, const guint8 *data, gsize len);
/* The next complete message: TRUE and *ret_msg (owned by the caller, NULL
 * when more bytes are needed); FALSE and MALFORMED for a frame of length 0
 * or above HV_CAPTURE_MSG_MAX, a payload that is not a normal-form a{sv}, or
 * one without a string "type". After an error the reader stays failed. */
gboolean hv_capture_reader_next(HvCaptureReader *r, GVariant **ret_msg, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* The "type" member of a parsed message (borrowed from msg). */
const char *hv_capture_msg_type(GVariant *msg);
/* A new message: type plus the name/value pairs (const char *, GVariant *)
 * that follow, NULL-terminated; floating values are sunk. Floating result. */
GVariant *hv_capture_msg_new(const char *type, ...) G_GNUC_NULL_TERMINATED;

/* ---- the recorder configuration, carried by "start" ---- */

GVariant *hv_capture_config_to_variant(const HvRecorderConfig *cfg);
/* Fill ret_cfg (initialised here; clear it with hv_recorder_config_clear
 * even on error) from v; MALFORMED names the first missing or mistyped
 * member; the result is also checked with hv_recorder_config_validate. */
gboolean hv_capture_config_from_variant(GVariant *v, HvRecorderConfig *ret_cfg, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

/* ---- one end of the socket ---- */

typedef struct _HvCaptureLink HvCaptureLink;
typedef struct {
  /* one parsed message; msg is borrowed */
  void (*on_message)(HvCaptureLink *link, const char *type, GVariant *msg, gpointer user_data);
  /* the peer closed the socket or died (error NULL: end of file, or the
   * socket reset, EPIPE/ECONNRESET), or broke the protocol or the socket
   * failed otherwise (error set); nothing more is read after this */
  void (*on_closed)(HvCaptureLink *link, const GError *error, gpointer user_data);
} HvCaptureLinkCallbacks;

/* Takes ownership of fd (made non-blocking) and watches it in the thread-
 * default main context. */
HvCaptureLink *hv_capture_link_new(int fd, const HvCaptureLinkCallbacks *cb, gpointer user_data);
void hv_capture_link_free(HvCaptureLink *link);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvCaptureLink, hv_capture_link_free)
/* Queue msg (floating reference sunk) and write what the socket takes now.
 * IO when the link is closed or the queue would exceed HV_CAPTURE_QUEUE_MAX. */
gboolean hv_capture_link_send(HvCaptureLink *link, GVariant *msg, GError **error) G_GNUC_WARN_UNUSED_RESULT;
/* Read and dispatch, now, every message already in the socket: the peer's
 * last words before its exit is handled (messages arrive in the order sent,
 * but a process's exit can be seen before its socket is read). */
void hv_capture_link_read_pending(HvCaptureLink *link);
/* Write the queue out, waiting at most timeout_ms for the socket (used by
 * a process about to exit). TRUE when everything was written. */
gboolean hv_capture_link_flush(HvCaptureLink *link, int timeout_ms);

G_END_DECLS
