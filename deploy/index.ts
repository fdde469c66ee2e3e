// `streamfold/cdk`: the AWS CDK construct. Only infrastructure code imports it; a Lambda bundle never does.
export { StreamfoldConsumer, type ConsumerLogLevel, type StreamfoldConsumerProps } from './construct.js';
export { writeHandlerEntry } from './bundling.js';
export { StreamfoldRebuildRunner, type RebuildRunnerProps, type StreamfoldRebuildRunnerProps } from './rebuild-runner.js';
