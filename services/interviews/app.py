"""Chalice app of the interviews service: middleware and blueprints, nothing else."""

from chalice import Chalice

from interviews import bootstrap
from interviews.api import bp as api
from interviews.consumers import bp as consumers
from shared.observability import install
from shared.relay import relay_blueprint

app = Chalice(app_name="caspr-interviews")
install(app, "interviews")
app.register_blueprint(api)
app.register_blueprint(consumers)
app.register_blueprint(relay_blueprint("interviews", bootstrap.outbox))
