// SPDX-License-Identifier: GPL-2.0-or-later
/* haven: the custodian and technician command line. */
#include "cli.h"

#include <locale.h>
#include <sodium.h>
#include <string.h>

static const struct {
  const char   *name;
  HvCommandFunc run;
  const char   *summary;
} commands[] = {
  { "keygen",  hv_cmd_keygen,  "create a custodian key pair (recipient + identity)" },
  { "verify",  hv_cmd_verify,  "verify sessions without any decryption key" },
  { "info",    hv_cmd_info,    "show what a session holds, without any key" },
  { "export",  hv_cmd_export,  "verify, decrypt and export a session for court" },
  { "verify-clip", hv_cmd_verify_clip, "re-derive a clip (export --from/--until) from its sealed session" },
  { "recover", hv_cmd_recover, "seal sessions left open by a crash (device key needed)" },
  { "status",  hv_cmd_status,  "show the running havend's state, lights and last session" },
  { "start",   hv_cmd_start,   "start recording and wait until it records (like a short press)" },
  { "stop",    hv_cmd_stop,    "stop recording and wait for the seal (like a hold)" },
  { "mark",    hv_cmd_mark,    "add a marker to the session being recorded" },
  { "sim",     hv_cmd_sim,     "press/release buttons and read lights of a simulated board" },
  { "catalog", hv_cmd_catalog, "list, show and index sessions in a catalog (havend's or an archive's)" },
  { "flash",   hv_cmd_flash,   "write a board image to a card and read it back (bmap)" },
  { "custody", hv_cmd_custody, "show, verify or add signed custody events; verify a signed report" },
  { "provision", hv_cmd_provision, "write a board's config partition: room, board, custodians" },
  { "enroll",  hv_cmd_enroll,  "trust a board from its enrollment file; verify/export then pin it" },
  { "audit",   hv_cmd_audit,   "show the audit log of havend's catalog (who started, stopped, marked)" },
  { "key",     hv_cmd_key,     "show the type and key id of a key file (key info FILE)" },
};

static void
usage(FILE *out)
{
  fprintf(out, "Usage: haven COMMAND [OPTION...]\n\nCommands:\n");
  for (guint i = 0; i < G_N_ELEMENTS(commands); i++)
    fprintf(out, "  %-11s %s\n", commands[i].name, commands[i].summary);
  fprintf(out, "\nRun 'haven COMMAND --help' for a command's options.\n"
               "Exit status: 0 intact (verify, info, export), re-derived (verify-clip) or done /\n"
               "already so (start, stop, mark, status), 1 integrity failure (verify, info, export,\n"
               "verify-clip, recover), 2 usage or I/O error (also: havend unreachable), 3 refused\n"
               "by havend or failed (start, stop, mark; the reason on stderr), 4 export wrote the\n"
               "original and the report but not the MP4 (the remux failed). flash: see 'haven flash --help'.\n");
}

int
main(int argc, char **argv)
{
  setlocale(LC_ALL, "");
  if (sodium_init() < 0) {
    g_printerr("haven: libsodium failed to initialise\n");
    return HV_EXIT_USAGE;
  }
  if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
    usage(argc < 2 ? stderr : stdout);
    return argc < 2 ? HV_EXIT_USAGE : HV_EXIT_OK;
  }
  if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
    printf("haven %s\n", HAVEN_VERSION);
    return HV_EXIT_OK;
  }
  for (guint i = 0; i < G_N_ELEMENTS(commands); i++) {
    if (strcmp(argv[1], commands[i].name) == 0) {
      g_autofree char *prg = g_strdup_printf("haven %s", commands[i].name);
      g_set_prgname(prg);
      return commands[i].run(argc - 1, argv + 1);
    }
  }
  g_printerr("haven: unknown command '%s'\n\n", argv[1]);
  usage(stderr);
  return HV_EXIT_USAGE;
}
