export * from './digest.ts';
export * from './reference.ts';
export * from './media-types.ts';
export * from './descriptor.ts';
export * from './manifest.ts';
export * from './routes.ts';
