"""Chalice app of the identity service (/auth): middleware and blueprints, nothing else."""

from chalice import Chalice

from identity.api import bp as api
from shared.observability import install

app = Chalice(app_name="caspr-identity")
install(app, "identity")
app.register_blueprint(api)
