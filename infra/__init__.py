"""Deployment definitions: the shared stack template (bus, tables, queues, rules,
scheduler, state machines, user pool, email identity). The local stack creates its
resources from the very same template (caspr_local.resources)."""
