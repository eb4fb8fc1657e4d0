# Widen's production image: the web app built in a node stage, served with the API by a slim
# Python runtime as a non-root user. `python -m app` migrates the database (once, however many
# replicas start together on PostgreSQL) and serves; by default SQLite in the /data volume,
# or PostgreSQL with WIDEN_DATABASE_URL (see docker-compose.yml and the README's "Running
# several processes"). Base images are pinned to exact releases.

FROM node:20.20.2-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11.13-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_DISABLE_PIP_VERSION_CHECK=1 \
    WIDEN_HOST=0.0.0.0 WIDEN_PORT=8000 \
    WIDEN_DATABASE_URL=sqlite+aiosqlite:////data/widen.db \
    WIDEN_REJECTED_DIR=/data/rejected \
    WIDEN_STATIC_DIR=/app/frontend/dist
WORKDIR /app
# The server runs from /app (alembic.ini and migrations/ sit beside the app package), so the
# install is for the dependencies; the source tree is what runs.
COPY pyproject.toml README.md alembic.ini ./
COPY app/ app/
COPY crdt/ crdt/
COPY migrations/ migrations/
RUN pip install --no-cache-dir . \
    && groupadd --system --gid 10001 widen \
    && useradd --system --uid 10001 --gid widen --home-dir /data --no-create-home widen \
    && mkdir -p /data && chown widen:widen /data
COPY --from=frontend /src/frontend/dist frontend/dist
USER 10001:10001
VOLUME /data
EXPOSE 8000
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-m", "app.healthcheck"]
CMD ["python", "-m", "app"]
