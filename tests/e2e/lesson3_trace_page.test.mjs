// --trace-page on lesson 03: the page's WebSocket frames as the server decoded
// them, the masking key of each frame from the browser included
// (tests/e2e/trace_page.mjs).
import { tracePageTests } from './trace_page.mjs';

tracePageTests(3, {
  decoded: [/^#\d+ ← GET \/chat\?tracepage=\w+ HTTP\/1\.1$/,
    /^#\d+ ← FIN=1 text MASK=1 key=[0-9a-f]{8} len=\d+ "\{\\?"type/, /^#\d+ → FIN=1 text MASK=0 len=\d+/],
});
