import { constants, readdirSync, readFileSync } from 'node:fs';
import { link, mkdir, open, unlink } from 'node:fs/promises';
import path from 'node:path';

/**
 * The APEL sink's ceiling: the same bytes written as files with the same durability policy as the
 * dirq queue writer: each body to `<name>.tmp` (O_EXCL), fsync, link to `<name>`, unlink the .tmp,
 * then one fsync of the directory per group of files. It reads every file of <source> (the queue the
 * sink wrote) first, then writes them to <target> and reports its progress in records.
 *   node dist/bench/peers/file-writer.js <source-queue> <target-dir> <files-per-directory-fsync>
 */
const [source, target, groupText] = process.argv.slice(2);
if (!source || !target || !groupText) throw new Error('usage: file-writer.js <source-queue> <target-dir> <files-per-directory-fsync>');
const group = Number(groupText);
const bodies: { body: Buffer; records: number }[] = [];
for (const directory of readdirSync(source).sort()) {
  const full = path.join(source, directory);
  let names: string[];
  try {
    names = readdirSync(full).filter((n) => !n.endsWith('.tmp') && !n.endsWith('.lck')).sort();
  } catch {
    continue;
  }
  for (const name of names) {
    const body = readFileSync(path.join(full, name));
    bodies.push({ body, records: recordsIn(body) });
  }
}
/** APEL records are separated by `%%` lines; the last one may or may not be followed by one */
function recordsIn(body: Buffer): number {
  const lines = body.toString('latin1').split('\n').filter((l) => l.trim() !== '');
  const separators = lines.filter((l) => l.trim() === '%%').length;
  return separators + (lines[lines.length - 1]?.trim() === '%%' ? 0 : 1) - (lines.length > 0 && /^APEL-/.test(lines[0] ?? '') && lines.length === 1 ? 1 : 0);
}

await mkdir(target, { recursive: true });
process.stdout.write(`bench file-writer ready: ${bodies.length} files\n`);
let written = 0;
let counter = 0;
for (let i = 0; i < bodies.length; i += group) {
  await Promise.all(
    bodies.slice(i, i + group).map(async ({ body }) => {
      const name = (counter++).toString(16).padStart(14, '0');
      const temporary = path.join(target, `${name}.tmp`);
      const handle = await open(temporary, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o664);
      try {
        await handle.writeFile(body);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await link(temporary, path.join(target, name));
      await unlink(temporary);
    }),
  );
  const dir = await open(target, constants.O_RDONLY | constants.O_DIRECTORY);
  await dir.sync();
  await dir.close();
  for (const b of bodies.slice(i, i + group)) written += b.records;
  process.stdout.write(`written ${written}\n`);
}
process.stdout.write('bench file-writer done\n');
