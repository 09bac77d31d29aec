// SPDX-License-Identifier: GPL-2.0-or-later
/* haven provision TARGET: write a board's config partition (HAVENCFG). */
#include "cli.h"
#include "config.h"
#include "enrollment.h"
#include "vault/vault.h"

#include <errno.h>
#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#define LABEL "HAVENCFG"
/* The board's paths (shared interface 4): the partition is /etc/haven. */
#define BOARD_CONFIG_DIR "/etc/haven"
#define BOARD_BOARDS_DIR "/usr/share/haven/boards"

static const char *const BOARDS[] = { "rpi4", "rpi5", "sim", NULL };
/* What a config partition holds; anything else in a directory TARGET needs --force. */
static const char *const OURS[] = { "haven.conf", "haven.conf.previous", "README.txt", "enrollment.conf",
                                    "recipients", "System Volume Information", NULL };

static const char README[] =
  "This is the configuration partition (label " LABEL ") of a Haven interview-room recorder. The board\n"
  "mounts it at /etc/haven: haven.conf is havend's configuration (room, board, storage, custodians) and\n"
  "recipients/ holds the custodians' public recipient keys that every recording is encrypted to. It was\n"
  "written by 'haven provision'; re-run that command to change the room or the custodians (the previous\n"
  "haven.conf is kept as haven.conf.previous). It holds no secret.\n"
  "\n"
  "At its first boot the board creates its device signing key (which never leaves it) and writes\n"
  "enrollment.conf here: the device's id and public key, room and versions, signed with that key. Give\n"
  "that file to the custodians: 'haven enroll enrollment.conf' makes 'haven verify' and 'haven export'\n"
  "pin the recordings of this device to its key. Provisioning again keeps enrollment.conf.\n";

typedef struct {
  char    *room;
  char    *board;
  char   **recipients;
  char    *source;
  gboolean force;
} Options;

static void
rm_tree(const char *path)
{
  if (g_file_test(path, G_FILE_TEST_IS_DIR) && !g_file_test(path, G_FILE_TEST_IS_SYMLINK)) {
    g_autoptr(GDir) d = g_dir_open(path, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
      g_autofree char *c = g_build_filename(path, n, NULL);
      rm_tree(c);
    }
  }
  (void) g_remove(path);
}

/* A private temporary directory, removed with everything in it. */
typedef struct {
  char *path;
} TmpDir;

