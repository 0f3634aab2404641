# urbanpulse ingest and api, for docker-compose.yml
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY urbanpulse urbanpulse
COPY ingest ingest
COPY decoders decoders
COPY api api
COPY rules rules
COPY simulators simulators
COPY migrations migrations
RUN pip install --no-cache-dir .
USER nobody
ENTRYPOINT ["urbanpulse"]
