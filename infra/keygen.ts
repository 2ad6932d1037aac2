/**
 * `npm run keygen -- [dir] [--retire]`: the token signing key pair for a deployment.
 *
 * - Writes `<dir>/signing-key.private.jwk` (0600): put it in the stack's SigningKey secret.
 * - Adds the public half to `<dir>/signing-keys.public.json` (a JWK set), keeping the keys already
 *   there: during a rotation the edge must accept the old and the new key. Deploy with
 *   `-c signingPublicKeyFile=<dir>/signing-keys.public.json`.
 * - `--retire` keeps only the newest public key (once tokens of the old one have expired).
 */
import { generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const retire = args.includes('--retire');
const dir = resolve(args.find((a) => !a.startsWith('--')) ?? 'cirrus-keys');
mkdirSync(dir, { recursive: true });
const setPath = join(dir, 'signing-keys.public.json');
const set = existsSync(setPath) ? (JSON.parse(readFileSync(setPath, 'utf8')) as { keys: object[] }) : { keys: [] };

if (retire) {
  set.keys = set.keys.slice(-1);
  writeFileSync(setPath, `${JSON.stringify(set, null, 2)}\n`);
  console.log(`${setPath}: kept the newest key only. Deploy with -c signingPublicKeyFile=${setPath}`);
} else {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const privatePath = join(dir, 'signing-key.private.jwk');
  writeFileSync(privatePath, `${JSON.stringify(privateKey.export({ format: 'jwk' }))}\n`, { mode: 0o600 });
  set.keys.push(publicKey.export({ format: 'jwk' }));
  writeFileSync(setPath, `${JSON.stringify(set, null, 2)}\n`);
  console.log(
    [
      `private key: ${privatePath} (keep it secret; delete it once stored)`,
      `public keys: ${setPath} (${set.keys.length} key${set.keys.length > 1 ? 's' : ''})`,
      '',
      `1. npm run cdk -- deploy --all -c regions=<regions> -c signingPublicKeyFile=${setPath}`,
      `2. in each region: aws secretsmanager put-secret-value --secret-id <SigningKeySecretArn> --secret-string file://${privatePath}`,
    ].join('\n'),
  );
}
