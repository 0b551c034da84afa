import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmod, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { startApelSink } from '../../../../connectors/sinks/apel/sink.js';
import type { Admin } from '../../../../pipeline/bus/types.js';
import { projectRoot } from '../../../../pipeline/paths.js';
import { debianPython, ensureApelTools } from '../../../interop/apel/tools.js';
import { testLog, uniqueName } from '../../../support/world.js';
import { vm } from './records.js';
import { committed, domainRecord, isolatedBus, tempQueue } from './support.js';

/**
 * owner, group, fileMode and directoryMode on the real filesystem: stat() of every directory and
 * element the sink writes, whatever the umask, and ssmsend's part played by python3-dirq running
 * as another user (nobody), with fs.protected_hardlinks as the kernel has it. chown to another
 * user needs root: without it the test is skipped, saying so.
 */
const uuid = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`;
const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
const nobody = { uid: Number(spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' }).stdout.trim()), gid: Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim()), group: spawnSync('id', ['-gn', 'nobody'], { encoding: 'utf8' }).stdout.trim() };
const protectedHardlinks = spawnSync('sysctl', ['-n', 'fs.protected_hardlinks'], { encoding: 'utf8' }).stdout.trim();

/** Every path the sink made under the queue (itself included), by kind. */
async function walk(queue: string): Promise<{ directories: string[]; elements: string[]; others: string[] }> {
  const out = { directories: [queue], elements: [] as string[], others: [] as string[] };
  for (const name of await readdir(queue)) {
    const dir = path.join(queue, name);
    out.directories.push(dir);
    for (const file of await readdir(dir)) (/^[0-9a-f]{14}$/.test(file) ? out.elements : out.others).push(path.join(dir, file));
  }
  return out;
}

/** ssmsend's loop (lock, get, remove; then purge) run by python3-dirq as nobody. */
function drainAsNobody(queue: string): { status: number | null; elements: number; stderr: string } {
  ensureApelTools();
  const run = spawnSync('setpriv', ['--reuid', String(nobody.uid), '--regid', String(nobody.gid), '--clear-groups', debianPython, path.join(projectRoot, 'test/interop/apel/dirq_tool.py'), 'drain', queue], { encoding: 'utf8', env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  return { status: run.status, elements: run.status === 0 ? (JSON.parse(run.stdout) as unknown[]).length : 0, stderr: run.stderr };
}

describe('tally sink apel: owner, group and modes of what it writes', { timeout: 180_000 }, () => {
  const admins: Admin[] = [];
  const umask = process.umask();
  after(async () => {
    process.umask(umask);
    for (const admin of admins) await admin.close().catch(() => undefined);
  });

  const cases = [
    { name: 'owner by name, group by number, 0640/0750, umask 077', umask: 0o077, config: { owner: 'nobody', group: nobody.gid, fileMode: '0640', directoryMode: '0750' }, uid: nobody.uid, gid: nobody.gid, file: 0o640, dir: 0o750, nobodyDrains: true },
    { name: 'group only by name (a shared group), 0660/2770, umask 027', umask: 0o027, config: { group: nobody.group, fileMode: '0660', directoryMode: '2770' }, uid: 0, gid: nobody.gid, file: 0o660, dir: 0o2770, nobodyDrains: true },
    { name: 'neither (the writer\'s own), the defaults 0664/0775, umask 0: another user may read but not lock', umask: 0, config: {}, uid: 0, gid: 0, file: 0o664, dir: 0o775, nobodyDrains: false },
  ];
  for (const c of cases) {
    test(c.name, async (t) => {
      if (!asRoot) {
        const reason = 'chown to another user and setpriv need root';
        process.stdout.write(`# SKIP ${c.name}: ${reason}\n`);
        t.skip(reason);
        return;
      }
      const { bus, admin } = await isolatedBus(1);
      admins.push(admin);
      const producer = await bus.producer();
      await producer.send(Array.from({ length: 30 }, (_, i) => domainRecord(bus, 'cloud.vm', vm({ vm_uuid: uuid(i) }))));
      await producer.close();
      const queue = path.join(await tempQueue(), 'openstack'); // two levels the sink makes
      await chmod(path.dirname(path.dirname(queue)), 0o755);
      const groupId = uniqueName('sink-apel-owner');
      process.umask(c.umask);
      const sink = await startApelSink({ bus, log: testLog, config: { path: queue, groupId, flushIntervalMs: 100, maxRecordsPerMessage: 7, ...c.config } });
      try {
        await committed(admin, groupId, [bus.topic('cloud.vm')]);
      } finally {
        await sink.stop();
        process.umask(umask);
      }
      const made = await walk(queue);
      assert.equal(made.elements.length, 5, '30 records, 7 per message');
      assert.deepEqual(made.others, [], 'no .tmp or anything else left');
      for (const dir of made.directories) {
        const st = await stat(dir);
        assert.deepEqual({ path: dir, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }, { path: dir, uid: c.uid, gid: c.gid, mode: c.dir }, `directory ${dir}`);
      }
      for (const file of made.elements) {
        const st = await stat(file);
        assert.deepEqual({ path: file, uid: st.uid, gid: st.gid, mode: st.mode & 0o7777 }, { path: file, uid: c.uid, gid: c.gid, mode: c.file }, `element ${file}`);
      }
      const drained = drainAsNobody(queue);
      if (c.nobodyDrains) {
        assert.equal(drained.status, 0, `python3-dirq as nobody locks and removes: ${drained.stderr}`);
        assert.equal(drained.elements, 5);
        assert.equal((await walk(queue)).elements.length, 0, 'all removed');
      } else {
        assert.notEqual(drained.status, 0, 'nobody cannot lock or remove the writer\'s own files');
        assert.match(drained.stderr, /PermissionError|Errno 1|Errno 13/, `${protectedHardlinks === '1' ? 'fs.protected_hardlinks=1: EPERM on the lock' : 'EACCES on the directory'}: ${drained.stderr.slice(-300)}`);
      }
    });
  }
});
