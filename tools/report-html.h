/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * report-html: the printable HTML twin of the export's custody report. One
 * self-contained page (inline CSS for A4, no script, no external resource);
 * every text from the session or the command line is made printable
 * (hv_text_escape) and then HTML-escaped (g_markup_escape_text).
 * Event rows are streamed to a scratch file by the caller, as for the text
 * report, so memory stays bounded whatever the number of events.
 */
#pragma once

#include <glib.h>
#include <stdio.h>

G_BEGIN_DECLS

typedef struct HvReportHtml HvReportHtml;

HvReportHtml *hv_report_html_new(void);
void          hv_report_html_free(HvReportHtml *r);
G_DEFINE_AUTOPTR_CLEANUP_FUNC(HvReportHtml, hv_report_html_free)

/* One "label: value" line of the summary (value: UTF-8 or not, any bytes). */
void hv_report_html_field(HvReportHtml *r, const char *label, const char *value);
/* One sealed source file, or one exported file, with its SHA-256. */
void hv_report_html_source_file(HvReportHtml *r, const char *path, const char *sha256);
void hv_report_html_output_file(HvReportHtml *r, const char *name, const char *sha256);
/* A paragraph after the file list (a warning, the signature statement). */
void hv_report_html_note(HvReportHtml *r, const char *text);

/* Append one event row (<tr>…</tr>\n) to out; text is len raw bytes from the session. */
void hv_report_html_event_row(GString *out, const char *when, const char *offset, const char *type,
                              const char *text, gsize len);

/* Write the page to path (created exclusively, fsynced), with the event rows
 * read from the start of rows. */
gboolean hv_report_html_write(HvReportHtml *r, const char *path, FILE *rows, GError **error)
    G_GNUC_WARN_UNUSED_RESULT;

G_END_DECLS
