// Lesson 01 killed with SIGKILL while 4 posters send 2,000 messages (crash.mjs):
// every acknowledged message is in the history once, in id order.
import { test } from 'node:test';
import { crashTest } from './crash.mjs';

async function post(port, body) {
  const res = await fetch(`http://127.0.0.1:${port}/messages`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status !== 201) throw new Error(json.error ?? `HTTP ${res.status}`);
  return json;
}

async function read(port, since) {
  const res = await fetch(`http://127.0.0.1:${port}/messages?since=${since}&wait=0`);
  if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
  return (await res.json()).messages;
}

test('SIGKILL at random moments loses no acknowledged post and doubles none', {
  timeout: 300_000,
}, () => crashTest(1, { post, read }));
