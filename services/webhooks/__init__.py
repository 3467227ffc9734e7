"""The webhooks service: endpoints, signed deliveries of the events their owners may see, retries."""
