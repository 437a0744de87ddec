"""Build and deployment scripts (`make package`, `make deploy`)."""
