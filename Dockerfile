# Widen in one image: the built web app and the server, SQLite in a volume by default.
FROM node:20-bookworm-slim AS frontend
WORKDIR /src/frontend
COPY frontend/package.json frontend/package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY frontend/ ./
RUN npm run build

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    WIDEN_HOST=0.0.0.0 WIDEN_PORT=8000 \
    WIDEN_DATABASE_URL=sqlite+aiosqlite:////data/widen.db \
    WIDEN_STATIC_DIR=/app/frontend/dist
WORKDIR /app
COPY pyproject.toml README.md alembic.ini ./
COPY app/ app/
COPY crdt/ crdt/
COPY migrations/ migrations/
RUN pip install --no-cache-dir . && useradd --system --home /data widen \
    && mkdir -p /data && chown widen /data
COPY --from=frontend /src/frontend/dist frontend/dist
USER widen
VOLUME /data
EXPOSE 8000
STOPSIGNAL SIGTERM
CMD ["python", "-m", "app"]
