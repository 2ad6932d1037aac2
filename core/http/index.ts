export * from './app.ts';
export * from './app-env.ts';
export * from './logger.ts';
export * from './edge-headers.ts';
export * from './metrics.ts';
export * from './metrics-emf.ts';
export * from './metrics-prometheus.ts';
