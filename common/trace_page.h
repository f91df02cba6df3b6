// --trace-page: the --trace lines of a page's own connections, kept for that page.
//
// The browser hides frames from JavaScript, so the page asks the server what it
// decoded. A page that turned its switch on names every URL it opens with a
// random token (?tracepage=TOKEN, ignored by the lessons) and fetches
//   GET /trace?page=TOKEN&after=SEQ  → {"lines":[...],"next":SEQ,"dropped":N}
// the trace lines (as --trace prints them) of the connections that carried its
// token, after line SEQ. A line's subject is its first word: "#12" (connection 12)
// or, after "eio "/"sio ", an Engine.IO session id. An HTTP/1.1 connection belongs
// to the page of the request it is carrying (bind(), on every request); an HTTP/2
// connection to the last page that sent a request on it; a session to the page of
// the connection that opened it (alias()). Everything is bounded: pages, lines
// per page (the oldest dropped and counted), bytes per line, remembered subjects.
// Off (the default), nothing is recorded and GET /trace is the lesson's own 404.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "http1.h"

namespace trace_page {

// Once at start-up, with --trace-page: trace lines are formatted from then on.
void enable();
bool enabled();

// Connection `id` now carries a request from page `token`; absent or malformed
// ("" too) means from no page, and its lines are no longer kept for anyone.
void bind(uint64_t id, std::optional<std::string_view> token);
// The same for a request target ("/messages?since=3&tracepage=TOKEN"), but only
// when it names a page: HTTP/2 carries every tab of a browser on one connection.
void bind_target(uint64_t id, std::string_view target);
// Lines about session `sid` ("eio <sid> ...") go to connection `id`'s page.
void alias(std::string_view sid, uint64_t id);
// HTTP/2: stream `stream` of connection `id` is a GET /trace: its lines (already
// kept, and to come) are nobody's, or each fetch would bring the last one's frames.
void mute(uint64_t id, uint32_t stream);

// GET /trace: the query of the request, e.g. "page=TOKEN&after=12". A 400 when
// page= is missing or malformed.
http::Response answer(const http::Request& req);

}  // namespace trace_page
