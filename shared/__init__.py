"""Code every CASPR service uses: contracts, errors, auth, clock, money, settings.

`shared` never imports from `services/`.
"""
