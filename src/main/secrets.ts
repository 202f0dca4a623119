// Tracking secrets: TRACKING_SECRETS when set; in embedded mode one generated on first run and kept in DATA_DIR.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { Config } from '../config/index.js';

export const SECRET_FILE = 'tracking-secret';

export function resolveTrackingSecrets(config: Config): readonly string[] {
  if (config.trackingSecrets !== undefined) return config.trackingSecrets;
  // loadConfig already insists on TRACKING_SECRETS with DATABASE_URL; this is the embedded first-run path.
  const file = path.join(config.dataDir, SECRET_FILE);
  fs.mkdirSync(config.dataDir, { recursive: true });
  try {
    fs.writeFileSync(file, `${randomBytes(32).toString('base64url')}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  const secret = fs.readFileSync(file, 'utf8').trim();
  if (secret.length < 16) throw new Error(`${file} holds no usable secret; delete it to generate a new one (old links will stop verifying)`);
  return [secret];
}
