// The contract between the nodes and the service: the only module both sides import (DESIGN.md, "Public
// contract"; eslint.config.mjs keeps it so). Plain zod and node:* only: n8n loads it with the nodes, where the
// service's dependencies (express, pg) must not be pulled in.
export * from './fields';
export * from './sessions';
export * from './threads';
export * from './messages';
export * from './tool-calls';
export * from './approvals';
export * from './hook-events';
export * from './delivery';
export * from './environment';
export * from './claude-cli';
export * from './telemetry';
export * from './queued-messages';
export * from './leases';
