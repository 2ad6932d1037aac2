export * from './catalogue.ts';
export * from './registry-error.ts';
