"""Chalice app of the applications service: middleware and blueprints, nothing else."""

from chalice import Chalice

from applications.api import bp as api
from applications.consumers import bp as consumers
from shared.observability import install

app = Chalice(app_name="caspr-applications")
install(app, "applications")
app.register_blueprint(api)
app.register_blueprint(consumers)
