// --trace-page on lesson 02: the page's HTTP/2 frames, with their HPACK blocks and
// the decoded fields (tests/e2e/trace_page.mjs).
import { tracePageTests } from './trace_page.mjs';

tracePageTests(2, {
  decoded: [/^#\d+ ← HEADERS stream=\d+ len=\d+ flags=END_HEADERS/, /^#\d+ ←   hpack [0-9a-f]{2}( |$)/,
    /^#\d+ ←   :method: POST$/, /^#\d+ ← DATA stream=\d+ len=\d+/, /^#\d+ → DATA stream=\d+ len=\d+/],
});
