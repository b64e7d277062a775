/** The public surface of the safe file operations, split by concern under ./safe-file/ (see its index). */
export * from './safe-file/index.js';
