"""crm's REST API, one module per concern; config/api.py registers the routes."""
