export type { GcDeps } from './context.ts';
export { markFrom } from './mark.ts';
export * from './tasks.ts';
export * from './types.ts';
