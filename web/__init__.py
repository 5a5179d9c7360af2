"""HTTP-facing pieces of the Rapport web app."""
