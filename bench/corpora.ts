import { chmodSync, existsSync } from 'node:fs';
import path from 'node:path';
import { accountingLines, apelCloudMessages, osloLogLines, rorAuditLines, writeCorpus, type CorpusFile } from './corpus.js';

/** The run's corpus files, generated once each, readable by the unprivileged peers. */
export class Corpora {
  private readonly files = new Map<string, CorpusFile>();
  private readonly lines = new Map<string, string[]>();

  constructor(private readonly dir: string) {}

  private file(name: string, make: () => string[]): CorpusFile {
    const known = this.files.get(name);
    if (known && existsSync(known.path)) return known;
    const lines = make();
    const file = writeCorpus(path.join(this.dir, name), lines);
    chmodSync(file.path, 0o644);
    this.files.set(name, file);
    return file;
  }

  /** accounting lines: the first `count` lines of the seeded sequence, as a file */
  accountingFile(count: number): CorpusFile {
    return this.file(`accounting-${count}.ndjson`, () => this.accounting(count));
  }

  accounting(count: number): string[] {
    const key = `accounting-${count}`;
    let lines = this.lines.get(key);
    if (!lines) {
      lines = accountingLines(count);
      this.lines.set(key, lines);
    }
    return lines;
  }

  /** APEL cloud v0.4 messages of 100 records each */
  apelMessages(records: number): string[] {
    return apelCloudMessages(Math.ceil(records / 100), 100);
  }

  rorAudit(count: number): string[] {
    return rorAuditLines(count);
  }

  osloLog(count: number): string[] {
    return osloLogLines(count);
  }

  /** every file written, for the report's input descriptions */
  written(): CorpusFile[] {
    return [...this.files.values()];
  }
}
