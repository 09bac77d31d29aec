// SPDX-License-Identifier: GPL-2.0-or-later
/* enrollment (issue 10 §4): the board's signed introduction of its key. */
#include "enrollment.h"
#include "test-helpers.h"

#include <string.h>

static char *
make_text(Fixture *f, const char *room)
{
  g_autoptr(GDateTime) when = g_date_time_new_utc(2026, 11, 29, 9, 30, 0);
  return hv_enrollment_format(f->device, room, "2026.11.1", "0.1.0", when);
}

static void
test_roundtrip(Fixture *f, gconstpointer data)
{
  g_autofree char *path = g_build_filename(f->dir, "enrollment.conf", NULL);
  g_autoptr(GError) err = NULL;
  g_assert_true(hv_enrollment_write(path, f->device, "Interview room 2 = \"blue\"\n#x", "img-7", "0.1.0", &err));
  g_assert_no_error(err);
  g_autoptr(HvEnrollment) e = hv_enrollment_load(path, &err);
  g_assert_no_error(err);
  g_autofree char *id = hv_key_id(f->device->pk, HV_DEVICE_PK_SIZE);
  g_assert_cmpstr(hv_enrollment_device_id(e), ==, id);
  g_assert_cmpmem(hv_enrollment_public_key(e), HV_DEVICE_PK_SIZE, f->device->pk, HV_DEVICE_PK_SIZE);
  g_assert_cmpstr(hv_enrollment_room(e), ==, "Interview room 2 = \"blue\"\n#x");
  g_assert_cmpstr(hv_enrollment_image_version(e), ==, "img-7");
  g_assert_cmpstr(hv_enrollment_haven_version(e), ==, "0.1.0");
  g_assert_true(g_str_has_suffix(hv_enrollment_created(e), "Z"));
  /* the layout of docs/ENROLLMENT.md: group first, signature last */
  g_autofree char *text = NULL;
  g_assert_true(g_file_get_contents(path, &text, NULL, NULL));
  g_assert_true(g_str_has_prefix(text, "[enrollment]\nformat=1\ndevice-id="));
  const char *sig = strstr(text, "\nsignature=");
  g_assert_nonnull(sig);
  g_assert_cmpuint(strchr(sig + 1, '\n') - text + 1, ==, strlen(text));
  /* no temporary file left beside it, and no secret in it */
  g_assert_false(g_file_test(path, G_FILE_TEST_IS_SYMLINK));
  g_assert_null(strstr(text, "secret"));
}

static void
expect_error(const char *text, int code, const char *words)
{
  g_autoptr(GError) err = NULL;
  g_autoptr(HvEnrollment) e = hv_enrollment_parse("enrollment.conf", text, strlen(text), &err);
  g_assert_null(e);
  g_assert_error(err, HV_ENROLLMENT_ERROR, code);
  if (!strstr(err->message, words))
    g_error("'%s' not in: %s", words, err->message);
  g_assert_nonnull(strstr(err->message, "enrollment.conf"));
}

static char *
replace(const char *text, const char *from, const char *to)
{
  const char *p = strstr(text, from);
  g_assert_nonnull(p);
  return g_strdup_printf("%.*s%s%s", (int) (p - text), text, to, p + strlen(from));
}

static void
test_tampered(Fixture *f, gconstpointer data)
{
  g_autofree char *text = make_text(f, "Room 1");
  g_autoptr(HvEnrollment) ok = hv_enrollment_parse("x", text, strlen(text), NULL);
  g_assert_nonnull(ok);
  g_autofree char *room = replace(text, "room=Room 1", "room=Room 2");
  expect_error(room, HV_ENROLLMENT_ERROR_SIGNATURE, "signature does not verify");
  g_autofree char *img = replace(text, "image-version=2026.11.1", "image-version=2026.11.2");
  expect_error(img, HV_ENROLLMENT_ERROR_SIGNATURE, "changed");
  /* another device's key, re-signed by it, but claiming the first id */
  g_autoptr(HvDeviceKey) other = g_new0(HvDeviceKey, 1);
  other->sk = sodium_malloc(HV_DEVICE_SK_SIZE);
  crypto_sign_keypair(other->pk, other->sk);
  g_autoptr(GDateTime) when = g_date_time_new_utc(2026, 11, 29, 9, 30, 0);
  g_autofree char *forged = hv_enrollment_format(other, "Room 1", "2026.11.1", "0.1.0", when);
  g_autofree char *their_id = hv_key_id(other->pk, HV_DEVICE_PK_SIZE);
  g_autofree char *our_id = hv_key_id(f->device->pk, HV_DEVICE_PK_SIZE);
  g_autofree char *from = g_strdup_printf("device-id=%s", their_id);
  g_autofree char *to = g_strdup_printf("device-id=%s", our_id);
  g_autofree char *claim = replace(forged, from, to);
  expect_error(claim, HV_ENROLLMENT_ERROR_SIGNATURE, "signature");
  /* our key's hex swapped in, their signature kept */
  g_autofree char *their_hex = hv_hex(other->pk, HV_DEVICE_PK_SIZE);
  g_autofree char *our_hex = hv_hex(f->device->pk, HV_DEVICE_PK_SIZE);
  g_autofree char *swapped = replace(forged, their_hex, our_hex);
  expect_error(swapped, HV_ENROLLMENT_ERROR_SIGNATURE, "signature");
}

