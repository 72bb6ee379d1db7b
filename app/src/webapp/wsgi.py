"""The WSGI entry point gunicorn loads (`webapp.wsgi:app`)."""

from webapp import create_app

app = create_app()
