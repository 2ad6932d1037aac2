export * from './app.ts';
export * from './app-env.ts';
export * from './logger.ts';
