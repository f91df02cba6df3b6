// --trace-page on lesson 04: the page's Engine.IO and Socket.IO packets, and the
// WebSocket frames under them (tests/e2e/trace_page.mjs).
import { tracePageTests } from './trace_page.mjs';

tracePageTests(4, {
  decoded: [/^eio \S+ ← websocket 42\d*\["msg:post"/, /^sio \S+ ← EVENT /,
    /^#\d+ ← FIN=1 text MASK=1 key=[0-9a-f]{8}/],
});
