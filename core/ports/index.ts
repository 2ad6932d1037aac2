export * from './table.ts';
export * from './object-store.ts';
