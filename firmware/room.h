/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * room: the room havend last started in, kept in state-dir/room (UTF-8 text,
 * written atomically). Re-provisioning the config partition with another
 * [device] room is not a new identity (same key, same ledger) but it is an
 * audited event: at start havend compares the configured room with the one
 * recorded here and, when they differ, journals and audits the change
 * (MESSAGE_ID HV_MSGID_ROOM) before recording the new one.
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define HV_ROOM_FILE "room"

#define HV_ROOM_ERROR (hv_room_error_quark())
GQuark hv_room_error_quark(void);
typedef enum { HV_ROOM_ERROR_IO } HvRoomError;

/* Compare room with the one recorded in state_dir and record room.
 * *ret_previous: the recorded room when it differs (the caller audits the
 * change), NULL when it is the same or none was recorded yet (a first start:
 * *ret_first is then TRUE). On error nothing is changed. */
gboolean hv_room_record(const char *state_dir, const char *room, char **ret_previous, gboolean *ret_first,
                        GError **error) G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
