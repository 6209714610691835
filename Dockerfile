# Aigaq: the bot with its migrations and compiled catalogs. No secret is in the image: the
# token, the server key and the reviewers' keys come at run time (compose.yaml,
# docs/deploy.md).
FROM python:3.11-slim

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# pg_dump and pg_restore for `aigaq backup` and `aigaq restore`. They must have the same major
# version as the server (postgres:16 in compose.yaml), so they come from apt.postgresql.org.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends postgresql-common \
    && /usr/share/postgresql-common/pgdg/apt.postgresql.org.sh -y \
    && apt-get install --yes --no-install-recommends postgresql-client-16 \
    && rm -rf /var/lib/apt/lists/*

# A fixed uid, so that secret files on the host can be given to it (docs/deploy.md).
RUN useradd --uid 10001 --user-group --create-home --shell /usr/sbin/nologin aigaq

# The code finds migrations/ and locales/ beside bot/ (bot/db.py, bot/i18n.py), so the tree
# stays in /app and is installed in editable mode. It stays owned by root: read-only to the bot.
WORKDIR /app
# Every dependency, and the build backend, exactly as hash-pinned in requirements.lock (`make
# lock` refreshes it): a changed or substituted file on the index fails the build.
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md babel.cfg ./
COPY bot ./bot
COPY handlers ./handlers
COPY migrations ./migrations
COPY locales ./locales
# The project itself, with nothing fetched: no dependency, no isolated build environment.
# hadolint ignore=DL3013
RUN pip install --no-cache-dir --no-deps --no-build-isolation --editable . \
    && python -m bot.i18n_tools compile \
    && install --directory --owner=aigaq --group=aigaq --mode=0700 /app/var

USER aigaq
VOLUME ["/app/var"]

# Healthy when the database is reachable and at the newest migration.
HEALTHCHECK --interval=60s --timeout=30s --start-period=60s --retries=3 \
    CMD ["aigaq", "db", "current"]

ENTRYPOINT ["aigaq"]
CMD ["run"]
