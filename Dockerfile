# Slim serving image: HTTP API, try-it page and bots on ONNX Runtime; no torch.
#   docker build -t cardsight .
#   docker run -p 8080:8080 -v cardsight-data:/var/lib/cardsight cardsight
# The install step is scripts/install.sh, the same one `make` (and so CI) runs.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1

WORKDIR /src
COPY . .
RUN scripts/install.sh /opt/cardsight \
    && useradd --system --uid 10001 --user-group --home-dir /var/lib/cardsight --create-home cardsight

USER cardsight
WORKDIR /var/lib/cardsight
ENV PATH=/opt/cardsight/bin:$PATH \
    CARDSIGHT_SERVICE_HOST=0.0.0.0 \
    CARDSIGHT_ENGINE_ARTIFACTS=/var/lib/cardsight/artifacts \
    CARDSIGHT_SYNC_GALLERY_DIR=/var/lib/cardsight/gallery
VOLUME ["/var/lib/cardsight"]
EXPOSE 8080

# /health answers 503 while the artifact set loads (or the demo set is built, once) and 200 when
# ready; the start period covers a first load.
HEALTHCHECK --interval=30s --timeout=5s --start-period=300s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8080/health', timeout=4)"]

CMD ["cardsight", "serve"]
