"""Chalice app of the match service: middleware and blueprints, nothing else."""

from chalice import Chalice

from match.api import bp as api
from match.consumers import bp as consumers
from shared.observability import install

app = Chalice(app_name="caspr-match")
install(app, "match")
app.register_blueprint(api)
app.register_blueprint(consumers)
