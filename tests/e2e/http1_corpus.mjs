// A corpus of hostile and unusual HTTP/1.1 requests, as raw bytes, for the
// differential test (lesson1_http1_diff.test.mjs): each entry is sent to lesson
// 01 and to Node's own HTTP server (llhttp), and both must read it the same way.
// Requests go to paths lesson 01 answers (/style.css, /messages), so what it made
// of them shows in its answers: a 200 for an asset, a 201 echoing a posted text.
//
// Each entry: [name, bytes]. `DIFFERENCES` lists, by name, the entries where we
// deliberately disagree with llhttp, what we do, and the rule that says so.

const H = 'Host: localhost\r\n';
const CT = 'Content-Type: application/json\r\n';
// A chat post whose text names the request, so a body read wrongly shows.
const msg = (text) => JSON.stringify({ user: 'u', text });
const J = msg('t');
const len = (s) => Buffer.byteLength(s, 'latin1');
const get = (target = '/style.css', extra = '', version = 'HTTP/1.1') =>
  `GET ${target} ${version}\r\n${H}${extra}\r\n`;
const postCL = (body = J, extra = '') =>
  `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length: ${len(body)}\r\n${extra}\r\n${body}`;
const postTE = (framing, extra = '', te = 'Transfer-Encoding: chunked\r\n') =>
  `POST /messages HTTP/1.1\r\n${H}${CT}${te}${extra}\r\n${framing}`;
const hex = (s) => len(s).toString(16);
const chunk = (s, ext = '') => `${hex(s)}${ext}\r\n${s}\r\n`;
const SMUGGLED = get('/chat.js');

