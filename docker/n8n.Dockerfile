# n8n with this package and the claude CLI, for a self-hosted n8n that runs Claude Code sessions.
#   docker build -f docker/n8n.Dockerfile -t n8n-claude .
#   docker run -p 5678:5678 -e ANTHROPIC_API_KEY=… -v n8n_data:/home/node/.n8n -v projects:/home/node/projects n8n-claude
# The official image is Alpine-based: npm picks claude's linux-x64-musl (or arm64-musl) binary.
FROM n8nio/n8n:2.41.1

USER root
# git for worktree and GitHub workspaces; the claude CLI pinned to the version this package is tested with
# (it declares Node >= 22; the image's Node 24 satisfies it).
RUN apk add --no-cache git \
	&& npm install -g @anthropic-ai/claude-code@2.1.331 \
	&& claude --version

USER node
# n8n loads community packages from ~/.n8n/nodes at start-up; --legacy-peer-deps keeps n8n-workflow out of it
# (n8n provides its own).
RUN mkdir -p /home/node/.n8n/nodes /home/node/projects \
	&& cd /home/node/.n8n/nodes \
	&& npm init -y >/dev/null \
	&& npm install --omit=dev --legacy-peer-deps n8n-nodes-claude-orchestrator

# Where sessions may run: local folders and worktree base repositories must be inside these roots.
ENV CLAUDE_ORCHESTRATOR_ALLOWED_ROOTS=/home/node/projects \
	CLAUDE_ORCHESTRATOR_HOME=/home/node/.claude-orchestrator
