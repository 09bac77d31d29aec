// SPDX-License-Identifier: GPL-2.0-or-later
#include "machine.h"

const char *
hv_state_name(HvState s)
{
  static const char *n[] = { "IDLE", "STARTING", "RECORDING", "STOPPING", "FAULT" };
  return s < G_N_ELEMENTS(n) ? n[s] : "?";
}

const char *
hv_input_name(HvInput in)
{
  static const char *n[] = { "press", "hold", "start request", "stop request", "start failed", "healthy",
                             "finished", "finished by fault", "fault", "fault cleared" };
  return in < G_N_ELEMENTS(n) ? n[in] : "?";
}

HvState
hv_machine_next(HvState s, HvInput in, HvAction *ret_action)
{
  HvAction a = HV_ACTION_NONE;
  HvState next = s;
  switch (s) {
  case HV_STATE_IDLE:
  case HV_STATE_FAULT:
    if (in == HV_INPUT_PRESS || in == HV_INPUT_START_REQUEST) {
      next = HV_STATE_STARTING;
      a = HV_ACTION_START;
    } else if (in == HV_INPUT_FAULT) {
      next = HV_STATE_FAULT;
    } else if (in == HV_INPUT_FAULT_CLEARED) {
      next = HV_STATE_IDLE;
    } else {
      a = HV_ACTION_IGNORED; /* a hold too: it must not leave a throwaway session */
    }
    break;
  case HV_STATE_STARTING:
    if (in == HV_INPUT_HEALTHY) {
      next = HV_STATE_RECORDING;
    } else if (in == HV_INPUT_START_FAILED || in == HV_INPUT_FINISHED_FAULT) {
      next = HV_STATE_FAULT;
    } else if (in == HV_INPUT_HOLD || in == HV_INPUT_STOP_REQUEST) {
      next = HV_STATE_STOPPING;
      a = HV_ACTION_STOP;
    } else if (in == HV_INPUT_FINISHED) {
      next = HV_STATE_IDLE;
    } else if (in == HV_INPUT_PRESS || in == HV_INPUT_START_REQUEST) {
      a = HV_ACTION_IGNORED;
    }
    break;
  case HV_STATE_RECORDING:
    if (in == HV_INPUT_HOLD || in == HV_INPUT_STOP_REQUEST) {
      next = HV_STATE_STOPPING;
      a = HV_ACTION_STOP;
    } else if (in == HV_INPUT_FINISHED_FAULT) {
      next = HV_STATE_FAULT;
    } else if (in == HV_INPUT_FINISHED) {
      next = HV_STATE_IDLE;
    } else if (in == HV_INPUT_PRESS || in == HV_INPUT_START_REQUEST) {
      a = HV_ACTION_IGNORED;
    }
    break;
  case HV_STATE_STOPPING:
    if (in == HV_INPUT_FINISHED)
      next = HV_STATE_IDLE;
    else if (in == HV_INPUT_FINISHED_FAULT)
      next = HV_STATE_FAULT;
    else if (in == HV_INPUT_PRESS || in == HV_INPUT_HOLD || in == HV_INPUT_START_REQUEST ||
             in == HV_INPUT_STOP_REQUEST)
      a = HV_ACTION_IGNORED;
    break;
  }
  *ret_action = a;
  return next;
}
