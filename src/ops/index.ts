export * from './backup/index.js';
