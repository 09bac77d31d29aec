// SPDX-License-Identifier: GPL-2.0-or-later
/* custody-log: append and verify a session's signed, hash-chained custody log. */
#include "custody-log.h"

#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <pwd.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define CUSTODY_DOMAIN   "HAVEN-CUSTODY-v1"       /* signed with its NUL (FORMAT.md convention) */
#define SIG_B64_LEN      88u                      /* base64 of 64 bytes, with padding */
#define SIG_PREFIX       ",\"sig\":\""
#define SIG_SUFFIX_LEN   (sizeof SIG_PREFIX - 1 + SIG_B64_LEN + 2)
#define LINE_MAX_BYTES   (64u * 1024u)
#define LOG_MAX_BYTES    (256u * 1024u * 1024u)

G_DEFINE_QUARK(hv-custody-error-quark, hv_custody_error)

static const char *const actions[] = { "export", "verify", "transfer", "handover" };

gboolean
hv_custody_action_valid(const char *action)
{
  for (guint i = 0; action && i < G_N_ELEMENTS(actions); i++)
    if (g_str_equal(action, actions[i]))
      return TRUE;
  return FALSE;
}

gboolean
hv_custody_text_check(const char *what, const char *text, GError **error)
{
  if (!text)
    return TRUE;
  if (!g_utf8_validate(text, -1, NULL)) {
    g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_INPUT, "%s: not valid UTF-8", what);
    return FALSE;
  }
  if (strlen(text) > HV_CUSTODY_TEXT_MAX) {
    g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_INPUT, "%s: longer than %u bytes", what,
                HV_CUSTODY_TEXT_MAX);
    return FALSE;
  }
  return TRUE;
}

char *
hv_custody_os_user(void)
{
  struct passwd *pw = getpwuid(geteuid());
  if (pw && pw->pw_name && g_utf8_validate(pw->pw_name, -1, NULL))
    return g_strdup(pw->pw_name);
  return g_strdup_printf("uid %u", (unsigned) geteuid());
}

HvCustodyFile *
hv_custody_file_new(const char *path, guint64 size, const char *sha256_hex)
{
  HvCustodyFile *f = g_new0(HvCustodyFile, 1);
  f->path = g_strdup(path);
  f->size = size;
  f->sha256 = g_strdup(sha256_hex);
  return f;
}

void
hv_custody_file_free(HvCustodyFile *f)
{
  if (!f)
    return;
  g_free(f->path);
  g_free(f->sha256);
  g_free(f);
}

static void
entry_free(HvCustodyEntry *e)
{
  if (!e)
    return;
  g_free(e->time);
  g_free(e->session_id);
  g_free(e->prev);
  g_free(e->key_id);
  g_free(e->signer);
  g_free(e->signer_id);
  g_free(e->os_user);
  g_free(e->host);
  g_free(e->action);
  g_free(e->to);
  g_free(e->ref);
  g_free(e->tool);
  g_free(e->tool_version);
  g_free(e->out);
  if (e->files)
    g_ptr_array_unref(e->files);
  g_free(e->hash);
  g_free(e);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvCustodyEntry, entry_free)

void
hv_custody_verdict_free(HvCustodyVerdict *v)
{
  if (!v)
    return;
  g_free(v->log_path);
  g_free(v->seal_hash);
  g_ptr_array_unref(v->entries);
  g_free(v->problem);
  g_free(v);
}

char *
hv_custody_log_path(const char *session, const char *log_path)
{
  g_autofree char *p = log_path ? g_strdup(log_path) : g_build_filename(session, HV_CUSTODY_LOG_NAME, NULL);
  return g_canonicalize_filename(p, NULL);
}

/* What a log is bound to: the session id and the seal's hash. */
typedef struct {
  char *session_id;
  char *seal_hash;
} Anchor;

static void
anchor_clear(Anchor *a)
{
  g_free(a->session_id);
  g_free(a->seal_hash);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC(Anchor, anchor_clear)

static gboolean
anchor_read(const char *session, Anchor *ret, GError **error)
{
  HvHeader h;
  g_autoptr(GError) local = NULL;
  if (!hv_vault_read_header(session, NULL, &h, &local)) {
    g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_SESSION, "%s: no valid session header to chain "
                "custody to: %s", session, local->message);
    return FALSE;
  }
  g_autofree char *seal_path = g_build_filename(session, HV_FILE_SEAL, NULL);
  g_autoptr(GBytes) seal = hv_file_read_bounded(seal_path, HV_SEAL_MAX_SIZE, &local);
  if (!seal) {
    g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_SESSION, "%s: the session is not sealed (a "
                "custody log chains to its seal): %s", session, local->message);
    return FALSE;
  }
  guint8 hash[HV_HASH_SIZE];
  gsize n;
  const guint8 *d = g_bytes_get_data(seal, &n);
  hv_hash(d, n, hash);
  ret->session_id = hv_hex(h.session_id, HV_SESSION_ID_SIZE);
  ret->seal_hash = hv_hex(hash, sizeof hash);
  return TRUE;
}

