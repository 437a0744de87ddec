"""The local stack: the whole CASPR system on one machine, on an embedded AWS emulator.

Never deployed. See DESIGN.md "The local stack" and the README."""
