// SPDX-License-Identifier: GPL-2.0-or-later
/* report-html: the export's custody report as one printable, self-contained HTML page. */
#include "report-html.h"
#include "vault/vault.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

struct HvReportHtml {
  GString *fields;   /* <tr> rows of the summary */
  GString *sources;  /* <tr> rows of the sealed source files */
  GString *outputs;  /* <tr> rows of the exported files */
  GString *notes;    /* <p> paragraphs */
};

static const char css[] =
  "@page { size: A4; margin: 18mm 16mm 20mm 16mm; }\n"
  "body { font-family: 'DejaVu Serif', 'Liberation Serif', serif; font-size: 10pt; color: #000;"
  " background: #fff; margin: 0; }\n"
  "h1 { font-size: 16pt; margin: 0 0 4mm 0; border-bottom: 1.5pt solid #000; }\n"
  "h2 { font-size: 12pt; margin: 6mm 0 2mm 0; break-after: avoid; page-break-after: avoid; }\n"
  "table { border-collapse: collapse; width: 100%; }\n"
  "th, td { border: 0.5pt solid #555; padding: 1mm 1.5mm; text-align: left; vertical-align: top; }\n"
  "th { background: #eee; }\n"
  "thead { display: table-header-group; }\n"
  "tr { break-inside: avoid; page-break-inside: avoid; }\n"
  "table.summary th { width: 30%; }\n"
  ".mono, td.hash { font-family: 'DejaVu Sans Mono', 'Liberation Mono', monospace; font-size: 8.5pt; }\n"
  "td.hash { word-break: break-all; }\n"
  "td.text { white-space: pre-wrap; word-break: break-word; }\n"
  "p.note { border-left: 2pt solid #000; padding-left: 2mm; }\n"
  "@media screen { body { max-width: 180mm; margin: 10mm auto; } }\n";

HvReportHtml *
hv_report_html_new(void)
{
  HvReportHtml *r = g_new0(HvReportHtml, 1);
  r->fields = g_string_new(NULL);
  r->sources = g_string_new(NULL);
  r->outputs = g_string_new(NULL);
  r->notes = g_string_new(NULL);
  return r;
}

void
hv_report_html_free(HvReportHtml *r)
{
  if (!r)
    return;
  g_string_free(r->fields, TRUE);
  g_string_free(r->sources, TRUE);
  g_string_free(r->outputs, TRUE);
  g_string_free(r->notes, TRUE);
  g_free(r);
}

/* Printable first (no control characters, valid UTF-8), then HTML-escaped. */
static void
append_text(GString *out, const char *data, gssize len)
{
  g_autofree char *printable = hv_text_escape(data, len);
  g_autofree char *html = g_markup_escape_text(printable, -1);
  g_string_append(out, html);
}

static void
cell(GString *out, const char *tag, const char *klass, const char *data, gssize len)
{
  g_string_append_printf(out, "<%s%s%s%s>", tag, klass ? " class=\"" : "", klass ? klass : "",
                         klass ? "\"" : "");
  append_text(out, data, len);
  g_string_append_printf(out, "</%s>", tag);
}

void
hv_report_html_field(HvReportHtml *r, const char *label, const char *value)
{
  g_string_append(r->fields, "<tr>");
  cell(r->fields, "th", NULL, label, -1);
  cell(r->fields, "td", NULL, value, -1);
  g_string_append(r->fields, "</tr>\n");
}

static void
file_row(GString *out, const char *name, const char *sha256)
{
  g_string_append(out, "<tr>");
  cell(out, "td", "text", name, -1);
  cell(out, "td", "hash", sha256, -1);
  g_string_append(out, "</tr>\n");
}

void
hv_report_html_source_file(HvReportHtml *r, const char *path, const char *sha256)
{
  file_row(r->sources, path, sha256);
}

void
hv_report_html_output_file(HvReportHtml *r, const char *name, const char *sha256)
{
  file_row(r->outputs, name, sha256);
}

void
hv_report_html_note(HvReportHtml *r, const char *text)
{
  g_string_append(r->notes, "<p class=\"note\">");
  append_text(r->notes, text, -1);
  g_string_append(r->notes, "</p>\n");
}

void
hv_report_html_event_row(GString *out, const char *when, const char *offset, const char *type,
                         const char *text, gsize len)
{
  g_string_append(out, "<tr>");
  cell(out, "td", "mono", when, -1);
  cell(out, "td", "mono", offset, -1);
  cell(out, "td", NULL, type, -1);
  cell(out, "td", "text", text, (gssize) len);
  g_string_append(out, "</tr>\n");
}

static gboolean
put(FILE *f, const char *s, gsize n)
{
  return fwrite(s, 1, n, f) == n;
}

gboolean
hv_report_html_write(HvReportHtml *r, const char *path, FILE *rows, GError **error)
{
  g_autoptr(GString) head = g_string_new(
    "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
    "<title>Haven custody report</title>\n<style>\n");
  g_string_append(head, css);
  g_string_append(head, "</style>\n</head>\n<body>\n<h1>Haven custody report</h1>\n"
                        "<table class=\"summary\">\n");
  g_string_append(head, r->fields->str);
  g_string_append(head, "</table>\n<h2>Sealed source files (SHA-256)</h2>\n<table>\n<thead><tr><th>File</th>"
                        "<th>SHA-256</th></tr></thead>\n<tbody>\n");
  g_string_append(head, r->sources->str);
  g_string_append(head, "</tbody>\n</table>\n<h2>Events and markers</h2>\n<p>Device wall clock; offset "
                        "from the first record; text made printable and escaped.</p>\n<table>\n<thead><tr>"
                        "<th>Time</th><th>Offset</th><th>Type</th><th>Text</th></tr></thead>\n<tbody>\n");
  g_autoptr(GString) tail = g_string_new("</tbody>\n</table>\n<h2>Exported files (SHA-256)</h2>\n<table>\n"
                                         "<thead><tr><th>File</th><th>SHA-256</th></tr></thead>\n<tbody>\n");
  g_string_append(tail, r->outputs->str);
  g_string_append(tail, "</tbody>\n</table>\n");
  g_string_append(tail, r->notes->str);
  g_string_append(tail, "</body>\n</html>\n");

  FILE *out = fopen(path, "wxe");
  gboolean ok = out && put(out, head->str, head->len) && fflush(rows) == 0 && fseek(rows, 0, SEEK_SET) == 0;
  if (ok) {
    char buf[1 << 16];
    size_t n;
    while (ok && (n = fread(buf, 1, sizeof buf, rows)) > 0)
      ok = put(out, buf, n);
    ok = ok && !ferror(rows);
  }
  ok = ok && put(out, tail->str, tail->len) && fflush(out) == 0 && fsync(fileno(out)) == 0;
  int saved = errno;
  if (out && fclose(out) != 0 && ok) {
    saved = errno;
    ok = FALSE;
  }
  if (!ok)
    g_set_error(error, HV_VAULT_ERROR, HV_VAULT_ERROR_IO, "%s: %s", path, g_strerror(saved));
  return ok;
}