static char *
line_hash(const char *line, gsize len)
{
  guint8 h[HV_HASH_SIZE];
  hv_hash((const guint8 *) line, len, h);
  return hv_hex(h, sizeof h);
}

/* The signed message: the domain string with its NUL, then the body. */
static GByteArray *
signed_message(const char *body, gsize len)
{
  GByteArray *m = g_byte_array_sized_new(sizeof CUSTODY_DOMAIN + len);
  g_byte_array_append(m, (const guint8 *) CUSTODY_DOMAIN, sizeof CUSTODY_DOMAIN);
  g_byte_array_append(m, (const guint8 *) body, len);
  return m;
}

/* --- reading ------------------------------------------------------------ */

static HvCustodyVerdict *verify_data(const char *log_path, const char *data, gsize n, const Anchor *a,
                                     GPtrArray *signers);

static const char *
member_str(JsonObject *o, const char *name)
{
  JsonNode *n = json_object_get_member(o, name);
  if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string(n);
}

static gboolean
member_int(JsonObject *o, const char *name, gint64 *ret)
{
  JsonNode *n = json_object_get_member(o, name);
  if (!n || !JSON_NODE_HOLDS_VALUE(n) || json_node_get_value_type(n) != G_TYPE_INT64)
    return FALSE;
  *ret = json_node_get_int(n);
  return TRUE;
}

static const char *const string_members[] = {
  "format", "time", "session_id", "prev", "key_id", "signer", "signer_id", "os_user", "host", "action",
  "to", "ref", "tool", "tool_version", "out", "sig",
};
#define ENTRY_MEMBERS 20u /* the strings above, seq, time_us, os_uid, files */

