"""caspr-season: plays a whole CASPR season through the HTTP API of a local stack (README, "Play a season")."""
