import { createHash } from 'node:crypto';
import { open, type FileHandle } from 'node:fs/promises';

/** sha256 hex of a file's first bytes: with device + inode, it tells a file from a reused inode or a truncated-and-rewritten file. */
export function sha256(bytes: Buffer): string {
  return createHash('sha256').update(bytes).digest('hex');
}

export async function readPrefix(handle: FileHandle, maxBytes: number): Promise<Buffer> {
  const buffer = Buffer.alloc(maxBytes);
  let filled = 0;
  while (filled < maxBytes) {
    const { bytesRead } = await handle.read(buffer, filled, maxBytes - filled, filled);
    if (bytesRead === 0) break;
    filled += bytesRead;
  }
  return buffer.subarray(0, filled);
}

export async function readPrefixOf(path: string, maxBytes: number): Promise<Buffer | undefined> {
  const handle = await open(path, 'r').catch(() => undefined);
  if (!handle) return undefined;
  try {
    return await readPrefix(handle, maxBytes);
  } finally {
    await handle.close();
  }
}

/** Do these first bytes start with what the fingerprint covers? */
export function prefixMatches(prefix: Buffer, state: { fingerprint: string; fingerprintBytes: number }): boolean {
  return prefix.length >= state.fingerprintBytes && sha256(prefix.subarray(0, state.fingerprintBytes)) === state.fingerprint;
}