/* Parse and check one line (without its '\n') as entry seq, chained to prev. */
static HvCustodyEntry *
entry_parse(const char *line, gsize len, guint64 seq, const char *prev, const Anchor *a, GPtrArray *signers,
            char **ret_problem)
{
#define BAD(...) do { *ret_problem = g_strdup_printf(__VA_ARGS__); return NULL; } while (0)
  if (len > LINE_MAX_BYTES)
    BAD("longer than %u bytes", LINE_MAX_BYTES);
  if (len < SIG_SUFFIX_LEN + 2 || !g_utf8_validate(line, (gssize) len, NULL))
    BAD("not a signed custody entry (too short, or not UTF-8)");
  const char *sfx = line + len - SIG_SUFFIX_LEN;
  if (memcmp(sfx, SIG_PREFIX, sizeof SIG_PREFIX - 1) != 0 || memcmp(line + len - 2, "\"}", 2) != 0)
    BAD("does not end with its signature member");
  g_autoptr(JsonParser) parser = json_parser_new();
  g_autoptr(GError) jerr = NULL;
  if (!json_parser_load_from_data(parser, line, (gssize) len, &jerr))
    BAD("not JSON: %s", jerr->message);
  JsonNode *root = json_parser_get_root(parser);
  if (!root || !JSON_NODE_HOLDS_OBJECT(root))
    BAD("not a JSON object");
  JsonObject *o = json_node_get_object(root);
  for (guint i = 0; i < G_N_ELEMENTS(string_members); i++)
    if (!member_str(o, string_members[i]))
      BAD("member '%s' missing or not a string", string_members[i]);
  g_autoptr(HvCustodyEntry) e = g_new0(HvCustodyEntry, 1);
  gint64 s;
  if (!member_int(o, "seq", &s) || !member_int(o, "time_us", &e->time_us) || !member_int(o, "os_uid", &e->os_uid))
    BAD("member 'seq', 'time_us' or 'os_uid' missing or not an integer");
  JsonNode *files_node = json_object_get_member(o, "files");
  if (!files_node || !JSON_NODE_HOLDS_ARRAY(files_node))
    BAD("member 'files' missing or not an array");
  JsonArray *files = json_node_get_array(files_node);
  if (json_object_get_size(o) != ENTRY_MEMBERS)
    BAD("has %u members, not the %u of %s", json_object_get_size(o), ENTRY_MEMBERS, HV_CUSTODY_FORMAT);
  if (!g_str_equal(member_str(o, "format"), HV_CUSTODY_FORMAT))
    BAD("format is not %s", HV_CUSTODY_FORMAT);
  if (s < 1 || (guint64) s != seq)
    BAD("sequence %" G_GINT64_FORMAT " where %" G_GUINT64_FORMAT " was due (an entry deleted, duplicated "
        "or moved)", s, seq);
  if (!g_str_equal(member_str(o, "session_id"), a->session_id))
    BAD("belongs to session %s, not this session %s", member_str(o, "session_id"), a->session_id);
  if (!g_str_equal(member_str(o, "prev"), prev))
    BAD("not chained to %s (prev is %s: an entry before it was changed, removed or reordered, or it comes "
        "from another log)", seq == 1 ? "the session's seal" : "the entry before it", member_str(o, "prev"));
  /* the signature */
  guint8 pk[HV_SIGNER_PK_SIZE], sig[HV_SIG_SIZE];
  size_t bl = 0;
  const char *signer = member_str(o, "signer");
  if (sodium_base642bin(pk, sizeof pk, signer, strlen(signer), NULL, &bl, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 || bl != sizeof pk)
    BAD("signer is not a base64 Ed25519 public key");
  const char *sig_b64 = member_str(o, "sig");
  if (strlen(sig_b64) != SIG_B64_LEN || memcmp(sig_b64, sfx + sizeof SIG_PREFIX - 1, SIG_B64_LEN) != 0 ||
      sodium_base642bin(sig, sizeof sig, sig_b64, SIG_B64_LEN, NULL, &bl, NULL,
                        sodium_base64_VARIANT_ORIGINAL) != 0 || bl != sizeof sig)
    BAD("sig is not a base64 Ed25519 signature");
  g_autofree char *body = g_strndup(line, len - SIG_SUFFIX_LEN + 1);
  body[len - SIG_SUFFIX_LEN] = '}';
  g_autoptr(GByteArray) msg = signed_message(body, len - SIG_SUFFIX_LEN + 1);
  if (crypto_sign_verify_detached(sig, msg->data, msg->len, pk) != 0)
    BAD("signature does not verify (the entry was changed after signing)");
  g_autofree char *sid = hv_key_id(pk, sizeof pk);
  if (!g_str_equal(member_str(o, "signer_id"), sid))
    BAD("signer_id %s is not the id of its signer (%s)", member_str(o, "signer_id"), sid);
  if (signers) {
    gboolean pinned = FALSE;
    for (guint i = 0; i < signers->len && !pinned; i++)
      pinned = g_bytes_get_size(signers->pdata[i]) == sizeof pk &&
               memcmp(g_bytes_get_data(signers->pdata[i], NULL), pk, sizeof pk) == 0;
    if (!pinned)
      BAD("signed by key %s, which is none of the --signer keys", sid);
  }
  if (!hv_custody_action_valid(member_str(o, "action")))
    BAD("unknown action '%s'", member_str(o, "action"));
  e->files = g_ptr_array_new_with_free_func((GDestroyNotify) hv_custody_file_free);
  for (guint i = 0; i < json_array_get_length(files); i++) {
    JsonNode *fn = json_array_get_element(files, i);
    JsonObject *fo = JSON_NODE_HOLDS_OBJECT(fn) ? json_node_get_object(fn) : NULL;
    gint64 size;
    if (!fo || !member_str(fo, "path") || !member_str(fo, "sha256") || !member_int(fo, "size", &size) || size < 0)
      BAD("files[%u] is not {path, size, sha256}", i);
    g_ptr_array_add(e->files, hv_custody_file_new(member_str(fo, "path"), (guint64) size,
                                                  member_str(fo, "sha256")));
  }
  e->seq = seq;
  e->time = g_strdup(member_str(o, "time"));
  e->session_id = g_strdup(member_str(o, "session_id"));
  e->prev = g_strdup(prev);
  e->key_id = g_strdup(member_str(o, "key_id"));
  e->signer = g_strdup(signer);
  e->signer_id = g_steal_pointer(&sid);
  e->os_user = g_strdup(member_str(o, "os_user"));
  e->host = g_strdup(member_str(o, "host"));
  e->action = g_strdup(member_str(o, "action"));
  e->to = g_strdup(member_str(o, "to"));
  e->ref = g_strdup(member_str(o, "ref"));
  e->tool = g_strdup(member_str(o, "tool"));
  e->tool_version = g_strdup(member_str(o, "tool_version"));
  e->out = g_strdup(member_str(o, "out"));
  e->hash = line_hash(line, len);
  return g_steal_pointer(&e);
#undef BAD
}

HvCustodyVerdict *
hv_custody_verify_data(const char *log_path, const char *data, gsize n, const char *session_id_hex,
                       const char *seal_hash_hex, GPtrArray *signers)
{
  Anchor a = { .session_id = (char *) session_id_hex, .seal_hash = (char *) seal_hash_hex };
  return verify_data(log_path, data, n, &a, signers);
}

static HvCustodyVerdict *
verify_data(const char *log_path, const char *data, gsize n, const Anchor *a, GPtrArray *signers)
{
  HvCustodyVerdict *v = g_new0(HvCustodyVerdict, 1);
  v->log_path = g_strdup(log_path);
  v->seal_hash = g_strdup(a->seal_hash);
  v->entries = g_ptr_array_new_with_free_func((GDestroyNotify) entry_free);
  v->intact = TRUE;
  const char *prev = a->seal_hash;
  gsize off = 0;
  for (guint64 seq = 1; off < n; seq++) {
    const char *nl = memchr(data + off, '\n', n - off);
    g_autofree char *problem = NULL;
    HvCustodyEntry *e = NULL;
    if (!nl)
      problem = g_strdup("truncated: the log ends inside it (no end of line)");
    else
      e = entry_parse(data + off, (gsize) (nl - (data + off)), seq, prev, a, signers, &problem);
    if (!e) {
      v->intact = FALSE;
      v->bad_entry = seq;
      v->problem = g_strdup_printf("entry %" G_GUINT64_FORMAT ": %s", seq, problem);
      return v;
    }
    g_ptr_array_add(v->entries, e);
    prev = e->hash;
    off = (gsize) (nl - data) + 1;
  }
  return v;
}

static GBytes *
read_fd(int fd, const char *path, GError **error)
{
  struct stat st;
  if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
    g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_IO, "%s: not a regular file", path);
    return NULL;
  }
  if (st.st_size > LOG_MAX_BYTES) {
    g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_IO, "%s: larger than %u MiB", path,
                LOG_MAX_BYTES >> 20);
    return NULL;
  }
  gsize n = (gsize) st.st_size;
  guint8 *buf = g_malloc(n + 1);
  gsize got = 0;
  while (got < n) {
    ssize_t r = pread(fd, buf + got, n - got, (off_t) got);
    if (r < 0 && errno == EINTR)
      continue;
    if (r <= 0) {
      g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_IO, "%s: %s", path,
                  r < 0 ? g_strerror(errno) : "shrank while being read");
      g_free(buf);
      return NULL;
    }
    got += (gsize) r;
  }
  return g_bytes_new_take(buf, n);
}

