import { chownSync, readdirSync } from 'node:fs';
import path from 'node:path';

/** Hand a folder (and what is in it) to the unprivileged user a peer runs as. */
export function chownTree(dir: string, user: { uid: number; gid: number }): void {
  if (process.getuid?.() !== 0) return;
  chownSync(dir, user.uid, user.gid);
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) chownTree(full, user);
    else chownSync(full, user.uid, user.gid);
  }
}
