/* esc: escaping for everything that leaves rift (JSON, XML, text lines), so
 * that report.json and junit.xml parse whatever a path, a server reply or
 * a packet on the wire holds. Bytes that are not valid UTF-8 become
 * U+FFFD. */
#ifndef RIFT_ESC_H
#define RIFT_ESC_H

#include <stddef.h>
#include <stdbool.h>
#include <stdio.h>

/* s as a JSON string, quotes included. */
void esc_json(FILE *f, const char *s);
/* s as XML character data or an attribute value (no quotes added). */
void esc_xml(FILE *f, const char *s);
/* BEFORE as it is, S escaped for XML, AFTER as it is: one cell of a page. */
void esc_xml_in(FILE *f, const char *before, const char *s, const char *after);
/* s with every byte outside printable ASCII as \xNN, for one-line text. */
void esc_text(char *out, size_t len, const char *s);
/* "FILE:LINE: MSG" with the file name and the message escaped as text: a
 * loader's error quotes what the file held. */
void esc_file_line(char *out, size_t len, const char *file, int line, const char *msg);
/* word quoted for a POSIX shell (bash for a word with control bytes), so
 * that pasted back it is the same one word. false when it does not fit. */
bool esc_shell(char *out, size_t len, const char *word);
/* argv as one shell command line, each word quoted as esc_shell does. */
bool esc_shell_line(char *out, size_t len, int argc, const char *const *argv);
/* s is one well-formed JSON object and nothing else (strict: valid UTF-8,
 * no raw control bytes, nesting up to 64). */
bool esc_json_object(const char *s);
/* s into a JSON document: as it is when esc_json_object(s), else as
 * {"unparsed":"<s escaped>"}: what came from a probe or a remote host never
 * breaks the document it goes into. */
void esc_json_embed(FILE *f, const char *s);
/* Length of the valid UTF-8 sequence at s (1-4), 0 if it is not one. */
size_t esc_utf8_len(const unsigned char *s);
/* The string field key of a one-line JSON object, its escapes undone (a
 * \\u escape outside ASCII becomes '?'), cut to len - 1 bytes. false when
 * the field is not there or its string does not end. */
bool esc_json_field(const char *line, const char *key, char *out, size_t len);

#endif