HvCustodyVerdict *
hv_custody_verify(const char *session, const char *log_path, GPtrArray *signers, GError **error)
{
  g_auto(Anchor) a = { 0 };
  if (!anchor_read(session, &a, error))
    return NULL;
  g_autofree char *path = hv_custody_log_path(session, log_path);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT)
    return verify_data(path, "", 0, &a, signers);
  if (fd < 0) {
    g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_IO, "%s: %s", path, g_strerror(errno));
    return NULL;
  }
  g_autoptr(GBytes) data = read_fd(fd, path, error);
  close(fd);
  if (!data)
    return NULL;
  gsize n;
  const char *d = g_bytes_get_data(data, &n);
  return verify_data(path, d, n, &a, signers);
}

/* --- writing ------------------------------------------------------------ */

struct HvCustodyWriter {
  char   *path;
  int     fd;
  Anchor  anchor;
  guint64 next_seq;
  char   *head;  /* hash of the last entry, or the seal hash */
  GPtrArray *signer_ids;  /* of the entries already in the log, each once */
};

void
hv_custody_writer_free(HvCustodyWriter *w)
{
  if (!w)
    return;
  if (w->fd >= 0)
    close(w->fd);  /* releases the lock */
  g_free(w->path);
  anchor_clear(&w->anchor);
  g_free(w->head);
  if (w->signer_ids)
    g_ptr_array_unref(w->signer_ids);
  g_free(w);
}

