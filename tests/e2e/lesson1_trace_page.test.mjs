// --trace-page on lesson 01: the page's own requests and responses, as the server
// parsed and wrote them (tests/e2e/trace_page.mjs).
import { tracePageTests } from './trace_page.mjs';

tracePageTests(1, {
  decoded: [/^#\d+ ← POST \/messages\?tracepage=\w+ HTTP\/1\.1$/, /^#\d+ ← content-type: application\/json$/i,
    /^#\d+ → HTTP\/1\.1 201 Created$/],
});
