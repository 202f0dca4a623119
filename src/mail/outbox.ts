// The first-run transport: each message lands in <dir>/<logId>.eml, the bytes SMTP would have carried.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';
import { AppError } from '../errors/index.js';
import { composeMessage } from './compose.js';
import { SendError, throwIfAborted, type MailTransport, type OutgoingMessage, type SendResult } from './transport.js';

export interface OutboxEntry {
  logId: number;
  /** Absolute path of the .eml file. */
  file: string;
  size: number;
  modifiedAt: Date;
}

const EML = /^([1-9]\d*)\.eml$/;

function fileFor(dir: string, logId: number): string {
  // Only ever a positive integer becomes a file name, so no input can point outside dir.
  if (typeof logId !== 'number' || !Number.isSafeInteger(logId) || logId <= 0) {
    throw new AppError('VALIDATION', `Invalid logId: ${String(logId)}`, { field: 'logId' });
  }
  return path.join(path.resolve(dir), `${logId}.eml`);
}

/** Writes via a temp file in the same folder, fsync and rename: readers see the whole file or none. */
async function writeAtomically(file: string, data: Buffer): Promise<void> {
  const dir = path.dirname(file);
  // Dot-prefixed so listOutbox never mistakes a half-written file for a message.
  const tmp = path.join(dir, `.${path.basename(file)}.${randomBytes(6).toString('hex')}.tmp`);
  const handle = await fs.open(tmp, 'wx');
  try {
    await handle.writeFile(data);
    await handle.sync();
  } catch (err) {
    await handle.close();
    await fs.rm(tmp, { force: true });
    throw err;
  }
  await handle.close();
  try {
    await fs.rename(tmp, file);
  } catch (err) {
    await fs.rm(tmp, { force: true });
    throw err;
  }
  // The rename is durable only once the directory entry is flushed too.
  const dirHandle = await fs.open(dir, 'r');
  try {
    await dirHandle.sync();
  } finally {
    await dirHandle.close();
  }
}

/** Writes each message to `<dir>/<logId>.eml` (creating dir); a retry replaces the file atomically. */
export function createOutboxTransport(dir: string): MailTransport {
  const root = path.resolve(dir);
  return {
    kind: 'outbox',
    describe: () => root,
    async send(message: OutgoingMessage, signal?: AbortSignal): Promise<SendResult> {
      throwIfAborted(signal);
      const composed = await composeMessage(message);
      const file = fileFor(root, message.logId);
      try {
        await fs.mkdir(root, { recursive: true });
        await writeAtomically(file, composed.raw);
      } catch (err) {
        // A full or read-only disk may recover; the worker's backoff gives it the chance.
        throw new SendError(`Outbox write failed: ${(err as Error).message}`, false, { cause: err });
      }
      return { providerMessageId: composed.messageId.slice(1, -1) };
    },
    async close() {},
  };
}

/** The outbox's messages, newest first; an absent folder is an empty outbox. */
export async function listOutbox(dir: string): Promise<OutboxEntry[]> {
  const root = path.resolve(dir);
  let names: string[];
  try {
    names = await fs.readdir(root);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  const entries: OutboxEntry[] = [];
  for (const name of names) {
    const logId = Number(EML.exec(name)?.[1]);
    if (!Number.isSafeInteger(logId)) continue;
    const file = path.join(root, name);
    // A file removed between readdir and stat is simply no longer listed.
    const stat = await fs.stat(file).catch(() => undefined);
    if (stat?.isFile()) entries.push({ logId, file, size: stat.size, modifiedAt: stat.mtime });
  }
  return entries.sort((a, b) => b.modifiedAt.getTime() - a.modifiedAt.getTime() || b.logId - a.logId);
}

/**
 * The raw .eml of one message, or undefined if there is none. Throws AppError VALIDATION unless
 * logId is a positive integer (a string such as "../x" from an unchecked caller included).
 */
export async function readOutboxMessage(dir: string, logId: number): Promise<string | undefined> {
  const file = fileFor(dir, logId);
  try {
    return await fs.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}