static void
tmp_dir_clear(TmpDir *t)
{
  if (t->path)
    rm_tree(t->path);
  g_clear_pointer(&t->path, g_free);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(TmpDir, tmp_dir_clear)

/* haven.conf for the board; recipients_dir is where the recipient files are
 * (BOARD_CONFIG_DIR/recipients on the board; the staged copies to check). */
static char *
config_text(const Options *o, GPtrArray *names, const char *recipients_dir)
{
  g_autoptr(GKeyFile) kf = g_key_file_new();
  g_autofree char *board = g_strdup_printf(BOARD_BOARDS_DIR "/%s.board", o->board);
  g_key_file_set_string(kf, "device", "room", o->room);
  g_key_file_set_string(kf, "device", "board", board);
  g_key_file_set_string(kf, "device", "key", "/var/lib/haven/device.key");
  g_key_file_set_string(kf, "device", "state-dir", "/var/lib/haven");
  g_key_file_set_string(kf, "storage", "roots", "/srv/haven");
  g_autoptr(GPtrArray) paths = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < names->len; i++)
    g_ptr_array_add(paths, g_build_filename(recipients_dir, names->pdata[i], NULL));
  g_key_file_set_string_list(kf, "custodians", "recipients", (const char *const *) paths->pdata, paths->len);
  if (o->source) {
    g_key_file_set_string(kf, "video", "camera1", "test");
    g_key_file_set_string(kf, "audio", "microphone", "test");
  }
  g_autoptr(GDateTime) now = g_date_time_new_now_utc();
  g_autofree char *when = g_date_time_format(now, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *comment = g_strdup_printf(" Written by haven provision %s at %s; 'haven provision' rewrites it "
                                             "(the previous one is kept as haven.conf.previous).",
                                             HAVEN_VERSION, when);
  (void) g_key_file_set_comment(kf, NULL, NULL, comment, NULL);
  return g_key_file_to_data(kf, NULL, NULL);
}

/* What the previous haven.conf said (NULLs when there is none or it does not parse). */
typedef struct {
  char  *room;
  char  *board;
  char **recipients; /* basenames */
} Previous;

static void
previous_clear(Previous *p)
{
  g_free(p->room);
  g_free(p->board);
  g_strfreev(p->recipients);
  memset(p, 0, sizeof *p);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Previous, previous_clear)

static void
read_previous(const char *path, Previous *p)
{
  g_autoptr(GKeyFile) kf = g_key_file_new();
  if (!g_key_file_load_from_file(kf, path, G_KEY_FILE_NONE, NULL))
    return;
  p->room = g_key_file_get_string(kf, "device", "room", NULL);
  g_autofree char *board = g_key_file_get_string(kf, "device", "board", NULL);
  if (board) {
    g_autofree char *base = g_path_get_basename(board);
    p->board = g_str_has_suffix(base, ".board") ? g_strndup(base, strlen(base) - 6) : g_strdup(base);
  }
  g_auto(GStrv) recips = g_key_file_get_string_list(kf, "custodians", "recipients", NULL, NULL);
  g_autoptr(GStrvBuilder) b = g_strv_builder_new();
  for (guint i = 0; recips && recips[i]; i++)
  {
    g_autofree char *base = g_path_get_basename(recips[i]);
    g_strv_builder_add(b, base);
  }
  p->recipients = g_strv_builder_end(b);
}

static gboolean
write_file(const char *dir, const char *name, const void *data, gsize len)
{
  g_autoptr(GError) err = NULL;
  if (!hv_file_write_atomic(dir, name, data, len, 0644, &err)) {
    hv_cli_error("provision", "%s", err->message);
    return FALSE;
  }
  return TRUE;
}

/* Every check before anything is written: the recipients load (a secret
 * identity file is refused), and the haven.conf havend will read passes the
 * same validation as havend --check-config, its recipients read from staged
 * copies. names gets the recipients' file names. */
static gboolean
check(const Options *o, const char *stage, GPtrArray *names)
{
  if (!o->room || !*o->room) {
    hv_cli_error("provision", "--room is missing: the room's name (it is in every recording's header)");
    return FALSE;
  }
  if (!o->board || !g_strv_contains(BOARDS, o->board)) {
    hv_cli_error("provision", "--board %s: must be rpi4, rpi5 or sim (the QEMU virt image)",
                 o->board ? o->board : "is missing:");
    return FALSE;
  }
  if (o->source && !g_str_equal(o->source, "test")) {
    hv_cli_error("provision", "--source %s: only 'test' (test patterns instead of camera and microphone)", o->source);
    return FALSE;
  }
  if (!o->recipients || !o->recipients[0]) {
    hv_cli_error("provision", "no --recipient given: at least one custodian's recipient file (haven keygen, "
                 "PREFIX.pub)");
    return FALSE;
  }
  g_autofree char *rdir = g_build_filename(stage, "recipients", NULL);
  if (g_mkdir(rdir, 0700) < 0) {
    hv_cli_error("provision", "%s: %s", rdir, g_strerror(errno));
    return FALSE;
  }
  for (guint i = 0; o->recipients[i]; i++) {
    g_autoptr(GError) err = NULL;
    guint8 pk[HV_RECIPIENT_PK_SIZE];
    if (!hv_recipient_load(o->recipients[i], pk, &err)) {
      hv_cli_error("provision", "--recipient %s: %s; nothing was written", o->recipients[i], err->message);
      return FALSE;
    }
    g_autofree char *name = g_path_get_basename(o->recipients[i]);
    if (!g_str_has_suffix(name, ".pub")) {
      char *with = g_strconcat(name, ".pub", NULL);
      g_free(name);
      name = with;
    }
    /* the partition is vfat: a name it cannot hold would fail (or be
     * mangled by mtools) after the checks, leaving haven.conf naming a file
     * the board does not have */
    gboolean fat_ok = g_utf8_validate(name, -1, NULL) && name[0] != '.' && !strpbrk(name, "\"*/:<>?\\|");
    for (const char *p = name; fat_ok && *p; p++)
      fat_ok = (guchar) *p >= 0x20 && *p != 0x7f;
    if (!fat_ok) {
      g_autofree char *shown = hv_text_escape(o->recipients[i], -1);
      hv_cli_error("provision", "--recipient %s: the config partition is FAT, which cannot hold this file name "
                   "(control characters, \" * / : < > ? \\ |, a leading dot or invalid UTF-8): copy the file "
                   "to a plain name such as custodian-1.pub; nothing was written", shown);
      return FALSE;
    }
    for (guint k = 0; k < names->len; k++) {
      if (g_ascii_strcasecmp(names->pdata[k], name) == 0) { /* vfat: case-insensitive */
        hv_cli_error("provision", "--recipient %s: a recipient named %s is given twice (rename one file); nothing "
                     "was written", o->recipients[i], name);
        return FALSE;
      }
    }
    g_autoptr(GBytes) bytes = hv_file_read_bounded(o->recipients[i], 4096, &err);
    if (!bytes) {
      hv_cli_error("provision", "--recipient %s: %s", o->recipients[i], err->message);
      return FALSE;
    }
    gsize n;
    const char *data = g_bytes_get_data(bytes, &n);
    if (!write_file(rdir, name, data, n))
      return FALSE;
    g_ptr_array_add(names, g_steal_pointer(&name));
  }
  g_autofree char *text = config_text(o, names, rdir);
  g_autofree char *conf = g_build_filename(stage, "haven.conf", NULL);
  if (!g_file_set_contents(conf, text, -1, NULL)) {
    hv_cli_error("provision", "%s cannot be written", conf);
    return FALSE;
  }
  g_autoptr(GPtrArray) problems = g_ptr_array_new_with_free_func(g_free);
  g_autoptr(HvConfig) cfg = hv_config_load_all(conf, problems);
  if (!cfg || problems->len) {
    for (guint i = 0; i < problems->len; i++)
      hv_cli_error("provision", "the haven.conf it would write fails havend's check: %s",
                   (const char *) problems->pdata[i]);
    if (!cfg)
      hv_cli_error("provision", "the haven.conf it would write does not parse");
    return FALSE;
  }
  return TRUE;
}

static void
report_changes(const Previous *prev, const Options *o, GPtrArray *names)
{
  g_autofree char *room = hv_text_escape(o->room, -1);
  if (prev->room && !g_str_equal(prev->room, o->room)) {
    g_autofree char *old = hv_text_escape(prev->room, -1);
    printf("room changed from \"%s\" to \"%s\": the board keeps its key and ledger and audits the change at its "
           "next start; the custodians' trust lists keep the old room until they enroll a new enrollment file: "
           "delete enrollment.conf from this partition and the board writes a new one, same key, at its next "
           "boot\n", old, room);
  }
  if (prev->board && !g_str_equal(prev->board, o->board))
    printf("board changed from %s to %s\n", prev->board, o->board);
  if (prev->recipients) {
    for (guint i = 0; i < names->len; i++)
      if (!g_strv_contains((const char *const *) prev->recipients, names->pdata[i]))
        printf("recipient added: %s\n", (const char *) names->pdata[i]);
    for (guint i = 0; prev->recipients[i]; i++) {
      gboolean kept = FALSE;
      for (guint k = 0; k < names->len; k++)
        kept |= g_str_equal(prev->recipients[i], names->pdata[k]);
      if (!kept)
        printf("recipient removed: %s (new recordings are no longer encrypted to it)\n", prev->recipients[i]);
    }
  }
}

/* Provision the config partition mounted (or staged) at dir. */
static gboolean
provision_dir(const char *dir, const Options *o, const char *target)
{
  g_auto(TmpDir) stage = { g_dir_make_tmp("haven-provision-XXXXXX", NULL) };
  if (!stage.path) {
    hv_cli_error("provision", "cannot make a temporary directory: %s", g_strerror(errno));
    return FALSE;
  }
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func(g_free);
  if (!check(o, stage.path, names))
    return FALSE;
  if (!o->force) {
    g_autoptr(GDir) d = g_dir_open(dir, 0, NULL);
    const char *n;
    while (d && (n = g_dir_read_name(d))) {
      if (!g_strv_contains(OURS, n)) {
        hv_cli_error("provision", "%s holds %s, which is not part of a config partition: is it the mounted "
                     LABEL " partition? (--force writes anyway); nothing was written", target, n);
        return FALSE;
      }
    }
  }
  g_autofree char *conf = g_build_filename(dir, "haven.conf", NULL);
  g_auto(Previous) prev = { 0 };
  read_previous(conf, &prev);
  /* recipients first, then the haven.conf that names them */
  g_autofree char *rdir = g_build_filename(dir, "recipients", NULL);
  if (g_mkdir_with_parents(rdir, 0755) < 0) {
    hv_cli_error("provision", "%s: %s", rdir, g_strerror(errno));
    return FALSE;
  }
  for (guint i = 0; i < names->len; i++) {
    g_autofree char *staged = g_build_filename(stage.path, "recipients", names->pdata[i], NULL);
    g_autofree char *data = NULL;
    gsize n = 0;
    if (!g_file_get_contents(staged, &data, &n, NULL) || !write_file(rdir, names->pdata[i], data, n))
      return FALSE;
  }
  g_autoptr(GDir) rd = g_dir_open(rdir, 0, NULL);
  const char *n;
  g_autoptr(GPtrArray) stale = g_ptr_array_new_with_free_func(g_free);
  while (rd && (n = g_dir_read_name(rd))) {
    gboolean keep = FALSE;
    for (guint i = 0; i < names->len; i++)
      keep |= g_str_equal(n, names->pdata[i]);
    if (!keep)
      g_ptr_array_add(stale, g_build_filename(rdir, n, NULL));
  }
  for (guint i = 0; i < stale->len; i++)
    if (g_remove(stale->pdata[i]) < 0)
      hv_cli_error("provision", "warning: %s (no longer a recipient) not removed: %s", (char *) stale->pdata[i],
                   g_strerror(errno));
  g_autofree char *old = NULL;
  gsize old_len = 0;
  if (g_file_get_contents(conf, &old, &old_len, NULL) && !write_file(dir, "haven.conf.previous", old, old_len))
    return FALSE;
  g_autofree char *brdir = g_build_filename(BOARD_CONFIG_DIR, "recipients", NULL);
  g_autofree char *text = config_text(o, names, brdir);
  if (!write_file(dir, "haven.conf", text, strlen(text)) || !write_file(dir, "README.txt", README, strlen(README)))
    return FALSE;
  g_autofree char *room = hv_text_escape(o->room, -1);
  printf("provisioned %s: room \"%s\", board %s, %u recipient%s (", target, room, o->board, names->len,
         names->len == 1 ? "" : "s");
  for (guint i = 0; i < names->len; i++)
    printf("%s%s", i ? ", " : "", (const char *) names->pdata[i]);
  printf(")%s\n", o->source ? ", test sources" : "");
  if (old)
    printf("the previous haven.conf is kept as haven.conf.previous\n");
  report_changes(&prev, o, names);
  g_autofree char *enr = g_build_filename(dir, "enrollment.conf", NULL);
  if (g_file_test(enr, G_FILE_TEST_EXISTS)) {
    g_autoptr(HvEnrollment) e = hv_enrollment_load(enr, NULL);
    printf("enrollment.conf kept%s%s%s\n", e ? " (device " : " (it does not verify: the board rewrites it)",
           e ? hv_enrollment_device_id(e) : "", e ? ")" : "");
  }
  printf("checked as havend --check-config checks the file; the board file's GPIO lines, the storage and the "
         "device key are checked on the board: run havend --check-config there (havend itself refuses to start on a "
         "configuration problem and shows a fault for a missing camera, microphone or storage)\n");
  return TRUE;
}

/* Run argv; FALSE with its stderr in the message when it fails. */
static gboolean
spawn(const char *const *argv, char **ret_stdout, GError **error)
{
  g_autofree char *out = NULL, *err = NULL;
  int status = 0;
  g_auto(GStrv) envp = g_get_environ();
  envp = g_environ_setenv(envp, "MTOOLS_SKIP_CHECK", "1", TRUE);
  envp = g_environ_setenv(envp, "LC_ALL", "C", TRUE);
  if (!g_spawn_sync(NULL, (char **) argv, envp, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status(status, NULL)) {
    g_strstrip(err);
    g_set_error(error, G_SPAWN_ERROR, G_SPAWN_ERROR_FAILED, "%s failed: %s", argv[0], *err ? err : "(no message)");
    return FALSE;
  }
  if (ret_stdout)
    *ret_stdout = g_steal_pointer(&out);
  return TRUE;
}

/* The filesystem label at offset in target, or NULL. */
static char *
label_at(const char *target, guint64 offset)
{
  g_autofree char *off = g_strdup_printf("%" G_GUINT64_FORMAT, offset);
  const char *argv[] = { "blkid", "-p", "-O", off, "-o", "value", "-s", "LABEL", target, NULL };
  g_autofree char *out = NULL;
  if (!spawn(argv, &out, NULL))
    return NULL;
  return g_strdup(g_strstrip(out));
}

/* The byte offset of the vfat filesystem labelled HAVENCFG in target: the
 * whole target (a partition, a bare filesystem image), or one partition of
 * its partition table (read by sfdisk: no loop device, no kernel rescan). */
static gboolean
find_partition(const char *target, guint64 *ret_offset, GError **error)
{
  g_autofree char *whole = label_at(target, 0);
  if (whole && g_str_equal(whole, LABEL)) {
    *ret_offset = 0;
    return TRUE;
  }
  const char *argv[] = { "sfdisk", "--json", target, NULL };
  g_autofree char *out = NULL;
  g_autoptr(GError) local = NULL;
  if (!spawn(argv, &out, &local)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no partition table and no " LABEL " filesystem "
                "(%s): is it the flashed board image or its SD card?", target, local->message);
    return FALSE;
  }
  g_autoptr(JsonParser) parser = json_parser_new();
  if (!json_parser_load_from_data(parser, out, -1, &local)) {
    g_set_error(error, G_IO_ERROR, G_IO_ERROR_FAILED, "%s: sfdisk's output does not parse: %s", target,
                local->message);
    return FALSE;
  }
  JsonNode *root = json_parser_get_root(parser);
  JsonObject *table = JSON_NODE_HOLDS_OBJECT(root) ? json_object_get_object_member(json_node_get_object(root),
                                                                                  "partitiontable") : NULL;
  JsonArray *parts = table && json_object_has_member(table, "partitions")
                         ? json_object_get_array_member(table, "partitions") : NULL;
  guint64 sector = table && json_object_has_member(table, "sectorsize")
                       ? (guint64) json_object_get_int_member(table, "sectorsize") : 512;
  g_autoptr(GString) seen = g_string_new(NULL);
  for (guint i = 0; parts && i < json_array_get_length(parts); i++) {
    JsonObject *p = json_array_get_object_element(parts, i);
    if (!p || !json_object_has_member(p, "start"))
      continue;
    guint64 off = (guint64) json_object_get_int_member(p, "start") * sector;
    g_autofree char *label = label_at(target, off);
    if (label && g_str_equal(label, LABEL)) {
      *ret_offset = off;
      return TRUE;
    }
    g_string_append_printf(seen, "%s%u:%s", seen->len ? ", " : "", i + 1, label && *label ? label : "(no label)");
  }
  g_set_error(error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND, "%s: no partition labelled " LABEL " (partitions: %s): is "
              "it the flashed board image?", target, seen->len ? seen->str : "none");
  return FALSE;
}

/* A block device whose partitions (or itself) are mounted must not be
 * written behind the kernel's back: unmount first, or give the mount point. */
static gboolean
check_not_mounted(const char *target, const struct stat *st, GError **error)
{
  g_autofree char *mounts = NULL;
  if (!g_file_get_contents("/proc/self/mountinfo", &mounts, NULL, NULL))
    return TRUE;
  g_auto(GStrv) lines = g_strsplit(mounts, "\n", -1);
  for (guint i = 0; lines[i]; i++) {
    unsigned maj, min;
    char where[4096];
    if (sscanf(lines[i], "%*u %*u %u:%u %*s %4095s", &maj, &min, where) != 3)
      continue;
    dev_t dev = makedev(maj, min);
    gboolean same = dev == st->st_rdev;
    if (!same) {
      /* a partition of target: /sys/dev/block/MAJ:MIN/.. is the disk */
      g_autofree char *sys = g_strdup_printf("/sys/dev/block/%u:%u/../dev", maj, min);
      g_autofree char *parent = NULL;
      unsigned pmaj, pmin;
      same = g_file_get_contents(sys, &parent, NULL, NULL) && sscanf(parent, "%u:%u", &pmaj, &pmin) == 2
             && makedev(pmaj, pmin) == st->st_rdev;
    }
    if (same) {
      g_set_error(error, G_IO_ERROR, G_IO_ERROR_BUSY, "%s is mounted (on %s): unmount it first, or give the "
                  "mount point of its " LABEL " partition as TARGET", target, where);
      return FALSE;
    }
  }
  return TRUE;
}

/* An image file or block device: the HAVENCFG partition's files are copied
 * to a private directory with mtools, provisioned there, and the files
 * provisioning writes are copied back. Nothing is mounted. */
static gboolean
provision_image(const char *target, const struct stat *st, const Options *o)
{
  g_autoptr(GError) err = NULL;
  if (S_ISBLK(st->st_mode) && !check_not_mounted(target, st, &err)) {
    hv_cli_error("provision", "%s; nothing was written", err->message);
    return FALSE;
  }
  guint64 offset = 0;
  if (!find_partition(target, &offset, &err)) {
    hv_cli_error("provision", "%s; nothing was written", err->message);
    return FALSE;
  }
  g_autofree char *img = g_strdup_printf("%s@@%" G_GUINT64_FORMAT, target, offset);
  g_auto(TmpDir) tmp = { g_dir_make_tmp("haven-provision-XXXXXX", NULL) };
  if (!tmp.path) {
    hv_cli_error("provision", "cannot make a temporary directory: %s", g_strerror(errno));
    return FALSE;
  }
  g_autofree char *part = g_build_filename(tmp.path, "part", NULL);
  g_autofree char *listing = NULL;
  const char *ls[] = { "mdir", "-b", "-i", img, "::/", NULL };
  if (!spawn(ls, &listing, &err)) {
    hv_cli_error("provision", "%s: the " LABEL " partition cannot be read: %s; nothing was written", target,
                 err->message);
    return FALSE;
  }
  g_strstrip(listing);
  if (*listing) {
    const char *cp[] = { "mcopy", "-s", "-n", "-p", "-i", img, "::/", part, NULL };
    if (!spawn(cp, NULL, &err)) {
      hv_cli_error("provision", "%s: the " LABEL " partition cannot be read: %s; nothing was written", target,
                   err->message);
      return FALSE;
    }
  } else if (g_mkdir(part, 0700) < 0) {
    hv_cli_error("provision", "%s: %s", part, g_strerror(errno));
    return FALSE;
  }
  g_autofree char *where = g_strdup_printf("%s (partition " LABEL " at byte %" G_GUINT64_FORMAT ")", target, offset);
  if (!provision_dir(part, o, where))
    return FALSE;
  /* back: recipients/ replaced as a whole, then the files */
  g_autofree char *rdir = g_build_filename(part, "recipients", NULL);
  const char *del[] = { "mdeltree", "-i", img, "::/recipients", NULL };
  if (g_strstr_len(listing, -1, "recipients"))
    (void) spawn(del, NULL, NULL);
  const char *cp_r[] = { "mcopy", "-s", "-o", "-i", img, rdir, "::/", NULL };
  gboolean ok = spawn(cp_r, NULL, &err);
  const char *files[] = { "haven.conf.previous", "README.txt", "haven.conf" };
  for (guint i = 0; ok && i < G_N_ELEMENTS(files); i++) {
    g_autofree char *f = g_build_filename(part, files[i], NULL);
    g_autofree char *dst = g_strdup_printf("::/%s", files[i]);
    const char *cp[] = { "mcopy", "-o", "-i", img, f, dst, NULL };
    if (g_file_test(f, G_FILE_TEST_EXISTS))
      ok = spawn(cp, NULL, &err);
  }
  if (ok) {
    int fd = open(target, O_RDWR | O_CLOEXEC);
    ok = fd >= 0 && fsync(fd) == 0;
    if (!ok)
      g_set_error(&err, G_IO_ERROR, g_io_error_from_errno(errno), "%s: %s", target, g_strerror(errno));
    if (fd >= 0)
      close(fd);
  }
  if (!ok) {
    hv_cli_error("provision", "%s: writing the " LABEL " partition failed: %s; run haven provision again", target,
                 err->message);
    return FALSE;
  }
  return TRUE;
}

int
hv_cmd_provision(int argc, char **argv)
{
  Options o = { 0 };
  GOptionEntry entries[] = {
    { "room", 0, 0, G_OPTION_ARG_STRING, &o.room, "The room's name (in every recording's header)", "NAME" },
    { "board", 0, 0, G_OPTION_ARG_STRING, &o.board, "rpi4, rpi5, or sim (the QEMU virt image)", "NAME" },
    { "recipient", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &o.recipients,
      "A custodian's recipient file (haven keygen, PREFIX.pub); repeat for each custodian", "FILE" },
    { "source", 0, G_OPTION_FLAG_HIDDEN, G_OPTION_ARG_STRING, &o.source, "test: test patterns (boot test)", "test" },
    { "force", 0, 0, G_OPTION_ARG_NONE, &o.force,
      "Write into a directory TARGET that holds other files than a config partition's", NULL },
    { NULL }
  };
  g_autoptr(GOptionContext) ctx = g_option_context_new("TARGET - write a board's configuration partition");
  g_option_context_add_main_entries(ctx, entries, NULL);
  g_option_context_set_description(ctx,
    "TARGET is the flashed image file or SD card / disk (its partition labelled\n"
    "HAVENCFG is found and written with mtools, nothing is mounted; unmount it first),\n"
    "or the directory where that partition is mounted. Writes haven.conf (the board's\n"
    "paths; recipients under /etc/haven/recipients), recipients/*.pub and README.txt,\n"
    "after checking the haven.conf as havend --check-config does (the GPIO lines, the\n"
    "storage and the device key are checked on the board). Never writes a secret: a\n"
    "custodian's identity file given as --recipient is refused. Provisioning again\n"
    "keeps enrollment.conf (the board's), keeps the old haven.conf as\n"
    "haven.conf.previous and reports what changed (room, board, recipients); a changed\n"
    "room is audited by the board at its next start, with the same key and ledger.\n"
    "Exit status: 0 written, 2 refused (nothing written) or I/O error.");
  int ret = HV_EXIT_USAGE;
  if (hv_cli_parse(ctx, &argc, &argv)) {
    struct stat st;
    if (argc != 2) {
      hv_cli_error("provision", argc < 2 ? "no TARGET given; see 'haven provision --help'" : "one TARGET only");
    } else if (stat(argv[1], &st) < 0) {
      hv_cli_error("provision", "%s: %s", argv[1], g_strerror(errno));
    } else if (S_ISDIR(st.st_mode)) {
      ret = provision_dir(argv[1], &o, argv[1]) ? HV_EXIT_OK : HV_EXIT_USAGE;
    } else if (S_ISREG(st.st_mode) || S_ISBLK(st.st_mode)) {
      ret = provision_image(argv[1], &st, &o) ? HV_EXIT_OK : HV_EXIT_USAGE;
    } else {
      hv_cli_error("provision", "%s: not a directory, an image file or a block device", argv[1]);
    }
  }
  g_free(o.room);
  g_free(o.board);
  g_strfreev(o.recipients);
  g_free(o.source);
  return ret;
}
