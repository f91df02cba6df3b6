// Lesson 01's stages (make check-1): long polling (RFC 6202 §2) over raw HTTP/1.1
// requests. The server runs with a short poll timeout, so the stages can tell a poll
// answered at once from one held until the timer ends it: "at once" means well
// before that timer could have fired.
import { request } from './http.mjs';

export const POLL_TIMEOUT_MS = 4000;
export const args = ['--poll-timeout', String(POLL_TIMEOUT_MS)];
const AT_ONCE_MS = 2500;

// A body as printed: the parts that change from run to run left out.
const shown = (body) => body.replace(/"time":\d+/g, '"time":…')
  .replace(/"history_id":"[^"]*"/g, '"history_id":"…"').slice(0, 150);
const received = (r) => (r.failed ? r.failed :
  `${r.status} ${r.body ? shown(r.body) : '(an empty body)'}`);
const ids = (body) => {
  try {
    return JSON.parse(body).messages?.map((m) => m.id).join(',');
  } catch {
    return undefined;
  }
};

async function post(t, text) {
  const r = await request(t, 'POST', '/messages', JSON.stringify({ user: 'ada', text }));
  if (r.status !== 201)
    throw t.fail({ sent: r.sent, received: received(r),
      expected: '201 {"id":...} (the post itself is not an exercise)' });
  return JSON.parse(r.body).id;
}

// GET target; passes when the answer is status with exactly the messages `want`
// (their ids, "1,2") within ms.
async function poll(t, target, want, expected, ms) {
  const r = await request(t, 'GET', target, undefined, ms);
  if (!r.failed && r.status === 200 && ids(r.body) === want) return r;
  throw t.fail({ sent: r.sent, received: received(r), expected });
}

export const stages = [
  {
    name: 'since-invalid',
    exercise: 'read-since',
    what: 'GET /messages?since=abc',
    hint: 'RFC 9110 §15.5.1: a request the server will not process is a 400; since ' +
      'is digits only',
    run: async (t) => {
      const r = await request(t, 'GET', '/messages?since=abc');
      if (r.status === 400) return;
      throw t.fail({ sent: r.sent, received: received(r),
        expected: '400 {"error":"since: ..."}' });
    },
  },
  {
    name: 'answer-now',
    exercise: 'answer-now',
    what: 'posting "one", then GET /messages?since=0',
    hint: 'RFC 6202 §2.1: a long poll is held only while there is nothing to send; ' +
      'message 1 is there already',
    run: async (t) => {
      await post(t, 'one');
      await poll(t, '/messages?since=0', '1', '200 {"messages":[{"id":1,...}],"missed":0}, ' +
        `at once (not after the ${POLL_TIMEOUT_MS / 1000} s poll timeout)`, AT_ONCE_MS);
    },
  },
  {
    name: 'since',
    exercise: 'read-since',
    what: 'posting "two", then GET /messages?since=1&wait=0',
    hint: 'since=1 means "I have message 1": send what came after it, and nothing else',
    run: async (t) => {
      await post(t, 'two');
      await poll(t, '/messages?since=1&wait=0', '2',
        '200 {"messages":[{"id":2,...}],"missed":0} (message 2 only)', AT_ONCE_MS);
    },
  },
  {
    name: 'short-poll',
    exercise: 'answer-now',
    what: 'GET /messages?since=2&wait=0 (nothing after 2)',
    hint: 'wait=0 asks for short polling: answer at once, even with an empty list',
    run: (t) => poll(t, '/messages?since=2&wait=0', '',
      '200 {"messages":[],"missed":0}, at once', AT_ONCE_MS),
  },
  {
    name: 'held',
    exercise: 'hold-poll',
    what: `GET /messages?since=2 (nothing after 2), held until the ` +
      `${POLL_TIMEOUT_MS / 1000} s poll timeout`,
    hint: 'RFC 6202 §2.1: with nothing to send, hold the request; when the timeout ' +
      'comes, answer it (empty) so the client asks again',
    run: async (t) => {
      const sentAt = Date.now();
      const r = await request(t, 'GET', '/messages?since=2', undefined,
        POLL_TIMEOUT_MS + Number(process.env.EXERCISE_WAIT_MS ?? 5000));
      // The server's timer starts when the request arrives, after sentAt: an answer
      // sooner than half the timeout was not held.
      const early = Date.now() - sentAt < POLL_TIMEOUT_MS / 2;
      if (!r.failed && r.status === 200 && ids(r.body) === '' && !early) return;
      throw t.fail({ sent: r.sent,
        received: [...[received(r)].flat(), ...(early && !r.failed ?
          ['(at once: the request was not held)'] : [])],
        expected: `200 {"messages":[],"missed":0}, after the poll timeout` });
    },
  },
  {
    name: 'wake',
    exercise: 'wake-polls',
    what: 'GET /messages?since=2 (held), then posting "three" on another connection',
    hint: 'RFC 6202 §2.1: when the event comes, the server answers the held request ' +
      'at once',
    run: async (t) => {
      const held = request(t, 'GET', '/messages?since=2', undefined, AT_ONCE_MS + 500);
      // The poll must be held by the time the post comes; a little pacing, not a check.
      await new Promise((r) => setTimeout(r, 500));
      await post(t, 'three');
      const r = await held;
      if (!r.failed && r.status === 200 && ids(r.body) === '3') return;
      throw t.fail({ sent: [...r.sent, '(and 0.5 s later, on another connection)',
        'POST /messages {"user":"ada","text":"three"}'], received: received(r),
      expected: '200 {"messages":[{"id":3,...}],"missed":0}, as soon as the post is stored' });
    },
  },
];

// Deliberately broken servers whose check-1 output is golden-tested.
export const broken = [
  { name: 'since-ignored', blank: 'read-since' },
  { name: 'polls-never-woken', blank: 'wake-polls' },
  { name: 'never-held', file: '01-polling/server.cpp',
    from: 'bool hold = !(wait && *wait == "0");', to: 'bool hold = false;' },
];
