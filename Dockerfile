# The production image: gunicorn serves the app, whitenoise its static files; the same image runs
# the Celery worker and beat (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /app

# WeasyPrint (the minutes as PDF, A2) loads Pango and HarfBuzz at run time: the libraries its
# documentation lists for Debian with wheels, and DejaVu as the PDF's only font (nothing is
# fetched from the network when a PDF is drawn).
RUN apt-get update \
    && apt-get install -y --no-install-recommends \
        libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

COPY requirements.txt .
RUN pip install -r requirements.txt

COPY . .

# Static files are part of the image. collectstatic reads settings, which need a SECRET_KEY; this
# one exists only during the build and signs nothing.
RUN SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput \
    && useradd --create-home --uid 10001 homevisits \
    && mkdir -p var/media \
    && chown homevisits var/media

USER homevisits

EXPOSE 8000
CMD ["gunicorn", "homevisits.wsgi:application", "-b", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
