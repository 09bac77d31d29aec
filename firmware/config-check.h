/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config-check: what `havend --check-config` checks beyond the files' own
 * syntax, everything a start would meet: the board's GPIO chip and lines and
 * pins used twice, the storage roots and state directory (directories the
 * service user can write), the control group, and the device key and
 * recipient files (present and readable by the service user). Every problem
 * is reported, not only the first.
 */
#pragma once

#include "config.h"
#include "gpio.h"
#include "service-user.h"

G_BEGIN_DECLS

/* Append every problem found (char *, one line naming file, group and key or
 * the path concerned) to problems. board may be NULL (its file did not
 * load); the access checks run as user (see hv_service_user_run). Changes
 * nothing on disk. */
void hv_config_check_system(const HvConfig *cfg, const HvBoard *board, const char *board_path,
                            const HvServiceUser *user, GPtrArray *problems);

G_END_DECLS
