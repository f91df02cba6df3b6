// The chat model the Node peers share, the same as common/chat.h: messages
// {id, user, text, time} in a room with a bounded history.
export class Room {
  constructor(history = 1000) {
    this.history = history;
    this.messages = [];
    this.nextId = 1;
  }

  post(user, text) {
    const m = { id: this.nextId++, user, text, time: Date.now() };
    this.messages.push(m);
    if (this.messages.length > this.history) this.messages.shift();
    return m;
  }

  // Messages with id > since, oldest first, and how many fell out of the history.
  after(since) {
    const first = this.messages.length ? this.messages[0].id : this.nextId;
    const missed = since + 1 < first ? first - since - 1 : 0;
    const start = Math.max(0, since + 1 - first);
    return { messages: this.messages.slice(start), missed };
  }

  latest(n) {
    return { messages: this.messages.slice(-n), missed: 0 };
  }
}

const chars = (s) => [...s].length;

// The reason a post is refused, or null: the same rules as chat::validate.
export function validate(post) {
  if (!post || typeof post !== 'object') return 'body: expected a JSON object';
  const { user, text } = post;
  if (typeof user !== 'string' || chars(user) < 1 || chars(user) > 32)
    return 'user: must be 1-32 characters';
  if (typeof text !== 'string' || chars(text) < 1 || chars(text) > 2000)
    return 'text: must be 1-2000 characters';
  return null;
}

// --port N (0: any free port); the URL is printed as the first line, like the lessons.
export function portFlag() {
  const i = process.argv.indexOf('--port');
  return i > 0 ? Number(process.argv[i + 1]) : 0;
}

export function announce(server) {
  console.log(`http://localhost:${server.address().port}/`);
  const stop = () => server.close(() => process.exit(0)) && setTimeout(() => process.exit(0), 500);
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
