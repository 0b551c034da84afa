export { startFileTail, type FileTail, type FileTailDeps, type FileTailStats } from './tailer.js';
export { resolveFileTailConfig, fileTailConfigSchema, accountingLineFilter, type FileTailConfig, type FileTailConfigInput } from './config.js';
export { RegistryCorruptError } from './registry.js';
