import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, lstatSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../../pipeline/config/load.js';
import { projectRoot } from '../../../pipeline/paths.js';
import { canEnter, checkoutId, outsideRoot } from '../../../pipeline/services/elasticsearch-place.js';
import { servicesStatus, startServices, stopServices } from '../../../pipeline/services/index.js';
import { servicesLayout } from '../../../pipeline/services/layout.js';
import { isAlive } from '../../../pipeline/services/process.js';
import { runAsUser } from '../../../pipeline/services/service-user.js';
import { readState } from '../../../pipeline/services/state.js';
import { freePortRun, infraMode } from '../../support/world.js';

test('the folder outside the checkout is named by the checkout: stable for one, distinct between two', () => {
  const layout = (root: string) => ({ root, cacheDir: path.join(root, 'cache'), runDir: path.join(root, 'run'), stateFile: path.join(root, 'run', 'services.json') });
  assert.equal(checkoutId(layout('/srv/a/tally/.tally')), checkoutId(layout('/srv/a/tally/.tally')));
  assert.notEqual(checkoutId(layout('/srv/a/tally/.tally')), checkoutId(layout('/srv/b/tally/.tally')));
  assert.match(checkoutId(layout('/srv/a/my tally/.tally')), /^my_tally-[0-9a-f]{12}$/);
});

test('canEnter: false below a mode-700 folder, true below /tmp', () => {
  const locked = mkdtempSync(path.join(tmpdir(), 'tally-locked-'));
  try {
    assert.equal(statSync(locked).mode & 0o777, 0o700);
    assert.equal(canEnter(path.join(locked, 'tally', '.tally', 'run')), false);
    assert.equal(canEnter(path.join(tmpdir(), 'x')), true);
  } finally {
    rmSync(locked, { recursive: true, force: true });
  }
});

/**
 * A clone in a folder made by mktemp -d (mode 700), as root: Elasticsearch runs as the service user,
 * who cannot enter the clone, so its install, config, data and logs live outside it; stop leaves
 * nothing behind.
 */
describe('Elasticsearch of a checkout in a mode-700 folder, as root', {
  timeout: 1_200_000,
  skip: infraMode !== 'local' ? `needs the local services (infrastructure is ${infraMode})` : process.getuid?.() !== 0 ? 'only as root does Elasticsearch run as a service user' : false,
}, () => {
  const locked = mkdtempSync(path.join(tmpdir(), 'tally-anywhere-'));
  const servicesDir = path.join(locked, 'tally', '.tally');
  after(() => rmSync(locked, { recursive: true, force: true }));

  test('starts, runs from /var/lib/tally/es-<checkout>, is reported up, and stop removes that folder', async () => {
    assert.equal(statSync(locked).mode & 0o777, 0o700, 'mktemp -d makes a mode-700 folder');
    mkdirSync(servicesDir, { recursive: true });
    const cache = path.join(projectRoot, '.tally', 'cache');
    if (existsSync(cache)) symlinkSync(cache, path.join(servicesDir, 'cache'));
    const base = await freePortRun(2);
    const config = loadConfig({ env: {}, sets: ['log.level=warn', `services.dir=${servicesDir}`, `services.elasticsearch.httpPort=${base}`, `services.elasticsearch.transportPort=${base + 1}`, 'services.elasticsearch.startTimeoutMs=900000'] });
    const layout = servicesLayout(config.services);
    try {
      const [status] = await startServices(config, ['elasticsearch']);
      assert.equal(status?.up, true, JSON.stringify(status));
      const state = readState(layout.stateFile).elasticsearch;
      assert.ok(state?.outsideDir, 'the state records the folder outside the checkout');
      assert.equal(path.dirname(state.outsideDir), outsideRoot);
      assert.match(path.basename(state.outsideDir), /^es-tally-[0-9a-f]{12}$/);
      for (const inside of [state.home, state.dataDir, state.confDir, state.logFile]) assert.ok(inside.startsWith(`${state.outsideDir}/`), `${inside} is in ${state.outsideDir}`);
      const owner = runAsUser(config.services.elasticsearch.user);
      assert.equal(statSync(state.dataDir).uid, owner?.uid, 'the data folder belongs to the service user');
      assert.ok(canEnter(state.dataDir) && canEnter(state.home));
      assert.ok(lstatSync(path.join(layout.runDir, 'elasticsearch')).isSymbolicLink(), '.tally/run/elasticsearch links to it');
      const [again] = await startServices(config, ['elasticsearch']);
      assert.equal(again?.reused, true, 'a second start reuses it');
      const stopped = await stopServices(config, ['elasticsearch']);
      assert.deepEqual(stopped, ['elasticsearch']);
      assert.equal(isAlive(state), false);
      assert.equal(existsSync(state.outsideDir), false, 'stop removed the outside folder');
      assert.equal(lstatSync(path.join(layout.runDir, 'elasticsearch'), { throwIfNoEntry: false }), undefined, 'and the link');
      assert.equal((await servicesStatus(config)).find((s) => s.name === 'elasticsearch')?.up, false);
    } finally {
      await stopServices(config, ['elasticsearch']).catch(() => undefined);
    }
  });
});