HvCustodyWriter *
hv_custody_writer_open(const char *session, const char *log_path, GError **error)
{
  g_autoptr(HvCustodyWriter) w = g_new0(HvCustodyWriter, 1);
  w->fd = -1;
  if (!anchor_read(session, &w->anchor, error))
    return NULL;
  w->path = hv_custody_log_path(session, log_path);
  w->fd = open(w->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0644);
  if (w->fd < 0) {
    int e = errno;
    gboolean ro = e == EROFS || e == EACCES || e == EPERM;
    g_set_error(error, HV_CUSTODY_ERROR, ro ? HV_CUSTODY_ERROR_READ_ONLY : HV_CUSTODY_ERROR_IO,
                "%s: %s%s", w->path, g_strerror(e),
                ro ? " (a write-protected master?): give --custody-log PATH to keep this session's "
                     "custody log in a writable place; nothing was done" : "");
    return NULL;
  }
  while (flock(w->fd, LOCK_EX) < 0) {
    if (errno != EINTR) {
      g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_IO, "%s: lock: %s", w->path, g_strerror(errno));
      return NULL;
    }
  }
  g_autoptr(GBytes) data = read_fd(w->fd, w->path, error);
  if (!data)
    return NULL;
  gsize n;
  const char *d = g_bytes_get_data(data, &n);
  g_autoptr(HvCustodyVerdict) v = verify_data(w->path, d, n, &w->anchor, NULL);
  if (!v->intact) {
    g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_BROKEN, "%s: the custody log does not verify (%s): "
                "not appending to it; keep it as it is for examination ('haven custody verify' shows "
                "it) and give --custody-log PATH to start another", w->path, v->problem);
    return NULL;
  }
  w->signer_ids = g_ptr_array_new_with_free_func(g_free);
  for (guint i = 0; i < v->entries->len; i++) {
    const char *sid = ((HvCustodyEntry *) v->entries->pdata[i])->signer_id;
    if (!g_ptr_array_find_with_equal_func(w->signer_ids, sid, g_str_equal, NULL))
      g_ptr_array_add(w->signer_ids, g_strdup(sid));
  }
  w->next_seq = v->entries->len + 1;
  w->head = g_strdup(v->entries->len ? ((HvCustodyEntry *) v->entries->pdata[v->entries->len - 1])->hash
                                     : w->anchor.seal_hash);
  return g_steal_pointer(&w);
}

const char *
hv_custody_writer_path(HvCustodyWriter *w)
{
  return w->path;
}

guint64
hv_custody_writer_next_seq(HvCustodyWriter *w)
{
  return w->next_seq;
}

char *
hv_custody_writer_other_signers(HvCustodyWriter *w, const guint8 *own_sign_pk)
{
  g_autofree char *own = hv_key_id(own_sign_pk, HV_SIGNER_PK_SIZE);
  g_autoptr(GString) s = g_string_new(NULL);
  for (guint i = 0; i < w->signer_ids->len; i++) {
    const char *sid = w->signer_ids->pdata[i];
    if (g_str_equal(sid, own))
      continue;
    if (s->len)
      g_string_append(s, ", ");
    g_string_append(s, sid);
  }
  return s->len ? g_string_free(g_steal_pointer(&s), FALSE) : NULL;
}

static void
add_str(JsonBuilder *b, const char *name, const char *value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_string_value(b, value ? value : "");
}

static void
add_int(JsonBuilder *b, const char *name, gint64 value)
{
  json_builder_set_member_name(b, name);
  json_builder_add_int_value(b, value);
}

static char *
generate(JsonNode *root)
{
  g_autoptr(JsonGenerator) g = json_generator_new();
  json_generator_set_pretty(g, FALSE);
  json_generator_set_root(g, root);
  return json_generator_to_data(g, NULL);
}

