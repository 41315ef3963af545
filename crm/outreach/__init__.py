"""Outreach engine helpers that hold no state: local send times and greetings."""
