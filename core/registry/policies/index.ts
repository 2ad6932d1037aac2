export * from './globs.ts';
export * from './immutability.ts';
export * from './retention-rules.ts';
export * from './scope.ts';
