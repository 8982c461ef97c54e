"""What goes out: events received from every service (and the gateway's own directory
events), the in-app inbox, e-mail and webhook deliveries."""