export const CORPUS = [
  // Plain requests both must accept.
  ['GET asset', get()],
  ['GET root', get('/')],
  ['GET asset with query', get('/style.css?v=1')],
  ['GET root with empty query', get('/?')],
  ['GET chat.js with ?', get('/chat.js?')],
  ['GET unknown path', get('/nope')],
  ['GET messages', get('/messages')],
  ['HEAD asset', `HEAD /style.css HTTP/1.1\r\n${H}\r\n`],
  ['POST with Content-Length', postCL()],
  ['POST chunked', postTE(chunk(J) + '0\r\n\r\n')],
  ['POST chunked, many chunks', postTE([...J].map((c) => chunk(c)).join('') + '0\r\n\r\n')],
  ['POST chunked, uppercase hex', postTE(`1A\r\n${msg('x'.repeat(7))}\r\n0\r\n\r\n`)],
  ['POST chunked, leading zeros in size', postTE(`00${hex(J)}\r\n${J}\r\n0\r\n\r\n`)],
  ['POST chunked, last-chunk 000', postTE(chunk(J) + '000\r\n\r\n')],
  ['POST empty body', postCL('')],
  ['POST bad JSON', postCL('{nope')],
  ['POST without Content-Type', `POST /messages HTTP/1.1\r\n${H}Content-Length: ${len(J)}\r\n\r\n${J}`],
  ['PUT asset', `PUT /style.css HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`],
  ['DELETE messages', `DELETE /messages HTTP/1.1\r\n${H}\r\n`],
  ['OPTIONS *', `OPTIONS * HTTP/1.1\r\n${H}\r\n`],
  ['OPTIONS asset', `OPTIONS /style.css HTTP/1.1\r\n${H}\r\n`],
  ['HTTP/1.0 GET', 'GET /style.css HTTP/1.0\r\n\r\n'],
  ['HTTP/1.0 GET keep-alive', 'GET /style.css HTTP/1.0\r\nConnection: keep-alive\r\n\r\n'],
  ['HTTP/1.0 POST', `POST /messages HTTP/1.0\r\n${CT}Content-Length: ${len(J)}\r\n\r\n${J}`],
  ['Connection: close', get('/style.css', 'Connection: close\r\n')],
  ['Connection keep-alive then close', get('/style.css', 'Connection: keep-alive\r\nConnection: close\r\n')],
  ['one leading CRLF', `\r\n${get()}`],
  ['two leading CRLFs', `\r\n\r\n${get()}`],
  ['header without value', get('/style.css', 'X-Empty:\r\n')],
  ['header with tabs around value', get('/style.css', 'X-T:\t v \t\r\n')],
  ['header value with obs-text', get('/style.css', 'X-T: caf\xe9\r\n')],
  ['header value with inner spaces', get('/style.css', 'X-T: a  b   c\r\n')],
  ['many headers', get('/style.css', Array.from({ length: 50 }, (_, i) => `X-${i}: ${i}\r\n`).join(''))],
  ['mixed-case field names', `GET /style.css HTTP/1.1\r\nhOsT: localhost\r\nCONTENT-length: 0\r\n\r\n`],
  ['Expect: 100-continue with body', postCL(J, 'Expect: 100-continue\r\n')],
  ['absolute-form http', get('http://localhost/style.css')],
  ['absolute-form HTTP uppercase', get('HTTP://LOCALHOST/style.css?v=2')],
  ['absolute-form https', get('https://localhost:8443/style.css')],
  ['absolute-form with empty path', get('http://localhost')],
  ['target with percent-encoding', get('/style%2Ecss')],
  ['target with fragment', get('/style.css#top')],
  ['target with dot segments', get('/a/../style.css')],
  ['target with double slash', get('//style.css')],
  ['target with raw UTF-8', get('/caf\xc3\xa9')],
  ['target with backslash', get('/style.css\\x')],
  ['target with quote', get('/"x"')],
  ['target with braces', get('/{x}')],
  ['target with pipe and caret', get('/a|b^c')],
  ['long target', get(`/style.css?${'q'.repeat(4000)}`)],
  ['IPv6 Host', `GET /style.css HTTP/1.1\r\nHost: [::1]:8001\r\n\r\n`],
  ['IPv4 Host with port', `GET /style.css HTTP/1.1\r\nHost: 127.0.0.1:80\r\n\r\n`],
  ['empty Host', `GET /style.css HTTP/1.1\r\nHost:\r\n\r\n`],
  ['lowercase method token', `get /style.css HTTP/1.1\r\n${H}\r\n`],
  ['unknown method', `FROB /style.css HTTP/1.1\r\n${H}\r\n`],
  ['method PATCH', `PATCH /messages HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n`],
  ['HTTP/1.2', get('/style.css', '', 'HTTP/1.2')],
  ['HTTP/1.9', get('/style.css', '', 'HTTP/1.9')],

  // Pipelining: the boundaries between requests must fall in the same places.
  ['two GETs', get() + get('/chat.js')],
  ['three GETs', get() + get('/') + get('/client.js')],
  ['GET then POST', get() + postCL(msg('second'))],
  ['POST then GET', postCL(msg('first')) + get()],
  ['two chunked POSTs', postTE(chunk(msg('a')) + '0\r\n\r\n') + postTE(chunk(msg('b')) + '0\r\n\r\n')],
  ['chunked POST then GET', postTE(chunk(msg('c')) + '0\r\n\r\n') + get()],
  ['body longer than Content-Length', postCL(J).replace(`Content-Length: ${len(J)}`, `Content-Length: ${len(J) - 5}`)],
  ['HEAD then GET', `HEAD /style.css HTTP/1.1\r\n${H}\r\n` + get('/chat.js')],
  ['GET, bad request, GET', get() + 'BAD\r\n\r\n' + get('/chat.js')],
  ['GET then bare-LF request', get() + `GET /chat.js HTTP/1.1\n${H}\r\n`],
  ['20 pipelined GETs', get().repeat(20)],
  ['GET with Content-Length body then GET', `GET /style.css HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello` + get('/chat.js')],
  ['CRLF between pipelined requests', get() + '\r\n' + get('/chat.js')],
  ['HTTP/1.0 keep-alive then GET', 'GET /style.css HTTP/1.0\r\nConnection: keep-alive\r\n\r\n' + get('/chat.js')],
  ['HTTP/1.0 without keep-alive then GET', 'GET /style.css HTTP/1.0\r\n\r\n' + get('/chat.js')],
  ['Connection: close then GET', get('/style.css', 'Connection: close\r\n') + get('/chat.js')],

  // Request smuggling: Content-Length and Transfer-Encoding together.
  ['CL.TE', `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG` + get()],
  ['TE.CL', `POST /messages HTTP/1.1\r\n${H}${CT}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\n${SMUGGLED}\r\n0\r\n\r\n`],
  ['TE.TE with junk coding', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n')],
  ['TE chunked twice (two lines)', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n')],
  ['TE chunked, chunked', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: chunked, chunked\r\n')],
  ['TE Chunked (case)', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: Chunked\r\n')],
  ['TE CHUNKED', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: CHUNKED\r\n')],
  ['TE with trailing space', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: chunked \r\n')],
  ['TE with tab before value', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding:\tchunked\r\n')],
  ['TE xchunked', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: xchunked\r\n')],
  ['TE chunkedx', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: chunkedx\r\n')],
  ['TE "chunked" quoted', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: "chunked"\r\n')],
  ['TE identity', `POST /messages HTTP/1.1\r\n${H}${CT}Transfer-Encoding: identity\r\nContent-Length: ${len(J)}\r\n\r\n${J}`],
  ['TE gzip, chunked', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: gzip, chunked\r\n')],
  ['TE chunked, gzip', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: chunked, gzip\r\n')],
  ['TE gzip alone', postTE(J, '', 'Transfer-Encoding: gzip\r\n')],
  ['TE empty value', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding:\r\n')],
  ['TE with comma and empty element', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: , chunked\r\n')],
  ['TE space before colon', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding : chunked\r\n')],
  ['TE obs-folded', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding:\r\n chunked\r\n')],
  ['TE in HTTP/1.0', `POST /messages HTTP/1.0\r\n${CT}Transfer-Encoding: chunked\r\n\r\n${chunk(J)}0\r\n\r\n`],
  ['TE with vertical tab', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer-Encoding: \x0bchunked\r\n')],
  ['TE name with underscore', postTE(chunk(J) + '0\r\n\r\n', '', 'Transfer_Encoding: chunked\r\n')],
  ['CL then TE, TE last', `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length: ${len(J)}\r\nTransfer-Encoding: chunked\r\n\r\n${J}`],

  // Content-Length variants.
  ['CL duplicate equal', postCL(J, `Content-Length: ${len(J)}\r\n`)],
  ['CL duplicate different', postCL(J, `Content-Length: ${len(J) + 1}\r\n`)],
  ['CL list of equal values', postCL(J).replace(`Content-Length: ${len(J)}`, `Content-Length: ${len(J)}, ${len(J)}`)],
  ['CL with plus', postCL(J).replace(`Content-Length: ${len(J)}`, `Content-Length: +${len(J)}`)],
  ['CL negative', `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length: -1\r\n\r\n`],
  ['CL with leading zeros', postCL(J).replace(`Content-Length: ${len(J)}`, `Content-Length: 000${len(J)}`)],
  ['CL hex', postCL(J).replace(`Content-Length: ${len(J)}`, `Content-Length: 0x${len(J).toString(16)}`)],
  ['CL with inner space', `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length: 2 3\r\n\r\n${J}`],
  ['CL with trailing space', postCL(J).replace(`Content-Length: ${len(J)}`, `Content-Length: ${len(J)}  `)],
  ['CL empty', `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length:\r\n\r\n${J}`],
  ['CL letters', `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length: abc\r\n\r\n${J}`],
  ['CL decimal point', `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length: 23.0\r\n\r\n${J}`],
  ['CL huge', `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length: 99999999999999999999\r\n\r\n${J}`],
  ['CL over 2^64', `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length: 18446744073709551617\r\n\r\n${J}`],
  ['CL space before colon', `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length : ${len(J)}\r\n\r\n${J}`],
  ['CL obs-folded', `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length:\r\n ${len(J)}\r\n\r\n${J}`],
  ['CL zero on GET', get('/style.css', 'Content-Length: 0\r\n')],
  ['CL with NUL', `POST /messages HTTP/1.1\r\n${H}${CT}Content-Length: 23\x00\r\n\r\n${J}`],

  // Bare CR and LF in the head (RFC 9112 §2.2).
  ['request line ends in bare LF', `GET /style.css HTTP/1.1\n${H}\r\n`],
  ['header line ends in bare LF', `GET /style.css HTTP/1.1\r\nHost: localhost\n\r\n`],
  ['head ends in bare LF LF', `GET /style.css HTTP/1.1\nHost: localhost\n\n`],
  ['head ends in CRLF LF', `GET /style.css HTTP/1.1\r\n${H}\n`],
  ['bare CR in header value', get('/style.css', 'X-A: a\rb\r\n')],
  ['bare CR ending a header line', `GET /style.css HTTP/1.1\r\nHost: localhost\r\rX: y\r\n\r\n`],
  ['bare CR in request line', `GET /style.css\rHTTP/1.1\r\n${H}\r\n`],
  ['bare LF in header value', get('/style.css', 'X-A: a\nb\r\n')],
  ['leading bare LF', `\n${get()}`],
  ['CR CR LF', `GET /style.css HTTP/1.1\r\r\n${H}\r\n`],
  ['NUL in header value', get('/style.css', 'X-A: a\x00b\r\n')],
  ['NUL in target', get('/style.css\x00')],
  ['DEL in header value', get('/style.css', 'X-A: a\x7fb\r\n')],
  ['ESC in header value', get('/style.css', 'X-A: \x1b[31m\r\n')],
  ['form feed in header value', get('/style.css', 'X-A: a\x0cb\r\n')],
  ['vertical tab in header value', get('/style.css', 'X-A: a\x0bb\r\n')],
  ['tab in target', `GET /style\t.css HTTP/1.1\r\n${H}\r\n`],
  ['space in target', `GET /style .css HTTP/1.1\r\n${H}\r\n`],

  // Field grammar (RFC 9112 §5).
  ['obs-fold continuation', get('/style.css', 'X-A: a\r\n b\r\n')],
  ['obs-fold with tab', get('/style.css', 'X-A: a\r\n\tb\r\n')],
  ['first header folded', `GET /style.css HTTP/1.1\r\n ${H}\r\n`],
  ['space before colon', get('/style.css', 'X-A : b\r\n')],
  ['tab before colon', get('/style.css', 'X-A\t: b\r\n')],
  ['empty field name', get('/style.css', ': b\r\n')],
  ['line without colon', get('/style.css', 'NoColon\r\n')],
  ['field name with space', get('/style.css', 'X A: b\r\n')],
  ['field name with @', get('/style.css', 'X@A: b\r\n')],
  ['field name with (', get('/style.css', 'X(A: b\r\n')],
  ['field name with /', get('/style.css', 'X/A: b\r\n')],
  ['field name with [', get('/style.css', 'X[A: b\r\n')],
  ['field name with {', get('/style.css', 'X{A: b\r\n')],
  ['field name with "', get('/style.css', 'X"A: b\r\n')],
  ['field name with =', get('/style.css', 'X=A: b\r\n')],
  ['field name with ;', get('/style.css', 'X;A: b\r\n')],
  ['field name with ,', get('/style.css', 'X,A: b\r\n')],
  ['field name with ?', get('/style.css', 'X?A: b\r\n')],
  ['field name with obs-text', get('/style.css', 'X\xe9: b\r\n')],
  ['field name with tchars', get('/style.css', "X!#$%&'*+-.^_`|~: b\r\n")],
  ['colon in value', get('/style.css', 'X-A: b:c\r\n')],
  ['head of 10 KiB', get('/style.css', `X-Big: ${'b'.repeat(10 * 1024)}\r\n`)],
  ['head of 7 KiB', get('/style.css', `X-Big: ${'b'.repeat(7 * 1024)}\r\n`)],
  ['head of 20 KiB', get('/style.css', `X-Big: ${'b'.repeat(20 * 1024)}\r\n`)],

  // Request line grammar (RFC 9112 §3).
  ['two spaces after method', `GET  /style.css HTTP/1.1\r\n${H}\r\n`],
  ['two spaces before version', `GET /style.css  HTTP/1.1\r\n${H}\r\n`],
  ['trailing space after version', `GET /style.css HTTP/1.1 \r\n${H}\r\n`],
  ['tab as separator', `GET\t/style.css\tHTTP/1.1\r\n${H}\r\n`],
  ['leading space', ` GET /style.css HTTP/1.1\r\n${H}\r\n`],
  ['no version (HTTP/0.9)', 'GET /style.css\r\n\r\n'],
  ['lowercase version', `GET /style.css http/1.1\r\n${H}\r\n`],
  ['version HTTP/2.0', get('/style.css', '', 'HTTP/2.0')],
  ['version HTTP/0.9', get('/style.css', '', 'HTTP/0.9')],
  ['version HTTP/3.0', get('/style.css', '', 'HTTP/3.0')],
  ['version HTTP/1.10', get('/style.css', '', 'HTTP/1.10')],
  ['version HTTP/01.1', get('/style.css', '', 'HTTP/01.1')],
  ['version HTTP/1', get('/style.css', '', 'HTTP/1')],
  ['version HTTP/1.1x', get('/style.css', '', 'HTTP/1.1x')],
  ['version HTTPS/1.1', get('/style.css', '', 'HTTPS/1.1')],
  ['empty target', `GET  HTTP/1.1\r\n${H}\r\n`],
  ['target without slash', get('style.css')],
  ['asterisk with GET', get('*')],
  ['authority-form with GET', get('localhost:80')],
  ['CONNECT authority-form', `CONNECT localhost:443 HTTP/1.1\r\n${H}\r\n`],
  ['absolute-form ftp', get('ftp://localhost/style.css')],
  ['absolute-form with userinfo', get('http://user@localhost/style.css')],
  ['absolute-form without host', get('http:///style.css')],
  ['method with (', `GE(T /style.css HTTP/1.1\r\n${H}\r\n`],
  ['method with /', `G/T /style.css HTTP/1.1\r\n${H}\r\n`],
  ['empty method', ` /style.css HTTP/1.1\r\n${H}\r\n`],
  ['only CRLFs', '\r\n\r\n\r\n'],
  ['garbage', 'hello world\r\n\r\n'],
  ['binary garbage', '\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03'],
  ['HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'],

  // Host (RFC 9112 §3.2).
  ['no Host in HTTP/1.1', 'GET /style.css HTTP/1.1\r\n\r\n'],
  ['two Host lines', `GET /style.css HTTP/1.1\r\n${H}${H}\r\n`],
  ['two different Hosts', `GET /style.css HTTP/1.1\r\n${H}Host: evil\r\n\r\n`],
  ['Host list', 'GET /style.css HTTP/1.1\r\nHost: a, b\r\n\r\n'],
  ['Host with space', 'GET /style.css HTTP/1.1\r\nHost: a b\r\n\r\n'],
  ['Host with slash', 'GET /style.css HTTP/1.1\r\nHost: a/b\r\n\r\n'],
  ['Host with userinfo', 'GET /style.css HTTP/1.1\r\nHost: u@a\r\n\r\n'],
  ['Host with bad port', 'GET /style.css HTTP/1.1\r\nHost: a:8x\r\n\r\n'],
  ['Host with open bracket', 'GET /style.css HTTP/1.1\r\nHost: [::1\r\n\r\n'],
  ['Host percent-encoded', 'GET /style.css HTTP/1.1\r\nHost: a%41b\r\n\r\n'],
  ['Host with bad percent', 'GET /style.css HTTP/1.1\r\nHost: a%4\r\n\r\n'],
  ['Host with obs-text', 'GET /style.css HTTP/1.1\r\nHost: caf\xe9\r\n\r\n'],
  ['HTTP/1.0 two Hosts', `GET /style.css HTTP/1.0\r\n${H}${H}\r\n`],

  // Chunked framing (RFC 9112 §7.1).
  ['chunk-ext name', postTE(chunk(J, ';a') + '0\r\n\r\n')],
  ['chunk-ext name=value', postTE(chunk(J, ';a=b') + '0\r\n\r\n')],
  ['chunk-ext quoted value', postTE(chunk(J, ';a="b c"') + '0\r\n\r\n')],
  ['chunk-ext quoted-pair', postTE(chunk(J, ';a="b\\"c"') + '0\r\n\r\n')],
  ['chunk-ext two', postTE(chunk(J, ';a=1;b=2') + '0\r\n\r\n')],
  ['chunk-ext on last chunk', postTE(chunk(J) + '0;end=1\r\n\r\n')],
  ['chunk-ext BWS before ;', postTE(chunk(J, ' ;a') + '0\r\n\r\n')],
  ['chunk-ext BWS around =', postTE(chunk(J, ';a = b') + '0\r\n\r\n')],
  ['chunk-ext empty', postTE(chunk(J, ';') + '0\r\n\r\n')],
  ['chunk-ext no value after =', postTE(chunk(J, ';a=') + '0\r\n\r\n')],
  ['chunk-ext space in name', postTE(chunk(J, ';a b') + '0\r\n\r\n')],
  ['chunk-ext unterminated quote', postTE(chunk(J, ';a="b') + '0\r\n\r\n')],
  ['chunk-ext bad char in value', postTE(chunk(J, ';a=b@c') + '0\r\n\r\n')],
  ['chunk-ext NUL', postTE(chunk(J, ';a\x00') + '0\r\n\r\n')],
  ['chunk-ext bare CR', postTE(chunk(J, ';a\rb') + '0\r\n\r\n')],
  ['chunk-ext bare LF', postTE(chunk(J, ';a\nb') + '0\r\n\r\n')],
  ['chunk-ext DEL', postTE(chunk(J, ';a\x7f') + '0\r\n\r\n')],
  ['chunk-ext obs-text in quotes', postTE(chunk(J, ';a="\xe9"') + '0\r\n\r\n')],
  ['chunk-ext of 2000 bytes', postTE(chunk(J, `;a=${'x'.repeat(2000)}`) + '0\r\n\r\n')],
  ['space before chunk size', postTE(` ${hex(J)}\r\n${J}\r\n0\r\n\r\n`)],
  ['space after chunk size', postTE(`${hex(J)} \r\n${J}\r\n0\r\n\r\n`)],
  ['tab after chunk size', postTE(`${hex(J)}\t\r\n${J}\r\n0\r\n\r\n`)],
  ['space after last-chunk 0', postTE(`${chunk(J)}0 \r\n\r\n`)],
  ['chunk size with 0x', postTE(`0x${hex(J)}\r\n${J}\r\n0\r\n\r\n`)],
  ['chunk size negative', postTE(`-1\r\n${J}\r\n0\r\n\r\n`)],
  ['chunk size with +', postTE(`+${hex(J)}\r\n${J}\r\n0\r\n\r\n`)],
  ['chunk size not hex', postTE(`zz\r\n${J}\r\n0\r\n\r\n`)],
  ['chunk size empty', postTE(`\r\n${J}\r\n0\r\n\r\n`)],
  ['chunk size overflowing 64 bits', postTE(`10000000000000017\r\n${J}\r\n0\r\n\r\n`)],
  ['chunk size huge', postTE(`ffffffffffffffffff\r\n${J}\r\n0\r\n\r\n`)],
  ['chunk size over the body limit', postTE(`10001\r\n${J}\r\n0\r\n\r\n`)],
  ['chunk size with underscore', postTE(`1_7\r\n${J}\r\n0\r\n\r\n`)],
  ['bare LF after chunk size', postTE(`${hex(J)}\n${J}\r\n0\r\n\r\n`)],
  ['bare CR after chunk size', postTE(`${hex(J)}\r${J}\r\n0\r\n\r\n`)],
  ['bare LF after chunk data', postTE(`${hex(J)}\r\n${J}\n0\r\n\r\n`)],
  ['no CRLF after chunk data', postTE(`${hex(J)}\r\n${J}0\r\n\r\n`)],
  ['chunk data longer than size', postTE(`${(len(J) - 3).toString(16)}\r\n${J}\r\n0\r\n\r\n`)],
  ['chunk data shorter than size', postTE(`${(len(J) + 3).toString(16)}\r\n${J}\r\n0\r\n\r\n`)],
  ['bare LF after last-chunk', postTE(`${chunk(J)}0\n\r\n`)],
  ['bare LF ending the body', postTE(`${chunk(J)}0\r\n\n`)],
  ['smuggle: bare LF ending the body, then a request', postTE(`${chunk(J)}0\r\n\n${SMUGGLED}`)],
  ['smuggle: bare LF trailer then request', postTE(`${chunk(J)}0\r\nX: y\n\r\n${SMUGGLED}`)],
  ['trailer field', postTE(`${chunk(J)}0\r\nX-Trailer: 1\r\n\r\n`)],
  ['two trailer fields', postTE(`${chunk(J)}0\r\nX-A: 1\r\nX-B: 2\r\n\r\n`)],
  ['trailer without colon', postTE(`${chunk(J)}0\r\nnocolon\r\n\r\n`)],
  ['trailer with space before colon', postTE(`${chunk(J)}0\r\nX-A : 1\r\n\r\n`)],
  ['trailer obs-fold', postTE(`${chunk(J)}0\r\nX-A: 1\r\n 2\r\n\r\n`)],
  ['trailer with NUL', postTE(`${chunk(J)}0\r\nX-A: \x00\r\n\r\n`)],
  ['trailer bare CR', postTE(`${chunk(J)}0\r\nX-A: 1\r\r\n\r\n`)],
  ['trailer that looks like a request line', postTE(`${chunk(J)}0\r\nGET /chat.js HTTP/1.1\r\n\r\n`)],
  ['trailers of 10 KiB', postTE(`${chunk(J)}0\r\nX-Big: ${'t'.repeat(10 * 1024)}\r\n\r\n`)],
  ['chunked then pipelined request', postTE(`${chunk(J)}0\r\n\r\n${SMUGGLED}`)],
  ['chunked with zero-size chunk in the middle', postTE(`${chunk(J.slice(0, 5))}0\r\n\r\n${chunk(J.slice(5))}0\r\n\r\n`)],
  ['chunked body in one-byte chunks with extensions', postTE([...J].map((c) => chunk(c, ';i')).join('') + '0\r\n\r\n')],
  ['chunked, Content-Length after', `POST /messages HTTP/1.1\r\n${H}${CT}Transfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n${chunk(J)}0\r\n\r\n`],
  ['chunked with Expect', postTE(`${chunk(J)}0\r\n\r\n`, 'Expect: 100-continue\r\n')],
  ['Expect other than 100-continue', postCL(J, 'Expect: 200-ok\r\n')],
  ['Expect list with 100-continue', postCL(J, 'Expect: 100-continue, x\r\n')],
  ['chunked, missing last-chunk CRLF', postTE(`${chunk(J)}0\r\n`)],
  ['chunked, body never ends', postTE(chunk(J))],

  // Incomplete requests: the connection ends inside them.
  ['head cut short', `GET /style.css HTTP/1.1\r\n${H}`],
  ['request line cut short', 'GET /style.c'],
  ['body cut short', postCL(J).slice(0, -5)],
  ['GET then cut short', get() + 'GET /chat.js HTTP/1.1\r\n'],
];

// Where lesson 01 and llhttp deliberately disagree: what we do, and why.
// `ours` is what lesson 01 does with the entry: 'refuse' (a 4xx/5xx and close) or
// 'accept' (answered as routed).
const HOST = { ours: 'refuse', why: 'RFC 9112 §3.2: a server MUST answer 400 to a request ' +
  'with more than one Host line or an invalid Host (uri-host [":" port], RFC 3986 ' +
  '§3.2.2); llhttp does not look at Host, and Node only checks that one is there' };
export const DIFFERENCES = {
  'lowercase method token': { ours: 'accept', why: 'RFC 9110 §9.1, RFC 9112 §3.1: a ' +
    'method is any token (and case-sensitive); llhttp knows a fixed list of methods. ' +
    'Lesson 01 routes it: 405 for a method the resource does not allow' },
  'unknown method': { ours: 'accept', why: 'RFC 9110 §9.1: a method is any token; ' +
    'llhttp refuses methods it does not list. Lesson 01 answers 405 with Allow' },
  'HTTP/1.2': { ours: 'accept', why: 'RFC 9110 §2.5: a higher minor version of a ' +
    'major version we speak SHOULD be read as the highest minor we know (1.1); ' +
    'llhttp refuses any version but 1.0 and 1.1 (and 0.9, 2.0)' },
  'HTTP/1.9': { ours: 'accept', why: 'RFC 9110 §2.5, as for HTTP/1.2' },
  'version HTTP/2.0': { ours: 'refuse', why: 'RFC 9110 §15.6.6: 505 for a major ' +
    'version we do not speak over this syntax; llhttp parses "HTTP/2.0" as HTTP/1' },
  'version HTTP/0.9': { ours: 'refuse', why: 'RFC 9110 §15.6.6: 505, HTTP/0.9 is not ' +
    'spoken here; llhttp takes it' },
  'no version (HTTP/0.9)': { ours: 'refuse', why: 'RFC 9112 §3: request-line = method ' +
    'SP request-target SP HTTP-version; an HTTP/0.9 simple request is not served ' +
    '(llhttp takes it)' },
  'two spaces after method': { ours: 'refuse', why: 'RFC 9112 §3: one SP between ' +
    'elements; parsing on whitespace boundaries is a MAY that §3 warns can be used ' +
    'for request smuggling' },
  'two spaces before version': { ours: 'refuse', why: 'RFC 9112 §3, as above' },
  'TE gzip, chunked': { ours: 'refuse', why: 'RFC 9112 §6.1: 501 for a transfer ' +
    'coding we do not implement (gzip); llhttp leaves the coding to its caller' },
  'TE empty value': { ours: 'refuse', why: 'RFC 9112 §6.3: a Transfer-Encoding ' +
    'whose final coding is not chunked gives no body length: 400. llhttp takes an ' +
    'empty one as absent, so the chunks become a second request' },
  'TE in HTTP/1.0': { ours: 'refuse', why: 'RFC 9112 §6.1: Transfer-Encoding in an ' +
    'HTTP/1.0 request MUST be treated as faulty framing; we refuse it outright' },
  'leading bare LF': { ours: 'refuse', why: 'RFC 9112 §2.2: only an empty line of ' +
    'CRLF is skipped before a request; a bare LF is refused everywhere (accepting ' +
    'it is a MAY, and a smuggling vector)' },
  'head of 10 KiB': { ours: 'refuse', why: 'RFC 9110 §5.4: a server MAY limit the ' +
    'head; ours is 8 KiB (431, RFC 6585 §5), Node\'s 16 KiB' },
  'trailers of 10 KiB': { ours: 'refuse', why: 'RFC 9112 §7.1.2 and RFC 9110 §5.4: ' +
    'trailers are held to the head limit, 8 KiB (431)' },
  'asterisk with GET': { ours: 'refuse', why: 'RFC 9112 §3.2.4: the asterisk-form is ' +
    'only for OPTIONS' },
  'absolute-form ftp': { ours: 'refuse', why: 'RFC 9112 §3.2.2: we serve only http ' +
    'and https targets (we are no proxy); llhttp takes any scheme' },
  'absolute-form with userinfo': { ours: 'refuse', why: 'RFC 9110 §4.2.4: userinfo in ' +
    'an http URI is deprecated, and a recipient SHOULD treat it as an error' },
  'absolute-form without host': { ours: 'refuse', why: 'RFC 9110 §4.2.1: an http URI ' +
    'with an empty host MUST be rejected as invalid' },
  'Expect list with 100-continue': { ours: 'refuse', why: 'RFC 9110 §10.1.1: Expect is ' +
    'a list, and a server MAY answer 417 when one member is not 100-continue; Node takes ' +
    'any value holding 100-continue as 100-continue (both answer 417 to 200-ok alone)' },
  'two Host lines': HOST,
  'two different Hosts': HOST,
  'Host list': HOST,
  'Host with space': HOST,
  'Host with slash': HOST,
  'Host with userinfo': HOST,
  'Host with bad port': HOST,
  'Host with open bracket': HOST,
  'Host with bad percent': HOST,
  'Host with obs-text': HOST,
  'HTTP/1.0 two Hosts': HOST,
  'chunk-ext BWS before ;': { ours: 'accept', why: 'RFC 9112 §7.1.1: chunk-ext = *( ' +
    'BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] ), and RFC 9110 §5.6.3: ' +
    'a recipient MUST parse BWS and remove it; llhttp refuses it' },
  'chunk-ext BWS around =': { ours: 'accept', why: 'RFC 9112 §7.1.1, as above' },
  'chunk-ext no value after =': { ours: 'refuse', why: 'RFC 9112 §7.1.1: after "=" ' +
    'comes a token or a quoted-string; llhttp takes an empty value' },
  'chunk-ext of 2000 bytes': { ours: 'refuse', why: 'RFC 9112 §7.1.1: a server ought ' +
    'to limit chunk extensions and answer 4xx past it; a chunk line is at most ' +
    '1,024 bytes here' },
};
