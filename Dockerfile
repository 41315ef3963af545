# Rapport image: one image for web (gunicorn), worker and beat.
FROM node:20-bookworm-slim AS assets
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund

FROM python:3.11-slim-bookworm
# No bytecode is written at run time, so it is compiled here: the libraries by uv, the app below.
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 UV_COMPILE_BYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/venv PATH="/opt/venv/bin:$PATH"
RUN apt-get update && apt-get install -y --no-install-recommends gettext && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir "uv==0.13.9" \
    && useradd --create-home --uid 1000 rapport
WORKDIR /app
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev --no-install-project
COPY --from=assets /app/node_modules ./node_modules
COPY . .
RUN python -m compileall -q config crm loyalty feedback analytics \
    && DEBUG=true python manage.py compilemessages --ignore=node_modules -v 0 \
    && SECRET_KEY=build-only DEBUG=false python manage.py collectstatic --noinput -v 0 \
    && mkdir -p var && chown -R rapport:rapport var
USER rapport
EXPOSE 8000
CMD ["gunicorn", "config.wsgi:application", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