static void
test_malformed(Fixture *f, gconstpointer data)
{
  g_autofree char *text = make_text(f, "Room 1");
  const char *sig = strstr(text, "signature=");
  g_autofree char *cut = g_strndup(text, sig - text);
  expect_error(cut, HV_ENROLLMENT_ERROR_MALFORMED, "no signature= line");
  g_autofree char *after = g_strdup_printf("%sroom=Room 9\n", text);
  expect_error(after, HV_ENROLLMENT_ERROR_MALFORMED, "must be the last line");
  g_autofree char *fmt = replace(text, "format=1", "format=2");
  expect_error(fmt, HV_ENROLLMENT_ERROR_MALFORMED, "format=2");
  g_autofree char *unknown = replace(text, "format=1\n", "format=1\ncolour=red\n");
  expect_error(unknown, HV_ENROLLMENT_ERROR_MALFORMED, "unknown key 'colour'");
  g_autofree char *group = replace(text, "[enrollment]", "[device]");
  expect_error(group, HV_ENROLLMENT_ERROR_MALFORMED, "[enrollment]");
  const char *created = strstr(text, "created=");
  g_autofree char *line = g_strndup(created, strchr(created, '\n') - created + 1);
  g_autofree char *missing = replace(text, line, "");
  expect_error(missing, HV_ENROLLMENT_ERROR_MALFORMED, "created is missing");
  g_autofree char *badsig = replace(text, "signature=", "signature=!!");
  expect_error(badsig, HV_ENROLLMENT_ERROR_MALFORMED, "base64");
  g_autofree char *hex = hv_hex(f->device->pk, HV_DEVICE_PK_SIZE);
  g_autofree char *shorthex = replace(text, hex, "abcd");
  expect_error(shorthex, HV_ENROLLMENT_ERROR_MALFORMED, "64 hex digits");
  expect_error("", HV_ENROLLMENT_ERROR_MALFORMED, "no signature= line");
}

static void
test_id_mismatch(Fixture *f, gconstpointer data)
{
  /* a file whose device-id is wrong but whose signature is good: signed after the edit */
  g_autofree char *text = make_text(f, "Room 1");
  g_autofree char *id = hv_key_id(f->device->pk, HV_DEVICE_PK_SIZE);
  g_autofree char *from = g_strdup_printf("device-id=%s", id);
  g_autofree char *body0 = g_strndup(text, strstr(text, "signature=") - text);
  g_autofree char *body = replace(body0, from, "device-id=0000000000000000");
  guint8 sig[crypto_sign_BYTES];
  crypto_sign_detached(sig, NULL, (const guint8 *) body, strlen(body), f->device->sk);
  char b64[sodium_base64_ENCODED_LEN(crypto_sign_BYTES, sodium_base64_VARIANT_ORIGINAL)];
  sodium_bin2base64(b64, sizeof b64, sig, sizeof sig, sodium_base64_VARIANT_ORIGINAL);
  g_autofree char *signed_text = g_strdup_printf("%ssignature=%s\n", body, b64);
  expect_error(signed_text, HV_ENROLLMENT_ERROR_MISMATCH, "is not the id of device-public-key");
}

int
main(int argc, char **argv)
{
  g_test_init(&argc, &argv, NULL);
  g_test_add("/enrollment/roundtrip", Fixture, NULL, fixture_setup, test_roundtrip, fixture_teardown);
  g_test_add("/enrollment/tampered", Fixture, NULL, fixture_setup, test_tampered, fixture_teardown);
  g_test_add("/enrollment/malformed", Fixture, NULL, fixture_setup, test_malformed, fixture_teardown);
  g_test_add("/enrollment/id-mismatch", Fixture, NULL, fixture_setup, test_id_mismatch, fixture_teardown);
  return g_test_run();
}
