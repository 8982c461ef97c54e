"""Standard Webhooks deliveries to integrators: subscriptions, signing, sending."""
