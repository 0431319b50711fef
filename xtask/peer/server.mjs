// The peer of `cargo xtask peer` (xtask/src/peer/): node-oidc-provider configured to do what the
// bench asks of Portcullis. One client with `client_secret_basic` and the `client_credentials`
// grant; access tokens are JWTs (`at+jwt`) signed with Ed25519, as Portcullis issues them. They are
// not stored anywhere: node-oidc-provider keeps no record of a JWT access token.
//
// Environment: PEER_PORT (loopback port), PEER_CLIENT_ID, PEER_CLIENT_SECRET, and PEER_WORKERS
// (default 1): with 2 or more, a node:cluster primary forks that many processes, which share the
// port and one signing key. It prints `listening on PORT` once every process listens.
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import Provider from 'oidc-provider';

const port = Number(process.env.PEER_PORT);
const workers = Number(process.env.PEER_WORKERS ?? '1');
const resource = 'https://api.bench.example';

// Each process accepts its own connections; the default round-robin hands every connection
// through the primary, which measured slower on two cores.
cluster.schedulingPolicy = cluster.SCHED_NONE;

const signingKey = () => generateKeyPairSync('ed25519').privateKey.export({ format: 'jwk' });

if (cluster.isPrimary && workers > 1) {
  const jwk = JSON.stringify(signingKey());
  let ready = 0;
  cluster.on('message', () => {
    ready += 1;
    if (ready === workers) console.log(`listening on ${port}`);
  });
  cluster.on('exit', (worker, code, signal) => {
    console.error(`worker ${worker.process.pid} exited (${signal ?? code})`);
    process.exit(1);
  });
  for (let i = 0; i < workers; i += 1) cluster.fork({ PEER_JWK: jwk });
} else {
  // A worker whose primary is gone stops too.
  if (cluster.isWorker) process.on('disconnect', () => process.exit(0));
  const jwk = process.env.PEER_JWK ? JSON.parse(process.env.PEER_JWK) : signingKey();
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [{
      client_id: process.env.PEER_CLIENT_ID,
      client_secret: process.env.PEER_CLIENT_SECRET,
      grant_types: ['client_credentials'],
      response_types: [],
      redirect_uris: [],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: 'EdDSA',
      scope: 'read',
    }],
    jwks: { keys: [{ ...jwk, kid: 'bench', alg: 'EdDSA', use: 'sig' }] },
    scopes: ['read'],
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: () => resource,
        useGrantedResource: () => true,
        getResourceServerInfo: () => ({
          scope: 'read',
          audience: resource,
          accessTokenTTL: 300,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: 'EdDSA' } },
        }),
      },
    },
  });
  provider.listen(port, '127.0.0.1', () => {
    if (cluster.isWorker) process.send('listening');
    else console.log(`listening on ${port}`);
  });
}