gboolean
hv_custody_writer_append(HvCustodyWriter *w, const HvIdentity *id, const char *action, const char *to,
                         const char *ref, const char *out, GPtrArray *files, GError **error)
{
  if (!id->sign_sk) {
    g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_NO_SIGNER, "the identity has no signing key "
                "('haven keygen --upgrade KEYFILE' adds one)");
    return FALSE;
  }
  g_return_val_if_fail(hv_custody_action_valid(action), FALSE);
  if (!hv_custody_text_check("--to", to, error) || !hv_custody_text_check("--ref", ref, error) ||
      !hv_custody_text_check("output path", out, error))
    return FALSE;
  gint64 now = g_get_real_time();
  g_autoptr(GDateTime) dt = g_date_time_new_from_unix_utc(now / G_USEC_PER_SEC);
  g_autoptr(GDateTime) dtu = g_date_time_add(dt, now % G_USEC_PER_SEC);
  g_autofree char *rfc3339 = g_date_time_format(dtu, "%Y-%m-%dT%H:%M:%S.%fZ");
  g_autofree char *kid = hv_key_id(id->pk, HV_RECIPIENT_PK_SIZE);
  g_autofree char *sid = hv_key_id(id->sign_pk, HV_SIGNER_PK_SIZE);
  char signer[sodium_base64_ENCODED_LEN(HV_SIGNER_PK_SIZE, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(signer, sizeof signer, id->sign_pk, HV_SIGNER_PK_SIZE, sodium_base64_VARIANT_ORIGINAL);
  g_autofree char *user = hv_custody_os_user();
  g_autofree char *host = g_utf8_make_valid(g_get_host_name(), -1);

  /* the member order is the format (FORMAT.md §12) */
  g_autoptr(JsonBuilder) b = json_builder_new();
  json_builder_begin_object(b);
  add_str(b, "format", HV_CUSTODY_FORMAT);
  add_int(b, "seq", (gint64) w->next_seq);
  add_int(b, "time_us", now);
  add_str(b, "time", rfc3339);
  add_str(b, "session_id", w->anchor.session_id);
  add_str(b, "prev", w->head);
  add_str(b, "key_id", kid);
  add_str(b, "signer", signer);
  add_str(b, "signer_id", sid);
  add_str(b, "os_user", user);
  add_int(b, "os_uid", (gint64) geteuid());
  add_str(b, "host", host);
  add_str(b, "action", action);
  add_str(b, "to", to);
  add_str(b, "ref", ref);
  add_str(b, "tool", "haven");
  add_str(b, "tool_version", HAVEN_VERSION);
  add_str(b, "out", out);
  json_builder_set_member_name(b, "files");
  json_builder_begin_array(b);
  for (guint i = 0; files && i < files->len; i++) {
    const HvCustodyFile *f = files->pdata[i];
    json_builder_begin_object(b);
    add_str(b, "path", f->path);
    add_int(b, "size", (gint64) f->size);
    add_str(b, "sha256", f->sha256);
    json_builder_end_object(b);
  }
  json_builder_end_array(b);
  json_builder_end_object(b);
  g_autoptr(JsonNode) root = json_builder_get_root(b);
  g_autofree char *body = generate(root);
  gsize blen = strlen(body);
  g_autoptr(GByteArray) msg = signed_message(body, blen);
  guint8 sig[HV_SIG_SIZE];
  crypto_sign_detached(sig, NULL, msg->data, msg->len, id->sign_sk);
  char sig_b64[SIG_B64_LEN + 1];
  sodium_bin2base64(sig_b64, sizeof sig_b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
  json_object_set_string_member(json_node_get_object(root), "sig", sig_b64);
  g_autofree char *line = generate(root);
  gsize len = strlen(line);
  /* the signed body is the line without its last member: what a verifier
   * reconstructs (FORMAT.md §12) */
  if (len != blen - 1 + SIG_SUFFIX_LEN || memcmp(line, body, blen - 1) != 0) {
    g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_IO, "%s: internal error: the JSON writer did not "
                "write the signature as the last member; nothing appended", w->path);
    return FALSE;
  }
  g_autofree char *with_nl = g_strconcat(line, "\n", NULL);
  struct stat st;
  if (fstat(w->fd, &st) < 0) {
    g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_IO, "%s: %s", w->path, g_strerror(errno));
    return FALSE;
  }
  int r = hv_write_all(w->fd, with_nl, len + 1);
  if (r == 0 && fsync(w->fd) < 0)
    r = -errno;
  if (r < 0) {
    /* never leave half an entry: it would break the log for every later entry */
    if (ftruncate(w->fd, st.st_size) == 0)
      (void) fsync(w->fd);
    g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_IO, "%s: %s", w->path, g_strerror(-r));
    return FALSE;
  }
  if (st.st_size == 0) {  /* a new file: make its name durable too */
    g_autofree char *dir = g_path_get_dirname(w->path);
    g_autoptr(GError) local = NULL;
    if (!hv_dir_sync(dir, &local)) {
      g_set_error(error, HV_CUSTODY_ERROR, HV_CUSTODY_ERROR_IO, "%s", local->message);
      return FALSE;
    }
  }
  g_free(w->head);
  w->head = line_hash(line, len);
  w->next_seq++;
  return TRUE;
}
