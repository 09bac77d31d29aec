/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * config: /etc/haven/haven.conf (GKeyFile) into a typed struct, then
 * validated. Unknown groups and keys are errors naming file, group and key.
 */
#pragma once

#include "recorder-config.h"

G_BEGIN_DECLS

typedef struct {
  char            *path;
  char            *board_path;
  char            *device_key_path;
  char            *state_dir;
  char            *control_socket;
  char            *control_group;     /* NULL: the daemon's primary group */
  char            *catalog_path;
  guint            hold_to_stop_ms;
  char           **recipient_paths;
  HvRecorderConfig rec;
} HvConfig;

#define HV_CONFIG_ERROR (hv_config_error_quark())
GQuark hv_config_error_quark(void);
typedef enum { HV_CONFIG_ERROR_INVALID } HvConfigError;

HvConfig *hv_config_load(const char *path, GError **error) G_GNUC_WARN_UNUSED_RESULT;
void      hv_config_free(HvConfig *c);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvConfig, hv_config_free)

G_END_DECLS
