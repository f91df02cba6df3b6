// Raw HTTP/1.1 requests for the stages (check1.mjs, check4.mjs), one connection each.

// One request on its own connection; resolves with { sent, status, body } or, in
// `failed`, what came instead (the connection closed, or no answer within ms).
export async function request(t, method, target, body, ms, type = 'application/json') {
  const c = await t.connect();
  const head = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1'];
  if (body !== undefined)
    head.push(`Content-Type: ${type}`, `Content-Length: ${Buffer.byteLength(body)}`);
  const sent = [...head, ...(body === undefined ? [] : ['', body])];
  c.send(head.join('\r\n') + '\r\n\r\n' + (body ?? ''));
  const r = await c.read((b) => {
    const end = b.indexOf('\r\n\r\n');
    if (end < 0) return undefined;
    const text = b.subarray(0, end).toString('latin1');
    const length = Number(/\r\ncontent-length:\s*(\d+)/i.exec(text)?.[1] ?? 0);
    if (b.length < end + 4 + length) return undefined;
    return { status: Number(text.split(' ')[1]),
      body: b.subarray(end + 4, end + 4 + length).toString() };
  }, ms);
  if (r.value) return { sent, ...r.value };
  const got = c.bytes.length ? [`${c.bytes.toString('latin1').slice(0, 80)} ...`] : [];
  got.push(r.closed ? 'the server closed the connection' :
    `nothing within ${(ms ?? Number(process.env.EXERCISE_WAIT_MS ?? 5000)) / 1000} s`);
  return { sent, failed: got };
}
