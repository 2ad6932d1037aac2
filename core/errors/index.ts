export * from './catalogue.ts';
export * from './registry-error.ts';
export * from './error-response.ts';
