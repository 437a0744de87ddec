"""Chalice app of the match service: middleware and blueprints, nothing else."""

from chalice import Chalice

from match import bootstrap
from match.api import bp as api
from match.consumers import bp as consumers
from shared.observability import install
from shared.relay import relay_blueprint

app = Chalice(app_name="caspr-match")
install(app, "match")
app.register_blueprint(api)
app.register_blueprint(consumers)
app.register_blueprint(relay_blueprint("match", bootstrap.outbox))
