# The Claude Orchestrator service, built from this repository and installed from its own packed tarball, exactly as
# `npm install n8n-nodes-claude-orchestrator` would install it. Build from the repository root:
#   docker build -f deploy/service.Dockerfile -t claude-orchestrator-service .
#   docker run -e DATABASE_URL=postgres://… -e API_KEY=… -p 3001:3001 claude-orchestrator-service            # serve
#   docker run -e DATABASE_URL=postgres://… claude-orchestrator-service migrate                                # a deploy step
#   docker run … claude-orchestrator-service doctor

# 1. Build: the TypeScript sources, the dashboard and the migrations into dist/, then `npm pack`.
FROM node:20-bookworm-slim AS build
WORKDIR /src
# .npmrc skips install scripts: a dev-only dependency (isolated-vm, through n8n-workflow) cannot compile on Node 20.
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

# 2. Run: the package and its runtime dependencies only, as an unprivileged user.
FROM node:20-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /pkg/package.tgz /tmp/package.tgz
# --legacy-peer-deps: n8n-workflow is n8n's to provide; the service does not load it.
RUN echo '{"name":"claude-orchestrator-service","private":true}' > package.json \
	&& npm install --omit=dev --legacy-peer-deps --no-audit --no-fund /tmp/package.tgz \
	&& rm /tmp/package.tgz && npm cache clean --force \
	&& mkdir -p /data && chown node:node /data
USER node
# Listen on every interface of the container; DATA_DIR only matters without DATABASE_URL (the embedded database).
ENV HOST=0.0.0.0 \
	PORT=3001 \
	DATA_DIR=/data
EXPOSE 3001
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
	CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.PORT||3001)+'/api/v1/health').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
ENTRYPOINT ["/app/node_modules/.bin/n8n-nodes-claude-orchestrator"]
CMD ["serve"]
