import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { projectRoot } from '../pipeline/paths.js';

/** The house from the bottom up: a folder may import its own layer and those below it, never one above. */
const layers = [['pipeline'], ['connectors'], ['app', 'bench']] as const;

interface SourceFile {
  /** relative to the project root, with forward slashes */
  path: string;
  source: string;
}

interface UpwardImport {
  file: string;
  specifier: string;
  target: string;
}

function layerOf(file: string): number | undefined {
  const top = file.split('/')[0];
  const index = layers.findIndex((folders) => (folders as readonly string[]).includes(top ?? ''));
  return index === -1 ? undefined : index;
}

/** Every module a source names: static, type-only, side-effect and dynamic imports and re-exports (comments and strings excluded). */
function specifiersOf(source: string): string[] {
  return ts.preProcessFile(source, true, true).importedFiles.map((f) => f.fileName);
}

function upwardImports(files: readonly SourceFile[]): UpwardImport[] {
  const found: UpwardImport[] = [];
  for (const file of files) {
    const from = layerOf(file.path);
    if (from === undefined) continue;
    for (const specifier of specifiersOf(file.source)) {
      if (!specifier.startsWith('.')) continue;
      const target = path.posix.normalize(path.posix.join(path.posix.dirname(file.path), specifier));
      const to = layerOf(target);
      if (to !== undefined && to > from) found.push({ file: file.path, specifier, target });
    }
  }
  return found;
}

function describe(found: UpwardImport): string {
  return `${found.file} imports '${found.specifier}' (${found.target}): ${found.file.split('/')[0]}/ may not import ${found.target.split('/')[0]}/`;
}

function sourceFiles(folder: string): SourceFile[] {
  return readdirSync(path.join(projectRoot, folder), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => path.posix.join(folder, f.split(path.sep).join('/')))
    .map((f) => ({ path: f, source: readFileSync(path.join(projectRoot, f), 'utf8') }));
}

test('the scanner finds every kind of import that runs up the house, and only those', () => {
  const files: SourceFile[] = [
    {
      path: 'pipeline/bus/index.ts',
      source: [
        "import { startFileTail } from '../../connectors/sources/file-tail/index.js';",
        "import type { Context } from \"../../app/cli/context.js\";",
        "export { runBench } from '../../bench/run.js';",
        "import '../../app/up/samples.js';",
        "const up = await import('../../app/cli/commands/up.js');",
        "// import { old } from '../../connectors/old.js';",
        "const text = \"import('../../app/cli/main.js')\";",
        "import { TallyError } from '../errors.js';",
        "import { Kafka } from 'kafkajs';",
      ].join('\n'),
    },
    {
      path: 'connectors/sinks/apel/sink.ts',
      source: "import { createBus } from '../../../pipeline/bus/index.js';\nimport { program } from '../../../app/cli/program.js';",
    },
    {
      path: 'app/cli/commands/ship.ts',
      source: "import { startFileTail } from '../../../connectors/sources/file-tail/index.js';\nimport { runBench } from '../../../bench/run.js';",
    },
    { path: 'test/app/cli/cli.test.ts', source: "import { buildProgram } from '../../../app/cli/program.js';" },
  ];
  assert.deepEqual(upwardImports(files).map(describe), [
    "pipeline/bus/index.ts imports '../../connectors/sources/file-tail/index.js' (connectors/sources/file-tail/index.js): pipeline/ may not import connectors/",
    "pipeline/bus/index.ts imports '../../app/cli/context.js' (app/cli/context.js): pipeline/ may not import app/",
    "pipeline/bus/index.ts imports '../../bench/run.js' (bench/run.js): pipeline/ may not import bench/",
    "pipeline/bus/index.ts imports '../../app/up/samples.js' (app/up/samples.js): pipeline/ may not import app/",
    "pipeline/bus/index.ts imports '../../app/cli/commands/up.js' (app/cli/commands/up.js): pipeline/ may not import app/",
    "connectors/sinks/apel/sink.ts imports '../../../app/cli/program.js' (app/cli/program.js): connectors/ may not import app/",
  ]);
});

test('pipeline/ imports neither connectors/ nor the application, and connectors/ does not import the application', () => {
  const files = ['pipeline', 'connectors', 'app'].flatMap(sourceFiles);
  for (const expected of ['pipeline/errors.ts', 'connectors/sinks/elasticsearch/sink.ts', 'app/cli/main.ts']) {
    assert.ok(files.some((f) => f.path === expected), `the scan reads ${expected}`);
  }
  const found = upwardImports(files);
  assert.deepEqual(found.map(describe), [], `imports that run up the house:\n${found.map(describe).join('\n')}`);
});
