/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * control: the local control API. A Unix stream socket (mode 0660, group
 * from the configuration); one JSON request object per line, one JSON reply
 * per line: {"command":"status"} -> {"ok":true,...}. The peer's uid is
 * passed to the handler for the audit.
 *
 * A request is one line of at most 4095 bytes, sent within 5 s. A line that
 * is not UTF-8, not a JSON object, too long or cut short gets an error reply
 * and is passed to the refused callback (for the audit). At most
 * HV_CONTROL_MAX_CLIENTS connections wait for their request at a time; a new
 * one beyond that makes the oldest pending one be dropped with an error
 * reply, so idle connections never lock out 'haven status'. Accept failures
 * (EMFILE...) are logged at most once per 10 s and pause accepting briefly.
 * The socket gets mode 0660 and its group between bind() and listen(): the
 * process umask is never changed.
 *
 * A handler may answer later (haven start waits for the recording to begin):
 * it calls hv_control_defer() and returns NULL; the connection then stays
 * open until hv_control_pending_reply(). Clients see no difference but time.
 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

typedef struct _HvControl HvControl;

/* Returns a reply object (owned by the caller). */
typedef JsonNode *(*HvControlFunc)(JsonObject *request, const char *actor, gpointer user_data);
/* A request refused before it reached the handler; why says what was wrong. */
typedef void (*HvControlRefusedFunc)(const char *actor, const char *why, gpointer user_data);

#define HV_CONTROL_MAX_CLIENTS 16

HvControl *hv_control_new(const char *socket_path, const char *group, HvControlFunc handler,
                          HvControlRefusedFunc on_refused, gpointer user_data,
                          GError **error) G_GNUC_WARN_UNUSED_RESULT;
void hv_control_free(HvControl *c);

typedef struct _HvControlPending HvControlPending;

/* Only from inside the handler: the request being handled is answered later.
 * The handler must then return NULL. The caller owns the result and must
 * give it to hv_control_pending_reply() exactly once (also at shutdown). */
HvControlPending *hv_control_defer(HvControl *c);
/* Send reply (owned by the caller) and close the connection; frees p. */
void hv_control_pending_reply(HvControlPending *p, JsonNode *reply);

/* Reply helpers. */
JsonNode *hv_control_reply_error(const char *fmt, ...) G_GNUC_PRINTF(1, 2);

G_END_DECLS
