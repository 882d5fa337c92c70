// The runner's public surface: the one place that spawns claude (DESIGN.md house rule 1).
export * from './types';
export * from './errors';
export { findClaude, nativeBehindStub, type FindClaudeOptions } from '../protocol/claude-cli';
export * from './args';
export * from './hook-settings';
export * from './stream-parser';
export * from './line-splitter';
export * from './local-launcher';
export * from './failure-message';
export { DEFAULT_BATCH, DEFAULT_DELIVERY_TIMINGS, SinkDelivery } from './sink-delivery';
export * from './run-claude';
