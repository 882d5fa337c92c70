# n8n with this repository's package (its packed tarball, not a registry version) and the claude CLI, for a
# self-hosted n8n that runs Claude Code sessions. The same image runs n8n main and the workers (queue mode:
# every execution runs on a worker, so every worker needs the package, git and claude). Build from the repository root:
#   docker build -f docker/n8n.Dockerfile -t n8n-claude .
#   docker run -p 5678:5678 -e ANTHROPIC_API_KEY=… -v n8n_data:/home/node/.n8n -v projects:/workspace n8n-claude
# deploy/compose.yaml runs it with PostgreSQL, Redis, a worker and the service behind a load balancer.

# 1. Build and pack this repository, as the service image does.
FROM node:20-bookworm-slim AS pack
WORKDIR /src
COPY package.json package-lock.json .npmrc ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json gulpfile.js README.md ./
COPY nodes nodes
COPY credentials credentials
COPY service service
COPY cli cli
COPY dashboard dashboard
COPY icons icons
RUN npm run build && mkdir /pkg && npm pack --pack-destination /pkg && mv /pkg/n8n-nodes-claude-orchestrator-*.tgz /pkg/package.tgz

# 2. The official image is Alpine-based: npm picks claude's linux-x64-musl (or arm64-musl) binary.
FROM n8nio/n8n:2.41.1

USER root
# git for worktree and GitHub workspaces; the claude CLI pinned to the version this package is tested with
# (it declares Node >= 22; the image's Node 24 satisfies it).
RUN apk add --no-cache git \
	&& npm install -g @anthropic-ai/claude-code@2.1.331 \
	&& claude --version \
	&& mkdir -p /workspace/projects /workspace/workspaces /workspace/cache && chown -R node:node /workspace
COPY --from=pack /pkg/package.tgz /tmp/package.tgz

USER node
# n8n loads community packages from ~/.n8n/nodes at start-up (a worker from its own folder); --legacy-peer-deps
# keeps n8n-workflow out of it (n8n provides its own).
RUN mkdir -p /home/node/.n8n/nodes \
	&& cd /home/node/.n8n/nodes \
	&& npm init -y >/dev/null \
	&& npm install --omit=dev --legacy-peer-deps --no-audit --no-fund /tmp/package.tgz \
	&& npm cache clean --force

# Where sessions may run: local folders and worktree base repositories must be inside the allowed roots. /workspace
# is one volume shared by main and every worker, so any worker can run any session's next turn.
ENV CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS=/workspace/projects \
	CLAUDE_ORCHESTRATOR_WORKSPACES_DIR=/workspace/workspaces \
	CLAUDE_ORCHESTRATOR_CACHE_DIR=/workspace/cache \
	CLAUDE_ORCHESTRATOR_HOME=/home/node/.claude-orchestrator
