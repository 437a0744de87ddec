"""Chalice app of the applications service: middleware and blueprints, nothing else."""

from chalice import Chalice

from applications import bootstrap
from applications.api import bp as api
from applications.consumers import bp as consumers
from shared.observability import install
from shared.relay import relay_blueprint

app = Chalice(app_name="caspr-applications")
install(app, "applications")
app.register_blueprint(api)
app.register_blueprint(consumers)
app.register_blueprint(relay_blueprint("applications", bootstrap.outbox))
