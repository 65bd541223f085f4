/* One way to answer an HTTP request from a buffer, with the headers every
 * answer of Tolk's web server carries (no caching, no sniffing, no
 * referrer). Thread: control (the web server's loop). */
#ifndef TOLK_HTTP_REPLY_H
#define TOLK_HTTP_REPLY_H

#include <microhttpd.h>
#include <stddef.h>

enum MHD_Result http_reply(struct MHD_Connection *c, unsigned status, const char *type, const char *body, size_t len,
			   enum MHD_ResponseMemoryMode mode);

/* A line of plain text, copied. */
enum MHD_Result http_reply_text(struct MHD_Connection *c, unsigned status, const char *text);

#endif
