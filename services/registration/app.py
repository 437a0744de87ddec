"""Chalice app of the registration service: middleware and blueprints, nothing else."""

from chalice import Chalice

from registration import bootstrap
from registration.api import bp as api
from registration.consumers import bp as consumers
from shared.observability import install
from shared.relay import relay_blueprint

app = Chalice(app_name="caspr-registration")
install(app, "registration")
app.register_blueprint(api)
app.register_blueprint(consumers)


app.register_blueprint(relay_blueprint("registration", bootstrap.outbox))
