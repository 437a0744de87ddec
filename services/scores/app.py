"""Chalice app of the scores service: middleware and blueprints, nothing else."""

from chalice import Chalice

from scores import bootstrap
from scores.api import bp as api
from scores.consumers import bp as consumers
from shared.observability import install
from shared.relay import relay_blueprint

app = Chalice(app_name="caspr-scores")
install(app, "scores")
app.register_blueprint(api)
app.register_blueprint(consumers)
app.register_blueprint(relay_blueprint("scores", bootstrap.outbox))
