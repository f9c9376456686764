# syntax=docker/dockerfile:1
# Build stage: compile wheels for the project and its dependencies (build tools stay here).
FROM python:3.11-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends build-essential \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
COPY pyproject.toml README.md ./
COPY app app
COPY graph graph
COPY models models
COPY payments payments
COPY tasks tasks
COPY webhooks webhooks
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# GraphiQL's assets, pinned to the versions of strawberry's page, from the npm registry:
# the image serves them itself (GRAPHIQL_ASSETS_DIR), so GraphiQL needs no CDN.
FROM node:20-slim AS graphiql-assets
COPY deploy/graphiql/fetch-assets.sh /usr/local/bin/fetch-graphiql-assets
RUN fetch-graphiql-assets /graphiql-assets

# Runtime stage: only the wheels, a non-root user, no compilers.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 ENVIRONMENT=production
RUN useradd --create-home --uid 10001 payments
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/* && rm -rf /wheels
# Used only where GraphiQL is on (ENVIRONMENT=development); production serves no IDE.
COPY --from=graphiql-assets /graphiql-assets /opt/graphiql-assets
ENV GRAPHIQL_ASSETS_DIR=/opt/graphiql-assets
USER payments
WORKDIR /home/payments
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health/live', timeout=2)"]
# uvicorn drains in-flight requests on SIGTERM (timeout_graceful_shutdown in `payments serve`).
STOPSIGNAL SIGTERM
CMD ["payments", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
