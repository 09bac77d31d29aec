// SPDX-License-Identifier: GPL-2.0-or-later
#include "sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <sys/stat.h>
#include <unistd.h>

#define READ_SIZE (1u << 20)

static void
evp_free(EVP_MD_CTX *ctx)
{
  EVP_MD_CTX_free(ctx);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC(EVP_MD_CTX, evp_free)

static char *
finish(EVP_MD_CTX *ctx)
{
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (EVP_DigestFinal_ex(ctx, md, &len) != 1)
    g_error("SHA-256: EVP_DigestFinal_ex failed");   /* no input can cause this */
  GString *hex = g_string_sized_new(2 * len);
  for (unsigned int i = 0; i < len; i++)
    g_string_append_printf(hex, "%02x", md[i]);
  return g_string_free(hex, FALSE);
}

static EVP_MD_CTX *
start(void)
{
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (!ctx || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
    g_error("SHA-256: cannot initialise OpenSSL's digest (out of memory?)");
  return ctx;
}

char *
hv_sha256_hex(const void *data, gsize len)
{
  g_autoptr(EVP_MD_CTX) ctx = start();
  if (EVP_DigestUpdate(ctx, data, len) != 1)
    g_error("SHA-256: EVP_DigestUpdate failed");
  return finish(ctx);
}

char *
hv_sha256_file(const char *path, GError **error)
{
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
  if (fd < 0) {
    int e = errno;
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path, g_strerror(e));
    return NULL;
  }
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int e = errno;
    close(fd);
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path, g_strerror(e));
    return NULL;
  }
  if (!S_ISREG(st.st_mode)) {   /* a FIFO or a device would hang or never end */
    close(fd);
    g_set_error(error, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: not a regular file", path);
    return NULL;
  }
  (void) posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  g_autoptr(EVP_MD_CTX) ctx = start();
  g_autofree guint8 *buf = g_malloc(READ_SIZE);
  ssize_t n;
  while ((n = read(fd, buf, READ_SIZE)) != 0) {
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      break;
    if (EVP_DigestUpdate(ctx, buf, (size_t) n) != 1)
      g_error("SHA-256: EVP_DigestUpdate failed");
  }
  int e = errno;
  close(fd);
  if (n < 0) {
    g_set_error(error, G_FILE_ERROR, g_file_error_from_errno(e), "%s: %s", path, g_strerror(e));
    return NULL;
  }
  return finish(ctx);
}

struct _HvSha256 {
  EVP_MD_CTX *ctx;
};

HvSha256 *
hv_sha256_new(void)
{
  HvSha256 *s = g_new0(HvSha256, 1);
  s->ctx = start();
  return s;
}

void
hv_sha256_update(HvSha256 *s, const void *data, gsize len)
{
  if (EVP_DigestUpdate(s->ctx, data, len) != 1)
    g_error("SHA-256: EVP_DigestUpdate failed");
}

char *
hv_sha256_finish(HvSha256 *s)
{
  return finish(s->ctx);
}

void
hv_sha256_free(HvSha256 *s)
{
  if (!s)
    return;
  EVP_MD_CTX_free(s->ctx);
  g_free(s);
}
