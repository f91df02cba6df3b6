// What the Bun peers share: the URL line the bench waits for, and a clean exit
// on SIGTERM (the lessons' convention, as chat.mjs's announce() is for Node).
export function announceBun(server) {
  console.log(`http://localhost:${server.port}/`);
  const stop = () => {
    server.stop(true);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
