// Reference peer: the `oauth2-mock-server` npm package, bound to loopback.
//
// Usage: node axa_server.js <port>
//
// Generates one RSA (RS256) signing key at start-up, listens on
// 127.0.0.1:<port> (port 0 picks a free one) and prints `READY <port>` on
// stdout once it accepts connections. The token endpoint is POST /token and
// accepts an application/x-www-form-urlencoded body, e.g.
//
//   grant_type=password&username=demo&password=Ch4ng31t&scope=write
//   &client_id=myClient&client_secret=forgerock
//
// The package does not check credentials: any username/password pair is
// accepted. A password grant response carries access_token, id_token (both
// RS256-signed JWTs), refresh_token, token_type, expires_in and scope.

import { OAuth2Server } from 'oauth2-mock-server';

const HOST = '127.0.0.1';

/**
 * Parses the port argument, exiting with status 2 on invalid input.
 * @param {string | undefined} raw The raw command-line value.
 * @returns {number} A TCP port in [0, 65535].
 */
function parsePort(raw) {
  const port = Number(raw);
  if (raw === undefined || !Number.isInteger(port) || port < 0 || port > 65535) {
    process.stderr.write('usage: node axa_server.js <port>\n');
    process.exit(2);
  }
  return port;
}

/**
 * Starts the server and installs signal handlers for a prompt shutdown.
 * @param {number} port The port to bind on 127.0.0.1 (0 for any free port).
 * @returns {Promise<void>} Resolves once the READY line has been printed.
 */
async function main(port) {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(port, HOST);

  const shutdown = () => {
    // Exit even if keep-alive connections are still open.
    server.stop().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 1000).unref();
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);

  process.stdout.write(`READY ${server.address().port}\n`);
}

main(parsePort(process.argv[2])).catch((err) => {
  process.stderr.write(`axa_server: ${err instanceof Error ? err.stack : String(err)}\n`);
  process.exit(1);
});
