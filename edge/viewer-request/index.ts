/** Lambda@Edge viewer-request entry: the handler over the configuration baked into this bundle. */
import { bakedEdgeConfig } from './config.ts';
import { createViewerRequestHandler } from './handler.ts';

export const handler = createViewerRequestHandler(bakedEdgeConfig());
