export * from './changes.ts';
export * from './cron.ts';
export * from './distribution-client.ts';
export * from './endpoints.ts';
export * from './rules.ts';
export * from './status.ts';
export * from './tasks.ts';
export * from './types.ts';
