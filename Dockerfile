# Aigaq: the bot, its migrations and its catalogs. Secrets come from the environment or
# mounted files at run time, never from the image.
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# pg_dump/pg_restore for `aigaq backup` and `aigaq restore` against PostgreSQL.
RUN apt-get update \
    && apt-get install --yes --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

RUN useradd --create-home --uid 10001 aigaq
WORKDIR /app

# The package finds migrations/ and locales/ beside bot/, so the tree is kept as it is.
COPY pyproject.toml README.md babel.cfg ./
COPY bot ./bot
COPY handlers ./handlers
COPY migrations ./migrations
COPY locales ./locales
RUN pip install --editable ".[postgres]" \
    && python -m bot.i18n_tools compile \
    && mkdir -p /app/var \
    && chown -R aigaq:aigaq /app/var /app/locales

USER aigaq
VOLUME ["/app/var"]

HEALTHCHECK --interval=60s --timeout=20s --start-period=30s --retries=3 \
    CMD ["aigaq", "db", "current"]

ENTRYPOINT ["aigaq"]
CMD ["run"]
