/**
 * The CDK app (named in cdk.json): one registry stack per region in context `regions`, each with
 * its viewer-request function in us-east-1. cdk-nag's AwsSolutions checks run on every synth.
 * `npx cdk synth -c regions=eu-west-1,us-east-1` works offline, without credentials.
 */
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { readDeployConfig } from './config.ts';
import { RegistryStack } from './registry-stack.ts';

export function buildApp(app: App = new App(), options: { prebuilt?: ConstructorParameters<typeof RegistryStack>[2]['prebuilt'] } = {}): App {
  const config = readDeployConfig(app.node);
  for (const region of config.regions) {
    new RegistryStack(app, `Cirrus-${region}`, {
      env: { region, account: config.account },
      description: `Cirrus OCI registry (${region})`,
      auth: config.auth,
      domain: config.domain?.(region),
      uploadService: config.uploadService,
      storageQuotaBytes: config.storageQuotaBytes,
      alarmTopicArn: config.alarmTopicArn,
      webAclArn: config.webAclArn,
      originSecretGeneration: config.originSecretGeneration,
      cache: config.cache,
      priceClass: config.priceClass,
      prebuilt: options.prebuilt,
      replicateTo: config.replicateTo,
    });
  }
  if (app.node.tryGetContext('nag') !== 'off') Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === resolve(process.argv[1])) buildApp().synth();
