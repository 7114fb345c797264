// Starts @vercel/cosmosdb-server (HTTPS, self-signed) with keep-alive connections.
// Usage: node cosmos_server.js <path to @vercel/cosmosdb-server> <port>
// Prints "listening <port>" once it accepts connections; exits when stdin closes, so the
// server never outlives the Python process that started it.
"use strict";
const [modulePath, portArg] = process.argv.slice(2);
if (!modulePath || !portArg) {
  console.error("usage: node cosmos_server.js <cosmosdb-server module path> <port>");
  process.exit(2);
}
const { createHttpsServer } = require(modulePath);
const server = createHttpsServer({ keepAlive: true });
server.keepAliveTimeout = 60000;
server.listen(Number(portArg), "127.0.0.1", () => {
  console.log(`listening ${server.address().port}`);
});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();
process.on("SIGTERM", () => process.exit(0));
